// npm run bench:device — figures of the SPI Ethernet drivers (not tests):
//  1. SPI transfers and bytes per received and per transmitted frame, each
//     chip, the driver on Node against the chip model;
//  2. the firmware's bytecode in the DeviceScript VM (virtual time) serving
//     through each model: opcodes, SPI transfers and bytes per request and
//     per KB of a bulk GET, and from those (with stated assumptions) what an
//     ESP32 would do with a 10BASE-T ENC28J60 and with a W5500 at 20 MHz SPI;
//  3. as root: the same firmware in the VM on real time bridged to a TAP in
//     its own namespace, requests/s and MB/s to the kernel's curl — figures
//     of this harness on this machine, not of an ESP32.
import "../src/host/buffer-polyfill.js"
import { spawn } from "node:child_process"
import { Enc28j60 } from "../src/drivers/enc28j60.js"
import { W5500 } from "../src/drivers/w5500.js"
import { FrameSink, SpiBus } from "../src/drivers/spi.js"
import { CHIPS, Chip, ChipModel, VmDevice, FIRMWARE_ENTRY, newModel } from "../src/host/device-runner.js"
import { VmRig } from "../src/host/vm-rig.js"
import { buildDevice } from "../src/host/vm/build.js"
import { TapDevice } from "../src/host/tap.js"
import { parseIp, parseMac } from "../src/wire/bytes.js"
import { interopSkipReason, Netns } from "../test/interop/netns.js"

/** Runs a command (without blocking the event loop: the VM runs meanwhile); its stdout. */
function run(args: string[], timeoutMs: number): Promise<string> {
    return new Promise((resolve) => {
        const c = spawn(args[0], args.slice(1), { stdio: ["ignore", "pipe", "ignore"] })
        let out = ""
        c.stdout.on("data", (b: Buffer) => (out += b.toString()))
        const t = setTimeout(() => c.kill("SIGKILL"), timeoutMs)
        c.on("close", () => {
            clearTimeout(t)
            resolve(out)
        })
    })
}

const row = (k: string, v: string) => console.log(`${k.padEnd(64)} ${v}`)
const MAC = parseMac("02:00:00:00:00:02")

// ---- 1. SPI per frame -------------------------------------------------------

interface PerFrame {
    transfers: number
    bytes: number
}

async function spiPerFrame(chip: Chip) {
    const model = newModel(chip)
    const bus: SpiBus = { xfer: async (tx: Buffer, rx: Buffer) => model.transfer(tx, rx), sleep: async () => {} }
    const drv = chip === "w5500" ? new W5500(bus, MAC, 4) : new Enc28j60(bus, MAC, 4)
    await drv.init()
    const sink: FrameSink = { receive: () => {} }
    const N = 128 // a multiple of the W5500's link-check interval
    const measure = async (each: () => void): Promise<PerFrame> => {
        const t0 = model.stats.transfers
        const b0 = model.stats.bytes
        for (let i = 0; i < N; i++) {
            each()
            await drv.service(sink, 0, 4)
        }
        return { transfers: (model.stats.transfers - t0) / N, bytes: (model.stats.bytes - b0) / N }
    }
    const idle = await measure(() => {})
    const out: Record<string, PerFrame> = { idle }
    for (const size of [64, 1514]) {
        const f = Buffer.alloc(size)
        MAC.copy(f, 0)
        f.writeUInt16BE(0x88b5, 12)
        const rx = await measure(() => void model.receive(f))
        out["rx" + size] = { transfers: rx.transfers - idle.transfers, bytes: rx.bytes - idle.bytes }
        const g = Buffer.from(f)
        g.fill(0xff, 0, 6)
        const tx = await measure(() => drv.transmit(g, g.length))
        out["tx" + size] = { transfers: tx.transfers - idle.transfers, bytes: tx.bytes - idle.bytes }
    }
    return out
}

console.log("ds-tcpip SPI Ethernet figures (not tests)\n")
const spi: Record<string, Record<string, PerFrame>> = {}
for (const chip of CHIPS) {
    spi[chip] = await spiPerFrame(chip)
    const s = spi[chip]
    const f = (p: PerFrame) => `${p.transfers.toFixed(1)} transfers, ${Math.round(p.bytes)} B`
    row(`${chip}: an idle poll`, f(s['idle']))
    row(`${chip}: per received frame, 64 / 1514 B (beyond the poll)`, `${f(s['rx64'])} / ${f(s['rx1514'])}`)
    row(`${chip}: per transmitted frame, 64 / 1514 B (beyond the poll)`, `${f(s['tx64'])} / ${f(s['tx1514'])}`)
}

// ---- 2. the firmware in the VM on virtual time -------------------------------

interface VmFigures {
    opcodesPerRequest: number
    transfersPerRequest: number
    spiBytesPerRequest: number
    opcodesPerKB: number
    transfersPerKB: number
    spiBytesPerKB: number
    worstTurn: number
}

const idleFigures: Record<string, { op: number; t: number; b: number }> = {}

async function vmFigures(chip: Chip): Promise<VmFigures> {
    const { bytecode } = await buildDevice(FIRMWARE_ENTRY)
    const rig = await VmRig.create(chip, bytecode, "198.18.0.2")
    await rig.lease()
    // mDNS probes and announces its name after the lease (RFC 6762 §8: about 3 s): out of the way too
    await rig.run(() => false, 5000)
    await rig.get("/") // ARP and first-connection costs out of the way
    const snap = () => ({ op: rig.vm.opcodes, t: rig.model.stats.transfers, b: rig.model.stats.bytes, ms: rig.vm.nowMs() })
    // the driver polls the chip every 2 ms while idle: measured apart, and
    // taken out of the per-request and per-KB figures below
    const i0 = snap()
    await rig.run(() => false, 2000)
    const i1 = snap()
    const idle = { op: (i1.op - i0.op) / (i1.ms - i0.ms), t: (i1.t - i0.t) / (i1.ms - i0.ms), b: (i1.b - i0.b) / (i1.ms - i0.ms) }
    idleFigures[chip] = idle
    const R = 20
    let a = snap()
    for (let i = 0; i < R; i++) await rig.get("/")
    let z = snap()
    const busy = (k: "op" | "t" | "b", n: number) => (z[k] - a[k] - idle[k] * (z.ms - a.ms)) / n
    const req = { op: busy("op", R), t: busy("t", R), b: busy("b", R) }
    const KB = 200
    a = snap()
    await rig.get("/bytes/" + KB * 1024)
    z = snap()
    return {
        opcodesPerRequest: req.op,
        transfersPerRequest: req.t,
        spiBytesPerRequest: req.b,
        opcodesPerKB: busy("op", KB),
        transfersPerKB: busy("t", KB),
        spiBytesPerKB: busy("b", KB),
        worstTurn: rig.vm.maxStepsPerTurn,
    }
}

// Assumptions for the projection (nothing here was measured on an ESP32):
const SPI_HZ = 20e6
const OVERHEAD_US = 30 // per SPI transfer: fiber suspend/resume, CS on a GPIO, the driver's setup
const OPCODE_RATES = [1e6, 3e6] // opcodes/s of the DeviceScript VM on an ESP32: a guess (DEVICESCRIPT.md)
const WIRE_BPS: Record<Chip, number> = { enc28j60: 10e6, w5500: 100e6 }

console.log("")
for (const chip of CHIPS) {
    const v = await vmFigures(chip)
    row(`${chip}: VM, per GET / on a new connection (idle polling taken out)`, `${Math.round(v.opcodesPerRequest)} opcodes, ${v.transfersPerRequest.toFixed(0)} SPI transfers, ${Math.round(v.spiBytesPerRequest)} SPI bytes`)
    row(`${chip}: VM, per KB of GET /bytes/204800 (idle polling taken out)`, `${Math.round(v.opcodesPerKB)} opcodes, ${v.transfersPerKB.toFixed(1)} SPI transfers, ${Math.round(v.spiBytesPerKB)} SPI bytes`)
    row(`${chip}: VM, worst fiber turn`, `${v.worstTurn} opcodes of 131071`)
    const idle = idleFigures[chip]
    row(`${chip}: VM, idle polling (no INT pin: 2 ms, 10 ms once quiet)`, `${Math.round(idle.op * 1000)} opcodes/s, ${Math.round(idle.t * 1000)} SPI transfers/s`)
    for (const rate of OPCODE_RATES) {
        const reqS = v.opcodesPerRequest / rate + v.transfersPerRequest * OVERHEAD_US * 1e-6 + (v.spiBytesPerRequest * 8) / SPI_HZ
        const kbS = v.opcodesPerKB / rate + v.transfersPerKB * OVERHEAD_US * 1e-6 + (v.spiBytesPerKB * 8) / SPI_HZ
        // the wire: 1460 payload bytes per 1538 bytes on the wire (preamble, header, FCS, gap)
        const wireKbS = (1024 * 1538 * 8) / 1460 / WIRE_BPS[chip]
        const mbs = 1 / Math.max(kbS, wireKbS) / 1024
        row(
            `${chip}: projected ESP32 at ${rate / 1e6}M opcodes/s, ${SPI_HZ / 1e6} MHz SPI`,
            `${(1 / reqS).toFixed(0)} requests/s, ${mbs.toFixed(2)} MB/s${kbS < wireKbS ? " (the wire's limit)" : ""}`,
        )
    }
}
console.log(`(projection: ${OVERHEAD_US} µs per SPI transfer and the opcode rates are assumptions; SPI bytes at ${SPI_HZ / 1e6} MHz; the ENC28J60's wire is 10BASE-T)`)

// ---- 3. real time, TAP, curl (root) ------------------------------------------

const skip = interopSkipReason([{ name: "curl", pkg: "curl" }])
console.log("")
if (skip) console.log("TAP figures skipped: " + skip)
else {
    for (const chip of CHIPS) {
        const ns = new Netns({ tag: "bd" + chip.slice(0, 1) })
        let dev: VmDevice = null
        let tap: TapDevice = null
        try {
            tap = await TapDevice.open(ns.taps[0], { netns: ns.name })
            dev = await VmDevice.start({ chip })
            dev.serveDhcp(parseIp("198.18.0.2"), parseIp("255.255.255.0"))
            dev.attach(tap)
            await dev.waitForLine((l) => l.startsWith("address "), 60_000)
            const N = 200
            const urls: string[] = []
            for (let i = 0; i < N; i++) urls.push("http://198.18.0.2/")
            // one curl process, one keep-alive connection, N requests
            let t0 = performance.now()
            await run(["ip", "netns", "exec", ns.name, "curl", "-s", "-o", "/dev/null", "--max-time", "120", ...urls], 130_000)
            const reqS = N / ((performance.now() - t0) / 1000)
            t0 = performance.now()
            const r = await run(["ip", "netns", "exec", ns.name, "curl", "-s", "-o", "/dev/null", "-w", "%{size_download}", "--max-time", "120", "http://198.18.0.2/bytes/2000000"], 130_000)
            const s = (performance.now() - t0) / 1000
            const got = Number(r)
            row(`${chip}: VM on real time via TAP, keep-alive GET / (curl)`, `${reqS.toFixed(0)} requests/s`)
            row(`${chip}: VM on real time via TAP, GET /bytes/2000000 (curl)`, `${(got / s / 1e6).toFixed(2)} MB/s (${got} B)`)
        } catch (e) {
            console.log(`${chip}: TAP run failed: ${(e as Error).message}`)
        } finally {
            if (dev) dev.stop()
            if (tap) await tap.close()
            ns.closeSync()
        }
    }
    console.log("(real-time figures of the WASM VM on this machine, not of an ESP32)")
}
process.exit(0)
