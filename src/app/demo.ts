// The demo device: the routes every runner serves (device, TAP, simulator),
// as listed in the architecture. Tests and benchmarks rely on them:
//   GET  /          the page (HTML, live counter over SSE, /status)
//   GET  /bytes/N   exactly N bytes, byte i = i mod 256, with Content-Length
//   POST /echo      the request body back (Content-Length or chunked)
//   GET  /events    Server-Sent Events: a "tick" counter every eventIntervalMs
//   GET  /status    JSON: the stack's counters, connections by state, HTTP counters
//   GET  /ws        WebSocket echo: every text or binary message comes back as the same type
import { Net } from "../socket/socket.js"
import { Stack } from "../stack.js"
import { HttpServer, HttpServerOptions, IncomingRequest } from "../http/server.js"
import { ServerResponse } from "../http/response.js"
import { EventStream } from "../http/sse.js"
import { acceptWebSocket } from "../http/websocket.js"
import { parseDecimal } from "../http/parser.js"
import { INDEX_HTML } from "./page.js"

export interface DemoOptions {
    port?: number
    /** Milliseconds between /events ticks (default 1000). */
    eventIntervalMs?: number
    /** Largest N for /bytes/N (default 1 GiB). */
    maxBytes?: number
    /** Largest WebSocket message /ws takes (default 72 KiB; a device's heap holds a few KB). */
    maxWebSocketMessage?: number
    http?: HttpServerOptions
    /** Adds to the /status object (a driver's counters, the link). */
    status?: (s: any) => void
}

/** Characters of the page written at a time (each becomes a short-lived buffer). */
const PAGE_PIECE = 512

/** 256 bytes of the /bytes pattern, sent again and again. */
const PATTERN_SIZE = 1024

export function startDemo(net: Net, stack: Stack, options?: DemoOptions): HttpServer {
    const o = options || {}
    const interval = o.eventIntervalMs || 1000
    const maxBytes = o.maxBytes || 1024 * 1024 * 1024
    const maxWs = o.maxWebSocketMessage || 72 * 1024
    const server = new HttpServer(net, null, o.http)
    const pattern = Buffer.alloc(PATTERN_SIZE)
    for (let i = 0; i < PATTERN_SIZE; i++) pattern[i] = i & 0xff
    const host = net.host

    server.get("/", async (req: IncomingRequest, res: ServerResponse) => {
        res.setHeader("Content-Type", "text/html; charset=utf-8")
        // from the literal in pieces: a buffer kept for the page would hold its 4 KB of the
        // device's heap for good, and one made per request may not fit; the page is ASCII,
        // so its length is its byte count
        res.setHeader("Content-Length", INDEX_HTML.length)
        res.cork()
        for (let i = 0; i < INDEX_HTML.length; i += PAGE_PIECE) await res.write(INDEX_HTML.slice(i, i + PAGE_PIECE))
        await res.end()
    })

    server.get("/bytes/:n", async (req: IncomingRequest, res: ServerResponse) => {
        const n = parseDecimal(req.params["n"])
        if (n < 0 || n > maxBytes) {
            await res.send(400, "N must be a number of bytes up to " + maxBytes + "\n")
            return
        }
        res.setHeader("Content-Type", "application/octet-stream")
        res.setHeader("Content-Length", n)
        await res.writeHead(200)
        // PATTERN_SIZE is a multiple of 256, so every piece starts at byte value i mod 256;
        // corked, the pieces leave in full segments rather than one segment each
        res.cork()
        let left = n
        while (left > 0) {
            const k = left < PATTERN_SIZE ? left : PATTERN_SIZE
            await res.write(pattern, 0, k)
            left -= k
        }
        await res.end()
    })

    server.post("/echo", async (req: IncomingRequest, res: ServerResponse) => {
        // the parsed length: the raw field may repeat ("4, 4", RFC 9110 §8.6)
        if (req.contentLength >= 0) res.setHeader("Content-Length", req.contentLength)
        res.setHeader("Content-Type", req.headers["content-type"] || "application/octet-stream")
        // read before answering, so that "Expect: 100-continue" gets its 100 first
        const buf = Buffer.alloc(1024)
        let n = await req.read(buf, 0, buf.length)
        await res.writeHead(200)
        while (n > 0) {
            await res.write(buf, 0, n)
            n = await req.read(buf, 0, buf.length)
        }
        await res.end()
    })

    server.get("/events", async (req: IncomingRequest, res: ServerResponse) => {
        const stream = await EventStream.open(res, 2000)
        const tick = host.newSignal()
        // until the client goes away (a write then fails) or the server stops
        for (let count = 1; !req.socket.ended(); count++) {
            await stream.send("" + count, "tick", "" + count)
            await host.waitFor(tick, interval)
        }
        await stream.close()
    })

    server.get("/status", async (req: IncomingRequest, res: ServerResponse) => {
        const s = stack.status()
        s.uptimeMs = host.now()
        s.http = server.stats
        if (o.status) o.status(s)
        res.setHeader("Cache-Control", "no-cache")
        await res.json(s)
    })

    server.get("/ws", async (req: IncomingRequest, res: ServerResponse) => {
        // bigger messages are closed with 1009 (RFC 6455 §7.4.1)
        const ws = await acceptWebSocket(req, res, { maxMessageBytes: maxWs, host })
        if (!ws) return
        for (;;) {
            const m = await ws.receive()
            if (!m) break
            if (!(await ws.send(m.data, m.type === "binary"))) break
        }
    })

    server.listen(o.port || 80)
    return server
}
