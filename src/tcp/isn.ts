// Keyed hashing for initial sequence numbers (RFC 6528) and SYN cookies.
//
// HalfSipHash-2-4 (Aumasson & Bernstein): SipHash's 32-bit variant, made for
// 32-bit machines, so every operation stays an int32 on the DeviceScript VM.
// The key comes from the injected random source at start.

function rotl(x: number, b: number): number {
    return (x << b) | (x >>> (32 - b))
}

/** @devsWhenUsed */
export class HalfSipHash {
    private readonly k0: number
    private readonly k1: number
    private v0 = 0
    private v1 = 0
    private v2 = 0
    private v3 = 0

    constructor(k0: number, k1: number) {
        this.k0 = k0 | 0
        this.k1 = k1 | 0
    }

    /** The 32-bit hash of the 12 bytes formed by three words (little-endian, as the reference reads them). */
    hash3(a: number, b: number, c: number): number {
        return this.hashWords(3, a, b, c)
    }

    /** The hash of the first n (0..3) of the words a, b, c: a message of 4n bytes. */
    hashWords(n: number, a: number, b: number, c: number): number {
        this.v0 = this.k0
        this.v1 = this.k1
        this.v2 = 0x6c796765 ^ this.k0
        this.v3 = 0x74656462 ^ this.k1
        if (n > 0) this.absorb(a | 0)
        if (n > 1) this.absorb(b | 0)
        if (n > 2) this.absorb(c | 0)
        // the final block: no tail bytes, the length in the top byte
        this.absorb((4 * n) << 24)
        this.v2 ^= 0xff
        this.round()
        this.round()
        this.round()
        this.round()
        return (this.v1 ^ this.v3) >>> 0
    }

    private absorb(m: number): void {
        this.v3 ^= m
        this.round()
        this.round()
        this.v0 ^= m
    }

    private round(): void {
        this.v0 = (this.v0 + this.v1) | 0
        this.v1 = rotl(this.v1, 5)
        this.v1 ^= this.v0
        this.v0 = rotl(this.v0, 16)
        this.v2 = (this.v2 + this.v3) | 0
        this.v3 = rotl(this.v3, 8)
        this.v3 ^= this.v2
        this.v0 = (this.v0 + this.v3) | 0
        this.v3 = rotl(this.v3, 7)
        this.v3 ^= this.v0
        this.v2 = (this.v2 + this.v1) | 0
        this.v1 = rotl(this.v1, 13)
        this.v1 ^= this.v2
        this.v2 = rotl(this.v2, 16)
    }
}

/**
 * RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey),
 * where M is a timer ticking every 4 µs (250 per ms) and F a keyed hash.
 */
export function initialSequenceNumber(h: HalfSipHash, localIp: number, localPort: number, remoteIp: number, remotePort: number, nowMs: number): number {
    const f = h.hashWords(3, localIp, remoteIp, ((localPort & 0xffff) << 16) | (remotePort & 0xffff))
    const m = (Math.floor(nowMs) * 250) % 4294967296
    return (f + m) >>> 0
}
