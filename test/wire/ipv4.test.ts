// IPv4 headers (RFC 791 §3.1) on real frames.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { Reason } from "../../src/wire/reason.js"
import { getU16, ipToString, setU16 } from "../../src/wire/bytes.js"
import { internetChecksum } from "../../src/wire/checksum.js"
import { Ipv4Header, IPV4_HEADER_LEN, IP_PROTO_ICMP, IP_PROTO_TCP, IP_PROTO_UDP, emitIpv4, parseIpv4 } from "../../src/wire/ipv4.js"
import { A_IP, B_IP, DNS_QUERY_FRAME, ECHO_REPLY_FRAME, ECHO_REQUEST_FRAME, PORT_UNREACHABLE_FRAME, SYN_ACK_FRAME, UDP_DISCARD_FRAME } from "./capture.js"

const O = 14

test("ipv4: fields of a real header", () => {
    const f = ECHO_REQUEST_FRAME
    assert.equal(f[O] >> 4, 4)
    assert.equal((f[O] & 15) * 4, 20)
    assert.equal(getU16(f, O + 2), 84)
    assert.equal(getU16(f, O + 4), 0x4bcb)
    assert.equal(getU16(f, O + 6), 0x4000, "DF")
    assert.equal(f[O + 8], 64)
    assert.equal(f[O + 9], 1)
    assert.equal(getU16(f, O + 10), 0x62b6)
    assert.equal(ipToString(f.readUInt32BE(O + 12)), "198.18.0.1")
})

test("ipv4: parse", () => {
    const h = new Ipv4Header()
    assert.equal(parseIpv4(ECHO_REQUEST_FRAME, O, ECHO_REQUEST_FRAME.length - O, h), Reason.Ok)
    assert.equal(h.headerLength, 20)
    assert.equal(h.tos, 0)
    assert.equal(h.totalLength, 84)
    assert.equal(h.id, 0x4bcb)
    assert.equal(h.dontFragment, true)
    assert.equal(h.moreFragments, false)
    assert.equal(h.fragmentOffset, 0)
    assert.equal(h.ttl, 64)
    assert.equal(h.protocol, IP_PROTO_ICMP)
    assert.equal(h.checksum, 0x62b6)
    assert.equal(h.src, A_IP)
    assert.equal(h.dst, B_IP)

    assert.equal(parseIpv4(PORT_UNREACHABLE_FRAME, O, PORT_UNREACHABLE_FRAME.length - O, h), Reason.Ok)
    assert.equal(h.tos, 0xc0)
    assert.equal(h.dontFragment, false)
    assert.equal(h.totalLength, 62)
    assert.equal(h.src, B_IP)
    assert.equal(parseIpv4(DNS_QUERY_FRAME, O, DNS_QUERY_FRAME.length - O, h), Reason.Ok)
    assert.equal(h.protocol, IP_PROTO_UDP)
    assert.equal(parseIpv4(SYN_ACK_FRAME, O, SYN_ACK_FRAME.length - O, h), Reason.Ok)
    assert.equal(h.protocol, IP_PROTO_TCP)
    assert.equal(h.id, 0)
})

test("ipv4: Ethernet padding after totalLength is ignored", () => {
    // UDP_DISCARD_FRAME is 48 bytes; on a real wire it is padded to 60
    const f = Buffer.concat([UDP_DISCARD_FRAME, Buffer.alloc(12, 0x55)])
    const h = new Ipv4Header()
    assert.equal(parseIpv4(f, O, f.length - O, h), Reason.Ok)
    assert.equal(h.totalLength, 34)
})

test("ipv4: fragment fields", () => {
    const f = Buffer.from(ECHO_REQUEST_FRAME)
    setU16(f, O + 6, 0x2000 | 185) // MF, offset 185 * 8 = 1480
    setU16(f, O + 10, 0)
    setU16(f, O + 10, internetChecksum(f, O, 20))
    const h = new Ipv4Header()
    assert.equal(parseIpv4(f, O, f.length - O, h), Reason.Ok)
    assert.equal(h.moreFragments, true)
    assert.equal(h.dontFragment, false)
    assert.equal(h.fragmentOffset, 1480)
    const b = Buffer.alloc(20)
    emitIpv4(h, b, 0)
    assert.deepEqual(b, f.subarray(O, O + 20))
})

test("ipv4: options are covered by the header length and the checksum", () => {
    // IHL 6 with one 4-byte option (NOP NOP NOP EOL) before an 8-byte payload
    const b = Buffer.alloc(32)
    b[0] = 0x46
    setU16(b, 2, 32)
    b[8] = 64
    b[9] = 17
    b.writeUInt32BE(A_IP, 12)
    b.writeUInt32BE(B_IP, 16)
    b[20] = 1
    b[21] = 1
    b[22] = 1
    b[23] = 0
    setU16(b, 10, internetChecksum(b, 0, 24))
    const h = new Ipv4Header()
    assert.equal(parseIpv4(b, 0, 32, h), Reason.Ok)
    assert.equal(h.headerLength, 24)
    b[22] = 7
    assert.equal(parseIpv4(b, 0, 32, h), Reason.BadChecksum)
})

test("ipv4: emit gives the real bytes", () => {
    const cases: [Buffer, number, number, boolean, number, number, number, number][] = [
        // frame, tos, id, DF, ttl, proto, src, dst
        [ECHO_REQUEST_FRAME, 0, 0x4bcb, true, 64, 1, A_IP, B_IP],
        [ECHO_REPLY_FRAME, 0, 0x4506, false, 64, 1, B_IP, A_IP],
        [PORT_UNREACHABLE_FRAME, 0xc0, 0x450e, false, 64, 1, B_IP, A_IP],
        [DNS_QUERY_FRAME, 0, 0x8dc9, true, 64, 17, A_IP, B_IP],
        [SYN_ACK_FRAME, 0, 0, true, 64, 6, B_IP, A_IP],
    ]
    for (const [f, tos, id, df, ttl, proto, src, dst] of cases) {
        const h = new Ipv4Header()
        h.tos = tos
        h.totalLength = f.length - O
        h.id = id
        h.dontFragment = df
        h.ttl = ttl
        h.protocol = proto
        h.src = src
        h.dst = dst
        const b = Buffer.alloc(f.length)
        f.copy(b, O + 20, O + 20)
        assert.equal(emitIpv4(h, b, O), IPV4_HEADER_LEN)
        assert.deepEqual(b.subarray(O), f.subarray(O), "id " + id)
        assert.equal(h.checksum, getU16(f, O + 10))
    }
})

test("ipv4: parse then emit round-trips", () => {
    const h = new Ipv4Header()
    for (const f of [ECHO_REQUEST_FRAME, ECHO_REPLY_FRAME, PORT_UNREACHABLE_FRAME, UDP_DISCARD_FRAME]) {
        assert.equal(parseIpv4(f, O, f.length - O, h), Reason.Ok)
        const b = Buffer.alloc(20)
        emitIpv4(h, b, 0)
        assert.deepEqual(b, f.subarray(O, O + 20))
    }
})

test("ipv4: rejections", () => {
    const h = new Ipv4Header()
    const f0 = ECHO_REQUEST_FRAME
    const n = f0.length - O
    assert.equal(parseIpv4(f0, O, 19, h), Reason.Truncated)
    assert.equal(parseIpv4(f0, O, 0, h), Reason.Truncated)
    // the layer below delivered fewer bytes than the header says
    assert.equal(parseIpv4(f0, O, n - 1, h), Reason.BadTotalLength)
    const mod = (i: number, v: number, fix = true): Buffer => {
        const f = Buffer.from(f0)
        f[O + i] = v
        if (fix) {
            setU16(f, O + 10, 0)
            setU16(f, O + 10, internetChecksum(f, O, 20))
        }
        return f
    }
    assert.equal(parseIpv4(mod(0, 0x65), O, n, h), Reason.BadVersion, "version 6")
    assert.equal(parseIpv4(mod(0, 0x44), O, n, h), Reason.BadHeaderLength, "IHL 4")
    assert.equal(parseIpv4(mod(0, 0x40), O, n, h), Reason.BadHeaderLength, "IHL 0")
    assert.equal(parseIpv4(mod(3, 19), O, n, h), Reason.BadTotalLength, "total length 19")
    assert.equal(parseIpv4(mod(3, 85), O, n, h), Reason.BadTotalLength, "total length past len")
    assert.equal(parseIpv4(mod(2, 0xff), O, n, h), Reason.BadTotalLength, "total length 65364")
    // IHL 15 = 60 bytes, more than the 34-byte datagram
    const u = Buffer.from(UDP_DISCARD_FRAME)
    u[O] = 0x4f
    assert.equal(parseIpv4(u, O, u.length - O, h), Reason.BadHeaderLength)
    // corruption anywhere in the header
    for (let i = 0; i < 20; i++) {
        if (i === 0 || i === 2 || i === 3) continue
        const f = mod(i, f0[O + i] ^ 0x10, false)
        assert.equal(parseIpv4(f, O, n, h), Reason.BadChecksum, "byte " + i)
    }
    // the payload is not covered
    assert.equal(parseIpv4(mod(30, 0, false), O, n, h), Reason.Ok)
})

test("ipv4: a failed parse does not read past len", () => {
    const h = new Ipv4Header()
    const b = Buffer.from(ECHO_REQUEST_FRAME.subarray(0, 30))
    assert.equal(parseIpv4(b, O, 16, h), Reason.Truncated)
})
