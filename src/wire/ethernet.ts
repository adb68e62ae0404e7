// Ethernet II framing (IEEE 802.3 clause 3.2.6 / RFC 894): destination MAC,
// source MAC, EtherType. The FCS is stripped by the MAC and never seen here.
import { getU16, setU16 } from "./bytes.js"
import { Reason } from "./reason.js"

export const ETH_HEADER_LEN = 14
export const ETHERTYPE_IPV4 = 0x0800
export const ETHERTYPE_ARP = 0x0806
/** EtherType values below this are 802.3 length fields, not types. */
export const ETHERTYPE_MIN = 0x0600

/** @devsWhenUsed */
export class EthernetHeader {
    dst: Buffer = Buffer.alloc(6)
    src: Buffer = Buffer.alloc(6)
    etherType = 0
}

/** Reads the 14-byte header at buf[off]; the payload starts at off + ETH_HEADER_LEN. */
export function parseEthernet(buf: Buffer, off: number, len: number, out: EthernetHeader): Reason {
    if (len < ETH_HEADER_LEN || off + ETH_HEADER_LEN > buf.length) return Reason.Truncated
    const type = getU16(buf, off + 12)
    if (type < ETHERTYPE_MIN) return Reason.BadEtherType
    out.dst.blitAt(0, buf, off, 6)
    out.src.blitAt(0, buf, off + 6, 6)
    out.etherType = type
    return Reason.Ok
}

export function emitEthernet(h: EthernetHeader, buf: Buffer, off: number): number {
    buf.blitAt(off, h.dst, 0, 6)
    buf.blitAt(off + 6, h.src, 0, 6)
    setU16(buf, off + 12, h.etherType)
    return ETH_HEADER_LEN
}
