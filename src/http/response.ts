// The response side: status line and fields, then a body with
// Content-Length, chunked (HTTP/1.1) or close-delimited (HTTP/1.0) framing
// (RFC 9112 §6), chosen from what the handler does.
import { TcpSocket } from "../socket/socket.js"
import { reasonPhrase } from "./status.js"

const HEX = "0123456789abcdef"

/** Lower-case hex of a non-negative integer (DeviceScript has no Number.toString(16)). */
export function hex(n: number): string {
    if (n === 0) return "0"
    let s = ""
    let v = n
    while (v > 0) {
        s = HEX[v & 15] + s
        v = Math.floor(v / 16)
    }
    return s
}

const CRLF = Buffer.from("\r\n")

/** A text body up to this many bytes is sent in one write with the head. */
const SMALL_BODY = 256

/** @devsWhenUsed */
export class ServerResponse {
    statusCode = 200
    headersSent = false
    finished = false
    /** The connection stays open for another request after this response. */
    keepAlive: boolean
    /** Body bytes written. */
    bytesWritten = 0
    /**
     * The fields as they go on the wire, "Name: value\r\n" each, in the order
     * they were first set (the server's own first): the head is one string
     * concatenation, and a field is found with one native search.
     */
    private fields = "Server: ds-tcpip\r\n"
    private readonly sock: TcpSocket
    /** The request was HTTP/1.0. */
    private readonly http10: boolean
    private readonly head: boolean
    private chunked = false
    private noBody = false
    /** cork() calls not yet matched by uncork(). */
    private corks = 0

    constructor(sock: TcpSocket, http10: boolean, isHead: boolean, keepAlive: boolean) {
        this.sock = sock
        this.http10 = http10
        this.head = isHead
        this.keepAlive = keepAlive
    }

    /** Where the field of this name (any case) starts in fields, or -1. */
    private find(name: string): number {
        // "\n" before the first field too: each field starts right after a "\n"
        return ("\n" + this.fields).toLowerCase().indexOf("\n" + name.toLowerCase() + ":")
    }

    setHeader(name: string, value: string | number): void {
        const line = name + ": " + value + "\r\n"
        const f = this.fields
        const at = this.find(name)
        this.fields = at < 0 ? f + line : f.slice(0, at) + line + f.slice(f.indexOf("\n", at) + 1)
    }

    getHeader(name: string): string {
        const at = this.find(name)
        if (at < 0) return null
        const f = this.fields
        return f.slice(f.indexOf(":", at) + 2, f.indexOf("\r", at))
    }

    /**
     * Queues the status line and fields. Like Node's, they leave with the
     * first piece of body (or end()): the socket stays corked until then, so
     * head and body share a segment and a small body never waits on Nagle
     * for the head's ACK. flushHeaders() sends them at once; a 1xx goes at once.
     * (end() passes its text body, already framed by a Content-Length, to go
     * in the same write.)
     */
    async writeHead(status?: number, body?: string): Promise<void> {
        if (this.headersSent) return
        if (status) this.statusCode = status
        const code = this.statusCode
        this.noBody = this.head || code === 204 || code === 304 || (code >= 100 && code < 200)
        if (code !== 101 && !this.noBody && body === undefined && this.find("content-length") < 0) {
            if (!this.http10) {
                this.chunked = true
                this.setHeader("Transfer-Encoding", "chunked")
            } else this.keepAlive = false // HTTP/1.0: the body ends when the connection does
        }
        if (code !== 101) {
            if (!this.keepAlive) this.setHeader("Connection", "close")
            else if (this.http10) this.setHeader("Connection", "keep-alive")
        }
        this.headersSent = true
        const s = "HTTP/1." + (this.http10 ? "0 " : "1 ") + code + " " + reasonPhrase(code) + "\r\n" + this.fields + "\r\n"
        this.sock.cork()
        await this.sock.write(Buffer.from(body && !this.noBody ? s + body : s))
        if (code < 200) this.sock.uncork()
    }

    /** Sends the head now, without body. */
    async flushHeaders(): Promise<void> {
        if (!this.headersSent) await this.writeHead()
        this.sock.uncork()
    }

    /**
     * Like Node's: writes until the matching uncork() (or end()) go out
     * together, in full segments, instead of each write being pushed as its
     * own segment. A writer that fills the send ring still makes progress
     * (TCP pushes what is queued before it waits).
     */
    cork(): void {
        this.corks++
        this.sock.cork()
    }

    uncork(): void {
        if (this.corks > 0 && --this.corks === 0) this.sock.uncork()
    }

    /** Writes body bytes (a string is sent as UTF-8). */
    async write(data: Buffer | string, off?: number, len?: number): Promise<void> {
        const b = typeof data === "string" ? Buffer.from(data) : data
        const start = off || 0
        const n = len === undefined ? b.length - start : len
        if (!this.headersSent) await this.writeHead()
        if (n <= 0 || this.noBody) return
        this.bytesWritten += n
        // cork: the head, the chunk framing and the data leave together
        const sock = this.sock
        sock.cork()
        if (this.chunked) {
            await sock.write(Buffer.from(hex(n) + "\r\n"))
            await sock.write(b, start, n)
            await sock.write(CRLF)
        } else await sock.write(b, start, n)
        if (this.corks === 0) sock.uncork()
    }

    /** Finishes the response, with a last piece of body. A body given before the head is sent gets a Content-Length. */
    async end(data?: Buffer | string): Promise<void> {
        if (this.finished) return
        const sock = this.sock
        const given = data !== undefined && data !== null
        if (!this.headersSent && (!given || typeof data === "string")) {
            const body = given ? (data as string) : ""
            // the body's UTF-8 bytes: its length, and what is sent when it is long
            const b = given ? Buffer.from(body) : null
            const n = given ? b.length : 0
            if ((given || this.statusCode !== 101) && this.find("content-length") < 0) this.fields += "Content-Length: " + n + "\r\n"
            if (n <= SMALL_BODY) {
                // head and a short body leave in one write
                await this.writeHead(0, body)
            } else {
                // a long one (a /status document) is written as it is: joining it
                // to the head would take two more copies of it at once, a few KB
                // of contiguous heap a device may not have (corked: the same segments)
                await this.writeHead(0)
                if (!this.noBody) await sock.write(b)
            }
            if (!this.noBody) this.bytesWritten += n
        } else if (given) {
            const b = data as Buffer
            if (!this.headersSent && this.find("content-length") < 0) this.fields += "Content-Length: " + b.length + "\r\n"
            await this.write(b)
        }
        if (this.chunked) {
            sock.cork()
            await sock.write(Buffer.from("0\r\n\r\n"))
        }
        this.corks = 0
        sock.uncork()
        this.finished = true
    }

    /** A JSON body. */
    async json(value: any, status?: number): Promise<void> {
        if (status) this.statusCode = status
        this.setHeader("Content-Type", "application/json")
        await this.end(JSON.stringify(value))
    }

    /** A short text body with a status. */
    async send(status: number, body: string, contentType?: string): Promise<void> {
        this.statusCode = status
        this.setHeader("Content-Type", contentType || "text/plain; charset=utf-8")
        await this.end(body)
    }
}
