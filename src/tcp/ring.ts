// A fixed-size byte ring: the send and receive buffers of a connection.
//
// Bytes are appended at the tail and consumed at the head. The receive side
// also writes ahead of the tail (out-of-order data, placed at its sequence
// offset and committed once the gap before it fills), and the send side reads
// behind the head without consuming (retransmission reads unacknowledged data
// again). All copies are blitAt, at most two per call (the wrap).

/** @devsWhenUsed */
export class ByteRing {
    readonly capacity: number
    /** Readable bytes, from the head. */
    length = 0
    private head = 0
    private readonly buf: Buffer

    constructor(capacity: number) {
        this.capacity = capacity
        this.buf = Buffer.alloc(capacity)
    }

    /** Bytes that can still be appended. */
    free(): number {
        return this.capacity - this.length
    }

    /** Appends up to free() bytes of src[off, off+len); returns how many. */
    write(src: Buffer, off: number, len: number): number {
        const n = this.writeAt(0, src, off, len)
        this.length += n
        return n
    }

    /**
     * Writes src[off, off+len) at `ahead` bytes past the tail without making it
     * readable; clipped to the free space. Returns the bytes written.
     */
    writeAt(ahead: number, src: Buffer, off: number, len: number): number {
        const cap = this.capacity
        const room = cap - this.length - ahead
        if (ahead < 0 || room <= 0 || len <= 0) return 0
        const n = len < room ? len : room
        const pos = (this.head + this.length + ahead) % cap
        const first = cap - pos
        if (n <= first) this.buf.blitAt(pos, src, off, n)
        else {
            this.buf.blitAt(pos, src, off, first)
            this.buf.blitAt(0, src, off + first, n - first)
        }
        return n
    }

    /** Makes n bytes written with writeAt(0, ...) readable. */
    commit(n: number): void {
        const f = this.capacity - this.length
        this.length += n < f ? n : f
    }

    /** Copies up to len readable bytes, starting `skip` bytes after the head, without consuming. */
    peek(skip: number, dst: Buffer, off: number, len: number): number {
        const avail = this.length - skip
        if (skip < 0 || avail <= 0 || len <= 0) return 0
        const n = len < avail ? len : avail
        const start = (this.head + skip) % this.capacity
        const first = this.capacity - start
        if (n <= first) dst.blitAt(off, this.buf, start, n)
        else {
            dst.blitAt(off, this.buf, start, first)
            dst.blitAt(off + first, this.buf, 0, n - first)
        }
        return n
    }

    /** Consumes up to len bytes into dst; returns how many. */
    read(dst: Buffer, off: number, len: number): number {
        const n = this.peek(0, dst, off, len)
        this.discard(n)
        return n
    }

    /** Drops up to n bytes from the head. */
    discard(n: number): void {
        const m = n < this.length ? n : this.length
        if (m <= 0) return
        this.head = (this.head + m) % this.capacity
        this.length -= m
    }

    /** The byte `skip` bytes after the head (0 when out of range). */
    at(skip: number): number {
        if (skip < 0 || skip >= this.length) return 0
        return this.buf[(this.head + skip) % this.capacity]
    }

    clear(): void {
        this.head = 0
        this.length = 0
    }
}
