// A faster onesSum() for Node (the hook of src/wire/checksum.ts, installed by
// buffer-polyfill.ts): the same little-endian 16-bit word sum, read through a
// Uint16Array view of the buffer's memory when the range starts on an even
// address, else byte by byte (the TAP addon starts every received frame on a
// 4-byte boundary, so headers and payloads after it are on even addresses).
// On Node getAt() is a polyfilled method call per word, which made the
// checksum the largest cost of a bulk transfer.
import { endianness } from "node:os"

// The last views made, per ArrayBuffer: the stack's transmit buffer and the
// TAP's receive slab are reused for every frame, so a view is made once.
let viewA: Uint16Array | null = null
let viewB: Uint16Array | null = null

function wordsOf(ab: ArrayBufferLike): Uint16Array {
    if (viewA && viewA.buffer === ab) return viewA
    if (viewB && viewB.buffer === ab) {
        const v = viewB
        viewB = viewA
        viewA = v
        return v
    }
    const v = new Uint16Array(ab, 0, ab.byteLength >> 1)
    viewB = viewA
    viewA = v
    return v
}

/** The portable loop's sum with plain indexing (no getAt call per word). */
function byteOnesSum(buf: Buffer, off: number, len: number, acc: number): number {
    let sum = acc
    const end = off + len - 1
    let i = off
    for (; i < end; i += 2) sum += buf[i] | (buf[i + 1] << 8)
    if (i === end) sum += buf[i]
    return (sum & 0xffff) + (sum >>> 16)
}

export function fastOnesSum(buf: Buffer, off: number, len: number, acc: number): number {
    const start = buf.byteOffset + off
    if (len < 64 || start & 1) return byteOnesSum(buf, off, len, acc)
    const words = wordsOf(buf.buffer)
    let sum = acc
    let w = start >> 1
    const n = len >> 1
    const end = w + n
    // 8-way unrolled; the sum of up to 2^37 bytes' words is still an exact integer
    for (; w + 8 <= end; w += 8) sum += words[w] + words[w + 1] + words[w + 2] + words[w + 3] + words[w + 4] + words[w + 5] + words[w + 6] + words[w + 7]
    for (; w < end; w++) sum += words[w]
    if (len & 1) sum += buf[off + len - 1]
    // fold to the same partial-sum form the portable loop returns
    sum = (sum % 0x10000) + Math.floor(sum / 0x10000)
    return (sum & 0xffff) + (sum >>> 16)
}

/** True where the fast sum is valid (a little-endian machine). */
export const FAST_ONES_SUM_OK = endianness() === "LE"
