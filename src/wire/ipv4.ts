// The IPv4 header, RFC 791 §3.1:
//
//   0 version:4 IHL:4 | 1 type of service | 2..3 total length
//   4..5 identification | 6..7 flags:3 (reserved, DF, MF) fragment offset:13
//   8 time to live | 9 protocol | 10..11 header checksum
//   12..15 source address | 16..19 destination address | options (IHL > 5)
//
// The header checksum is the Internet checksum of the header alone (RFC 791
// §3.1, RFC 1071): a header with a correct checksum sums to 0xffff.
import { getU32, setU16, setU32 } from "./bytes.js"
import { internetChecksum } from "./checksum.js"
import { Reason } from "./reason.js"

export const IPV4_HEADER_LEN = 20
export const IP_PROTO_ICMP = 1
export const IP_PROTO_TCP = 6
export const IP_PROTO_UDP = 17

const FLAG_DF = 0x4000
const FLAG_MF = 0x2000
const OFFSET_MASK = 0x1fff

/** @devsWhenUsed */
export class Ipv4Header {
    /** bytes (IHL * 4) */
    headerLength = IPV4_HEADER_LEN
    tos = 0
    totalLength = 0
    id = 0
    dontFragment = false
    moreFragments = false
    /** bytes (the field counts 8-byte units) */
    fragmentOffset = 0
    ttl = 64
    protocol = 0
    checksum = 0
    src = 0
    dst = 0
}

/**
 * Reads the header at buf[off]. Checks, in order: Truncated (len < 20),
 * BadVersion (not 4), BadHeaderLength (IHL < 5), BadTotalLength (total
 * length > len, or < 20), BadHeaderLength (IHL * 4 > total length),
 * BadChecksum. The payload is [off + headerLength, off + totalLength); bytes
 * past totalLength (Ethernet padding) are ignored.
 */
export function parseIpv4(buf: Buffer, off: number, len: number, out: Ipv4Header): Reason {
    if (len < IPV4_HEADER_LEN || off + IPV4_HEADER_LEN > buf.length) return Reason.Truncated
    const vihl = buf[off]
    if (vihl >> 4 !== 4) return Reason.BadVersion
    const hl = (vihl & 15) << 2
    if (hl < IPV4_HEADER_LEN) return Reason.BadHeaderLength
    // big-endian fields read in place (a helper call per field cost more than the field)
    const total = (buf[off + 2] << 8) | buf[off + 3]
    if (total > len || total < IPV4_HEADER_LEN || off + total > buf.length) return Reason.BadTotalLength
    if (hl > total) return Reason.BadHeaderLength
    if (internetChecksum(buf, off, hl) !== 0) return Reason.BadChecksum
    const frag = (buf[off + 6] << 8) | buf[off + 7]
    out.headerLength = hl
    out.tos = buf[off + 1]
    out.totalLength = total
    out.id = (buf[off + 4] << 8) | buf[off + 5]
    out.dontFragment = (frag & FLAG_DF) !== 0
    out.moreFragments = (frag & FLAG_MF) !== 0
    out.fragmentOffset = (frag & OFFSET_MASK) << 3
    out.ttl = buf[off + 8]
    out.protocol = buf[off + 9]
    out.checksum = (buf[off + 10] << 8) | buf[off + 11]
    out.src = getU32(buf, off + 12)
    out.dst = getU32(buf, off + 16)
    return Reason.Ok
}

/**
 * Writes a 20-byte header (no options) at buf[off] from h.tos, totalLength,
 * id, dontFragment, moreFragments, fragmentOffset (bytes, a multiple of 8),
 * ttl, protocol, src and dst; computes the checksum (also stored in
 * h.checksum). Returns 20.
 */
export function emitIpv4(h: Ipv4Header, buf: Buffer, off: number): number {
    buf[off] = 0x45
    buf[off + 1] = h.tos & 0xff
    setU16(buf, off + 2, h.totalLength)
    setU16(buf, off + 4, h.id)
    let frag = (h.fragmentOffset >> 3) & OFFSET_MASK
    if (h.dontFragment) frag |= FLAG_DF
    if (h.moreFragments) frag |= FLAG_MF
    setU16(buf, off + 6, frag)
    buf[off + 8] = h.ttl & 0xff
    buf[off + 9] = h.protocol & 0xff
    buf[off + 10] = 0
    buf[off + 11] = 0
    setU32(buf, off + 12, h.src)
    setU32(buf, off + 16, h.dst)
    const sum = internetChecksum(buf, off, IPV4_HEADER_LEN)
    setU16(buf, off + 10, sum)
    h.checksum = sum
    return IPV4_HEADER_LEN
}
