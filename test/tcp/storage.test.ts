// The TCP engine's building blocks: byte ring, out-of-order assembler, RTO, ISN hash.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import fc from "fast-check"
import { ByteRing } from "../../src/tcp/ring.js"
import { Assembler } from "../../src/tcp/assembler.js"
import { RttEstimator } from "../../src/tcp/rtt.js"
import { HalfSipHash, initialSequenceNumber } from "../../src/tcp/isn.js"

test("ring: write, peek behind the head, read across the wrap", () => {
    const r = new ByteRing(8)
    assert.equal(r.write(Buffer.from("abcdef"), 0, 6), 6)
    const out = Buffer.alloc(8)
    assert.equal(r.read(out, 0, 4), 4)
    assert.equal(out.toString("latin1", 0, 4), "abcd")
    assert.equal(r.write(Buffer.from("ghijklmn"), 0, 8), 6, "clipped to free space")
    assert.equal(r.length, 8)
    assert.equal(r.peek(1, out, 0, 8), 7)
    assert.equal(out.toString("latin1", 0, 7), "fghijkl")
    assert.equal(r.at(7), "l".charCodeAt(0))
    r.discard(3)
    assert.equal(r.read(out, 0, 8), 5)
    assert.equal(out.toString("latin1", 0, 5), "hijkl")
})

test("ring: writeAt places data ahead of the tail; commit makes it readable", () => {
    const r = new ByteRing(10)
    r.write(Buffer.from("ab"), 0, 2)
    assert.equal(r.writeAt(2, Buffer.from("EF"), 0, 2), 2)
    assert.equal(r.writeAt(0, Buffer.from("cd"), 0, 2), 2)
    r.commit(4)
    const out = Buffer.alloc(10)
    assert.equal(r.read(out, 0, 10), 6)
    assert.equal(out.toString("latin1", 0, 6), "abcdEF")
    assert.equal(r.writeAt(20, Buffer.from("x"), 0, 1), 0, "beyond capacity")
})

test("ring: behaves like a byte queue (property)", () => {
    fc.assert(
        fc.property(
            fc.integer({ min: 1, max: 64 }),
            fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 80 })), { maxLength: 60 }),
            (cap, ops) => {
                const r = new ByteRing(cap)
                const model: number[] = []
                let next = 0
                for (const [isWrite, n] of ops) {
                    if (isWrite) {
                        const src = Buffer.alloc(n)
                        for (let i = 0; i < n; i++) src[i] = (next + i) & 0xff
                        const w = r.write(src, 0, n)
                        assert.equal(w, Math.min(n, cap - model.length))
                        for (let i = 0; i < w; i++) model.push((next + i) & 0xff)
                        next += w
                    } else {
                        const dst = Buffer.alloc(n)
                        const got = r.read(dst, 0, n)
                        const want = model.splice(0, n)
                        assert.equal(got, want.length)
                        assert.deepEqual([...dst.subarray(0, got)], want)
                    }
                    assert.equal(r.length, model.length)
                }
            },
        ),
    )
})

test("assembler: merges, fills gaps, bounds its ranges", () => {
    const a = new Assembler(2)
    assert.ok(a.add(10, 5)) // [10,15)
    assert.ok(a.add(20, 5)) // [20,25)
    assert.equal(a.add(30, 5), false, "a third range does not fit")
    assert.ok(a.add(15, 5), "fills [15,20): one range [10,25)")
    assert.equal(a.count, 1)
    assert.equal(a.advance(5), 5, "gap [5,10) still open")
    assert.equal(a.rangeStart(0), 5)
    assert.equal(a.advance(5), 20, "now 0..20 is contiguous")
    assert.ok(a.isEmpty())
})

test("assembler: matches a model of received bytes (property)", () => {
    fc.assert(
        fc.property(
            fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 20 })), { maxLength: 30 }),
            (segs) => {
                const a = new Assembler(4)
                const have = new Array(200).fill(false)
                let delivered = 0
                for (const [off, len] of segs) {
                    if (off === 0) {
                        const n = a.advance(len)
                        // the model: everything from the in-order point on, shifted
                        for (let i = 0; i < len; i++) have[i] = true
                        let m = 0
                        while (have[m]) m++
                        assert.equal(n, m)
                        have.splice(0, m)
                        while (have.length < 200) have.push(false)
                        delivered += n
                    } else if (a.add(off, len)) {
                        for (let i = off; i < off + len; i++) have[i] = true
                    }
                    // ranges agree with the model
                    const ranges: [number, number][] = []
                    for (let i = 0; i < a.count; i++) ranges.push([a.rangeStart(i), a.rangeEnd(i)])
                    const modelRanges: [number, number][] = []
                    for (let i = 0; i < have.length; i++) {
                        if (have[i] && (i === 0 || !have[i - 1])) modelRanges.push([i, i])
                        if (have[i]) modelRanges[modelRanges.length - 1][1] = i + 1
                    }
                    assert.deepEqual(ranges, modelRanges)
                    assert.ok(a.count <= 4)
                }
                assert.ok(delivered >= 0)
            },
        ),
    )
})

test("RTO follows RFC 6298: first sample, smoothing, backoff and clamps", () => {
    const r = new RttEstimator(1000, 200, 60000, 1)
    assert.equal(r.rto, 1000)
    r.sample(100) // SRTT 100, RTTVAR 50, RTO 100 + 200 = 300
    assert.equal(r.srtt, 100)
    assert.equal(r.rto, 300)
    r.sample(200) // RTTVAR 3/4*50 + 100/4 = 62.5; SRTT 87.5+25 = 112.5; RTO 112.5+250 = 363
    assert.equal(r.rto, 363)
    r.backoff()
    assert.equal(r.rto, 726)
    for (let i = 0; i < 10; i++) r.backoff()
    assert.equal(r.rto, 60000)
    r.reset()
    assert.equal(r.rto, 363)
    const fast = new RttEstimator(1000, 200, 60000, 1)
    fast.sample(1)
    assert.equal(fast.rto, 200, "never below minRto")
})

test("HalfSipHash-2-4 matches the reference implementation's vectors", () => {
    // key bytes 00..07, message bytes 00..n-1, tags read little-endian (vectors_hsip32)
    const h = new HalfSipHash(0x03020100, 0x07060504)
    assert.equal(h.hashWords(0, 0, 0, 0), 0x5b9f35a9)
    assert.equal(h.hashWords(1, 0x03020100, 0, 0), 0x89466e2a)
})

test("ISNs: keyed, tuple-dependent, advancing with the 4 µs clock (RFC 6528)", () => {
    const h = new HalfSipHash(0x01234567, 0x89abcdef)
    const a = initialSequenceNumber(h, 0xc6120002, 80, 0xc6120001, 3337, 0)
    assert.equal(a, initialSequenceNumber(h, 0xc6120002, 80, 0xc6120001, 3337, 0), "deterministic")
    assert.notEqual(a, initialSequenceNumber(h, 0xc6120002, 80, 0xc6120001, 3338, 0), "depends on the port")
    assert.equal(initialSequenceNumber(h, 0xc6120002, 80, 0xc6120001, 3337, 1000), (a + 250000) >>> 0)
    const other = new HalfSipHash(1, 2)
    assert.notEqual(a, initialSequenceNumber(other, 0xc6120002, 80, 0xc6120001, 3337, 0), "depends on the key")
    // the hash spreads: 2000 tuples give 2000 distinct values with bits set across the word
    const seen = new Set<number>()
    let ones = 0
    for (let p = 0; p < 2000; p++) {
        const v = h.hash3(0xc6120002, 0xc6120001, p)
        seen.add(v)
        for (let b = 0; b < 32; b++) ones += (v >>> b) & 1
    }
    assert.equal(seen.size, 2000)
    assert.ok(Math.abs(ones / (2000 * 32) - 0.5) < 0.02)
})
