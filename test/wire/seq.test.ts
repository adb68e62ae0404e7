// Sequence number comparisons modulo 2^32 (RFC 1982, RFC 9293 §3.4).
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { seqAdd, seqDiff, seqGeq, seqGt, seqInWindow, seqLeq, seqLt } from "../../src/wire/seq.js"

const MAX = 0xffffffff

test("comparisons without wrap", () => {
    assert.ok(seqLt(1, 2))
    assert.ok(!seqLt(2, 2))
    assert.ok(seqLeq(2, 2))
    assert.ok(seqGt(3, 2))
    assert.ok(!seqGt(2, 2))
    assert.ok(seqGeq(2, 2))
    assert.ok(!seqGeq(1, 2))
})

test("comparisons across the 2^32 wrap", () => {
    assert.ok(seqLt(MAX, 0))
    assert.ok(seqGt(0, MAX))
    assert.ok(seqLt(0xfffffff0, 0x10))
    assert.ok(seqGt(0x10, 0xfffffff0))
    assert.ok(seqLeq(MAX, 0))
    assert.ok(seqGeq(5, MAX - 5))
    assert.ok(!seqLt(5, MAX - 5))
    // 2^31 - 1 apart: still ordered
    assert.ok(seqLt(0, 0x7fffffff))
    assert.ok(seqGt(0x7fffffff, 0))
    assert.ok(seqLt(0x80000001, 0))
    // 2^31 apart: undefined in RFC 1982; here each is "before" the other
    assert.ok(seqLt(0, 0x80000000))
    assert.ok(seqLt(0x80000000, 0))
})

test("seqDiff is the signed 32-bit difference", () => {
    assert.equal(seqDiff(0, MAX), 1)
    assert.equal(seqDiff(MAX, 0), -1)
    assert.equal(seqDiff(10, 0xfffffffa), 16)
    assert.equal(seqDiff(0xfffffffa, 10), -16)
    assert.equal(seqDiff(1000, 1000), 0)
    assert.equal(seqDiff(0x7fffffff, 0), 0x7fffffff)
    assert.equal(seqDiff(0x80000000, 0), -0x80000000)
})

test("seqAdd wraps and stays unsigned", () => {
    assert.equal(seqAdd(MAX, 1), 0)
    assert.equal(seqAdd(MAX, 2), 1)
    assert.equal(seqAdd(0, -1), MAX)
    assert.equal(seqAdd(0xfffffff0, 0x20), 0x10)
    assert.equal(seqAdd(4272256588, 1), 4272256589)
    assert.ok(seqAdd(0x7fffffff, 1) > 0)
})

test("seqInWindow across the wrap", () => {
    assert.ok(seqInWindow(MAX, MAX, 1))
    assert.ok(!seqInWindow(0, MAX, 1))
    assert.ok(seqInWindow(0, MAX, 2))
    assert.ok(seqInWindow(5, 0xfffffff0, 100))
    assert.ok(!seqInWindow(0xffffffef, 0xfffffff0, 100))
    assert.ok(!seqInWindow(0x54, 0xfffffff0, 100))
    assert.ok(seqInWindow(0x53, 0xfffffff0, 100))
    assert.ok(!seqInWindow(7, 7, 0), "an empty window holds nothing")
    assert.ok(seqInWindow(7, 7, 65535 << 14))
})

test("ordering is consistent with seqDiff for random pairs", () => {
    let x = 7
    for (let i = 0; i < 2000; i++) {
        x = (Math.imul(x, 1664525) + 1013904223) >>> 0
        const a = x
        const d = (Math.imul(x, 22695477) | 0) >> 2 // |d| < 2^30
        const b = seqAdd(a, d)
        assert.equal(seqDiff(b, a), d)
        assert.equal(seqLt(a, b), d > 0)
        assert.equal(seqGt(a, b), d < 0)
        assert.equal(seqLeq(a, b), d >= 0)
        assert.equal(seqInWindow(b, a, 1 << 30), d >= 0)
    }
})
