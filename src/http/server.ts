// The HTTP/1.x server: an accept loop, and per connection a loop of
// read head → handler → response, with keep-alive and pipelining (requests
// are taken from the connection's buffer one at a time, so responses go out in
// request order). Bad input always has a defined answer: 400, 408, 413, 431,
// 501, 505, 503 when the server is full; a handler that throws gets a 500.
//
//   listen ─▶ acceptLoop ─spawn─▶ serveConnection ─▶ (read head) ─▶ parseHead
//                                        │                        └▶ error status, close
//                                        └▶ handler(req, res) ─▶ res.end ─▶ skip body ─▶ next
import { Net, SocketError, TcpServer, TcpSocket } from "../socket/socket.js"
import { ConnReader } from "./conn.js"
import { BodyReader, HttpError } from "./body.js"
import { RequestHead, parseHead } from "./parser.js"
import { ServerResponse } from "./response.js"

export interface HttpServerOptions {
    /**
     * Request line plus header fields, and the connection's input buffer (431
     * beyond). Default 1024, nginx's client_header_buffer_size: curl sends
     * about 80 bytes, a browser 400-800; each open connection holds one
     * buffer of this size on the device's heap.
     */
    maxHeaderBytes?: number
    /** Header fields per request (431 beyond). */
    maxHeaders?: number
    /** Request body bytes (413 beyond); bodies are streamed, never held whole by the server. */
    maxBodyBytes?: number
    /** Time for a whole request head to arrive, from its first byte (408): a slow client cannot hold a connection. */
    headerTimeoutMs?: number
    /**
     * The same when the TCP pool is full and a new client waits: a head still
     * coming after this long (the first one included), or a connection idle
     * between requests at once, loses its slot to the newcomer (a reset).
     */
    busyHeaderTimeoutMs?: number
    /** Longest wait for the next piece of a body (408). */
    bodyTimeoutMs?: number
    /** How long an idle keep-alive connection stays open. */
    keepAliveTimeoutMs?: number
    /** Connections served at once; more are answered 503 and closed. */
    maxConnections?: number
    /** Requests on one connection before the server closes it. */
    maxRequestsPerConnection?: number
}

export type Handler = (req: IncomingRequest, res: ServerResponse) => Promise<void> | void

/**
 * A request: its head as parsed (RequestHead: method, url, path, query,
 * httpVersion, headers, contentLength, ...), its route parameters and body.
 * @devsWhenUsed
 */
export class IncomingRequest extends RequestHead {
    /** Route parameters (":name" in a route pattern). */
    params: any = null
    readonly socket: TcpSocket
    /** The connection's input (bytes already read past the head live here: upgrades take them). */
    readonly conn: ConnReader
    /** null when the request has no body (and no Expect). */
    body: BodyReader = null

    constructor(socket: TcpSocket, conn: ConnReader) {
        super()
        this.socket = socket
        this.conn = conn
    }

    /** Reads up to len bytes of the body; 0 at its end. */
    async read(buf: Buffer, off: number, len: number): Promise<number> {
        return this.body ? await this.body.read(buf, off, len) : 0
    }

    /** The whole body, up to max bytes (413 beyond). */
    async readBody(max: number): Promise<Buffer> {
        let out = Buffer.alloc(0)
        const chunk = Buffer.alloc(512)
        for (;;) {
            const n = await this.read(chunk, 0, chunk.length)
            if (n === 0) return out
            if (out.length + n > max) throw new HttpError(413, "body too large")
            const next = Buffer.alloc(out.length + n)
            next.blitAt(0, out, 0, out.length)
            next.blitAt(out.length, chunk, 0, n)
            out = next
        }
    }

    bodyDone(): boolean {
        return !this.body || this.body.done()
    }
}

/** Counters for /status. */
export interface HttpStats {
    /** Connections accepted since the server started. */
    connectionsAccepted: number
    /** Connections being served now. */
    connectionsActive: number
    /** Requests whose head was parsed. */
    requests: number
    /** 101 Switching Protocols (WebSocket upgrades). */
    responses1xx: number
    responses2xx: number
    responses3xx: number
    responses4xx: number
    responses5xx: number
    timeouts: number
    rejectedFull: number
    handlerErrors: number
    /** Requests whose connection failed under them (the client reset or vanished). */
    aborted: number
    /** Request bodies with broken framing (a bad chunk line, cut short): 400 or cut, and the connection closed. */
    badBodies: number
}

/** The defaults of HttpServerOptions. */
const HTTP_OPTIONS_DEFAULT =
    '{"maxHeaderBytes":1024,"maxHeaders":32,"maxBodyBytes":16777216,"headerTimeoutMs":10000,"busyHeaderTimeoutMs":1000,"bodyTimeoutMs":10000,"keepAliveTimeoutMs":5000,"maxConnections":1000000,"maxRequestsPerConnection":1000}'

export interface Route {
    method: string
    pattern: string
    /** The pattern up to its first ":" part (all of it when it has none): a path that does not start so cannot match. */
    fixed: string
    handler: Handler
}

/** @devsWhenUsed */
export class HttpServer {
    /** An object literal: its keys stay in the image (JSON.parse'd ones took 300 B of heap). */
    readonly stats: HttpStats = {
        connectionsAccepted: 0,
        connectionsActive: 0,
        requests: 0,
        responses1xx: 0,
        responses2xx: 0,
        responses3xx: 0,
        responses4xx: 0,
        responses5xx: 0,
        timeouts: 0,
        rejectedFull: 0,
        handlerErrors: 0,
        aborted: 0,
        badBodies: 0,
    }
    readonly options: HttpServerOptions
    private readonly net: Net
    private readonly routes: Route[] = []
    /** "METHOD path" of every route without parameters -> its index in routes (the first one registered). */
    private readonly exact: any = {}
    /** The indices of the routes with parameters, in registration order. */
    private readonly withParams: number[] = []
    private fallback: Handler
    private server: TcpServer = null
    private closing = false

    constructor(net: Net, handler?: Handler, options?: HttpServerOptions) {
        this.net = net
        this.fallback = handler || null
        // the defaults as data, then what was given (a JSON literal costs no code
        // bytes; its keys take about 260 B of heap, which an object literal's
        // code would cost in image bytes)
        const o: any = options || {}
        const d: any = JSON.parse(HTTP_OPTIONS_DEFAULT)
        for (const k of Object.keys(d)) if (o[k]) d[k] = o[k]
        this.options = d
    }

    /** Adds a route; pattern parts starting with ":" capture into req.params. HEAD falls back to GET. */
    route(method: string, pattern: string, handler: Handler): this {
        const param = ("/" + pattern).indexOf("/:") // where the first ":" part starts
        const m = method.toUpperCase()
        const key = m + " " + pattern
        if (param >= 0) this.withParams.push(this.routes.length)
        else if (this.exact[key] === undefined) this.exact[key] = this.routes.length
        this.routes.push({ method: m, pattern, fixed: param < 0 ? pattern : pattern.slice(0, param), handler })
        return this
    }

    get(pattern: string, handler: Handler): this {
        return this.route("GET", pattern, handler)
    }

    post(pattern: string, handler: Handler): this {
        return this.route("POST", pattern, handler)
    }

    /** Starts accepting on port. */
    listen(port: number, backlog?: number): void {
        this.server = this.net.listen(port, backlog)
        const self = this
        this.net.host.spawn(async () => {
            await self.acceptLoop()
        })
    }

    /** Stops accepting; connections being served finish their current request. */
    close(): void {
        this.closing = true
        if (this.server) this.server.close()
    }

    private async acceptLoop(): Promise<void> {
        for (;;) {
            const sock = await this.server.accept()
            if (!sock) return
            this.stats.connectionsAccepted++
            if (this.stats.connectionsActive >= this.options.maxConnections) {
                this.stats.rejectedFull++
                this.startTask(sock, true)
                continue
            }
            this.stats.connectionsActive++
            this.startTask(sock, false)
        }
    }

    /** A task per connection (a fiber on the device); outside the loop so the closure captures no loop variable. */
    private startTask(sock: TcpSocket, reject: boolean): void {
        const self = this
        this.net.host.spawn(async () => {
            if (reject) await self.reject(sock)
            else await self.serveConnection(sock)
        })
    }

    /** 503 for a connection over the limit (RFC 9110 §15.6.4). */
    private async reject(sock: TcpSocket): Promise<void> {
        try {
            await sock.write(Buffer.from("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 12\r\nConnection: close\r\n\r\nserver busy\n"))
            await sock.drain(this.options.bodyTimeoutMs)
        } catch (e) {
            // the client went away: nothing to answer
        }
        this.countStatus(503)
        sock.close()
    }

    private async serveConnection(sock: TcpSocket): Promise<void> {
        const o = this.options
        const host = this.net.host
        // the connection's input; null while idle (see below)
        let conn: ConnReader = null
        try {
            for (let served = 0; !this.closing || served === 0; served++) {
                // The head. Nothing is held for a request before its first bytes
                // (no reader, buffer or request object), and an idle connection
                // waits on the socket itself, one call level from here.
                const between = served > 0
                let req: IncomingRequest = null
                let deadline = 0
                if (conn && conn.available() > 0) deadline = host.now() + o.headerTimeoutMs
                else if (conn) {
                    conn.release()
                    conn = null
                }
                // -1 while waiting (and when the connection ends or idles out: no answer owed), else 0 or the error to answer
                let status = -1
                for (;;) {
                    if (conn && conn.available() > 0) {
                        if (!req) req = new IncomingRequest(sock, conn)
                        // each line is judged as it completes: a bad one is answered at once
                        status = parseHead(conn.buf, conn.start, conn.end, o.maxHeaders, req)
                        if (status === 0) {
                            conn.skip(req.parsed)
                            sock.setReclaimable(-1)
                        } else if (status < 0 && conn.end - conn.start === conn.size) status = 431
                        if (status >= 0) break
                    }
                    // the exhaustion policy (README, Limits): while we wait, a new client may take this slot
                    const since = deadline === 0 ? host.now() : deadline - o.headerTimeoutMs
                    sock.setReclaimable(deadline === 0 && between ? since : since + o.busyHeaderTimeoutMs)
                    let timeout: number
                    if (deadline === 0) timeout = between ? o.keepAliveTimeoutMs : o.headerTimeoutMs
                    else {
                        timeout = deadline - host.now()
                        if (timeout <= 0) {
                            this.stats.timeouts++
                            status = 408
                            break
                        }
                    }
                    let got = conn && conn.buf ? 1 : await sock.read(null, 0, 0, timeout)
                    if (got > 0) {
                        if (!conn) conn = new ConnReader(sock, o.maxHeaderBytes)
                        got = await conn.fill(timeout)
                    }
                    if (got === 0) {
                        // the peer closed (mid-head or between requests): nobody to answer
                        if (sock.ended()) break
                        // idle with nothing buffered: a keep-alive or first-byte timeout
                        if (!conn || conn.available() === 0) {
                            this.stats.timeouts++
                            break
                        }
                        // a partial head and no progress: the deadline runs out above
                    } else if (deadline === 0) deadline = host.now() + o.headerTimeoutMs
                }
                if (status < 0) break
                if (status === 0 && req.contentLength > o.maxBodyBytes) status = 413
                if (status > 0) {
                    await this.answerError(sock, status, req.httpVersion)
                    await this.lingeringClose(conn)
                    break
                }
                const keepAlive = req.keepAlive && served + 1 < o.maxRequestsPerConnection && !this.closing
                if (!(await this.serveRequest(sock, conn, req, keepAlive))) {
                    await this.lingeringClose(conn)
                    break
                }
            }
        } catch (e) {
            // the connection failed (reset, timeout): nothing more to send
        }
        if (conn) conn.release()
        this.stats.connectionsActive--
        sock.close()
    }

    /** Runs the handler for one request. Returns whether the connection may carry another. */
    private async serveRequest(sock: TcpSocket, conn: ConnReader, req: IncomingRequest, keepAlive: boolean): Promise<boolean> {
        const o = this.options
        const res = new ServerResponse(sock, req.httpVersion === "1.0", req.method === "HEAD", keepAlive)
        const expect = req.expectContinue
        // RFC 9110 §10.1.1: "100 Continue" when the handler starts reading the
        // body, unless the final response has already begun
        if (req.contentLength > 0 || req.chunked || expect) {
            req.body = new BodyReader(conn, req.contentLength, req.chunked, o.maxBodyBytes, o.bodyTimeoutMs, expect ? this.continueSender(sock, res) : null)
        }
        this.stats.requests++
        try {
            await this.dispatch(req, res)
        } catch (e) {
            if (e instanceof SocketError) {
                // the connection failed (reset, timed out): nobody to answer
                this.stats.aborted++
                sock.abort()
                return false
            }
            const status = e instanceof HttpError ? (e as HttpError).status : 500
            if (status === 500) this.stats.handlerErrors++
            if (status === 400) this.stats.badBodies++
            if (status === 408) this.stats.timeouts++
            if (res.headersSent) {
                // too late for a status: cut the connection so the client sees a broken response
                this.countStatus(500)
                sock.abort()
                return false
            }
            await this.answerError(sock, status, req.httpVersion)
            return false
        }
        if (!res.finished) await res.end()
        this.countStatus(res.statusCode)
        if (res.statusCode === 101) return false // upgraded: the handler owns the socket now
        if (!res.keepAlive) return false
        // the next request starts after this one's body
        if (req.body && !req.body.done()) {
            if (expect && !res.headersSent) return false
            try {
                await req.body.skipRest()
            } catch (e) {
                this.stats.badBodies++
                return false
            }
        }
        return true
    }

    /** Sends "100 Continue" when called, unless the response has begun. */
    private continueSender(sock: TcpSocket, res: ServerResponse): () => Promise<void> {
        return async () => {
            if (!res.headersSent) await sock.write(Buffer.from("HTTP/1.1 100 Continue\r\n\r\n"))
        }
    }

    private async dispatch(req: IncomingRequest, res: ServerResponse): Promise<void> {
        const method = req.method
        const path = req.path
        // HEAD is answered by the GET route on the second pass
        for (let pass = 0; pass < 2; pass++) {
            const want = pass === 0 ? method : method === "HEAD" ? "GET" : ""
            if (!want) break
            // a route without parameters is found by its key at once; one with
            // parameters registered before it still comes first (registration order)
            const hit = this.exact[want + " " + path]
            const before = hit === undefined ? this.routes.length : hit
            for (const k of this.withParams) {
                if (k > before) break
                const r = this.routes[k]
                if (r.method !== want) continue
                const params = matchRoute(r, path)
                if (!params) continue
                req.params = params
                await r.handler(req, res)
                return
            }
            if (hit !== undefined) {
                req.params = {}
                await this.routes[hit].handler(req, res)
                return
            }
        }
        req.params = {}
        if (this.fallback) {
            await this.fallback(req, res)
            return
        }
        // no route for this method: which ones does the path have?
        let pathMatched = false
        const allowed: string[] = []
        for (const r of this.routes) {
            if (!matchRoute(r, path)) continue
            pathMatched = true
            if (allowed.indexOf(r.method) < 0) allowed.push(r.method)
        }
        if (pathMatched) {
            if (allowed.indexOf("GET") >= 0 && allowed.indexOf("HEAD") < 0) allowed.push("HEAD")
            res.setHeader("Allow", allowed.join(", "))
            await res.send(405, "method not allowed\n")
            return
        }
        await res.send(404, "not found\n")
    }

    /**
     * Closing with unread input makes TCP send a RST (RFC 2525 §2.17), which
     * can destroy the response before the client reads it. So, like Apache's
     * lingering close: send our FIN, then read and drop what the client still
     * sends, for a short while, before closing.
     */
    private async lingeringClose(conn: ConnReader): Promise<void> {
        const sock = conn.sock
        if (sock.ended()) return
        sock.shutdown()
        const host = this.net.host
        const deadline = host.now() + 2000
        let dropped = 0
        try {
            while (!sock.ended() && dropped < 65536) {
                const left = deadline - host.now()
                if (left <= 0) break
                conn.start = 0
                conn.end = 0
                const n = await sock.read(conn.buf, 0, conn.buf.length, left)
                if (n === 0) break
                dropped += n
            }
        } catch (e) {
            // reset by the peer: nothing left to protect
        }
    }

    /** A status the server decides by itself; the connection closes after it. */
    private async answerError(sock: TcpSocket, status: number, httpVersion: string): Promise<void> {
        const res = new ServerResponse(sock, httpVersion === "1.0", false, false)
        try {
            await res.send(status, status + "\n")
            await sock.drain(this.options.bodyTimeoutMs)
        } catch (e) {
            // the client is gone
        }
        this.countStatus(status)
    }

    private countStatus(status: number): void {
        // a table, not a branch per class: responses1xx .. responses5xx
        const k = status < 200 ? 1 : status >= 500 ? 5 : Math.floor(status / 100)
        const stats: any = this.stats
        stats["responses" + k + "xx"]++
    }
}

/**
 * The parameters when path matches the route's pattern, part by part between
 * "/"s (a ":name" part takes any non-empty part), else null.
 */
export function matchRoute(r: Route, path: string): any {
    const pattern = r.pattern
    const fixed = r.fixed
    if (fixed === pattern) return pattern === path ? {} : null
    if (path.slice(0, fixed.length) !== fixed) return null
    const out: any = {}
    for (let i = fixed.length, j = i; ; ) {
        // the parts pattern[i, pe) and path[j, se)
        let pe = pattern.indexOf("/", i)
        if (pe < 0) pe = pattern.length
        let se = path.indexOf("/", j)
        if (se < 0) se = path.length
        if (pe > i && pattern.charCodeAt(i) === 58) {
            if (se === j) return null
            out[pattern.slice(i + 1, pe)] = path.slice(j, se)
        } else if (pattern.slice(i, pe) !== path.slice(j, se)) return null
        if (pe === pattern.length || se === path.length) return pe === pattern.length && se === path.length ? out : null
        i = pe + 1
        j = se + 1
    }
}
