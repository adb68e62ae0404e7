// A request body: Content-Length or chunked (RFC 9112 §6-§7), read through
// the connection's buffer, bounded by maxBodyBytes (413) and by a timeout
// between reads (408). A handler that does not read the body leaves it to the
// server, which skips it before the next pipelined request. Chunk framing is
// strict (lines end in CRLF, no bare CR or LF, the chunk-ext grammar), and
// the control lines already in the buffer are judged as soon as the data
// before them has been read (read() takes every chunk already buffered), so
// a framing error is found, where it can be, before the handler's response
// begins.
import { ConnReader } from "./conn.js"
import { parseChunkLine } from "./parser.js"

const enum Mode {
    None = 0,
    Length,
    Chunked,
}

const enum Chunk {
    Size = 0,
    Data,
    DataEnd,
    Trailers,
    Done,
}

const LF = 10
const CR = 13

/** @devsWhenUsed */
export class HttpError extends Error {
    readonly status: number
    constructor(status: number, what: string) {
        super(status + " " + what)
        this.status = status
    }
}

/** @devsWhenUsed */
export class BodyReader {
    /** Bytes of body delivered so far. */
    received = 0
    private mode = Mode.None
    private left = 0
    private chunk = Chunk.Size
    private readonly conn: ConnReader
    private readonly maxBytes: number
    private readonly timeoutMs: number
    /** Called once before the first read (to send 100 Continue). */
    private beforeFirstRead: () => Promise<void>

    constructor(conn: ConnReader, contentLength: number, chunked: boolean, maxBytes: number, timeoutMs: number, beforeFirstRead: () => Promise<void>) {
        this.conn = conn
        this.maxBytes = maxBytes
        this.timeoutMs = timeoutMs
        this.beforeFirstRead = beforeFirstRead
        if (chunked) this.mode = Mode.Chunked
        else if (contentLength > 0) {
            this.mode = Mode.Length
            this.left = contentLength
        }
    }

    /** True once the whole body has been read. */
    done(): boolean {
        const m = this.mode
        return m === Mode.Length ? this.left === 0 : m !== Mode.Chunked || this.chunk === Chunk.Done
    }

    /** Reads up to len bytes of body; 0 at its end. Throws HttpError (400, 408, 413). */
    async read(dst: Buffer, off: number, len: number): Promise<number> {
        if (this.beforeFirstRead) {
            const f = this.beforeFirstRead
            this.beforeFirstRead = null
            await f()
        }
        if (this.mode === Mode.Length) return await this.readData(dst, off, len)
        if (this.mode !== Mode.Chunked) return 0
        // chunked: as many chunks as are already here fill dst, so the framing
        // of what has arrived is judged before the caller answers; a bounded
        // number of control lines per call (each consumes bytes)
        let total = 0
        for (;;) {
            if (this.chunk === Chunk.Done) return total
            if (this.chunk === Chunk.Data) {
                if (total === len || (total > 0 && this.conn.available() === 0)) return total
                total += await this.readData(dst, off + total, len - total)
                if (this.left === 0) this.chunk = Chunk.DataEnd
                continue
            }
            // a control line: the chunk size, the CRLF after data, or a trailer
            const line = await this.line(total === 0)
            if (line < 0) return total
            const c = this.conn
            // the line without its CRLF is buf[c.start, line - 1)
            const empty = line === c.start + 1
            const size = this.chunk === Chunk.Size ? parseChunkLine(c.buf, c.start, line - 1) : 0
            c.skip(line + 1 - c.start)
            if (this.chunk === Chunk.Size) {
                if (size < 0) throw new HttpError(400, "bad chunk size line")
                if (this.received + size > this.maxBytes) throw new HttpError(413, "body too large")
                this.left = size
                this.chunk = size === 0 ? Chunk.Trailers : Chunk.Data
            } else if (this.chunk === Chunk.DataEnd) {
                if (!empty) throw new HttpError(400, "chunk data longer than its size")
                this.chunk = Chunk.Size
            } else if (empty) this.chunk = Chunk.Done // trailer fields are read and ignored until the blank line
        }
    }

    /** Reads and drops the rest of the body (bounded by maxBodyBytes). */
    async skipRest(): Promise<void> {
        const scratch = Buffer.alloc(256)
        while (!this.done()) {
            const n = await this.read(scratch, 0, scratch.length)
            if (n === 0 && !this.done()) throw new HttpError(400, "body ended early")
        }
    }

    /** Copies body bytes of the current length/chunk from the buffer, filling it when empty. */
    private async readData(dst: Buffer, off: number, len: number): Promise<number> {
        if (this.left === 0) return 0
        const c = this.conn
        if (c.available() === 0) {
            const got = await c.fill(this.timeoutMs)
            if (got === 0) {
                if (c.eof) throw new HttpError(400, "connection closed inside the body")
                throw new HttpError(408, "body timeout")
            }
        }
        let n = c.available()
        if (n > len) n = len
        if (n > this.left) n = this.left
        if (this.mode === Mode.Length && this.received + n > this.maxBytes) throw new HttpError(413, "body too large")
        dst.blitAt(off, c.buf, c.start, n)
        c.skip(n)
        this.left -= n
        this.received += n
        return n
    }

    /**
     * The index of the LF that ends the next line in the buffer, filling as
     * needed (-1 when !wait and the line is not complete). Lines end in CRLF:
     * a bare CR or LF is an error, as in the head (see parseHead).
     */
    private async line(wait: boolean): Promise<number> {
        const c = this.conn
        let scanned = c.start
        for (;;) {
            for (; scanned < c.end; scanned++) {
                const b = c.buf[scanned]
                if ((scanned > c.start && c.buf[scanned - 1] === CR) !== (b === LF)) throw new HttpError(400, "bare CR or LF in chunk framing")
                if (b === LF) return scanned
            }
            if (!wait) return -1
            if (c.start === 0 && c.end === c.buf.length) throw new HttpError(400, "chunk line too long")
            const before = c.start
            const got = await c.fill(this.timeoutMs)
            scanned -= before - c.start // fill may compact
            if (got === 0) {
                if (c.eof) throw new HttpError(400, "connection closed inside the body")
                throw new HttpError(408, "body timeout")
            }
        }
    }
}
