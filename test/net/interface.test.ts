// The interface layer, frame by frame: hand-made frames in, exact frames out.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { Reason } from "../../src/wire/reason.js"
import { ipToString, macToString, getU16 } from "../../src/wire/bytes.js"
import { EthernetHeader, ETHERTYPE_ARP, ETHERTYPE_IPV4, parseEthernet } from "../../src/wire/ethernet.js"
import { ArpPacket, ARP_REPLY, ARP_REQUEST, parseArp } from "../../src/wire/arp.js"
import { Ipv4Header, IP_PROTO_ICMP, IP_PROTO_UDP, parseIpv4 } from "../../src/wire/ipv4.js"
import { IcmpHeader, ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_PORT_UNREACHABLE, parseIcmp } from "../../src/wire/icmp.js"
import { UdpHeader, parseUdp } from "../../src/wire/udp.js"
import { internetChecksum } from "../../src/wire/checksum.js"
import {
    A_IP, A_MAC, B_IP, B_MAC, GW_IP, GW_MAC,
    arpFrame, icmpMessage, ip, ipFrame, pattern, stackB, udpDatagram, ethFrame,
} from "../helpers.js"

function parseArpFrame(f: Buffer): { eth: EthernetHeader; arp: ArpPacket } {
    const eth = new EthernetHeader()
    assert.equal(parseEthernet(f, 0, f.length, eth), Reason.Ok)
    assert.equal(eth.etherType, ETHERTYPE_ARP)
    const arp = new ArpPacket()
    assert.equal(parseArp(f, 14, f.length - 14, arp), Reason.Ok)
    return { eth, arp }
}

function parseIpFrame(f: Buffer): { eth: EthernetHeader; ip: Ipv4Header } {
    const eth = new EthernetHeader()
    assert.equal(parseEthernet(f, 0, f.length, eth), Reason.Ok)
    assert.equal(eth.etherType, ETHERTYPE_IPV4)
    const h = new Ipv4Header()
    assert.equal(parseIpv4(f, 14, f.length - 14, h), Reason.Ok)
    return { eth, ip: h }
}

/** B knows A (A asked for B first), so B's answers to A go out at once. */
function bKnowingA() {
    const b = stackB()
    b.stack.start(0)
    b.stack.receive(arpFrame(ARP_REQUEST, A_MAC, A_IP, "00:00:00:00:00:00", B_IP), 1)
    b.driver.take()
    return b
}

test("start announces the address with a gratuitous ARP request", () => {
    const { stack, driver } = stackB()
    stack.start(0)
    const [f] = driver.take()
    assert.equal(f.length, 60, "padded to Ethernet's minimum frame")
    const { eth, arp } = parseArpFrame(f)
    assert.equal(macToString(eth.dst, 0), "ff:ff:ff:ff:ff:ff")
    assert.equal(arp.op, ARP_REQUEST)
    assert.equal(ipToString(arp.spa), B_IP)
    assert.equal(ipToString(arp.tpa), B_IP)
    assert.equal(macToString(arp.sha, 0), B_MAC)
})

test("ARP who-has for our address gets a unicast reply and the asker is learned", () => {
    const { stack, driver } = stackB()
    stack.receive(arpFrame(ARP_REQUEST, A_MAC, A_IP, "00:00:00:00:00:00", B_IP), 5)
    const [f] = driver.take()
    const { eth, arp } = parseArpFrame(f)
    assert.equal(macToString(eth.dst, 0), A_MAC)
    assert.equal(arp.op, ARP_REPLY)
    assert.equal(ipToString(arp.spa), B_IP)
    assert.equal(macToString(arp.sha, 0), B_MAC)
    assert.equal(ipToString(arp.tpa), A_IP)
    assert.equal(macToString(arp.tha, 0), A_MAC)
    assert.equal(stack.status().arp.reachable, 1)
    assert.equal(stack.counters.arpRepliesSent, 1)
})

test("ARP for someone else is counted notForUs and not learned", () => {
    const { stack, driver } = stackB()
    stack.receive(arpFrame(ARP_REQUEST, A_MAC, A_IP, "00:00:00:00:00:00", "198.18.0.77"), 5)
    assert.equal(driver.take().length, 0)
    assert.equal(stack.counters.drops[Reason.NotForUs], 1)
    assert.equal(stack.status().arp.reachable, 0)
})

test("someone claiming our address is reported, not learned", () => {
    const { stack, driver, logs } = stackB()
    stack.receive(arpFrame(ARP_REPLY, A_MAC, B_IP, B_MAC, B_IP), 5)
    assert.equal(driver.take().length, 0)
    assert.equal(stack.counters.drops[Reason.Martian], 1)
    assert.match(logs.join("\n"), /address conflict/)
})

test("echo request: the reply carries the exact payload back", () => {
    const { stack, driver } = bKnowingA()
    const payload = pattern(1472)
    payload[7] = 0x5a
    stack.receive(ipFrame(B_MAC, A_MAC, { protocol: IP_PROTO_ICMP, src: A_IP, dst: B_IP }, icmpMessage(ICMP_ECHO_REQUEST, 0, 0x1234, 7, payload)), 10)
    const [f] = driver.take()
    assert.equal(f.length, 14 + 1500)
    const { eth, ip: h } = parseIpFrame(f)
    assert.equal(macToString(eth.dst, 0), A_MAC)
    assert.equal(ipToString(h.src), B_IP)
    assert.equal(ipToString(h.dst), A_IP)
    assert.equal(h.protocol, IP_PROTO_ICMP)
    assert.equal(h.ttl, 64)
    const m = new IcmpHeader()
    assert.equal(parseIcmp(f, 34, h.totalLength - 20, m), Reason.Ok)
    assert.equal(m.type, ICMP_ECHO_REPLY)
    assert.equal(m.id, 0x1234)
    assert.equal(m.seq, 7)
    assert.deepEqual(f.subarray(42), payload)
    assert.equal(stack.counters.icmpEchoRepliesSent, 1)
})

test("echo to a broadcast address is ignored, like Linux", () => {
    const { stack, driver } = bKnowingA()
    stack.receive(ipFrame("ff:ff:ff:ff:ff:ff", A_MAC, { protocol: IP_PROTO_ICMP, src: A_IP, dst: "198.18.0.255" }, icmpMessage(ICMP_ECHO_REQUEST, 0, 1, 1, pattern(8))), 10)
    assert.equal(driver.take().length, 0)
    assert.equal(stack.counters.drops[Reason.IcmpIgnored], 1)
})

test("frames for another MAC, another IP, bad checksums and fragments are dropped and counted", () => {
    const { stack, driver } = bKnowingA()
    const echo = icmpMessage(ICMP_ECHO_REQUEST, 0, 1, 1, pattern(8))
    stack.receive(ipFrame("02:00:00:00:00:99", A_MAC, { protocol: IP_PROTO_ICMP, src: A_IP, dst: B_IP }, echo), 1)
    stack.receive(ipFrame(B_MAC, A_MAC, { protocol: IP_PROTO_ICMP, src: A_IP, dst: "198.18.0.9" }, echo), 1)
    const bad = ipFrame(B_MAC, A_MAC, { protocol: IP_PROTO_ICMP, src: A_IP, dst: B_IP }, echo)
    bad[14 + 10] ^= 0x40
    stack.receive(bad, 1)
    const badIcmp = ipFrame(B_MAC, A_MAC, { protocol: IP_PROTO_ICMP, src: A_IP, dst: B_IP }, echo)
    badIcmp[14 + 20 + 9] ^= 1
    stack.receive(badIcmp, 1)
    stack.receive(ipFrame(B_MAC, A_MAC, { protocol: IP_PROTO_ICMP, src: A_IP, dst: B_IP, moreFragments: true }, echo), 1)
    stack.receive(ipFrame(B_MAC, A_MAC, { protocol: IP_PROTO_ICMP, src: "198.18.0.255", dst: B_IP }, echo), 1)
    stack.receive(ethFrame(B_MAC, A_MAC, 0x86dd, pattern(40)), 1)
    stack.receive(Buffer.from([1, 2, 3]), 1)
    assert.equal(driver.take().length, 0)
    const d = stack.counters.drops
    assert.equal(d[Reason.NotForUs], 2)
    assert.equal(d[Reason.BadChecksum], 2)
    assert.equal(d[Reason.Fragment], 1)
    assert.equal(d[Reason.BroadcastSource], 1)
    assert.equal(d[Reason.UnknownEtherType], 1)
    assert.equal(d[Reason.Truncated], 1)
    assert.equal(stack.counters.totalDrops(), 8)
    assert.equal(d[Reason.InternalError], 0)
})

test("UDP to a closed port: ICMP port unreachable quoting the datagram", () => {
    const { stack, driver } = bKnowingA()
    const dgram = udpDatagram(A_IP, B_IP, 40000, 9, Buffer.from("hello"))
    const inFrame = ipFrame(B_MAC, A_MAC, { protocol: IP_PROTO_UDP, src: A_IP, dst: B_IP, id: 77 }, dgram)
    stack.receive(inFrame, 10)
    const [f] = driver.take()
    const { ip: h } = parseIpFrame(f)
    const m = new IcmpHeader()
    assert.equal(parseIcmp(f, 34, h.totalLength - 20, m), Reason.Ok)
    assert.equal(m.type, ICMP_DEST_UNREACHABLE)
    assert.equal(m.code, ICMP_PORT_UNREACHABLE)
    // the whole offending datagram, from its IP header on, is quoted
    assert.deepEqual(f.subarray(42, 42 + inFrame.length - 14), inFrame.subarray(14))
    assert.equal(stack.counters.drops[Reason.NoSocket], 1)
    assert.equal(stack.counters.icmpErrorsSent, 1)
})

test("UDP: a bound port gets the datagram, and udpSend answers", () => {
    const { stack, driver } = bKnowingA()
    const got: string[] = []
    assert.ok(stack.udpBind(7, (src, srcPort, dstPort, buf, off, len, now) => {
        got.push(`${ipToString(src)}:${srcPort}>${dstPort} ${buf.toString("utf8", off, off + len)} @${now}`)
        stack.udpSend(dstPort, src, srcPort, buf, off, len, now)
    }))
    assert.equal(stack.udpBind(7, () => {}), false, "port taken")
    stack.receive(ipFrame(B_MAC, A_MAC, { protocol: IP_PROTO_UDP, src: A_IP, dst: B_IP }, udpDatagram(A_IP, B_IP, 5555, 7, Buffer.from("ping"))), 42)
    assert.deepEqual(got, [`${A_IP}:5555>7 ping @42`])
    const [f] = driver.take()
    const { ip: h } = parseIpFrame(f)
    const u = new UdpHeader()
    assert.equal(parseUdp(f, 34, h.totalLength - 20, h.src, h.dst, u), Reason.Ok)
    assert.equal(u.srcPort, 7)
    assert.equal(u.dstPort, 5555)
    assert.equal(f.toString("utf8", 42, 46), "ping")
    stack.udpUnbind(7)
    assert.ok(stack.udpBind(7, () => {}))
})

test("unknown IP protocol: ICMP protocol unreachable, counted", () => {
    const { stack, driver } = bKnowingA()
    stack.receive(ipFrame(B_MAC, A_MAC, { protocol: 99, src: A_IP, dst: B_IP }, pattern(12)), 1)
    const [f] = driver.take()
    const { ip: h } = parseIpFrame(f)
    const m = new IcmpHeader()
    assert.equal(parseIcmp(f, 34, h.totalLength - 20, m), Reason.Ok)
    assert.equal(m.type, ICMP_DEST_UNREACHABLE)
    assert.equal(m.code, 2)
    assert.equal(stack.counters.drops[Reason.UnknownProtocol], 1)
})

test("ICMP errors are rate-limited (RFC 1812 §4.3.2.8)", () => {
    const { stack, driver } = bKnowingA()
    const frame = ipFrame(B_MAC, A_MAC, { protocol: IP_PROTO_UDP, src: A_IP, dst: B_IP }, udpDatagram(A_IP, B_IP, 1, 9, pattern(4)))
    for (let i = 0; i < 50; i++) stack.receive(frame, 1000)
    assert.equal(driver.take().length, 10, "a burst of icmpErrorsPerSecond")
    for (let i = 0; i < 50; i++) stack.receive(frame, 1500)
    assert.equal(driver.take().length, 5, "half a second refills half")
    assert.equal(stack.counters.drops[Reason.NoSocket], 100)
})

test("sending to an unknown neighbour: ARP request, frame held, sent on the reply", () => {
    const { stack, driver } = stackB()
    assert.ok(stack.ping(ip(A_IP), 1, 1, 56, 0))
    const [req] = driver.take()
    const { arp } = parseArpFrame(req)
    assert.equal(arp.op, ARP_REQUEST)
    assert.equal(ipToString(arp.tpa), A_IP)
    assert.equal(stack.nextDeadline(), 1000)
    stack.receive(arpFrame(ARP_REPLY, A_MAC, A_IP, B_MAC, B_IP, B_MAC), 3)
    const [echo] = driver.take()
    const { eth, ip: h } = parseIpFrame(echo)
    assert.equal(macToString(eth.dst, 0), A_MAC)
    assert.equal(h.protocol, IP_PROTO_ICMP)
    assert.equal(echo[34], ICMP_ECHO_REQUEST)
    assert.equal(stack.nextDeadline(), -1)
})

test("an unanswered resolution retries once a second, then drops what waited", () => {
    const { stack, driver, logs } = stackB({ arpQueueFrames: 2 })
    stack.ping(ip(A_IP), 1, 1, 56, 0)
    stack.ping(ip(A_IP), 1, 2, 56, 10)
    assert.equal(stack.ping(ip(A_IP), 1, 3, 56, 20), false, "queue of 2 is full")
    assert.equal(stack.counters.drops[Reason.ArpQueueFull], 1)
    assert.equal(driver.take().length, 1)
    stack.poll(999)
    assert.equal(driver.take().length, 0, "not due yet")
    stack.poll(1000)
    stack.poll(2000)
    assert.equal(driver.take().length, 2, "retries 2 and 3")
    assert.equal(stack.nextDeadline(), 3000)
    stack.poll(3000)
    assert.equal(driver.take().length, 0)
    assert.equal(stack.counters.drops[Reason.ArpUnresolved], 2)
    assert.equal(stack.nextDeadline(), -1)
    assert.match(logs.join("\n"), /198\.18\.0\.1 did not answer/)
})

test("off-link destinations go to the gateway's MAC; no gateway means noRoute", () => {
    const { stack, driver } = stackB()
    stack.receive(arpFrame(ARP_REQUEST, GW_MAC, GW_IP, "00:00:00:00:00:00", B_IP), 0)
    driver.take()
    stack.ping(ip("198.19.5.5"), 1, 1, 8, 1)
    const [f] = driver.take()
    const { eth, ip: h } = parseIpFrame(f)
    assert.equal(macToString(eth.dst, 0), GW_MAC)
    assert.equal(ipToString(h.dst), "198.19.5.5")
    stack.gateway = 0
    assert.equal(stack.ping(ip("198.19.5.5"), 1, 2, 8, 2), false)
    assert.equal(stack.counters.drops[Reason.NoRoute], 1)
})

test("the ARP cache is bounded: the entry that expires first makes room", () => {
    const { stack, driver } = stackB({ arpEntries: 2 })
    stack.receive(arpFrame(ARP_REQUEST, "02:00:00:00:01:01", "198.18.0.11", "00:00:00:00:00:00", B_IP), 0)
    stack.receive(arpFrame(ARP_REQUEST, "02:00:00:00:01:02", "198.18.0.12", "00:00:00:00:00:00", B_IP), 10)
    stack.receive(arpFrame(ARP_REQUEST, "02:00:00:00:01:03", "198.18.0.13", "00:00:00:00:00:00", B_IP), 20)
    driver.take()
    assert.equal(stack.status().arp.reachable, 2)
    // .11 was evicted: a ping to it needs ARP again, .13 does not
    stack.ping(ip("198.18.0.13"), 1, 1, 8, 30)
    assert.equal(parseIpFrame(driver.take()[0]).ip.protocol, IP_PROTO_ICMP)
    stack.ping(ip("198.18.0.11"), 1, 1, 8, 30)
    assert.equal(parseArpFrame(driver.take()[0]).arp.op, ARP_REQUEST)
})

test("entries expire after arpMaxAgeMs; one in use is refreshed by unicast shortly before", () => {
    const { stack, driver } = stackB({ arpMaxAgeMs: 60000, arpRefreshMs: 5000 })
    stack.receive(arpFrame(ARP_REQUEST, A_MAC, A_IP, "00:00:00:00:00:00", B_IP), 0)
    driver.take()
    stack.ping(ip(A_IP), 1, 1, 8, 50000)
    assert.equal(driver.take().length, 1, "just the echo")
    stack.ping(ip(A_IP), 1, 2, 8, 56000)
    const frames = driver.take()
    assert.equal(frames.length, 2, "the echo and a refresh")
    const { eth, arp } = parseArpFrame(frames[1])
    assert.equal(macToString(eth.dst, 0), A_MAC, "refresh is unicast")
    assert.equal(ipToString(arp.tpa), A_IP)
    stack.ping(ip(A_IP), 1, 3, 8, 60000)
    assert.equal(parseArpFrame(driver.take()[0]).arp.op, ARP_REQUEST, "expired: broadcast request again")
})

test("bad limits are refused at construction", () => {
    assert.throws(() => stackB({ mtu: 100 }), /mtu/)
    assert.throws(() => stackB({ arpEntries: 0 }), /arpEntries/)
})

test("packets we send have a valid IPv4 header and DF set", () => {
    const { stack, driver } = bKnowingA()
    stack.ping(ip(A_IP), 9, 9, 100, 5)
    const [f] = driver.take()
    assert.equal(internetChecksum(f, 14, 20), 0)
    assert.equal(getU16(f, 20) & 0x4000, 0x4000)
})
