// A small fetch-like HTTP/1.1 client over ds-tcpip sockets, portable core
// (no URL class, no regex, no Map: DeviceScript has none of them).
//
//   const res = await request(net, "http://198.18.0.2:8080/status")
//   res.status, res.statusText, res.headers["content-type"]   (lower-case names)
//   await res.json()  /  res.text()  /  res.body()  /  res.read(buf, off, len)
//
// One request per connection ("Connection: close" unless the caller sets
// Connection). The request (head and body) is written by a task of its own
// while the response is read, so a server that answers as it reads (an echo)
// cannot deadlock against us when the body is larger than the TCP buffers.
//
// Response framing is RFC 9112 §6.3: no body for HEAD, 1xx, 204 and 304;
// chunked; Content-Length; otherwise the body runs to the end of the
// connection. Interim 1xx responses are skipped. Everything is bounded: the
// head by maxHeaderBytes, body() by maxBodyBytes, and every wait by timeoutMs
// (connect; the head, counted from the last progress in sending the request;
// each body read). Malformed input rejects with an HttpClientError and aborts
// the connection; it never hangs.
import { Net, TcpSocket } from "../socket/socket.js"
import { parseIp } from "../wire/bytes.js"
import { ConnReader } from "./conn.js"
import { BodyReader, HttpError } from "./body.js"
import { findHeadEnd, parseDecimal, text } from "./parser.js"
import { hex } from "./response.js"

/** @devsWhenUsed */
export class HttpClientError extends Error {
    /**
     * EINVAL (bad URL or arguments), ENOTFOUND (resolve failed), ETIMEDOUT,
     * EPROTO (malformed or unsupported response), EMSGSIZE (head or body over
     * its limit). Socket failures come as SocketError (ECONNREFUSED, ECONNRESET...).
     */
    readonly code: string
    constructor(code: string, what: string) {
        super(code + ": " + what)
        this.code = code
    }
}

export interface RequestTarget {
    /** "http://host[:port]/path?query"; when given, host, port and path come from it. */
    url?: string
    /** A dotted IPv4 address, or a name when options.resolve is given. */
    host?: string
    /** Default 80. */
    port?: number
    /** Default "/". */
    path?: string
    /** Default "GET". */
    method?: string
    /** Extra fields: { "Content-Type": "text/plain" }. "Transfer-Encoding: chunked" sends the body chunked. */
    headers?: any
    /** A string is sent as UTF-8. */
    body?: Buffer | string
}

export interface RequestOptions {
    /** Connect, response head, each body read (ms; default 30000; 0: none). */
    timeoutMs?: number
    /** Most bytes body()/text()/json() will hold (default 65536; read() streams without a limit). */
    maxBodyBytes?: number
    /** The response head (and each chunk-size line) must fit; also the connection's read buffer (default 2048). */
    maxHeaderBytes?: number
    /** Maps a host name to an IPv4 address as a number (parseIp's form); null or < 0 when unknown. */
    resolve?: (host: string, timeoutMs: number) => Promise<number>
}

/** @devsWhenUsed */
export class ParsedUrl {
    host = ""
    port = 80
    /** Path and query ("/a?b"); the fragment is dropped. */
    path = "/"
}

/**
 * Parses "http://host[:port][/path][?query][#fragment]". Returns null when
 * malformed or not http (no https, no IPv6 literals, no user info).
 */
export function parseUrl(url: string): ParsedUrl {
    if (url.length < 8 || url.slice(0, 7).toLowerCase() !== "http://") return null
    let end = url.length
    const hash = url.indexOf("#")
    if (hash >= 0) end = hash
    let a = 7
    let p = a
    while (p < end && url.charCodeAt(p) !== 47 && url.charCodeAt(p) !== 63) p++ // '/' '?'
    const authority = url.slice(a, p)
    if (authority.length === 0 || authority.indexOf("@") >= 0 || authority.indexOf("[") >= 0) return null
    const out = new ParsedUrl()
    const colon = authority.indexOf(":")
    if (colon >= 0) {
        out.host = authority.slice(0, colon)
        const port = parseDecimal(authority.slice(colon + 1))
        if (port < 1 || port > 65535) return null
        out.port = port
    } else out.host = authority
    if (!validHost(out.host)) return null
    let path = url.slice(p, end)
    if (path.length === 0) path = "/"
    else if (path.charCodeAt(0) === 63) path = "/" + path
    if (!validPath(path)) return null
    out.path = path
    return out
}

/** Letters, digits, '-', '.', '_': a dotted quad or a DNS name. */
function validHost(h: string): boolean {
    if (h.length === 0 || h.length > 253) return false
    for (let i = 0; i < h.length; i++) {
        const c = h.charCodeAt(i)
        const ok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95
        if (!ok) return false
    }
    return true
}

/** origin-form: starts with '/', visible ASCII only (anything else must be percent-encoded). */
function validPath(p: string): boolean {
    if (p.length === 0 || p.charCodeAt(0) !== 47) return false
    for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i)
        if (c <= 32 || c >= 127) return false
    }
    return true
}

/** RFC 9110 §5.6.2 tchar. */
function isTokenChar(c: number): boolean {
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57)) return true
    return c === 33 || (c >= 35 && c <= 39) || c === 42 || c === 43 || c === 45 || c === 46 || c === 94 || c === 95 || c === 96 || c === 124 || c === 126
}

function isToken(s: string): boolean {
    if (s.length === 0) return false
    for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false
    return true
}

/** A field value we may send: no CR, LF, NUL or other CTLs but HT (no header injection). */
function validFieldValue(s: string): boolean {
    for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i)
        if ((c < 32 && c !== 9) || c === 127) return false
    }
    return true
}

// ---- the response head ------------------------------------------------------

const CR = 13
const LF = 10
const SP = 32
const HT = 9

/** @devsWhenUsed */
export class ResponseHead {
    /** 10 or 11. */
    version = 11
    status = 0
    reason = ""
    names: string[] = []
    values: string[] = []

    reset(): void {
        this.version = 11
        this.status = 0
        this.reason = ""
        this.names = []
        this.values = []
    }
}

/**
 * Parses the response head in buf[start, end) (end from findHeadEnd): status
 * line and fields (obs-fold is replaced by a space, RFC 9112 §5.2). Returns
 * "" on success, or what is wrong.
 */
export function parseResponseHead(buf: Buffer, start: number, end: number, out: ResponseHead): string {
    out.reset()
    let i = start
    // HTTP-version SP 3DIGIT [SP reason] CRLF
    if (i + 12 > end || buf[i] !== 72 || buf[i + 1] !== 84 || buf[i + 2] !== 84 || buf[i + 3] !== 80 || buf[i + 4] !== 47 || buf[i + 6] !== 46) return "not an HTTP status line"
    if (buf[i + 5] !== 49) return "unsupported HTTP version"
    const minor = buf[i + 7] - 48
    if (minor < 0 || minor > 9) return "bad HTTP version"
    out.version = minor === 0 ? 10 : 11
    i += 8
    if (buf[i] !== SP) return "bad status line"
    i++
    let status = 0
    for (let k = 0; k < 3; k++) {
        const d = buf[i + k] - 48
        if (d < 0 || d > 9) return "bad status code"
        status = status * 10 + d
    }
    if (status < 100) return "bad status code"
    out.status = status
    i += 3
    if (buf[i] === SP) {
        i++
        const r0 = i
        while (i < end && buf[i] !== CR && buf[i] !== LF) {
            const c = buf[i]
            if ((c < SP && c !== HT) || c === 127) return "control character in the reason phrase"
            i++
        }
        out.reason = text(buf, r0, i)
    }
    if (i < end && buf[i] === CR) i++
    if (i >= end || buf[i] !== LF) return "bad status line"
    i++
    for (;;) {
        if (i >= end) return "head ends inside a field"
        if (buf[i] === LF) return ""
        if (buf[i] === CR) return i + 1 < end && buf[i + 1] === LF ? "" : "bare CR"
        let folded = false
        let n0 = i
        if (buf[i] === SP || buf[i] === HT) {
            // obs-fold: continues the previous field's value
            if (out.names.length === 0) return "whitespace before the first field"
            folded = true
        } else {
            while (i < end && isTokenChar(buf[i])) i++
            if (i === n0 || i >= end || buf[i] !== 58) return "bad field name" // includes "name :" (§5.1)
        }
        const name = folded ? "" : text(buf, n0, i).toLowerCase()
        if (!folded) i++
        while (i < end && (buf[i] === SP || buf[i] === HT)) i++
        const v0 = i
        while (i < end && buf[i] !== CR && buf[i] !== LF) {
            const c = buf[i]
            if ((c < SP && c !== HT) || c === 127) return "control character in a field value"
            i++
        }
        let v1 = i
        while (v1 > v0 && (buf[v1 - 1] === SP || buf[v1 - 1] === HT)) v1--
        if (i < end && buf[i] === CR) i++
        if (i >= end || buf[i] !== LF) return "bare CR in a field"
        i++
        const value = text(buf, v0, v1)
        if (folded) {
            const last = out.values.length - 1
            out.values[last] = value.length ? out.values[last] + " " + value : out.values[last]
        } else {
            out.names.push(name)
            out.values.push(value)
        }
    }
}

// ---- the response -----------------------------------------------------------

const enum BodyMode {
    None = 0,
    /** Content-Length or chunked, through BodyReader. */
    Framed,
    /** Until the server closes. */
    Close,
}

/** The request writer's progress, shared with the reader. @devsWhenUsed */
class Writer {
    done = false
    error: any = null
    /** When the last piece of the request went into the send buffer. */
    progressAt = 0
}

const MAX_SAFE = 9007199254740991
/** body() reads a body of unknown length in pieces of this size. */
const BODY_PIECE = 512

/** @devsWhenUsed */
export class ClientResponse {
    readonly status: number
    readonly statusText: string
    /** "1.0" or "1.1". */
    readonly httpVersion: string
    /** Fields by lower-case name; repeated fields joined with ", ". */
    readonly headers: any
    /** The Content-Length field (for HEAD and 304 that of the body not sent), or -1 when chunked, close-delimited or absent. */
    readonly contentLength: number
    /** Body bytes read so far. */
    received = 0
    private mode = BodyMode.None
    private reader: BodyReader = null
    private readonly sock: TcpSocket
    private readonly conn: ConnReader
    private readonly writer: Writer
    private readonly net: Net
    private readonly timeoutMs: number
    private readonly maxBodyBytes: number
    private finished = false
    private failure: any = null

    constructor(net: Net, head: ResponseHead, sock: TcpSocket, conn: ConnReader, writer: Writer, o: RequestOptions, contentLength: number) {
        this.net = net
        this.status = head.status
        this.statusText = head.reason
        this.httpVersion = head.version === 10 ? "1.0" : "1.1"
        const h: any = {}
        const seen: string[] = []
        for (let i = 0; i < head.names.length; i++) {
            const n = head.names[i]
            if (n === "__proto__") continue
            if (seen.indexOf(n) < 0) {
                seen.push(n)
                h[n] = head.values[i]
            } else h[n] = h[n] + ", " + head.values[i]
        }
        this.headers = h
        this.sock = sock
        this.conn = conn
        this.writer = writer
        this.timeoutMs = o.timeoutMs
        this.maxBodyBytes = o.maxBodyBytes
        this.contentLength = contentLength
    }

    /** Sets how the body is framed (request() does this once). */
    frame(mode: BodyMode, chunked: boolean): void {
        this.mode = mode
        if (mode === BodyMode.Framed) {
            this.reader = new BodyReader(this.conn, chunked ? -1 : this.contentLength, chunked, MAX_SAFE, this.timeoutMs, null)
            if (this.reader.done()) this.finish()
        } else if (mode === BodyMode.None) this.finish()
    }

    /** True once the whole body has been read (the connection is released then). */
    done(): boolean {
        return this.finished
    }

    /**
     * Reads up to len bytes of the body into buf[off]; 0 at its end. Throws
     * HttpClientError (ETIMEDOUT, EPROTO) or SocketError; the connection is
     * aborted then.
     */
    async read(buf: Buffer, off: number, len: number): Promise<number> {
        if (this.failure) throw this.failure
        if (this.finished || len <= 0) return 0
        let n = 0
        try {
            if (this.mode === BodyMode.Close) n = await this.readClose(buf, off, len)
            else n = await this.reader.read(buf, off, len)
        } catch (e) {
            throw this.fail(e)
        }
        this.received += n
        if (n === 0 || (this.mode === BodyMode.Framed && this.reader.done())) this.finish()
        return n
    }

    /**
     * The whole body; rejects with EMSGSIZE beyond maxBodyBytes. With a
     * Content-Length it is read into one buffer of that size; otherwise into
     * pieces joined at the end (at most twice the body in memory at once).
     */
    async body(): Promise<Buffer> {
        const max = this.maxBodyBytes
        // HEAD, 204, 304: whatever Content-Length says, there is no body
        const known = this.mode === BodyMode.None ? 0 : this.contentLength
        if (known > max) throw this.fail(new HttpClientError("EMSGSIZE", "body of " + known + " bytes is over maxBodyBytes (" + max + ")"))
        if (known >= 0) {
            const out = Buffer.alloc(known)
            let len = 0
            while (len < known) {
                const n = await this.read(out, len, known - len)
                if (n === 0) throw this.fail(new HttpClientError("EPROTO", "body ended early"))
                len += n
            }
            return out
        }
        const pieces: Buffer[] = []
        const sizes: number[] = []
        let total = 0
        for (;;) {
            let size = max - total
            if (size > BODY_PIECE) size = BODY_PIECE
            if (size === 0) size = 1 // the probe: one more byte is one too many
            const piece = Buffer.alloc(size)
            let got = 0
            while (got < size) {
                const n = await this.read(piece, got, size - got)
                if (n === 0) break
                got += n
            }
            if (got === 0) break
            if (total + got > max) throw this.fail(new HttpClientError("EMSGSIZE", "body over maxBodyBytes (" + max + ")"))
            pieces.push(piece)
            sizes.push(got)
            total += got
            if (got < size) break
        }
        if (pieces.length === 1 && sizes[0] === pieces[0].length) return pieces[0]
        const out = Buffer.alloc(total)
        let at = 0
        for (let i = 0; i < pieces.length; i++) {
            out.blitAt(at, pieces[i], 0, sizes[i])
            at += sizes[i]
        }
        return out
    }

    /** The body as UTF-8 text. */
    async text(): Promise<string> {
        const b = await this.body()
        return b.length ? b.toString() : ""
    }

    /** The body parsed as JSON; EPROTO when it is not JSON. */
    async json(): Promise<any> {
        const t = await this.text()
        try {
            return JSON.parse(t)
        } catch (e) {
            throw new HttpClientError("EPROTO", "response body is not JSON")
        }
    }

    /** Drops the rest of the body: aborts the connection unless the body was read to its end. */
    close(): void {
        if (this.finished || this.failure) return
        this.failure = new HttpClientError("EINVAL", "response closed")
        abortSocket(this.net, this.sock)
    }

    private async readClose(buf: Buffer, off: number, len: number): Promise<number> {
        const c = this.conn
        if (c.available() === 0) {
            const got = await c.fill(this.timeoutMs)
            if (got === 0) {
                if (c.eof) return 0
                throw new HttpClientError("ETIMEDOUT", "no body data from " + this.sock.remoteAddress + " for " + this.timeoutMs + " ms")
            }
        }
        let n = c.available()
        if (n > len) n = len
        buf.blitAt(off, c.buf, c.start, n)
        c.skip(n)
        return n
    }

    private finish(): void {
        if (this.finished) return
        this.finished = true
        releaseSocket(this.net, this.sock, this.writer)
    }

    private fail(e: any): any {
        const err = clientError(e, this.sock.remoteAddress, this.timeoutMs)
        this.failure = err
        abortSocket(this.net, this.sock)
        return err
    }
}

/** HttpError from the body reader becomes an HttpClientError; everything else passes. */
function clientError(e: any, remote: string, timeoutMs: number): any {
    if (e instanceof HttpError) {
        const s = (e as HttpError).status
        if (s === 408) return new HttpClientError("ETIMEDOUT", "no body data from " + remote + " for " + timeoutMs + " ms")
        if (s === 413) return new HttpClientError("EMSGSIZE", "response body too large")
        return new HttpClientError("EPROTO", "malformed response body from " + remote + " (" + (e as HttpError).message + ")")
    }
    return e
}

/** The response is complete: a graceful close, or a reset if we are still sending. */
function releaseSocket(net: Net, sock: TcpSocket, writer: Writer): void {
    if (writer.done) sock.close()
    else abortSocket(net, sock)
}

/** Resets the connection and wakes the writer so it sees the socket is gone. */
function abortSocket(net: Net, sock: TcpSocket): void {
    sock.abort()
    net.host.raise(sock.signal)
}

// ---- the request ------------------------------------------------------------

const WRITE_PIECE = 1024
const MAX_INTERIM = 16

/**
 * Sends one request and resolves with the response once its head has
 * arrived; read the body with read()/body()/text()/json() (or close() it).
 */
export async function request(net: Net, target: string | RequestTarget, options?: RequestOptions): Promise<ClientResponse> {
    const given = options || {}
    const o: RequestOptions = {
        timeoutMs: given.timeoutMs === undefined ? 30000 : given.timeoutMs,
        maxBodyBytes: given.maxBodyBytes || 65536,
        maxHeaderBytes: given.maxHeaderBytes || 2048,
        resolve: given.resolve || null,
    }
    const t: RequestTarget = typeof target === "string" ? { url: target as string } : (target as RequestTarget)
    let hostName = t.host
    let port = t.port || 80
    let path = t.path || "/"
    if (t.url) {
        const u = parseUrl(t.url)
        if (!u) throw new HttpClientError("EINVAL", "bad URL " + t.url)
        hostName = u.host
        port = u.port
        path = u.path
    }
    if (!hostName || !validHost(hostName)) throw new HttpClientError("EINVAL", "bad host " + hostName)
    if (port < 1 || port > 65535 || Math.floor(port) !== port) throw new HttpClientError("EINVAL", "bad port " + port)
    if (!validPath(path)) throw new HttpClientError("EINVAL", "bad path " + path)
    const method = t.method ? t.method.toUpperCase() : "GET"
    if (!isToken(method)) throw new HttpClientError("EINVAL", "bad method " + method)

    let body: Buffer = null
    if (t.body !== undefined && t.body !== null) body = typeof t.body === "string" ? Buffer.from(t.body as string) : (t.body as Buffer)

    // the head
    let fields = ""
    let hasHost = false
    let hasConnection = false
    let chunked = false
    let hasLength = false
    const extra = t.headers || {}
    const keys = Object.keys(extra)
    for (let i = 0; i < keys.length; i++) {
        const name = keys[i]
        const raw = extra[name]
        if (raw === undefined || raw === null) continue
        const value = "" + raw
        if (!isToken(name) || !validFieldValue(value)) throw new HttpClientError("EINVAL", "bad header field " + name)
        const lower = name.toLowerCase()
        if (lower === "host") hasHost = true
        else if (lower === "connection") hasConnection = true
        else if (lower === "transfer-encoding") {
            if (value.toLowerCase() !== "chunked") throw new HttpClientError("EINVAL", "only chunked can be sent as Transfer-Encoding")
            chunked = true
        } else if (lower === "content-length") {
            if (parseDecimal(value) !== (body ? body.length : 0)) throw new HttpClientError("EINVAL", "Content-Length does not match the body")
            hasLength = true
        }
        fields += name + ": " + value + "\r\n"
    }
    if (chunked && hasLength) throw new HttpClientError("EINVAL", "both Content-Length and Transfer-Encoding")
    let head = method + " " + path + " HTTP/1.1\r\n"
    if (!hasHost) head += "Host: " + (port === 80 ? hostName : hostName + ":" + port) + "\r\n"
    head += fields
    // RFC 9110 §8.6: a Content-Length for every body, and 0 for a method that expects one
    if (!chunked && !hasLength && (body || method === "POST" || method === "PUT" || method === "PATCH")) head += "Content-Length: " + (body ? body.length : 0) + "\r\n"
    if (!hasConnection) head += "Connection: close\r\n"
    head += "\r\n"
    const headBuf = Buffer.from(head)

    // where to
    let ip = parseIp(hostName)
    if (ip < 0) {
        if (!o.resolve) throw new HttpClientError("EINVAL", hostName + " is not a dotted IPv4 address (give options.resolve for names)")
        ip = await o.resolve(hostName, o.timeoutMs)
        if (ip === null || ip === undefined || ip < 0) throw new HttpClientError("ENOTFOUND", hostName)
    }
    const sock = await net.connect(ip, port, o.timeoutMs)
    const host = net.host

    // the request goes out from a task of its own while we read
    const writer = new Writer()
    writer.progressAt = host.now()
    host.spawn(async () => {
        try {
            await sock.write(headBuf)
            writer.progressAt = host.now()
            const n = body ? body.length : 0
            for (let at = 0; at < n; at += WRITE_PIECE) {
                const k = n - at < WRITE_PIECE ? n - at : WRITE_PIECE
                if (chunked) await sock.write(Buffer.from(hex(k) + "\r\n"))
                await sock.write(body, at, k)
                if (chunked) await sock.write(Buffer.from("\r\n"))
                writer.progressAt = host.now()
            }
            if (chunked) await sock.write(Buffer.from("0\r\n\r\n"))
            writer.progressAt = host.now()
        } catch (e) {
            writer.error = e
        }
        writer.done = true
    })

    const conn = new ConnReader(sock, o.maxHeaderBytes)
    const rh = new ResponseHead()
    try {
        for (let interim = 0; ; interim++) {
            await readHead(net, conn, rh, writer, o.timeoutMs)
            if (rh.status >= 200) break
            if (rh.status === 101) throw new HttpClientError("EPROTO", "unexpected 101 Switching Protocols")
            if (interim >= MAX_INTERIM) throw new HttpClientError("EPROTO", "too many interim responses")
        }
        // RFC 9112 §6.3
        const noBody = method === "HEAD" || rh.status === 204 || rh.status === 304
        let te = ""
        let length = -1
        for (let i = 0; i < rh.names.length; i++) {
            const name = rh.names[i]
            if (name === "transfer-encoding") te = te.length ? te + "," + rh.values[i] : rh.values[i]
            else if (name === "content-length") {
                // "5" or a list of identical values (RFC 9110 §8.6)
                const parts = rh.values[i].split(",")
                for (let k = 0; k < parts.length; k++) {
                    const v = parseDecimal(parts[k].trim())
                    if (v < 0 || (length >= 0 && v !== length)) throw new HttpClientError("EPROTO", "bad Content-Length " + rh.values[i])
                    length = v
                }
            }
        }
        let isChunked = false
        if (te.length && !noBody) {
            const codings = te.toLowerCase().split(",")
            for (let k = 0; k < codings.length; k++) if (codings[k].trim() !== "chunked" || k !== codings.length - 1) throw new HttpClientError("EPROTO", "unsupported Transfer-Encoding " + te)
            // both: an attempt at response splitting (§6.3 item 3)
            if (length >= 0) throw new HttpClientError("EPROTO", "both Transfer-Encoding and Content-Length")
            isChunked = true
        }
        const res = new ClientResponse(net, rh, sock, conn, writer, o, isChunked ? -1 : length)
        if (noBody) res.frame(BodyMode.None, false)
        else if (isChunked || length >= 0) res.frame(BodyMode.Framed, isChunked)
        else res.frame(BodyMode.Close, false)
        return res
    } catch (e) {
        abortSocket(net, sock)
        throw clientError(e, sock.remoteAddress, o.timeoutMs)
    }
}

/**
 * Waits for one complete response head and parses it into out. The wait
 * ends timeoutMs after the last progress in sending the request.
 */
async function readHead(net: Net, conn: ConnReader, out: ResponseHead, writer: Writer, timeoutMs: number): Promise<void> {
    const host = net.host
    const remote = conn.sock.remoteAddress + ":" + conn.sock.remotePort
    let scanned = conn.start
    for (;;) {
        // fail fast on something that is not HTTP at all
        if (conn.available() >= 5) {
            const b = conn.buf
            const s = conn.start
            if (b[s] !== 72 || b[s + 1] !== 84 || b[s + 2] !== 84 || b[s + 3] !== 80 || b[s + 4] !== 47) throw new HttpClientError("EPROTO", "not an HTTP response from " + remote)
        }
        const end = findHeadEnd(conn.buf, conn.start, conn.end, scanned)
        if (end >= 0) {
            const err = parseResponseHead(conn.buf, conn.start, end, out)
            conn.skip(end - conn.start)
            if (err.length) throw new HttpClientError("EPROTO", err + " (from " + remote + ")")
            return
        }
        if (conn.start === 0 && conn.end === conn.buf.length) throw new HttpClientError("EMSGSIZE", "response head over maxHeaderBytes (" + conn.buf.length + ")")
        let left = 0
        if (timeoutMs > 0) {
            left = writer.progressAt + timeoutMs - host.now()
            if (left <= 0) throw new HttpClientError("ETIMEDOUT", "no response from " + remote + " within " + timeoutMs + " ms")
        }
        const before = conn.start
        scanned = conn.end
        const got = await conn.fill(left)
        scanned -= before - conn.start
        if (got === 0 && conn.eof) {
            if (writer.error && conn.available() === 0) throw writer.error
            throw new HttpClientError("EPROTO", (conn.available() ? "connection closed inside the response head from " : "connection closed without a response from ") + remote)
        }
    }
}
