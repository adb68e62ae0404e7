// Node gets the few native Buffer methods of DeviceScript that the portable
// core uses, so the same source runs unchanged on both. Import this module once,
// first, in every Node entry point (tests import it through test/setup.ts).

declare global {
    interface Buffer {
        /** DeviceScript: memmove `length` bytes from src[srcOffset] to this[dstOffset]. */
        blitAt(dstOffset: number, src: Buffer, srcOffset: number, length: number): void
        /** DeviceScript: set `length` bytes from `offset` to `value`. */
        fillAt(offset: number, length: number, value: number): void
        /** DeviceScript: little-endian read; the core uses "u16" only. */
        getAt(offset: number, format: "u8" | "u16"): number
    }
}

const proto = Buffer.prototype as any

if (!proto.blitAt) {
    proto.blitAt = function (this: Buffer, dstOffset: number, src: Buffer, srcOffset: number, length: number): void {
        src.copy(this, dstOffset, srcOffset, srcOffset + length)
    }
    proto.fillAt = function (this: Buffer, offset: number, length: number, value: number): void {
        this.fill(value, offset, offset + length)
    }
    proto.getAt = function (this: Buffer, offset: number, format: string): number {
        if (format === "u16") return this[offset] | (this[offset + 1] << 8)
        if (format === "u8") return this[offset]
        throw new Error("getAt: format " + format + " is not polyfilled")
    }
}

export {}
