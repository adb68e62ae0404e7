// UDP, RFC 768: source port, destination port, length (header + data),
// checksum over the pseudo-header (source, destination, zero, protocol 17,
// UDP length), the header and the data. A transmitted checksum of 0 means
// "none"; a computed 0 is sent as 0xffff (RFC 768, "Fields").
import { getU16, setU16 } from "./bytes.js"
import { finishChecksum, onesSum, pseudoHeaderSum } from "./checksum.js"
import { Reason } from "./reason.js"

export const UDP_HEADER_LEN = 8
const PROTO_UDP = 17

/** @devsWhenUsed */
export class UdpHeader {
    srcPort = 0
    dstPort = 0
    /** header + payload bytes, from the length field */
    length = 0
    checksum = 0
}

/**
 * Reads the datagram at buf[off]; `len` is the IP payload length. The
 * datagram's payload is [off + 8, off + length); bytes past `length` are
 * ignored.
 */
export function parseUdp(buf: Buffer, off: number, len: number, srcIp: number, dstIp: number, out: UdpHeader): Reason {
    if (len < UDP_HEADER_LEN || off + UDP_HEADER_LEN > buf.length) return Reason.Truncated
    const length = getU16(buf, off + 4)
    if (length < UDP_HEADER_LEN || length > len || off + length > buf.length) return Reason.BadLength
    const checksum = getU16(buf, off + 6)
    if (checksum !== 0) {
        const acc = onesSum(buf, off, length, pseudoHeaderSum(srcIp, dstIp, PROTO_UDP, length))
        if (finishChecksum(acc) !== 0) return Reason.BadChecksum
    }
    out.srcPort = getU16(buf, off)
    out.dstPort = getU16(buf, off + 2)
    out.length = length
    out.checksum = checksum
    return Reason.Ok
}

/**
 * Writes the header from h.srcPort, h.dstPort and h.length (8 + payload, set
 * by the caller); the payload is already at off + 8. Computes the checksum
 * (stored in h.checksum). Returns 8.
 */
export function emitUdp(h: UdpHeader, buf: Buffer, off: number, srcIp: number, dstIp: number): number {
    setU16(buf, off, h.srcPort)
    setU16(buf, off + 2, h.dstPort)
    setU16(buf, off + 4, h.length)
    buf[off + 6] = 0
    buf[off + 7] = 0
    let sum = finishChecksum(onesSum(buf, off, h.length, pseudoHeaderSum(srcIp, dstIp, PROTO_UDP, h.length)))
    if (sum === 0) sum = 0xffff
    setU16(buf, off + 6, sum)
    h.checksum = sum
    return UDP_HEADER_LEN
}
