// The TCP header, RFC 9293 §3.1:
//
//   0..1 source port | 2..3 destination port | 4..7 sequence number
//   8..11 acknowledgment number | 12 data offset:4 reserved:4
//   13 flags CWR ECE URG ACK PSH RST SYN FIN | 14..15 window
//   16..17 checksum | 18..19 urgent pointer | options, to data offset * 4
//
// The checksum covers the pseudo-header (source, destination, zero, protocol
// 6, TCP length), the header and the data (RFC 9293 §3.1).
//
// Options (RFC 9293 §3.2): kind 0 end of list, kind 1 no-operation, every
// other kind has a length byte counting kind and length. Known kinds: 2 MSS
// (length 4, RFC 9293 §3.2), 3 window scale (length 3, RFC 7323 §2), 4
// SACK-permitted (length 2, RFC 2018 §2), 5 SACK blocks (RFC 2018 §3, skipped),
// 8 timestamps (length 10, RFC 7323 §3).
import { getU16, getU32, setU16, setU32 } from "./bytes.js"
import { finishChecksum, onesSum, pseudoHeaderSum } from "./checksum.js"
import { Reason } from "./reason.js"

export const TCP_HEADER_LEN = 20
/** Largest header: data offset 15. */
export const TCP_MAX_HEADER_LEN = 60

export const TCP_FIN = 0x01
export const TCP_SYN = 0x02
export const TCP_RST = 0x04
export const TCP_PSH = 0x08
export const TCP_ACK = 0x10
export const TCP_URG = 0x20
export const TCP_ECE = 0x40
export const TCP_CWR = 0x80

export const TCP_OPT_EOL = 0
export const TCP_OPT_NOP = 1
export const TCP_OPT_MSS = 2
export const TCP_OPT_WSCALE = 3
export const TCP_OPT_SACK_PERMITTED = 4
export const TCP_OPT_SACK = 5
export const TCP_OPT_TIMESTAMPS = 8

/** RFC 7323 §2.3: a shift count above 14 is used as 14. */
export const TCP_MAX_WSCALE = 14

const PROTO_TCP = 6

/** @devsWhenUsed */
export class TcpHeader {
    srcPort = 0
    dstPort = 0
    seq = 0
    ack = 0
    /** bytes (data offset * 4) */
    headerLength = TCP_HEADER_LEN
    /** TCP_FIN | TCP_SYN | ... (byte 13) */
    flags = 0
    window = 0
    checksum = 0
    urgent = 0
    /** MSS option value; 0 = absent */
    mss = 0
    /** window scale shift (clamped to 14); -1 = absent */
    wscale = -1
    sackPermitted = false
    tsPresent = false
    tsVal = 0
    tsEcr = 0
}

/**
 * The lengths of the option kinds parseTcpHead() knows (0: any), by kind:
 * MSS 4, window scale 3, SACK-permitted 2, timestamps 10. Data: the VM's
 * native JSON.parse reads it, where branches would be code.
 */
const OPTION_LENGTHS: number[] = JSON.parse("[0,0,4,3,2,0,0,0,10]")

/**
 * What the engine reads of the segment at buf[off] (`len` is the IP
 * payload length, header + data; the data is [off + headerLength, off +
 * len)): the fixed fields but the checksum and the urgent pointer, and the
 * MSS option. Checks, in order: Truncated, BadHeaderLength, BadChecksum,
 * BadOption (every option, known kinds by their length), BadFlags.
 */
export function parseTcpHead(buf: Buffer, off: number, len: number, srcIp: number, dstIp: number, out: TcpHeader): Reason {
    if (len < TCP_HEADER_LEN || off + len > buf.length) return Reason.Truncated
    const hl = (buf[off + 12] >> 4) << 2
    if (hl < TCP_HEADER_LEN || hl > len) return Reason.BadHeaderLength
    const acc = onesSum(buf, off, len, pseudoHeaderSum(srcIp, dstIp, PROTO_TCP, len))
    if (finishChecksum(acc) !== 0) return Reason.BadChecksum

    out.mss = 0
    // Every pass advances i by at least 1, and i never passes `end`: at most
    // 40 passes.
    const end = off + hl
    let i = off + TCP_HEADER_LEN
    while (i < end) {
        const kind = buf[i]
        if (kind === TCP_OPT_EOL) break
        if (kind === TCP_OPT_NOP) {
            i++
            continue
        }
        if (i + 1 >= end) return Reason.BadOption
        const olen = buf[i + 1]
        if (olen < 2 || i + olen > end) return Reason.BadOption
        const want = OPTION_LENGTHS[kind]
        if (want) {
            if (olen !== want) return Reason.BadOption
        }
        if (kind === TCP_OPT_MSS) out.mss = getU16(buf, i + 2)
        // SACK blocks and unknown kinds are skipped by their length
        i += olen
    }

    const flags = buf[off + 13]
    if (flags & TCP_SYN) {
        if (flags & (TCP_FIN | TCP_RST)) return Reason.BadFlags
    }
    out.srcPort = getU16(buf, off)
    out.dstPort = getU16(buf, off + 2)
    out.seq = getU32(buf, off + 4)
    out.ack = getU32(buf, off + 8)
    out.headerLength = hl
    out.flags = flags
    out.window = getU16(buf, off + 14)
    return Reason.Ok
}

/**
 * Reads the segment at buf[off] into `out`, every field and known option;
 * `len` is the IP payload length (header + data). The data is [off +
 * headerLength, off + len). Checks, in order: Truncated, BadHeaderLength,
 * BadChecksum, BadOption, BadFlags.
 */
export function parseTcp(buf: Buffer, off: number, len: number, srcIp: number, dstIp: number, out: TcpHeader): Reason {
    const r = parseTcpHead(buf, off, len, srcIp, dstIp, out)
    if (r !== Reason.Ok) return r
    out.checksum = getU16(buf, off + 16)
    out.urgent = getU16(buf, off + 18)
    out.wscale = -1
    out.sackPermitted = false
    out.tsPresent = false
    out.tsVal = 0
    out.tsEcr = 0
    // the options again: parseTcpHead checked their lengths
    const end = off + out.headerLength
    let i = off + TCP_HEADER_LEN
    while (i < end) {
        const kind = buf[i]
        if (kind === TCP_OPT_EOL) break
        if (kind === TCP_OPT_NOP) {
            i++
            continue
        }
        if (kind === TCP_OPT_WSCALE) {
            const shift = buf[i + 2]
            out.wscale = shift > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : shift
        } else if (kind === TCP_OPT_SACK_PERMITTED) out.sackPermitted = true
        else if (kind === TCP_OPT_TIMESTAMPS) {
            out.tsPresent = true
            out.tsVal = getU32(buf, i + 2)
            out.tsEcr = getU32(buf, i + 6)
        }
        i += buf[i + 1]
    }
    return Reason.Ok
}

/** 20 + the options emitTcp() writes for h (always a multiple of 4). */
export function tcpHeaderLength(h: TcpHeader): number {
    let n = TCP_HEADER_LEN
    if (h.mss > 0) n += 4
    if (h.tsPresent) n += 12
    else if (h.sackPermitted) n += 4
    if (h.wscale >= 0) n += 4
    return n
}

/**
 * Writes the header and options at buf[off]; the payloadLen bytes of data
 * are already at off + tcpHeaderLength(h). Options in Linux's layout (so the
 * bytes match what Linux sends): MSS; SACK-permitted + timestamps as
 * 4,2,8,10,... or NOP,NOP,8,10,... or NOP,NOP,4,2; NOP + window scale.
 * Computes the checksum; stores it and the header length in h. Returns the
 * header length.
 */
export function emitTcp(h: TcpHeader, buf: Buffer, off: number, srcIp: number, dstIp: number, payloadLen: number): number {
    let i = off + TCP_HEADER_LEN + (h.mss > 0 ? 4 : 0)
    if (h.tsPresent) {
        if (h.sackPermitted) {
            buf[i] = TCP_OPT_SACK_PERMITTED
            buf[i + 1] = 2
        } else {
            buf[i] = TCP_OPT_NOP
            buf[i + 1] = TCP_OPT_NOP
        }
        buf[i + 2] = TCP_OPT_TIMESTAMPS
        buf[i + 3] = 10
        setU32(buf, i + 4, h.tsVal)
        setU32(buf, i + 8, h.tsEcr)
        i += 12
    } else if (h.sackPermitted) {
        buf[i] = TCP_OPT_NOP
        buf[i + 1] = TCP_OPT_NOP
        buf[i + 2] = TCP_OPT_SACK_PERMITTED
        buf[i + 3] = 2
        i += 4
    }
    if (h.wscale >= 0) {
        buf[i] = TCP_OPT_NOP
        buf[i + 1] = TCP_OPT_WSCALE
        buf[i + 2] = 3
        buf[i + 3] = h.wscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : h.wscale
    }
    return emitTcpMss(h, buf, off, tcpHeaderLength(h), srcIp, dstIp, payloadLen)
}

/**
 * emitTcp for a header whose only option is the MSS (what the engine sends:
 * it offers no window scaling, SACK or timestamps). The device image then
 * carries no code for the other options (they are for the host side: tests
 * and simulated peers that speak like Linux). The options other than the MSS
 * that h announces must already be at their place (emitTcp writes them);
 * `hl` is tcpHeaderLength(h) (the engine knows it: 24 with the MSS, else 20).
 */
export function emitTcpMss(h: TcpHeader, buf: Buffer, off: number, hl: number, srcIp: number, dstIp: number, payloadLen: number): number {
    setU16(buf, off, h.srcPort)
    setU16(buf, off + 2, h.dstPort)
    setU32(buf, off + 4, h.seq)
    setU32(buf, off + 8, h.ack)
    buf[off + 12] = (hl >> 2) << 4
    buf[off + 13] = h.flags & 0xff
    setU16(buf, off + 14, h.window)
    buf[off + 16] = 0
    buf[off + 17] = 0
    setU16(buf, off + 18, h.urgent)
    if (h.mss > 0) {
        const i = off + TCP_HEADER_LEN
        buf[i] = TCP_OPT_MSS
        buf[i + 1] = 4
        setU16(buf, i + 2, h.mss)
    }
    const tcpLen = hl + payloadLen
    const sum = finishChecksum(onesSum(buf, off, tcpLen, pseudoHeaderSum(srcIp, dstIp, PROTO_TCP, tcpLen)))
    setU16(buf, off + 16, sum)
    h.checksum = sum
    h.headerLength = hl
    return hl
}
