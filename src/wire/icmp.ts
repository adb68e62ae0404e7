// ICMP, RFC 792: type, code, checksum (Internet checksum of the whole ICMP
// message), then 4 bytes whose meaning depends on the type: identifier and
// sequence number for echo / echo reply, unused (or next-hop MTU, RFC 1191)
// for destination unreachable, where the data is the offending IP header plus
// at least 8 bytes of its payload.
import { getU16, setU16 } from "./bytes.js"
import { internetChecksum } from "./checksum.js"
import { Reason } from "./reason.js"

export const ICMP_HEADER_LEN = 8
export const ICMP_ECHO_REPLY = 0
export const ICMP_DEST_UNREACHABLE = 3
export const ICMP_ECHO_REQUEST = 8
export const ICMP_TIME_EXCEEDED = 11
/** Destination unreachable codes (RFC 792, RFC 1191). */
export const ICMP_NET_UNREACHABLE = 0
export const ICMP_HOST_UNREACHABLE = 1
export const ICMP_PROTOCOL_UNREACHABLE = 2
export const ICMP_PORT_UNREACHABLE = 3
export const ICMP_FRAG_NEEDED = 4

/** @devsWhenUsed */
export class IcmpHeader {
    type = 0
    code = 0
    checksum = 0
    /** bytes 4..5: echo identifier, or the first half of "rest of header" */
    id = 0
    /** bytes 6..7: echo sequence number, or the second half of "rest of header" */
    seq = 0
}

/** Reads the ICMP message of `len` bytes at buf[off]; the checksum covers all of them. */
export function parseIcmp(buf: Buffer, off: number, len: number, out: IcmpHeader): Reason {
    if (len < ICMP_HEADER_LEN || off + len > buf.length) return Reason.Truncated
    if (internetChecksum(buf, off, len) !== 0) return Reason.BadChecksum
    out.type = buf[off]
    out.code = buf[off + 1]
    out.checksum = getU16(buf, off + 2)
    out.id = getU16(buf, off + 4)
    out.seq = getU16(buf, off + 6)
    return Reason.Ok
}

/** Writes the header; the checksum covers it and the payloadLen bytes already at off + 8. */
export function emitIcmp(h: IcmpHeader, buf: Buffer, off: number, payloadLen: number): number {
    buf[off] = h.type & 0xff
    buf[off + 1] = h.code & 0xff
    buf[off + 2] = 0
    buf[off + 3] = 0
    setU16(buf, off + 4, h.id)
    setU16(buf, off + 6, h.seq)
    const sum = internetChecksum(buf, off, ICMP_HEADER_LEN + payloadLen)
    setU16(buf, off + 2, sum)
    h.checksum = sum
    return ICMP_HEADER_LEN
}
