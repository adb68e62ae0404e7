// A TCP state tracker that infers each endpoint's RFC 9293 state from the
// segments of a capture alone, for captures of any stack (host only).
//
// It follows the event processing of RFC 9293 §3.10.7 from the outside:
// each segment is something its sender did (a SYN, a FIN or a RST changes
// the sender's state before it leaves) and something its receiver processes
// (the ACK first, §3.10.7.4 fifth step, then the FIN, eighth step). The
// receiver's view is rebuilt from what the capture shows: a FIN counts when
// every byte before it has been seen (a FIN that overtook data waits for the
// gap to fill), or when the receiver acknowledges it (the capture missed
// something). A capture taken at one host is therefore exact for that host;
// for the far host it assumes that what was captured arrived.
//
// Real-world shapes it gets right: a FIN that carries the ACK of the other
// side's FIN (FIN-WAIT-1 -> TIME-WAIT, FIN-WAIT-2 skipped); a half-close with
// data still flowing the other way; simultaneous close (CLOSING); refused
// connections; resets in any state, accepted only when the receiver would
// accept them (RFC 5961 §3.2: the sequence number must be exactly RCV.NXT;
// in SYN-SENT, the ACK must acknowledge the SYN); retransmissions and
// duplicates, which change nothing; a capture that starts mid-connection
// (state "unknown" until a SYN, FIN or RST says more); simultaneous open.
// Options (window scale, SACK, timestamps) are read only for the window.
//
// What a capture cannot show is a timer: TIME-WAIT ends 2 MSL after it
// began (restarted by a retransmitted FIN, RFC 9293 §3.10.7.4), which the
// tracker reports when the capture's time passes it (`timeWaitMs`, 60 s by
// default: Linux's fixed TIME-WAIT and ds-tcpip's 2 x 30 s).

import { ipToString } from "../wire/bytes.js"
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../wire/tcp.js"

export type StateName =
    | "unknown"
    | "CLOSED"
    | "LISTEN"
    | "SYN-SENT"
    | "SYN-RECEIVED"
    | "ESTABLISHED"
    | "FIN-WAIT-1"
    | "FIN-WAIT-2"
    | "CLOSE-WAIT"
    | "CLOSING"
    | "LAST-ACK"
    | "TIME-WAIT"

/** One TCP segment as a capture shows it. */
export interface Segment {
    /** Index of the packet in the capture. */
    index: number
    timeMs: number
    src: number
    srcPort: number
    dst: number
    dstPort: number
    flags: number
    seq: number
    ack: number
    /** The window field as sent (not scaled). */
    window: number
    /** Payload bytes. */
    length: number
    /** Window scale option (SYN segments only), or -1. */
    wscale: number
}

/** A state change of one endpoint. */
export interface StateChange {
    /** 0: the connection's first endpoint (the one that sent the first segment seen), 1: the other. */
    endpoint: 0 | 1
    from: StateName
    to: StateName
    timeMs: number
    /** "send": the endpoint changed state to send this segment; "receive": on processing it; "timer": 2 MSL passed. */
    cause: "send" | "receive" | "timer"
}

/** What is remarkable about a segment. */
export interface SegmentNotes {
    /** Its sequence space was sent before (it starts below the highest sequence number seen from its sender). */
    retransmission?: boolean
    /** A probe of a zero window (RFC 9293 §3.8.6.1). */
    zeroWindowProbe?: boolean
    /** A keep-alive probe (RFC 9293 §3.8.4: SND.NXT - 1, at most one garbage byte). */
    keepAlive?: boolean
    /** Its sender advertises a window different from its previous segment. */
    windowChange?: boolean
    /** Data before it in its sender's stream was not seen (lost before the capture point, or reordered). */
    gapBefore?: boolean
    /** Inferred lost: its sequence space was sent again while the receiver had not acknowledged it. */
    lost?: boolean
    /** A reset that the receiver accepts. */
    resetAccepted?: boolean
    /** A reset that the receiver ignores (not exactly RCV.NXT: RFC 5961 §3.2). */
    resetIgnored?: boolean
}

export interface TrackedSegment {
    seg: Segment
    conn: TrackedConnection
    /** Direction: 0 from endpoint 0 to endpoint 1, 1 the other way. */
    dir: 0 | 1
    notes: SegmentNotes
    /** State changes of the sender that this segment shows (they happened before it left). */
    before: StateChange[]
    /** State changes of the receiver on processing it. */
    after: StateChange[]
}

class Endpoint {
    state: StateName
    /** Initial sequence number, once a SYN was seen. */
    iss = 0
    issKnown = false
    /** Highest sequence number sent + 1 (SND.MAX), once known. */
    sndMax = 0
    sndKnown = false
    /** Sequence number of our FIN, once sent. */
    finSeq = 0
    finSent = false
    finAcked = false
    /** The peer's FIN has been processed. */
    finReceived = false
    /** The change that receiving it made, and the list it is in (undone if the FIN turns out to be still in flight). */
    finChange: StateChange = null
    finChangeList: StateChange[] = null
    /** How far the peer's stream has been seen contiguously (RCV.NXT as rebuilt). */
    rcvNxt = 0
    rcvKnown = false
    /** Seen ranges of the peer's stream beyond rcvNxt (out of order), [start, end) pairs. */
    ooo: number[] = []
    /** Highest ACK this endpoint sent, once it sent one. */
    ackMax = 0
    ackKnown = false
    /** Last window field sent, or -1. */
    lastWindow = -1
    lastWasSyn = false
    /** It advertised a zero window and the peer has sent no new data since. */
    zeroWindow = false
    /** Window scale this endpoint offered in its SYN (-1: none). */
    wscale = -1
    /** The peer offered window scaling too, so this endpoint's windows are scaled (RFC 7323 §2.2). */
    peerScales = false
    /** When TIME-WAIT (re)started. */
    timeWaitSince = 0
    /** When FIN-WAIT-2 began. */
    finWait2Since = 0

    constructor(
        readonly ip: number,
        readonly port: number,
        initial: StateName,
    ) {
        this.state = initial
    }

    get name(): string {
        return ipToString(this.ip) + "." + this.port
    }
}

export class TrackedConnection {
    /** The capture's connections, numbered from 1 in order of their first segment. */
    readonly id: number
    readonly ends: [Endpoint, Endpoint]
    readonly segments: TrackedSegment[] = []
    /** Every state change in order, segment-driven and timer-driven. */
    readonly changes: StateChange[] = []
    /** The capture begins after the connection did. */
    readonly midstream: boolean
    /** The first endpoint opened the connection (sent the SYN). */
    readonly opened: boolean
    /** State of each endpoint before the first segment. */
    readonly initial: [StateName, StateName]
    /** Timer-driven changes that came after a given segment index (for printing in order). */
    readonly timerAfter: { afterSegment: number; change: StateChange }[] = []

    constructor(id: number, first: Segment) {
        this.id = id
        const syn = (first.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN
        this.midstream = !syn
        this.opened = syn
        // the opener is CLOSED before its SYN; the other side listens (it is CLOSED to us until it answers)
        const s0: StateName = syn ? "CLOSED" : "unknown"
        const s1: StateName = syn ? "CLOSED" : "unknown"
        this.ends = [new Endpoint(first.src, first.srcPort, s0), new Endpoint(first.dst, first.dstPort, s1)]
        this.initial = [s0, s1]
    }

    /** "a.b.c.d.p > e.f.g.h.q" of its first segment. */
    get label(): string {
        return this.ends[0].name + " > " + this.ends[1].name
    }

    state(endpoint: 0 | 1): StateName {
        return this.ends[endpoint].state
    }

    endpointName(endpoint: 0 | 1): string {
        return this.ends[endpoint].name
    }
}

export interface TrackerOptions {
    /** How long TIME-WAIT lasts (2 MSL), in ms. Default 60000. */
    timeWaitMs?: number
    /** 2 MSL of one endpoint, when endpoints differ (ds-tcpip's from its state events, the kernel's 60 s). */
    timeWaitFor?: (ip: number, port: number) => number
    /**
     * Segments kept per connection (default all, for a file). Following live traffic, a few
     * recent ones are enough: they serve to find the first copy of a retransmission.
     */
    keepSegments?: number
}

function key(a: number, ap: number, b: number, bp: number): string {
    return a < b || (a === b && ap <= bp) ? a + ":" + ap + "-" + b + ":" + bp : b + ":" + bp + "-" + a + ":" + ap
}

function lt(a: number, b: number): boolean {
    return ((a - b) | 0) < 0
}
function le(a: number, b: number): boolean {
    return ((a - b) | 0) <= 0
}
function add(a: number, n: number): number {
    return (a + n) >>> 0
}

export class TcpStateTracker {
    readonly connections: TrackedConnection[] = []
    readonly timeWaitMs: number
    private readonly timeWaitFor: (ip: number, port: number) => number
    private readonly keepSegments: number
    private byKey = new Map<string, TrackedConnection>()
    private lastId = 0
    private timeWaiting = new Map<Endpoint, { c: TrackedConnection; e: 0 | 1 }>()

    constructor(o: TrackerOptions = {}) {
        this.timeWaitMs = o.timeWaitMs ?? 60000
        this.timeWaitFor = o.timeWaitFor ?? null
        this.keepSegments = o.keepSegments ?? Infinity
    }

    /** Processes the next segment of the capture (in capture order). */
    add(seg: Segment): TrackedSegment {
        if (seg.timeMs === seg.timeMs) this.expireTimeWait(seg.timeMs)
        const k = key(seg.src, seg.srcPort, seg.dst, seg.dstPort)
        let c = this.byKey.get(k)
        if (c && this.startsNewIncarnation(c, seg)) {
            // a new connection on the same four-tuple: one in TIME-WAIT makes way for it (RFC 6191)
            for (const e of [0, 1] as const) {
                if (c.ends[e].state === "TIME-WAIT") this.change(c, e, "CLOSED", seg.timeMs, "receive", null)
            }
            c = null
        }
        if (!c) {
            c = new TrackedConnection(++this.lastId, seg)
            this.connections.push(c)
            this.byKey.set(k, c)
        }
        const dir: 0 | 1 = c.ends[0].ip === seg.src && c.ends[0].port === seg.srcPort ? 0 : 1
        const t: TrackedSegment = { seg, conn: c, dir, notes: {}, before: [], after: [] }
        c.segments.push(t)
        if (c.segments.length > this.keepSegments) c.segments.shift()
        this.process(c, t)
        return t
    }

    /** Stops following a connection (live use: it has been drawn). */
    forget(c: TrackedConnection): void {
        const i = this.connections.indexOf(c)
        if (i >= 0) this.connections.splice(i, 1)
        const k = key(c.ends[0].ip, c.ends[0].port, c.ends[1].ip, c.ends[1].port)
        if (this.byKey.get(k) === c) this.byKey.delete(k)
        for (const ep of c.ends) this.timeWaiting.delete(ep)
    }

    /** Reports the TIME-WAITs that have ended by `timeMs` (the end of the capture, or now when live). */
    finish(timeMs: number): void {
        this.expireTimeWait(timeMs)
    }

    private startsNewIncarnation(c: TrackedConnection, seg: Segment): boolean {
        if ((seg.flags & (TCP_SYN | TCP_ACK | TCP_RST)) !== TCP_SYN) return false
        const s = c.ends[c.ends[0].ip === seg.src && c.ends[0].port === seg.srcPort ? 0 : 1]
        // the same SYN again is a retransmission; a new ISN from a closed or waiting endpoint is a new connection
        // (even after a reset: a reset that never arrived, lost after the capture point)
        if (s.issKnown && s.iss === seg.seq) return false
        if (s.state === "CLOSED" || s.state === "TIME-WAIT") return true
        return s.issKnown && s.iss !== seg.seq && s.state !== "SYN-SENT"
    }

    private twOf(ep: Endpoint): number {
        return this.timeWaitFor ? this.timeWaitFor(ep.ip, ep.port) : this.timeWaitMs
    }

    private expireTimeWait(now: number): void {
        if (!this.timeWaiting.size) return
        for (const [ep, w] of [...this.timeWaiting]) {
            const tw = this.twOf(ep)
            if (ep.state !== "TIME-WAIT") this.timeWaiting.delete(ep)
            else if (now >= ep.timeWaitSince + tw) {
                const ch = this.change(w.c, w.e, "CLOSED", ep.timeWaitSince + tw, "timer", null)
                w.c.timerAfter.push({ afterSegment: w.c.segments.length - 1, change: ch })
            }
        }
    }

    private change(c: TrackedConnection, e: 0 | 1, to: StateName, timeMs: number, cause: StateChange["cause"], list: StateChange[]): StateChange {
        const ep = c.ends[e]
        const ch: StateChange = { endpoint: e, from: ep.state, to, timeMs, cause }
        ep.state = to
        // only the endpoints in TIME-WAIT are looked at for its end (a capture may hold many connections)
        if (to === "TIME-WAIT") this.timeWaiting.set(ep, { c, e })
        else this.timeWaiting.delete(ep)
        if (to === "TIME-WAIT") ep.timeWaitSince = timeMs
        if (to === "FIN-WAIT-2") ep.finWait2Since = timeMs
        c.changes.push(ch)
        if (list) list.push(ch)
        return ch
    }

    private process(c: TrackedConnection, t: TrackedSegment): void {
        const seg = t.seg
        const S = c.ends[t.dir]
        const R = c.ends[t.dir === 0 ? 1 : 0]
        const se = t.dir
        const re: 0 | 1 = t.dir === 0 ? 1 : 0
        const syn = (seg.flags & TCP_SYN) !== 0
        const fin = (seg.flags & TCP_FIN) !== 0
        const rst = (seg.flags & TCP_RST) !== 0
        const hasAck = (seg.flags & TCP_ACK) !== 0
        const now = seg.timeMs
        // where the segment's data starts (after a SYN) and where its sequence space ends
        const dataSeq = syn ? add(seg.seq, 1) : seg.seq
        const end = add(dataSeq, seg.length + (fin ? 1 : 0))

        // ---- notes about the sender's side ----
        // (a SYN's window is never scaled, so the first window after it is not a change)
        if (S.lastWindow >= 0 && seg.window !== S.lastWindow && !rst && !S.lastWasSyn) t.notes.windowChange = true
        if (!rst) S.lastWindow = seg.window
        S.lastWasSyn = syn
        // a zero window holds the peer's data back until new data flows again (probes cross window updates)
        if (seg.window === 0 && !rst && !syn) S.zeroWindow = true
        if (seg.length > 0 && S.sndKnown && lt(add(S.sndMax, -1), seg.seq) && R.lastWindow !== 0) R.zeroWindow = false
        if (syn && seg.wscale >= 0) S.wscale = seg.wscale
        if (syn && (seg.flags & TCP_ACK) !== 0) {
            // the SYN,ACK settles whether both sides scale
            const both = seg.wscale >= 0 && R.wscale >= 0
            S.peerScales = both
            R.peerScales = both
        }
        const spaceLen = seg.length + (syn ? 1 : 0) + (fin ? 1 : 0)
        if (S.sndKnown && !rst && !syn && !fin && seg.length <= 1) {
            if (R.zeroWindow && (seg.length === 1 || seg.seq === add(S.sndMax, -1))) t.notes.zeroWindowProbe = true
            else if (hasAck && seg.seq === add(S.sndMax, -1)) t.notes.keepAlive = true
        }
        if (S.sndKnown && !rst && spaceLen > 0 && lt(seg.seq, S.sndMax) && !t.notes.keepAlive) {
            t.notes.retransmission = true
            if (!t.notes.zeroWindowProbe) this.markLost(c, t)
        }

        // ---- RST (RFC 9293 §3.10.7.4 second step; RFC 5961 §3.2) ----
        if (rst) {
            // accepted: exactly RCV.NXT (or, in SYN-SENT, acknowledging the SYN); in the window but
            // not exact: answered by a challenge ACK, yet its sender did send it; outside the
            // window: not from this connection's sender (a stray or blind reset), nobody changes
            let accept: boolean
            let fromSender: boolean
            if (R.state === "SYN-SENT") {
                accept = hasAck && R.issKnown && seg.ack === add(R.iss, 1)
                fromSender = accept
            } else if (!R.rcvKnown) {
                accept = R.state !== "CLOSED"
                fromSender = true
            } else {
                accept = seg.seq === R.rcvNxt || (S.sndKnown && seg.seq === S.sndMax)
                fromSender = accept || this.inWindow(R, seg.seq, 0)
            }
            if (fromSender) {
                if (S.state === "TIME-WAIT") this.closedEarlier(c, se, now)
                if (S.state !== "CLOSED") this.change(c, se, "CLOSED", now, "send", t.before)
            }
            if (accept && R.state !== "CLOSED") {
                t.notes.resetAccepted = true
                this.change(c, re, "CLOSED", now, "receive", t.after)
            } else if (R.state !== "CLOSED") t.notes.resetIgnored = true
            return
        }

        // ---- the sender's own state: SYN and FIN leave after the state changed ----
        if (syn && !hasAck) {
            if (S.state === "CLOSED" || S.state === "unknown") {
                this.change(c, se, "SYN-SENT", now, "send", t.before)
                S.iss = seg.seq
                S.issKnown = true
            }
        } else if (syn && hasAck) {
            if (S.state === "CLOSED" || S.state === "LISTEN" || S.state === "unknown") {
                // it answered a SYN, so it was listening: LISTEN -> SYN-RECEIVED (RFC 9293 §3.10.7.2)
                if (S.state === "CLOSED") S.state = "LISTEN"
                this.change(c, se, "SYN-RECEIVED", now, "send", t.before)
                S.iss = seg.seq
                S.issKnown = true
            } else if (S.state === "SYN-SENT") {
                // simultaneous open without having seen the other SYN
                this.change(c, se, "SYN-RECEIVED", now, "send", t.before)
            }
        }
        if (fin && S.finReceived && S.finChange && R.finSent && hasAck && lt(seg.ack, add(R.finSeq, 1)) && S.state === S.finChange.to) {
            // its FIN does not acknowledge the peer's: the peer's FIN was still on its way (the two
            // crossed: simultaneous close, seen from a capture point between them)
            this.undo(c, S.finChange, S.finChangeList)
            S.state = S.finChange.from
            S.finReceived = false
            S.finChange = null
            S.rcvNxt = R.finSeq
        }
        if (fin && !(S.finSent && S.finSeq === add(end, -1))) {
            S.finSent = true
            S.finSeq = add(end, -1)
            const s = S.state
            if (s === "CLOSE-WAIT" || (s === "unknown" && S.finReceived)) this.change(c, se, "LAST-ACK", now, "send", t.before)
            else if (s === "ESTABLISHED" || s === "SYN-RECEIVED" || s === "unknown") this.change(c, se, "FIN-WAIT-1", now, "send", t.before)
        }
        if (!S.sndKnown || lt(S.sndMax, end)) {
            S.sndMax = end
            S.sndKnown = true
        }
        if (hasAck && (!S.ackKnown || lt(S.ackMax, seg.ack))) {
            S.ackMax = seg.ack
            S.ackKnown = true
        }

        // ---- the receiver: SYN, then ACK (fifth step), then data and FIN (seventh and eighth) ----
        if (syn) {
            if (!R.rcvKnown || R.state === "SYN-SENT" || R.state === "CLOSED" || R.state === "LISTEN") {
                R.rcvNxt = add(seg.seq, 1)
                R.rcvKnown = true
                R.ooo = []
            }
            if (!hasAck && R.state === "SYN-SENT") this.change(c, re, "SYN-RECEIVED", now, "receive", t.after) // simultaneous open
            if (hasAck && R.state === "SYN-SENT" && R.issKnown && seg.ack === add(R.iss, 1)) this.change(c, re, "ESTABLISHED", now, "receive", t.after)
        }
        // RFC 9293 §3.10.7.4 first step: a segment entirely outside the receive window (an old
        // duplicate, a keep-alive) is answered with an ACK and dropped; its ACK is not processed
        const acceptable = syn || !R.rcvKnown || this.inWindow(R, seg.seq, spaceLen)
        if (acceptable) this.receive(c, t, S, R, re, now, dataSeq)
        // a FIN again in TIME-WAIT (our last ACK was lost) restarts the 2 MSL (RFC 9293 §3.10.7.4)
        if (fin && R.state === "TIME-WAIT") R.timeWaitSince = now
        // the sender acknowledged more than the capture showed of its peer's stream: it was there
        if (hasAck && S.rcvKnown && lt(S.rcvNxt, seg.ack) && !syn) {
            const peer = R
            if (peer.finSent && seg.ack === add(peer.finSeq, 1)) {
                S.rcvNxt = peer.finSeq
                this.deliverFin(c, t, R, S, se, now, null, true)
            } else if (!peer.finSent || lt(seg.ack, peer.finSeq)) {
                S.rcvNxt = seg.ack
            }
        }
    }

    /** Whether any of [seq, seq + len) falls in R's receive window (RFC 9293 §3.10.7.4, the four cases). */
    private inWindow(R: Endpoint, seq: number, len: number): boolean {
        const wnd = R.lastWindow < 0 ? 65535 : R.lastWindow * 2 ** (R.wscale >= 0 && R.peerScales ? Math.min(R.wscale, 14) : 0)
        const off = (seq - R.rcvNxt) | 0
        if (len === 0) return wnd === 0 ? off === 0 : off >= 0 && off < wnd
        if (wnd === 0) return false
        return (off >= 0 && off < wnd) || (off + len - 1 >= 0 && off + len - 1 < wnd)
    }

    /** The ACK (fifth step), then data and FIN (seventh and eighth) of an acceptable segment. */
    private receive(c: TrackedConnection, t: TrackedSegment, S: Endpoint, R: Endpoint, re: 0 | 1, now: number, dataSeq: number): void {
        const seg = t.seg
        const syn = (seg.flags & TCP_SYN) !== 0
        const fin = (seg.flags & TCP_FIN) !== 0
        const hasAck = (seg.flags & TCP_ACK) !== 0
        let finWait2Change: StateChange = null
        // the sender's FIN comes before this segment in its stream, so it has arrived first
        if (S.finSent && !R.finReceived && R.rcvKnown && R.rcvNxt === S.finSeq && le(add(S.finSeq, 1), seg.seq)) this.deliverFin(c, t, S, R, re, now, null)
        if (hasAck && R.issKnown && !syn) {
            if (R.state === "SYN-RECEIVED" && le(add(R.iss, 1), seg.ack)) this.change(c, re, "ESTABLISHED", now, "receive", t.after)
        }
        if (hasAck && R.finSent && !R.finAcked && le(add(R.finSeq, 1), seg.ack)) {
            R.finAcked = true
            if (R.state === "FIN-WAIT-1") finWait2Change = this.change(c, re, "FIN-WAIT-2", now, "receive", t.after)
            else if (R.state === "CLOSING") this.change(c, re, "TIME-WAIT", now, "receive", t.after)
            else if (R.state === "LAST-ACK") this.change(c, re, "CLOSED", now, "receive", t.after)
        }
        // the peer's stream as the receiver sees it
        if (!R.rcvKnown) {
            // capture started mid-connection: take this segment as the first one
            R.rcvNxt = dataSeq
            R.rcvKnown = true
        }
        if (seg.length > 0 || fin) {
            if (lt(R.rcvNxt, dataSeq)) t.notes.gapBefore = true
            const dataEnd = add(dataSeq, seg.length)
            this.cover(R, dataSeq, dataEnd)
        }
        this.deliverFin(c, t, S, R, re, now, finWait2Change)
    }

    /**
     * An endpoint in TIME-WAIT answers with ACKs, never a reset: one that
     * resets had closed already. When the FIN that took it from FIN-WAIT-2 to
     * TIME-WAIT is the segment just before, it had closed in FIN-WAIT-2 (an
     * orphaned FIN-WAIT-2 times out after 2 MSL in ds-tcpip, tcp_fin_timeout
     * in Linux), and that FIN found no connection. Otherwise its TIME-WAIT
     * ended early (a stack reusing the slot).
     */
    private closedEarlier(c: TrackedConnection, e: 0 | 1, now: number): void {
        const ep = c.ends[e]
        const prev = c.segments[c.segments.length - 2]
        const idx = c.changes.length - 1
        const last = c.changes[idx]
        if (prev && last && last.endpoint === e && last.from === "FIN-WAIT-2" && last.to === "TIME-WAIT" && prev.after[prev.after.length - 1] === last) {
            last.to = "CLOSED"
            last.cause = "timer"
            last.timeMs = Math.min(ep.finWait2Since + this.twOf(ep), last.timeMs)
            ep.state = "CLOSED"
            this.timeWaiting.delete(ep)
            return
        }
        const ch = this.change(c, e, "CLOSED", now, "timer", null)
        c.timerAfter.push({ afterSegment: c.segments.length - 2, change: ch })
    }

    /** The receiver processes the sender's FIN once all data before it was seen (eighth step). */
    private deliverFin(c: TrackedConnection, t: TrackedSegment, S: Endpoint, R: Endpoint, re: 0 | 1, now: number, finWait2Change: StateChange, late = false): void {
        if (!S.finSent || R.finReceived || R.rcvNxt !== S.finSeq) return
        R.rcvNxt = add(S.finSeq, 1)
        R.finReceived = true
        if (R.state === "TIME-WAIT") {
            R.timeWaitSince = now
            return
        }
        const list = late ? t.before : t.after
        const cause = late ? "send" : "receive"
        let to: StateName = null
        const s = R.state
        if (s === "ESTABLISHED" || s === "SYN-RECEIVED" || s === "unknown") to = R.finSent && s === "unknown" ? (R.finAcked ? "TIME-WAIT" : "CLOSING") : "CLOSE-WAIT"
        else if (s === "FIN-WAIT-1") to = R.finAcked ? "TIME-WAIT" : "CLOSING"
        else if (s === "FIN-WAIT-2") to = "TIME-WAIT"
        if (!to) return
        if (finWait2Change && to === "TIME-WAIT") {
            // one segment acknowledged our FIN and carried theirs: FIN-WAIT-1 -> TIME-WAIT (RFC 9293 §3.10.7.4, FIN-WAIT-1)
            finWait2Change.to = "TIME-WAIT"
            R.state = "TIME-WAIT"
            R.timeWaitSince = now
            this.timeWaiting.set(R, { c, e: re })
            return
        }
        R.finChange = this.change(c, re, to, now, cause, list)
        R.finChangeList = list
    }

    private undo(c: TrackedConnection, ch: StateChange, list: StateChange[]): void {
        const i = c.changes.indexOf(ch)
        if (i >= 0) c.changes.splice(i, 1)
        const j = list ? list.indexOf(ch) : -1
        if (j >= 0) list.splice(j, 1)
    }

    /** Adds [start, end) of the peer's stream to what R has seen, advancing rcvNxt over filled gaps. */
    private cover(R: Endpoint, start: number, end: number): void {
        if (le(end, R.rcvNxt)) return
        if (le(start, R.rcvNxt)) {
            R.rcvNxt = end
        } else {
            R.ooo.push(start, end)
            if (R.ooo.length > 64) R.ooo.splice(0, 2) // bounded: the oldest hole is forgotten
        }
        // pull in the out-of-order ranges that now touch rcvNxt
        for (let moved = true; moved; ) {
            moved = false
            for (let i = 0; i < R.ooo.length; i += 2) {
                if (le(R.ooo[i], R.rcvNxt)) {
                    if (lt(R.rcvNxt, R.ooo[i + 1])) R.rcvNxt = R.ooo[i + 1]
                    R.ooo.splice(i, 2)
                    moved = true
                    break
                }
            }
        }
    }

    /** A retransmission: the earlier copy of its sequence space that the receiver never acknowledged was lost. */
    private markLost(c: TrackedConnection, t: TrackedSegment): void {
        const seq = t.seg.seq
        const receiver = c.ends[t.dir === 0 ? 1 : 0]
        if (receiver.ackKnown && le(add(seq, Math.max(1, t.seg.length)), receiver.ackMax)) return // already acknowledged: spurious
        for (let i = c.segments.length - 2; i >= 0; i--) {
            const o = c.segments[i]
            if (o.dir === t.dir && o.seg.seq === seq && !(o.seg.flags & TCP_RST)) {
                o.notes.lost = true
                return
            }
        }
    }
}
