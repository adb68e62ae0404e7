// Every limit of the stack in one place, with its default and the reason for
// it (lwIP's opt.h is the model). `new Stack()` allocates everything from
// these numbers at start and nothing later; checkLimits() refuses settings
// that cannot work, before anything is allocated.

export interface Limits {
    /** Largest IP packet we send or accept (bytes). Ethernet: 1500. */
    mtu: number
    /** ARP cache entries. A device talks to its gateway and a few peers. */
    arpEntries: number
    /** How long a resolved entry lives (ms). lwIP's ARP_MAXAGE: 5 minutes. */
    arpMaxAgeMs: number
    /** An entry in use this close to expiry is refreshed by a unicast request (ms). */
    arpRefreshMs: number
    /** Time between requests while resolving (ms). RFC 1122 §2.3.2.1: at most one per second. */
    arpRetryMs: number
    /** Requests sent before giving up on an address. */
    arpRetries: number
    /**
     * Outgoing packets held while their next hop is being resolved (each a
     * full frame buffer, 1.5 KB of the device's heap). One, as lwIP keeps one
     * per entry without ARP_QUEUEING: the first packet to a new neighbour is a
     * SYN or a datagram that its sender repeats anyway.
     */
    arpQueueFrames: number
    /** UDP ports that can be bound at once. */
    udpSockets: number
    /** ICMP error messages per second (RFC 1812 §4.3.2.8 rate limiting). */
    icmpErrorsPerSecond: number
    /** TTL of the packets we send. RFC 1700 recommends 64. */
    ttl: number

    /** TCP connections in the pool (each with its own send and receive ring). */
    tcpConnections: number
    /** Bytes of each connection's send ring (unacknowledged + unsent data). */
    tcpSendBuffer: number
    /** Bytes of each connection's receive ring; the advertised window is its free space. */
    tcpRecvBuffer: number
    /** Out-of-order ranges a connection remembers beyond RCV.NXT. */
    tcpOutOfOrderRanges: number
    /** Listening ports. */
    tcpListeners: number
    /** Default listen backlog: half-open plus not yet accepted connections per listener. */
    tcpBacklog: number
    /** Maximum segment lifetime (ms); TIME-WAIT lasts 2 × MSL (RFC 9293 §3.4.2). Linux's TIME-WAIT is 60 s. */
    tcpMslMs: number
    /** Initial retransmission timeout (ms), RFC 6298 §2.1. */
    tcpInitialRtoMs: number
    /** Smallest RTO (ms): RFC 6298 says 1 s; Linux uses 200 ms, which we follow. */
    tcpMinRtoMs: number
    /** Largest RTO (ms); RFC 6298 §2.5 allows a cap of at least 60 s. */
    tcpMaxRtoMs: number
    /** Retransmissions of one segment before the connection is given up (ETIMEDOUT). */
    tcpMaxRetries: number
    /** Retransmissions of a SYN or SYN-ACK before giving up (Linux: 6 and 5). */
    tcpSynRetries: number
    /** Delayed ACK timeout (ms); RFC 1122 §4.2.3.2 allows up to 500, RFC 5681 asks for less. */
    tcpAckDelayMs: number
    /** Keep-alive defaults (RFC 1122 §4.2.3.6: off unless asked, idle ≥ 2 h); sockets may change them. */
    tcpKeepIdleMs: number
    tcpKeepIntervalMs: number
    tcpKeepCount: number
    /** Segments one event (a received frame, a timer) may send: bounds the work per event on the device. */
    tcpBurst: number
    /** Challenge ACKs per second, all connections together (RFC 5961 §7). */
    tcpChallengeAcksPerSecond: number
}

/**
 * The defaults, with the fields of `given` that are set taking their place.
 * Code, not a JSON string: names and numbers read by JSON.parse live on the
 * device's heap, and a Stack's limits parsed from JSON took 636 bytes more
 * of it (measured in the VM) to save about 300 bytes of bytecode.
 */
export function defaultLimits(given?: Partial<Limits>): Limits {
    const limits: Limits = {
        mtu: 1500,
        arpEntries: 8,
        arpMaxAgeMs: 300000,
        arpRefreshMs: 15000,
        arpRetryMs: 1000,
        arpRetries: 3,
        arpQueueFrames: 1,
        udpSockets: 4,
        icmpErrorsPerSecond: 10,
        ttl: 64,
        tcpConnections: 4,
        tcpSendBuffer: 2048,
        tcpRecvBuffer: 2048,
        tcpOutOfOrderRanges: 4,
        tcpListeners: 4,
        tcpBacklog: 4,
        tcpMslMs: 30000,
        tcpInitialRtoMs: 1000,
        tcpMinRtoMs: 200,
        tcpMaxRtoMs: 60000,
        tcpMaxRetries: 12,
        tcpSynRetries: 5,
        tcpAckDelayMs: 40,
        tcpKeepIdleMs: 7200000,
        tcpKeepIntervalMs: 75000,
        tcpKeepCount: 9,
        tcpBurst: 8,
        tcpChallengeAcksPerSecond: 100,
    }
    if (given) {
        const src = given as any
        const dst = limits as any
        for (const key of Object.keys(dst)) if (src[key] !== undefined) dst[key] = src[key]
    }
    return limits
}

/**
 * [name, min, max] of every limit with a plain range. Data, not code: one
 * string literal (string literals lie outside the device's 64 KB code limit)
 * parsed once, and one loop instead of a branch and a message per limit.
 * Why some bounds are what they are:
 *   mtu: RFC 791 minimum, Ethernet maximum
 *   arpRetryMs: RFC 1122 §2.3.2.1: at most one request per second per address
 *   tcpSendBuffer: at least one minimum segment
 *   tcpRecvBuffer: no window scaling
 *   tcpAckDelayMs: RFC 1122 §4.2.3.2
 */
const RANGES_JSON =
    '[["mtu",576,1500],["arpEntries",1,64],["arpMaxAgeMs",1000,1000000000],["arpRefreshMs",0,1000000000],["arpRetryMs",100,1000000000],["arpRetries",1,10],["arpQueueFrames",0,16],["udpSockets",0,32],["icmpErrorsPerSecond",0,1000000000],["ttl",1,255],["tcpConnections",0,256],["tcpSendBuffer",536,1048576],["tcpRecvBuffer",536,65535],["tcpOutOfOrderRanges",0,32],["tcpListeners",0,64],["tcpBacklog",1,256],["tcpMslMs",0,1000000000],["tcpMinRtoMs",10,1000000000],["tcpMaxRetries",1,100],["tcpSynRetries",1,100],["tcpAckDelayMs",0,500],["tcpKeepIdleMs",1,10000000000],["tcpKeepIntervalMs",1,10000000000],["tcpKeepCount",1,100],["tcpBurst",1,64],["tcpChallengeAcksPerSecond",0,1000000000]]'

/** Returns the first problem with these limits, or null when they are usable. */
export function checkLimits(l: Limits): string {
    const values = l as any
    const ranges: any[] = JSON.parse(RANGES_JSON)
    for (const r of ranges) {
        const v = values[r[0]]
        if (!(v >= r[1] && v <= r[2])) return r[0] + " must be " + r[1] + ".." + r[2]
    }
    if (l.arpRefreshMs >= l.arpMaxAgeMs) return "arpRefreshMs must be below arpMaxAgeMs"
    if (l.tcpMinRtoMs > l.tcpInitialRtoMs || l.tcpInitialRtoMs > l.tcpMaxRtoMs) return "need tcpMinRtoMs <= tcpInitialRtoMs <= tcpMaxRtoMs"
    return null
}
