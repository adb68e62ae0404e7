// SHA-1 (FIPS 180-4 §6.1, RFC 3174) over a Buffer, with 32-bit integer
// arithmetic only (`| 0`, `>>> 0`): portable to DeviceScript. SHA-1 is broken
// for collision resistance; it is here because RFC 6455 (WebSocket) uses it
// for the handshake's Sec-WebSocket-Accept, where that does not matter.
//
// Work: ~80 rounds per 64-byte block, no allocation beyond the 16-word
// schedule, a 64-byte tail block and the 20-byte digest. Meant for short
// inputs (a handshake key is 60 bytes): a long input is one long loop that no
// device fiber should run without yielding.

import { setU32 } from "../wire/bytes.js"

/** The 20-byte SHA-1 digest of data[off, off+len) (default: the whole buffer). */
export function sha1(data: Buffer, off?: number, len?: number): Buffer {
    const start = off || 0
    const n = len === undefined ? data.length - start : len
    const h = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0]
    const w = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    const full = n - (n % 64)
    for (let at = 0; at < full; at += 64) sha1Block(h, w, data, start + at)
    // the tail: the rest, 0x80, zeros, the length in bits (64-bit big-endian)
    const tail = Buffer.alloc(n % 64 < 56 ? 64 : 128)
    const rest = n - full
    if (rest > 0) tail.blitAt(0, data, start + full, rest)
    tail[rest] = 0x80
    const hi = Math.floor(n / 0x20000000) // bits above 2^32
    const lo = (n % 0x20000000) * 8
    const e = tail.length
    setU32(tail, e - 8, hi)
    setU32(tail, e - 4, lo)
    sha1Block(h, w, tail, 0)
    if (e === 128) sha1Block(h, w, tail, 64)
    const out = Buffer.alloc(20)
    for (let i = 0; i < 5; i++) setU32(out, i * 4, h[i])
    return out
}

/** One 64-byte block; the message schedule is kept in 16 words (FIPS 180-4 §6.1.3's alternate method). */
function sha1Block(h: number[], w: number[], b: Buffer, o: number): void {
    for (let t = 0; t < 16; t++) {
        const p = o + t * 4
        w[t] = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]
    }
    let a = h[0]
    let bb = h[1]
    let c = h[2]
    let d = h[3]
    let e = h[4]
    for (let t = 0; t < 80; t++) {
        const s = t & 15
        if (t >= 16) {
            const x = w[(s + 13) & 15] ^ w[(s + 8) & 15] ^ w[(s + 2) & 15] ^ w[s]
            w[s] = (x << 1) | (x >>> 31)
        }
        let f: number
        let k: number
        if (t < 20) {
            f = (bb & c) | (~bb & d)
            k = 0x5a827999
        } else if (t < 40) {
            f = bb ^ c ^ d
            k = 0x6ed9eba1
        } else if (t < 60) {
            f = (bb & c) | (bb & d) | (c & d)
            k = 0x8f1bbcdc | 0
        } else {
            f = bb ^ c ^ d
            k = 0xca62c1d6 | 0
        }
        // every term is a signed 32-bit value: the sum is exact in a double, then wrapped
        const tmp = (((a << 5) | (a >>> 27)) + f + e + k + w[s]) | 0
        e = d
        d = c
        c = (bb << 30) | (bb >>> 2)
        bb = a
        a = tmp
    }
    h[0] = (h[0] + a) | 0
    h[1] = (h[1] + bb) | 0
    h[2] = (h[2] + c) | 0
    h[3] = (h[3] + d) | 0
    h[4] = (h[4] + e) | 0
}
