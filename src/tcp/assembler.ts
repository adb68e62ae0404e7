// Which bytes beyond RCV.NXT have arrived out of order (smoltcp's Assembler).
//
// Ranges are kept as offsets from the in-order point, sorted, never
// overlapping or touching, at most `maxRanges` of them: a segment that would
// need one more range is not recorded (the sender retransmits it), so the
// bookkeeping is bounded whatever the peer sends. The bytes themselves sit in
// the receive ring at their offsets (ByteRing.writeAt).

/** @devsWhenUsed */
export class Assembler {
    readonly maxRanges: number
    count = 0
    private readonly starts: number[] = []
    private readonly ends: number[] = []

    constructor(maxRanges: number) {
        this.maxRanges = maxRanges
        for (let i = 0; i < maxRanges; i++) {
            this.starts.push(0)
            this.ends.push(0)
        }
    }

    isEmpty(): boolean {
        return this.count === 0
    }

    clear(): void {
        this.count = 0
    }

    /** Start of range i (for tests and SACK blocks). */
    rangeStart(i: number): number {
        return this.starts[i]
    }

    /** End (exclusive) of range i. */
    rangeEnd(i: number): number {
        return this.ends[i]
    }

    /** Records [off, off+len) as received. False when it needs a range more than allowed. */
    add(off: number, len: number): boolean {
        if (len <= 0) return true
        const s = off
        const e = off + len
        // first range that ends at or after s, last that starts at or before e
        let i = 0
        while (i < this.count && this.ends[i] < s) i++
        let j = this.count - 1
        while (j >= 0 && this.starts[j] > e) j--
        if (i > j) {
            if (this.count === this.maxRanges) return false
            for (let k = this.count; k > i; k--) {
                this.starts[k] = this.starts[k - 1]
                this.ends[k] = this.ends[k - 1]
            }
            this.starts[i] = s
            this.ends[i] = e
            this.count++
            return true
        }
        // merge ranges i..j with [s, e)
        if (this.starts[i] > s) this.starts[i] = s
        this.ends[i] = this.ends[j] > e ? this.ends[j] : e
        this.removeRanges(i + 1, j - i)
        return true
    }

    /**
     * In-order data of n bytes arrived at offset 0. Returns how many bytes from
     * 0 are now contiguous (n plus any ranges it reaches), and moves the
     * remaining ranges down by that much.
     */
    advance(n: number): number {
        let total = n
        let k = 0
        while (k < this.count && this.starts[k] <= total) {
            if (this.ends[k] > total) total = this.ends[k]
            k++
        }
        this.removeRanges(0, k)
        for (let i = 0; i < this.count; i++) {
            this.starts[i] -= total
            this.ends[i] -= total
        }
        return total
    }

    private removeRanges(from: number, n: number): void {
        if (n <= 0) return
        for (let k = from; k + n < this.count; k++) {
            this.starts[k] = this.starts[k + n]
            this.ends[k] = this.ends[k + n]
        }
        this.count -= n
    }
}
