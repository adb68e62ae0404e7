// tcpdump-style lines for the real capture.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { formatFrame, tcpFlagsString, TraceContext } from "../../src/host/trace.js"
import { TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG } from "../../src/wire/tcp.js"
import { internetChecksum } from "../../src/wire/checksum.js"
import { setU16 } from "../../src/wire/bytes.js"
import {
    ARP_REPLY_FRAME,
    ARP_REQUEST_FRAME,
    DNS_QUERY_FRAME,
    ECHO_REPLY_FRAME,
    ECHO_REQUEST_FRAME,
    GET_FRAME,
    IPV6_FRAME,
    PORT_UNREACHABLE_FRAME,
    SYN_FRAME,
    TCP_FRAMES,
    TCP_TCPDUMP_LINES,
    UDP_DISCARD_FRAME,
} from "./capture.js"

function line(f: Buffer): string {
    return formatFrame(f, f.length)
}

test("trace: ARP", () => {
    assert.equal(line(ARP_REQUEST_FRAME), "ARP, Request who-has 198.18.0.2 tell 198.18.0.1, length 28")
    assert.equal(line(ARP_REPLY_FRAME), "ARP, Reply 198.18.0.2 is-at 02:00:00:00:00:02, length 28")
    const padded = Buffer.concat([ARP_REQUEST_FRAME, Buffer.alloc(18)])
    assert.equal(line(padded), "ARP, Request who-has 198.18.0.2 tell 198.18.0.1, length 46")
})

test("trace: ICMP", () => {
    assert.equal(line(ECHO_REQUEST_FRAME), "IP 198.18.0.1 > 198.18.0.2: ICMP echo request, id 4671, seq 1, length 64")
    assert.equal(line(ECHO_REPLY_FRAME), "IP 198.18.0.2 > 198.18.0.1: ICMP echo reply, id 4671, seq 1, length 64")
    assert.equal(line(PORT_UNREACHABLE_FRAME), "IP 198.18.0.2 > 198.18.0.1: ICMP 198.18.0.2 udp port 9 unreachable, length 42")
})

test("trace: UDP", () => {
    assert.equal(line(DNS_QUERY_FRAME), "IP 198.18.0.1.5353 > 198.18.0.2.53: UDP, length 29")
    assert.equal(line(UDP_DISCARD_FRAME), "IP 198.18.0.1.5353 > 198.18.0.2.9: UDP, length 6")
})

test("trace: TCP with absolute sequence numbers", () => {
    assert.equal(
        line(SYN_FRAME),
        "IP 198.18.0.1.3337 > 198.18.0.2.80: Flags [S], seq 4272256588, win 64240, options [mss 1460,sackOK,TS val 1627084467 ecr 0,nop,wscale 10], length 0",
    )
    assert.equal(
        line(GET_FRAME),
        "IP 198.18.0.1.3337 > 198.18.0.2.80: Flags [P.], seq 4272256589:4272256617, ack 1836823396, win 63, options [nop,nop,TS val 1627084467 ecr 174644041], length 28",
    )
})

test("trace: TCP with a TraceContext prints what tcpdump printed", () => {
    const ctx = new TraceContext()
    const lines = TCP_FRAMES.map((f) => ctx.format(f, f.length))
    assert.deepEqual(lines, TCP_TCPDUMP_LINES)
    // interleaved with other traffic, through formatFrame
    const ctx2 = new TraceContext()
    for (let i = 0; i < TCP_FRAMES.length; i++) {
        formatFrame(DNS_QUERY_FRAME, DNS_QUERY_FRAME.length, undefined, ctx2)
        assert.equal(formatFrame(TCP_FRAMES[i], TCP_FRAMES[i].length, undefined, ctx2), TCP_TCPDUMP_LINES[i])
    }
})

test("trace: time prefix in seconds with 6 decimals", () => {
    assert.equal(formatFrame(ARP_REPLY_FRAME, 42, 0), "0.000000 ARP, Reply 198.18.0.2 is-at 02:00:00:00:00:02, length 28")
    assert.equal(formatFrame(ARP_REPLY_FRAME, 42, 123.456), "0.123456 ARP, Reply 198.18.0.2 is-at 02:00:00:00:00:02, length 28")
    assert.equal(formatFrame(ARP_REPLY_FRAME, 42, 61000.5).split(" ")[0], "61.000500")
})

test("trace: flags letters", () => {
    assert.equal(tcpFlagsString(TCP_SYN), "S")
    assert.equal(tcpFlagsString(TCP_SYN | TCP_ACK), "S.")
    assert.equal(tcpFlagsString(TCP_FIN | TCP_PSH | TCP_ACK), "FP.")
    assert.equal(tcpFlagsString(TCP_RST), "R")
    assert.equal(tcpFlagsString(TCP_ACK | TCP_URG | TCP_ECE | TCP_CWR), ".UEW")
    assert.equal(tcpFlagsString(0), "none")
})

test("trace: other EtherTypes and malformed frames name the reason", () => {
    assert.equal(line(IPV6_FRAME), "ethertype 0x86dd, length 76")
    assert.equal(formatFrame(SYN_FRAME, 10), "[bad ethernet truncated], length 10")
    assert.equal(formatFrame(SYN_FRAME, 0), "[bad ethernet truncated], length 0")
    assert.equal(formatFrame(SYN_FRAME, 30), "IP [bad ip truncated], length 16")
    assert.equal(formatFrame(SYN_FRAME, 70), "IP [bad ip badTotalLength], length 56")
    assert.equal(formatFrame(ARP_REQUEST_FRAME, 40), "ARP, [bad arp truncated], length 26")
    const ipBad = Buffer.from(ECHO_REQUEST_FRAME)
    ipBad[22] = 1 // TTL, checksum not fixed
    assert.equal(line(ipBad), "IP [bad ip badChecksum], length 84")
    const tcpBad = Buffer.from(GET_FRAME)
    tcpBad[tcpBad.length - 1] ^= 1
    assert.equal(line(tcpBad), "IP 198.18.0.1 > 198.18.0.2: [bad tcp badChecksum], length 60")
    const icmpBad = Buffer.from(ECHO_REPLY_FRAME)
    icmpBad[60] ^= 1
    assert.equal(line(icmpBad), "IP 198.18.0.2 > 198.18.0.1: [bad icmp badChecksum], length 64")
    const udpBad = Buffer.from(DNS_QUERY_FRAME)
    udpBad[39] = 0 // UDP length 0x0025 -> 0x0000
    assert.equal(line(udpBad), "IP 198.18.0.1 > 198.18.0.2: [bad udp badLength], length 37")
    const arpBad = Buffer.from(ARP_REPLY_FRAME)
    arpBad[21] = 9
    assert.equal(line(arpBad), "ARP, [bad arp badArp], length 28")
})

test("trace: IP fragments and other protocols", () => {
    const f = Buffer.from(UDP_DISCARD_FRAME)
    setU16(f, 20, 0x2000) // MF, offset 0
    setU16(f, 24, 0)
    setU16(f, 24, internetChecksum(f, 14, 20))
    assert.equal(line(f), "IP 198.18.0.1 > 198.18.0.2: ip-proto-17 (frag 36298:14@0+), length 14")
    const g = Buffer.from(UDP_DISCARD_FRAME)
    g[23] = 47 // GRE
    setU16(g, 24, 0)
    setU16(g, 24, internetChecksum(g, 14, 20))
    assert.equal(line(g), "IP 198.18.0.1 > 198.18.0.2: ip-proto-47, length 14")
})

test("trace: never throws on random frames", () => {
    let x = 5
    for (let n = 0; n < 2000; n++) {
        const base = [SYN_FRAME, ECHO_REQUEST_FRAME, ARP_REQUEST_FRAME, DNS_QUERY_FRAME][n & 3]
        const f = Buffer.from(base)
        for (let k = 0; k < 3; k++) {
            x = (Math.imul(x, 1103515245) + 12345) >>> 0
            f[x % f.length] = x >>> 24
        }
        const s = formatFrame(f, (x >>> 8) % (f.length + 1))
        assert.equal(typeof s, "string")
        assert.ok(!s.startsWith("[trace error"), s)
    }
})
