// DHCP client (RFC 2131 §4.4, the state diagram of Figure 5), sans-IO on the
// stack's clock: a StackService the stack polls at nextDeadline().
//
//   INIT ─DISCOVER▶ SELECTING ─OFFER/REQUEST▶ REQUESTING ─ACK▶ PROBING ─▶ BOUND
//   INIT-REBOOT (lastIp) ─REQUEST▶ REBOOTING ─ACK▶ PROBING
//   BOUND ─T1▶ RENEWING (unicast) ─T2▶ REBINDING (broadcast) ─lease end▶ INIT
//   NAK anywhere ▶ INIT;  PROBING ─ARP conflict (RFC 5227)▶ DECLINE, INIT after 10 s
//
// Retransmissions (§4.1): 4 s doubling to 64 s, each ±1 s at random; in
// RENEWING and REBINDING half the time left to T2 / the lease end, at least
// 60 s. Our requests ask for broadcast replies (we have no address to receive
// unicast on). Malformed messages are counted as badDhcp; others' replies
// (another xid or MAC) as notForUs.
import { Stack, StackService } from "../stack.js"
import { Net, Signal, SocketHost } from "../socket/socket.js"
import { ArpPacket, ARP_REQUEST } from "../wire/arp.js"
import { DhcpMessage, DhcpType, DHCP_BROADCAST, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, emitDhcp, parseDhcp } from "../wire/dhcp.js"
import { macEquals } from "../wire/bytes.js"
import { Reason } from "../wire/reason.js"

export const enum DhcpState {
    Init,
    Selecting,
    Requesting,
    Rebooting,
    Probing,
    Bound,
    Renewing,
    Rebinding,
}

export const DHCP_STATE_NAMES = ["INIT", "SELECTING", "REQUESTING", "REBOOTING", "PROBING", "BOUND", "RENEWING", "REBINDING"]

export interface DhcpOptions {
    /** Option 12, sent in DISCOVER and REQUEST (letters, digits, '-'; at most 63). */
    hostName?: string
    /** The address of the last lease: INIT-REBOOT asks for it first (RFC 2131 §3.2). */
    lastIp?: number
    /** ARP probes before using an address (RFC 5227 §2.1.1: 3); 0 skips the check. */
    probes?: number
    /** Told when the client gets (true) or loses (false) its lease. */
    onChange?: (bound: boolean) => void
}

const BROADCAST = 0xffffffff
/** RFC 2131 §4.1: the first retransmission after 4 s, doubling up to 64 s. */
const FIRST_RETRY_MS = 4000
const MAX_RETRY_MS = 64000
/** REQUESTs (REQUESTING, REBOOTING) before starting over with a DISCOVER. */
const REQUEST_TRIES = 4
/** RFC 5227 §1.1: PROBE_MIN..PROBE_MAX between probes, ANNOUNCE_WAIT after the last. */
const PROBE_MIN_MS = 1000
const ANNOUNCE_WAIT_MS = 2000
/** RFC 2131 §3.1.5: wait at least 10 s after a DECLINE. */
const DECLINE_WAIT_MS = 10000
/** §4.4.5: at least 60 s between requests while RENEWING/REBINDING. */
const MIN_RENEW_RETRY_MS = 60000

/** @devsWhenUsed */
export class DhcpClient implements StackService {
    state = DhcpState.Init
    /** The lease: our address, mask, router, DNS servers (dnsCount of them), server, lease seconds. */
    ip = 0
    netmask = 0
    router = 0
    dns: number[] = [0, 0, 0]
    dnsCount = 0
    server = 0
    leaseTime = 0
    /** Absolute times (ms) of T1, T2 and the lease's end. */
    t1At = 0
    t2At = 0
    expiresAt = 0
    declines = 0
    /** Raised on every lease change (configured() waits on it). */
    signal: Signal = null
    host: SocketHost = null

    private readonly stack: Stack
    private readonly opts: DhcpOptions
    private readonly tx = new DhcpMessage()
    private readonly rx = new DhcpMessage()
    private readonly buf: Buffer
    private xid = 0
    private deadline = -1
    private tries = 0
    /** The address offered/acknowledged and not yet bound (SELECTING..PROBING). */
    private offered = 0
    private requestAt = 0
    private conflict = false

    constructor(stack: Stack, opts: DhcpOptions) {
        this.stack = stack
        this.opts = opts
        const name = opts.hostName || ""
        this.buf = Buffer.alloc(320 + name.length)
        const self = this
        stack.udpBind(DHCP_CLIENT_PORT, (src, sport, dport, b, off, len, now) => self.input(b, off, len, now))
        stack.onArp = (p: ArpPacket, now: number) => self.arpSeen(p, now)
        stack.services.push(this)
    }

    /** Starts acquiring a lease: INIT-REBOOT when a last address is known, else DISCOVER. */
    start(now: number): void {
        if (this.opts.lastIp > 0) {
            this.offered = this.opts.lastIp >>> 0
            this.server = 0
            this.newXid()
            this.to(DhcpState.Rebooting)
            this.request(now)
        } else this.discover(now)
    }

    nextDeadline(): number {
        return this.deadline
    }

    addressChanged(now: number): void {}

    poll(now: number): void {
        if (this.deadline < 0 || now < this.deadline) return
        const s = this.state
        if (s === DhcpState.Init || s === DhcpState.Selecting) this.discover(now)
        else if (s === DhcpState.Requesting || s === DhcpState.Rebooting) {
            if (this.tries >= REQUEST_TRIES) this.discover(now)
            else this.request(now)
        } else if (s === DhcpState.Probing) this.probe(now)
        else if (now >= this.expiresAt) {
            // §4.4.5: the lease ran out: stop using the address
            this.unbind(now)
            this.discover(now)
        } else if (now >= this.t2At) {
            if (s !== DhcpState.Rebinding) {
                this.to(DhcpState.Rebinding)
                this.newXid()
            }
            this.request(now)
        } else if (now >= this.t1At) {
            if (s === DhcpState.Bound) {
                this.to(DhcpState.Renewing)
                this.newXid()
            }
            this.request(now)
        } else this.deadline = this.t1At
    }

    /** Resolves true once bound (at once if already), false after timeoutMs (0: no timeout). */
    async configured(timeoutMs: number): Promise<boolean> {
        const host = this.host
        const until = timeoutMs ? host.now() + timeoutMs : 0
        while (this.ip === 0) {
            const left = until ? until - host.now() : 0
            if (until && left <= 0) return false
            await host.wait(this.signal, left)
        }
        return true
    }

    // ---- sending ----------------------------------------------------------

    private discover(now: number): void {
        if (this.state !== DhcpState.Selecting) {
            this.newXid()
            this.to(DhcpState.Selecting)
        }
        this.offered = 0
        this.send(DhcpType.Discover, BROADCAST, now)
        this.retryAt(now)
    }

    /** A REQUEST as the state says (RFC 2131 §4.3.2 table 4), with its retransmission time. */
    private request(now: number): void {
        const s = this.state
        this.requestAt = now
        if (s === DhcpState.Renewing || s === DhcpState.Rebinding) {
            this.send(DhcpType.Request, s === DhcpState.Renewing ? this.server : BROADCAST, now)
            const end = s === DhcpState.Renewing ? this.t2At : this.expiresAt
            this.deadline = Math.min(end, now + Math.max(MIN_RENEW_RETRY_MS, (end - now) / 2))
            return
        }
        this.send(DhcpType.Request, BROADCAST, now)
        this.retryAt(now)
    }

    // (random >>> 8) % n: DeviceScript's % is wrong past 2^31
    private retryAt(now: number): void {
        const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS << Math.min(this.tries, 4))
        this.tries++
        this.deadline = now + base - 1000 + ((this.stack.random.nextU32() >>> 8) % 2001)
    }

    private send(type: DhcpType, dst: number, now: number): void {
        const m = this.tx
        const s = this.state
        const renewing = s === DhcpState.Renewing || s === DhcpState.Rebinding
        m.op = 1
        m.xid = this.xid
        m.type = type
        m.flags = renewing ? 0 : DHCP_BROADCAST
        m.ciaddr = renewing ? this.ip : 0
        m.chaddr.blitAt(0, this.stack.mac, 0, 6)
        m.clientId = true
        m.hostName = type === DhcpType.Decline ? null : this.opts.hostName
        // §4.3.2: server id and requested address only when selecting or declining
        const selecting = s === DhcpState.Requesting || type === DhcpType.Decline
        m.serverId = selecting ? this.server : 0
        m.requestedIp = selecting || s === DhcpState.Rebooting ? this.offered : 0
        const len = emitDhcp(m, this.buf, 0)
        this.stack.udpSend(DHCP_CLIENT_PORT, dst, DHCP_SERVER_PORT, this.buf, 0, len, now)
    }

    // ---- receiving --------------------------------------------------------

    private input(b: Buffer, off: number, len: number, now: number): void {
        const m = this.rx
        const r = parseDhcp(b, off, len, m)
        if (r !== Reason.Ok) return this.stack.counters.drop(Reason.BadDhcp)
        if (m.op !== 2 || m.xid !== this.xid || !macEquals(m.chaddr, 0, this.stack.mac, 0)) return this.stack.counters.drop(Reason.NotForUs)
        const s = this.state
        if (m.type === DhcpType.Offer) {
            // §4.4.1: take the first offer
            if (s !== DhcpState.Selecting || m.yiaddr === 0 || m.serverId === 0) return
            this.offered = m.yiaddr
            this.server = m.serverId
            this.tries = 0
            this.to(DhcpState.Requesting)
            this.request(now)
        } else if (m.type === DhcpType.Nak) {
            if (s === DhcpState.Init || s === DhcpState.Selecting || s === DhcpState.Probing || s === DhcpState.Bound) return
            this.unbind(now)
            this.discover(now)
        } else if (m.type === DhcpType.Ack) {
            if (s === DhcpState.Init || s === DhcpState.Selecting || s === DhcpState.Probing || s === DhcpState.Bound || m.yiaddr === 0) return
            this.take(m)
            // a renewal may move us to another address: bind() then changes the stack's
            this.offered = m.yiaddr
            if (s === DhcpState.Renewing || s === DhcpState.Rebinding) return this.bind(now)
            this.tries = 0
            this.conflict = false
            this.to(DhcpState.Probing)
            this.probe(now)
        }
    }

    /** Keeps the lease's parameters; T1/T2 default to 1/2 and 7/8 of the lease (§4.4.5). */
    private take(m: DhcpMessage): void {
        if (m.serverId !== 0) this.server = m.serverId
        const lease = m.leaseTime > 0 ? m.leaseTime : 3600
        this.leaseTime = lease
        const start = this.requestAt
        this.expiresAt = start + lease * 1000
        this.t1At = start + (m.t1 > 0 ? m.t1 : lease / 2) * 1000
        this.t2At = start + (m.t2 > 0 ? m.t2 : (lease * 7) / 8) * 1000
        this.netmask = m.subnetMask !== 0 ? m.subnetMask : 0xffffff00
        this.router = m.router
        this.dnsCount = m.dnsCount
        for (let i = 0; i < 3; i++) this.dns[i] = m.dns[i]
    }

    /** PROBING: RFC 5227 §2.1.1 probes, then bind if nobody claimed the address. */
    private probe(now: number): void {
        const probes = this.opts.probes === undefined ? 3 : this.opts.probes
        if (this.conflict) return
        if (this.tries < probes) {
            this.stack.arpProbe(this.offered)
            this.tries++
            this.deadline = now + (this.tries < probes ? PROBE_MIN_MS + ((this.stack.random.nextU32() >>> 8) % 1000) : ANNOUNCE_WAIT_MS)
            return
        }
        this.bind(now)
    }

    /** RFC 5227 §2.1.1: while probing, any ARP from another host about the address is a conflict. */
    private arpSeen(p: ArpPacket, now: number): void {
        if (this.state !== DhcpState.Probing || this.conflict || macEquals(p.sha, 0, this.stack.mac, 0)) return
        const addr = this.offered
        if (p.spa !== addr && !(p.op === ARP_REQUEST && p.spa === 0 && p.tpa === addr)) return
        this.conflict = true
        this.declines++
        this.send(DhcpType.Decline, BROADCAST, now)
        this.to(DhcpState.Init)
        this.deadline = now + DECLINE_WAIT_MS
    }

    private bind(now: number): void {
        const wasBound = this.ip !== 0
        this.ip = this.offered
        this.to(DhcpState.Bound)
        this.deadline = this.t1At
        this.stack.setAddress(this.ip, this.netmask, this.router, now)
        if (!wasBound) this.changed(true)
    }

    private unbind(now: number): void {
        if (this.ip === 0) return
        this.ip = 0
        this.stack.setAddress(0, 0, 0, now)
        this.changed(false)
    }

    private changed(bound: boolean): void {
        if (this.opts.onChange) this.opts.onChange(bound)
        if (this.host) this.host.raise(this.signal)
    }

    private newXid(): void {
        this.xid = this.stack.random.nextU32()
        this.tries = 0
    }

    private to(s: DhcpState): void {
        if (s !== this.state) this.say(DHCP_STATE_NAMES[this.state] + " -> " + DHCP_STATE_NAMES[s])
        this.state = s
    }

    private say(line: string): void {
        this.stack.say("dhcp: " + line)
    }
}

/**
 * Starts a DHCP client on net's stack (which may start with address 0) and
 * returns it; `await client.configured(ms)` waits for the lease.
 */
export function startDhcp(net: Net, opts: DhcpOptions): DhcpClient {
    const c = new DhcpClient(net.stack, opts)
    c.host = net.host
    c.signal = net.host.newSignal()
    c.start(net.host.now())
    net.host.kick()
    return c
}
