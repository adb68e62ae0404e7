// TCP headers and options (RFC 9293 §3.1/§3.2, RFC 7323, RFC 2018) on a real
// Linux-to-Linux conversation, plus crafted malformed options.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { Reason } from "../../src/wire/reason.js"
import { getU16, getU32, setU16 } from "../../src/wire/bytes.js"
import { finishChecksum, onesSum, pseudoHeaderSum } from "../../src/wire/checksum.js"
import {
    TcpHeader,
    TCP_ACK,
    TCP_FIN,
    TCP_HEADER_LEN,
    TCP_PSH,
    TCP_RST,
    TCP_SYN,
    emitTcp,
    parseTcp,
    tcpHeaderLength,
} from "../../src/wire/tcp.js"
import { A_IP, ACK_FRAME, B_IP, GET_FRAME, SYN_ACK_FRAME, SYN_FRAME, TCP_FRAMES } from "./capture.js"

const L4 = 34

function tcpLen(f: Buffer): number {
    return f.length - L4
}

function srcOf(f: Buffer): number {
    return getU32(f, 26)
}

function dstOf(f: Buffer): number {
    return getU32(f, 30)
}

function parse(f: Buffer, h = new TcpHeader()): Reason {
    return parseTcp(f, L4, tcpLen(f), srcOf(f), dstOf(f), h)
}

/** A segment A -> B with the given option bytes (a multiple of 4) and payload, with a correct checksum. */
function segment(options: number[], flags = TCP_SYN, payload: number[] = []): Buffer {
    const hl = TCP_HEADER_LEN + options.length
    const b = Buffer.alloc(hl + payload.length)
    setU16(b, 0, 3337)
    setU16(b, 2, 80)
    b.writeUInt32BE(1000, 4)
    b[12] = (hl >> 2) << 4
    b[13] = flags
    setU16(b, 14, 512)
    for (let i = 0; i < options.length; i++) b[20 + i] = options[i]
    for (let i = 0; i < payload.length; i++) b[hl + i] = payload[i]
    setU16(b, 16, finishChecksum(onesSum(b, 0, b.length, pseudoHeaderSum(A_IP, B_IP, 6, b.length))))
    return b
}

function parseSeg(b: Buffer, h = new TcpHeader()): Reason {
    return parseTcp(b, 0, b.length, A_IP, B_IP, h)
}

test("tcp: fields of the real SYN", () => {
    const f = SYN_FRAME
    assert.equal(getU16(f, L4), 3337)
    assert.equal(getU16(f, L4 + 2), 80)
    assert.equal(getU32(f, L4 + 4), 4272256588)
    assert.equal(getU32(f, L4 + 8), 0)
    assert.equal((f[L4 + 12] >> 4) * 4, 40)
    assert.equal(f[L4 + 13], TCP_SYN)
    assert.equal(getU16(f, L4 + 14), 64240)
    assert.deepEqual([...f.subarray(L4 + 20, L4 + 24)], [2, 4, 0x05, 0xb4])
})

test("tcp: parse the SYN, SYN+ACK and ACK of a real handshake", () => {
    const h = new TcpHeader()
    assert.equal(parse(SYN_FRAME, h), Reason.Ok)
    assert.deepEqual(
        { ...h },
        {
            srcPort: 3337, dstPort: 80, seq: 4272256588, ack: 0, headerLength: 40, flags: TCP_SYN, window: 64240,
            checksum: 0x86ea, urgent: 0, mss: 1460, wscale: 10, sackPermitted: true, tsPresent: true, tsVal: 1627084467, tsEcr: 0,
        },
    )
    assert.equal(parse(SYN_ACK_FRAME, h), Reason.Ok)
    assert.deepEqual(
        { ...h },
        {
            srcPort: 80, dstPort: 3337, seq: 1836823395, ack: 4272256589, headerLength: 40, flags: TCP_SYN | TCP_ACK,
            window: 65160, checksum: 0x7cb0, urgent: 0, mss: 1460, wscale: 10, sackPermitted: true, tsPresent: true,
            tsVal: 174644041, tsEcr: 1627084467,
        },
    )
    // the same record again: options absent in this segment are reset
    assert.equal(parse(ACK_FRAME, h), Reason.Ok)
    assert.deepEqual(
        { ...h },
        {
            srcPort: 3337, dstPort: 80, seq: 4272256589, ack: 1836823396, headerLength: 32, flags: TCP_ACK, window: 63,
            checksum: 0xa9c9, urgent: 0, mss: 0, wscale: -1, sackPermitted: false, tsPresent: true, tsVal: 1627084467,
            tsEcr: 174644041,
        },
    )
    assert.equal(parse(GET_FRAME, h), Reason.Ok)
    assert.equal(h.flags, TCP_PSH | TCP_ACK)
    assert.equal(tcpLen(GET_FRAME) - h.headerLength, 28)
    assert.equal(GET_FRAME.subarray(L4 + h.headerLength, L4 + h.headerLength + 3).toString(), "GET")
})

test("tcp: every frame of the real conversation parses and re-emits to the same bytes", () => {
    for (const f of TCP_FRAMES) {
        const h = new TcpHeader()
        assert.equal(parse(f, h), Reason.Ok)
        const payloadLen = tcpLen(f) - h.headerLength
        assert.equal(tcpHeaderLength(h), h.headerLength)
        const b = Buffer.alloc(tcpLen(f))
        f.copy(b, h.headerLength, L4 + h.headerLength)
        const checksum = h.checksum
        h.checksum = 0
        assert.equal(emitTcp(h, b, 0, srcOf(f), dstOf(f), payloadLen), h.headerLength)
        assert.deepEqual(b, f.subarray(L4))
        assert.equal(h.checksum, checksum)
    }
})

test("tcp: emit a SYN from a fresh record gives the real bytes", () => {
    const h = new TcpHeader()
    h.srcPort = 3337
    h.dstPort = 80
    h.seq = 4272256588
    h.flags = TCP_SYN
    h.window = 64240
    h.mss = 1460
    h.wscale = 10
    h.sackPermitted = true
    h.tsPresent = true
    h.tsVal = 1627084467
    assert.equal(tcpHeaderLength(h), 40)
    const b = Buffer.alloc(40 + 4)
    assert.equal(emitTcp(h, b, 4, A_IP, B_IP, 0), 40)
    assert.deepEqual(b.subarray(4), SYN_FRAME.subarray(L4))
    assert.equal(h.headerLength, 40)
})

test("tcp: option layouts for each combination parse back", () => {
    for (let m = 0; m < 16; m++) {
        const h = new TcpHeader()
        h.flags = TCP_SYN
        h.mss = m & 1 ? 536 : 0
        h.wscale = m & 2 ? 14 : -1
        h.sackPermitted = (m & 4) !== 0
        h.tsPresent = (m & 8) !== 0
        h.tsVal = h.tsPresent ? 0xfffffffe : 0
        h.tsEcr = h.tsPresent ? 7 : 0
        const hl = tcpHeaderLength(h)
        assert.equal(hl % 4, 0)
        const b = Buffer.alloc(hl + 3)
        b.write("abc", hl)
        assert.equal(emitTcp(h, b, 0, A_IP, B_IP, 3), hl)
        const p = new TcpHeader()
        assert.equal(parseTcp(b, 0, b.length, A_IP, B_IP, p), Reason.Ok, "combination " + m)
        assert.equal(p.mss, h.mss)
        assert.equal(p.wscale, h.wscale)
        assert.equal(p.sackPermitted, h.sackPermitted)
        assert.equal(p.tsPresent, h.tsPresent)
        assert.equal(p.tsVal, h.tsVal)
        assert.equal(p.tsEcr, h.tsEcr)
    }
})

test("tcp: every option kind in one header", () => {
    const opts = [
        1, // NOP
        2, 4, 0x02, 0x18, // MSS 536
        3, 3, 7, // window scale 7
        4, 2, // SACK permitted
        8, 10, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, // timestamps 1, 0xffffffff
        5, 10, 0, 0, 0, 10, 0, 0, 0, 20, // one SACK block (skipped)
        30, 4, 0xaa, 0xbb, // unknown kind 30 (MPTCP), skipped
        254, 2, // experimental, empty
        0, 0, 0, 0, // EOL and padding
    ]
    assert.equal(opts.length % 4, 0)
    const h = new TcpHeader()
    assert.equal(parseSeg(segment(opts, TCP_ACK), h), Reason.Ok)
    assert.equal(h.mss, 536)
    assert.equal(h.wscale, 7)
    assert.equal(h.sackPermitted, true)
    assert.equal(h.tsPresent, true)
    assert.equal(h.tsVal, 1)
    assert.equal(h.tsEcr, 0xffffffff)
    assert.equal(h.headerLength, 20 + opts.length)
})

test("tcp: bytes after EOL are not options", () => {
    const h = new TcpHeader()
    assert.equal(parseSeg(segment([2, 4, 5, 0xb4, 0, 2, 0, 9]), h), Reason.Ok)
    assert.equal(h.mss, 1460)
    assert.equal(parseSeg(segment([0, 0, 0, 0]), h), Reason.Ok)
    assert.equal(h.mss, 0)
})

test("tcp: window scale above 14 is clamped to 14 (RFC 7323 §2.3)", () => {
    const h = new TcpHeader()
    for (const [shift, want] of [[0, 0], [14, 14], [15, 14], [255, 14]]) {
        assert.equal(parseSeg(segment([1, 3, 3, shift]), h), Reason.Ok)
        assert.equal(h.wscale, want)
    }
})

test("tcp: malformed options are BadOption and never loop", () => {
    const cases: [string, number[]][] = [
        ["zero length", [30, 0, 0, 0]],
        ["zero length of a known kind", [2, 0, 0, 0]],
        ["length 1", [30, 1, 0, 0]],
        ["length 1 of SACK-permitted", [4, 1, 1, 1]],
        ["length past the header", [30, 8, 0, 0]],
        ["MSS running past the header", [1, 1, 2, 4]],
        ["kind in the last byte, no length", [1, 1, 1, 30]],
        ["MSS length 3", [2, 3, 5, 0]],
        ["MSS length 6", [2, 6, 5, 0xb4, 0, 0, 0, 0]],
        ["window scale length 4", [3, 4, 7, 0]],
        ["window scale length 2", [3, 2, 1, 1]],
        ["SACK-permitted length 4", [4, 4, 0, 0]],
        ["timestamps length 8", [8, 8, 0, 0, 0, 0, 0, 0]],
        ["timestamps length 12", [8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
        ["timestamps cut by the header", [1, 1, 8, 10, 0, 0, 0, 0]],
        ["valid MSS then zero length", [2, 4, 5, 0xb4, 254, 0, 0, 0]],
    ]
    for (const [name, opts] of cases) {
        assert.equal(opts.length % 4, 0, name)
        assert.equal(parseSeg(segment(opts)), Reason.BadOption, name)
    }
})

test("tcp: random option bytes terminate with Ok or BadOption", () => {
    let x = 99
    const rnd = (): number => {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0
        return x >>> 24
    }
    let ok = 0
    for (let n = 0; n < 3000; n++) {
        const len = 4 * (1 + (rnd() % 10))
        const opts: number[] = []
        for (let i = 0; i < len; i++) {
            const r = rnd()
            // bias towards small kinds and lengths so that many are valid
            opts.push(r < 64 ? r & 3 : r < 128 ? r & 15 : r)
        }
        const h = new TcpHeader()
        const r = parseSeg(segment(opts), h)
        assert.ok(r === Reason.Ok || r === Reason.BadOption, "got " + r)
        if (r === Reason.Ok) {
            ok++
            assert.ok(h.wscale <= 14)
        }
    }
    assert.ok(ok > 100, "some random options were valid: " + ok)
})

test("tcp: rejections", () => {
    const n = tcpLen(SYN_FRAME)
    const h = new TcpHeader()
    assert.equal(parseTcp(SYN_FRAME, L4, 19, A_IP, B_IP, h), Reason.Truncated)
    assert.equal(parseTcp(SYN_FRAME, L4, 0, A_IP, B_IP, h), Reason.Truncated)
    assert.equal(parseTcp(SYN_FRAME, L4, 39, A_IP, B_IP, h), Reason.BadHeaderLength, "header longer than the segment")
    const mod = (i: number, v: number): Buffer => {
        const f = Buffer.from(SYN_FRAME)
        f[L4 + i] = v
        return f
    }
    assert.equal(parse(mod(12, 0x40), h), Reason.BadHeaderLength, "data offset 4")
    assert.equal(parse(mod(12, 0x00), h), Reason.BadHeaderLength, "data offset 0")
    assert.equal(parse(mod(12, 0xf0), h), Reason.BadHeaderLength, "data offset 15 > 40 bytes")
    for (const i of [0, 4, 13, 14, 16, 19, 22, 39]) {
        assert.equal(parse(mod(i, SYN_FRAME[L4 + i] ^ 0x04), h), Reason.BadChecksum, "byte " + i)
    }
    assert.equal(parseTcp(SYN_FRAME, L4, n, A_IP, B_IP + 1, h), Reason.BadChecksum, "other destination")
    const g = Buffer.from(GET_FRAME)
    g[g.length - 1] ^= 1
    assert.equal(parse(g, h), Reason.BadChecksum, "payload changed")
})

test("tcp: SYN with FIN or RST is BadFlags", () => {
    assert.equal(parseSeg(segment([], TCP_SYN | TCP_FIN)), Reason.BadFlags)
    assert.equal(parseSeg(segment([], TCP_SYN | TCP_RST)), Reason.BadFlags)
    assert.equal(parseSeg(segment([], TCP_SYN | TCP_ACK | TCP_RST)), Reason.BadFlags)
    assert.equal(parseSeg(segment([], TCP_SYN | TCP_ACK)), Reason.Ok)
    assert.equal(parseSeg(segment([], TCP_RST | TCP_ACK)), Reason.Ok)
    assert.equal(parseSeg(segment([], TCP_FIN | TCP_ACK | TCP_PSH)), Reason.Ok)
    assert.equal(parseSeg(segment([], 0)), Reason.Ok, "no flags is well-formed (the state machine drops it)")
})

test("tcp: a minimal header without options", () => {
    const b = segment([], TCP_ACK, [104, 105])
    const h = new TcpHeader()
    h.mss = 9
    h.wscale = 3
    assert.equal(parseSeg(b, h), Reason.Ok)
    assert.equal(h.headerLength, 20)
    assert.equal(h.mss, 0)
    assert.equal(h.wscale, -1)
    const e = new TcpHeader()
    e.srcPort = 3337
    e.dstPort = 80
    e.seq = 1000
    e.flags = TCP_ACK
    e.window = 512
    assert.equal(tcpHeaderLength(e), 20)
    const c = Buffer.alloc(22)
    c[20] = 104
    c[21] = 105
    assert.equal(emitTcp(e, c, 0, A_IP, B_IP, 2), 20)
    assert.deepEqual(c, b)
})
