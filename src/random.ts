// Randomness is injected: ISNs, ephemeral ports, DHCP xids and ARP jitter all
// come from a RandomSource, seeded in the simulator so that runs repeat
// byte for byte. A device seeds it from hardware entropy at start.
export interface RandomSource {
    /** A uniformly distributed unsigned 32-bit integer. */
    nextU32: () => number
}

/**
 * xoshiro128** (Blackman & Vigna), small and fast, with 32-bit state words that
 * DeviceScript handles as integers. Not for cryptography; ISNs mix its output
 * with a keyed hash (RFC 6528).
 * @devsWhenUsed
 */
export class Xoshiro128 implements RandomSource {
    private s0: number
    private s1: number
    private s2: number
    private s3: number

    constructor(seed: number) {
        // splitmix32 expands the seed so that nearby seeds give unrelated streams
        let z = seed >>> 0
        const next = () => {
            z = (z + 0x9e3779b9) >>> 0
            let t = z ^ (z >>> 16)
            t = Math.imul(t, 0x21f0aaad)
            t ^= t >>> 15
            t = Math.imul(t, 0x735a2d97)
            return (t ^ (t >>> 15)) >>> 0
        }
        this.s0 = next()
        this.s1 = next()
        this.s2 = next()
        this.s3 = next()
        if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1
    }

    nextU32(): number {
        const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0
        const t = this.s1 << 9
        this.s2 ^= this.s0
        this.s3 ^= this.s1
        this.s1 ^= this.s2
        this.s0 ^= this.s3
        this.s2 ^= t
        this.s3 = rotl(this.s3, 11)
        return result
    }

    /** A float in [0, 1). */
    nextFloat(): number {
        return this.nextU32() / 4294967296
    }
}

function rotl(x: number, k: number): number {
    return (x << k) | (x >>> (32 - k))
}

/**
 * The runtime's own generator as a RandomSource, for a firmware: the
 * DeviceScript runtime seeds Math.random from the chip's random bytes
 * (jd_crypto_get_random; the VM harness seeds it per VM, reproducibly), so
 * the device needs no generator of its own and no seed (a seed from the
 * clock at boot repeats from one boot to the next). Not for cryptography
 * either: ISNs mix it with a keyed hash (RFC 6528). About 60 bytes of
 * bytecode where Xoshiro128 took 400; the simulator and the host runners
 * keep Xoshiro128 for runs that repeat byte for byte.
 */
export function runtimeRandom(): RandomSource {
    return { nextU32: () => Math.floor(Math.random() * 4294967296) }
}
