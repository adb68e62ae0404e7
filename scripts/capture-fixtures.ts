// Makes the real captures that test/capture/ reads (run as root, once; the
// results are committed): in a network namespace of its own, with addresses
// from 198.18.0.0/15 only, and removed afterwards.
//
//   kernel.pcap    tcpdump on lo: Linux to Linux with its options (mss,
//                  sackOK, TS, wscale), a request, a half-close with data
//                  after the FIN, then the server's close
//   kernel.pcapng  dumpcap (Wireshark's capture engine, pcapng by default)
//                  on lo: a client that closes first, a refused connection,
//                  and a connection reset with SO_LINGER 0
//   ds-kernel.pcap (+ .states) ds-tcpip on a TAP, the kernel's curl and a
//                  python client against its HTTP server and TCP echo; the
//                  stack's real state changes beside it
//   *.txt          `ds-tcpip trace` of each, the expected output the tests compare
//
// Usage: node --import tsx scripts/capture-fixtures.ts [DIR]   (default test/capture/fixtures)
import "../src/host/buffer-polyfill.js"
import { spawnSync } from "node:child_process"
import { writeFileSync, mkdirSync, existsSync, statSync } from "node:fs"
import { join } from "node:path"
import { Netns } from "../test/interop/netns.js"
import { startDevice, runIn, DEVICE_IP } from "../test/interop/harness.js"
import { PcapWriter } from "../src/host/sim/pcap.js"
import { recordStateEvents, formatStateEvent, stateEventsHeader, StateEvent } from "../src/host/state-events.js"
import { traceCommand } from "../src/host/trace-file.js"
import { SERVER, CLIENT } from "../test/capture/kernel-peers.js"

const dir = process.argv[2] || "test/capture/fixtures"
mkdirSync(dir, { recursive: true })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function sh(ns: Netns, args: string[]): void {
    const r = ns.exec(args, false)
    if (r.status !== 0) throw new Error(args.join(" ") + ": " + r.stderr.trim())
}

async function capture(ns: Netns, tool: string[], file: string, work: () => Promise<void>): Promise<void> {
    const cap = ns.spawn(tool, { stdio: ["ignore", "ignore", "pipe"] })
    let err = ""
    cap.stderr?.on("data", (b: Buffer) => (err += b.toString()))
    // wait for the capture to start (both print to stderr once listening)
    for (let i = 0; i < 50 && !/listening|Capturing/.test(err); i++) await sleep(100)
    await work()
    await sleep(300)
    process.kill(cap.pid, "SIGINT")
    await new Promise((r) => cap.on("exit", r))
    if (!existsSync(file) || statSync(file).size < 100) throw new Error("no capture written to " + file + ": " + err)
}

async function kernelCaptures(): Promise<void> {
    const ns = new Netns({ tag: "cfx", taps: [], kernelAddress: "" })
    try {
        sh(ns, ["ip", "addr", "add", "198.18.1.1/32", "dev", "lo"])
        sh(ns, ["ip", "addr", "add", "198.18.1.2/32", "dev", "lo"])
        const py = (script: string, args: string[]) => runIn(ns, ["python3", "-c", script, ...args], { timeoutMs: 10000 })
        const file = join(process.cwd(), dir, "kernel.pcap")
        await capture(ns, ["tcpdump", "-i", "lo", "-U", "--immediate-mode", "-Z", "root", "-w", file, "tcp port 8080"], file, async () => {
            const server = py(SERVER, ["198.18.1.2", "8080", "halfclose", "1"])
            await sleep(300)
            const c = await py(CLIENT, ["198.18.1.2", "8080", "halfclose", "198.18.1.1"])
            if (c.status !== 0) throw new Error("client: " + c.stderr)
            await server
        })
        const ng = join(process.cwd(), dir, "kernel.pcapng")
        await capture(ns, ["dumpcap", "-q", "-i", "lo", "-w", ng, "-f", "tcp portrange 8081-8082"], ng, async () => {
            const server = py(SERVER, ["198.18.1.2", "8081", "plain", "2"])
            await sleep(300)
            await py(CLIENT, ["198.18.1.2", "8081", "plain", "198.18.1.1"])
            await py(CLIENT, ["198.18.1.2", "8082", "plain", "198.18.1.1"]) // nobody listens: refused
            await py(CLIENT, ["198.18.1.2", "8081", "reset", "198.18.1.1"])
            await server
        })
    } finally {
        ns.closeSync()
    }
}

async function deviceCapture(): Promise<void> {
    const pcap = new PcapWriter({ epochMs: 0 })
    const dev = await startDevice("cfd", { pcap, demo: {} })
    const events: StateEvent[] = []
    recordStateEvents(dev.runner.stack, () => dev.runner.now(), (e) => events.push(e))
    try {
        const curl = await runIn(dev.ns, ["curl", "-s", "--http1.1", "http://" + DEVICE_IP + "/"], { timeoutMs: 10000 })
        if (curl.status !== 0) throw new Error("curl: " + curl.stderr)
        const echo = await runIn(dev.ns, ["python3", "-c", CLIENT, DEVICE_IP, "7", "halfclose", "198.18.0.1"], { timeoutMs: 10000 })
        if (echo.status !== 0) throw new Error("echo client: " + echo.stderr)
        await sleep(1000) // the TIME-WAITs (2 x 250 ms) end
    } finally {
        await dev.stop()
    }
    // the ARP exchange and gratuitous ARP stay in: trace reads past what is not TCP
    pcap.writeFile(join(dir, "ds-kernel.pcap"))
    writeFileSync(join(dir, "ds-kernel.pcap.states"), stateEventsHeader(500) + events.map(formatStateEvent).join(""))
}

if (process.getuid?.() !== 0) {
    console.error("capture-fixtures needs root (network namespaces)")
    process.exit(77)
}
for (const tool of ["tcpdump", "dumpcap", "curl", "python3"]) {
    if (spawnSync("sh", ["-c", "command -v " + tool]).status !== 0) {
        console.error("capture-fixtures needs " + tool)
        process.exit(1)
    }
}
await kernelCaptures()
await deviceCapture()
for (const f of ["kernel.pcap", "kernel.pcapng", "ds-kernel.pcap"]) {
    writeFileSync(join(dir, f + ".txt"), traceCommand({ file: join(dir, f) }))
    console.log(join(dir, f), statSync(join(dir, f)).size, "bytes")
}
