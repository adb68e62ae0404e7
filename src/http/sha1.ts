// SHA-1 (FIPS 180-4 §6.1, RFC 3174) over a Buffer, with 32-bit integer
// arithmetic only (`| 0`, `>>> 0`): portable to DeviceScript. SHA-1 is broken
// for collision resistance; it is here because RFC 6455 (WebSocket) uses it
// for the handshake's Sec-WebSocket-Accept, where that does not matter.
//
// Work: ~80 rounds per 64-byte block; the padded message is a copy of the
// input (64 to 128 bytes more), the schedule 16 words. Meant for short inputs
// (a handshake key is 60 bytes): a long input is one long loop that no device
// fiber should run without yielding.

import { setU32 } from "../wire/bytes.js"

/** The 20-byte SHA-1 digest of data[off, off+len) (default: the whole buffer). */
export function sha1(data: Buffer, off?: number, len?: number): Buffer {
    const start = off || 0
    const n = len === undefined ? data.length - start : len
    // the message padded (§5.1.1): the bytes, 0x80, zeros, the length in bits
    // as a 64-bit big-endian number, in whole 64-byte blocks
    const m = Buffer.alloc((Math.floor((n + 8) / 64) + 1) * 64)
    m.blitAt(0, data, start, n)
    m[n] = 0x80
    setU32(m, m.length - 8, Math.floor(n / 0x20000000))
    setU32(m, m.length - 4, (n % 0x20000000) * 8)
    const h = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0]
    // the message schedule in 16 words (FIPS 180-4 §6.1.3's alternate method)
    const w = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    for (let o = 0; o < m.length; o += 64) {
        for (let t = 0; t < 16; t++) {
            const p = o + t * 4
            w[t] = (m[p] << 24) | (m[p + 1] << 16) | (m[p + 2] << 8) | m[p + 3]
        }
        let a = h[0]
        let b = h[1]
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
                f = (b & c) | (~b & d)
                k = 0x5a827999
            } else if (t < 40) {
                f = b ^ c ^ d
                k = 0x6ed9eba1
            } else if (t < 60) {
                f = (b & c) | (b & d) | (c & d)
                k = 0x8f1bbcdc | 0
            } else {
                f = b ^ c ^ d
                k = 0xca62c1d6 | 0
            }
            // every term is a signed 32-bit value: the sum is exact in a double, then wrapped
            const tmp = (((a << 5) | (a >>> 27)) + f + e + k + w[s]) | 0
            e = d
            d = c
            c = (b << 30) | (b >>> 2)
            b = a
            a = tmp
        }
        h[0] = (h[0] + a) | 0
        h[1] = (h[1] + b) | 0
        h[2] = (h[2] + c) | 0
        h[3] = (h[3] + d) | 0
        h[4] = (h[4] + e) | 0
    }
    const out = Buffer.alloc(20)
    for (let i = 0; i < 5; i++) setU32(out, i * 4, h[i])
    return out
}
