// Node's Buffer ignores out-of-range copies and reads (the polyfilled blitAt
// clips, getAt past the end reads undefined as 0); DeviceScript throws on
// out-of-range writes. Importing this module makes the process record every
// blitAt/fillAt/getAt that reaches past its buffers in `outOfRange`, so
// fuzz tests can fail on what would crash a device.
import "./setup.js"

export const outOfRange: string[] = []

const proto = Buffer.prototype as any
if (!proto.__strictBuffers) {
    proto.__strictBuffers = true
    const blitAt = proto.blitAt
    const fillAt = proto.fillAt
    const getAt = proto.getAt
    proto.blitAt = function (this: Buffer, dst: number, src: Buffer, srcOff: number, len: number): void {
        if (len > 0 && (dst < 0 || dst + len > this.length || srcOff < 0 || srcOff + len > src.length)) {
            outOfRange.push("blitAt(" + dst + ", src of " + src.length + ", " + srcOff + ", " + len + ") on " + this.length + " bytes")
        }
        blitAt.call(this, dst, src, srcOff, len)
    }
    proto.fillAt = function (this: Buffer, off: number, len: number, v: number): void {
        if (len > 0 && (off < 0 || off + len > this.length)) outOfRange.push("fillAt(" + off + ", " + len + ") on " + this.length + " bytes")
        fillAt.call(this, off, len, v)
    }
    proto.getAt = function (this: Buffer, off: number, format: "u8" | "u16" | "u32"): number {
        if (off < 0 || off + (format === "u32" ? 4 : format === "u16" ? 2 : 1) > this.length) outOfRange.push("getAt(" + off + ") on " + this.length + " bytes")
        return getAt.call(this, off, format)
    }
}
