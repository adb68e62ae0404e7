// The TCP engine: a fixed pool of connections, listeners with a bounded
// backlog and SYN cookies, segment arrival per RFC 9293 §3.10.7, output with
// flow and congestion control, and the timers. Sans-IO like the rest of the
// core: segments come in through input(), time through poll(now), and
// segments leave through the host's ipSend().
//
// Call flow:
//   input ─▶ find connection ─▶ segmentArrives (§3.10.7.4, synchronized states)
//         │                 └─▶ synSentArrives (§3.10.7.3)
//         ├▶ listener ───────▶ listenArrives (§3.10.7.2, SYN cookies)
//         └▶ nothing ────────▶ RST (§3.10.7.1)
//   poll ──▶ timers: retransmission, persist, delayed ACK, keep-alive, idle, TIME-WAIT
//   output ─▶ as many segments as window, cwnd, Nagle and tcpBurst allow ─▶ sendSegment
//
// What is not done (see README): window scaling, timestamps and SACK are not
// offered, so peers never use them (RFC 7323 §2.2, RFC 2018 §2); urgent data
// is delivered as ordinary data; data carried on a SYN is not accepted (the
// peer sends it again after the handshake).

import { Limits } from "../config.js"
import { RandomSource } from "../random.js"
import { Reason } from "../wire/reason.js"
import { ipToString } from "../wire/bytes.js"
import { seqAdd, seqDiff, seqGt, seqLeq, seqLt } from "../wire/seq.js"
import { TcpHeader, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, emitTcpMss, parseTcp } from "../wire/tcp.js"
import { TcpConnection, OFF } from "./connection.js"
import { Assembler } from "./assembler.js"
import { TcpError, TcpState, TCP_STATE_NAMES } from "./state.js"
import { HalfSipHash, initialSequenceNumber } from "./isn.js"

export const IP_PROTO_TCP = 6
const IPV4_HEADER = 20
const TCP_HEADER = 20
/** RFC 9293 §3.7.1: the MSS a peer is assumed to take when it sends no option. */
const DEFAULT_MSS = 536
/** SYN-cookie MSS values (3 bits of the cookie). */
const COOKIE_MSS: number[] = [536, 1200, 1400, 1460]
/** Segments ACKed at once (no delayed ACK) after out-of-order data or a filled gap. */
const QUICK_ACKS = 16
/** A SYN-cookie time slot: 64 s; a cookie stays valid for this slot and the one before. */
const COOKIE_SLOT_MS = 64000
/** At most one answer per this interval to a connection's invalid pure ACKs (RFC 5961 §10; Linux's tcp_invalid_ratelimit). */
const INVALID_ACK_INTERVAL_MS = 500

/** What the engine needs from the IP layer below it. */
export interface TcpHost {
    /** The frame buffer segments are written into, at `l4Offset`. */
    readonly tx: Buffer
    readonly l4Offset: number
    /** Our address. */
    localIp: () => number
    /** Sends the IP packet whose payload (l4Length bytes) is at tx[l4Offset]. */
    ipSend: (dst: number, protocol: number, l4Length: number, now: number) => boolean
    /** Counts a dropped segment. */
    drop: (reason: Reason) => void
}

/** @devsWhenUsed */
export class TcpListener {
    readonly index: number
    inUse = false
    port = 0
    backlog = 0
    /** Called when a connection is ready to accept. */
    onEvent: (l: TcpListener) => void = null
    constructor(index: number) {
        this.index = index
    }
}

/** The engine's counters (/status reports them). */
export interface TcpCounters {
    activeOpens: number
    passiveOpens: number
    segmentsIn: number
    segmentsOut: number
    retransmits: number
    fastRetransmits: number
    timeouts: number
    resetsSent: number
    resetsReceived: number
    challengeAcks: number
    synCookiesSent: number
    synCookiesAccepted: number
    keepAliveProbes: number
    zeroWindowProbes: number
    timeWaitReclaimed: number
    halfOpenEvicted: number
    /** Connections reset to make room for a new one (see Tcp.reclaimAt). */
    idleReclaimed: number
    connectionsRefusedNoSlot: number
}

/**
 * TcpCounters with every count 0, parsed where a TcpCounters is made. Data, not
 * code: the VM's native JSON.parse reads a string literal, which costs no
 * code bytes (a class would be a constructor storing each field).
 */
const TCP_COUNTERS_ZERO = '{"activeOpens":0,"passiveOpens":0,"segmentsIn":0,"segmentsOut":0,"retransmits":0,"fastRetransmits":0,"timeouts":0,"resetsSent":0,"resetsReceived":0,"challengeAcks":0,"synCookiesSent":0,"synCookiesAccepted":0,"keepAliveProbes":0,"zeroWindowProbes":0,"timeWaitReclaimed":0,"halfOpenEvicted":0,"idleReclaimed":0,"connectionsRefusedNoSlot":0}'

/** @devsWhenUsed */
export class Tcp {
    readonly pool: TcpConnection[] = []
    readonly listeners: TcpListener[] = []
    readonly counters: TcpCounters = JSON.parse(TCP_COUNTERS_ZERO)
    /**
     * Chooses initial sequence numbers. RFC 6528 (keyed hash + 4 µs clock) by
     * default; tests replace it to reproduce a trace with known numbers.
     */
    isn: (localIp: number, localPort: number, remoteIp: number, remotePort: number, now: number) => number
    /**
     * By connection id: from this time on (OFF: never) the user lets the
     * connection be reset to make room for a new one when the pool is full
     * (see allocate); a server sets it while it waits for a request. Kept
     * here, not in TcpConnection: each field there costs every connection
     * more heap (a connection's fields grow as a map).
     */
    readonly reclaimAt: number[] = []
    /** Called whenever a connection slot is freed (sockets waiting for one wake up). */
    onSlotFreed: () => void = null
    /** Called on every state change, for traces: "SYN-SENT -> ESTABLISHED". */
    onStateChange: (conn: TcpConnection, from: TcpState, to: TcpState) => void = null

    private readonly limits: Limits
    private readonly host: TcpHost
    private readonly hasher: HalfSipHash
    private readonly seg = new TcpHeader()
    /** The output record: only the fields emit() sets change (our only option is the MSS, on a SYN). */
    private readonly out = new TcpHeader()
    /** The source address of the segment input() is processing: replies without a connection go there. */
    private segSrc = 0
    private readonly ourMss: number
    private nextPort: number
    private queueOrder = 0
    private challengeTokens: number
    private challengeAt = 0
    /** By connection id: when we last answered an invalid pure ACK (answerInvalid). */
    private readonly invalidAckAt: number[] = []
    /** Time the last SYN cookie was sent; cookies are only checked while recent. */
    private cookieSentAt = -1
    /** sendCookie and acceptCookie once enableSynCookies() was called; unset (no initializer: no code) otherwise. */
    private cookieOut: (src: number, dst: number, now: number) => void
    private cookieIn: (l: TcpListener, frame: Buffer, dataOff: number, dataLen: number, src: number, dst: number, now: number) => boolean
    /**
     * armKeepAlive and keepAliveTimeout, installed by the first armKeepAlive
     * (a socket's setKeepAlive or setIdleTimeout): until then no connection
     * can have a keep-alive or idle timer, and an image that never asks for
     * one carries none of that code (about 0.5 KB).
     */
    private keepArm: (c: TcpConnection, now: number) => void
    private keepTimer: (c: TcpConnection, now: number) => void

    constructor(limits: Limits, host: TcpHost, random: RandomSource) {
        this.limits = limits
        this.host = host
        const hasher = new HalfSipHash(random.nextU32(), random.nextU32())
        this.hasher = hasher
        this.isn = (localIp: number, localPort: number, remoteIp: number, remotePort: number, now: number) =>
            initialSequenceNumber(hasher, localIp, localPort, remoteIp, remotePort, now)
        this.ourMss = limits.mtu - IPV4_HEADER - TCP_HEADER
        this.nextPort = 49152 + (random.nextU32() % 16384)
        this.challengeTokens = limits.tcpChallengeAcksPerSecond
        for (let i = 0; i < limits.tcpConnections; i++) {
            this.pool.push(new TcpConnection(i, limits))
            this.reclaimAt.push(OFF)
            this.invalidAckAt.push(0)
        }
        for (let i = 0; i < limits.tcpListeners; i++) this.listeners.push(new TcpListener(i))
    }

    // ==== user calls ========================================================

    /**
     * SYN cookies (pluggable): a SYN that finds the listener's backlog or the
     * pool full is answered with a SYN,ACK that keeps no state, and an ACK
     * carrying a valid cookie becomes a connection (displacing the oldest
     * half-open one). Without them such a SYN is dropped (the peer retries).
     * An image that never calls this carries none of it: about 1.4 KB of
     * bytecode (sendCookie, acceptCookie, cookieHash, evictHalfOpen,
     * HalfSipHash.hash3). The demo and the host runners turn them on.
     */
    enableSynCookies(): void {
        this.cookieOut = this.sendCookie
        this.cookieIn = this.acceptCookie
    }

    /**
     * Out-of-order reassembly (pluggable): data beyond a gap is kept in the
     * receive ring (up to tcpOutOfOrderRanges ranges per connection) and
     * delivered once the gap fills. Without it such data is dropped and
     * answered with a duplicate ACK, and the sender retransmits from the gap:
     * with the default 2 KB receive ring at most one segment fits beyond a
     * gap anyway. An image that never calls this carries no Assembler (about
     * 0.9 KB of bytecode, and its ranges on the heap). The demo and the host
     * runners turn it on.
     */
    enableOutOfOrder(): void {
        for (const c of this.pool) if (!c.ooo) c.ooo = new Assembler(this.limits.tcpOutOfOrderRanges)
    }

    /** Starts listening on port; null when the port is taken or no listener slot is free. */
    listen(port: number, backlog: number): TcpListener {
        if (port <= 0 || port > 0xffff || this.findListener(port)) return null
        for (const l of this.listeners) {
            if (l.inUse) continue
            l.inUse = true
            l.port = port
            l.backlog = backlog > 0 ? backlog : this.limits.tcpBacklog
            l.onEvent = null
            return l
        }
        return null
    }

    /** Stops listening; connections not yet accepted are reset. */
    unlisten(l: TcpListener, now: number): void {
        if (!l.inUse) return
        for (const c of this.pool) if (c.inUse && c.listener === l.index) this.abort(c, now)
        l.inUse = false
        l.onEvent = null
    }

    /** The oldest established connection waiting on l, now owned by the caller; null when none. */
    accept(l: TcpListener): TcpConnection {
        let best: TcpConnection = null
        for (const c of this.pool) {
            if (!c.inUse || c.listener !== l.index || !c.queued) continue
            if (!best || c.acceptOrder < best.acceptOrder) best = c
        }
        if (!best) return null
        best.queued = false
        best.listener = -1
        best.userOwned = true
        return best
    }

    /** Active open (RFC 9293 §3.10.1): sends a SYN. Null when no connection slot is free. */
    connect(remoteIp: number, remotePort: number, now: number): TcpConnection {
        const c = this.allocate(now, 0)
        if (!c) {
            this.counters.connectionsRefusedNoSlot++
            return null
        }
        c.userOwned = true
        const ip = this.host.localIp()
        const port = this.ephemeralPort(remoteIp, remotePort)
        const rip = remoteIp >>> 0
        this.open(c, ip, port, rip, remotePort, this.isn(ip, port, rip, remotePort, now) >>> 0)
        c.sndMss = this.mssFor(0)
        this.counters.activeOpens++
        this.setState(c, TcpState.SynSent)
        this.sendSyn(c, now)
        return c
    }

    /**
     * Cork (RFC 1122 §4.2.2.2's "push" in reverse, Linux's TCP_CORK): while
     * corked only full segments go out; uncorking pushes what is queued at
     * once, Nagle or not. A response written in pieces (head, body, chunk
     * framing) thus leaves as few full segments as possible and never waits
     * on the peer's delayed ACK.
     */
    cork(c: TcpConnection): void {
        c.corked = true
    }

    uncork(c: TcpConnection, now: number): void {
        if (!c.corked) return
        c.corked = false
        this.push(c)
        this.output(c, now)
    }

    /** Queues data; returns the bytes taken (0 when the ring is full or sending is shut down). */
    send(c: TcpConnection, buf: Buffer, off: number, len: number, now: number): number {
        if (!this.canSend(c)) return 0
        const n = c.sendRing.write(buf, off, len)
        if (n > 0) c.lastActivity = now
        // The writer will wait for room: push what is queued, corked or not,
        // as Linux's tcp_sendmsg does before it sleeps. Otherwise a window
        // below one MSS (or a ring below one) would hold a corked writer
        // until the retransmission timer.
        if (n < len) this.push(c)
        if (len > 0) this.output(c, now) // data queued, or a push owed
        return n
    }

    /** Everything queued is pushed: it goes out whatever Nagle and cork say. */
    private push(c: TcpConnection): void {
        c.pushUpTo = seqAdd(c.sndUna, c.sendRing.length + (synAcked(c) ? 0 : 1))
    }

    /** Reads received data; returns the bytes read (0 when none: see readable/finReceived). */
    recv(c: TcpConnection, buf: Buffer, off: number, len: number, now: number): number {
        const n = c.recvRing.read(buf, off, len)
        if (n > 0) {
            c.lastActivity = now
            // RFC 1122 §4.2.3.3: after a read, an update when the window opened
            // by at least the SWS step, min(half the ring, one MSS). (Sending it
            // only when the window had fallen below half, Linux's rule, cut ACKs
            // so much that throughput under 5% loss fell to a third in the
            // simulator: these updates also clock the sender.)
            const s = c.state
            if (s === TcpState.Established || s === TcpState.FinWait1 || s === TcpState.FinWait2) {
                if (this.windowToAdvertise(c) - ((c.rcvAdv - c.rcvNxt) | 0) > 0) {
                    c.ackNow = true
                    this.output(c, now)
                }
            }
        }
        return n
    }

    /** Shuts down sending (RFC 9293 §3.10.4): a FIN follows the queued data. */
    shutdown(c: TcpConnection, now: number): void {
        if (c.finQueued) return
        const s = c.state
        if (s === TcpState.SynSent) {
            this.toClosed(c, TcpError.None)
            return
        }
        if (s !== TcpState.SynReceived && s !== TcpState.Established && s !== TcpState.CloseWait) return
        c.finQueued = true
        if (s === TcpState.CloseWait) this.setState(c, TcpState.LastAck)
        else if (s === TcpState.Established) this.setState(c, TcpState.FinWait1)
        // SYN-RECEIVED: FIN-WAIT-1 once the handshake completes (RFC 9293 §3.10.4)
        this.output(c, now)
    }

    /**
     * The user is done with the connection. Unread data makes it a reset
     * (RFC 2525 §2.17); otherwise the close is graceful and the stack keeps
     * the slot until the connection reaches CLOSED.
     */
    close(c: TcpConnection, now: number): void {
        if (!c.inUse) return
        c.userOwned = false
        c.onEvent = null
        if (c.recvRing.length > 0 && c.state !== TcpState.Closed && c.state !== TcpState.TimeWait) {
            this.abort(c, now)
            return
        }
        if (c.state === TcpState.Closed) {
            this.free(c)
            return
        }
        this.shutdown(c, now)
        if (c.inUse && c.state === TcpState.FinWait2 && c.timeWaitAt === OFF) c.timeWaitAt = now + 2 * this.limits.tcpMslMs
    }

    /** Resets the connection (RFC 9293 §3.10.5) and frees it unless the user still holds it. */
    abort(c: TcpConnection, now: number): void {
        if (!c.inUse) return
        const s = c.state
        if (s === TcpState.SynReceived || s === TcpState.Established || s === TcpState.FinWait1 || s === TcpState.FinWait2 || s === TcpState.CloseWait) {
            this.abortWith(c, TcpError.Aborted, now)
        } else this.toClosed(c, TcpError.Aborted)
    }

    canSend(c: TcpConnection): boolean {
        const s = c.state
        return !c.finQueued && (s === TcpState.SynSent || s === TcpState.SynReceived || s === TcpState.Established || s === TcpState.CloseWait)
    }

    // ==== runner calls ======================================================

    /** A TCP segment addressed to us (IP already validated). */
    input(frame: Buffer, off: number, len: number, src: number, dst: number, now: number): void {
        const seg = this.seg
        const r = parseTcp(frame, off, len, src, dst, seg)
        if (r !== Reason.Ok) return this.host.drop(r)
        this.segSrc = src
        this.counters.segmentsIn++
        const dataOff = off + seg.headerLength
        const dataLen = len - seg.headerLength
        let c = this.find(src, seg.srcPort, seg.dstPort)
        let issFloor = -1
        if (c && c.state === TcpState.TimeWait && (seg.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN && seqGt(seg.seq, c.rcvNxt)) {
            // RFC 9293 §3.10.7.4 / RFC 1122 §4.2.2.13: a new SYN may reopen a
            // connection in TIME-WAIT when its sequence number is beyond the
            // old one's; our new ISS starts above the old sequence space.
            issFloor = seqAdd(c.sndNxt, 65537)
            this.free(c)
            c = null
        }
        if (c) {
            if (c.state === TcpState.SynSent) this.synSentArrives(c, now)
            else this.segmentArrives(c, frame, dataOff, dataLen, now)
            if (c.inUse) this.output(c, now)
            return
        }
        const l = this.findListener(seg.dstPort)
        if (l) return this.listenArrives(l, frame, dataOff, dataLen, dst, issFloor, now)
        // §3.10.7.1 CLOSED: anything but a RST gets a RST
        this.host.drop(Reason.NoSocket)
        this.resetFor(dataLen, now)
    }

    /** Runs the timers that are due. */
    poll(now: number): void {
        for (const c of this.pool) {
            if (!c.inUse) continue
            if (c.timeWaitAt !== OFF && now >= c.timeWaitAt) {
                c.timeWaitAt = OFF
                this.toClosed(c, TcpError.None)
                continue
            }
            if (c.rtxAt !== OFF && now >= c.rtxAt) this.retransmitTimeout(c, now)
            if (gone(c)) continue
            if (c.persistAt !== OFF && now >= c.persistAt) this.persistTimeout(c, now)
            if (c.keepAt !== OFF && now >= c.keepAt) this.keepTimer(c, now)
            if (gone(c)) continue
            if (c.ackAt !== OFF && now >= c.ackAt) {
                c.ackAt = OFF
                c.ackNow = true
            }
            this.output(c, now)
        }
    }

    /** The earliest timer of any connection, or -1. */
    nextDeadline(): number {
        let t = -1
        for (const c of this.pool) {
            if (!c.inUse) continue
            t = earliest(t, c.rtxAt)
            t = earliest(t, c.persistAt)
            t = earliest(t, c.ackAt)
            t = earliest(t, c.timeWaitAt)
            t = earliest(t, c.keepAt)
        }
        return t
    }

    /** Connections in each state, for /status. */
    countByState(): any {
        const out: any = {}
        for (const c of this.pool) {
            if (!c.inUse) continue
            const name = TCP_STATE_NAMES[c.state]
            out[name] = (out[name] || 0) + 1
        }
        return out
    }

    inUseCount(): number {
        let n = 0
        for (const c of this.pool) if (c.inUse) n++
        return n
    }

    // ==== segment arrival ===================================================

    /** §3.10.7.2 LISTEN. */
    private listenArrives(l: TcpListener, frame: Buffer, dataOff: number, dataLen: number, dst: number, issFloor: number, now: number): void {
        const seg = this.seg
        const src = this.segSrc
        const f = seg.flags
        if (f & TCP_ACK) {
            if ((f & (TCP_SYN | TCP_RST)) === 0 && this.cookieIn && this.cookieIn(l, frame, dataOff, dataLen, src, dst, now)) return
            // an ACK to a listener is bad: <SEQ=SEG.ACK><CTL=RST> (none for a RST)
            this.host.drop(Reason.NoSocket)
            return this.resetFor(dataLen, now)
        }
        if ((f & TCP_SYN) === 0) return this.host.drop(Reason.NoSocket)
        let c = this.backlogUsed(l) < l.backlog ? this.allocate(now, 0) : null
        if (!c) {
            if (this.cookieOut) return this.cookieOut(src, dst, now)
            // Without SYN cookies no peer is proven real, but a connection its
            // server has offered back (idle between requests, a head too slow under
            // pressure) still gives way, as nginx closes idle keep-alive connections
            // when it runs out: a new client is served at once, and a flood takes no
            // more than what the server had let go. Half-open ones stay: evicting
            // them would let the next SYN evict this one.
            c = this.allocate(now, 1)
            if (!c) return this.host.drop(Reason.SocketQueueFull)
        }
        c.listener = l.index
        let iss = this.isn(dst, seg.dstPort, src, seg.srcPort, now) >>> 0
        if (issFloor >= 0 && seqLt(iss, issFloor)) iss = issFloor
        this.open(c, dst, seg.dstPort, src, seg.srcPort, iss)
        this.takeSyn(c)
        this.counters.passiveOpens++
        this.setState(c, TcpState.SynReceived)
        // data on a SYN is not kept: it is not acknowledged, so the peer sends it again
        this.sendSyn(c, now)
    }

    /** A connection's addresses and send sequence space, from its ISS (nothing sent or pushed yet). */
    private open(c: TcpConnection, localIp: number, localPort: number, remoteIp: number, remotePort: number, iss: number): void {
        c.localIp = localIp
        c.localPort = localPort
        c.remoteIp = remoteIp
        c.remotePort = remotePort
        c.iss = iss
        c.sndUna = iss
        c.sndNxt = iss
        c.sndMax = iss
        c.pushUpTo = iss // nothing pushed (0 would read as ahead of any ISS at or above 2^31)
    }

    /** The peer's SYN (this.seg): IRS, RCV.NXT, its MSS and window. */
    private takeSyn(c: TcpConnection): void {
        const seg = this.seg
        c.irs = seg.seq
        c.rcvNxt = seqAdd(seg.seq, 1)
        c.rcvAdv = c.rcvNxt
        c.sndMss = this.mssFor(seg.mss)
        this.takeWindow(c, seg.window, seg.seq, seg.ack)
    }

    /** §3.10.7.3 SYN-SENT. */
    private synSentArrives(c: TcpConnection, now: number): void {
        const seg = this.seg
        const f = seg.flags
        if (f & TCP_ACK) {
            // acceptable only if it acknowledges our SYN exactly
            if (seqLeq(seg.ack, c.iss) || seqGt(seg.ack, c.sndMax)) {
                this.resetFor(0, now)
                return this.host.drop(Reason.BadFlags)
            }
        }
        if (f & TCP_RST) {
            // RFC 5961 §3.2 in SYN-SENT: only a RST acknowledging our SYN counts
            if (f & TCP_ACK) {
                this.counters.resetsReceived++
                return this.toClosed(c, TcpError.ConnectionRefused)
            }
            return this.host.drop(Reason.BadFlags)
        }
        if ((f & TCP_SYN) === 0) return this.host.drop(Reason.BadFlags)
        this.takeSyn(c)
        c.lastHeard = now
        if (f & TCP_ACK) {
            this.ackAdvances(c, seg.ack, now)
            this.establish(c, now)
            c.ackNow = true
            return
        }
        // simultaneous open: SYN-RECEIVED, answer SYN,ACK with our ISS (§3.10.7.3 fourth)
        this.setState(c, TcpState.SynReceived)
        c.sndNxt = c.iss
        this.sendSyn(c, now)
    }

    /**
     * §3.10.7.4: SYN-RECEIVED and every synchronized state. The common case
     * takes a short path first (header prediction, RFC 9293 §3.10.7.4's note,
     * Van Jacobson's): ESTABLISHED, ACK (and PSH) only, the next sequence
     * number, data that fits the window, an ACK between SND.UNA and the
     * highest sequence number sent. Every test it skips would pass.
     */
    private segmentArrives(c: TcpConnection, frame: Buffer, dataOff: number, dataLen: number, now: number): void {
        const seg = this.seg
        const f = seg.flags
        const ack = seg.ack
        let seq = seg.seq
        let len = dataLen
        // what we may still accept beyond RCV.NXT: the window we advertised,
        // never less (it never shrinks); before anything was advertised
        // (SYN-RECEIVED from a cookie) the free space
        const adv = (c.rcvAdv - c.rcvNxt) | 0
        const free = c.recvRing.capacity - c.recvRing.length
        const wnd = adv > 0 ? (adv < free ? adv : free) : adv === 0 ? 0 : free
        if (
            c.state === TcpState.Established &&
            (f & (TCP_SYN | TCP_FIN | TCP_RST | TCP_ACK)) === TCP_ACK &&
            seq === c.rcvNxt &&
            len <= wnd &&
            ((ack - c.sndUna) | 0) >= 0 &&
            ((ack - c.sndMax) | 0) <= 0
        ) {
            c.lastHeard = now
            c.keepProbes = 0
            c.probesUnanswered = 0
            this.processAck(c, ack, len, false, now)
            if (len > 0) {
                const st = c.state // the user's wake-up may have shut down or aborted
                if (st === TcpState.Established || st === TcpState.FinWait1 || st === TcpState.FinWait2) this.receiveData(c, frame, dataOff, len, seq, now)
            }
            return
        }
        let fin = (f & TCP_FIN) !== 0
        const segLen = len + (f & TCP_SYN ? 1 : 0) + (fin ? 1 : 0)

        // A SYN again in SYN-RECEIVED: our SYN,ACK was lost, send it again.
        if (c.state === TcpState.SynReceived && (f & TCP_SYN) && !(f & TCP_ACK) && seq === c.irs) {
            this.sendSyn(c, now, true)
            return
        }

        // Simultaneous open: the peer's SYN,ACK repeats the SYN we already took
        // (seq = IRS) and acknowledges ours. RFC 9293's table would call it old;
        // like Linux, take it as the ACK that completes the handshake.
        let synAckOfSimultaneousOpen = false
        if (c.state === TcpState.SynReceived && (f & TCP_SYN) && (f & TCP_ACK) && seqAdd(seq, 1) === c.rcvNxt && ack === c.sndNxt) {
            synAckOfSimultaneousOpen = true
            seq = c.rcvNxt
        }

        // first: sequence number acceptability (§3.10.7.4 table)
        let ok: boolean
        if (segLen === 0) ok = wnd === 0 ? seq === c.rcvNxt : inWindow(seq, c.rcvNxt, wnd)
        else if (wnd === 0) ok = false
        else ok = inWindow(seq, c.rcvNxt, wnd) || inWindow(seqAdd(seq, segLen - 1), c.rcvNxt, wnd)
        if (!ok && wnd === 0 && segLen > 0 && seq === c.rcvNxt && (f & (TCP_RST | TCP_ACK))) {
            // zero window: still take the ACK and RST fields (§3.10.7.4 "special allowance")
            ok = true
            len = 0
            fin = false
            c.ackNow = true // a zero-window probe: answer with our window
        }
        if (!ok) {
            if (f & TCP_RST) return this.host.drop(Reason.NoSocket)
            // a retransmitted FIN in TIME-WAIT restarts the 2 MSL wait (§3.10.7.4 eighth)
            if (c.state === TcpState.TimeWait && fin) c.timeWaitAt = now + 2 * this.limits.tcpMslMs
            this.answerInvalid(c, segLen, now)
            // an old duplicate or a segment beyond our window (answered with an ACK)
            return this.host.drop(Reason.OutOfWindow)
        }
        c.lastHeard = now
        c.keepProbes = 0
        c.probesUnanswered = 0

        // trim to the window: drop what we already have and what does not fit
        if (seqLt(seq, c.rcvNxt)) {
            const dataSkip = seqDiff(c.rcvNxt, seq)
            if (dataSkip >= len) {
                dataOff += len
                len = 0
            } else if (dataSkip > 0) {
                dataOff += dataSkip
                len -= dataSkip
            }
            seq = c.rcvNxt
        }
        const room = wnd - seqDiff(seq, c.rcvNxt)
        if (len > room) {
            len = room > 0 ? room : 0
            fin = false
        }

        // second: RST (RFC 5961 §3.2)
        if (f & TCP_RST) {
            if (seg.seq !== c.rcvNxt) {
                this.challengeAck(c, now)
                return
            }
            this.counters.resetsReceived++
            const s = c.state
            // passive open goes back to LISTEN: the listener never saw it; active open is refused
            if (s === TcpState.SynReceived) return this.toClosed(c, c.listener >= 0 ? TcpError.None : TcpError.ConnectionRefused)
            return this.toClosed(c, s === TcpState.Closing || s === TcpState.LastAck || s === TcpState.TimeWait ? TcpError.None : TcpError.ConnectionReset)
        }

        // fourth: SYN in a synchronized state: challenge ACK (RFC 5961 §4.2)
        if (f & TCP_SYN && !synAckOfSimultaneousOpen) {
            this.challengeAck(c, now)
            return
        }

        // fifth: the ACK field
        if ((f & TCP_ACK) === 0) return this.host.drop(Reason.BadFlags)
        if (c.state === TcpState.SynReceived) {
            if (!(seqGt(ack, c.sndUna) && seqLeq(ack, c.sndMax))) {
                // <SEQ=SEG.ACK><CTL=RST>
                this.resetFor(0, now)
                return this.host.drop(Reason.BadFlags)
            }
            this.takeWindow(c, seg.window, seg.seq, ack)
            this.ackAdvances(c, ack, now)
            this.establish(c, now)
            if (c.finQueued) this.setState(c, TcpState.FinWait1)
        } else {
            // RFC 5961 §5.2: acceptable range SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT
            if (seqGt(ack, c.sndMax) || seqLt(ack, seqAdd(c.sndUna, -Math.max(c.maxSndWnd, 1)))) {
                this.answerInvalid(c, segLen, now)
                return this.host.drop(Reason.BadFlags)
            }
            this.processAck(c, ack, len, fin, now)
            if (!c.inUse || c.state === TcpState.Closed) return
        }

        // seventh: segment text, in ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2
        const s = c.state
        const receiving = s === TcpState.Established || s === TcpState.FinWait1 || s === TcpState.FinWait2
        if (len > 0 && receiving && !c.finReceived) this.receiveData(c, frame, dataOff, len, seq, now)

        // eighth: FIN
        if (fin && receiving) {
            const finAt = seqAdd(seg.seq, dataLen)
            if (finAt === c.rcvNxt) this.finArrives(c, now)
            else if (seqGt(finAt, c.rcvNxt)) {
                // out of order: remember it, take it when the gap fills
                c.finPending = true
                c.finSeq = finAt
                c.ackNow = true
            }
        } else if (fin) {
            // TIME-WAIT: the retransmitted FIN restarts the 2 MSL wait; CLOSE-WAIT,
            // CLOSING, LAST-ACK: the FIN was already taken; ACK it again
            if (s === TcpState.TimeWait) c.timeWaitAt = now + 2 * this.limits.tcpMslMs
            c.ackNow = true
        }
    }

    /** The ACK of a synchronized connection (§3.10.7.4 fifth, RFC 5681, RFC 6582). */
    private processAck(c: TcpConnection, ack: number, dataLen: number, fin: boolean, now: number): void {
        const seg = this.seg
        if (((ack - c.sndUna) | 0) > 0) {
            this.ackAdvances(c, ack, now)
        } else if (ack === c.sndUna && dataLen === 0 && !fin && c.sndNxt !== c.sndUna && seg.window === c.sndWnd) {
            // RFC 5681 §2 duplicate ACK
            this.duplicateAck(c, now)
        }
        // window update (§3.10.7.4): from a newer segment, or the same one with a newer ACK
        const d = (c.sndWl1 - seg.seq) | 0
        if (d < 0 || (d === 0 && ((c.sndWl2 - ack) | 0) <= 0)) this.takeWindow(c, seg.window, seg.seq, ack)

        if (!c.finSent || ((c.sndUna - c.sndFinSeq) | 0) <= 0) return
        // our FIN is acknowledged
        const s = c.state
        if (s === TcpState.FinWait1) {
            this.setState(c, TcpState.FinWait2)
            // an orphaned FIN-WAIT-2 does not wait forever for the peer's FIN (Linux's tcp_fin_timeout)
            if (!c.userOwned) c.timeWaitAt = now + 2 * this.limits.tcpMslMs
            notify(c)
        } else if (s === TcpState.Closing) this.enterTimeWait(c, now)
        else if (s === TcpState.LastAck) this.toClosed(c, TcpError.None)
    }

    /** SND.UNA moves to ack: free acknowledged data, time the round trip, grow cwnd, restart the timer. */
    private ackAdvances(c: TcpConnection, ack: number, now: number): void {
        const acked = (ack - c.sndUna) | 0
        if (acked <= 0) return
        const synWasUnacked = !synAcked(c) && c.sndUna === c.iss
        c.sndUna = ack
        if (((c.sndNxt - ack) | 0) < 0) c.sndNxt = ack
        if (((c.pushUpTo - ack) | 0) < 0) c.pushUpTo = ack // never 2^31 behind, where it would read as ahead
        const ring = c.sendRing
        let dataAcked = acked - (synWasUnacked ? 1 : 0)
        if (dataAcked > ring.length) dataAcked = ring.length // the rest is our FIN
        if (dataAcked > 0) ring.discard(dataAcked)
        c.retries = 0
        c.persistBackoff = 0
        // Karn: time only segments sent once (a sample sets the RTO without backoff, as reset() does)
        if (c.rttStart !== OFF && ((ack - c.rttSeq) | 0) > 0) {
            c.rtt.sample(now - c.rttStart)
            c.rttStart = OFF
        } else c.rtt.reset()
        // congestion control
        const mss = c.sndMss
        if (c.inRecovery) {
            if (((ack - c.recover) | 0) >= 0) {
                // full acknowledgement: leave fast recovery (RFC 6582 §3.2 step 3)
                c.inRecovery = false
                c.cwnd = Math.min(c.ssthresh, ((c.sndNxt - ack) >>> 0) + mss)
            } else {
                // partial acknowledgement: resend the next hole, deflate (RFC 6582 §3.2 step 4)
                this.retransmitFirst(c, now)
                c.cwnd = c.cwnd > acked ? c.cwnd - acked + mss : mss
            }
        } else if (c.cwnd < c.ssthresh) {
            // RFC 5681 §3.1 with appropriate byte counting (RFC 3465, L = 2 SMSS):
            // a delayed ACK covering two segments grows cwnd by two
            c.cwnd += acked < 2 * mss ? acked : 2 * mss
        } else {
            c.bytesAcked += acked
            if (c.bytesAcked >= c.cwnd) {
                c.bytesAcked -= c.cwnd
                c.cwnd += mss
            }
        }
        c.dupAcks = 0
        // RFC 6298 §5.2/5.3: stop the timer when all is acknowledged, else restart it
        c.rtxAt = c.sndNxt !== ack ? now + c.rtt.rto : OFF
        notify(c)
    }

    /** RFC 5681 §3.2 with RFC 6582: the third duplicate ACK starts fast retransmit. */
    private duplicateAck(c: TcpConnection, now: number): void {
        c.dupAcks++
        const mss = c.sndMss
        if (c.inRecovery) {
            c.cwnd += mss // inflate: a segment has left the network
            return
        }
        if (c.dupAcks !== 3 || !seqGt(c.sndUna, c.recover)) {
            if (c.dupAcks === 3) c.dupAcks = 0
            return
        }
        c.ssthresh = Math.max(((c.sndNxt - c.sndUna) >>> 0) >> 1, 2 * mss)
        c.recover = c.sndMax
        c.inRecovery = true
        this.counters.fastRetransmits++
        this.retransmitFirst(c, now)
        c.cwnd = c.ssthresh + 3 * mss
    }

    /** In-order data goes to the ring; out-of-order data is placed at its offset and remembered. */
    private receiveData(c: TcpConnection, frame: Buffer, off: number, len: number, seq: number, now: number): void {
        const ahead = (seq - c.rcvNxt) | 0
        const ring = c.recvRing
        const ooo = c.ooo
        if (ahead === 0) {
            const n = ring.writeAt(0, frame, off, len)
            const total = ooo ? ooo.advance(n) : n
            ring.commit(total)
            c.rcvNxt = (c.rcvNxt + total) >>> 0
            if (total > n || (ooo && ooo.count > 0)) {
                // a gap filled or remains: ACK at once (RFC 5681 §4.2), and keep
                // ACKing every segment for a while so the sender's recovery and
                // slow start are not paced by our delayed-ACK timer (Linux's quickack)
                c.ackNow = true
                c.quickAcks = QUICK_ACKS
            } else if (c.quickAcks > 0) {
                c.quickAcks--
                c.ackNow = true
            } else {
                c.unackedSegments++
                // ACK every second segment at once, delay the first (RFC 5681 §4.2, RFC 1122 §4.2.3.2)
                if (c.unackedSegments >= 2) c.ackNow = true
                else if (c.ackAt === OFF) c.ackAt = now + this.limits.tcpAckDelayMs
            }
            c.lastActivity = now
            if (c.finPending && c.finSeq === c.rcvNxt) {
                c.finPending = false
                this.finArrives(c, now)
            }
            notify(c)
            return
        }
        // out of order: keep it if the assembler has room, and send a duplicate ACK
        if (ooo) {
            const n = ring.writeAt(ahead, frame, off, len)
            if (n > 0) ooo.add(ahead, n)
        }
        c.ackNow = true
        c.quickAcks = QUICK_ACKS
    }

    /** The peer's FIN at RCV.NXT (§3.10.7.4 eighth). */
    private finArrives(c: TcpConnection, now: number): void {
        c.rcvNxt = seqAdd(c.rcvNxt, 1)
        c.finReceived = true
        c.ackNow = true
        const s = c.state
        if (s === TcpState.SynReceived || s === TcpState.Established) this.setState(c, TcpState.CloseWait)
        else if (s === TcpState.FinWait1) {
            // our FIN acknowledged already (same segment): straight to TIME-WAIT
            if (((c.sndUna - c.sndFinSeq) | 0) > 0 && c.finSent) this.enterTimeWait(c, now)
            else this.setState(c, TcpState.Closing)
        } else if (s === TcpState.FinWait2) this.enterTimeWait(c, now)
        notify(c)
    }

    // ==== output ============================================================

    /** Sends what the windows allow, at most tcpBurst segments, then a bare ACK if one is owed. */
    output(c: TcpConnection, now: number): void {
        if (!c.inUse) return
        const s = c.state
        if (s === TcpState.Closed) return
        let sent = 0
        if (s !== TcpState.SynSent && s !== TcpState.SynReceived && s !== TcpState.TimeWait) {
            while (sent < this.limits.tcpBurst && this.sendNext(c, now)) sent++
        }
        if (sent === 0 && c.ackNow && s !== TcpState.SynSent) this.sendSegment(c, this.acceptableSeq(c), TCP_ACK, 0, now)
        // Data waits with nothing in flight: the window is zero, or too small
        // to be worth a segment (SWS avoidance). A lost window update would
        // leave both sides waiting, so the persist timer probes (RFC 9293
        // §3.8.6.1) or, for a small window, sends what fits anyway (RFC 1122
        // §4.2.3.4's override timeout).
        if (c.sndNxt === c.sndUna && c.sendRing.length > 0 && c.persistAt === OFF && c.rtxAt === OFF) {
            c.persistAt = now + c.rtt.rto
        }
    }

    /** Bytes in the send ring not yet sent. */
    private unsent(c: TcpConnection): number {
        const n = c.sendRing.length - ((c.sndNxt - c.sndUna) | 0)
        return n > 0 ? n : 0
    }

    /** Sends the next data segment (and/or our FIN) if allowed; false when nothing went out. */
    private sendNext(c: TcpConnection, now: number, force?: boolean): boolean {
        const unsent = this.unsent(c)
        if (unsent === 0 && !c.finQueued) return false
        const s = c.state
        // our FIN is out (or acknowledged): nothing follows it
        if (c.finSent && seqGt(c.sndNxt, c.sndFinSeq)) return false
        const mss = c.sndMss
        const flight = (c.sndNxt - c.sndUna) >>> 0
        // RFC 3042 limited transmit: the first two duplicate ACKs each let one
        // new segment out beyond cwnd, so a small window still collects the
        // three duplicates of fast retransmit instead of waiting for the RTO
        const limited = !c.inRecovery && c.dupAcks > 0 && c.dupAcks < 3 ? c.dupAcks * mss : 0
        const wnd = Math.min(c.sndWnd, c.cwnd + limited)
        let usable = wnd - flight
        if (usable < 0) usable = 0
        let len = unsent < mss ? unsent : mss
        if (len > usable) len = usable
        const finNow = c.finQueued && len === unsent && s !== TcpState.Established && s !== TcpState.CloseWait
        if (len === 0 && !finNow) return false
        const seq = c.sndNxt
        // Data sent before (go-back-N after a timeout) passed these rules once: resend it as the window allows.
        if (len > 0 && len < mss && !finNow && !force && !seqLt(seq, c.sndMax)) {
            // RFC 1122 §4.2.3.4 sender SWS avoidance, with Nagle (RFC 896);
            // corked: full segments only, until data is pushed (uncork, or a
            // writer waiting for room: see send())
            const all = len === unsent
            const pushing = seqGt(c.pushUpTo, seq)
            const pushed = all && pushing && seqLeq(seqAdd(seq, len), c.pushUpTo)
            const halfWindow = c.maxSndWnd > 0 && len >= c.maxSndWnd >> 1
            if (c.corked && !pushing) return false
            if (!pushed && !(all && (flight === 0 || !c.nagle)) && !halfWindow) return false
        }
        let flags = TCP_ACK
        if (len > 0 && len === unsent) flags |= TCP_PSH
        if (finNow) flags |= TCP_FIN
        this.sendSegment(c, seq, flags, len, now)
        const advance = len + (finNow ? 1 : 0)
        c.sndNxt = seqAdd(seq, advance)
        if (finNow) {
            c.finSent = true
            c.sndFinSeq = seqAdd(seq, len)
        }
        if (seqGt(c.sndNxt, c.sndMax)) {
            // new data: time it if nothing is being timed (RFC 6298 §3, Karn)
            if (c.rttStart === OFF && seq === c.sndMax) {
                c.rttStart = now
                c.rttSeq = seq
            }
            c.sndMax = c.sndNxt
        } else if (advance > 0) {
            this.counters.retransmits++
        }
        if (c.rtxAt === OFF) c.rtxAt = now + c.rtt.rto
        c.persistAt = OFF
        return true
    }

    /** Sends the first unacknowledged segment again without moving SND.NXT (fast retransmit, partial ACKs). */
    private retransmitFirst(c: TcpConnection, now: number): void {
        let len = Math.min(Math.min(c.sendRing.length, c.sndMss), (c.sndNxt - c.sndUna) >>> 0)
        let flags = TCP_ACK
        if (c.finSent && seqAdd(c.sndUna, len) === c.sndFinSeq) flags |= TCP_FIN
        if (len < 0) len = 0
        if (len === 0 && (flags & TCP_FIN) === 0) return
        this.counters.retransmits++
        c.rttStart = OFF
        this.sendSegment(c, c.sndUna, flags, len, now)
        c.rtxAt = now + c.rtt.rto
    }

    /** SYN (active open) or SYN,ACK (passive or simultaneous open), with our MSS; `again`: a retransmission. */
    private sendSyn(c: TcpConnection, now: number, again?: boolean): void {
        if (again) {
            this.counters.retransmits++
            c.rttStart = OFF
        }
        if (c.retries === 0) {
            c.rttStart = now
            c.rttSeq = c.iss
        }
        this.sendSegment(c, c.iss, c.state === TcpState.SynSent ? TCP_SYN : TCP_SYN | TCP_ACK, 0, now)
        c.sndNxt = seqAdd(c.iss, 1)
        if (seqGt(c.sndNxt, c.sndMax)) c.sndMax = c.sndNxt
        c.rtxAt = now + c.rtt.rto
    }

    /**
     * Emits one segment of c: `len` bytes of data from the send ring at `seq`,
     * with ACK = RCV.NXT and our current window. Any segment with ACK
     * acknowledges everything, so owed ACKs are settled.
     */
    private sendSegment(c: TcpConnection, seq: number, flags: number, len: number, now: number): void {
        const wnd = flags & TCP_RST ? 0 : this.windowToAdvertise(c)
        // (a SYN, the only segment with an option, carries no data)
        if (len > 0) c.sendRing.peek(((seq - c.sndUna) | 0) - (synAcked(c) ? 0 : 1), this.host.tx, this.host.l4Offset + TCP_HEADER, len)
        let ack = 0
        if (flags & TCP_ACK) {
            ack = c.rcvNxt
            c.rcvAdv = (ack + wnd) >>> 0
            c.ackNow = false
            c.ackAt = OFF
            c.unackedSegments = 0
        }
        this.emit(c, seq, ack, flags | (len << 8), wnd, now)
    }

    /**
     * Sends a segment: of connection c, or with c null an answer to the
     * segment being processed (a RST, a SYN cookie's SYN,ACK). `flagsLen`:
     * the flags, and in the bits above the low 8 the length of the data
     * already in place after the header. Every segment leaves here.
     */
    private emit(c: TcpConnection, seq: number, ack: number, flagsLen: number, window: number, now: number): void {
        const h = this.out
        const flags = flagsLen & 0xff
        let src: number
        let dst: number
        if (c) {
            src = c.localIp
            dst = c.remoteIp
            h.srcPort = c.localPort
            h.dstPort = c.remotePort
        } else {
            const seg = this.seg
            src = this.host.localIp()
            dst = this.segSrc
            h.srcPort = seg.dstPort
            h.dstPort = seg.srcPort
        }
        h.seq = seq
        h.ack = ack
        h.flags = flags
        h.window = window
        h.mss = flags & TCP_SYN ? this.ourMss : 0
        const len = flagsLen >> 8
        const hl = emitTcpMss(h, this.host.tx, this.host.l4Offset, src, dst, len)
        const counters = this.counters
        if (flags & TCP_RST) counters.resetsSent++
        counters.segmentsOut++
        this.host.ipSend(dst, IP_PROTO_TCP, hl + len, now)
    }

    /** A RST (or RST,ACK) answering the segment being processed, unless it is a RST itself (§3.10.7.1). */
    private resetFor(dataLen: number, now: number): void {
        const seg = this.seg
        const f = seg.flags
        if (f & TCP_RST) return
        if (f & TCP_ACK) this.emit(null, seg.ack, 0, TCP_RST, 0, now)
        else this.emit(null, 0, seqAdd(seg.seq, dataLen + (f & TCP_SYN ? 1 : 0) + (f & TCP_FIN ? 1 : 0)), TCP_RST | TCP_ACK, 0, now)
    }

    /**
     * The SEQ of a segment without data (an ACK, a RST): the highest sequence
     * number sent, not SND.NXT, as Linux's tcp_acceptable_seq(). SND.NXT is
     * rewound while retransmitting, possibly below what the peer has already
     * received, and a segment that far back is outside its window (RFC 9293
     * §3.10.7.4): two peers retransmitting at once would drop each other's
     * ACKs unprocessed, for good. Clamped to the right edge of the peer's
     * window, in case it shrank.
     */
    private acceptableSeq(c: TcpConnection): number {
        const edge = seqAdd(c.sndUna, c.sndWnd)
        return seqGt(c.sndMax, edge) && !seqLt(edge, c.sndNxt) ? edge : c.sndMax
    }

    /**
     * An unacceptable segment gets an ACK (RFC 9293 §3.10.7.4), but a pure
     * ACK only one per INVALID_ACK_INTERVAL_MS (RFC 5961 §10, Linux's
     * tcp_oow_rate_limited): two stacks that disagree on sequence numbers
     * would otherwise answer each other's ACKs without end. Segments with data
     * still get theirs: they are not part of such a loop.
     */
    private answerInvalid(c: TcpConnection, segLen: number, now: number): void {
        if (segLen === 0) {
            if (now - this.invalidAckAt[c.id] < INVALID_ACK_INTERVAL_MS) return
            this.invalidAckAt[c.id] = now
        }
        c.ackNow = true
    }

    /** RFC 5961 §3.2/§4.2: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, rate-limited (§7). */
    private challengeAck(c: TcpConnection, now: number): void {
        const rate = this.limits.tcpChallengeAcksPerSecond
        const elapsed = now - this.challengeAt
        if (elapsed > 0) {
            this.challengeTokens = Math.min(rate, this.challengeTokens + (elapsed * rate) / 1000)
            this.challengeAt = now
        }
        this.host.drop(Reason.BadFlags)
        if (this.challengeTokens < 1) return
        this.challengeTokens -= 1
        this.counters.challengeAcks++
        this.sendSegment(c, this.acceptableSeq(c), TCP_ACK, 0, now)
    }

    // ==== windows ===========================================================

    /** RFC 1122 §4.2.3.3 receiver SWS avoidance: move the right edge only by a useful amount. */
    private windowToAdvertise(c: TcpConnection): number {
        const free = c.recvRing.capacity - c.recvRing.length
        const current = (c.rcvAdv - c.rcvNxt) | 0
        // (the advertised edge never passes the free space: it moves with RCV.NXT
        // as data arrives, and only reading makes room)
        if (current < 0 || current > free || c.state === TcpState.SynSent || c.state === TcpState.SynReceived) return free
        const step = Math.min(c.recvRing.capacity >> 1, c.sndMss)
        return free - current >= step ? free : current
    }

    private takeWindow(c: TcpConnection, window: number, seq: number, ack: number): void {
        c.sndWnd = window
        c.sndWl1 = seq
        c.sndWl2 = ack
        if (window > c.maxSndWnd) c.maxSndWnd = window
        if (window > 0) {
            c.persistAt = OFF
            c.persistBackoff = 0
        }
    }

    private mssFor(peerMss: number): number {
        const m = peerMss > 0 ? peerMss : DEFAULT_MSS
        return m < this.ourMss ? m : this.ourMss
    }

    // ==== timers ============================================================

    /** RFC 6298 §5.4-5.7 and RFC 5681 §3.1: back off, go back to SND.UNA, one segment of cwnd. */
    private retransmitTimeout(c: TcpConnection, now: number): void {
        c.rtxAt = OFF
        const s = c.state
        if (s === TcpState.SynSent || s === TcpState.SynReceived) {
            if (c.retries >= this.limits.tcpSynRetries) {
                this.counters.timeouts++
                return this.toClosed(c, TcpError.TimedOut)
            }
            c.retries++
            c.rtt.backoff()
            // RFC 6298 §5.7: a lost SYN leaves the data-phase RTO at 3 s (we keep the backed-off value)
            this.sendSyn(c, now, true)
            return
        }
        const flight = (c.sndNxt - c.sndUna) >>> 0
        if (flight === 0) return
        if (c.retries >= this.limits.tcpMaxRetries) {
            this.counters.timeouts++
            return this.abortWith(c, TcpError.TimedOut, now)
        }
        c.retries++
        c.rtt.backoff()
        const mss = c.sndMss
        if (c.retries === 1) c.ssthresh = Math.max(flight >> 1, 2 * mss)
        c.cwnd = mss
        c.bytesAcked = 0
        c.inRecovery = false
        c.dupAcks = 0
        c.recover = c.sndMax
        c.rttStart = OFF
        // go back N: everything from SND.UNA is sent again as the window opens
        c.sndNxt = c.sndUna
        this.sendNext(c, now)
        c.rtxAt = now + c.rtt.rto
    }

    /**
     * Zero-window probe: a segment at SND.UNA - 1 makes the peer ACK with its
     * window (as Linux does). A small window is used as it is.
     */
    private persistTimeout(c: TcpConnection, now: number): void {
        c.persistAt = OFF
        if (this.unsent(c) === 0 || c.sndNxt !== c.sndUna) return
        if (c.sndWnd > 0) {
            this.sendNext(c, now, true)
            return
        }
        // Give up like the retransmission timer does (RFC 1122 §4.2.2.17 lets
        // a probing connection live while the peer answers): when the probes
        // go unanswered, or, once the user has closed, after as many probes as
        // retransmissions (Linux's orphan limit), so a silent peer cannot hold
        // a slot forever.
        const max = this.limits.tcpMaxRetries
        if (c.probesUnanswered >= max || (!c.userOwned && c.persistBackoff >= max)) {
            this.counters.timeouts++
            return this.abortWith(c, TcpError.TimedOut, now)
        }
        this.counters.zeroWindowProbes++
        this.sendSegment(c, seqAdd(c.sndUna, -1), TCP_ACK, 0, now)
        c.persistBackoff++
        c.probesUnanswered++
        let wait = c.rtt.rto
        for (let i = 0; i < c.persistBackoff && wait < this.limits.tcpMaxRtoMs; i++) wait *= 2
        c.persistAt = now + Math.min(wait, this.limits.tcpMaxRtoMs)
    }

    /** Keep-alive probes (RFC 1122 §4.2.3.6) and the idle timeout. */
    private keepAliveTimeout(c: TcpConnection, now: number): void {
        c.keepAt = OFF
        if (c.idleTimeoutMs > 0 && now - c.lastActivity >= c.idleTimeoutMs) {
            this.counters.timeouts++
            this.abortWith(c, TcpError.TimedOut, now)
            return
        }
        if (c.keepAlive && (c.state === TcpState.Established || c.state === TcpState.CloseWait)) {
            if (now - c.lastHeard >= c.keepIdleMs) {
                if (c.keepProbes >= c.keepCount) {
                    this.counters.timeouts++
                    this.abortWith(c, TcpError.TimedOut, now)
                    return
                }
                c.keepProbes++
                this.counters.keepAliveProbes++
                this.sendSegment(c, seqAdd(c.sndUna, -1), TCP_ACK, 0, now)
            }
        }
        this.armKeepAlive(c, now)
    }

    /** Sets keepAt from the keep-alive and idle settings. */
    armKeepAlive(c: TcpConnection, now: number): void {
        this.keepArm = this.armKeepAlive
        this.keepTimer = this.keepAliveTimeout
        let t = OFF
        if (c.keepAlive) {
            t = c.keepProbes > 0 ? now + c.keepIntervalMs : c.lastHeard + c.keepIdleMs
            if (t <= now) t = now + c.keepIntervalMs
        }
        if (c.idleTimeoutMs > 0) t = earliest(t, c.lastActivity + c.idleTimeoutMs)
        c.keepAt = t
    }

    private abortWith(c: TcpConnection, err: TcpError, now: number): void {
        this.sendSegment(c, this.acceptableSeq(c), TCP_RST, 0, now)
        this.toClosed(c, err)
    }

    // ==== state changes and the pool =======================================

    private establish(c: TcpConnection, now: number): void {
        // RFC 5681 §3.1 (RFC 3390) initial window
        const mss = c.sndMss
        c.cwnd = Math.min(4 * mss, Math.max(2 * mss, 4380))
        c.ssthresh = 0x7fffffff
        c.lastHeard = now
        c.lastActivity = now
        c.retries = 0
        this.setState(c, TcpState.Established)
        if (c.listener >= 0) {
            c.queued = true
            c.acceptOrder = this.queueOrder++
            const l = this.listeners[c.listener]
            if (l.onEvent) l.onEvent(l)
        }
        if (this.keepArm) this.keepArm(c, now)
        notify(c)
    }

    private enterTimeWait(c: TcpConnection, now: number): void {
        this.setState(c, TcpState.TimeWait)
        stopTimers(c)
        c.timeWaitAt = now + 2 * this.limits.tcpMslMs
        notify(c)
    }

    /** CLOSED: timers stop; the slot is freed unless the user still holds it (it then sees `error`). */
    private toClosed(c: TcpConnection, err: TcpError): void {
        if (err !== TcpError.None && c.error === TcpError.None) c.error = err
        this.setState(c, TcpState.Closed)
        stopTimers(c)
        const user = c.userOwned
        notify(c)
        if (!user) this.free(c)
    }

    private setState(c: TcpConnection, s: TcpState): void {
        const from = c.state
        if (from === s) return
        c.state = s
        if (this.onStateChange) this.onStateChange(c, from, s)
    }

    /**
     * A free slot, else the oldest TIME-WAIT one; with `reclaim` 2 (a peer
     * proven by a SYN cookie) then the oldest half-open one; with `reclaim` 1
     * or 2 then the one its user offered back the longest ago.
     */
    private allocate(now: number, reclaim: number): TcpConnection {
        let oldest: TcpConnection = null
        for (const c of this.pool) {
            if (!c.inUse) return this.claim(c, now)
            if (!c.userOwned && c.state === TcpState.TimeWait && (!oldest || c.timeWaitAt < oldest.timeWaitAt)) oldest = c
        }
        if (!oldest && reclaim === 2) {
            // a validated SYN cookie proves a real peer: it beats a half-open connection
            for (const c of this.pool) {
                if (c.state === TcpState.SynReceived && !c.userOwned && (!oldest || c.lastHeard < oldest.lastHeard)) oldest = c
            }
        }
        // then the one its user offered the longest ago, with nothing unread or unacknowledged
        // (an idle keep-alive connection, a request head too slow: lwIP's tcp_kill_prio)
        if (!oldest && reclaim > 0) {
            for (const c of this.pool) {
                const at = this.reclaimAt[c.id]
                if (at !== OFF && at <= now && c.recvRing.length + c.sendRing.length === 0 && (!oldest || at < this.reclaimAt[oldest.id])) oldest = c
            }
        }
        if (!oldest) return null
        if (oldest.state === TcpState.TimeWait) this.counters.timeWaitReclaimed++
        else if (oldest.userOwned) {
            this.counters.idleReclaimed++
            this.abort(oldest, now) // its user sees ECONNABORTED, then EBADF: the handle's generation is gone
        } else this.counters.halfOpenEvicted++
        this.free(oldest)
        return this.claim(oldest, now)
    }

    private claim(c: TcpConnection, now: number): TcpConnection {
        c.inUse = true
        c.userOwned = false
        c.listener = -1
        c.queued = false
        c.error = TcpError.None
        c.state = TcpState.Closed
        c.sendRing.clear()
        c.recvRing.clear()
        if (c.ooo) c.ooo.clear()
        c.finPending = false
        c.finQueued = false
        c.finSent = false
        c.finReceived = false
        c.sndWnd = 0
        c.maxSndWnd = 0
        c.rcvAdv = 0
        c.cwnd = 0
        c.ssthresh = 0x7fffffff
        c.dupAcks = 0
        c.inRecovery = false
        c.bytesAcked = 0
        c.rttStart = OFF
        c.retries = 0
        stopTimers(c)
        c.persistBackoff = 0
        c.probesUnanswered = 0
        this.invalidAckAt[c.id] = -INVALID_ACK_INTERVAL_MS
        c.ackNow = false
        c.unackedSegments = 0
        c.quickAcks = 0
        c.lastHeard = now
        c.lastActivity = now
        c.nagle = true
        c.corked = false
        c.keepAlive = false
        c.keepIdleMs = this.limits.tcpKeepIdleMs
        c.keepIntervalMs = this.limits.tcpKeepIntervalMs
        c.keepCount = this.limits.tcpKeepCount
        c.keepProbes = 0
        c.idleTimeoutMs = 0
        this.reclaimAt[c.id] = OFF
        c.onEvent = null
        c.rtt.srtt = 0
        c.rtt.rttvar = 0
        c.rtt.rto = this.limits.tcpInitialRtoMs
        return c
    }

    private free(c: TcpConnection): void {
        if (!c.inUse) return
        if (c.state !== TcpState.Closed) this.setState(c, TcpState.Closed)
        c.inUse = false
        c.userOwned = false
        c.queued = false
        c.listener = -1
        c.onEvent = null
        c.generation++
        stopTimers(c)
        if (this.onSlotFreed) this.onSlotFreed()
    }

    private find(remoteIp: number, remotePort: number, localPort: number): TcpConnection {
        for (const c of this.pool) {
            if (c.inUse && c.state !== TcpState.Closed && c.remotePort === remotePort && c.localPort === localPort && c.remoteIp === remoteIp) return c
        }
        return null
    }

    private findListener(port: number): TcpListener {
        for (const l of this.listeners) if (l.inUse && l.port === port) return l
        return null
    }

    /** Frees l's oldest SYN-RECEIVED connection; false when it has none. */
    private evictHalfOpen(l: TcpListener): boolean {
        let oldest: TcpConnection = null
        for (const c of this.pool) {
            if (c.inUse && c.listener === l.index && c.state === TcpState.SynReceived && (!oldest || c.lastHeard < oldest.lastHeard)) oldest = c
        }
        if (!oldest) return false
        this.counters.halfOpenEvicted++
        this.free(oldest)
        return true
    }

    /** Half-open plus not-yet-accepted connections of l. */
    private backlogUsed(l: TcpListener): number {
        let n = 0
        for (const c of this.pool) if (c.inUse && c.listener === l.index) n++
        return n
    }

    private ephemeralPort(remoteIp: number, remotePort: number): number {
        // RFC 6056 §3.3.3-like: a random start, then the next free port
        for (let tries = 0; tries < 64; tries++) {
            const p = this.nextPort
            this.nextPort = this.nextPort >= 65535 ? 49152 : this.nextPort + 1
            if (!this.find(remoteIp, remotePort, p) && !this.findListener(p)) return p
        }
        return this.nextPort
    }

    // ==== SYN cookies =======================================================

    /**
     * A SYN,ACK whose ISS encodes what we would have stored: 5 bits of a
     * 64-second counter, 3 bits of MSS, 24 bits of a keyed hash of the
     * 4-tuple, the counter and the peer's ISN. Nothing is allocated.
     */
    private sendCookie(src: number, dst: number, now: number): void {
        const seg = this.seg
        const slot = Math.floor(now / COOKIE_SLOT_MS) & 31
        let mssIndex = 0
        const peerMss = seg.mss > 0 ? seg.mss : DEFAULT_MSS
        for (let i = COOKIE_MSS.length - 1; i >= 0; i--) {
            if (COOKIE_MSS[i] <= peerMss && COOKIE_MSS[i] <= this.ourMss) {
                mssIndex = i
                break
            }
        }
        const iss = ((slot << 27) | (mssIndex << 24) | (this.cookieHash(src, seg.srcPort, seg.dstPort, seg.seq, slot) & 0xffffff)) >>> 0
        this.cookieSentAt = now
        this.counters.synCookiesSent++
        this.emit(null, iss, seqAdd(seg.seq, 1), TCP_SYN | TCP_ACK, Math.min(this.limits.tcpRecvBuffer, 0xffff), now)
    }

    /** An ACK carrying a valid cookie becomes an ESTABLISHED connection. */
    private acceptCookie(l: TcpListener, frame: Buffer, dataOff: number, dataLen: number, src: number, dst: number, now: number): boolean {
        if (this.cookieSentAt < 0 || now - this.cookieSentAt > 2 * COOKIE_SLOT_MS) return false
        const seg = this.seg
        const iss = seqAdd(seg.ack, -1)
        const irs = seqAdd(seg.seq, -1)
        const slot = iss >>> 27
        const nowSlot = Math.floor(now / COOKIE_SLOT_MS) & 31
        if (((nowSlot - slot) & 31) > 1) return false
        if ((iss & 0xffffff) !== (this.cookieHash(src, seg.srcPort, seg.dstPort, irs, slot) & 0xffffff)) return false
        // A valid cookie proves a real peer that completed the handshake: it
        // takes the place of the oldest half-open connection (a SYN flood's).
        if (this.backlogUsed(l) >= l.backlog && !this.evictHalfOpen(l)) {
            // every place holds an established connection the user has not
            // accepted yet: drop without a RST, the peer retransmits (Linux's
            // tcp_abort_on_overflow = 0)
            this.host.drop(Reason.SocketQueueFull)
            return true
        }
        const c = this.allocate(now, 2)
        if (!c) {
            this.host.drop(Reason.SocketQueueFull)
            return true
        }
        this.counters.synCookiesAccepted++
        this.counters.passiveOpens++
        c.listener = l.index
        this.open(c, dst, seg.dstPort, src, seg.srcPort, seg.ack) // our SYN is acknowledged already
        c.iss = iss
        c.irs = irs
        c.rcvNxt = seg.seq
        c.sndMss = this.mssFor(COOKIE_MSS[(iss >> 24) & 7] || 0)
        c.rcvAdv = seqAdd(c.rcvNxt, Math.min(this.limits.tcpRecvBuffer, 0xffff))
        this.takeWindow(c, seg.window, seg.seq, seg.ack)
        this.establish(c, now)
        // the ACK may carry data (and a FIN): take them as in ESTABLISHED
        if (dataLen > 0) this.receiveData(c, frame, dataOff, Math.min(dataLen, c.recvRing.capacity - c.recvRing.length), seg.seq, now)
        if (seg.flags & TCP_FIN && seqAdd(seg.seq, dataLen) === c.rcvNxt) this.finArrives(c, now)
        this.output(c, now)
        return true
    }

    private cookieHash(src: number, srcPort: number, dstPort: number, irs: number, slot: number): number {
        return this.hasher.hash3(src, ((srcPort & 0xffff) << 16) | (dstPort & 0xffff), (irs + Math.imul(slot, 0x9e3779b9)) | 0)
    }

    /** For traces: "198.18.0.2:80-198.18.0.1:3337". */
    describe(c: TcpConnection): string {
        return ipToString(c.localIp) + ":" + c.localPort + "-" + ipToString(c.remoteIp) + ":" + c.remotePort
    }
}

/** Freed, or CLOSED: no timers to run (a function, so the compiler does not narrow c.state across calls). */
function gone(c: TcpConnection): boolean {
    return !c.inUse || c.state === TcpState.Closed
}

function earliest(t: number, candidate: number): number {
    if (candidate === OFF) return t
    return t === OFF || candidate < t ? candidate : t
}

/** start <= x < start + len, modulo 2^32. */
function inWindow(x: number, start: number, len: number): boolean {
    return (x - start) >>> 0 < len
}

/** The socket layer's wake-up. */
function notify(c: TcpConnection): void {
    if (c.onEvent) c.onEvent(c)
}

/** True once our SYN has been acknowledged (the send ring's head is then at SND.UNA). */
function synAcked(c: TcpConnection): boolean {
    return c.state !== TcpState.SynSent && c.state !== TcpState.SynReceived
}

function stopTimers(c: TcpConnection): void {
    c.rtxAt = OFF
    c.persistAt = OFF
    c.ackAt = OFF
    c.timeWaitAt = OFF
    c.keepAt = OFF
}
