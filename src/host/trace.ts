// tcpdump-style one-line descriptions of Ethernet frames, for logs and tests
// (host only). The lines follow `tcpdump -nn` without application-layer
// decoding:
//
//   ARP, Request who-has 198.18.0.2 tell 198.18.0.1, length 28
//   IP 198.18.0.1 > 198.18.0.2: ICMP echo request, id 1, seq 1, length 64
//   IP 198.18.0.1.5353 > 198.18.0.2.53: UDP, length 29
//   IP 198.18.0.1.3337 > 198.18.0.2.80: Flags [S], seq 1, win 64240, options [mss 1460], length 0
//
// Sequence numbers are absolute (tcpdump -S) unless a TraceContext is used,
// which tracks each connection like tcpdump does and prints relative numbers
// after the first segment carrying an ACK. Malformed frames give a line that
// names the wire Reason, e.g. `IP [bad ip badChecksum], length 84`; nothing
// here throws on bad input.
import "./buffer-polyfill.js"
import { getU16, getU32, ipToString, macToString } from "../wire/bytes.js"
import { Reason, REASON_NAMES } from "../wire/reason.js"
import { EthernetHeader, ETH_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, parseEthernet } from "../wire/ethernet.js"
import { ArpPacket, ARP_REPLY, ARP_REQUEST, parseArp } from "../wire/arp.js"
import { Ipv4Header, IP_PROTO_ICMP, IP_PROTO_TCP, IP_PROTO_UDP, parseIpv4 } from "../wire/ipv4.js"
import {
    IcmpHeader,
    ICMP_DEST_UNREACHABLE,
    ICMP_ECHO_REPLY,
    ICMP_ECHO_REQUEST,
    ICMP_FRAG_NEEDED,
    ICMP_HOST_UNREACHABLE,
    ICMP_NET_UNREACHABLE,
    ICMP_PORT_UNREACHABLE,
    ICMP_PROTOCOL_UNREACHABLE,
    ICMP_TIME_EXCEEDED,
    parseIcmp,
} from "../wire/icmp.js"
import { UdpHeader, UDP_HEADER_LEN, parseUdp } from "../wire/udp.js"
import {
    TcpHeader,
    TCP_ACK,
    TCP_CWR,
    TCP_ECE,
    TCP_FIN,
    TCP_HEADER_LEN,
    TCP_OPT_EOL,
    TCP_OPT_MSS,
    TCP_OPT_NOP,
    TCP_OPT_SACK,
    TCP_OPT_SACK_PERMITTED,
    TCP_OPT_TIMESTAMPS,
    TCP_OPT_WSCALE,
    TCP_PSH,
    TCP_RST,
    TCP_SYN,
    TCP_URG,
    parseTcp,
} from "../wire/tcp.js"

interface ConnBase {
    /** initial sequence number of the lower endpoint (by address, then port) */
    lowIsn: number
    /** initial sequence number of the higher endpoint */
    highIsn: number
}

/**
 * Per-connection state for relative sequence numbers, as tcpdump keeps it:
 * the first segment with ACK set (or any SYN+ACK) of a connection records
 * both initial sequence numbers (its seq, and its ack - 1) and is printed
 * absolute; later segments print seq and ack relative to them.
 */
export class TraceContext {
    private conns = new Map<string, ConnBase>()

    /** Forgets every connection. */
    reset(): void {
        this.conns.clear()
    }

    format(frame: Buffer, length: number, timeMs?: number): string {
        return formatFrame(frame, length, timeMs, this)
    }

    /** Returns [seq, ack] to print, updating the state. */
    relative(src: number, sport: number, dst: number, dport: number, flags: number, seq: number, ack: number): [number, number] {
        const low = src < dst || (src === dst && sport <= dport)
        const key = low ? src + ":" + sport + "-" + dst + ":" + dport : dst + ":" + dport + "-" + src + ":" + sport
        const c = this.conns.get(key)
        if (!c || (flags & TCP_SYN) !== 0) {
            const peerIsn = (ack - 1) >>> 0
            this.conns.set(key, low ? { lowIsn: seq, highIsn: peerIsn } : { lowIsn: peerIsn, highIsn: seq })
            return [seq, ack]
        }
        const mine = low ? c.lowIsn : c.highIsn
        const theirs = low ? c.highIsn : c.lowIsn
        return [(seq - mine) >>> 0, (ack - theirs) >>> 0]
    }
}

function bad(layer: string, r: Reason): string {
    return "[bad " + layer + " " + (REASON_NAMES[r] ?? "reason" + r) + "]"
}

function hex(v: number, digits: number): string {
    return v.toString(16).padStart(digits, "0")
}

const FLAG_LETTERS: [number, string][] = [
    [TCP_FIN, "F"],
    [TCP_SYN, "S"],
    [TCP_RST, "R"],
    [TCP_PSH, "P"],
    [TCP_ACK, "."],
    [TCP_URG, "U"],
    [TCP_ECE, "E"],
    [TCP_CWR, "W"],
]

/** tcpdump's flag letters: F S R P . U E W, "none" when no flag is set. */
export function tcpFlagsString(flags: number): string {
    let s = ""
    for (const [bit, letter] of FLAG_LETTERS) if (flags & bit) s += letter
    return s || "none"
}

/** The options of a TCP header (its length already checked), as tcpdump lists them; SACK blocks relative to ackBase. */
export function tcpOptions(b: Buffer, off: number, hl: number, ackBase: number): string[] {
    const out: string[] = []
    const end = off + hl
    let i = off + TCP_HEADER_LEN
    while (i < end) {
        const kind = b[i]
        if (kind === TCP_OPT_EOL) {
            out.push("eol")
            break
        }
        if (kind === TCP_OPT_NOP) {
            out.push("nop")
            i++
            continue
        }
        const len = b[i + 1]
        if (len < 2 || i + len > end) break // parseTcp rejects these
        if (kind === TCP_OPT_MSS) out.push("mss " + getU16(b, i + 2))
        else if (kind === TCP_OPT_WSCALE) out.push("wscale " + b[i + 2])
        else if (kind === TCP_OPT_SACK_PERMITTED) out.push("sackOK")
        else if (kind === TCP_OPT_TIMESTAMPS) out.push("TS val " + getU32(b, i + 2) + " ecr " + getU32(b, i + 6))
        else if (kind === TCP_OPT_SACK) {
            const n = (len - 2) >> 3
            let s = "sack " + n + " "
            for (let k = 0; k < n; k++) {
                const l = getU32(b, i + 2 + 8 * k)
                const r = getU32(b, i + 6 + 8 * k)
                s += "{" + ((l - ackBase) >>> 0) + ":" + ((r - ackBase) >>> 0) + "}"
            }
            out.push(s)
        } else {
            let s = "opt-" + kind + ":"
            for (let k = 2; k < len; k++) s += hex(b[i + k], 2)
            out.push(s)
        }
        i += len
    }
    return out
}

function formatTcp(b: Buffer, off: number, len: number, ip: Ipv4Header, ctx: TraceContext): string {
    const prefix = "IP " + ipToString(ip.src)
    const t = new TcpHeader()
    const r = parseTcp(b, off, len, ip.src, ip.dst, t)
    if (r !== Reason.Ok) return prefix + " > " + ipToString(ip.dst) + ": " + bad("tcp", r) + ", length " + len
    const dataLen = len - t.headerLength
    let seq = t.seq
    let ack = t.ack
    if (ctx && (t.flags & TCP_ACK) !== 0) {
        const rel = ctx.relative(ip.src, t.srcPort, ip.dst, t.dstPort, t.flags, t.seq, t.ack)
        seq = rel[0]
        ack = rel[1]
    }
    let s = prefix + "." + t.srcPort + " > " + ipToString(ip.dst) + "." + t.dstPort + ": Flags [" + tcpFlagsString(t.flags) + "]"
    if (dataLen > 0 || (t.flags & (TCP_SYN | TCP_FIN | TCP_RST)) !== 0) {
        s += ", seq " + seq
        if (dataLen > 0) s += ":" + ((seq + dataLen) >>> 0)
    }
    if (t.flags & TCP_ACK) s += ", ack " + ack
    s += ", win " + t.window
    if (t.flags & TCP_URG) s += ", urg " + t.urgent
    if (t.headerLength > TCP_HEADER_LEN) {
        s += ", options [" + tcpOptions(b, off, t.headerLength, (t.ack - ack) >>> 0).join(",") + "]"
    }
    return s + ", length " + dataLen
}

function formatUdp(b: Buffer, off: number, len: number, ip: Ipv4Header): string {
    const u = new UdpHeader()
    const r = parseUdp(b, off, len, ip.src, ip.dst, u)
    if (r !== Reason.Ok) return "IP " + ipToString(ip.src) + " > " + ipToString(ip.dst) + ": " + bad("udp", r) + ", length " + len
    return "IP " + ipToString(ip.src) + "." + u.srcPort + " > " + ipToString(ip.dst) + "." + u.dstPort + ": UDP, length " + (u.length - UDP_HEADER_LEN)
}

/** "udp port 9" etc. from the IP header + 8 bytes quoted in an ICMP error, or "" when not enough is there. */
function quoted(b: Buffer, off: number, len: number): { dst: string; proto: number; port: string } {
    if (len < 20 || b[off] >> 4 !== 4) return null
    const hl = (b[off] & 15) << 2
    const proto = b[off + 9]
    const dst = ipToString(getU32(b, off + 16))
    let port = ""
    if (hl >= 20 && len >= hl + 4 && (proto === IP_PROTO_UDP || proto === IP_PROTO_TCP)) {
        port = (proto === IP_PROTO_UDP ? "udp" : "tcp") + " port " + getU16(b, off + hl + 2)
    }
    return { dst, proto, port }
}

function formatIcmp(b: Buffer, off: number, len: number, ip: Ipv4Header): string {
    const prefix = "IP " + ipToString(ip.src) + " > " + ipToString(ip.dst) + ": "
    const h = new IcmpHeader()
    const r = parseIcmp(b, off, len, h)
    if (r !== Reason.Ok) return prefix + bad("icmp", r) + ", length " + len
    let what: string
    if (h.type === ICMP_ECHO_REQUEST || h.type === ICMP_ECHO_REPLY) {
        what = "echo " + (h.type === ICMP_ECHO_REQUEST ? "request" : "reply") + ", id " + h.id + ", seq " + h.seq
    } else if (h.type === ICMP_DEST_UNREACHABLE) {
        const q = quoted(b, off + 8, len - 8)
        const dst = q ? q.dst : "?"
        if (h.code === ICMP_PORT_UNREACHABLE && q && q.port) what = dst + " " + q.port + " unreachable"
        else if (h.code === ICMP_PROTOCOL_UNREACHABLE && q) what = dst + " protocol " + q.proto + " unreachable"
        else if (h.code === ICMP_HOST_UNREACHABLE) what = "host " + dst + " unreachable"
        else if (h.code === ICMP_NET_UNREACHABLE) what = "net " + dst + " unreachable"
        else if (h.code === ICMP_FRAG_NEEDED) what = dst + " unreachable - need to frag (mtu " + h.seq + ")"
        else what = dst + " unreachable - code " + h.code
    } else if (h.type === ICMP_TIME_EXCEEDED) {
        what = h.code === 0 ? "time exceeded in-transit" : "ip reassembly time exceeded"
    } else {
        what = "type-#" + h.type
    }
    return prefix + "ICMP " + what + ", length " + len
}

function formatIpv4(b: Buffer, off: number, len: number, ctx: TraceContext): string {
    const ip = new Ipv4Header()
    const r = parseIpv4(b, off, len, ip)
    if (r !== Reason.Ok) return "IP " + bad("ip", r) + ", length " + len
    const p = off + ip.headerLength
    const plen = ip.totalLength - ip.headerLength
    if (ip.fragmentOffset > 0 || ip.moreFragments) {
        // a fragment: transport headers and checksums cannot be checked alone
        const frag = " (frag " + ip.id + ":" + plen + "@" + ip.fragmentOffset + (ip.moreFragments ? "+" : "") + ")"
        return "IP " + ipToString(ip.src) + " > " + ipToString(ip.dst) + ": ip-proto-" + ip.protocol + frag + ", length " + plen
    }
    if (ip.protocol === IP_PROTO_TCP) return formatTcp(b, p, plen, ip, ctx)
    if (ip.protocol === IP_PROTO_UDP) return formatUdp(b, p, plen, ip)
    if (ip.protocol === IP_PROTO_ICMP) return formatIcmp(b, p, plen, ip)
    return "IP " + ipToString(ip.src) + " > " + ipToString(ip.dst) + ": ip-proto-" + ip.protocol + ", length " + plen
}

function isZeroMac(m: Buffer): boolean {
    for (let i = 0; i < 6; i++) if (m[i] !== 0) return false
    return true
}

function formatArp(b: Buffer, off: number, len: number): string {
    const a = new ArpPacket()
    const r = parseArp(b, off, len, a)
    if (r !== Reason.Ok) return "ARP, " + bad("arp", r) + ", length " + len
    if (a.op === ARP_REQUEST) {
        const tha = isZeroMac(a.tha) ? "" : " (" + macToString(a.tha, 0) + ")"
        return "ARP, Request who-has " + ipToString(a.tpa) + tha + " tell " + ipToString(a.spa) + ", length " + len
    }
    if (a.op === ARP_REPLY) return "ARP, Reply " + ipToString(a.spa) + " is-at " + macToString(a.sha, 0) + ", length " + len
    return "ARP, op " + a.op + ", length " + len
}

/**
 * One line describing frame[0, length). With timeMs, the line starts with
 * the time in seconds and 6 decimals ("0.123456 "). With ctx, TCP sequence
 * numbers are relative after the handshake, as tcpdump prints them.
 */
export function formatFrame(frame: Buffer, length: number, timeMs?: number, ctx?: TraceContext): string {
    const time = timeMs === undefined ? "" : (timeMs / 1000).toFixed(6) + " "
    let line: string
    try {
        const len = Math.max(0, Math.min(length, frame.length))
        const eth = new EthernetHeader()
        const r = parseEthernet(frame, 0, len, eth)
        const plen = len - ETH_HEADER_LEN
        if (r !== Reason.Ok) line = bad("ethernet", r) + ", length " + len
        else if (eth.etherType === ETHERTYPE_IPV4) line = formatIpv4(frame, ETH_HEADER_LEN, plen, ctx)
        else if (eth.etherType === ETHERTYPE_ARP) line = formatArp(frame, ETH_HEADER_LEN, plen)
        else line = "ethertype 0x" + hex(eth.etherType, 4) + ", length " + plen
    } catch (e) {
        // the parsers do not throw; this only guards the formatting itself
        line = "[trace error " + (e as Error).message + "]"
    }
    return time + line
}
