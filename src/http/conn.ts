// A connection's input: a buffer filled from the socket and consumed by the
// head parser and the body reader. Pipelined requests simply stay in the
// buffer until their turn. An idle connection holds no buffer: release()
// gives it to a spare slot shared by every connection, and fill() takes one
// again (the server calls it once bytes have arrived), so the heap holds one
// head buffer per request being read, not one per open connection.
import { TcpSocket } from "../socket/socket.js"

/** A released buffer, for the next connection that needs one. */
let spare: Buffer = null

function take(size: number): Buffer {
    const b = spare !== null && spare.length === size ? spare : Buffer.alloc(size)
    if (b === spare) spare = null
    return b
}

/** @devsWhenUsed */
export class ConnReader {
    /** null while the connection is idle (see release()). */
    buf: Buffer
    /** Unconsumed bytes are buf[start, end). */
    start = 0
    end = 0
    /** The peer sent FIN. */
    eof = false
    readonly sock: TcpSocket
    /** The buffer's size. */
    readonly size: number

    constructor(sock: TcpSocket, size: number) {
        this.sock = sock
        this.size = size
        this.buf = take(size)
    }

    available(): number {
        return this.end - this.start
    }

    /**
     * Reads more from the socket into the free tail (moving unconsumed bytes
     * to the front when the tail is full). Returns the bytes read; 0 at end of
     * stream, on timeout (eof tells which) or when the buffer is full.
     */
    async fill(timeoutMs: number): Promise<number> {
        const sock = this.sock
        if (this.eof) return 0
        if (!this.buf) this.buf = take(this.size)
        const buf = this.buf
        if (this.end === buf.length) this.compact()
        if (this.end === buf.length) return 0
        const n = await sock.read(buf, this.end, buf.length - this.end, timeoutMs)
        if (n === 0) this.eof = sock.ended()
        this.end += n
        return n
    }

    /** Moves unconsumed bytes to the front so the buffer's tail is free. */
    compact(): void {
        if (this.start === 0) return
        const n = this.end - this.start
        if (n > 0) this.buf.blitAt(0, this.buf, this.start, n)
        this.start = 0
        this.end = n
    }

    /** Consumes n bytes. */
    skip(n: number): void {
        this.start += n
        if (this.start >= this.end) {
            this.start = 0
            this.end = 0
        }
    }

    /** Drops what is buffered and gives the buffer back (to the spare slot). */
    release(): void {
        if (this.buf) spare = this.buf
        this.buf = null
        this.start = 0
        this.end = 0
    }
}
