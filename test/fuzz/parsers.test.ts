// Property tests of the wire parsers (src/wire/*.ts) with fast-check:
//
//   - random bytes at random (off, len), inside and past the buffer: no
//     exception, a valid Reason, and nothing read outside [off, off + len);
//   - well-formed records from the emitters, then mutated (bit flips,
//     truncation, lying length fields, random option bytes, checksums fixed
//     up again so the lie reaches the deeper checks): the same;
//   - parse(emit(rec)) gives back every field of random valid records;
//   - TCP options: arbitrary option bytes always terminate and agree with a
//     small reference model; structured option lists parse to their values.
//
// Runs are deterministic (seed 42). To explore other inputs:
//   FUZZ_SEED=random node scripts/run-tests.mjs test/fuzz     # fresh seed, printed on failure
//   FUZZ_SEED=1234 FUZZ_SCALE=10 node scripts/run-tests.mjs test/fuzz/parsers   # 10x the runs
// A failure prints { seed, path }: pass them back (FUZZ_SEED=<seed>) to replay it.
import "../setup.js"
import { fuzzOptions } from "./options.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import fc from "fast-check"
import { Reason } from "../../src/wire/reason.js"
import { setU16 } from "../../src/wire/bytes.js"
import { finishChecksum, internetChecksum, onesSum, pseudoHeaderSum } from "../../src/wire/checksum.js"
import { EthernetHeader, ETH_HEADER_LEN, emitEthernet, parseEthernet } from "../../src/wire/ethernet.js"
import { ArpPacket, ARP_LEN, emitArp, parseArp } from "../../src/wire/arp.js"
import { Ipv4Header, IPV4_HEADER_LEN, emitIpv4, parseIpv4 } from "../../src/wire/ipv4.js"
import { IcmpHeader, ICMP_HEADER_LEN, emitIcmp, parseIcmp } from "../../src/wire/icmp.js"
import { UdpHeader, UDP_HEADER_LEN, emitUdp, parseUdp } from "../../src/wire/udp.js"
import { TcpHeader, TCP_FIN, TCP_HEADER_LEN, TCP_RST, TCP_SYN, emitTcp, parseTcp, tcpHeaderLength } from "../../src/wire/tcp.js"

// ---- the parsers behind one signature ------------------------------------

interface Parsed {
    r: Reason
    out: any
}
type AnyParse = (buf: Buffer, off: number, len: number, srcIp: number, dstIp: number) => Parsed

const PARSERS: { name: string; parse: AnyParse }[] = [
    { name: "ethernet", parse: (b, o, l) => { const out = new EthernetHeader(); return { r: parseEthernet(b, o, l, out), out } } },
    { name: "arp", parse: (b, o, l) => { const out = new ArpPacket(); return { r: parseArp(b, o, l, out), out } } },
    { name: "ipv4", parse: (b, o, l) => { const out = new Ipv4Header(); return { r: parseIpv4(b, o, l, out), out } } },
    { name: "icmp", parse: (b, o, l) => { const out = new IcmpHeader(); return { r: parseIcmp(b, o, l, out), out } } },
    { name: "udp", parse: (b, o, l, s, d) => { const out = new UdpHeader(); return { r: parseUdp(b, o, l, s, d, out), out } } },
    { name: "tcp", parse: (b, o, l, s, d) => { const out = new TcpHeader(); return { r: parseTcp(b, o, l, s, d, out), out } } },
]

function parserNamed(name: string): AnyParse {
    for (const p of PARSERS) if (p.name === name) return p.parse
    throw new Error("no parser " + name)
}

/** A record as plain JSON (MAC buffers as hex) so two parses can be compared. */
function snapshot(out: any): any {
    const o: any = {}
    for (const k of Object.keys(out)) {
        const v = out[k]
        o[k] = Buffer.isBuffer(v) ? v.toString("hex") : v
    }
    return o
}

function assertValidReason(r: Reason, what: string): void {
    assert.ok(Number.isInteger(r) && r >= 0 && r < Reason.Count, what + ": reason " + r + " out of range")
}

/**
 * Parses at (off, len), checks the Reason, then parses a copy whose bytes
 * outside [off, off + len) are all inverted: the result must not change (a
 * parser reads only the bytes the layer below gave it).
 */
function checkParse(name: string, parse: AnyParse, buf: Buffer, off: number, len: number, srcIp: number, dstIp: number): Parsed {
    let p: Parsed
    try {
        p = parse(buf, off, len, srcIp, dstIp)
    } catch (e) {
        assert.fail(name + " threw on " + buf.toString("hex") + " off " + off + " len " + len + ": " + e)
    }
    assertValidReason(p.r, name)
    const other = Buffer.from(buf)
    const end = off + len
    for (let i = 0; i < other.length; i++) if (i < off || i >= end) other[i] ^= 0xff
    const q = parse(other, off, len, srcIp, dstIp)
    assert.equal(q.r, p.r, name + ": the reason depends on bytes outside [off, off+len): " + buf.toString("hex") + " off " + off + " len " + len)
    assert.deepEqual(snapshot(q.out), snapshot(p.out), name + ": fields depend on bytes outside [off, off+len)")
    return p
}

// ---- arbitraries -----------------------------------------------------------

const u8 = fc.integer({ min: 0, max: 0xff })
const u16 = fc.integer({ min: 0, max: 0xffff })
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const bytes = (maxLength: number, minLength = 0) => fc.uint8Array({ minLength, maxLength }).map((a) => Buffer.from(a))
const mac = bytes(6, 6)

/** Copies rec bytes into a larger buffer at `pre`, with `post` random bytes after. */
function embed(body: Buffer, pre: Buffer, post: Buffer): { buf: Buffer; off: number } {
    const buf = Buffer.alloc(pre.length + body.length + post.length)
    pre.copy(buf, 0)
    body.copy(buf, pre.length)
    post.copy(buf, pre.length + body.length)
    return { buf, off: pre.length }
}

// ---- 1. random bytes at random (off, len) ----------------------------------

test("fuzz parsers: random bytes at random (off, len) never throw and return a valid Reason", () => {
    const arb = fc.record({
        which: fc.integer({ min: 0, max: PARSERS.length - 1 }),
        buf: fc.oneof(bytes(80), bytes(1600, 1000)),
        offPick: fc.nat(),
        lenPick: fc.integer({ min: -8, max: 2000 }),
        beyond: fc.boolean(),
        srcIp: u32,
        dstIp: u32,
    })
    fc.assert(
        fc.property(arb, (t) => {
            const p = PARSERS[t.which]
            // off within the buffer, or up to 8 past its end
            const off = t.offPick % (t.buf.length + 9)
            // len within what is left, or (beyond) anything, past the end too
            const left = Math.max(t.buf.length - off, 0)
            const len = t.beyond ? t.lenPick : t.lenPick < 0 ? 0 : t.lenPick % (left + 1)
            checkParse(p.name, p.parse, t.buf, off, len, t.srcIp, t.dstIp)
        }),
        fuzzOptions(6000),
    )
})

// ---- 2. valid records, emitted ----------------------------------------------

interface Wire {
    /** parser name */
    name: string
    /** the message bytes (header and payload) */
    body: Buffer
    srcIp: number
    dstIp: number
    /** check() after a parse of the unmutated body */
    check: (p: Parsed) => void
}

const ethernetWire = fc
    .record({ dst: mac, src: mac, etherType: fc.integer({ min: 0x0600, max: 0xffff }), payload: bytes(40) })
    .map((r): Wire => {
        const h = new EthernetHeader()
        r.dst.copy(h.dst)
        r.src.copy(h.src)
        h.etherType = r.etherType
        const body = Buffer.alloc(ETH_HEADER_LEN + r.payload.length)
        assert.equal(emitEthernet(h, body, 0), ETH_HEADER_LEN)
        r.payload.copy(body, ETH_HEADER_LEN)
        return {
            name: "ethernet", body, srcIp: 0, dstIp: 0,
            check: (p) => {
                assert.equal(p.r, Reason.Ok)
                assert.deepEqual(snapshot(p.out), { dst: r.dst.toString("hex"), src: r.src.toString("hex"), etherType: r.etherType })
            },
        }
    })

const arpWire = fc
    .record({ op: fc.constantFrom(1, 2), sha: mac, spa: u32, tha: mac, tpa: u32, trailer: bytes(18) })
    .map((r): Wire => {
        const p = new ArpPacket()
        p.op = r.op
        r.sha.copy(p.sha)
        p.spa = r.spa
        r.tha.copy(p.tha)
        p.tpa = r.tpa
        const body = Buffer.alloc(ARP_LEN + r.trailer.length)
        assert.equal(emitArp(p, body, 0), ARP_LEN)
        r.trailer.copy(body, ARP_LEN) // Ethernet padding
        return {
            name: "arp", body, srcIp: 0, dstIp: 0,
            check: (q) => {
                assert.equal(q.r, Reason.Ok)
                assert.deepEqual(snapshot(q.out), { op: r.op, sha: r.sha.toString("hex"), spa: r.spa, tha: r.tha.toString("hex"), tpa: r.tpa })
            },
        }
    })

const ipv4Wire = fc
    .record({
        tos: u8, id: u16, df: fc.boolean(), mf: fc.boolean(), fragUnits: fc.integer({ min: 0, max: 0x1fff }),
        ttl: u8, protocol: u8, src: u32, dst: u32, payload: bytes(60), padding: bytes(20),
    })
    .map((r): Wire => {
        const h = new Ipv4Header()
        h.tos = r.tos
        h.totalLength = IPV4_HEADER_LEN + r.payload.length
        h.id = r.id
        h.dontFragment = r.df
        h.moreFragments = r.mf
        h.fragmentOffset = r.fragUnits * 8
        h.ttl = r.ttl
        h.protocol = r.protocol
        h.src = r.src
        h.dst = r.dst
        const body = Buffer.alloc(h.totalLength + r.padding.length)
        r.payload.copy(body, IPV4_HEADER_LEN)
        r.padding.copy(body, h.totalLength) // trailing bytes are ignored
        assert.equal(emitIpv4(h, body, 0), IPV4_HEADER_LEN)
        const checksum = h.checksum
        return {
            name: "ipv4", body, srcIp: 0, dstIp: 0,
            check: (p) => {
                assert.equal(p.r, Reason.Ok)
                assert.deepEqual(snapshot(p.out), {
                    headerLength: 20, tos: r.tos, totalLength: 20 + r.payload.length, id: r.id,
                    dontFragment: r.df, moreFragments: r.mf, fragmentOffset: r.fragUnits * 8,
                    ttl: r.ttl, protocol: r.protocol, checksum, src: r.src, dst: r.dst,
                })
            },
        }
    })

const icmpWire = fc
    .record({ type: u8, code: u8, id: u16, seq: u16, payload: bytes(64) })
    .map((r): Wire => {
        const h = new IcmpHeader()
        h.type = r.type
        h.code = r.code
        h.id = r.id
        h.seq = r.seq
        const body = Buffer.alloc(ICMP_HEADER_LEN + r.payload.length)
        r.payload.copy(body, ICMP_HEADER_LEN)
        assert.equal(emitIcmp(h, body, 0, r.payload.length), ICMP_HEADER_LEN)
        const checksum = h.checksum
        return {
            name: "icmp", body, srcIp: 0, dstIp: 0,
            check: (p) => {
                assert.equal(p.r, Reason.Ok)
                assert.deepEqual(snapshot(p.out), { type: r.type, code: r.code, checksum, id: r.id, seq: r.seq })
            },
        }
    })

const udpWire = fc
    .record({ srcPort: u16, dstPort: u16, srcIp: u32, dstIp: u32, payload: bytes(64) })
    .map((r): Wire => {
        const h = new UdpHeader()
        h.srcPort = r.srcPort
        h.dstPort = r.dstPort
        h.length = UDP_HEADER_LEN + r.payload.length
        const body = Buffer.alloc(h.length)
        r.payload.copy(body, UDP_HEADER_LEN)
        assert.equal(emitUdp(h, body, 0, r.srcIp, r.dstIp), UDP_HEADER_LEN)
        const checksum = h.checksum
        assert.notEqual(checksum, 0, "a computed 0 is sent as 0xffff")
        return {
            name: "udp", body, srcIp: r.srcIp, dstIp: r.dstIp,
            check: (p) => {
                assert.equal(p.r, Reason.Ok)
                assert.deepEqual(snapshot(p.out), { srcPort: r.srcPort, dstPort: r.dstPort, length: 8 + r.payload.length, checksum })
            },
        }
    })

const tcpRecord = fc.record({
    srcPort: u16, dstPort: u16, seq: u32, ack: u32, flags: u8, window: u16, urgent: u16,
    mss: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0xffff })),
    wscale: fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 255 })),
    sackPermitted: fc.boolean(), tsPresent: fc.boolean(), tsVal: u32, tsEcr: u32,
    srcIp: u32, dstIp: u32, payload: bytes(64),
})

function badTcpFlags(f: number): boolean {
    return (f & TCP_SYN) !== 0 && (f & (TCP_FIN | TCP_RST)) !== 0
}

const tcpWire = tcpRecord.map((r): Wire => {
    const h = new TcpHeader()
    h.srcPort = r.srcPort
    h.dstPort = r.dstPort
    h.seq = r.seq
    h.ack = r.ack
    h.flags = r.flags
    h.window = r.window
    h.urgent = r.urgent
    h.mss = r.mss
    h.wscale = r.wscale
    h.sackPermitted = r.sackPermitted
    h.tsPresent = r.tsPresent
    h.tsVal = r.tsVal
    h.tsEcr = r.tsEcr
    const hl = tcpHeaderLength(h)
    const body = Buffer.alloc(hl + r.payload.length)
    r.payload.copy(body, hl)
    assert.equal(emitTcp(h, body, 0, r.srcIp, r.dstIp, r.payload.length), hl)
    const checksum = h.checksum
    return {
        name: "tcp", body, srcIp: r.srcIp, dstIp: r.dstIp,
        check: (p) => {
            if (badTcpFlags(r.flags)) {
                assert.equal(p.r, Reason.BadFlags)
                return
            }
            assert.equal(p.r, Reason.Ok)
            assert.deepEqual(snapshot(p.out), {
                srcPort: r.srcPort, dstPort: r.dstPort, seq: r.seq, ack: r.ack, headerLength: hl,
                flags: r.flags, window: r.window, checksum, urgent: r.urgent, mss: r.mss,
                wscale: r.wscale > 14 ? 14 : r.wscale, sackPermitted: r.sackPermitted,
                tsPresent: r.tsPresent, tsVal: r.tsPresent ? r.tsVal : 0, tsEcr: r.tsPresent ? r.tsEcr : 0,
            })
        },
    }
})

const anyWire = fc.oneof(ethernetWire, arpWire, ipv4Wire, icmpWire, udpWire, tcpWire)

/** len as the layer below would pass it: the exact message for ICMP/TCP, anything from the message on otherwise. */
function lenFor(w: Wire): number {
    return w.body.length
}

// ---- 3. round trips ---------------------------------------------------------

test("fuzz parsers: parse(emit(rec)) gives back the fields of random valid records", () => {
    fc.assert(
        fc.property(anyWire, bytes(8), bytes(8), (w, pre, post) => {
            const { buf, off } = embed(w.body, pre, post)
            const p = checkParse(w.name, parserNamed(w.name), buf, off, lenFor(w), w.srcIp, w.dstIp)
            w.check(p)
        }),
        fuzzOptions(4000),
    )
})

// ---- 4. mutated valid records -------------------------------------------------

type Mutation =
    | { kind: "flip"; pos: number; bit: number }
    | { kind: "byte"; pos: number; value: number }
    | { kind: "truncate"; by: number }
    | { kind: "extend"; by: number }
    | { kind: "lengthLie"; value: number }
    | { kind: "options"; bytes: Buffer }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant("byte" as const), pos: fc.nat(), value: u8 }),
    fc.record({ kind: fc.constant("truncate" as const), by: fc.integer({ min: 1, max: 80 }) }),
    fc.record({ kind: fc.constant("extend" as const), by: fc.integer({ min: 1, max: 80 }) }),
    fc.record({ kind: fc.constant("lengthLie" as const), value: u16 }),
    fc.record({ kind: fc.constant("options" as const), bytes: bytes(40, 1) }),
)

/** Recomputes the format's checksum over what the (maybe lying) fields say, when those bytes exist. */
function fixChecksum(name: string, b: Buffer, off: number, len: number, srcIp: number, dstIp: number): void {
    const avail = Math.min(len, b.length - off)
    if (name === "ipv4") {
        const hl = (b[off] & 15) << 2
        if (avail < 20 || hl < 20 || hl > avail) return
        setU16(b, off + 10, 0)
        setU16(b, off + 10, internetChecksum(b, off, hl))
    } else if (name === "icmp") {
        if (avail < 8 || len > avail) return
        setU16(b, off + 2, 0)
        setU16(b, off + 2, internetChecksum(b, off, len))
    } else if (name === "udp") {
        if (avail < 8) return
        const length = (b[off + 4] << 8) | b[off + 5]
        if (length < 8 || length > avail) return
        setU16(b, off + 6, 0)
        let sum = finishChecksum(onesSum(b, off, length, pseudoHeaderSum(srcIp, dstIp, 17, length)))
        if (sum === 0) sum = 0xffff
        setU16(b, off + 6, sum)
    } else if (name === "tcp") {
        if (avail < 20 || len > avail) return
        setU16(b, off + 16, 0)
        setU16(b, off + 16, finishChecksum(onesSum(b, off, len, pseudoHeaderSum(srcIp, dstIp, 6, len))))
    }
}

/** Applies one mutation to st.buf[st.off, st.off + st.len), in place (st.buf may be replaced by a longer one). */
function mutate(name: string, m: Mutation, st: { buf: Buffer; off: number; len: number }): void {
    const span = Math.max(st.len, 1)
    switch (m.kind) {
        case "flip": {
            const i = st.off + (m.pos % span)
            if (i < st.buf.length) st.buf[i] ^= 1 << m.bit
            break
        }
        case "byte": {
            const i = st.off + (m.pos % Math.min(span, 60))
            if (i < st.buf.length) st.buf[i] = m.value
            break
        }
        case "truncate":
            st.len -= m.by // may go below zero: parsers must say Truncated
            break
        case "extend":
            // len past the message (and perhaps past the buffer): a lying layer below
            st.len += m.by
            break
        case "lengthLie": {
            const o = st.off
            if (name === "ipv4" && o + 4 <= st.buf.length) {
                if (m.value & 1) setU16(st.buf, o + 2, m.value) // total length
                else st.buf[o] = 0x40 | ((m.value >> 8) & 15) // IHL (version kept)
            } else if (name === "udp" && o + 6 <= st.buf.length) setU16(st.buf, o + 4, m.value)
            else if (name === "tcp" && o + 13 <= st.buf.length) st.buf[o + 12] = (m.value & 0xf0) | (st.buf[o + 12] & 15)
            else if (name === "arp" && o + 6 <= st.buf.length) setU16(st.buf, o + 4, m.value) // hlen, plen
            else if (name === "ethernet" && o + 14 <= st.buf.length) setU16(st.buf, o + 12, m.value) // 802.3 length or a type
            else if (name === "icmp" && o + 1 <= st.buf.length) st.buf[o] = m.value & 0xff
            break
        }
        case "options": {
            if (name !== "tcp") break
            // options bytes from 20 on, the data offset made to cover them (rounded up to 4)
            const optLen = Math.min((m.bytes.length + 3) & ~3, 40)
            const need = st.off + 20 + optLen
            if (need > st.buf.length) {
                const bigger = Buffer.alloc(need)
                st.buf.copy(bigger)
                st.buf = bigger
            }
            if (st.len < 20 + optLen) st.len = 20 + optLen
            st.buf.fill(0, st.off + 20, st.off + 20 + optLen)
            m.bytes.copy(st.buf, st.off + 20, 0, optLen)
            st.buf[st.off + 12] = (((20 + optLen) >> 2) << 4) | (st.buf[st.off + 12] & 15)
            break
        }
    }
}

test("fuzz parsers: mutated valid records (bit flips, truncation, lying lengths, option bytes) never throw", () => {
    const arb = fc.record({
        w: anyWire,
        pre: bytes(6),
        post: bytes(24),
        mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fix: fc.boolean(),
    })
    fc.assert(
        fc.property(arb, (t) => {
            const { buf, off } = embed(t.w.body, t.pre, t.post)
            const st = { buf, off, len: lenFor(t.w) }
            for (const m of t.mutations) mutate(t.w.name, m, st)
            // with checksums fixed up, the lies get past the checksum to the checks after it
            if (t.fix) fixChecksum(t.w.name, st.buf, st.off, st.len, t.w.srcIp, t.w.dstIp)
            checkParse(t.w.name, parserNamed(t.w.name), st.buf, st.off, st.len, t.w.srcIp, t.w.dstIp)
        }),
        fuzzOptions(6000),
    )
})

// ---- 5. TCP options -------------------------------------------------------------

interface OptResult {
    r: Reason
    mss: number
    wscale: number
    sackPermitted: boolean
    tsPresent: boolean
    tsVal: number
    tsEcr: number
}

/** A reference reading of RFC 9293 §3.2 options (+ RFC 7323, RFC 2018), written from the RFCs' rules. */
function referenceOptions(o: Buffer): OptResult {
    const res: OptResult = { r: Reason.Ok, mss: 0, wscale: -1, sackPermitted: false, tsPresent: false, tsVal: 0, tsEcr: 0 }
    const bad: OptResult = { ...res, r: Reason.BadOption }
    const want: { [kind: number]: number } = { 2: 4, 3: 3, 4: 2, 8: 10 }
    let i = 0
    while (i < o.length) {
        const kind = o[i]
        if (kind === 0) break
        if (kind === 1) {
            i += 1
            continue
        }
        if (i + 2 > o.length) return bad
        const l = o[i + 1]
        if (l < 2 || i + l > o.length) return bad
        const expected = want[kind]
        if (expected !== undefined && l !== expected) return bad
        if (kind === 2) res.mss = o.readUInt16BE(i + 2)
        if (kind === 3) res.wscale = Math.min(o[i + 2], 14)
        if (kind === 4) res.sackPermitted = true
        if (kind === 8) {
            res.tsPresent = true
            res.tsVal = o.readUInt32BE(i + 2)
            res.tsEcr = o.readUInt32BE(i + 6)
        }
        i += l
    }
    return res
}

/** A TCP segment with these option bytes (padded with `pad` to a multiple of 4) and a correct checksum. */
function segmentWithOptions(options: Buffer, pad: number, flags: number, payload: Buffer, srcIp: number, dstIp: number, pre: number): { buf: Buffer; off: number; len: number; optArea: Buffer } {
    const optLen = (options.length + 3) & ~3
    const optArea = Buffer.alloc(optLen, pad)
    options.copy(optArea)
    const len = TCP_HEADER_LEN + optLen + payload.length
    const buf = Buffer.alloc(pre + len + 4, 0xee)
    const off = pre
    const h = new TcpHeader()
    h.srcPort = 1234
    h.dstPort = 80
    h.seq = 1
    h.ack = 2
    h.flags = flags
    h.window = 1000
    emitTcp(h, buf, off, srcIp, dstIp, 0)
    optArea.copy(buf, off + TCP_HEADER_LEN)
    payload.copy(buf, off + TCP_HEADER_LEN + optLen)
    buf[off + 12] = ((TCP_HEADER_LEN + optLen) >> 2) << 4
    fixChecksum("tcp", buf, off, len, srcIp, dstIp)
    return { buf, off, len, optArea }
}

function expectOptions(p: Parsed, want: OptResult, flags: number, what: string): void {
    const r = want.r !== Reason.Ok ? want.r : badTcpFlags(flags) ? Reason.BadFlags : Reason.Ok
    assert.equal(p.r, r, what + ": reason")
    if (r !== Reason.Ok) return
    const o = p.out as TcpHeader
    assert.deepEqual(
        { mss: o.mss, wscale: o.wscale, sackPermitted: o.sackPermitted, tsPresent: o.tsPresent, tsVal: o.tsVal, tsEcr: o.tsEcr },
        { mss: want.mss, wscale: want.wscale, sackPermitted: want.sackPermitted, tsPresent: want.tsPresent, tsVal: want.tsVal, tsEcr: want.tsEcr },
        what,
    )
}

test("fuzz parsers: arbitrary TCP option bytes terminate and agree with a reference reading", () => {
    // option bytes biased toward the interesting kinds and lengths
    const optByte = fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(0, 1, 2, 3, 4, 5, 8, 10, 2, 3, 4) },
        { weight: 1, arbitrary: u8 },
    )
    const arb = fc.record({
        options: fc.array(optByte, { maxLength: 40 }).map((a) => Buffer.from(a)),
        pad: fc.constantFrom(0, 1, 0xff),
        flags: u8,
        payload: bytes(16),
        srcIp: u32,
        dstIp: u32,
        pre: fc.integer({ min: 0, max: 5 }),
    })
    fc.assert(
        fc.property(arb, (t) => {
            const s = segmentWithOptions(t.options, t.pad, t.flags, t.payload, t.srcIp, t.dstIp, t.pre)
            const p = checkParse("tcp", parserNamed("tcp"), s.buf, s.off, s.len, t.srcIp, t.dstIp)
            expectOptions(p, referenceOptions(s.optArea), t.flags, "options " + s.optArea.toString("hex"))
        }),
        fuzzOptions(2000),
    )
})

type Opt =
    | { kind: "nop" }
    | { kind: "mss"; v: number }
    | { kind: "ws"; v: number }
    | { kind: "sackp" }
    | { kind: "ts"; a: number; b: number }
    | { kind: "sack"; blocks: number[] }
    | { kind: "unknown"; k: number; data: Buffer }

const opt: fc.Arbitrary<Opt> = fc.oneof(
    fc.record({ kind: fc.constant("nop" as const) }),
    fc.record({ kind: fc.constant("mss" as const), v: u16 }),
    fc.record({ kind: fc.constant("ws" as const), v: u8 }),
    fc.record({ kind: fc.constant("sackp" as const) }),
    fc.record({ kind: fc.constant("ts" as const), a: u32, b: u32 }),
    fc.record({ kind: fc.constant("sack" as const), blocks: fc.array(u32, { minLength: 2, maxLength: 8 }).map((a) => a.slice(0, a.length & ~1)) }),
    fc.record({ kind: fc.constant("unknown" as const), k: fc.integer({ min: 6, max: 255 }).filter((k) => k !== 8), data: bytes(8) }),
)

function encodeOpt(o: Opt): number[] {
    switch (o.kind) {
        case "nop": return [1]
        case "mss": return [2, 4, o.v >> 8, o.v & 255]
        case "ws": return [3, 3, o.v]
        case "sackp": return [4, 2]
        case "ts": return [8, 10, ...u32Bytes(o.a), ...u32Bytes(o.b)]
        case "sack": {
            const out = [5, 2 + 4 * o.blocks.length]
            for (const v of o.blocks) out.push(...u32Bytes(v))
            return out
        }
        case "unknown": return [o.k, 2 + o.data.length, ...o.data]
    }
}

function u32Bytes(v: number): number[] {
    return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]
}

test("fuzz parsers: well-formed TCP option lists in any order parse to their values", () => {
    const arb = fc.record({ opts: fc.array(opt, { maxLength: 10 }), afterEol: bytes(8), flags: u8, srcIp: u32, dstIp: u32 })
    fc.assert(
        fc.property(arb, (t) => {
            // keep what fits in 40 bytes
            const enc: number[] = []
            const want: OptResult = { r: Reason.Ok, mss: 0, wscale: -1, sackPermitted: false, tsPresent: false, tsVal: 0, tsEcr: 0 }
            for (const o of t.opts) {
                const e = encodeOpt(o)
                if (enc.length + e.length > 40) break
                enc.push(...e)
                if (o.kind === "mss") want.mss = o.v
                if (o.kind === "ws") want.wscale = Math.min(o.v, 14)
                if (o.kind === "sackp") want.sackPermitted = true
                if (o.kind === "ts") {
                    want.tsPresent = true
                    want.tsVal = o.a
                    want.tsEcr = o.b
                }
            }
            // end of list, then garbage that must not be read as options
            if (enc.length < 40) enc.push(0, ...t.afterEol.subarray(0, 39 - enc.length))
            const s = segmentWithOptions(Buffer.from(enc), 0, t.flags, Buffer.alloc(0), t.srcIp, t.dstIp, 0)
            const p = checkParse("tcp", parserNamed("tcp"), s.buf, s.off, s.len, t.srcIp, t.dstIp)
            expectOptions(p, want, t.flags, "options " + s.optArea.toString("hex"))
        }),
        fuzzOptions(2000),
    )
})
