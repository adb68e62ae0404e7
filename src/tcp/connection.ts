// A connection's transmission control block (RFC 9293 §3.3.1), with its
// fixed send and receive rings. Allocated once, in the pool, and reused:
// `generation` changes every time the slot is freed so that a handle to an
// old connection can never reach a new one.

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
    state = TcpState.Closed
    /** Changes whenever the slot is freed; handles compare it. */
    generation = 0
    /** The slot is in use (in any state, CLOSED included while the user holds it). */
    inUse = false
    /** The user holds this connection (accepted or connected, not yet closed). */
    userOwned = false
    /** Passive open: the listener it belongs to, until accepted (-1 otherwise). */
    listener = -1
    /** Passive open: the ESTABLISHED connection waits in the listener's accept queue. */
    queued = false
    /** Position in the accept queue (lower is older). */
    acceptOrder = 0
    error = TcpError.None

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
    sndWnd = 0
    sndWl1 = 0
    sndWl2 = 0
    /** Largest window the peer offered (RFC 5961 §5 MAX.SND.WND, RFC 1122 SWS avoidance). */
    maxSndWnd = 0
    /** Effective send MSS: the peer's MSS option (536 without one, RFC 9293 §3.7.1) capped by our MTU. */
    sndMss = 536

    // receive sequence space
    irs = 0
    rcvNxt = 0
    /** Right edge of the window we last advertised (never moved left, RFC 9293 §3.8.6). */
    rcvAdv = 0

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
    finPending = false
    finSeq = 0
    /** The user shut down sending: a FIN follows the data in the ring. */
    finQueued = false
    /** Our FIN has been sent at least once, at sndFinSeq. */
    finSent = false
    sndFinSeq = 0
    /** The peer's FIN has been received (end of stream for reads). */
    finReceived = false

    // congestion control, RFC 5681 with NewReno (RFC 6582)
    cwnd = 0
    ssthresh = 0
    dupAcks = 0
    /** In fast recovery until SND.UNA passes `recover`. */
    inRecovery = false
    recover = 0
    /** Bytes acknowledged in congestion avoidance since cwnd last grew (RFC 5681 §3.1, appropriate byte counting). */
    bytesAcked = 0

    // round-trip timing: one segment timed at a time (Karn's rule)
    readonly rtt: RttEstimator
    rttSeq = 0
    rttStart = OFF
    /** Consecutive retransmission timeouts of the same data. */
    retries = 0

    // timers: absolute times, OFF when not running
    rtxAt = OFF
    persistAt = OFF
    ackAt = OFF
    timeWaitAt = OFF
    keepAt = OFF
    /** Zero-window probes sent without the window opening. */
    persistBackoff = 0
    /** Zero-window probes sent since the peer last sent anything. */
    probesUnanswered = 0

    /** Send an ACK at the next output. */
    ackNow = false
    /** Full-sized segments received since our last ACK (RFC 5681 §4.2: ACK every second one). */
    unackedSegments = 0
    /** In-order segments still to ACK at once after a loss episode. */
    quickAcks = 0
    /** Last time a segment arrived (keep-alive and idle timeout). */
    lastHeard = 0
    /** Last time the user sent or read data, or anything arrived (idle timeout). */
    lastActivity = 0

    // per-connection options, from Limits unless the user changes them
    nagle = true
    /** Corked: only full segments are sent (Tcp.cork/uncork). */
    corked = false
    /** Data up to this sequence number was pushed (uncork): it goes out whatever Nagle says. */
    pushUpTo = 0
    keepAlive = false
    keepIdleMs = 0
    keepIntervalMs = 0
    keepCount = 0
    keepProbes = 0
    /** Abort after this long without activity (0: never). */
    idleTimeoutMs = 0

    /** The socket layer's wake-up: called when the connection becomes readable, writable or closed. */
    onEvent: (conn: TcpConnection) => void = null

    constructor(id: number, limits: Limits) {
        this.id = id
        this.sendRing = new ByteRing(limits.tcpSendBuffer)
        this.recvRing = new ByteRing(limits.tcpRecvBuffer)
        this.rtt = new RttEstimator(limits.tcpInitialRtoMs, limits.tcpMinRtoMs, limits.tcpMaxRtoMs, 1)
    }

    /** Stops every timer. */
    stopTimers(): void {
        this.rtxAt = OFF
        this.persistAt = OFF
        this.ackAt = OFF
        this.timeWaitAt = OFF
        this.keepAt = OFF
    }

    /** Bytes in flight: sent and not acknowledged (SYN and FIN included). */
    flightSize(): number {
        return (this.sndNxt - this.sndUna) >>> 0
    }

    /** True once our SYN has been acknowledged (the ring's head is then at SND.UNA). */
    synAcked(): boolean {
        return this.state !== TcpState.SynSent && this.state !== TcpState.SynReceived
    }

    /** The receive window: free space in the receive ring, beyond what is already buffered. */
    rcvWindow(): number {
        const w = this.recvRing.free()
        return w > 0xffff ? 0xffff : w
    }

    /** Our FIN has been acknowledged. */
    finAcked(): boolean {
        return this.finSent && ((this.sndUna - this.sndFinSeq) | 0) > 0
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
