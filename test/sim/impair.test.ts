// The fault injector: its statistics match the configured probabilities, its
// decisions are a pure function of the seed, and each impairment does what it
// says.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { FaultInjector, Impairments, Delivery, normalizeImpairments } from "../../src/host/sim/impair.js"

function frame(i: number, len = 100): Buffer {
    const f = Buffer.alloc(len)
    f.writeUInt32BE(i, 14) // id past the Ethernet header
    return f
}

const id = (d: Delivery) => d.frame.readUInt32BE(14)

/** |observed - expected| within 5 standard deviations of a binomial proportion. */
function near(count: number, n: number, p: number, what: string): void {
    const sd = Math.sqrt((n * p * (1 - p)) || 1)
    assert.ok(Math.abs(count - n * p) <= 5 * sd, `${what}: ${count} of ${n}, expected about ${(n * p).toFixed(0)}`)
}

function runMany(cfg: Partial<Impairments>, n: number): { out: Delivery[]; inj: FaultInjector } {
    const inj = new FaultInjector(cfg)
    const out: Delivery[] = []
    for (let i = 0; i < n; i++) out.push(...inj.process(frame(i), i))
    out.push(...inj.release(Infinity))
    return { out, inj }
}

test("statistics over many frames match the configured probabilities", () => {
    const n = 20000
    const cfg = { loss: 0.1, duplicate: 0.05, reorder: 0.04, corrupt: 0.02, seed: 7 }
    const { out, inj } = runMany(cfg, n)
    const s = inj.stats
    assert.equal(s.sent, n)
    near(s.lost, n, 0.1, "lost")
    const survived = n - s.lost
    near(s.duplicated, survived, 0.05, "duplicated")
    // a frame is only held back when none is held already
    near(s.reordered, survived, 0.04 * (1 - 0.04), "reordered")
    near(s.corrupted, s.delivered, 0.02, "corrupted")
    assert.equal(s.delivered, survived + s.duplicated)
    assert.equal(out.length, s.delivered)
    assert.equal(out.filter((d) => d.corrupted).length, s.corrupted)
    assert.equal(out.filter((d) => d.duplicate).length, s.duplicated)
    assert.equal(s.queueDropped, 0)
})

test("the same seed gives identical decisions; another seed does not", () => {
    const cfg = { loss: 0.2, duplicate: 0.1, reorder: 0.1, corrupt: 0.1, delayMs: 3, jitterMs: 4, seed: 99 }
    const trace = (c: Partial<Impairments>) =>
        runMany(c, 2000).out.map((d) => `${d.at}:${d.duplicate}:${d.corrupted}:${d.frame.toString("hex")}`)
    const a = trace(cfg)
    assert.deepEqual(trace(cfg), a)
    assert.notDeepEqual(trace({ ...cfg, seed: 100 }), a)
})

test("one knob does not shift the random stream behind the others", () => {
    // corruption decisions stay the same whatever the duplicate probability
    const corrupted = (dup: number) =>
        runMany({ corrupt: 0.1, duplicate: dup, seed: 5 }, 3000)
            .out.filter((d) => d.corrupted && !d.duplicate)
            .map(id)
    assert.deepEqual(corrupted(0), corrupted(0.5))
})

test("no impairments: every frame once, at its send time, the same Buffer", () => {
    const inj = new FaultInjector()
    for (let i = 0; i < 100; i++) {
        const f = frame(i)
        const ds = inj.process(f, i * 2)
        assert.equal(ds.length, 1)
        assert.equal(ds[0].at, i * 2)
        assert.equal(ds[0].frame, f)
    }
})

test("corruption flips exactly one bit past the Ethernet header, in a copy", () => {
    const inj = new FaultInjector({ corrupt: 1, seed: 3 })
    for (let i = 0; i < 500; i++) {
        const f = frame(i, 60 + (i % 50))
        const orig = Buffer.from(f)
        const [d] = inj.process(f, i)
        assert.ok(d.corrupted)
        assert.notEqual(d.frame, f)
        assert.deepEqual(f, orig, "the original is untouched")
        let bits = 0
        let where = -1
        for (let j = 0; j < f.length; j++) {
            const x = f[j] ^ d.frame[j]
            if (x) where = j
            for (let k = 0; k < 8; k++) bits += (x >> k) & 1
        }
        assert.equal(bits, 1)
        assert.ok(where >= 14, "not in the Ethernet header")
    }
})

test("delay and jitter: within [delay, delay + jitter], never reordering the link", () => {
    const inj = new FaultInjector({ delayMs: 10, jitterMs: 5, duplicate: 0.3, seed: 11 })
    let last = -Infinity
    let spread = 0
    for (let i = 0; i < 2000; i++) {
        for (const d of inj.process(frame(i), i * 0.5)) {
            assert.ok(d.at >= i * 0.5 + 10 && d.at <= Math.max(i * 0.5 + 15, last), `${d.at} for send ${i * 0.5}`)
            assert.ok(d.at >= last, "FIFO")
            spread = Math.max(spread, d.at - (i * 0.5 + 10))
            last = d.at
        }
    }
    assert.ok(spread > 3, "jitter is used")
})

test("reorder: a held frame comes right after the next one", () => {
    const inj = new FaultInjector({ reorder: 1, delayMs: 1, seed: 1 })
    const order: number[] = []
    for (let i = 0; i < 10; i++) for (const d of inj.process(frame(i), i)) order.push(id(d))
    assert.deepEqual(order, [1, 0, 3, 2, 5, 4, 7, 6, 9, 8])
    assert.equal(inj.stats.reordered, 5)
})

test("reorder: a held frame with no successor is released reorderHoldMs late", () => {
    const inj = new FaultInjector({ reorder: 1, delayMs: 2, reorderHoldMs: 10, seed: 1 })
    assert.deepEqual(inj.process(frame(0), 100), [])
    assert.equal(inj.holdDeadline(), 110)
    assert.deepEqual(inj.release(109), [])
    const [d] = inj.release(110)
    assert.equal(id(d), 0)
    assert.equal(d.at, 112)
    assert.equal(inj.holdDeadline(), -1)
    // overdue hold released by the next process() call, before the new frame
    inj.process(frame(1), 200) // held
    const ds = inj.process(frame(2), 300) // 1 is overdue and comes out; 2 is held in turn
    assert.equal(ds.length, 1)
    assert.equal(id(ds[0]), 1)
    assert.equal(ds[0].at, 212)
    assert.equal(inj.holdDeadline(), 310)
})

test("rate limit: serialization delay, and tail drop at a full queue", () => {
    const inj = new FaultInjector({ rateBytesPerSec: 100_000, queueLimit: 3 }) // 100 bytes = 1 ms
    const ats: number[] = []
    for (let i = 0; i < 5; i++) for (const d of inj.process(frame(i, 100), 0)) ats.push(d.at)
    assert.deepEqual(ats, [1, 2, 3])
    assert.equal(inj.stats.queueDropped, 2)
    assert.equal(inj.queueLength(0), 3)
    assert.equal(inj.queueLength(1.5), 2)
    // after the queue drained the link is idle again
    const [d] = inj.process(frame(9, 100), 10)
    assert.equal(d.at, 11)
    // a frame sent while one is being serialized waits for it
    const [e] = inj.process(frame(10, 200), 10.5)
    assert.equal(e.at, 13)
})

test("configure replaces the settings and keeps the stream; a seed restarts it", () => {
    const a = new FaultInjector({ loss: 0.5, seed: 4 })
    const b = new FaultInjector({ loss: 0.5, seed: 4 })
    for (let i = 0; i < 50; i++) {
        a.process(frame(i), i)
        b.process(frame(i), i)
    }
    a.configure({ loss: 0.5 })
    assert.equal(a.config.seed, 4)
    const pa = []
    const pb = []
    for (let i = 0; i < 200; i++) {
        pa.push(a.process(frame(i), 100 + i).length)
        pb.push(b.process(frame(i), 100 + i).length)
    }
    assert.deepEqual(pa, pb)
    a.configure({ delayMs: 1 })
    assert.equal(a.config.loss, 0, "unset fields go back to defaults")
    assert.throws(() => normalizeImpairments({ loss: 1.5 }), /loss/)
    assert.throws(() => normalizeImpairments({ queueLimit: 0 }), /queueLimit/)
})
