// Ethernet II and ARP (RFC 826) on real frames.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { Reason } from "../../src/wire/reason.js"
import { macToString, parseMac, setU16 } from "../../src/wire/bytes.js"
import { EthernetHeader, ETH_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, emitEthernet, parseEthernet } from "../../src/wire/ethernet.js"
import { ArpPacket, ARP_LEN, ARP_REPLY, ARP_REQUEST, emitArp, parseArp } from "../../src/wire/arp.js"
import { A_IP, ARP_REPLY_FRAME, ARP_REQUEST_FRAME, B_IP, ECHO_REQUEST_FRAME } from "./capture.js"

test("ethernet: fields of real frames", () => {
    const f = ARP_REQUEST_FRAME
    assert.equal(f.length, 42)
    assert.equal(macToString(f, 0), "ff:ff:ff:ff:ff:ff")
    assert.equal(macToString(f, 6), "02:00:00:00:00:01")
    assert.equal((f[12] << 8) | f[13], 0x0806)
})

test("ethernet: parse", () => {
    const h = new EthernetHeader()
    assert.equal(parseEthernet(ECHO_REQUEST_FRAME, 0, ECHO_REQUEST_FRAME.length, h), Reason.Ok)
    assert.equal(macToString(h.dst, 0), "02:00:00:00:00:02")
    assert.equal(macToString(h.src, 0), "02:00:00:00:00:01")
    assert.equal(h.etherType, ETHERTYPE_IPV4)
    assert.equal(parseEthernet(ARP_REQUEST_FRAME, 0, 42, h), Reason.Ok)
    assert.equal(h.etherType, ETHERTYPE_ARP)
    assert.equal(macToString(h.dst, 0), "ff:ff:ff:ff:ff:ff")
})

test("ethernet: parse at an offset, exactly 14 bytes", () => {
    const b = Buffer.alloc(20)
    ARP_REPLY_FRAME.copy(b, 6, 0, 14)
    const h = new EthernetHeader()
    assert.equal(parseEthernet(b, 6, 14, h), Reason.Ok)
    assert.equal(macToString(h.src, 0), "02:00:00:00:00:02")
})

test("ethernet: emit gives the real bytes", () => {
    const h = new EthernetHeader()
    parseMac("02:00:00:00:00:02").copy(h.dst)
    parseMac("02:00:00:00:00:01").copy(h.src)
    h.etherType = ETHERTYPE_IPV4
    const b = Buffer.alloc(14)
    assert.equal(emitEthernet(h, b, 0), ETH_HEADER_LEN)
    assert.deepEqual(b, ECHO_REQUEST_FRAME.subarray(0, 14))
})

test("ethernet: rejections", () => {
    const h = new EthernetHeader()
    assert.equal(parseEthernet(ARP_REQUEST_FRAME, 0, 13, h), Reason.Truncated)
    assert.equal(parseEthernet(Buffer.alloc(0), 0, 0, h), Reason.Truncated)
    const f = Buffer.from(ECHO_REQUEST_FRAME)
    setU16(f, 12, 0x05dc) // an 802.3 length field
    assert.equal(parseEthernet(f, 0, f.length, h), Reason.BadEtherType)
    setU16(f, 12, 0x0600)
    assert.equal(parseEthernet(f, 0, f.length, h), Reason.Ok)
})

test("arp: fields of the real request", () => {
    const f = ARP_REQUEST_FRAME
    const o = ETH_HEADER_LEN
    assert.deepEqual([...f.subarray(o, o + 8)], [0, 1, 8, 0, 6, 4, 0, 1])
    assert.equal(macToString(f, o + 8), "02:00:00:00:00:01")
    assert.equal(f.readUInt32BE(o + 14), A_IP)
    assert.equal(macToString(f, o + 18), "00:00:00:00:00:00")
    assert.equal(f.readUInt32BE(o + 24), B_IP)
})

test("arp: parse request and reply", () => {
    const p = new ArpPacket()
    assert.equal(parseArp(ARP_REQUEST_FRAME, 14, 28, p), Reason.Ok)
    assert.equal(p.op, ARP_REQUEST)
    assert.equal(macToString(p.sha, 0), "02:00:00:00:00:01")
    assert.equal(p.spa, A_IP)
    assert.equal(macToString(p.tha, 0), "00:00:00:00:00:00")
    assert.equal(p.tpa, B_IP)
    assert.equal(parseArp(ARP_REPLY_FRAME, 14, 28, p), Reason.Ok)
    assert.equal(p.op, ARP_REPLY)
    assert.equal(macToString(p.sha, 0), "02:00:00:00:00:02")
    assert.equal(p.spa, B_IP)
    assert.equal(macToString(p.tha, 0), "02:00:00:00:00:01")
    assert.equal(p.tpa, A_IP)
    // Ethernet padding after the 28 bytes is ignored
    const padded = Buffer.concat([ARP_REPLY_FRAME, Buffer.alloc(18)])
    assert.equal(parseArp(padded, 14, 46, p), Reason.Ok)
    assert.equal(p.tpa, A_IP)
})

test("arp: emit gives the real bytes", () => {
    const p = new ArpPacket()
    p.op = ARP_REPLY
    parseMac("02:00:00:00:00:02").copy(p.sha)
    p.spa = B_IP
    parseMac("02:00:00:00:00:01").copy(p.tha)
    p.tpa = A_IP
    const b = Buffer.alloc(42)
    b.fill(0xee)
    assert.equal(emitArp(p, b, 14), ARP_LEN)
    assert.deepEqual(b.subarray(14), ARP_REPLY_FRAME.subarray(14))
    assert.deepEqual(b.subarray(0, 14), Buffer.alloc(14, 0xee), "nothing before off is written")

    const q = new ArpPacket()
    assert.equal(parseArp(ARP_REQUEST_FRAME, 14, 28, q), Reason.Ok)
    const c = Buffer.alloc(28)
    emitArp(q, c, 0)
    assert.deepEqual(c, ARP_REQUEST_FRAME.subarray(14))
})

test("arp: rejections", () => {
    const p = new ArpPacket()
    assert.equal(parseArp(ARP_REQUEST_FRAME, 14, 27, p), Reason.Truncated)
    const bad = (i: number, v: number): Reason => {
        const f = Buffer.from(ARP_REQUEST_FRAME)
        f[14 + i] = v
        return parseArp(f, 14, 28, p)
    }
    assert.equal(bad(1, 6), Reason.BadArp, "htype 6 (IEEE 802)")
    assert.equal(bad(2, 0x86), Reason.BadArp, "ptype 0x86dd")
    assert.equal(bad(4, 8), Reason.BadArp, "hlen 8")
    assert.equal(bad(5, 16), Reason.BadArp, "plen 16")
    assert.equal(bad(7, 0), Reason.BadArp, "op 0")
    assert.equal(bad(7, 3), Reason.BadArp, "op 3 (RARP)")
    assert.equal(bad(6, 1), Reason.BadArp, "op 0x0101")
})
