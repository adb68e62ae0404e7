// Node gets the few native Buffer methods of DeviceScript that the portable
// core uses, so the same source runs unchanged on both. Import this module once,
// first, in every Node entry point (tests import it through test/setup.ts).

declare global {
    interface Buffer {
        /** DeviceScript: memmove `length` bytes from src[srcOffset] to this[dstOffset]. */
        blitAt(dstOffset: number, src: Buffer, srcOffset: number, length: number): void
        /** DeviceScript: set `length` bytes from `offset` to `value`. */
        fillAt(offset: number, length: number, value: number): void
        /** DeviceScript: little-endian read; the core uses "u8", "u16" and "u32". */
        getAt(offset: number, format: "u8" | "u16" | "u32"): number
    }
}

import { accelerateOnesSum } from "../wire/checksum.js"
import { fastOnesSum, FAST_ONES_SUM_OK } from "./fast-checksum.js"

const proto = Buffer.prototype as any

if (!proto.blitAt) {
    // Buffer.copy and fill cost a native call each: a loop is faster for the
    // MAC addresses, ports and headers the core moves (the profile showed it).
    proto.blitAt = function (this: Buffer, dstOffset: number, src: Buffer, srcOffset: number, length: number): void {
        if (length > 24) {
            src.copy(this, dstOffset, srcOffset, srcOffset + length)
            return
        }
        // clamp as copy() does: never past either end
        const n = Math.min(length, src.length - srcOffset, this.length - dstOffset)
        if (n <= 0) return
        if (this.buffer === src.buffer && this.byteOffset + dstOffset > src.byteOffset + srcOffset) {
            for (let i = n - 1; i >= 0; i--) this[dstOffset + i] = src[srcOffset + i] // overlapping: back to front
        } else {
            for (let i = 0; i < n; i++) this[dstOffset + i] = src[srcOffset + i]
        }
    }
    proto.fillAt = function (this: Buffer, offset: number, length: number, value: number): void {
        if (length > 24) {
            this.fill(value, offset, offset + length)
            return
        }
        const end = Math.min(offset + length, this.length)
        for (let i = offset; i < end; i++) this[i] = value
    }
    proto.getAt = function (this: Buffer, offset: number, format: string): number {
        if (format === "u16") return this[offset] | (this[offset + 1] << 8)
        if (format === "u32") return (this[offset] | (this[offset + 1] << 8) | (this[offset + 2] << 16)) + this[offset + 3] * 0x1000000
        if (format === "u8") return this[offset]
        throw new Error("getAt: format " + format + " is not polyfilled")
    }
}

// The Internet checksum through typed-array reads (src/host/fast-checksum.ts).
if (FAST_ONES_SUM_OK) accelerateOnesSum(fastOnesSum)

export {}
