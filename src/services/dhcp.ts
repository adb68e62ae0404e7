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
import { DhcpType, DHCP_CLIENT_PORT, DHCP_SERVER_PORT, dhcpOption, dhcpU32, emitDhcp, readDns } from "../wire/dhcp.js"
import { getU32, macEquals } from "../wire/bytes.js"
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
/** The states whose requests an ACK or NAK answers, one bit each: REQUESTING, REBOOTING, RENEWING, REBINDING. */
const ASKING = 0xcc
/** The states that start a new exchange (a new xid): SELECTING, REBOOTING, RENEWING, REBINDING. */
const NEW_XID = 0xca

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
    /** Raised on every lease change (configured() waits on it); both set by startDhcp. */
    signal: Signal
    host: SocketHost

    private readonly stack: Stack
    private readonly opts: DhcpOptions
    private readonly buf: Buffer
    // set before they are read: by start(), to() and the replies
    private xid: number
    private deadline = -1
    private tries: number
    /** The address offered/acknowledged and not yet bound (REQUESTING..PROBING). */
    private offered: number
    private requestAt: number

    constructor(stack: Stack, opts: DhcpOptions) {
        this.stack = stack
        this.opts = opts
        this.buf = Buffer.alloc(300 + (opts.hostName || "").length)
        const self = this
        stack.udpBind(DHCP_CLIENT_PORT, (src, sport, dport, b, off, len, now) => {
            const me = self
            // one walk checks the message; malformed ones are counted as badDhcp, others' replies (another xid or MAC) as notForUs
            const t = dhcpOption(b, off, len, 53)
            const type = t > 0 ? b[t] : 0
            if (type < DhcpType.Discover || type > DhcpType.Inform) return stack.counters.drop(Reason.BadDhcp)
            if (b[off] !== 2 || getU32(b, off + 4) !== me.xid || !macEquals(b, off + 28, stack.mac, 0)) return stack.counters.drop(Reason.NotForUs)
            const s = me.state
            const yiaddr = getU32(b, off + 16)
            const serverId = dhcpU32(b, off, len, 54)
            if (type === DhcpType.Offer) {
                // §4.4.1: take the first offer
                if (s !== DhcpState.Selecting || yiaddr === 0 || serverId === 0) return
                me.offered = yiaddr
                me.server = serverId
                me.to(DhcpState.Requesting)
                return me.send(now)
            }
            // ACK and NAK answer our REQUESTs only: REQUESTING, REBOOTING, RENEWING, REBINDING
            if (((ASKING >> s) & 1) === 0) return
            if (type === DhcpType.Nak) {
                me.use(0, now)
                me.to(DhcpState.Selecting)
                return me.send(now)
            }
            if (type !== DhcpType.Ack || yiaddr === 0) return
            // the lease's parameters; T1/T2 default to 1/2 and 7/8 of the lease (§4.4.5)
            if (serverId !== 0) me.server = serverId
            const lease0 = dhcpU32(b, off, len, 51)
            const lease = lease0 > 0 ? lease0 : 3600
            const t1 = dhcpU32(b, off, len, 58)
            const t2 = dhcpU32(b, off, len, 59)
            const start = me.requestAt
            me.leaseTime = lease
            me.expiresAt = start + lease * 1000
            me.t1At = start + (t1 > 0 ? t1 : lease / 2) * 1000
            me.t2At = start + (t2 > 0 ? t2 : (lease * 7) / 8) * 1000
            const mask = dhcpU32(b, off, len, 1)
            me.netmask = mask !== 0 ? mask : 0xffffff00
            me.router = dhcpU32(b, off, len, 3)
            me.dnsCount = readDns(b, off, len, me.dns)
            // a renewal may move us to another address: use() then changes the stack's
            me.offered = yiaddr
            if (s >= DhcpState.Renewing) return me.use(yiaddr, now)
            me.to(DhcpState.Probing)
            me.deadline = now
            me.poll(now)
        })
        // RFC 5227 §2.1.1: while probing, any ARP from another host about the address is a conflict: DECLINE, INIT after 10 s
        stack.onArp = (p: ArpPacket, now: number) => {
            const addr = self.offered
            if (self.state !== DhcpState.Probing || macEquals(p.sha, 0, stack.mac, 0)) return
            if (p.spa !== addr && !(p.op === ARP_REQUEST && p.spa === 0 && p.tpa === addr)) return
            self.declines++
            self.to(DhcpState.Init)
            self.send(now)
        }
        stack.services.push(this)
    }

    /** Starts acquiring a lease: INIT-REBOOT when a last address is known, else DISCOVER. */
    start(now: number): void {
        const last = this.opts.lastIp
        if (last > 0) {
            this.offered = last >>> 0
            this.server = 0
        }
        this.to(last > 0 ? DhcpState.Rebooting : DhcpState.Selecting)
        this.send(now)
    }

    nextDeadline(): number {
        return this.deadline
    }

    addressChanged(now: number): void {}

    poll(now: number): void {
        if (this.deadline < 0 || now < this.deadline) return
        const s = this.state
        if (s === DhcpState.Probing) {
            // RFC 5227 §2.1.1 probes, then bind if nobody claimed the address
            const probes = this.opts.probes === undefined ? 3 : this.opts.probes
            if (this.tries >= probes) return this.use(this.offered, now)
            this.stack.arpProbe(this.offered)
            this.deadline = now + (++this.tries < probes ? PROBE_MIN_MS + ((this.stack.random.nextU32() >>> 8) % 1000) : ANNOUNCE_WAIT_MS)
            return
        }
        if (s >= DhcpState.Bound) {
            if (now < this.expiresAt) {
                if (now < this.t1At) {
                    this.deadline = this.t1At
                    return
                }
                // T2: REBINDING (broadcast); T1: RENEWING (unicast to the server)
                this.to(now >= this.t2At ? DhcpState.Rebinding : Math.max(s, DhcpState.Renewing))
                return this.send(now)
            }
            // §4.4.5: the lease ran out: stop using the address, start over
            this.use(0, now)
        }
        // INIT, SELECTING, or REQUESTING/REBOOTING out of tries: DISCOVER; else the REQUEST again
        if ((s !== DhcpState.Requesting && s !== DhcpState.Rebooting) || this.tries >= REQUEST_TRIES) this.to(DhcpState.Selecting)
        this.send(now)
    }

    /** Resolves true once bound (at once if already), false after timeoutMs (0: no timeout). */
    async configured(timeoutMs: number): Promise<boolean> {
        const host = this.host
        const until = timeoutMs ? host.now() + timeoutMs : 0
        while (this.ip === 0) {
            const left = until ? until - host.now() : 0
            if (until && left <= 0) return false
            await host.waitFor(this.signal, left)
        }
        return true
    }

    /**
     * Sends what the state calls for (RFC 2131 §4.3.2 table 4) and sets the
     * retransmission time: SELECTING a DISCOVER; REQUESTING, REBOOTING,
     * RENEWING (unicast) and REBINDING a REQUEST; INIT (after a conflict) a
     * DECLINE, then DISCOVER again after 10 s.
     */
    private send(now: number): void {
        const s = this.state
        const renewing = s >= DhcpState.Renewing
        // server id and requested address only when selecting (REQUESTING) or declining (INIT); the address also when rebooting
        const selecting = s === DhcpState.Requesting || s === DhcpState.Init
        const len = emitDhcp(
            this.buf,
            this.xid,
            "41330033".charCodeAt(s) - 48,
            renewing ? this.ip : 0,
            this.stack.mac,
            selecting ? this.server : 0,
            selecting || s === DhcpState.Rebooting ? this.offered : 0,
            s === DhcpState.Init ? null : this.opts.hostName,
        )
        this.stack.udpSend(DHCP_CLIENT_PORT, s === DhcpState.Renewing ? this.server : BROADCAST, DHCP_SERVER_PORT, this.buf, 0, len, now)
        if (s !== DhcpState.Selecting) this.requestAt = now
        if (renewing) {
            const end = s === DhcpState.Renewing ? this.t2At : this.expiresAt
            this.deadline = Math.min(end, now + Math.max(MIN_RENEW_RETRY_MS, (end - now) / 2))
        } else if (s === DhcpState.Init) this.deadline = now + DECLINE_WAIT_MS
        else {
            // 4 s doubling to 64 s, ±1 s; (random >>> 8) % n: DeviceScript's % is wrong past 2^31
            this.deadline = now + Math.min(MAX_RETRY_MS, FIRST_RETRY_MS << Math.min(this.tries, 4)) - 1000 + ((this.stack.random.nextU32() >>> 8) % 2001)
            this.tries++
        }
    }

    /** Uses addr as our address (BOUND), or none (0); tells the application when we gain or lose one. */
    private use(addr: number, now: number): void {
        const had = this.ip !== 0
        const has = addr !== 0
        if (!has && !had) return
        this.ip = addr
        if (has) {
            this.to(DhcpState.Bound)
            this.deadline = this.t1At
        }
        this.stack.setAddress(addr, has ? this.netmask : 0, has ? this.router : 0, now)
        if (had !== has) {
            if (this.opts.onChange) this.opts.onChange(has)
            if (this.host) this.host.raise(this.signal)
        }
    }

    /** A new state; a new exchange (and xid) for SELECTING, REBOOTING, RENEWING and REBINDING. */
    private to(s: DhcpState): void {
        if (s === this.state) return
        this.stack.say("dhcp: " + DHCP_STATE_NAMES[this.state] + " -> " + DHCP_STATE_NAMES[s])
        this.state = s
        this.tries = 0
        if ((NEW_XID >> s) & 1) this.xid = this.stack.random.nextU32()
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
