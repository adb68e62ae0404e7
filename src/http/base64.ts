// Base64 (RFC 4648 §4, with padding), portable: no btoa/atob, no regexes.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/** Base64 of data[off, off+len) (default: the whole buffer). */
export function base64Encode(data: Buffer, off?: number, len?: number): string {
    const start = off || 0
    const end = start + (len === undefined ? data.length - start : len)
    let s = ""
    // three bytes make four characters; past the end, zero bits and "=" (§4)
    for (let i = start; i < end; i += 3) {
        const two = i + 1 < end
        const three = i + 2 < end
        const v = (data[i] << 16) | (two ? data[i + 1] << 8 : 0) | (three ? data[i + 2] : 0)
        s += ALPHABET[v >> 18] + ALPHABET[(v >> 12) & 63] + (two ? ALPHABET[(v >> 6) & 63] : "=") + (three ? ALPHABET[v & 63] : "=")
    }
    return s
}

/** The 6-bit value of a base64 character code, or -1. */
export function base64Value(c: number): number {
    return ALPHABET.indexOf(String.fromCharCode(c))
}

/**
 * Decodes canonical padded base64 (length a multiple of 4, "=" only at the
 * end, unused bits zero). Returns null for anything else.
 */
export function base64Decode(s: string): Buffer {
    const n = s.length
    if (n % 4 !== 0) return null
    let pad = 0
    if (n > 0 && s.charCodeAt(n - 1) === 61) pad = s.charCodeAt(n - 2) === 61 ? 2 : 1
    const out = Buffer.alloc((n / 4) * 3 - pad)
    let o = 0
    for (let i = 0; i < n; i += 4) {
        const last = i + 4 === n
        const a = base64Value(s.charCodeAt(i))
        const b = base64Value(s.charCodeAt(i + 1))
        const c = last && pad === 2 ? 0 : base64Value(s.charCodeAt(i + 2))
        const d = last && pad >= 1 ? 0 : base64Value(s.charCodeAt(i + 3))
        if (a < 0 || b < 0 || c < 0 || d < 0) return null
        const v = (a << 18) | (b << 12) | (c << 6) | d
        // padding: the bits of the missing bytes must be zero
        if (last && pad === 2) {
            if ((v & 0xffff) !== 0) return null
            out[o++] = v >> 16
        } else if (last && pad === 1) {
            if ((v & 0xff) !== 0) return null
            out[o++] = v >> 16
            out[o++] = (v >> 8) & 0xff
        } else {
            out[o++] = v >> 16
            out[o++] = (v >> 8) & 0xff
            out[o++] = v & 0xff
        }
    }
    return out
}
