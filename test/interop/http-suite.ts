// The HTTP interop suite, shared by the plain and the impaired runs: the demo
// device (src/app/demo.ts, in this process through the RealTimeRunner) on a
// TAP inside the test's own namespace at 198.18.0.2, and the kernel's HTTP
// clients inside that namespace: curl (HTTP/1.0, 1.1, keep-alive, bulk GET
// and POST, chunked upload, SSE), nc (pipelining), wrk and ab (load, bounded
// by -d and -n), and a standard-library python3 WebSocket client
// (wsclient.py; this curl, 7.88, has no ws:// support). Afterwards: the
// stack's drop counters, the connection table emptied after TIME-WAIT, the
// HTTP server's counters, and the capture read by tshark.
//
// Every step is bounded in count and time; the namespace (and with it the
// TAP and every client) is removed when the file ends, also on failure.
import "../../src/host/buffer-polyfill.js"
import { describe, it, before, after, beforeEach, afterEach } from "node:test"
import assert from "node:assert/strict"
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { randomBytes } from "node:crypto"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { PcapFile } from "../../src/host/runner.js"
import { Impairments } from "../../src/host/sim/impair.js"
import { Limits } from "../../src/config.js"
import { INDEX_HTML } from "../../src/app/page.js"
import { haveTshark } from "../tshark.js"
import { interopSkipReason } from "./netns.js"
import { Device, DEVICE_IP, runIn, sha256, sleep, startDevice, waitFor } from "./harness.js"
import { checkCapture, have, parseAb, parseWrk, patternBytes, patternSha256 } from "./http-tools.js"

const HERE = dirname(fileURLToPath(import.meta.url))
const URL0 = `http://${DEVICE_IP}`

export interface HttpSuiteOptions {
    tag: string
    impairments?: Partial<Impairments>
    /** Size of the bulk GET /bytes/N. */
    getBytes: number
    /** Size of the bulk POST /echo (the chunked upload is a fifth of it). */
    postBytes: number
    wrkSeconds: number
    abRequests: number
    /** Drop reasons that may be non-zero at the end (none on a clean link). */
    allowedDrops?: string[]
}

/** Room for wrk's 16 connections at once, ab's TIME-WAITs and the odd curl. */
export const HTTP_LIMITS: Partial<Limits> = {
    tcpConnections: 32,
    tcpSendBuffer: 16384,
    tcpRecvBuffer: 16384,
    tcpBacklog: 16,
    tcpMslMs: 250,
    tcpOutOfOrderRanges: 8,
}

/** Splits an HTTP/1.x response stream into responses (Content-Length or chunked bodies). */
function splitResponses(b: Buffer): { status: number; headers: Record<string, string>; body: Buffer }[] {
    const out: { status: number; headers: Record<string, string>; body: Buffer }[] = []
    let off = 0
    while (off < b.length) {
        const end = b.indexOf("\r\n\r\n", off)
        if (end < 0) throw new Error("truncated head at " + off + ": " + JSON.stringify(b.subarray(off, off + 100).toString("latin1")))
        const lines = b.subarray(off, end).toString("latin1").split("\r\n")
        const m = /^HTTP\/1\.[01] (\d{3}) /.exec(lines[0])
        if (!m) throw new Error("bad status line " + JSON.stringify(lines[0]))
        const headers: Record<string, string> = {}
        for (const l of lines.slice(1)) {
            const i = l.indexOf(":")
            headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
        }
        off = end + 4
        let body: Buffer
        if (headers["content-length"] !== undefined) {
            const n = Number(headers["content-length"])
            if (off + n > b.length) throw new Error(`body truncated: want ${n}, have ${b.length - off}`)
            body = b.subarray(off, off + n)
            off += n
        } else if (/chunked/i.test(headers["transfer-encoding"] || "")) {
            const parts: Buffer[] = []
            for (;;) {
                const le = b.indexOf("\r\n", off)
                const size = parseInt(b.subarray(off, le).toString("latin1"), 16)
                off = le + 2
                if (size === 0) {
                    off += 2
                    break
                }
                parts.push(b.subarray(off, off + size))
                off += size + 2
            }
            body = Buffer.concat(parts)
        } else {
            body = b.subarray(off)
            off = b.length
        }
        out.push({ status: Number(m[1]), headers, body })
    }
    return out
}

/** curl -D - output (head, then body) into status, headers and body. */
function curlHeadAndBody(b: Buffer) {
    const end = b.indexOf("\r\n\r\n")
    assert.ok(end > 0, "no head in curl's output: " + b.subarray(0, 200).toString())
    const lines = b.subarray(0, end).toString("latin1").split("\r\n")
    const headers: Record<string, string> = {}
    for (const l of lines.slice(1)) {
        const i = l.indexOf(":")
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
    }
    return { statusLine: lines[0], headers, body: b.subarray(end + 4) }
}

export function httpSuite(o: HttpSuiteOptions): void {
    const skip = interopSkipReason([
        { name: "curl", pkg: "curl" },
        { name: "nc", pkg: "netcat-openbsd" },
    ])
    const lossy = !!o.impairments
    const what = lossy ? ` (impaired: ${JSON.stringify(o.impairments)})` : ""
    const noWrk = have("wrk") ? false : "wrk not installed (Debian package wrk)"
    const noAb = have("ab") ? false : "ab not installed (Debian package apache2-utils)"
    describe("interop: the HTTP demo on a Linux TAP, kernel clients" + what, { skip: skip ?? false, timeout: 90000 }, () => {
        let dev: Device<PcapFile>
        let pcapPath = ""
        let dir: string
        /** Drops a test explained (e.g. wrk's closes with responses in flight), by reason. */
        const permitted: Record<string, number> = {}
        const permittedHttp = { handlerErrors: 0, responses5xx: 0 }
        const drops = (): Record<string, number> => ({ ...dev.runner.stack.status().counters.drops })
        /** After a client closed with our data in flight: the kernel's RSTs beyond the first find no socket. */
        const explainNoSocket = async (before: Record<string, number>, most: number, why: string) => {
            await sleep(400)
            const extra = (drops()["noSocket"] || 0) - (before["noSocket"] || 0)
            assert.ok(extra <= most, `noSocket drops after ${why}: ${extra} (at most ${most} expected)`)
            permitted["noSocket"] = (permitted["noSocket"] || 0) + extra
        }

        before(async () => {
            dir = mkdtempSync(join(tmpdir(), "ds-tcpip-http-"))
            pcapPath = join(dir, "run.pcap")
            dev = await startDevice(o.tag, { pcap: new PcapFile(pcapPath), limits: HTTP_LIMITS, seed: 11, impairments: o.impairments, demo: { eventIntervalMs: 100 } })
        })

        // which test each drop happened in (printed when there are any)
        let dropsBefore: Record<string, number> = {}
        let httpBefore: Record<string, number> = {}
        const httpStats = (): Record<string, number> => ({ ...(dev.http.stats as any) })
        beforeEach(() => {
            if (!dev) return
            dropsBefore = drops()
            httpBefore = httpStats()
        })
        afterEach((t) => {
            if (!dev) return
            const now = drops()
            const d = Object.keys(now).filter((k) => now[k] !== (dropsBefore[k] || 0))
            if (d.length) console.log(`# drops during "${t.name}": ${d.map((k) => `${k} +${now[k] - (dropsBefore[k] || 0)}`).join(", ")}`)
            const h = httpStats()
            const e = ["handlerErrors", "responses4xx", "responses5xx", "timeouts", "rejectedFull"].filter((k) => h[k] !== httpBefore[k])
            if (e.length) console.log(`# HTTP server during "${t.name}": ${e.map((k) => `${k} +${h[k] - httpBefore[k]}`).join(", ")}`)
        })

        after(async () => {
            if (dev) await dev.stop()
            if (process.env["DS_PCAP_OUT"] && dev) {
                copyFileSync(pcapPath, process.env["DS_PCAP_OUT"])
            }
            if (dir) rmSync(dir, { recursive: true, force: true })
        })

        const curl = (args: string[], timeoutMs = 20000, stdinFile?: string) => runIn(dev.ns, ["curl", "-sS", "--max-time", String(Math.floor(timeoutMs / 1000) - 1), ...args], { timeoutMs, stdinFile })

        it("curl GET / over HTTP/1.0: 200, the page, Connection: close", async () => {
            const r = await curl(["--http1.0", "-D", "-", URL0 + "/"])
            assert.equal(r.status, 0, "curl: " + r.stderr)
            const { statusLine, headers, body } = curlHeadAndBody(r.stdout)
            assert.match(statusLine, /^HTTP\/1\.0 200 OK$/)
            assert.equal(headers["connection"], "close")
            assert.equal(Number(headers["content-length"]), Buffer.byteLength(INDEX_HTML))
            assert.equal(body.toString(), INDEX_HTML)
        })

        it("curl GET / over HTTP/1.1: 200, the page, Content-Length", async () => {
            const r = await curl(["--http1.1", "-D", "-", URL0 + "/"])
            assert.equal(r.status, 0, "curl: " + r.stderr)
            const { statusLine, headers, body } = curlHeadAndBody(r.stdout)
            assert.match(statusLine, /^HTTP\/1\.1 200 OK$/)
            assert.equal(headers["connection"], undefined, "a 1.1 keep-alive response needs no Connection field")
            assert.equal(Number(headers["content-length"]), Buffer.byteLength(INDEX_HTML))
            assert.equal(body.toString(), INDEX_HTML)
        })

        it("curl fetches four URLs over one keep-alive connection (num_connects 1, 0, 0, 0)", async () => {
            const paths = ["/", "/bytes/100", "/bytes/70000", "/status"]
            const files = paths.map((_, i) => join(dir, `ka${i}`))
            const r = await curl(["--http1.1", "-w", "%{num_connects} %{http_code} %{size_download}\\n", ...files.flatMap((f, i) => ["-o", f, URL0 + paths[i]])])
            assert.equal(r.status, 0, "curl: " + r.stderr)
            const rows = r.stdout.toString().trim().split("\n").map((l) => l.split(" ").map(Number))
            assert.equal(rows.length, 4, r.stdout.toString())
            assert.deepEqual(
                rows.map((x) => x[0]),
                [1, 0, 0, 0],
                "connections opened per URL",
            )
            assert.deepEqual(
                rows.map((x) => x[1]),
                [200, 200, 200, 200],
            )
            assert.equal(readFileSync(files[0], "utf8"), INDEX_HTML)
            assert.ok(readFileSync(files[1]).equals(patternBytes(100)))
            assert.ok(readFileSync(files[2]).equals(patternBytes(70000)))
            const status = JSON.parse(readFileSync(files[3], "utf8"))
            assert.equal(status.ip, DEVICE_IP)
            assert.ok(status.http.requests >= 3, "the requests so far are counted")
        })

        it("answers 3 pipelined requests sent in one write (nc), in order", async () => {
            const reqs =
                "GET /bytes/5 HTTP/1.1\r\nHost: d\r\n\r\n" +
                "POST /echo HTTP/1.1\r\nHost: d\r\nContent-Length: 11\r\n\r\nhello world" +
                "GET /bytes/3000 HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"
            // one write: nc reads its stdin (one small pipe write) and sends what it read at once
            const r = await runIn(dev.ns, ["nc", "-N", "-w", "10", DEVICE_IP, "80"], { input: Buffer.from(reqs), timeoutMs: 15000 })
            assert.equal(r.status, 0, "nc: " + r.stderr)
            const rs = splitResponses(r.stdout)
            assert.equal(rs.length, 3, "responses: " + r.stdout.subarray(0, 300).toString("latin1"))
            assert.deepEqual(
                rs.map((x) => x.status),
                [200, 200, 200],
            )
            assert.ok(rs[0].body.equals(patternBytes(5)), "first: /bytes/5")
            assert.equal(rs[1].body.toString(), "hello world", "second: the echo")
            assert.ok(rs[2].body.equals(patternBytes(3000)), "third: /bytes/3000")
            assert.equal(rs[2].headers["connection"], "close")
        })

        it(`wrk -t2 -c16 -d${o.wrkSeconds}s GET /: no errors, all 2xx`, { skip: noWrk }, async () => {
            const before = drops()
            const hBefore = { ...dev.http.stats }
            const r = await runIn(dev.ns, ["wrk", "-t2", "-c16", `-d${o.wrkSeconds}s`, "--timeout", "10s", "--latency", URL0 + "/"], { timeoutMs: o.wrkSeconds * 1000 + 20000 })
            assert.equal(r.status, 0, "wrk: " + r.stderr)
            const w = parseWrk(r.stdout.toString())
            console.log(`# wrk${lossy ? " (impaired)" : ""}: ${w.requests} requests, ${w.requestsPerSec} req/s, p50 ${w.p50} ms, p99 ${w.p99} ms`)
            assert.ok(w.requests > 0, w.text)
            assert.deepEqual(w.errors, { connect: 0, read: 0, write: 0, timeout: 0 }, w.text)
            assert.equal(w.non2xx3xx, 0, w.text)
            // When its time is up wrk closes its 16 sockets with responses in flight; the kernel
            // answers each later segment of ours with a RST. The first one that is in the window
            // resets the connection, those after it find no socket ("noSocket", as RFC 9293 says).
            await explainNoSocket(before, 16 * 4, "wrk's closes")
            // A response still being written when wrk's RST arrives makes the handler's write fail
            // (ECONNRESET): the server counts that as a handler error and a 500 (see the report).
            const cut = dev.http.stats.handlerErrors - hBefore.handlerErrors
            assert.ok(cut <= 16, `handler errors during wrk: ${cut}`)
            permittedHttp.handlerErrors += cut
            permittedHttp.responses5xx += dev.http.stats.responses5xx - hBefore.responses5xx
        })

        it(`ab -n ${o.abRequests} -c8 GET / (a new connection each): no failures, all 2xx`, { skip: noAb }, async () => {
            const r = await runIn(dev.ns, ["ab", "-q", "-n", String(o.abRequests), "-c", "8", "-s", "20", URL0 + "/"], { timeoutMs: 60000 })
            const a = parseAb(r.stdout.toString() + r.stderr)
            console.log(`# ab${lossy ? " (impaired)" : ""}: ${a.complete} requests, ${a.requestsPerSec} req/s, p99 ${a.p99} ms`)
            assert.equal(r.status, 0, "ab: " + r.stderr)
            assert.equal(a.complete, o.abRequests, a.text)
            assert.equal(a.failed, 0, a.text)
            assert.equal(a.non2xx, 0, a.text)
            assert.equal(a.writeErrors, 0, a.text)
        })

        it(`curl GET /bytes/${o.getBytes}: the pattern (SHA-256)`, async () => {
            const r = await curl([URL0 + "/bytes/" + o.getBytes], 60000)
            assert.equal(r.status, 0, "curl: " + r.stderr)
            assert.equal(r.stdout.length, o.getBytes)
            assert.equal(sha256(r.stdout), patternSha256(o.getBytes))
        })

        it(`curl POST /echo of ${o.postBytes} bytes (Content-Length): the same bytes back (SHA-256)`, async () => {
            const data = randomBytes(o.postBytes)
            const file = join(dir, "post.bin")
            writeFileSync(file, data)
            const r = await curl(["-H", "Content-Type: application/octet-stream", "--data-binary", "@" + file, URL0 + "/echo"], 60000)
            assert.equal(r.status, 0, "curl: " + r.stderr)
            assert.equal(r.stdout.length, data.length)
            assert.equal(sha256(r.stdout), sha256(data))
        })

        it(`curl POST /echo of ${Math.floor(o.postBytes / 5)} bytes, chunked: the same bytes back`, async () => {
            const data = randomBytes(Math.floor(o.postBytes / 5))
            const file = join(dir, "chunked.bin")
            writeFileSync(file, data)
            const r = await curl(["-H", "Transfer-Encoding: chunked", "-H", "Content-Type: application/octet-stream", "--data-binary", "@" + file, URL0 + "/echo"], 60000)
            assert.equal(r.status, 0, "curl: " + r.stderr)
            assert.equal(r.stdout.length, data.length)
            assert.equal(sha256(r.stdout), sha256(data))
        })

        it("WebSocket echo: text and binary messages (7/16/64-bit lengths, fragmented, ping), close 1000", async () => {
            const r = await runIn(dev.ns, ["python3", join(HERE, "wsclient.py"), DEVICE_IP, "80", "/ws", "--timeout", "20"], { timeoutMs: 45000 })
            const out = r.stdout.toString().trim()
            let j: any
            try {
                j = JSON.parse(out)
            } catch {
                assert.fail("wsclient printed " + out + r.stderr)
            }
            assert.equal(j.ok, true, out)
            assert.equal(r.status, 0, out + r.stderr)
        })

        it("curl GET /events: Server-Sent Events ticks until the client leaves", async () => {
            // --max-time ends curl (exit 28): the server must notice at its next tick and close
            const before = drops()
            const hBefore = { ...dev.http.stats }
            // (on the impaired link a lost SYN alone costs the kernel's 1 s initial RTO)
            const seconds = lossy ? 3 : 1.5
            const r = await runIn(dev.ns, ["curl", "-sS", "-N", "--max-time", String(seconds), URL0 + "/events"], { timeoutMs: 10000 })
            assert.ok(r.status === 28 || r.status === 0, "curl: " + r.status + " " + r.stderr)
            const ticks = (r.stdout.toString().match(/^event: tick$/gm) || []).length
            assert.ok(ticks >= (lossy ? 3 : 5), `${ticks} ticks in ${seconds} s:\n${r.stdout.toString().slice(0, 300)}`)
            // at its next tick the handler ends the stream (last chunk + FIN) to a socket curl closed:
            // the kernel answers both with RSTs, and the second finds no connection
            await explainNoSocket(before, 2, "the SSE client left")
            // if curl's RST came first, the handler's next write fails: counted as a handler error (see wrk)
            const cut = dev.http.stats.handlerErrors - hBefore.handlerErrors
            assert.ok(cut <= 1, `handler errors: ${cut}`)
            permittedHttp.handlerErrors += cut
            permittedHttp.responses5xx += dev.http.stats.responses5xx - hBefore.responses5xx
        })

        it("ends with an empty connection table after TIME-WAIT, no unexpected drops, no server errors", async () => {
            const tcp = dev.runner.stack.tcp
            // 2 MSL = 500 ms; the /events handler notices its client left at its next tick
            const empty = await waitFor(() => tcp.inUseCount() === 0, 10000)
            const st = dev.runner.stack.status()
            assert.ok(empty, "connections left: " + JSON.stringify(st.tcp.byState))
            const dropped: Record<string, number> = st.counters.drops
            const allowed = new Set(o.allowedDrops ?? [])
            const unexpected = Object.keys(dropped).filter((k) => !allowed.has(k) && dropped[k] > (permitted[k] || 0))
            console.log(`# counters${lossy ? " (impaired)" : ""}: drops ${JSON.stringify(dropped)} (explained: ${JSON.stringify(permitted)}), tcp ${JSON.stringify(st.tcp.counters)}, http ${JSON.stringify(dev.http.stats)}`)
            assert.deepEqual(unexpected.map((k) => `${k}=${dropped[k]}`), [], "drops: " + JSON.stringify(dropped))
            assert.equal(dev.tap.stats.txDropped, 0, "frames the TAP bridge could not queue")
            assert.equal(dev.runner.stuckPolls, 0, "polls that left a due deadline")
            assert.deepEqual(dev.runner.host.errors.map(String), [])
            const h = dev.http.stats
            assert.equal(h.connectionsActive, 0, "HTTP connections still active")
            assert.equal(h.handlerErrors, permittedHttp.handlerErrors, "handler errors (beyond responses cut by wrk's closes)")
            assert.equal(h.responses5xx, permittedHttp.responses5xx, "5xx responses (beyond responses cut by wrk's closes)")
            assert.equal(h.responses4xx, 0, "4xx responses")
            assert.equal(h.rejectedFull, 0, "503 for lack of room")
            if (!lossy) assert.equal(st.tcp.counters.retransmits, 0, "retransmissions on a clean link")
        })

        it("writes a capture that tshark reads: no Malformed, no TCP analysis warnings but retransmission/flow control", { skip: haveTshark() ? false : "tshark not installed (Debian package tshark)" }, () => {
            // the runner's PcapFile flushes every 250 ms: stop capturing first
            dev.runner.stop()
            dev.pcap.flush()
            const c = checkCapture(pcapPath, { lossy })
            if (c.malformed || c.unexpected || c.conflictingBytes) {
                const keep = join(tmpdir(), `ds-tcpip-${o.tag}-failed.pcap`)
                copyFileSync(pcapPath, keep)
                console.log(`# capture kept in ${keep}`)
            }
            console.log(`# capture${lossy ? " (impaired)" : ""}: ${c.frames} frames, TCP analysis flags ${JSON.stringify(c.flags)}`)
            assert.equal(c.status, 0, c.stderr)
            assert.ok(c.frames > 1000, "frames captured: " + c.frames)
            assert.equal(c.conflictingBytes, 0, "retransmitted bytes that differ from the first transmission")
            assert.equal(c.malformed, 0, "malformed packets:\n" + c.malformedLines.join("\n"))
            if (c.reassemblyOverlaps) console.log(`# capture: ${c.reassemblyOverlaps} tshark reassembly overlaps on retransmissions (bytes checked identical)`)
            assert.equal(c.unexpected, 0, "unexpected TCP analysis flags:\n" + c.unexpectedLines.join("\n"))
        })
    })
}
