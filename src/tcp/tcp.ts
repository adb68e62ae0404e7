// The TCP engine: a fixed pool of connections, listeners with a bounded
// backlog and SYN cookies, segment arrival per RFC 9293 §3.10.7, output with
// flow and congestion control, and the timers. Sans-IO like the rest of the
// core: segments come in through input(), time through poll(now), and
// segments leave through the host's ipSend().
//
// Call flow:
//   input ─▶ find connection ─▶ segmentArrives (§3.10.7.4, synchronized states;
//         │                 │   header prediction first: ESTABLISHED, in order)
//         │                 └─▶ synSentArrives (§3.10.7.3)
//         ├▶ listener ───────▶ listenArrives (§3.10.7.2, SYN cookies)
//         └▶ nothing ────────▶ RST (§3.10.7.1, resetFor)
//   poll ──▶ timers: retransmission, persist, delayed ACK, keep-alive, idle, TIME-WAIT
//   output ─▶ as many segments as window, cwnd, Nagle and tcpBurst allow ─▶ sendSegment
//   every segment leaves through emit(): a connection's, or an answer without one
//
// On the device every byte of bytecode counts (README, "The firmware
// image"): the DeviceScript compiler turns `a && b` in a condition into
// temporaries and jumps, so conditions here are nested ifs or one
// comparison (an unsigned distance for "x in [lo, hi]", `(s - A) >>> 0 < n`
// for a run of states), and small helpers live in their callers.
//
// What is not done (see README): window scaling, timestamps and SACK are not
// offered, so peers never use them (RFC 7323 §2.2, RFC 2018 §2); urgent data
// is delivered as ordinary data; data carried on a SYN is not accepted (the
// peer sends it again after the handshake).

import { Limits } from "../config.js"
import { RandomSource } from "../random.js"
import { Reason } from "../wire/reason.js"
import { ipToString } from "../wire/bytes.js"
import { seqAdd } from "../wire/seq.js"
import { TcpHeader, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, emitTcpMss, parseTcpHead } from "../wire/tcp.js"
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
     * HalfSipHash.hashWords). The demo and the host runners turn them on.
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
        if (port <= 0) return null
        if (port > 0xffff) return null
        if (this.findListener(port)) return null
        for (const l of this.listeners) {
            if (!l.inUse) {
                l.inUse = true
                l.port = port
                l.backlog = backlog > 0 ? backlog : this.limits.tcpBacklog
                l.onEvent = null
                return l
            }
        }
        return null
    }

    /** Stops listening; connections not yet accepted are reset. */
    unlisten(l: TcpListener, now: number): void {
        if (!l.inUse) return
        for (const c of this.pool) {
            if (c.inUse) {
                if (c.listener === l.index) this.abort(c, now)
            }
        }
        l.inUse = false
        l.onEvent = null
    }

    /** The oldest established connection waiting on l, now owned by the caller; null when none. */
    accept(l: TcpListener): TcpConnection {
        let best: TcpConnection = null
        for (const c of this.pool) {
            if (c.inUse) {
                if (c.queued) {
                    if (c.listener === l.index) {
                        if (!best) best = c
                        else if (c.acceptOrder < best.acceptOrder) best = c
                    }
                }
            }
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
        this.open(c, ip, port, rip, remotePort, this.isn(ip, port, rip, remotePort, now) >>> 0, 0)
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
        this.send(c, null, 0, -1, now)
    }

    /**
     * Queues data; returns the bytes taken (0 when the ring is full or sending
     * is shut down). With len -1 (uncork), pushes what is queued.
     */
    send(c: TcpConnection, buf: Buffer, off: number, len: number, now: number): number {
        let n = 0
        if (len > 0) {
            if (!this.canSend(c)) return 0
            n = c.sendRing.write(buf, off, len)
            if (n > 0) c.lastActivity = now
        }
        // The writer will wait for room (n < len): push what is queued,
        // corked or not, as Linux's tcp_sendmsg does before it sleeps.
        // Otherwise a window below one MSS (or a ring below one) would hold a
        // corked writer until the retransmission timer.
        if (n !== len) c.pushUpTo = seqAdd(c.sndUna, c.sendRing.length + (synAcked(c) ? 0 : 1))
        if (len !== 0) this.output(c, now) // data queued, or a push owed
        return n
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
            // simulator: these updates also clock the sender.) ESTABLISHED,
            // FIN-WAIT-1 and FIN-WAIT-2 only: 4, 5 and 6.
            if ((c.state - TcpState.Established) >>> 0 < 3) {
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
        if (s === TcpState.SynSent) return this.toClosed(c, TcpError.None)
        let next = s
        if (s === TcpState.CloseWait) next = TcpState.LastAck
        else if (s === TcpState.Established) next = TcpState.FinWait1
        // SYN-RECEIVED: FIN-WAIT-1 once the handshake completes (RFC 9293 §3.10.4)
        else if (s !== TcpState.SynReceived) return
        c.finQueued = true
        this.setState(c, next)
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
        const s = c.state
        if (s === TcpState.Closed) return this.free(c)
        if (c.recvRing.length > 0) {
            if (s !== TcpState.TimeWait) return this.abort(c, now)
        }
        this.shutdown(c, now)
        if (c.state === TcpState.FinWait2) {
            if (c.timeWaitAt === OFF) c.timeWaitAt = now + 2 * this.limits.tcpMslMs
        }
    }

    /** Resets the connection (RFC 9293 §3.10.5) and frees it unless the user still holds it. */
    abort(c: TcpConnection, now: number): void {
        if (!c.inUse) return
        const s = c.state
        // SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT (3 to 7) send a RST
        if ((s - TcpState.SynReceived) >>> 0 < 5) this.sendSegment(c, this.acceptableSeq(c), TCP_RST, 0, now)
        this.toClosed(c, TcpError.Aborted)
    }

    canSend(c: TcpConnection): boolean {
        if (c.finQueued) return false
        const s = c.state
        // SYN-SENT, SYN-RECEIVED, ESTABLISHED (2 to 4) or CLOSE-WAIT
        return (s - TcpState.SynSent) >>> 0 < 3 || s === TcpState.CloseWait
    }

    // ==== runner calls ======================================================

    /** A TCP segment addressed to us (IP already validated). */
    input(frame: Buffer, off: number, len: number, src: number, dst: number, now: number): void {
        const seg = this.seg
        const r = parseTcpHead(frame, off, len, src, dst, seg)
        if (r !== Reason.Ok) return this.host.drop(r)
        this.segSrc = src
        this.counters.segmentsIn++
        const dataOff = off + seg.headerLength
        const dataLen = len - seg.headerLength
        const c = this.find(src, seg.srcPort, seg.dstPort)
        let issFloor = -1
        if (c) {
            if (c.state !== TcpState.TimeWait || (seg.flags & (TCP_SYN | TCP_ACK | TCP_RST)) !== TCP_SYN || ((seg.seq - c.rcvNxt) | 0) <= 0) {
                if (c.state === TcpState.SynSent) this.synSentArrives(c, now)
                else this.segmentArrives(c, frame, dataOff, dataLen, now)
                return this.output(c, now)
            }
            // RFC 9293 §3.10.7.4 / RFC 1122 §4.2.2.13: a new SYN may reopen a
            // connection in TIME-WAIT when its sequence number is beyond the
            // old one's; our new ISS starts above the old sequence space.
            issFloor = seqAdd(c.sndNxt, 65537)
            this.free(c)
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
            if (due(c.timeWaitAt, now)) {
                c.timeWaitAt = OFF
                this.toClosed(c, TcpError.None)
                continue
            }
            if (due(c.rtxAt, now)) this.retransmitTimeout(c, now)
            if (gone(c)) continue
            if (due(c.persistAt, now)) this.persistTimeout(c, now)
            if (due(c.keepAt, now)) this.keepTimer(c, now)
            if (gone(c)) continue
            if (due(c.ackAt, now)) {
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
            if (c.inUse) {
                t = earliest(t, c.rtxAt)
                t = earliest(t, c.persistAt)
                t = earliest(t, c.ackAt)
                t = earliest(t, c.timeWaitAt)
                t = earliest(t, c.keepAt)
            }
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
            if ((f & (TCP_SYN | TCP_RST)) === 0) {
                if (this.cookieIn) {
                    if (this.cookieIn(l, frame, dataOff, dataLen, src, dst, now)) return
                }
            }
            // an ACK to a listener is bad: <SEQ=SEG.ACK><CTL=RST> (none for a RST)
            this.host.drop(Reason.NoSocket)
            return this.resetFor(dataLen, now)
        }
        if ((f & TCP_SYN) === 0) return this.host.drop(Reason.NoSocket)
        let c: TcpConnection = null
        if (this.backlogUsed(l) < l.backlog) c = this.allocate(now, 0)
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
        if (issFloor >= 0) {
            if (((iss - issFloor) | 0) < 0) iss = issFloor
        }
        this.open(c, dst, seg.dstPort, src, seg.srcPort, iss, seg.mss)
        this.takeSyn(c)
        this.counters.passiveOpens++
        this.setState(c, TcpState.SynReceived)
        // data on a SYN is not kept: it is not acknowledged, so the peer sends it again
        this.sendSyn(c, now)
    }

    /** A connection's addresses, its send sequence space from its ISS (nothing sent or pushed yet) and its send MSS. */
    private open(c: TcpConnection, localIp: number, localPort: number, remoteIp: number, remotePort: number, iss: number, peerMss: number): void {
        c.localIp = localIp
        c.localPort = localPort
        c.remoteIp = remoteIp
        c.remotePort = remotePort
        c.iss = iss
        c.sndUna = iss
        c.sndNxt = iss
        c.sndMax = iss
        c.pushUpTo = iss // nothing pushed (0 would read as ahead of any ISS at or above 2^31)
        // RFC 6582 §3.2 step 1: recover starts at the ISS (0 would hold off
        // fast retransmit until the first timeout for any ISS at or above 2^31)
        c.recover = iss
        c.sndMss = this.mssFor(peerMss)
    }

    /** The peer's SYN (this.seg): IRS, RCV.NXT and its window. */
    private takeSyn(c: TcpConnection): void {
        const seg = this.seg
        c.irs = seg.seq
        c.rcvNxt = seqAdd(seg.seq, 1)
        c.rcvAdv = c.rcvNxt
        this.takeWindow(c, seg.window, seg.seq, seg.ack)
    }

    /** §3.10.7.3 SYN-SENT. */
    private synSentArrives(c: TcpConnection, now: number): void {
        const seg = this.seg
        const f = seg.flags
        const ack = seg.ack
        // with an ACK, acceptable only if it acknowledges our SYN exactly
        // (ISS < SEG.ACK <= SND.NXT); else <SEQ=SEG.ACK><CTL=RST>, but none for a RST
        if (f & TCP_ACK) {
            if ((ack - c.iss - 1) >>> 0 >= (c.sndMax - c.iss) >>> 0) {
                this.resetFor(0, now)
                return this.host.drop(Reason.BadFlags)
            }
        }
        if (f & TCP_RST) {
            // RFC 5961 §3.2 in SYN-SENT: only a RST acknowledging our SYN counts
            if ((f & TCP_ACK) === 0) return this.host.drop(Reason.BadFlags)
            this.counters.resetsReceived++
            return this.toClosed(c, TcpError.ConnectionRefused)
        }
        if ((f & TCP_SYN) === 0) return this.host.drop(Reason.BadFlags)
        this.takeSyn(c)
        c.sndMss = this.mssFor(seg.mss)
        c.lastHeard = now
        if (f & TCP_ACK) {
            this.ackAdvances(c, ack, now)
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
     * takes a short path first (header prediction, as in RFC 9293 §3.10.7.4's
     * note and Van Jacobson's): ESTABLISHED, ACK (and PSH) only, the next
     * sequence number, data that fits the window, an ACK from SND.UNA to the
     * highest sequence number sent. Every test it skips would pass.
     */
    private segmentArrives(c: TcpConnection, frame: Buffer, dataOff: number, dataLen: number, now: number): void {
        const seg = this.seg
        const f = seg.flags
        const ack = seg.ack
        const rcvNxt = c.rcvNxt
        let seq = seg.seq
        let len = dataLen
        // what we may still accept beyond RCV.NXT: the window we advertised,
        // never less (it never shrinks); before anything was advertised
        // (SYN-RECEIVED from a cookie) the free space
        const adv = (c.rcvAdv - rcvNxt) | 0
        const free = c.recvRing.capacity - c.recvRing.length
        let wnd = free
        if (adv >= 0) wnd = adv < free ? adv : free
        if (c.state === TcpState.Established) {
            if ((f & (TCP_SYN | TCP_FIN | TCP_RST | TCP_ACK)) === TCP_ACK) {
                if (seq === rcvNxt) {
                    if (len <= wnd) {
                        // SND.UNA <= SEG.ACK <= SND.MAX
                        if ((ack - c.sndUna) >>> 0 <= (c.sndMax - c.sndUna) >>> 0) {
                            c.lastHeard = now
                            c.keepProbes = 0
                            c.probesUnanswered = 0
                            this.processAck(c, ack, len, now)
                            // (the user's wake-up may have shut down or aborted)
                            if (len > 0) {
                                if ((c.state - TcpState.Established) >>> 0 < 3) this.receiveData(c, frame, dataOff, len, seq, now)
                            }
                            return
                        }
                    }
                }
            }
        }
        let fin = (f & TCP_FIN) !== 0
        let segLen = len
        if (f & TCP_SYN) segLen++
        if (fin) segLen++

        let synAckOfSimultaneousOpen = false
        if (c.state === TcpState.SynReceived) {
            if (f & TCP_SYN) {
                if ((f & TCP_ACK) === 0) {
                    // A SYN again in SYN-RECEIVED: our SYN,ACK was lost, send it again.
                    if (seq === c.irs) return this.sendSyn(c, now, true)
                } else if (seqAdd(seq, 1) === rcvNxt) {
                    // Simultaneous open: the peer's SYN,ACK repeats the SYN we already took
                    // (seq = IRS) and acknowledges ours. RFC 9293's table would call it old;
                    // like Linux, take it as the ACK that completes the handshake.
                    if (ack === c.sndNxt) {
                        synAckOfSimultaneousOpen = true
                        seq = rcvNxt
                    }
                }
            }
        }

        // first: sequence number acceptability (§3.10.7.4 table): the first or
        // the last sequence number of the segment in the window
        const at = (seq - rcvNxt) >>> 0
        let ok = at < wnd
        if (segLen === 0) {
            if (wnd === 0) ok = at === 0
        } else if (wnd === 0) {
            // zero window: still take the ACK and RST fields (§3.10.7.4 "special allowance")
            if (at === 0) {
                if (f & (TCP_RST | TCP_ACK)) {
                    ok = true
                    len = 0
                    fin = false
                    c.ackNow = true // a zero-window probe: answer with our window
                }
            }
        } else if (!ok) ok = (seq + segLen - 1 - rcvNxt) >>> 0 < wnd
        if (!ok) {
            if (f & TCP_RST) return this.host.drop(Reason.NoSocket)
            // a retransmitted FIN in TIME-WAIT restarts the 2 MSL wait (§3.10.7.4 eighth)
            if (fin) {
                if (c.state === TcpState.TimeWait) c.timeWaitAt = now + 2 * this.limits.tcpMslMs
            }
            this.answerInvalid(c, segLen, now)
            // an old duplicate or a segment beyond our window (answered with an ACK)
            return this.host.drop(Reason.OutOfWindow)
        }
        c.lastHeard = now
        c.keepProbes = 0
        c.probesUnanswered = 0

        // trim to the window: drop what we already have and what does not fit
        if (((seq - rcvNxt) | 0) < 0) {
            const dataSkip = (rcvNxt - seq) | 0
            if (dataSkip >= len) {
                dataOff += len
                len = 0
            } else if (dataSkip > 0) {
                dataOff += dataSkip
                len -= dataSkip
            }
            seq = rcvNxt
        }
        const room = wnd - ((seq - rcvNxt) | 0)
        if (len > room) {
            len = room > 0 ? room : 0
            fin = false
        }

        // second: RST (RFC 5961 §3.2)
        if (f & TCP_RST) {
            if (seg.seq !== rcvNxt) return this.challengeAck(c, now)
            this.counters.resetsReceived++
            const s = c.state
            let err = TcpError.ConnectionReset
            // passive open goes back to LISTEN: the listener never saw it; active open is refused
            if (s === TcpState.SynReceived) err = c.listener >= 0 ? TcpError.None : TcpError.ConnectionRefused
            else if (s >= TcpState.Closing) err = TcpError.None // CLOSING, LAST-ACK, TIME-WAIT
            return this.toClosed(c, err)
        }

        // fourth: SYN in a synchronized state: challenge ACK (RFC 5961 §4.2)
        if (f & TCP_SYN) {
            if (!synAckOfSimultaneousOpen) return this.challengeAck(c, now)
        }

        // fifth: the ACK field
        if ((f & TCP_ACK) === 0) return this.host.drop(Reason.BadFlags)
        if (c.state === TcpState.SynReceived) {
            // SND.UNA < SEG.ACK <= SND.NXT, else <SEQ=SEG.ACK><CTL=RST>
            if ((ack - c.sndUna - 1) >>> 0 >= (c.sndMax - c.sndUna) >>> 0) {
                this.resetFor(0, now)
                return this.host.drop(Reason.BadFlags)
            }
            this.takeWindow(c, seg.window, seg.seq, ack)
            this.ackAdvances(c, ack, now)
            this.establish(c, now)
            if (c.finQueued) this.setState(c, TcpState.FinWait1)
        } else {
            // RFC 5961 §5.2: acceptable range SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT
            const lo = c.sndUna - (c.maxSndWnd > 1 ? c.maxSndWnd : 1)
            if ((ack - lo) >>> 0 > (c.sndMax - lo) >>> 0) {
                this.answerInvalid(c, segLen, now)
                return this.host.drop(Reason.BadFlags)
            }
            this.processAck(c, ack, fin ? len + 1 : len, now)
            if (!c.inUse) return
            if (c.state === TcpState.Closed) return
        }

        // seventh: segment text, in ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2 (4 to 6)
        const s = c.state
        if ((s - TcpState.Established) >>> 0 < 3) {
            if (len > 0) {
                if (!c.finReceived) this.receiveData(c, frame, dataOff, len, seq, now)
            }
            // eighth: FIN
            if (fin) {
                const finAt = seqAdd(seg.seq, dataLen)
                if (finAt === c.rcvNxt) this.finArrives(c, now)
                else if (((finAt - c.rcvNxt) | 0) > 0) {
                    // out of order: remember it, take it when the gap fills
                    c.finPending = true
                    c.finSeq = finAt
                    c.ackNow = true
                }
            }
        } else if (fin) {
            // TIME-WAIT: the retransmitted FIN restarts the 2 MSL wait; CLOSE-WAIT,
            // CLOSING, LAST-ACK: the FIN was already taken; ACK it again
            if (s === TcpState.TimeWait) c.timeWaitAt = now + 2 * this.limits.tcpMslMs
            c.ackNow = true
        }
    }

    /**
     * The ACK of a synchronized connection (§3.10.7.4 fifth, RFC 5681, RFC
     * 6582); `segData`: the segment's data and FIN in sequence numbers.
     */
    private processAck(c: TcpConnection, ack: number, segData: number, now: number): void {
        const seg = this.seg
        const una = c.sndUna
        if (((ack - una) | 0) > 0) this.ackAdvances(c, ack, now)
        else if (ack === una) {
            // RFC 5681 §2 duplicate ACK: nothing else in it, data in flight, the same window
            if (segData === 0) {
                if (c.sndNxt !== una) {
                    if (seg.window === c.sndWnd) this.duplicateAck(c, now)
                }
            }
        }
        // window update (§3.10.7.4): from a newer segment, or the same one with a newer ACK
        const d = (c.sndWl1 - seg.seq) | 0
        if (d < 0) this.takeWindow(c, seg.window, seg.seq, ack)
        else if (d === 0) {
            if (((c.sndWl2 - ack) | 0) <= 0) this.takeWindow(c, seg.window, seg.seq, ack)
        }

        // our FIN acknowledged
        if (!c.finSent) return
        if (((c.sndUna - c.sndFinSeq) | 0) <= 0) return
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
        let dataAcked = acked
        // the first ACK of our SYN acknowledges it, not data
        if (c.sndUna === c.iss) {
            if (!synAcked(c)) dataAcked--
        }
        c.sndUna = ack
        if (((c.sndNxt - ack) | 0) < 0) c.sndNxt = ack
        if (((c.pushUpTo - ack) | 0) < 0) c.pushUpTo = ack // never 2^31 behind, where it would read as ahead
        const ring = c.sendRing
        if (dataAcked > ring.length) dataAcked = ring.length // the rest is our FIN
        if (dataAcked > 0) ring.discard(dataAcked)
        // Karn: time only segments sent once. A sample sets the RTO without
        // backoff, as reset() does; without one, the RTO is backed off only
        // after a retransmission timeout (which counted a retry).
        const rtt = c.rtt
        if (c.rttStart !== OFF && ((ack - c.rttSeq) | 0) > 0) {
            rtt.sample(now - c.rttStart)
            c.rttStart = OFF
        } else if (c.retries > 0) rtt.reset()
        c.retries = 0
        c.persistBackoff = 0
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
        c.rtxAt = c.sndNxt !== ack ? now + rtt.rto : OFF
        if (c.onEvent) c.onEvent(c)
    }

    /** RFC 5681 §3.2 with RFC 6582: the third duplicate ACK starts fast retransmit. */
    private duplicateAck(c: TcpConnection, now: number): void {
        c.dupAcks++
        const mss = c.sndMss
        if (c.inRecovery) {
            c.cwnd += mss // inflate: a segment has left the network
            return
        }
        if (c.dupAcks !== 3) return
        if (((c.sndUna - c.recover) | 0) <= 0) {
            c.dupAcks = 0
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
            let total = n
            // a gap filled or remains: ACK at once (RFC 5681 §4.2), and keep
            // ACKing every segment for a while so the sender's recovery and
            // slow start are not paced by our delayed-ACK timer (Linux's quickack)
            let gap = false
            if (ooo) {
                total = ooo.advance(n)
                gap = total > n || ooo.count > 0
            }
            ring.length += total // (writeAt and the assembler keep it within the free space)
            c.rcvNxt = (c.rcvNxt + total) >>> 0
            if (gap) {
                c.ackNow = true
                c.quickAcks = QUICK_ACKS
            } else if (c.quickAcks > 0) {
                c.quickAcks--
                c.ackNow = true
            } else {
                // ACK every second segment at once, delay the first (RFC 5681 §4.2, RFC 1122 §4.2.3.2)
                c.unackedSegments++
                if (c.unackedSegments >= 2) c.ackNow = true
                else if (c.ackAt === OFF) c.ackAt = now + this.limits.tcpAckDelayMs
            }
            c.lastActivity = now
            if (c.finPending) {
                if (c.finSeq === c.rcvNxt) {
                    c.finPending = false
                    this.finArrives(c, now)
                }
            }
            if (c.onEvent) c.onEvent(c)
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
            if (c.finSent && ((c.sndUna - c.sndFinSeq) | 0) > 0) this.enterTimeWait(c, now)
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
        // not in SYN-SENT or SYN-RECEIVED (2, 3), nor in TIME-WAIT
        if ((s - TcpState.SynSent) >>> 0 >= 2) {
            if (s !== TcpState.TimeWait) {
                const burst = this.limits.tcpBurst
                while (sent < burst) {
                    if (!this.sendNext(c, now)) break
                    sent++
                }
            }
        }
        if (sent === 0) {
            if (c.ackNow) {
                if (s !== TcpState.SynSent) this.sendSegment(c, this.acceptableSeq(c), TCP_ACK, 0, now)
            }
        }
        // Data waits with nothing in flight: the window is zero, or too small
        // to be worth a segment (SWS avoidance). A lost window update would
        // leave both sides waiting, so the persist timer probes (RFC 9293
        // §3.8.6.1) or, for a small window, sends what fits anyway (RFC 1122
        // §4.2.3.4's override timeout).
        if (c.sndNxt === c.sndUna) {
            if (c.sendRing.length > 0) {
                if (c.persistAt === OFF) {
                    if (c.rtxAt === OFF) c.persistAt = now + c.rtt.rto
                }
            }
        }
    }

    /** Sends the next data segment (and/or our FIN) if allowed; false when nothing went out. */
    private sendNext(c: TcpConnection, now: number, force?: boolean): boolean {
        const seq = c.sndNxt
        const flight = (seq - c.sndUna) >>> 0
        let unsent = c.sendRing.length - flight
        if (unsent <= 0) {
            if (!c.finQueued) return false
            unsent = 0
        }
        // our FIN is out (or acknowledged): nothing follows it
        if (c.finSent) {
            if (((seq - c.sndFinSeq) | 0) > 0) return false
        }
        const mss = c.sndMss
        // RFC 3042 limited transmit: the first two duplicate ACKs each let one
        // new segment out beyond cwnd, so a small window still collects the
        // three duplicates of fast retransmit instead of waiting for the RTO
        let wnd = c.cwnd
        const dup = c.dupAcks
        if (dup > 0) {
            if (dup < 3) {
                if (!c.inRecovery) wnd += dup * mss
            }
        }
        if (c.sndWnd < wnd) wnd = c.sndWnd
        const usable = wnd - flight
        let len = unsent < mss ? unsent : mss
        if (len > usable) len = usable > 0 ? usable : 0
        let finNow = false
        if (c.finQueued) {
            if (len === unsent) finNow = c.state !== TcpState.Established && c.state !== TcpState.CloseWait
        }
        if (len === 0) {
            if (!finNow) return false
        } else if (len < mss) {
            // Data sent before (go-back-N after a timeout) passed these rules once: resend it as the window allows.
            if (!finNow && !force && ((seq - c.sndMax) | 0) >= 0) {
                // RFC 1122 §4.2.3.4 sender SWS avoidance, with Nagle (RFC 896);
                // corked: full segments only, until data is pushed (uncork, or a
                // writer waiting for room: see send())
                const pushing = ((c.pushUpTo - seq) | 0) > 0
                if (c.corked) {
                    if (!pushing) return false
                }
                // at least half the largest window the peer offered
                let go = c.maxSndWnd > 0 && len >= c.maxSndWnd >> 1
                if (len === unsent) {
                    // all that is queued: nothing in flight, Nagle off, or pushed
                    if (flight === 0 || !c.nagle) go = true
                    else if (pushing) {
                        if (((seq + len - c.pushUpTo) | 0) <= 0) go = true
                    }
                }
                if (!go) return false
            }
        }
        let flags = TCP_ACK
        if (len > 0) {
            if (len === unsent) flags |= TCP_PSH
        }
        let advance = len
        if (finNow) {
            flags |= TCP_FIN
            advance++
        }
        this.sendSegment(c, seq, flags, len, now)
        if (finNow) {
            c.finSent = true
            c.sndFinSeq = seqAdd(seq, len)
        }
        const nxt = seqAdd(seq, advance)
        c.sndNxt = nxt
        if (((nxt - c.sndMax) | 0) > 0) {
            // new data: time it if nothing is being timed (RFC 6298 §3, Karn)
            if (c.rttStart === OFF) {
                if (seq === c.sndMax) {
                    c.rttStart = now
                    c.rttSeq = seq
                }
            }
            c.sndMax = nxt
        } else if (advance > 0) {
            this.counters.retransmits++
        }
        if (c.rtxAt === OFF) c.rtxAt = now + c.rtt.rto
        c.persistAt = OFF
        return true
    }

    /** Sends the first unacknowledged segment again without moving SND.NXT (fast retransmit, partial ACKs). */
    private retransmitFirst(c: TcpConnection, now: number): void {
        const len = Math.min(Math.min(c.sendRing.length, c.sndMss), (c.sndNxt - c.sndUna) >>> 0)
        let flags = TCP_ACK
        if (c.finSent) {
            if (seqAdd(c.sndUna, len) === c.sndFinSeq) flags |= TCP_FIN
        }
        if (flags === TCP_ACK) {
            if (len === 0) return
        }
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
        const iss = c.iss
        if (c.retries === 0) {
            c.rttStart = now
            c.rttSeq = iss
        }
        this.sendSegment(c, iss, c.state === TcpState.SynSent ? TCP_SYN : TCP_SYN | TCP_ACK, 0, now)
        c.sndNxt = seqAdd(iss, 1)
        if (((c.sndNxt - c.sndMax) | 0) > 0) c.sndMax = c.sndNxt
        c.rtxAt = now + c.rtt.rto
    }

    /**
     * Emits one segment of c: `len` bytes of data from the send ring at `seq`,
     * with ACK = RCV.NXT and our current window. Any segment with ACK
     * acknowledges everything, so owed ACKs are settled.
     */
    private sendSegment(c: TcpConnection, seq: number, flags: number, len: number, now: number): void {
        let wnd = 0
        if ((flags & TCP_RST) === 0) wnd = this.windowToAdvertise(c)
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
        const host = this.host
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
            src = host.localIp()
            dst = this.segSrc
            h.srcPort = seg.dstPort
            h.dstPort = seg.srcPort
        }
        h.seq = seq
        h.ack = ack
        h.flags = flags
        h.window = window
        let hl = TCP_HEADER
        h.mss = 0
        if (flags & TCP_SYN) {
            h.mss = this.ourMss
            hl += 4
        }
        const len = flagsLen >> 8
        emitTcpMss(h, host.tx, host.l4Offset, hl, src, dst, len)
        const counters = this.counters
        if (flags & TCP_RST) counters.resetsSent++
        counters.segmentsOut++
        host.ipSend(dst, IP_PROTO_TCP, hl + len, now)
    }

    /** A RST (or RST,ACK) answering the segment being processed, unless it is a RST itself (§3.10.7.1). */
    private resetFor(dataLen: number, now: number): void {
        const seg = this.seg
        const f = seg.flags
        if (f & TCP_RST) return
        if (f & TCP_ACK) return this.emit(null, seg.ack, 0, TCP_RST, 0, now)
        let segLen = dataLen
        if (f & TCP_SYN) segLen++
        if (f & TCP_FIN) segLen++
        this.emit(null, 0, seqAdd(seg.seq, segLen), TCP_RST | TCP_ACK, 0, now)
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
        if (((c.sndMax - edge) | 0) > 0) {
            if (((edge - c.sndNxt) | 0) >= 0) return edge
        }
        return c.sndMax
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
        const ring = c.recvRing
        const free = ring.capacity - ring.length
        const current = (c.rcvAdv - c.rcvNxt) | 0
        // (the advertised edge never passes the free space: it moves with RCV.NXT
        // as data arrives, and only reading makes room)
        if (current < 0) return free
        if (current > free) return free
        if ((c.state - TcpState.SynSent) >>> 0 < 2) return free // SYN-SENT, SYN-RECEIVED
        const step = Math.min(ring.capacity >> 1, c.sndMss)
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
        const limits = this.limits
        if ((c.state - TcpState.SynSent) >>> 0 < 2) {
            // SYN-SENT, SYN-RECEIVED
            if (c.retries >= limits.tcpSynRetries) {
                this.counters.timeouts++
                return this.toClosed(c, TcpError.TimedOut)
            }
            c.retries++
            c.rtt.backoff()
            // RFC 6298 §5.7: a lost SYN leaves the data-phase RTO at 3 s (we keep the backed-off value)
            return this.sendSyn(c, now, true)
        }
        const flight = (c.sndNxt - c.sndUna) >>> 0
        if (flight === 0) return
        if (c.retries >= limits.tcpMaxRetries) {
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
        // only data waiting with nothing in flight
        if (c.sndNxt !== c.sndUna) return
        if (c.sendRing.length === 0) return
        if (c.sndWnd > 0) {
            this.sendNext(c, now, true)
            return
        }
        // Give up like the retransmission timer does (RFC 1122 §4.2.2.17 lets
        // a probing connection live while the peer answers): when the probes
        // go unanswered, or, once the user has closed, after as many probes as
        // retransmissions (Linux's orphan limit), so a silent peer cannot hold
        // a slot forever.
        const limits = this.limits
        const max = limits.tcpMaxRetries
        let give = c.probesUnanswered >= max
        if (!c.userOwned) {
            if (c.persistBackoff >= max) give = true
        }
        if (give) {
            this.counters.timeouts++
            return this.abortWith(c, TcpError.TimedOut, now)
        }
        this.counters.zeroWindowProbes++
        this.sendSegment(c, seqAdd(c.sndUna, -1), TCP_ACK, 0, now)
        c.persistBackoff++
        c.probesUnanswered++
        const maxRto = limits.tcpMaxRtoMs
        let wait = c.rtt.rto
        for (let i = 0; i < c.persistBackoff; i++) {
            if (wait >= maxRto) break
            wait *= 2
        }
        c.persistAt = now + Math.min(wait, maxRto)
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
        if (c.error === TcpError.None) c.error = err
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
     * A free slot, else the oldest TIME-WAIT one the user no longer holds
     * (lwIP's policy); with `reclaim` 2 (a peer proven by a SYN cookie) then
     * the oldest half-open one; with `reclaim` 1 or 2 then the one its user
     * offered back the longest ago, with nothing unread or unacknowledged (an
     * idle keep-alive connection, a request head too slow: lwIP's
     * tcp_kill_prio).
     */
    private allocate(now: number, reclaim: number): TcpConnection {
        let timeWait: TcpConnection = null
        let halfOpen: TcpConnection = null
        let offered: TcpConnection = null
        for (const c of this.pool) {
            if (!c.inUse) return this.claim(c, now)
            if (!c.userOwned) {
                if (c.state === TcpState.TimeWait) {
                    if (!timeWait || c.timeWaitAt < timeWait.timeWaitAt) timeWait = c
                } else if (c.state === TcpState.SynReceived) {
                    if (!halfOpen || c.lastHeard < halfOpen.lastHeard) halfOpen = c
                }
            }
            const at = this.reclaimAt[c.id]
            if (at !== OFF && at <= now) {
                if (c.recvRing.length + c.sendRing.length === 0) {
                    if (!offered || at < this.reclaimAt[offered.id]) offered = c
                }
            }
        }
        let oldest = timeWait
        if (!oldest) {
            if (reclaim === 2) oldest = halfOpen
            if (!oldest) {
                if (reclaim === 0) return null
                oldest = offered
                if (!oldest) return null
            }
        }
        const counters = this.counters
        if (oldest.state === TcpState.TimeWait) counters.timeWaitReclaimed++
        else if (oldest.userOwned) {
            counters.idleReclaimed++
            this.abort(oldest, now) // its user sees ECONNABORTED, then EBADF: the handle's generation is gone
        } else counters.halfOpenEvicted++
        this.free(oldest)
        return this.claim(oldest, now)
    }

    private claim(c: TcpConnection, now: number): TcpConnection {
        const l = this.limits
        c.reset(l, now)
        c.sendRing.clear()
        c.recvRing.clear()
        if (c.ooo) c.ooo.clear()
        this.invalidAckAt[c.id] = -INVALID_ACK_INTERVAL_MS
        this.reclaimAt[c.id] = OFF
        const rtt = c.rtt
        rtt.srtt = 0
        rtt.rttvar = 0
        rtt.rto = l.tcpInitialRtoMs
        return c
    }

    private free(c: TcpConnection): void {
        if (!c.inUse) return
        this.setState(c, TcpState.Closed)
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
            if (c.remotePort === remotePort) {
                if (c.localPort === localPort) {
                    if (c.remoteIp === remoteIp) {
                        if (c.inUse) {
                            if (c.state !== TcpState.Closed) return c
                        }
                    }
                }
            }
        }
        return null
    }

    private findListener(port: number): TcpListener {
        for (const l of this.listeners) {
            if (l.port === port) {
                if (l.inUse) return l
            }
        }
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
        for (const c of this.pool) {
            if (c.listener === l.index) {
                if (c.inUse) n++
            }
        }
        return n
    }

    private ephemeralPort(remoteIp: number, remotePort: number): number {
        // RFC 6056 §3.3.3-like: a random start, then the next free port
        for (let tries = 0; tries < 64; tries++) {
            const p = this.nextPort
            this.nextPort = p >= 65535 ? 49152 : p + 1
            if (!this.find(remoteIp, remotePort, p)) {
                if (!this.findListener(p)) return p
            }
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
        this.open(c, dst, seg.dstPort, src, seg.srcPort, seg.ack, COOKIE_MSS[(iss >> 24) & 7] || 0) // our SYN is acknowledged already
        c.iss = iss
        c.irs = irs
        c.rcvNxt = seg.seq
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
        return this.hasher.hashWords(3, src, ((srcPort & 0xffff) << 16) | (dstPort & 0xffff), (irs + Math.imul(slot, 0x9e3779b9)) | 0)
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

/** A timer that runs (not OFF) and is due at now. */
function due(t: number, now: number): boolean {
    return t !== OFF && now >= t
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
