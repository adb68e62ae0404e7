// ARP for IPv4 over Ethernet, RFC 826 ("Packet format"): hardware type 1
// (Ethernet), protocol type 0x0800, address lengths 6 and 4, opcode 1 (request)
// or 2 (reply), then sender MAC/IP and target MAC/IP: 28 bytes.
import { getU32, setU16, setU32 } from "./bytes.js"
import { Reason } from "./reason.js"

export const ARP_LEN = 28
export const ARP_REQUEST = 1
export const ARP_REPLY = 2
export const ARP_HTYPE_ETHERNET = 1

/** @devsWhenUsed */
export class ArpPacket {
    op = 0
    /** sender hardware address */
    sha: Buffer = Buffer.alloc(6)
    /** sender protocol (IPv4) address */
    spa = 0
    /** target hardware address */
    tha: Buffer = Buffer.alloc(6)
    /** target protocol (IPv4) address */
    tpa = 0
}

export function parseArp(buf: Buffer, off: number, len: number, out: ArpPacket): Reason {
    if (len < ARP_LEN || off + ARP_LEN > buf.length) return Reason.Truncated
    // hardware type 1, protocol 0x0800, lengths 6 and 4: bytes 00 01 08 00 06 04, read as little-endian words
    if (buf.getAt(off, "u32") !== 0x00080100 || buf.getAt(off + 4, "u16") !== 0x0406) return Reason.BadArp
    const op = (buf[off + 6] << 8) | buf[off + 7]
    if (op !== ARP_REQUEST && op !== ARP_REPLY) return Reason.BadArp
    out.op = op
    out.sha.blitAt(0, buf, off + 8, 6)
    out.spa = getU32(buf, off + 14)
    out.tha.blitAt(0, buf, off + 18, 6)
    out.tpa = getU32(buf, off + 24)
    return Reason.Ok
}

export function emitArp(p: ArpPacket, buf: Buffer, off: number): number {
    setU16(buf, off, ARP_HTYPE_ETHERNET)
    setU16(buf, off + 2, 0x0800)
    buf[off + 4] = 6
    buf[off + 5] = 4
    setU16(buf, off + 6, p.op)
    buf.blitAt(off + 8, p.sha, 0, 6)
    setU32(buf, off + 14, p.spa)
    buf.blitAt(off + 18, p.tha, 0, 6)
    setU32(buf, off + 24, p.tpa)
    return ARP_LEN
}
