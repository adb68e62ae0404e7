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

/** @devsWhenUsed */
export class ServerResponse {
    statusCode = 200
    headersSent = false
    finished = false
    /** The connection stays open for another request after this response. */
    keepAlive: boolean
    /** Body bytes written. */
    bytesWritten = 0
    private readonly names: string[] = []
    private readonly values: string[] = []
    private readonly sock: TcpSocket
    private readonly version: number
    private readonly head: boolean
    private chunked = false
    private noBody = false
    /** cork() calls not yet matched by uncork(). */
    private corks = 0

    constructor(sock: TcpSocket, version: number, isHead: boolean, keepAlive: boolean) {
        this.sock = sock
        this.version = version
        this.head = isHead
        this.keepAlive = keepAlive
    }

    setHeader(name: string, value: string | number): void {
        const key = name.toLowerCase()
        const v = "" + value
        for (let i = 0; i < this.names.length; i++) {
            if (this.names[i].toLowerCase() === key) {
                this.values[i] = v
                return
            }
        }
        this.names.push(name)
        this.values.push(v)
    }

    getHeader(name: string): string {
        const key = name.toLowerCase()
        for (let i = 0; i < this.names.length; i++) if (this.names[i].toLowerCase() === key) return this.values[i]
        return null
    }

    /**
     * Queues the status line and fields. Like Node's, they leave with the
     * first piece of body (or end()): the socket stays corked until then, so
     * head and body share a segment and a small body never waits on Nagle
     * for the head's ACK. flushHeaders() sends them at once; a 1xx goes at once.
     */
    async writeHead(status?: number): Promise<void> {
        if (this.headersSent) return
        if (status) this.statusCode = status
        const code = this.statusCode
        this.noBody = this.head || code === 204 || code === 304 || (code >= 100 && code < 200)
        const framed = this.getHeader("content-length") !== null
        if (!framed && !this.noBody && code !== 101) {
            if (this.version === 11) {
                this.chunked = true
                this.setHeader("Transfer-Encoding", "chunked")
            } else this.keepAlive = false // HTTP/1.0: the body ends when the connection does
        }
        if (code !== 101) {
            if (!this.keepAlive) this.setHeader("Connection", "close")
            else if (this.version === 10) this.setHeader("Connection", "keep-alive")
        }
        let s = "HTTP/1." + (this.version === 10 ? "0" : "1") + " " + code + " " + reasonPhrase(code) + "\r\n"
        for (let i = 0; i < this.names.length; i++) s += this.names[i] + ": " + this.values[i] + "\r\n"
        s += "\r\n"
        this.headersSent = true
        this.sock.cork()
        await this.sock.write(Buffer.from(s))
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
        this.sock.cork()
        if (this.chunked) {
            await this.sock.write(Buffer.from(hex(n) + "\r\n"))
            await this.sock.write(b, start, n)
            await this.sock.write(CRLF)
        } else await this.sock.write(b, start, n)
        if (this.corks === 0) this.sock.uncork()
    }

    /** Finishes the response, with a last piece of body. A body given before the head is sent gets a Content-Length. */
    async end(data?: Buffer | string): Promise<void> {
        if (this.finished) return
        if (data !== undefined && data !== null) {
            const b = typeof data === "string" ? Buffer.from(data) : data
            if (!this.headersSent && this.getHeader("content-length") === null) this.setHeader("Content-Length", b.length)
            await this.write(b)
        } else if (!this.headersSent && this.getHeader("content-length") === null && this.statusCode !== 101) {
            this.setHeader("Content-Length", 0)
        }
        if (!this.headersSent) await this.writeHead()
        if (this.chunked) {
            this.sock.cork()
            await this.sock.write(Buffer.from("0\r\n\r\n"))
        }
        this.corks = 0
        this.sock.uncork()
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
