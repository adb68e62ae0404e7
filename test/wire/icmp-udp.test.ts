// ICMP (RFC 792) and UDP (RFC 768) on real frames.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { Reason } from "../../src/wire/reason.js"
import { getU16, setU16 } from "../../src/wire/bytes.js"
import {
    IcmpHeader,
    ICMP_DEST_UNREACHABLE,
    ICMP_ECHO_REPLY,
    ICMP_ECHO_REQUEST,
    ICMP_HEADER_LEN,
    ICMP_PORT_UNREACHABLE,
    emitIcmp,
    parseIcmp,
} from "../../src/wire/icmp.js"
import { UdpHeader, UDP_HEADER_LEN, emitUdp, parseUdp } from "../../src/wire/udp.js"
import { A_IP, B_IP, DNS_QUERY_FRAME, ECHO_REPLY_FRAME, ECHO_REQUEST_FRAME, PORT_UNREACHABLE_FRAME, UDP_DISCARD_FRAME } from "./capture.js"

const L4 = 34 // 14 Ethernet + 20 IPv4

test("icmp: fields of the real echo request", () => {
    const f = ECHO_REQUEST_FRAME
    assert.equal(f.length - L4, 64)
    assert.equal(f[L4], 8)
    assert.equal(f[L4 + 1], 0)
    assert.equal(getU16(f, L4 + 2), 0xac02)
    assert.equal(getU16(f, L4 + 4), 0x123f)
    assert.equal(getU16(f, L4 + 6), 1)
})

test("icmp: parse echo request, reply and port unreachable", () => {
    const h = new IcmpHeader()
    assert.equal(parseIcmp(ECHO_REQUEST_FRAME, L4, 64, h), Reason.Ok)
    assert.deepEqual({ ...h }, { type: ICMP_ECHO_REQUEST, code: 0, checksum: 0xac02, id: 4671, seq: 1 })
    assert.equal(parseIcmp(ECHO_REPLY_FRAME, L4, 64, h), Reason.Ok)
    assert.deepEqual({ ...h }, { type: ICMP_ECHO_REPLY, code: 0, checksum: 0xb402, id: 4671, seq: 1 })
    assert.equal(parseIcmp(PORT_UNREACHABLE_FRAME, L4, 42, h), Reason.Ok)
    assert.deepEqual({ ...h }, { type: ICMP_DEST_UNREACHABLE, code: ICMP_PORT_UNREACHABLE, checksum: 0x8944, id: 0, seq: 0 })
    // the quoted datagram starts after the 8-byte header: its IP header, then UDP ports
    assert.equal(PORT_UNREACHABLE_FRAME[L4 + 8], 0x45)
    assert.equal(getU16(PORT_UNREACHABLE_FRAME, L4 + 8 + 20 + 2), 9)
})

test("icmp: emit gives the real bytes", () => {
    const cases: [Buffer, number, number, number, number][] = [
        [ECHO_REQUEST_FRAME, ICMP_ECHO_REQUEST, 0, 4671, 1],
        [ECHO_REPLY_FRAME, ICMP_ECHO_REPLY, 0, 4671, 1],
        [PORT_UNREACHABLE_FRAME, ICMP_DEST_UNREACHABLE, ICMP_PORT_UNREACHABLE, 0, 0],
    ]
    for (const [f, type, code, id, seq] of cases) {
        const h = new IcmpHeader()
        h.type = type
        h.code = code
        h.id = id
        h.seq = seq
        const len = f.length - L4
        const b = Buffer.alloc(len)
        f.copy(b, ICMP_HEADER_LEN, L4 + ICMP_HEADER_LEN)
        assert.equal(emitIcmp(h, b, 0, len - ICMP_HEADER_LEN), ICMP_HEADER_LEN)
        assert.deepEqual(b, f.subarray(L4))
        assert.equal(h.checksum, getU16(f, L4 + 2))
    }
})

test("icmp: odd-length messages", () => {
    const h = new IcmpHeader()
    h.type = ICMP_ECHO_REQUEST
    h.id = 0xbeef
    h.seq = 0xffff
    for (const n of [0, 1, 7, 57]) {
        const b = Buffer.alloc(3 + 8 + n)
        for (let i = 0; i < n; i++) b[3 + 8 + i] = (i * 37 + 11) & 0xff
        emitIcmp(h, b, 3, n)
        const p = new IcmpHeader()
        assert.equal(parseIcmp(b, 3, 8 + n, p), Reason.Ok, "payload " + n)
        assert.equal(p.id, 0xbeef)
        assert.equal(p.seq, 0xffff)
        if (n > 0) {
            b[b.length - 1] ^= 1
            assert.equal(parseIcmp(b, 3, 8 + n, p), Reason.BadChecksum, "payload " + n)
        }
    }
})

test("icmp: rejections", () => {
    const h = new IcmpHeader()
    assert.equal(parseIcmp(ECHO_REQUEST_FRAME, L4, 7, h), Reason.Truncated)
    assert.equal(parseIcmp(ECHO_REQUEST_FRAME, L4, 0, h), Reason.Truncated)
    // one byte fewer: the checksum no longer matches
    assert.equal(parseIcmp(ECHO_REQUEST_FRAME, L4, 63, h), Reason.BadChecksum)
    for (const i of [0, 1, 3, 5, 7, 8, 40, 63]) {
        const f = Buffer.from(ECHO_REQUEST_FRAME)
        f[L4 + i] ^= 0x80
        assert.equal(parseIcmp(f, L4, 64, h), Reason.BadChecksum, "byte " + i)
    }
})

test("udp: fields of the real DNS query", () => {
    const f = DNS_QUERY_FRAME
    assert.equal(getU16(f, L4), 5353)
    assert.equal(getU16(f, L4 + 2), 53)
    assert.equal(getU16(f, L4 + 4), 37)
    assert.equal(getU16(f, L4 + 6), 0xe322)
    assert.equal(f.subarray(L4 + 8 + 13, L4 + 8 + 13 + 7).toString(), "example")
})

test("udp: parse (odd and even lengths)", () => {
    const h = new UdpHeader()
    assert.equal(parseUdp(DNS_QUERY_FRAME, L4, 37, A_IP, B_IP, h), Reason.Ok)
    assert.deepEqual({ ...h }, { srcPort: 5353, dstPort: 53, length: 37, checksum: 0xe322 })
    assert.equal(parseUdp(UDP_DISCARD_FRAME, L4, 14, A_IP, B_IP, h), Reason.Ok)
    assert.deepEqual({ ...h }, { srcPort: 5353, dstPort: 9, length: 14, checksum: 0x1adc })
    // bytes past the UDP length (e.g. from a longer IP payload) are not covered
    const f = Buffer.concat([UDP_DISCARD_FRAME, Buffer.from([1, 2, 3])])
    assert.equal(parseUdp(f, L4, 17, A_IP, B_IP, h), Reason.Ok)
    assert.equal(h.length, 14)
})

test("udp: emit gives the real bytes", () => {
    for (const f of [DNS_QUERY_FRAME, UDP_DISCARD_FRAME]) {
        const h = new UdpHeader()
        h.srcPort = 5353
        h.dstPort = getU16(f, L4 + 2)
        h.length = f.length - L4
        const b = Buffer.alloc(h.length + 2)
        f.copy(b, 2 + UDP_HEADER_LEN, L4 + UDP_HEADER_LEN)
        assert.equal(emitUdp(h, b, 2, A_IP, B_IP), UDP_HEADER_LEN)
        assert.deepEqual(b.subarray(2), f.subarray(L4))
        assert.equal(h.checksum, getU16(f, L4 + 6))
    }
})

test("udp: a computed checksum of 0 is sent as 0xffff", () => {
    // Choose the payload word that makes the one's-complement sum 0xffff.
    const h = new UdpHeader()
    h.srcPort = 1
    h.dstPort = 2
    h.length = 10
    const b = Buffer.alloc(10)
    emitUdp(h, b, 0, A_IP, B_IP)
    const c = getU16(b, 6) // checksum with payload word 0: putting it in the payload zeroes the sum
    setU16(b, 8, c)
    emitUdp(h, b, 0, A_IP, B_IP)
    assert.equal(getU16(b, 6), 0xffff)
    const p = new UdpHeader()
    assert.equal(parseUdp(b, 0, 10, A_IP, B_IP, p), Reason.Ok)
})

test("udp: rejections", () => {
    const h = new UdpHeader()
    assert.equal(parseUdp(DNS_QUERY_FRAME, L4, 7, A_IP, B_IP, h), Reason.Truncated)
    assert.equal(parseUdp(DNS_QUERY_FRAME, L4, 36, A_IP, B_IP, h), Reason.BadLength, "length past the IP payload")
    const mod = (i: number, v: number): Buffer => {
        const f = Buffer.from(DNS_QUERY_FRAME)
        f[L4 + i] = v
        return f
    }
    assert.equal(parseUdp(mod(5, 7), L4, 37, A_IP, B_IP, h), Reason.BadLength, "length 7")
    assert.equal(parseUdp(mod(5, 0), L4, 37, A_IP, B_IP, h), Reason.BadLength, "length 0")
    assert.equal(parseUdp(mod(4, 1), L4, 37, A_IP, B_IP, h), Reason.BadLength, "length 293")
    assert.equal(parseUdp(mod(20, 0x41), L4, 37, A_IP, B_IP, h), Reason.BadChecksum, "payload changed")
    assert.equal(parseUdp(mod(36, 0), L4, 37, A_IP, B_IP, h), Reason.BadChecksum, "last (odd) byte changed")
    assert.equal(parseUdp(DNS_QUERY_FRAME, L4, 37, A_IP, B_IP + 1, h), Reason.BadChecksum, "other destination")
    assert.equal(parseUdp(DNS_QUERY_FRAME, L4, 37, B_IP, A_IP, h), Reason.Ok, "the pseudo-header sum is symmetric in src/dst")
    // checksum 0: not computed by the sender, accepted as is
    const f = mod(6, 0)
    f[L4 + 7] = 0
    f[L4 + 20] ^= 0xff
    assert.equal(parseUdp(f, L4, 37, A_IP, B_IP, h), Reason.Ok)
    assert.equal(h.checksum, 0)
})
