// A small DHCP server (RFC 2131 §4.3) on a ds-tcpip Stack, written for the
// tests: a pool of addresses, bindings by MAC, OFFER/ACK/NAK, DECLINE marks
// an address unusable. Knobs let a test make it silent, NAK the next
// requests, or forget its bindings; every message it receives is logged.
import { Stack } from "../stack.js"
import { DhcpMessage, DhcpType, DHCP_BROADCAST, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, emitDhcp, parseDhcp } from "../wire/dhcp.js"
import { macToString } from "../wire/bytes.js"
import { Reason } from "../wire/reason.js"

export interface DhcpServerOptions {
    /** First and last address of the pool (numbers, see parseIp). */
    first: number
    last: number
    netmask: number
    router?: number
    dns?: number[]
    /** Lease seconds (default 3600). */
    leaseTime?: number
    t1?: number
    t2?: number
}

export interface ReceivedDhcp {
    at: number
    type: DhcpType
    xid: number
    mac: string
    ciaddr: number
    requestedIp: number
    serverId: number
    hostName: string
    clientId: boolean
}

export class TestDhcpServer {
    /** Ignore every message (a server that went away). */
    silent = false
    /** NAK this many of the next REQUESTs. */
    nakNext = 0
    /** ACK the next renewal (REQUEST with ciaddr) with this address instead (renumbering); 0: off. */
    renumberTo = 0
    readonly received: ReceivedDhcp[] = []
    readonly sent: { at: number; type: DhcpType; yiaddr: number; dst: number }[] = []
    /** MAC -> address (offered or leased). */
    readonly bindings = new Map<string, number>()
    /** Addresses a client declined. */
    readonly declined = new Set<number>()
    private readonly rx = new DhcpMessage()
    private readonly buf = Buffer.alloc(600)

    constructor(
        readonly stack: Stack,
        readonly opts: DhcpServerOptions,
    ) {
        stack.udpBind(DHCP_SERVER_PORT, (src, sport, dport, b, off, len, now) => this.input(b, off, len, now))
    }

    private input(b: Buffer, off: number, len: number, now: number): void {
        const m = this.rx
        if (parseDhcp(b, off, len, m) !== Reason.Ok || m.op !== 1) return
        const mac = macToString(m.chaddr, 0)
        this.received.push({
            at: now,
            type: m.type,
            xid: m.xid,
            mac,
            ciaddr: m.ciaddr,
            requestedIp: m.requestedIp,
            serverId: m.serverId,
            hostName: optionText(b, off, len, 12),
            clientId: optionText(b, off, len, 61) !== null,
        })
        if (this.silent) return
        const self = this.stack.ip
        if (m.type === DhcpType.Discover) {
            const ip = this.addressFor(mac)
            if (ip) this.reply(m, DhcpType.Offer, ip, now)
        } else if (m.type === DhcpType.Request) {
            if (m.serverId && m.serverId !== self) {
                this.bindings.delete(mac) // the client chose another server
                return
            }
            const want = m.serverId || !m.ciaddr ? m.requestedIp : m.ciaddr
            if (this.renumberTo && m.ciaddr && !m.serverId && this.bindings.get(mac) === m.ciaddr) {
                this.bindings.set(mac, this.renumberTo)
                this.reply(m, DhcpType.Ack, this.renumberTo, now)
                this.renumberTo = 0
                return
            }
            const have = this.bindings.get(mac)
            if (this.nakNext > 0 || !want || have !== want) {
                if (this.nakNext > 0) this.nakNext--
                if (!m.serverId && m.ciaddr === 0 && have === undefined) return // INIT-REBOOT of a client we do not know: stay silent (§4.3.2)
                this.reply(m, DhcpType.Nak, 0, now)
                return
            }
            this.reply(m, DhcpType.Ack, want, now)
        } else if (m.type === DhcpType.Decline) {
            if (m.requestedIp) this.declined.add(m.requestedIp)
            this.bindings.delete(mac)
        } else if (m.type === DhcpType.Release) {
            this.bindings.delete(mac)
        }
    }

    /** The client's address, or the first free one in the pool; 0 when the pool is exhausted. */
    private addressFor(mac: string): number {
        const have = this.bindings.get(mac)
        if (have) return have
        const used = new Set(this.bindings.values())
        for (let ip = this.opts.first; ip <= this.opts.last; ip++) {
            if (used.has(ip) || this.declined.has(ip)) continue
            this.bindings.set(mac, ip)
            return ip
        }
        return 0
    }

    private reply(req: DhcpMessage, type: DhcpType, yiaddr: number, now: number): void {
        const o = this.opts
        const buf = this.buf.subarray(0, 300)
        // the client's emitter writes the fixed part, 53 and 54; a reply's fields go over it
        emitDhcp(buf, req.xid, type, 0, req.chaddr, this.stack.ip, 0, null)
        buf[0] = 2 // BOOTREPLY
        buf.writeUInt16BE(req.flags, 10)
        buf.writeUInt32BE(type === DhcpType.Ack ? req.ciaddr >>> 0 : 0, 12)
        buf.writeUInt32BE(yiaddr >>> 0, 16)
        const full = type !== DhcpType.Nak
        const len = appendServerOptions(
            {
                leaseTime: full ? o.leaseTime ?? 3600 : 0,
                t1: full ? o.t1 ?? 0 : 0,
                t2: full ? o.t2 ?? 0 : 0,
                subnetMask: full ? o.netmask : 0,
                router: full ? o.router ?? 0 : 0,
                dns: full ? (o.dns ?? []).slice(0, 3) : [],
            },
            this.buf,
        )
        // RFC 2131 §4.1: broadcast when the client has no address or asked for it; NAKs are broadcast
        const dst = type === DhcpType.Nak || req.flags & DHCP_BROADCAST || !req.ciaddr ? 0xffffffff : req.ciaddr
        this.sent.push({ at: now, type, yiaddr, dst })
        this.stack.udpSend(DHCP_SERVER_PORT, dst, DHCP_CLIENT_PORT, this.buf, 0, len, now)
    }
}

/**
 * Writes the server's options (51 lease, 58/59 T1/T2, 1 mask, 3 router,
 * 6 DNS) after 53 and 54 (where the client's options began), then the end;
 * returns the length (at least 300).
 */
function appendServerOptions(m: { leaseTime: number; t1: number; t2: number; subnetMask: number; router: number; dns: number[] }, buf: Buffer): number {
    let at = 240 + 3 + 6
    const put = (code: number, values: number[]) => {
        const vs = values.filter((v) => v)
        if (!vs.length) return
        buf[at] = code
        buf[at + 1] = 4 * vs.length
        vs.forEach((v, i) => buf.writeUInt32BE(v >>> 0, at + 2 + 4 * i))
        at += 2 + 4 * vs.length
    }
    put(51, [m.leaseTime])
    put(58, [m.t1])
    put(59, [m.t2])
    put(1, [m.subnetMask])
    put(3, [m.router])
    put(6, m.dns)
    buf[at++] = 255
    buf.fill(0, at, 300)
    return Math.max(at, 300)
}

/** The value of option `code` as latin1 text, or null (test bookkeeping, not a parser the stack uses). */
function optionText(b: Buffer, off: number, len: number, code: number): string {
    let at = off + 240
    const end = off + len
    while (at + 1 < end) {
        const c = b[at]
        if (c === 255) break
        if (c === 0) {
            at++
            continue
        }
        const n = b[at + 1]
        if (c === code) return b.toString("latin1", at + 2, Math.min(end, at + 2 + n))
        at += 2 + n
    }
    return null
}
