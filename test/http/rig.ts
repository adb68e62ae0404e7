// An HTTP test rig: the demo device (server stack) and a raw client on the
// simulator, and a strict parser of what comes back.
import assert from "node:assert/strict"
import { pair, runTask, parseIp, SERVER_IP, Pair } from "../tcp/sim-helpers.js"
import { startDemo, DemoOptions } from "../../src/app/demo.js"
import { HttpServer } from "../../src/http/server.js"
import { TcpSocket } from "../../src/socket/socket.js"
import { Impairments } from "../../src/host/sim/impair.js"
import { Limits } from "../../src/config.js"

export interface Response {
    version: string
    status: number
    headers: Record<string, string>
    body: Buffer
}

export interface HttpRig {
    p: Pair
    server: HttpServer
}

export function httpRig(o?: { imp?: Partial<Impairments>; limits?: Partial<Limits>; demo?: DemoOptions; seed?: number }): HttpRig {
    const p = pair(o?.seed ?? 11, o?.imp ?? { delayMs: 0.5 }, { tcpConnections: 8, tcpSendBuffer: 8192, tcpRecvBuffer: 8192, tcpMslMs: 1000, ...o?.limits })
    const server = startDemo(p.serverNet, p.server, { eventIntervalMs: 100, ...o?.demo })
    return { p, server }
}

export function run<T>(rig: HttpRig, task: () => Promise<T>, maxMs = 120000): Promise<T> {
    return runTask(rig.p.sim, task, maxMs)
}

export function connect(rig: HttpRig): Promise<TcpSocket> {
    return rig.p.clientNet.connect(parseIp(SERVER_IP), 80, 10000)
}

/** Reads until the server closes (or maxBytes). */
export async function readToEnd(sock: TcpSocket, maxBytes = 64 * 1024 * 1024): Promise<Buffer> {
    const parts: Buffer[] = []
    let total = 0
    const buf = Buffer.alloc(8192)
    for (;;) {
        const n = await sock.read(buf, 0, buf.length)
        if (n === 0) break
        parts.push(Buffer.from(buf.subarray(0, n)))
        total += n
        if (total >= maxBytes) break
    }
    return Buffer.concat(parts)
}

/** Parses responses back to back; a close-delimited body takes the rest. Throws on anything malformed. */
export function parseResponses(all: Buffer, headRequests = 0): Response[] {
    const out: Response[] = []
    let at = 0
    let heads = headRequests
    while (at < all.length) {
        const end = all.indexOf("\r\n\r\n", at)
        assert.ok(end >= 0, "incomplete head: " + JSON.stringify(all.subarray(at, at + 200).toString("latin1")))
        const lines = all.toString("latin1", at, end).split("\r\n")
        const m = /^HTTP\/(1\.[01]) (\d{3}) (.*)$/.exec(lines[0])
        assert.ok(m, "status line: " + lines[0])
        const headers: Record<string, string> = {}
        for (const l of lines.slice(1)) {
            const c = l.indexOf(":")
            assert.ok(c > 0, "field: " + l)
            headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim()
        }
        at = end + 4
        const status = Number(m[2])
        let body: Buffer
        if (heads > 0 || status === 204 || status === 304 || status < 200) {
            if (heads > 0) heads--
            body = Buffer.alloc(0)
        } else if (headers["transfer-encoding"] === "chunked") {
            const parts: Buffer[] = []
            for (;;) {
                const le = all.indexOf("\r\n", at)
                const size = parseInt(all.toString("latin1", at, le), 16)
                at = le + 2
                if (size === 0) {
                    assert.equal(all.toString("latin1", at, at + 2), "\r\n")
                    at += 2
                    break
                }
                parts.push(all.subarray(at, at + size))
                at += size
                assert.equal(all.toString("latin1", at, at + 2), "\r\n")
                at += 2
            }
            body = Buffer.concat(parts)
        } else if (headers["content-length"] !== undefined) {
            const n = Number(headers["content-length"])
            body = all.subarray(at, at + n)
            assert.equal(body.length, n, "body shorter than Content-Length")
            at += n
        } else {
            body = all.subarray(at)
            at = all.length
        }
        out.push({ version: m[1], status, headers, body })
    }
    return out
}

/** Sends raw bytes, reads until the server closes, parses. */
export async function exchange(rig: HttpRig, raw: string | Buffer, headRequests = 0): Promise<Response[]> {
    const s = await connect(rig)
    await s.write(typeof raw === "string" ? Buffer.from(raw, "latin1") : raw)
    const all = await readToEnd(s)
    s.close()
    return parseResponses(all, headRequests)
}

export function pattern(n: number): Buffer {
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i++) b[i] = i & 0xff
    return b
}
