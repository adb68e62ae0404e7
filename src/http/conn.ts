// A connection's input: one fixed buffer per connection, filled from the
// socket and consumed by the head parser and the body reader. Pipelined
// requests simply stay in the buffer until their turn.
import { TcpSocket } from "../socket/socket.js"

/** @devsWhenUsed */
export class ConnReader {
    readonly buf: Buffer
    /** Unconsumed bytes are buf[start, end). */
    start = 0
    end = 0
    /** The peer sent FIN. */
    eof = false
    readonly sock: TcpSocket

    constructor(sock: TcpSocket, size: number) {
        this.sock = sock
        this.buf = Buffer.alloc(size)
    }

    available(): number {
        return this.end - this.start
    }

    /** Moves unconsumed bytes to the front so the buffer's tail is free. */
    compact(): void {
        if (this.start === 0) return
        const n = this.end - this.start
        if (n > 0) this.buf.blitAt(0, this.buf, this.start, n)
        this.start = 0
        this.end = n
    }

    /**
     * Reads more from the socket into the free tail. Returns the bytes read;
     * 0 at end of stream, on timeout (eof tells which) or when the buffer is full.
     */
    async fill(timeoutMs: number): Promise<number> {
        if (this.end === this.buf.length) this.compact()
        if (this.end === this.buf.length || this.eof) return 0
        const n = await this.sock.read(this.buf, this.end, this.buf.length - this.end, timeoutMs)
        if (n === 0 && this.sock.ended()) this.eof = true
        this.end += n
        return n
    }

    /** Consumes n bytes. */
    skip(n: number): void {
        this.start += n
        if (this.start >= this.end) {
            this.start = 0
            this.end = 0
        }
    }
}
