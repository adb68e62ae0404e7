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
 *
 * The loop (the platform's own when one is plugged in, else the portable one
 * on every platform, `portable` forces it) sums little-endian 32-bit words
 * through getAt(): a u32 word at i is u16(i) + 65536 * u16(i + 2), and
 * 65536 = 1 (mod 0xffff), so the folded sum is the same as of 16-bit words
 * (RFC 1071 §2(A), §2(C)), for a quarter of the VM's opcodes. Sixteen words
 * to a turn of the bulk loop, then four, then one, so a 20-byte IPv4 header
 * takes two turns. The sum grows past 32 bits as a double (exact up to 2^53,
 * far beyond a buffer's words), so its high part is folded with division
 * before the 32-bit `&` and `>>>` take over.
 */
export function onesSum(buf: Buffer, off: number, len: number, acc: number, portable?: boolean): number {
    if (accelerated && !portable) return accelerated(buf, off, len, acc)
    let sum = acc
    let i = off
    const end = off + len
    for (const e = end - 64; i <= e; i += 64) {
        sum +=
            buf.getAt(i, "u32") +
            buf.getAt(i + 4, "u32") +
            buf.getAt(i + 8, "u32") +
            buf.getAt(i + 12, "u32") +
            buf.getAt(i + 16, "u32") +
            buf.getAt(i + 20, "u32") +
            buf.getAt(i + 24, "u32") +
            buf.getAt(i + 28, "u32") +
            buf.getAt(i + 32, "u32") +
            buf.getAt(i + 36, "u32") +
            buf.getAt(i + 40, "u32") +
            buf.getAt(i + 44, "u32") +
            buf.getAt(i + 48, "u32") +
            buf.getAt(i + 52, "u32") +
            buf.getAt(i + 56, "u32") +
            buf.getAt(i + 60, "u32")
    }
    for (const e = end - 16; i <= e; i += 16) sum += buf.getAt(i, "u32") + buf.getAt(i + 4, "u32") + buf.getAt(i + 8, "u32") + buf.getAt(i + 12, "u32")
    for (const e = end - 4; i <= e; i += 4) sum += buf.getAt(i, "u32")
    if (i + 2 <= end) {
        sum += buf.getAt(i, "u16")
        i += 2
    }
    if (i < end) sum += buf[i]
    // below 2^53; after this, below 2^31 for any buffer of fewer than 2^29 bytes
    const high = Math.floor(sum / 0x10000)
    sum = sum - high * 0x10000 + high
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
    return sum
}

/** onesSum() by the portable loop even where a platform plugged in its own (tests compare the two). */
export function portableOnesSum(buf: Buffer, off: number, len: number, acc: number): number {
    return onesSum(buf, off, len, acc, true)
}

/** Folds a partial sum and returns the checksum field value (big-endian number). */
export function finishChecksum(acc: number): number {
    let sum = acc
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
    sum = ~sum & 0xffff
    // the sum was of little-endian words: swap to network order
    return ((sum & 0xff) << 8) | (sum >> 8)
}

/**
 * The checksum of buf[off, off+len) alone, e.g. an IPv4 header or an ICMP
 * message. Twenty bytes (an IPv4 header without options, one each way per
 * frame) are five words in one expression, without onesSum()'s loops.
 */
export function internetChecksum(buf: Buffer, off: number, len: number): number {
    if (len !== 20) return finishChecksum(onesSum(buf, off, len, 0))
    const sum = buf.getAt(off, "u32") + buf.getAt(off + 4, "u32") + buf.getAt(off + 8, "u32") + buf.getAt(off + 12, "u32") + buf.getAt(off + 16, "u32")
    const high = Math.floor(sum / 0x10000)
    return finishChecksum(sum - high * 0x10000 + high)
}

/**
 * The partial sum of the TCP/UDP pseudo-header (RFC 793 §3.1, RFC 768):
 * source and destination address, protocol, and the transport length, in the
 * same byte-swapped form onesSum() uses, to be passed on as its `acc`. Summed
 * in network order and swapped once: byte swapping commutes with the
 * one's-complement sum (RFC 1071 §2(B)).
 */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
    let sum = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length
    sum = (sum & 0xffff) + (sum >>> 16)
    sum = (sum & 0xffff) + (sum >>> 16)
    return ((sum & 0xff) << 8) | (sum >> 8)
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
