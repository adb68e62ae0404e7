// A connection's transmission control block (RFC 9293 §3.3.1), with its
// fixed send and receive rings. Allocated once, in the pool, and reused:
// `generation` changes every time the slot is freed so that a handle to an
// old connection can never reach a new one. Fields with an initializer here
// are set when a connection opens; the others by reset() when a slot is
// claimed, and once in the constructor: every field must exist from the
// start, as an object that grows later needs a larger block of a heap that
// may by then be full or fragmented.

import { ByteRing } from "./ring.js"
import { Assembler } from "./assembler.js"
import { RttEstimator } from "./rtt.js"
import { TcpError, TcpState } from "./state.js"
import { Limits } from "../config.js"

/** Timer "not running". */
export const OFF = -1

/** @devsWhenUsed */
export class TcpConnection {
    /** Index in the pool, for traces. */
    readonly id: number
    state: TcpState
    /** Changes whenever the slot is freed; handles compare it. */
    generation = 0
    /** The slot is in use (in any state, CLOSED included while the user holds it). */
    inUse = false
    /** The user holds this connection (accepted or connected, not yet closed). */
    userOwned: boolean
    /** Passive open: the listener it belongs to, until accepted (-1 otherwise). */
    listener: number
    /** Passive open: the ESTABLISHED connection waits in the listener's accept queue. */
    queued: boolean
    /** Position in the accept queue (lower is older). */
    acceptOrder = 0
    error: TcpError

    localIp = 0
    localPort = 0
    remoteIp = 0
    remotePort = 0

    // send sequence space (RFC 9293 §3.3.1, Figure 4)
    iss = 0
    sndUna = 0
    sndNxt = 0
    /** Highest sequence number sent so far (SND.NXT can move back on retransmission). */
    sndMax = 0
    sndWnd: number
    sndWl1 = 0
    sndWl2 = 0
    /** Largest window the peer offered (RFC 5961 §5 MAX.SND.WND, RFC 1122 SWS avoidance). */
    maxSndWnd: number
    /** Effective send MSS: the peer's MSS option (536 without one, RFC 9293 §3.7.1) capped by our MTU. */
    sndMss = 0

    // receive sequence space
    irs = 0
    rcvNxt = 0
    /** Right edge of the window we last advertised (never moved left, RFC 9293 §3.8.6). */
    rcvAdv: number

    /** Unacknowledged and unsent data; its head is at SND.UNA (once the SYN is acknowledged). */
    readonly sendRing: ByteRing
    /** Received in-order data not yet read, followed by out-of-order data at its offsets. */
    readonly recvRing: ByteRing
    /**
     * Out-of-order ranges, once Tcp.enableOutOfOrder() ran; null before:
     * out-of-order data is then dropped (and answered with a duplicate ACK).
     */
    ooo: Assembler = null
    /** A FIN arrived out of order at this sequence number (valid when finPending). */
    finPending: boolean
    finSeq = 0
    /** The user shut down sending: a FIN follows the data in the ring. */
    finQueued: boolean
    /** Our FIN has been sent at least once, at sndFinSeq. */
    finSent: boolean
    sndFinSeq = 0
    /** The peer's FIN has been received (end of stream for reads). */
    finReceived: boolean

    // congestion control, RFC 5681 with NewReno (RFC 6582)
    cwnd: number
    ssthresh: number
    dupAcks: number
    /** In fast recovery until SND.UNA passes `recover`. */
    inRecovery: boolean
    /** (Set on the first loss; reset() leaves it, as the pool always has: initialised once, here.) */
    recover = 0
    /** Bytes acknowledged in congestion avoidance since cwnd last grew (RFC 5681 §3.1, appropriate byte counting). */
    bytesAcked: number

    // round-trip timing: one segment timed at a time (Karn's rule)
    readonly rtt: RttEstimator
    rttSeq = 0
    rttStart: number
    /** Consecutive retransmission timeouts of the same data. */
    retries: number

    // timers: absolute times, OFF when not running
    rtxAt: number
    persistAt: number
    ackAt: number
    timeWaitAt: number
    keepAt: number
    /** Zero-window probes sent without the window opening. */
    persistBackoff: number
    /** Zero-window probes sent since the peer last sent anything. */
    probesUnanswered: number

    /** Send an ACK at the next output. */
    ackNow: boolean
    /** Full-sized segments received since our last ACK (RFC 5681 §4.2: ACK every second one). */
    unackedSegments: number
    /** In-order segments still to ACK at once after a loss episode. */
    quickAcks: number
    /** Last time a segment arrived (keep-alive and idle timeout). */
    lastHeard: number
    /** Last time the user sent or read data, or anything arrived (idle timeout). */
    lastActivity: number

    // per-connection options, from Limits unless the user changes them
    nagle: boolean
    /** Corked: only full segments are sent (Tcp.cork/uncork). */
    corked: boolean
    /** Data up to this sequence number was pushed (uncork): it goes out whatever Nagle says. */
    pushUpTo = 0
    keepAlive: boolean
    keepIdleMs: number
    keepIntervalMs: number
    keepCount: number
    keepProbes: number
    /** Abort after this long without activity (0: never). */
    idleTimeoutMs: number

    /** The socket layer's wake-up: called when the connection becomes readable, writable or closed. */
    onEvent: (conn: TcpConnection) => void

    constructor(id: number, limits: Limits) {
        this.id = id
        // every field before the rings: an object that grows later needs a
        // new, larger block of the heap, between the rings
        this.reset(limits, 0)
        this.inUse = false
        this.sendRing = new ByteRing(limits.tcpSendBuffer)
        this.recvRing = new ByteRing(limits.tcpRecvBuffer)
        this.rtt = new RttEstimator(limits.tcpInitialRtoMs, limits.tcpMinRtoMs, limits.tcpMaxRtoMs, 1)
    }

    /** A claimed slot's fields (Tcp.claim also clears the rings and the RTT estimator). */
    reset(limits: Limits, now: number): void {
        this.inUse = true
        this.userOwned = false
        this.listener = -1
        this.queued = false
        this.error = TcpError.None
        this.state = TcpState.Closed
        this.finPending = false
        this.finQueued = false
        this.finSent = false
        this.finReceived = false
        this.sndWnd = 0
        this.maxSndWnd = 0
        this.rcvAdv = 0
        this.cwnd = 0
        this.ssthresh = 0x7fffffff
        this.dupAcks = 0
        this.inRecovery = false
        this.bytesAcked = 0
        this.rttStart = OFF
        this.retries = 0
        this.rtxAt = OFF
        this.persistAt = OFF
        this.ackAt = OFF
        this.timeWaitAt = OFF
        this.keepAt = OFF
        this.persistBackoff = 0
        this.probesUnanswered = 0
        this.ackNow = false
        this.unackedSegments = 0
        this.quickAcks = 0
        this.lastHeard = now
        this.lastActivity = now
        this.nagle = true
        this.corked = false
        this.keepAlive = false
        this.keepIdleMs = limits.tcpKeepIdleMs
        this.keepIntervalMs = limits.tcpKeepIntervalMs
        this.keepCount = limits.tcpKeepCount
        this.keepProbes = 0
        this.idleTimeoutMs = 0
        this.onEvent = null
    }

    /** Readable bytes for the user. */
    readable(): number {
        return this.recvRing.length
    }

    /** Room for the user's writes. */
    writable(): number {
        return this.finQueued ? 0 : this.sendRing.free()
    }
}
