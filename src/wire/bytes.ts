// Big-endian field access and address helpers over a Buffer and offset.
//
// The core runs as DeviceScript bytecode and on Node. DeviceScript has no
// DataView and its readUInt32BE is signed, so network byte order is written by
// hand here, once, and every format uses these helpers. Unsigned 32-bit values
// come back as non-negative numbers (`>>> 0`).

export function getU16(b: Buffer, o: number): number {
    return (b[o] << 8) | b[o + 1]
}

export function getU32(b: Buffer, o: number): number {
    return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0
}

export function setU16(b: Buffer, o: number, v: number): void {
    b[o] = (v >> 8) & 0xff
    b[o + 1] = v & 0xff
}

export function setU32(b: Buffer, o: number, v: number): void {
    b[o] = (v >>> 24) & 0xff
    b[o + 1] = (v >> 16) & 0xff
    b[o + 2] = (v >> 8) & 0xff
    b[o + 3] = v & 0xff
}

/** Dotted-quad text of an IPv4 address held as an unsigned 32-bit number. */
export function ipToString(ip: number): string {
    return ((ip >>> 24) & 0xff) + "." + ((ip >> 16) & 0xff) + "." + ((ip >> 8) & 0xff) + "." + (ip & 0xff)
}

/** Parses "a.b.c.d"; returns -1 when the text is not a dotted quad. */
export function parseIp(s: string): number {
    const parts = s.split(".")
    if (parts.length !== 4) return -1
    let ip = 0
    for (let i = 0; i < 4; i++) {
        const p = parts[i]
        if (p.length < 1 || p.length > 3) return -1
        let v = 0
        for (let j = 0; j < p.length; j++) {
            const c = p.charCodeAt(j) - 48
            if (c < 0 || c > 9) return -1
            v = v * 10 + c
        }
        if (v > 255) return -1
        ip = ip * 256 + v
    }
    return ip
}

const HEX = "0123456789abcdef"

function hexByte(v: number): string {
    return HEX[(v >> 4) & 15] + HEX[v & 15]
}

/** "aa:bb:cc:dd:ee:ff" of the 6 bytes at b[o]. */
export function macToString(b: Buffer, o: number): string {
    let s = hexByte(b[o])
    for (let i = 1; i < 6; i++) s += ":" + hexByte(b[o + i])
    return s
}

/** Parses "aa:bb:cc:dd:ee:ff" (or with '-') into a new 6-byte buffer; null when malformed. */
export function parseMac(s: string): Buffer {
    const parts = s.split(s.indexOf("-") >= 0 ? "-" : ":")
    if (parts.length !== 6) return null
    const mac = Buffer.alloc(6)
    for (let i = 0; i < 6; i++) {
        const p = parts[i].toLowerCase()
        if (p.length !== 2) return null
        const hi = HEX.indexOf(p[0])
        const lo = HEX.indexOf(p[1])
        if (hi < 0 || lo < 0) return null
        mac[i] = (hi << 4) | lo
    }
    return mac
}

/** True when the 6 bytes at a[ao] equal those at b[bo] (as a 32-bit and a 16-bit word). */
export function macEquals(a: Buffer, ao: number, b: Buffer, bo: number): boolean {
    return a.getAt(ao, "u32") === b.getAt(bo, "u32") && a.getAt(ao + 4, "u16") === b.getAt(bo + 4, "u16")
}

/** True for ff:ff:ff:ff:ff:ff. */
export function isBroadcastMac(b: Buffer, o: number): boolean {
    for (let i = 0; i < 6; i++) if (b[o + i] !== 0xff) return false
    return true
}

/** Copies `len` bytes within or between buffers (memmove). */
export function copyBytes(dst: Buffer, dstOff: number, src: Buffer, srcOff: number, len: number): void {
    if (len > 0) dst.blitAt(dstOff, src, srcOff, len)
}
