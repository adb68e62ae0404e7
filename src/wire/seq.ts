// TCP sequence number arithmetic modulo 2^32 (RFC 9293 §3.4, serial number
// arithmetic of RFC 1982 with SERIAL_BITS = 32). Sequence numbers are unsigned
// 32-bit numbers; a is "before" b when the signed 32-bit difference a - b is
// negative. For two numbers exactly 2^31 apart, RFC 1982 §3.2 leaves the
// order undefined; here each is "before" the other (the difference is -2^31
// both ways).

/** a - b as a signed 32-bit number. */
export function seqDiff(a: number, b: number): number {
    return (a - b) | 0
}

export function seqLt(a: number, b: number): boolean {
    return ((a - b) | 0) < 0
}

export function seqLeq(a: number, b: number): boolean {
    return ((a - b) | 0) <= 0
}

export function seqGt(a: number, b: number): boolean {
    return ((a - b) | 0) > 0
}

export function seqGeq(a: number, b: number): boolean {
    return ((a - b) | 0) >= 0
}

/** a + n modulo 2^32 (n may be negative), as an unsigned number. */
export function seqAdd(a: number, n: number): number {
    return (a + n) >>> 0
}

/** start <= x < start + len modulo 2^32 (RFC 9293 §3.4 acceptability tests); false when len is 0. */
export function seqInWindow(x: number, start: number, len: number): boolean {
    return (x - start) >>> 0 < len
}
