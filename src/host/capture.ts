// Reading capture files (host only): classic pcap as tcpdump writes it and
// pcapng as Wireshark and dumpcap write it by default, into one list of
// packets with their time, link type and captured bytes.
//
// pcap (https://www.tcpdump.org/manpages/pcap-savefile.5.html, and
// draft-ietf-opsawg-pcap §4-5): a 24-byte file header whose magic says the
// byte order and whether the record timestamps count microseconds
// (0xa1b2c3d4) or nanoseconds (0xa1b23c4d), then 16-byte record headers.
//
// pcapng (draft-ietf-opsawg-pcapng §3-4): a sequence of blocks, each
// `type, total length, body, total length`. A Section Header Block
// (0x0a0d0d0a) opens every section and its byte-order magic sets the byte
// order of the blocks that follow; Interface Description Blocks (1) give each
// interface its link type and timestamp resolution (option if_tsresol, code
// 9; if_tsoffset, code 14); Enhanced Packet Blocks (6) carry an interface id,
// a 64-bit timestamp and the bytes; Simple Packet Blocks (3) carry bytes only
// (interface 0, no timestamp); the obsolete Packet Block (2) is read too.
// Every other block (name resolution, statistics, custom, ...) is skipped by
// its length.
//
// Bad input never throws past readCapture(): a file that is not a capture
// throws a CaptureError with a one-line message; a file cut short keeps the
// packets before the cut and says so in `warnings`.

export class CaptureError extends Error {}

export const LINKTYPE_NULL = 0
export const LINKTYPE_ETHERNET = 1
export const LINKTYPE_RAW = 101
export const LINKTYPE_LOOP = 108
export const LINKTYPE_LINUX_SLL = 113
export const LINKTYPE_IPV4 = 228
export const LINKTYPE_LINUX_SLL2 = 276

export interface CapturedPacket {
    /** Timestamp in ms since 1970 (NaN for a pcapng Simple Packet Block, which has none). */
    timeMs: number
    /** The link-layer type of the interface it was captured on. */
    linktype: number
    /** The captured bytes (a view into the file's buffer). */
    data: Buffer
    /** The packet's length on the wire (more than data.length when cut by the snap length). */
    origLength: number
    /** Index of the packet in the file, from 0. */
    index: number
}

export interface Capture {
    format: "pcap" | "pcapng"
    packets: CapturedPacket[]
    /** What was odd about the file (cut short, unknown interface, ...); empty for a clean file. */
    warnings: string[]
}

const PCAP_MAGIC_US = 0xa1b2c3d4
const PCAP_MAGIC_NS = 0xa1b23c4d
const PCAPNG_SHB = 0x0a0d0d0a
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d
const PCAPNG_IDB = 1
const PCAPNG_PB = 2
const PCAPNG_SPB = 3
const PCAPNG_EPB = 6

/** Reads a pcap or pcapng file. Throws CaptureError (one line) when it is neither. */
export function readCapture(buf: Buffer): Capture {
    if (buf.length < 4) throw new CaptureError("not a capture file: " + buf.length + " bytes")
    if (buf.readUInt32LE(0) === PCAPNG_SHB) return readPcapng(buf)
    return readPcap(buf)
}

function readPcap(buf: Buffer): Capture {
    const mle = buf.readUInt32LE(0)
    const mbe = buf.readUInt32BE(0)
    let le: boolean
    if (mle === PCAP_MAGIC_US || mle === PCAP_MAGIC_NS) le = true
    else if (mbe === PCAP_MAGIC_US || mbe === PCAP_MAGIC_NS) le = false
    else throw new CaptureError("not a pcap or pcapng file (magic 0x" + mbe.toString(16).padStart(8, "0") + ")")
    const nano = (le ? mle : mbe) === PCAP_MAGIC_NS
    if (buf.length < 24) throw new CaptureError("pcap file header cut short (" + buf.length + " of 24 bytes)")
    const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o))
    // the link type is the low 16 bits; the upper bits hold an FCS length (pcap-linktype(7))
    const linktype = u32(20) & 0xffff
    const packets: CapturedPacket[] = []
    const warnings: string[] = []
    let o = 24
    while (o < buf.length) {
        if (o + 16 > buf.length) {
            warnings.push("file cut short in the record header at offset " + o)
            break
        }
        const sec = u32(o)
        const frac = u32(o + 4)
        const incl = u32(o + 8)
        const orig = u32(o + 12)
        if (o + 16 + incl > buf.length) {
            warnings.push("file cut short in packet " + (packets.length + 1) + " at offset " + o)
            break
        }
        packets.push({
            timeMs: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3),
            linktype,
            data: buf.subarray(o + 16, o + 16 + incl),
            origLength: orig,
            index: packets.length,
        })
        o += 16 + incl
    }
    return { format: "pcap", packets, warnings }
}

interface Interface {
    linktype: number
    snaplen: number
    /** Timestamp units per second (if_tsresol). */
    unitsPerSecond: bigint
    /** Seconds added to every timestamp (if_tsoffset). */
    offsetSeconds: bigint
}

function readPcapng(buf: Buffer): Capture {
    const packets: CapturedPacket[] = []
    const warnings: string[] = []
    let le = true
    let ifaces: Interface[] = []
    let o = 0
    while (o < buf.length) {
        if (o + 12 > buf.length) {
            warnings.push("file cut short in a block header at offset " + o)
            break
        }
        const rawType = buf.readUInt32LE(o)
        if (rawType === PCAPNG_SHB) {
            // a new section: its byte-order magic decides how to read everything up to the next one
            if (o + 28 > buf.length) {
                warnings.push("section header cut short at offset " + o)
                break
            }
            const bom = buf.readUInt32LE(o + 8)
            if (bom === PCAPNG_BYTE_ORDER) le = true
            else if (buf.readUInt32BE(o + 8) === PCAPNG_BYTE_ORDER) le = false
            else throw new CaptureError("pcapng section header at offset " + o + " has no byte-order magic")
            ifaces = []
        }
        const u32 = (p: number) => (le ? buf.readUInt32LE(p) : buf.readUInt32BE(p))
        const u16 = (p: number) => (le ? buf.readUInt16LE(p) : buf.readUInt16BE(p))
        const type = u32(o)
        const total = u32(o + 4)
        if (total < 12 || total % 4 !== 0) {
            if (packets.length === 0 && o === 0) throw new CaptureError("pcapng block at offset 0 has a bad length " + total)
            warnings.push("block at offset " + o + " has a bad length " + total + "; stopped there")
            break
        }
        if (o + total > buf.length) {
            warnings.push("file cut short in a block of type " + type + " at offset " + o)
            break
        }
        if (u32(o + total - 4) !== total) {
            warnings.push("block at offset " + o + " ends with a different length; stopped there")
            break
        }
        const body = o + 8
        const bodyEnd = o + total - 4
        if (type === PCAPNG_IDB && bodyEnd - body >= 8) {
            const iface: Interface = { linktype: u16(body), snaplen: u32(body + 4), unitsPerSecond: 1000000n, offsetSeconds: 0n }
            forEachOption(buf, body + 8, bodyEnd, u16, (code, p, len) => {
                if (code === 9 && len >= 1) {
                    // if_tsresol: MSB clear, 10^-v seconds; set, 2^-v seconds
                    const v = buf[p]
                    iface.unitsPerSecond = v & 0x80 ? 1n << BigInt(v & 0x7f) : 10n ** BigInt(v)
                } else if (code === 14 && len >= 8) {
                    iface.offsetSeconds = le ? buf.readBigInt64LE(p) : buf.readBigInt64BE(p)
                }
            })
            ifaces.push(iface)
        } else if (type === PCAPNG_EPB || type === PCAPNG_PB) {
            if (bodyEnd - body < 20) {
                warnings.push("packet block at offset " + o + " is too short; skipped")
            } else {
                const ifId = type === PCAPNG_EPB ? u32(body) : u16(body)
                const iface = ifaces[ifId]
                const incl = u32(body + 12)
                const orig = u32(body + 16)
                if (!iface) warnings.push("packet at offset " + o + " names interface " + ifId + ", which is not described; skipped")
                else if (body + 20 + incl > bodyEnd) warnings.push("packet at offset " + o + " is longer than its block; skipped")
                else {
                    const ts = (BigInt(u32(body + 4)) << 32n) | BigInt(u32(body + 8))
                    packets.push({
                        timeMs: timestampMs(ts, iface),
                        linktype: iface.linktype,
                        data: buf.subarray(body + 20, body + 20 + incl),
                        origLength: orig,
                        index: packets.length,
                    })
                }
            }
        } else if (type === PCAPNG_SPB) {
            const iface = ifaces[0]
            if (!iface || bodyEnd - body < 4) warnings.push("simple packet block at offset " + o + " without an interface; skipped")
            else {
                const orig = u32(body)
                // its captured length is implied: the original length, cut by the snap length and the block
                let incl = Math.min(orig, bodyEnd - body - 4)
                if (iface.snaplen > 0) incl = Math.min(incl, iface.snaplen)
                packets.push({ timeMs: NaN, linktype: iface.linktype, data: buf.subarray(body + 4, body + 4 + incl), origLength: orig, index: packets.length })
            }
        }
        o += total
    }
    return { format: "pcapng", packets, warnings }
}

function timestampMs(ts: bigint, iface: Interface): number {
    const sec = ts / iface.unitsPerSecond + iface.offsetSeconds
    const frac = ts % iface.unitsPerSecond
    return Number(sec) * 1000 + (Number(frac) * 1000) / Number(iface.unitsPerSecond)
}

/** Calls fn(code, valueOffset, valueLength) for each option in [p, end) until opt_endofopt. */
function forEachOption(buf: Buffer, p: number, end: number, u16: (o: number) => number, fn: (code: number, p: number, len: number) => void): void {
    while (p + 4 <= end) {
        const code = u16(p)
        const len = u16(p + 2)
        if (code === 0) return
        if (p + 4 + len > end) return
        fn(code, p + 4, len)
        p += 4 + ((len + 3) & ~3)
    }
}

/**
 * Where the IPv4 header starts in a packet of the given link type, or -1
 * when the packet is not IPv4 (ARP, IPv6, ...) or the link type is unknown.
 * Ethernet with 802.1Q/802.1ad tags, raw IP, Linux cooked capture v1 and v2
 * (tcpdump -i any) and BSD loopback are understood.
 */
export function ipv4Offset(linktype: number, d: Buffer): number {
    let off = -1
    if (linktype === LINKTYPE_ETHERNET) {
        let p = 12
        while (p + 2 <= d.length && (d.readUInt16BE(p) === 0x8100 || d.readUInt16BE(p) === 0x88a8)) p += 4
        if (p + 2 <= d.length && d.readUInt16BE(p) === 0x0800) off = p + 2
    } else if (linktype === LINKTYPE_RAW || linktype === LINKTYPE_IPV4 || linktype === 12 || linktype === 14) {
        off = 0
    } else if (linktype === LINKTYPE_LINUX_SLL) {
        if (d.length >= 16 && d.readUInt16BE(14) === 0x0800) off = 16
    } else if (linktype === LINKTYPE_LINUX_SLL2) {
        if (d.length >= 20 && d.readUInt16BE(0) === 0x0800) off = 20
    } else if (linktype === LINKTYPE_NULL || linktype === LINKTYPE_LOOP) {
        // the address family, AF_INET = 2, in the capturing host's byte order (NULL) or network order (LOOP)
        if (d.length >= 4 && (d.readUInt32LE(0) === 2 || d.readUInt32BE(0) === 2)) off = 4
    }
    if (off < 0 || off + 20 > d.length || d[off] >> 4 !== 4) return -1
    return off
}
