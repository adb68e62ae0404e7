// DHCP (RFC 2131 §2, "Protocol Summary"): a BOOTP message (RFC 951) of 236
// fixed bytes, the magic cookie 99.130.83.99, then options (RFC 2132) as
// code, length, value, ended by 255. Only what a client and a small test
// server use is read and written; other options are skipped by their length.
//
//   0 op | 1 htype | 2 hlen | 3 hops | 4 xid(4) | 8 secs(2) | 10 flags(2)
//   12 ciaddr | 16 yiaddr | 20 siaddr | 24 giaddr | 28 chaddr(16)
//   44 sname(64) | 108 file(128) | 236 cookie(4) | 240 options...
//
// The device reads a message through dhcpOption(), one bounded walk of the
// options that also checks the fixed part and the size of every option we
// read; the fixed fields are read in place. DhcpMessage/parseDhcp give the
// whole message as a record, for the test servers and the tests (a client
// image does not carry them). Option overload (52: options in sname/file) is
// not supported: such options are ignored. Every read is bounded by
// [off, off + len).
import { getU16, getU32, setU32 } from "./bytes.js"
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

/**
 * Walks the options of the message at buf[off, off + len) and returns the
 * offset of the value of option `code` (its length is the byte before; the
 * last one when it appears more than once), 0 when it is absent, -1 when the message is malformed: shorter than the
 * fixed part or past the buffer, not Ethernet, no magic cookie, an option
 * running past the end, or an option we read with the wrong size (RFC 2132:
 * 53 one byte; 1, 50, 51, 54, 58, 59 four; 3 and 6 a multiple of four).
 * Those sizes are data: the digit at index `code` of the string below (0:
 * any size; 5: a multiple of 4).
 */
export function dhcpOption(buf: Buffer, off: number, len: number, code: number): number {
    const end = off + len
    if (len < DHCP_FIXED_LEN || end > buf.length || buf[off + 1] !== 1 || buf[off + 2] !== 6 || getU32(buf, off + 236) !== COOKIE) return -1
    let value = 0
    let at = off + DHCP_FIXED_LEN
    while (at < end) {
        const c = buf[at++]
        if (c === 255) break
        if (c === 0) continue // pad
        if (at >= end) return -1
        const n = buf[at++]
        // charCodeAt past the string: NaN on Node, 0 on DeviceScript; both read as "any size"
        const size = "040500500000000000000000000000000000000000000000004401400044".charCodeAt(c) - 48
        if (at + n > end || (size === 5 ? n < 4 || (n & 3) !== 0 : size > 0 && n !== size)) return -1
        if (c === code) value = at
        at += n
    }
    return value
}

/** The value of the 4-byte option `code` (the first address of a list), 0 when absent or malformed. */
export function dhcpU32(buf: Buffer, off: number, len: number, code: number): number {
    const v = dhcpOption(buf, off, len, code)
    return v > 0 ? getU32(buf, v) : 0
}

function putText(buf: Buffer, at: number, s: string): number {
    for (let i = 0; i < s.length; i++) buf[at + i] = s.charCodeAt(i) & 0x7f
    return at + s.length
}

function putU32Option(buf: Buffer, at: number, code: number, v: number): number {
    if (v === 0) return at
    buf[at] = code
    buf[at + 1] = 4
    setU32(buf, at + 2, v)
    return at + 6
}

/**
 * Writes a client's message at buf[0] and returns its length: op 1, xid,
 * the broadcast flag when ciaddr is 0 (we cannot receive unicast before we
 * have an address), ciaddr, chaddr (6 bytes of mac), the cookie; then the
 * options 53, 54 and 50 (when not 0), 61 (type 1 + the MAC, RFC 2132
 * §9.14), 12 (when hostName), the parameter request list 55 (mask, router,
 * DNS, lease, T1, T2; §9.8) and the end, padded to 300 bytes (RFC 1542
 * §2.1: some relays drop shorter ones). buf is zeroed first: it must hold
 * 300 bytes and 300 - 240 + the host name.
 */
export function emitDhcp(buf: Buffer, xid: number, type: DhcpType, ciaddr: number, mac: Buffer, serverId: number, requestedIp: number, hostName: string): number {
    buf.fillAt(0, buf.length, 0)
    putText(buf, 0, "\x01\x01\x06") // BOOTREQUEST, Ethernet, 6-byte addresses
    setU32(buf, 4, xid)
    if (ciaddr === 0) buf[10] = DHCP_BROADCAST >> 8
    setU32(buf, 12, ciaddr)
    buf.blitAt(28, mac, 0, 6)
    setU32(buf, 236, COOKIE)
    let at = putText(buf, DHCP_FIXED_LEN, "5\x01" + String.fromCharCode(type))
    at = putU32Option(buf, at, 54, serverId)
    at = putU32Option(buf, at, 50, requestedIp)
    at = putText(buf, at, "=\x07\x01")
    buf.blitAt(at, mac, 0, 6)
    at += 6
    if (hostName) at = putText(buf, at, "\x0c" + String.fromCharCode(hostName.length) + hostName)
    at = putText(buf, at, "7\x06\x01\x03\x063:;")
    buf[at] = 255
    return Math.max(at + 1, 300)
}

/**
 * A DHCP message's fields and the options we know, for the test servers and
 * the tests. Zero means "absent" for every option (0.0.0.0 is never a valid
 * value for them).
 */
export class DhcpMessage {
    /** 1 BOOTREQUEST, 2 BOOTREPLY */
    op = 0
    xid = 0
    flags = 0
    ciaddr = 0
    yiaddr = 0
    siaddr = 0
    /** Client hardware address (Ethernet: 6 bytes). */
    chaddr = Buffer.alloc(6)
    /** 53 message type */
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
}

/** Reads the message at buf[off, off + len) into out. */
export function parseDhcp(buf: Buffer, off: number, len: number, out: DhcpMessage): Reason {
    if (len < DHCP_FIXED_LEN || off + len > buf.length) return Reason.Truncated
    const t = dhcpOption(buf, off, len, 53)
    out.type = t > 0 ? buf[t] : 0
    if (out.type < DhcpType.Discover || out.type > DhcpType.Inform) return Reason.BadDhcp
    out.op = buf[off]
    out.xid = getU32(buf, off + 4)
    out.flags = getU16(buf, off + 10)
    out.ciaddr = getU32(buf, off + 12)
    out.yiaddr = getU32(buf, off + 16)
    out.siaddr = getU32(buf, off + 20)
    out.chaddr.blitAt(0, buf, off + 28, 6)
    out.subnetMask = dhcpU32(buf, off, len, 1)
    out.router = dhcpU32(buf, off, len, 3)
    out.requestedIp = dhcpU32(buf, off, len, 50)
    out.leaseTime = dhcpU32(buf, off, len, 51)
    out.serverId = dhcpU32(buf, off, len, 54)
    out.t1 = dhcpU32(buf, off, len, 58)
    out.t2 = dhcpU32(buf, off, len, 59)
    out.dnsCount = readDns(buf, off, len, out.dns)
    return Reason.Ok
}

/** Copies up to 3 DNS servers (option 6) into dns; returns how many. */
export function readDns(buf: Buffer, off: number, len: number, dns: number[]): number {
    const v = dhcpOption(buf, off, len, 6)
    let n = 0
    if (v > 0) for (; n < 3 && n * 4 < buf[v - 1]; n++) dns[n] = getU32(buf, v + n * 4)
    return n
}
