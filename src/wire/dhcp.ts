// DHCP (RFC 2131 §2, "Protocol Summary"): a BOOTP message (RFC 951) of 236
// fixed bytes, the magic cookie 99.130.83.99, then options (RFC 2132) as
// code, length, value, ended by 255. Only what a client and a small test
// server use is read and written; other options are skipped by their length.
//
//   0 op | 1 htype | 2 hlen | 3 hops | 4 xid(4) | 8 secs(2) | 10 flags(2)
//   12 ciaddr | 16 yiaddr | 20 siaddr | 24 giaddr | 28 chaddr(16)
//   44 sname(64) | 108 file(128) | 236 cookie(4) | 240 options...
//
// Option overload (52: options in sname/file) is not supported: such options
// are ignored. Every read is bounded by [off, off + len).
import { getU16, getU32, setU16, setU32 } from "./bytes.js"
import { Reason } from "./reason.js"

export const DHCP_SERVER_PORT = 67
export const DHCP_CLIENT_PORT = 68
/** Fixed part plus the magic cookie. */
export const DHCP_FIXED_LEN = 240
/** RFC 2131 §2: the broadcast bit of `flags`. */
export const DHCP_BROADCAST = 0x8000

/** Message types, option 53 (RFC 2132 §9.6). */
export const enum DhcpType {
    Discover = 1,
    Offer = 2,
    Request = 3,
    Decline = 4,
    Ack = 5,
    Nak = 6,
    Release = 7,
    Inform = 8,
}

const COOKIE = 0x63825363
const MAX_DNS = 3

/**
 * A DHCP message's fields and the options we know. Zero means "absent" for
 * every option (0.0.0.0 is never a valid value for them).
 */
export class DhcpMessage {
    /** 1 BOOTREQUEST, 2 BOOTREPLY */
    op = 0
    xid = 0
    secs = 0
    flags = 0
    ciaddr = 0
    yiaddr = 0
    siaddr = 0
    giaddr = 0
    /** Client hardware address (Ethernet: 6 bytes). */
    chaddr = Buffer.alloc(6)
    /** Option 53. */
    type = 0
    /** 1 subnet mask */
    subnetMask = 0
    /** 3 router (the first) */
    router = 0
    /** 6 DNS servers (up to 3) */
    dns: number[] = [0, 0, 0]
    dnsCount = 0
    /** 50 requested IP address */
    requestedIp = 0
    /** 51 lease time (s) */
    leaseTime = 0
    /** 54 server identifier */
    serverId = 0
    /** 58, 59: renewal (T1) and rebinding (T2) times (s) */
    t1 = 0
    t2 = 0
    /** 12 host name (emit only; a received one is not kept) */
    hostName: string = null
    /** 61 client identifier: emitted as type 1 + chaddr when true */
    clientId = false
}

/** Reads the message at buf[off, off + len) into out. */
export function parseDhcp(buf: Buffer, off: number, len: number, out: DhcpMessage): Reason {
    const end = off + len
    if (len < DHCP_FIXED_LEN || end > buf.length) return Reason.Truncated
    if (buf[off + 1] !== 1 || buf[off + 2] !== 6 || getU32(buf, off + 236) !== COOKIE) return Reason.BadDhcp
    out.op = buf[off]
    out.xid = getU32(buf, off + 4)
    out.secs = getU16(buf, off + 8)
    out.flags = getU16(buf, off + 10)
    out.ciaddr = getU32(buf, off + 12)
    out.yiaddr = getU32(buf, off + 16)
    out.siaddr = getU32(buf, off + 20)
    out.giaddr = getU32(buf, off + 24)
    for (let i = 0; i < 6; i++) out.chaddr[i] = buf[off + 28 + i]
    out.type = out.subnetMask = out.router = out.dnsCount = out.requestedIp = out.leaseTime = out.serverId = out.t1 = out.t2 = 0
    let at = off + DHCP_FIXED_LEN
    while (at < end) {
        const code = buf[at++]
        if (code === 255) break
        if (code === 0) continue // pad
        if (at >= end) return Reason.BadDhcp
        const n = buf[at++]
        if (at + n > end) return Reason.BadDhcp
        // the options we read must have their size (RFC 2132); others are skipped
        const v = n >= 4 ? getU32(buf, at) : 0
        let size = 4
        if (code === 53) {
            size = 1
            out.type = buf[at]
        } else if (code === 1) out.subnetMask = v
        else if (code === 50) out.requestedIp = v
        else if (code === 51) out.leaseTime = v
        else if (code === 54) out.serverId = v
        else if (code === 58) out.t1 = v
        else if (code === 59) out.t2 = v
        else if (code === 3 || code === 6) {
            // lists of addresses: a multiple of 4
            size = n < 4 || n % 4 !== 0 ? -1 : n
            if (code === 3) out.router = v
            else if (size === n) for (let i = 0; i < n && out.dnsCount < MAX_DNS; i += 4) out.dns[out.dnsCount++] = getU32(buf, at + i)
        } else size = n
        if (n !== size) return Reason.BadDhcp
        at += n
    }
    if (out.type < DhcpType.Discover || out.type > DhcpType.Inform) return Reason.BadDhcp
    return Reason.Ok
}

function putU32Option(buf: Buffer, at: number, code: number, v: number): number {
    if (v === 0) return at
    buf[at] = code
    buf[at + 1] = 4
    setU32(buf, at + 2, v)
    return at + 6
}

/**
 * Writes m at buf[off] and returns its length: the fixed part (op, xid,
 * flags, ciaddr, chaddr; the rest zero), then the
 * options a client sends (53, 54, 50, 61, 12 and in requests the parameter
 * request list 55), the end option, and padding to 300 bytes. A server's
 * options (lease, mask, router, DNS) are the host's business (the test
 * server appends them), so the device does not carry their code.
 * The caller's buffer holds at least DHCP_FIXED_LEN + 64 + the host name.
 */
export function emitDhcp(m: DhcpMessage, buf: Buffer, off: number): number {
    buf.fillAt(off, DHCP_FIXED_LEN, 0)
    buf[off] = m.op
    buf[off + 1] = 1 // Ethernet
    buf[off + 2] = 6
    setU32(buf, off + 4, m.xid)
    // secs, yiaddr, siaddr, giaddr stay 0: a client's values (a server sets yiaddr itself)
    setU16(buf, off + 10, m.flags)
    setU32(buf, off + 12, m.ciaddr)
    buf.blitAt(off + 28, m.chaddr, 0, 6)
    setU32(buf, off + 236, COOKIE)
    let at = off + DHCP_FIXED_LEN
    buf[at] = 53
    buf[at + 1] = 1
    buf[at + 2] = m.type
    at += 3
    at = putU32Option(buf, at, 54, m.serverId)
    at = putU32Option(buf, at, 50, m.requestedIp)
    if (m.clientId) {
        // RFC 2132 §9.14: hardware type 1 followed by the MAC
        buf[at] = 61
        buf[at + 1] = 7
        buf[at + 2] = 1
        buf.blitAt(at + 3, m.chaddr, 0, 6)
        at += 9
    }
    if (m.hostName) {
        const n = m.hostName.length
        buf[at] = 12
        buf[at + 1] = n
        for (let i = 0; i < n; i++) buf[at + 2 + i] = m.hostName.charCodeAt(i) & 0x7f
        at += 2 + n
    }
    if (m.op === 1) {
        // RFC 2132 §9.8: mask, router, DNS, lease, T1, T2
        buf[at] = 55
        buf[at + 1] = 6
        buf[at + 2] = 1
        buf[at + 3] = 3
        buf[at + 4] = 6
        buf[at + 5] = 51
        buf[at + 6] = 58
        buf[at + 7] = 59
        at += 8
    }
    buf[at++] = 255
    // RFC 1542 §2.1: some relays drop BOOTP messages shorter than 300 bytes
    const len = at - off
    if (len >= 300) return len
    buf.fillAt(at, 300 - len, 0)
    return 300
}
