// The Internet checksum, RFC 1071, with the incremental update of RFC 1624.
//
// The one's-complement sum is byte-order independent (RFC 1071 §2(B)), so we
// sum little-endian words with getAt(), one native call per word on
// DeviceScript, and swap the bytes of the folded result once at the end.

/** A platform's own onesSum() (same contract), or null for the portable loop. */
let accelerated: ((buf: Buffer, off: number, len: number, acc: number) => number) | null = null

/**
 * Lets a platform plug in a faster onesSum() with the same contract, as
 * lwIP's LWIP_CHKSUM does (the Node host installs one; the device keeps the
 * portable loop). The checksum is the largest cost per byte of a bulk
 * transfer, so this is the one hook of its kind.
 */
export function accelerateOnesSum(f: ((buf: Buffer, off: number, len: number, acc: number) => number) | null): void {
    accelerated = f
}

/**
 * Adds the bytes buf[off, off+len) to a running one's-complement sum.
 * `acc` is a value from an earlier call (or 0, or pseudoHeaderSum()). The
 * result is a partial sum in byte-swapped form: pass it on, or to
 * finishChecksum(). Sums of several ranges are only exact when every range but
 * the last has an even length.
 */
export function onesSum(buf: Buffer, off: number, len: number, acc: number): number {
    if (accelerated) return accelerated(buf, off, len, acc)
    return portableOnesSum(buf, off, len, acc)
}

/**
 * onesSum() by getAt(), on every platform. The bulk is summed as
 * little-endian 32-bit words, eight to a loop turn: a u32 word at i is
 * u16(i) + 65536 * u16(i + 2), and 65536 = 1 (mod 0xffff), so the folded sum
 * is the same as of 16-bit words (RFC 1071 §2(A), §2(C)), for a quarter of the
 * VM's opcodes (3,100 instead of 11,700 for 1,460 bytes). The sum grows past
 * 32 bits as a double (exact up to 2^53, far beyond a frame's words), so it is
 * folded with division, not with the 32-bit `&` and `>>>`.
 */
export function portableOnesSum(buf: Buffer, off: number, len: number, acc: number): number {
    let sum = acc
    let i = off
    const end32 = off + len - 32
    for (; i <= end32; i += 32) {
        sum +=
            buf.getAt(i, "u32") +
            buf.getAt(i + 4, "u32") +
            buf.getAt(i + 8, "u32") +
            buf.getAt(i + 12, "u32") +
            buf.getAt(i + 16, "u32") +
            buf.getAt(i + 20, "u32") +
            buf.getAt(i + 24, "u32") +
            buf.getAt(i + 28, "u32")
    }
    const end = off + len - 1
    for (; i < end; i += 2) sum += buf.getAt(i, "u16")
    if (i === end) sum += buf[i]
    while (sum > 0xffff) {
        const high = Math.floor(sum / 0x10000)
        sum = sum - high * 0x10000 + high
    }
    return sum
}

/** Folds a partial sum and returns the checksum field value (big-endian number). */
export function finishChecksum(acc: number): number {
    let sum = acc
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
    sum = ~sum & 0xffff
    // the sum was of little-endian words: swap to network order
    return ((sum & 0xff) << 8) | (sum >> 8)
}

/** The checksum of buf[off, off+len) alone, e.g. an IPv4 header or an ICMP message. */
export function internetChecksum(buf: Buffer, off: number, len: number): number {
    return finishChecksum(onesSum(buf, off, len, 0))
}

function swap16(v: number): number {
    return ((v & 0xff) << 8) | ((v >> 8) & 0xff)
}

/**
 * The partial sum of the TCP/UDP pseudo-header (RFC 793 §3.1, RFC 768):
 * source and destination address, protocol, and the transport length, in the
 * same byte-swapped form onesSum() uses, to be passed on as its `acc`.
 */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
    const sum =
        swap16(src >>> 16) + swap16(src & 0xffff) + swap16(dst >>> 16) + swap16(dst & 0xffff) + swap16(protocol) + swap16(length)
    return (sum & 0xffff) + (sum >>> 16)
}

/**
 * RFC 1624 eqn. 3: the new checksum field after one 16-bit word of the
 * covered data changed from `oldWord` to `newWord` (all in network order).
 */
export function adjustChecksum(checksum: number, oldWord: number, newWord: number): number {
    let sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
    return ~sum & 0xffff
}
