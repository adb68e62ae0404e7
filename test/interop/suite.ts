// The interop suite, shared by the plain and the impaired runs: Linux's own
// ping, nc, python3 sockets and http.server against ds-tcpip on a TAP, each
// test file in its own namespace. Every step is bounded in count and time.
import { describe, it, before, after } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { randomBytes } from "node:crypto"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseIp } from "../../src/wire/bytes.js"
import { SocketError, TcpSocket } from "../../src/socket/socket.js"
import { Impairments } from "../../src/host/sim/impair.js"
import { haveTshark, tsharkRead } from "../tshark.js"
import { PcapWriter } from "../../src/host/sim/pcap.js"
import { interopSkipReason } from "./netns.js"
import { Device, DEVICE_IP, KERNEL_IP, runIn, sha256, sleep, startDevice, waitFor } from "./harness.js"

export interface SuiteOptions {
    tag: string
    impairments?: Partial<Impairments>
    /** Bytes of the echo and transfer tests. */
    bulkBytes: number
    /** Sequential connections. */
    connections: number
    /** Drop reasons that may be non-zero (e.g. none at all on a clean link). */
    allowedDrops?: string[]
}

export const TOOLS = [
    { name: "ping", pkg: "iputils-ping" },
    { name: "nc", pkg: "netcat-openbsd" },
]

async function readAll(s: TcpSocket, limit: number, timeoutMs: number): Promise<Buffer> {
    const parts: Buffer[] = []
    let total = 0
    const end = performance.now() + timeoutMs
    for (;;) {
        const buf = Buffer.alloc(16384)
        const left = end - performance.now()
        if (left <= 0) throw new Error(`read timed out after ${total} bytes`)
        const n = await s.read(buf, 0, buf.length, left)
        if (n === 0) {
            if (s.ended()) break
            continue
        }
        parts.push(buf.subarray(0, n))
        total += n
        if (total > limit) throw new Error("more data than expected")
    }
    return Buffer.concat(parts)
}

export function interopSuite(o: SuiteOptions): void {
    const skip = interopSkipReason(TOOLS)
    const what = o.impairments ? ` (impaired: ${JSON.stringify(o.impairments)})` : ""
    describe("interop: ds-tcpip on a Linux TAP" + what, { skip: skip ?? false, timeout: 60000 }, () => {
        let dev: Device
        let dir: string
        let file: string
        let data: Buffer

        before(async () => {
            dir = mkdtempSync(join(tmpdir(), "ds-tcpip-interop-"))
            data = randomBytes(o.bulkBytes)
            file = join(dir, "data.bin")
            writeFileSync(file, data)
            dev = await startDevice(o.tag, { pcap: new PcapWriter({ epochMs: performance.timeOrigin }), impairments: o.impairments })
        })

        after(async () => {
            if (dev) await dev.stop()
            if (dir) rmSync(dir, { recursive: true, force: true })
        })

        for (const size of [56, 1472]) {
            it(`answers ping -s ${size} (5 of 5)`, async () => {
                const r = await runIn(dev.ns, ["ping", "-n", "-c", "5", "-i", "0.2", "-W", "2", "-s", String(size), DEVICE_IP], { timeoutMs: 15000 })
                const text = r.stdout.toString()
                const m = /(\d+) packets transmitted, (\d+) received/.exec(text)
                assert.ok(m, "ping printed no statistics: " + text + r.stderr)
                const got = Number(m[2])
                // with 5% loss each way a reply may be lost; on a clean link all five come back
                assert.ok(o.impairments ? got >= 3 : got === 5, `received ${got} of 5:\n${text}`)
                assert.match(text, new RegExp(`${size + 8} bytes from ${DEVICE_IP.replace(/\./g, "\\.")}`))
            })
        }

        it(`echoes ${o.bulkBytes} bytes through nc unchanged (SHA-256)`, async () => {
            const r = await runIn(dev.ns, ["nc", "-N", "-w", "20", DEVICE_IP, "7"], { stdinFile: file, timeoutMs: 30000 })
            assert.equal(r.status, 0, "nc failed: " + r.stderr)
            assert.equal(r.stdout.length, data.length, "echoed length")
            assert.equal(sha256(r.stdout), sha256(data))
        })

        it(`serves ${o.connections} sequential nc connections`, async () => {
            let ok = 0
            for (let i = 0; i < o.connections; i++) {
                const line = Buffer.from(`connection ${i}\n`)
                const r = await runIn(dev.ns, ["nc", "-N", "-w", "10", DEVICE_IP, "7"], { input: line, timeoutMs: 15000 })
                assert.equal(r.status, 0, `connection ${i}: nc failed: ${r.stderr}`)
                assert.equal(r.stdout.toString(), line.toString(), `connection ${i}`)
                ok++
            }
            assert.equal(ok, o.connections)
        })

        it(`fetches ${o.bulkBytes} bytes from the kernel's python3 http.server (active open)`, async () => {
            dev.ns.spawn(["python3", "-m", "http.server", "8080", "--bind", KERNEL_IP, "--directory", dir])
            const s = await connectRetry(dev, 8080, 10000)
            await s.write(Buffer.from("GET /data.bin HTTP/1.0\r\nHost: " + KERNEL_IP + "\r\n\r\n"))
            const reply = await readAll(s, o.bulkBytes + 4096, 30000)
            s.close()
            const split = reply.indexOf("\r\n\r\n")
            assert.ok(split > 0, "no HTTP header in " + reply.subarray(0, 200).toString())
            assert.match(reply.subarray(0, split).toString(), /^HTTP\/1\.[01] 200/)
            const body = reply.subarray(split + 4)
            assert.equal(body.length, data.length)
            assert.equal(sha256(body), sha256(data))
        })

        it(`uploads ${o.bulkBytes} bytes to a kernel socket and closes first (TIME-WAIT on our side)`, async () => {
            const sink =
                "import socket,hashlib\n" +
                "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n" +
                `s.bind(('${KERNEL_IP}',9000)); s.listen(1); s.settimeout(30)\n` +
                "c,_=s.accept(); c.settimeout(30); h=hashlib.sha256()\n" +
                "while True:\n    b=c.recv(65536)\n    if not b: break\n    h.update(b)\n" +
                "c.sendall(h.hexdigest().encode()); c.close()\n"
            dev.ns.spawn(["python3", "-c", sink])
            const s = await connectRetry(dev, 9000, 10000)
            await s.write(data)
            s.shutdown()
            const reply = await readAll(s, 64, 30000)
            assert.equal(reply.toString(), sha256(data))
            assert.equal(s.state(), "TIME-WAIT", "we sent the first FIN")
            s.close()
        })

        it("ends with an empty connection table and no unexpected drops", async () => {
            const tcp = dev.runner.stack.tcp
            const empty = await waitFor(() => tcp.inUseCount() === 0, 5000)
            const st = dev.runner.stack.status()
            assert.ok(empty, "connections left: " + JSON.stringify(st.tcp.byState))
            const drops: Record<string, number> = st.counters.drops
            const allowed = new Set(o.allowedDrops ?? [])
            const unexpected = Object.keys(drops).filter((k) => !allowed.has(k))
            assert.deepEqual(unexpected.map((k) => `${k}=${drops[k]}`), [], "drops: " + JSON.stringify(drops))
            assert.equal(dev.runner.stuckPolls, 0, "polls that left a due deadline")
            assert.deepEqual(dev.runner.host.errors.map(String), [])
        })

        it("writes a capture that tshark reads without a Malformed packet", { skip: haveTshark() ? false : "tshark not installed (Debian package tshark)" }, () => {
            if (process.env["DS_PCAP_OUT"]) dev.pcap.writeFile(process.env["DS_PCAP_OUT"])
            const report = tsharkRead(dev.pcap.toBuffer())
            assert.equal(report.status, 0, report.stderr)
            // tshark's summary has one line per frame (the expert section's heading may follow them)
            assert.equal(report.lines.filter((l) => /^\s*\d+\s/.test(l)).length, dev.pcap.count)
            assert.equal(report.malformed, 0, report.lines.filter((l) => /Malformed/.test(l)).slice(0, 5).join("\n"))
        })
    })
}

/** Net.connect, again while the kernel's server is not listening yet (ECONNREFUSED). */
async function connectRetry(dev: Device, port: number, ms: number): Promise<TcpSocket> {
    const end = performance.now() + ms
    for (;;) {
        try {
            return await dev.runner.net.connect(parseIp(KERNEL_IP), port, 5000)
        } catch (e) {
            if (!(e instanceof SocketError) || e.code !== "ECONNREFUSED" || performance.now() > end) throw e
            await sleep(100)
        }
    }
}
