// The stack: one network interface with ARP, IPv4, ICMP and UDP (TCP joins
// through the same input switch). Sans-IO and clock-injected:
//
//   runner ── receive(frame, now) ──▶ input ─▶ arpInput / ipInput ─▶ icmpInput / udpInput
//   runner ── poll(now) ────────────▶ ARP retries and give-ups
//   runner ◀─ nextDeadline() ──────── when poll() is next due (-1: nothing pending)
//   ipOutput ─▶ ethOutput ─▶ (ARP resolve, queue) ─▶ driver.transmit(frame, length)
//
// Everything is allocated in the constructor: one transmit buffer, one small
// ARP buffer, the ARP cache and its queue of pending frames, parse records.
// A received frame is read in place and never kept; the work per frame is
// bounded by the table sizes in Limits. The headers we send are written in
// place: the bytes that never change (our MAC, the EtherTypes, IPv4's version,
// flags and TTL, ARP's hardware and protocol fields) once, at construction,
// and per frame only what differs (src/wire's emit functions are the
// reference the tests parse our frames with).

import { Limits, defaultLimits, checkLimits } from "./config.js"
import { NetDriver } from "./driver.js"
import { RandomSource } from "./random.js"
import { Counters } from "./net/counters.js"
import { ArpCache, ArpState } from "./net/arp-cache.js"
import { Reason } from "./wire/reason.js"
import { copyBytes, ipToString, macEquals, macToString, setU32 } from "./wire/bytes.js"
import { ETH_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_MIN } from "./wire/ethernet.js"
import { ArpPacket, ARP_LEN, ARP_REPLY, ARP_REQUEST, parseArp } from "./wire/arp.js"
import { Ipv4Header, IPV4_HEADER_LEN, IP_PROTO_ICMP, IP_PROTO_UDP, parseIpv4 } from "./wire/ipv4.js"
import { internetChecksum } from "./wire/checksum.js"
import { ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_HEADER_LEN, ICMP_PORT_UNREACHABLE } from "./wire/icmp.js"
import { UdpHeader, UDP_HEADER_LEN, emitUdp, parseUdp } from "./wire/udp.js"
import { Tcp, TcpHost, IP_PROTO_TCP } from "./tcp/tcp.js"
import { TcpConnection } from "./tcp/connection.js"
import { TcpError, TcpState, TCP_STATE_NAMES } from "./tcp/state.js"

export interface StackConfig {
    driver: NetDriver
    /** Our address (unsigned 32-bit number, see parseIp). */
    ip: number
    netmask: number
    /** Default gateway; 0 for none (only the local subnet is reachable). */
    gateway?: number
    random: RandomSource
    log?: (line: string) => void
    limits?: Partial<Limits>
}

/** A datagram for a bound port; the bytes are valid only during the call. */
export type UdpHandler = (src: number, srcPort: number, dstPort: number, buf: Buffer, off: number, len: number, now: number) => void

/**
 * A service on the stack's clock (DHCP client, mDNS responder): polled with
 * the stack's timers, told when the address changes. Runners see its
 * deadline through Stack.nextDeadline() and need not know it exists.
 */
export interface StackService {
    poll: (now: number) => void
    /** Absolute time of its next timer, or -1. */
    nextDeadline: () => number
    addressChanged: (now: number) => void
}

/** An ICMP echo reply for us; the payload bytes are valid only during the call. */
export type EchoReplyHandler = (src: number, id: number, seq: number, buf: Buffer, off: number, len: number, now: number) => void

const IP_OFF = ETH_HEADER_LEN
const L4_OFF = ETH_HEADER_LEN + IPV4_HEADER_LEN
/** Ethernet's minimum frame without FCS; shorter frames are padded with zeros. */
const MIN_FRAME = 60
/** ICMP protocol-unreachable code (RFC 792). */
const ICMP_PROTOCOL_UNREACHABLE = 2
const BROADCAST = 0xffffffff
/** RFC 1812 §4.3.2.3: an ICMP error carries as much of the offending datagram as fits in 576 bytes. */
const ICMP_ERROR_MAX = 576

/** @devsWhenUsed */
export class Stack {
    readonly limits: Limits
    readonly counters = new Counters()
    readonly arp: ArpCache
    readonly tcp: Tcp
    readonly mac: Buffer
    ip: number
    netmask: number
    gateway: number
    /** Unset (no initializer: no code) until an application sets it. */
    onEchoReply: EchoReplyHandler
    /** Sees every well-formed ARP packet first (DHCP's conflict check, RFC 5227); unset (no initializer: no code) until a service sets it. */
    onArp: (p: ArpPacket, now: number) => void
    /** Set in the constructor: a field initializer here tipped test/device/tcp-vm.ts's two stacks over the VM heap. */
    readonly services: StackService[]

    readonly random: RandomSource
    private readonly driver: NetDriver
    private readonly log: (line: string) => void
    private readonly tx: Buffer
    private readonly arpTx: Buffer
    /** Frames waiting for their next hop's MAC address: the frame, its length, and the next hop (-1: the slot is free). */
    private readonly pendingFrames: Buffer[] = []
    private readonly pendingLengths: number[] = []
    private readonly pendingHops: number[] = []
    private readonly udpPorts: number[] = []
    private readonly udpHandlers: UdpHandler[] = []
    private readonly multicastGroups: number[] = []
    /** acceptsMulticastMac once a group was joined; unset (no initializer: no code) before. */
    private multicastMac: (mac: Buffer) => boolean
    private ipId: number
    private icmpTokens: number
    private icmpTokensAt = 0
    /** Our subnet's broadcast address (from ip and netmask). */
    private bcast: number
    /** Our MAC address as a little-endian u32 (bytes 0..3) and u16 (4..5): a received frame's destination is two reads. */
    private readonly macLo: number
    private readonly macHi: number

    // parse records, reused for every frame (ICMP is read and written in place)
    private readonly rxArp = new ArpPacket()
    private readonly rxIp = new Ipv4Header()
    /** Made by enableUdp(), with udpIn: an image without UDP users has no UdpHeader. */
    private rxUdp: UdpHeader
    private txUdp: UdpHeader
    /** udpInput once enableUdp() ran; unset (no initializer: no code) before. */
    private udpIn: (frame: Buffer, off: number, len: number, now: number) => void

    constructor(config: StackConfig) {
        const limits = defaultLimits(config.limits)
        const problem = checkLimits(limits)
        if (problem) throw new Error("ds-tcpip: bad limits: " + problem)
        if (!config.driver || !config.driver.mac || config.driver.mac.length !== 6) throw new Error("ds-tcpip: driver with a 6-byte mac required")
        if (config.driver.mtu < limits.mtu) limits.mtu = config.driver.mtu
        this.limits = limits
        this.driver = config.driver
        this.mac = config.driver.mac
        this.ip = config.ip >>> 0
        this.netmask = config.netmask >>> 0
        // not `|| 0`: DeviceScript takes numbers >= 2^31 (addresses from 128.0.0.0) for false
        this.gateway = config.gateway === undefined || config.gateway === null ? 0 : config.gateway >>> 0
        this.random = config.random
        this.services = []
        this.log = config.log || null
        this.bcast = (this.ip | ~this.netmask) >>> 0
        const mac = this.mac
        this.macLo = mac.getAt(0, "u32")
        this.macHi = mac.getAt(4, "u16")
        // what never changes in the frames we send: Ethernet's source and type,
        // IPv4's version and header length, TOS 0, DF (we never fragment: path
        // MTU discovery, RFC 1191, tells senders) and TTL; ARP's hardware and
        // protocol fields and our MAC as the sender's
        const tx = Buffer.alloc(ETH_HEADER_LEN + limits.mtu)
        tx.blitAt(6, mac, 0, 6)
        tx[12] = ETHERTYPE_IPV4 >> 8
        tx[14] = 0x45
        tx[20] = 0x40
        tx[22] = limits.ttl
        this.tx = tx
        const a = Buffer.alloc(MIN_FRAME)
        a.blitAt(6, mac, 0, 6)
        // EtherType 0x0806; hardware type 1 (Ethernet), protocol 0x0800, address lengths 6 and 4
        a.blitAt(12, Buffer.from("0806000108000604", "hex"), 0, 8)
        a.blitAt(22, mac, 0, 6)
        this.arpTx = a
        this.arp = new ArpCache(limits)
        for (let i = 0; i < limits.arpQueueFrames; i++) {
            this.pendingFrames.push(Buffer.alloc(ETH_HEADER_LEN + limits.mtu))
            this.pendingLengths.push(0)
            this.pendingHops.push(-1)
        }
        for (let i = 0; i < limits.udpSockets; i++) {
            this.udpPorts.push(0)
            this.udpHandlers.push(null)
        }
        this.ipId = this.random.nextU32() & 0xffff
        this.icmpTokens = limits.icmpErrorsPerSecond
        const self = this
        const host: TcpHost = {
            tx: this.tx,
            l4Offset: L4_OFF,
            localIp: () => self.ip,
            ipSend: (dst: number, protocol: number, l4Length: number, now: number) => self.ipOutput(dst, protocol, l4Length, now),
            drop: (reason: Reason) => self.counters.drop(reason),
        }
        this.tcp = new Tcp(limits, host, this.random)
        this.tcp.onStateChange = (c: TcpConnection, from: TcpState, to: TcpState) => {
            self.say("tcp " + self.tcp.describe(c) + " " + TCP_STATE_NAMES[from] + " -> " + TCP_STATE_NAMES[to])
        }
    }

    // ---- runner interface -------------------------------------------------

    /** Announces our address with a gratuitous ARP request (RFC 5227 §3). */
    start(now: number): void {
        this.icmpTokensAt = now
        if (this.ip !== 0) this.sendArp(ARP_REQUEST, null, 0, this.ip)
    }

    /**
     * Changes our address at run time (DHCP). TCP connections bound to the
     * old address are reset and report EADDRNOTAVAIL; a new address is
     * announced by a gratuitous ARP and the services are told.
     */
    setAddress(ip: number, netmask: number, gateway: number, now: number): void {
        const old = this.ip
        this.netmask = netmask >>> 0
        this.gateway = gateway >>> 0
        this.bcast = (old | ~this.netmask) >>> 0
        if (ip >>> 0 === old) return
        // the reset leaves from the old address, while it is still ours
        for (const c of this.tcp.pool) {
            if (c.inUse && c.localIp === old) {
                this.tcp.abort(c, now)
                c.error = TcpError.AddressLost
            }
        }
        this.ip = ip >>> 0
        this.bcast = (this.ip | ~this.netmask) >>> 0
        this.say("address " + ipToString(this.ip))
        this.start(now)
        for (const s of this.services) s.addressChanged(now)
    }

    /** An RFC 5227 ARP probe for ip: sender address 0.0.0.0 when we have none yet. */
    arpProbe(ip: number): void {
        this.sendArp(ARP_REQUEST, null, 0, ip)
    }

    /**
     * Handles one received Ethernet frame. Never throws; a frame not taken is
     * counted under its reason. The Ethernet II header (IEEE 802.3 clause
     * 3.2.6) is read in place, with parseEthernet's checks: at least 14
     * bytes, an EtherType and not an 802.3 length; then the destination: us,
     * broadcast, or a multicast group we joined.
     */
    receive(frame: Buffer, now: number, length?: number): void {
        const len = length === undefined ? frame.length : Math.min(length, frame.length)
        const c = this.counters
        c.rxFrames++
        c.rxBytes += len
        try {
            if (len < ETH_HEADER_LEN) return c.drop(Reason.Truncated)
            const type = (frame[12] << 8) | frame[13]
            if (type < ETHERTYPE_MIN) return c.drop(Reason.BadEtherType)
            const d = frame.getAt(0, "u32")
            const d2 = frame.getAt(4, "u16")
            if (d !== this.macLo || d2 !== this.macHi) {
                if ((d !== 0xffffffff || d2 !== 0xffff) && !(this.multicastMac && this.multicastMac(frame))) return c.drop(Reason.NotForUs)
            }
            if (type === ETHERTYPE_IPV4) this.ipInput(frame, len - ETH_HEADER_LEN, now)
            else if (type === ETHERTYPE_ARP) this.arpInput(frame, len - ETH_HEADER_LEN, now)
            else c.drop(Reason.UnknownEtherType)
        } catch (e) {
            // a bug, not bad input: count it so tests and /status show it
            this.counters.drop(Reason.InternalError)
            this.say("internal error on receive: " + e)
        }
    }

    /** Runs the timers that are due. */
    poll(now: number): void {
        try {
            // ARP: RFC 1122 §2.3.2.1 retries, then give up and drop what waited
            const arp = this.arp
            const st = arp.state
            for (let i = 0; i < st.length; i++) {
                if (st[i] !== ArpState.Incomplete || arp.times[i] > now) continue
                const ip = arp.ips[i]
                if (arp.retries[i] > 0) {
                    arp.retries[i]--
                    arp.times[i] = now + this.limits.arpRetryMs
                    this.sendArp(ARP_REQUEST, null, 0, ip)
                    continue
                }
                st[i] = ArpState.Free
                this.say("ARP: " + ipToString(ip) + " did not answer")
                const hops = this.pendingHops
                for (let k = 0; k < hops.length; k++) {
                    if (hops[k] !== ip) continue
                    hops[k] = -1
                    this.counters.drop(Reason.ArpUnresolved)
                }
            }
            this.tcp.poll(now)
            // each service looks at its own deadline
            for (const s of this.services) s.poll(now)
        } catch (e) {
            this.counters.drop(Reason.InternalError)
            this.say("internal error on poll: " + e)
        }
    }

    /** Absolute time of the next timer, or -1 when nothing is pending. */
    nextDeadline(): number {
        const a = this.arp.nextDeadline()
        let t = this.tcp.nextDeadline()
        if (a >= 0 && (t < 0 || a < t)) t = a
        for (const s of this.services) {
            const d = s.nextDeadline()
            if (d >= 0 && (t < 0 || d < t)) t = d
        }
        return t
    }

    // ---- applications -----------------------------------------------------

    /** Sends an ICMP echo request carrying payloadLength bytes (byte i = i mod 256). False if it was dropped. */
    ping(dst: number, id: number, seq: number, payloadLength: number, now: number): boolean {
        if (payloadLength < 0 || L4_OFF + 8 + payloadLength > this.tx.length) {
            this.counters.drop(Reason.TxTooLong)
            return false
        }
        const tx = this.tx
        for (let i = 0; i < payloadLength; i++) tx[L4_OFF + 8 + i] = i & 0xff
        tx[L4_OFF + 4] = (id >> 8) & 0xff
        tx[L4_OFF + 5] = id & 0xff
        tx[L4_OFF + 6] = (seq >> 8) & 0xff
        tx[L4_OFF + 7] = seq & 0xff
        return this.icmpOutput(dst >>> 0, ICMP_ECHO_REQUEST, 0, payloadLength, now)
    }

    /**
     * The UDP socket API (pluggable): udpBind and udpSend turn it on. Until
     * then a datagram for us is answered with an ICMP port unreachable
     * without its UDP header being checked, as no port could take it; once
     * on, datagrams are validated (length, checksum: drops counted by
     * reason) and delivered to bound ports. An image with no UDP user
     * carries none of it: about 0.6 KB of bytecode (udpInput,
     * parseUdp, UdpHeader). The host runners and test helpers turn it on.
     */
    enableUdp(): void {
        if (this.udpIn) return
        this.rxUdp = new UdpHeader()
        this.txUdp = new UdpHeader()
        this.udpIn = this.udpInput
    }

    /** Binds a UDP port to a handler. False when the port is taken or the table is full. */
    udpBind(port: number, handler: UdpHandler): boolean {
        this.enableUdp()
        // port 0 marks free slots and is never bound
        if (port <= 0 || port > 0xffff || this.udpPorts.indexOf(port) >= 0) return false
        const slot = this.udpPorts.indexOf(0)
        if (slot < 0) return false
        this.udpPorts[slot] = port
        this.udpHandlers[slot] = handler
        return true
    }

    udpUnbind(port: number): void {
        const slot = port === 0 ? -1 : this.udpPorts.indexOf(port)
        if (slot < 0) return
        this.udpPorts[slot] = 0
        this.udpHandlers[slot] = null
    }

    /** Sends data[off, off+len) as one datagram. False if it was dropped (too long, no route). */
    udpSend(srcPort: number, dst: number, dstPort: number, data: Buffer, off: number, len: number, now: number): boolean {
        if (L4_OFF + UDP_HEADER_LEN + len > this.tx.length) {
            this.counters.drop(Reason.TxTooLong)
            return false
        }
        this.enableUdp()
        copyBytes(this.tx, L4_OFF + UDP_HEADER_LEN, data, off, len)
        const h = this.txUdp
        h.srcPort = srcPort
        h.dstPort = dstPort
        h.length = UDP_HEADER_LEN + len
        emitUdp(h, this.tx, L4_OFF, this.ip, dst >>> 0)
        return this.ipOutput(dst >>> 0, IP_PROTO_UDP, UDP_HEADER_LEN + len, now)
    }

    /** Accepts datagrams sent to an IPv4 multicast group (e.g. 224.0.0.251 for mDNS). */
    joinMulticast(group: number): void {
        // the first group installs the multicast MAC filter: an image that
        // joins none carries no code for it
        this.multicastMac = this.acceptsMulticastMac
        if (this.multicastGroups.indexOf(group >>> 0) < 0) this.multicastGroups.push(group >>> 0)
    }

    /** A JSON-able picture of the interface for /status. */
    /**
     * The stack's state for /status; the names say what they count, with
     * their units (docs/status.md is the schema).
     */
    status(): any {
        const list: any[] = []
        for (const c of this.tcp.pool) {
            if (!c.inUse) continue
            list.push({
                id: c.id,
                state: TCP_STATE_NAMES[c.state],
                local: ipToString(c.localIp) + ":" + c.localPort,
                remote: ipToString(c.remoteIp) + ":" + c.remotePort,
            })
        }
        return {
            ip: ipToString(this.ip),
            mac: macToString(this.mac, 0),
            mtuBytes: this.limits.mtu,
            arp: {
                cacheSize: this.limits.arpEntries,
                reachable: this.arp.count(ArpState.Reachable),
                incomplete: this.arp.count(ArpState.Incomplete),
            },
            counters: this.counters.toJSON(),
            tcp: {
                poolSize: this.limits.tcpConnections,
                connectionsInUse: list.length,
                byState: this.tcp.countByState(),
                connections: list,
                counters: this.tcp.counters,
            },
        }
    }

    // ---- input ------------------------------------------------------------

    /** RFC 826 "Packet Reception", with RFC 5227 probes (sender 0.0.0.0) never learned. */
    private arpInput(frame: Buffer, len: number, now: number): void {
        const p = this.rxArp
        const r = parseArp(frame, ETH_HEADER_LEN, len, p)
        if (r !== Reason.Ok) return this.counters.drop(r)
        if (this.onArp) this.onArp(p, now)
        if (this.ip === 0) return this.counters.drop(Reason.NotForUs)
        if (p.spa === this.ip && !macEquals(p.sha, 0, this.mac, 0)) {
            // someone else claims our address (RFC 5227 §2.4): say so, learn nothing
            this.say("ARP: address conflict: " + ipToString(p.spa) + " is-at " + macToString(p.sha, 0))
            return this.counters.drop(Reason.Martian)
        }
        const forUs = p.tpa === this.ip
        const learned = p.spa !== 0 && !this.isBroadcastOrMulticast(p.spa) ? this.arp.learn(p.spa, p.sha, 0, now, forUs) : -1
        // the frames that waited for this address leave, in the order of their slots
        const hops = this.pendingHops
        for (let k = 0; learned >= 0 && k < hops.length; k++) {
            if (hops[k] !== p.spa) continue
            const f = this.pendingFrames[k]
            f.blitAt(0, p.sha, 0, 6)
            hops[k] = -1
            this.send(f, this.pendingLengths[k])
        }
        if (!forUs) {
            if (learned < 0) this.counters.drop(Reason.NotForUs)
            return
        }
        if (p.op === ARP_REQUEST) this.sendArp(ARP_REPLY, p.sha, 0, p.spa)
    }

    /** RFC 1122 §3.2.1: validate, then deliver by protocol (the IPv4 header is at frame[14]). */
    private ipInput(frame: Buffer, len: number, now: number): void {
        const h = this.rxIp
        const c = this.counters
        const r = parseIpv4(frame, IP_OFF, len, h)
        if (r !== Reason.Ok) return c.drop(r)
        const dst = h.dst
        if (dst !== this.ip && dst !== BROADCAST && dst !== this.bcast && !(isMulticast(dst) && this.multicastGroups.indexOf(dst) >= 0)) {
            return c.drop(Reason.NotForUs)
        }
        // RFC 1122 §3.2.1.3: a source address must be a host's
        if (this.isBroadcastOrMulticast(h.src)) return c.drop(Reason.BroadcastSource)
        if (h.moreFragments || h.fragmentOffset !== 0) {
            // We do not reassemble (see README): our own output never needs
            // it (DF set, TCP MSS from the MTU) and the services use small datagrams.
            return c.drop(Reason.Fragment)
        }
        const payloadOff = IP_OFF + h.headerLength
        const payloadLen = h.totalLength - h.headerLength
        const protocol = h.protocol
        if (protocol === IP_PROTO_TCP) {
            // TCP is unicast only (RFC 1122 §4.2.3.10)
            if (dst !== this.ip) return c.drop(Reason.NotForUs)
            this.tcp.input(frame, payloadOff, payloadLen, h.src, dst, now)
        } else if (protocol === IP_PROTO_ICMP) this.icmpInput(frame, payloadOff, payloadLen, now)
        else if (protocol === IP_PROTO_UDP && this.udpIn) this.udpIn(frame, payloadOff, payloadLen, now)
        else {
            // UDP without the socket API: no port could take it
            const udp = protocol === IP_PROTO_UDP
            this.sendIcmpError(frame, udp ? ICMP_PORT_UNREACHABLE : ICMP_PROTOCOL_UNREACHABLE, now)
            c.drop(udp ? Reason.NoSocket : Reason.UnknownProtocol)
        }
    }

    /**
     * An ICMP message (RFC 792) of `len` bytes at frame[off], read in place
     * with parseIcmp's checks: at least the 8-byte header, and the checksum
     * over all of it.
     */
    private icmpInput(frame: Buffer, off: number, len: number, now: number): void {
        const c = this.counters
        if (len < ICMP_HEADER_LEN || off + len > frame.length) return c.drop(Reason.Truncated)
        if (internetChecksum(frame, off, len) !== 0) return c.drop(Reason.BadChecksum)
        const type = frame[off]
        const src = this.rxIp.src
        if (type === ICMP_ECHO_REQUEST) {
            // Like Linux (icmp_echo_ignore_broadcasts), answer only our unicast address.
            if (this.rxIp.dst !== this.ip) return c.drop(Reason.IcmpIgnored)
            // the link may deliver more than our MTU: the reply would not fit tx
            if (L4_OFF + len > this.tx.length) return c.drop(Reason.TxTooLong)
            // the same identifier, sequence number and data
            copyBytes(this.tx, L4_OFF + 4, frame, off + 4, len - 4)
            if (this.icmpOutput(src, ICMP_ECHO_REPLY, 0, len - 8, now)) c.icmpEchoRepliesSent++
        } else if (type === ICMP_ECHO_REPLY && this.onEchoReply) {
            this.onEchoReply(src, (frame[off + 4] << 8) | frame[off + 5], (frame[off + 6] << 8) | frame[off + 7], frame, off + 8, len - 8, now)
        } else {
            c.drop(Reason.IcmpIgnored)
        }
    }

    private udpInput(frame: Buffer, off: number, len: number, now: number): void {
        const u = this.rxUdp
        const ip = this.rxIp
        const r = parseUdp(frame, off, len, ip.src, ip.dst, u)
        if (r !== Reason.Ok) return this.counters.drop(r)
        const slot = u.dstPort === 0 ? -1 : this.udpPorts.indexOf(u.dstPort)
        if (slot < 0) {
            this.sendIcmpError(frame, ICMP_PORT_UNREACHABLE, now)
            return this.counters.drop(Reason.NoSocket)
        }
        this.counters.udpDelivered++
        this.udpHandlers[slot](ip.src, u.srcPort, u.dstPort, frame, off + UDP_HEADER_LEN, u.length - UDP_HEADER_LEN, now)
    }

    // ---- output -----------------------------------------------------------

    /**
     * Sends the IP packet whose payload (payloadLen bytes) is already at
     * tx[34]: the header's varying fields (RFC 791 §3.1) and its checksum;
     * the others were written at construction.
     */
    private ipOutput(dst: number, protocol: number, payloadLen: number, now: number): boolean {
        const total = IPV4_HEADER_LEN + payloadLen
        if (total > this.limits.mtu) {
            this.counters.drop(Reason.TxTooLong)
            return false
        }
        const b = this.tx
        const id = this.ipId
        this.ipId = (id + 1) & 0xffff
        b[16] = total >> 8
        b[17] = total & 0xff
        b[18] = id >> 8
        b[19] = id & 0xff
        b[23] = protocol
        b[24] = 0
        b[25] = 0
        setU32(b, 26, this.ip)
        setU32(b, 30, dst)
        const sum = internetChecksum(b, IP_OFF, IPV4_HEADER_LEN)
        b[24] = sum >> 8
        b[25] = sum & 0xff
        return this.ethOutput(dst, ETH_HEADER_LEN + total, now)
    }

    /** Fills the destination MAC of tx for dstIp and sends it, resolving the next hop by ARP if needed. */
    private ethOutput(dstIp: number, frameLen: number, now: number): boolean {
        const tx = this.tx
        if (dstIp === BROADCAST || dstIp === this.bcast) tx.fillAt(0, 6, 0xff)
        else if (isMulticast(dstIp)) {
            // RFC 1112 §6.4: 01:00:5e plus the low 23 bits of the group
            tx[0] = 0x01
            tx[1] = 0x00
            tx[2] = 0x5e
            tx[3] = (dstIp >> 16) & 0x7f
            tx[4] = (dstIp >> 8) & 0xff
            tx[5] = dstIp & 0xff
        } else {
            let nextHop = dstIp
            if (((dstIp ^ this.ip) & this.netmask) !== 0) {
                // not on our link: through the gateway
                if (this.gateway === 0) {
                    this.counters.drop(Reason.NoRoute)
                    return false
                }
                nextHop = this.gateway
            }
            const arp = this.arp
            let i = arp.find(nextHop, now)
            const resolve = i < 0
            if (resolve) {
                i = arp.startResolve(nextHop, now)
                if (i < 0) {
                    this.counters.drop(Reason.ArpUnresolved)
                    return false
                }
            }
            const st = arp.state[i]
            if (st === ArpState.Incomplete) {
                // a copy of tx waits until nextHop resolves (dropped, counted, when the queue is full)
                const slot = this.pendingHops.indexOf(-1)
                if (slot >= 0) {
                    this.pendingHops[slot] = nextHop
                    this.pendingLengths[slot] = frameLen
                    copyBytes(this.pendingFrames[slot], 0, tx, 0, frameLen)
                } else this.counters.drop(Reason.ArpQueueFull)
                if (resolve) this.sendArp(ARP_REQUEST, null, 0, nextHop)
                return slot >= 0
            }
            tx.blitAt(0, arp.macs, 6 * i, 6)
            this.send(tx, frameLen)
            // lwIP's refresh: an entry in use shortly before it expires is re-resolved by unicast
            if (st === ArpState.Reachable && arp.times[i] - now < this.limits.arpRefreshMs) {
                arp.state[i] = ArpState.Reachable | ArpState.Refreshed
                this.sendArp(ARP_REQUEST, arp.macs, 6 * i, nextHop)
            }
            return true
        }
        this.send(tx, frameLen)
        return true
    }

    /** Hands buf[0, len) to the driver, padded to Ethernet's minimum frame. */
    private send(buf: Buffer, len: number): void {
        let n = len
        if (n < MIN_FRAME) {
            buf.fillAt(n, MIN_FRAME - n, 0)
            n = MIN_FRAME
        }
        const c = this.counters
        c.txFrames++
        c.txBytes += n
        this.driver.transmit(buf, n)
    }

    /**
     * An ARP request or reply (RFC 826) from arpTx, to the MAC at
     * mac[macOff], or broadcast when mac is null (a request for tpa); a
     * reply or a refresh goes to that MAC.
     */
    private sendArp(op: number, mac: Buffer, macOff: number, tpa: number): void {
        const b = this.arpTx
        if (mac) b.blitAt(0, mac, macOff, 6)
        else b.fillAt(0, 6, 0xff)
        b[21] = op
        setU32(b, 28, this.ip)
        if (op === ARP_REPLY) {
            b.blitAt(32, mac, macOff, 6)
            this.counters.arpRepliesSent++
        } else {
            b.fillAt(32, 6, 0)
            this.counters.arpRequestsSent++
        }
        setU32(b, 38, tpa)
        this.send(b, ETH_HEADER_LEN + ARP_LEN)
    }

    /**
     * A destination unreachable (RFC 792) with `code` about the datagram
     * received (its IP header at frame[14]), under the rules of RFC 1122
     * §3.2.2: never about an ICMP error, a broadcast or multicast, a
     * non-initial fragment, or a source that is not a unique host;
     * rate-limited (RFC 1812 §4.3.2.8).
     */
    private sendIcmpError(frame: Buffer, code: number, now: number): void {
        const ip = this.rxIp
        if (ip.dst !== this.ip || ip.src === 0 || this.isBroadcastOrMulticast(ip.src) || ip.fragmentOffset !== 0) return
        if (ip.protocol === IP_PROTO_ICMP) {
            const t = frame[IP_OFF + ip.headerLength]
            if (t !== ICMP_ECHO_REQUEST && t !== ICMP_ECHO_REPLY) return
        }
        // a token bucket: icmpErrorsPerSecond, refilled continuously
        const rate = this.limits.icmpErrorsPerSecond
        const elapsed = now - this.icmpTokensAt
        if (elapsed > 0) {
            this.icmpTokens = Math.min(rate, this.icmpTokens + (elapsed * rate) / 1000)
            this.icmpTokensAt = now
        }
        if (this.icmpTokens < 1) return
        this.icmpTokens -= 1
        const quoted = Math.min(ip.totalLength, ICMP_ERROR_MAX - IPV4_HEADER_LEN - 8)
        const tx = this.tx
        copyBytes(tx, L4_OFF + 8, frame, IP_OFF, quoted)
        // the 4 bytes after the checksum are unused (zero)
        tx.fillAt(L4_OFF + 4, 4, 0)
        if (this.icmpOutput(ip.src, ICMP_DEST_UNREACHABLE, code, quoted, now)) this.counters.icmpErrorsSent++
    }

    /**
     * Sends the ICMP message at tx[34] whose bytes 4..7 and payloadLen
     * bytes of data are in place: its type, code and checksum (RFC 792),
     * then the IP header.
     */
    private icmpOutput(dst: number, type: number, code: number, payloadLen: number, now: number): boolean {
        const tx = this.tx
        tx[L4_OFF] = type
        tx[L4_OFF + 1] = code
        tx[L4_OFF + 2] = 0
        tx[L4_OFF + 3] = 0
        const sum = internetChecksum(tx, L4_OFF, ICMP_HEADER_LEN + payloadLen)
        tx[L4_OFF + 2] = sum >> 8
        tx[L4_OFF + 3] = sum & 0xff
        return this.ipOutput(dst, IP_PROTO_ICMP, ICMP_HEADER_LEN + payloadLen, now)
    }

    // ---- addressing -------------------------------------------------------

    private isBroadcastOrMulticast(ip: number): boolean {
        return ip === BROADCAST || ip === this.bcast || isMulticast(ip)
    }

    /** A multicast MAC (01:00:5e plus 23 bits, RFC 1112 §6.4) of a group we joined. */
    private acceptsMulticastMac(mac: Buffer): boolean {
        // bytes 01 00 5e, read as a little-endian word
        if ((mac.getAt(0, "u32") & 0xffffff) !== 0x5e0001) return false
        const low = (mac[3] << 16) | (mac[4] << 8) | mac[5]
        for (const g of this.multicastGroups) if ((g & 0x7fffff) === low) return true
        return false
    }

    say(line: string): void {
        if (this.log) this.log(line)
    }
}

/** 224.0.0.0/4 (RFC 5771). */
function isMulticast(ip: number): boolean {
    return ip >>> 28 === 0xe
}
