// The virtual clock and its event queue: time order, ties in insertion order,
// cancellation, and the runaway guard.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { VirtualClock, RunawayError } from "../../src/host/sim/clock.js"
import { Xoshiro128 } from "../../src/random.js"

test("events run in time order, ties in insertion order", () => {
    const c = new VirtualClock()
    const log: string[] = []
    c.schedule(5, () => log.push("b5"))
    c.schedule(1, () => log.push("a1"))
    c.schedule(5, () => log.push("c5"))
    c.schedule(3, () => log.push("x3"))
    c.schedule(5, () => log.push("d5"))
    c.runUntil(10)
    assert.deepEqual(log, ["a1", "x3", "b5", "c5", "d5"])
    assert.equal(c.now, 10)
})

test("events scheduled while running at the same instant run after the ones already due", () => {
    const c = new VirtualClock()
    const log: string[] = []
    c.schedule(2, () => {
        log.push("first")
        c.schedule(2, () => log.push("nested"))
        c.schedule(1, () => log.push("past->now")) // in the past: runs at now, in order
    })
    c.schedule(2, () => log.push("second"))
    c.runUntil(2)
    assert.deepEqual(log, ["first", "second", "nested", "past->now"])
    assert.equal(c.now, 2)
})

test("now follows the events and never goes backwards", () => {
    const c = new VirtualClock({ start: 100 })
    const seen: number[] = []
    c.schedule(150, () => seen.push(c.now))
    c.schedule(120.5, () => seen.push(c.now))
    assert.equal(c.peekTime(), 120.5)
    assert.equal(c.step(), true)
    assert.equal(c.now, 120.5)
    c.runUntil(200)
    assert.deepEqual(seen, [120.5, 150])
    c.advanceTo(50)
    assert.equal(c.now, 200)
    assert.equal(c.step(), false)
    assert.equal(c.peekTime(), -1)
})

test("cancel removes an event; pending counts live events", () => {
    const c = new VirtualClock()
    const log: number[] = []
    const a = c.schedule(1, () => log.push(1))
    const b = c.schedule(2, () => log.push(2))
    c.schedule(3, () => log.push(3))
    assert.equal(c.pending, 3)
    c.cancel(b)
    c.cancel(b)
    assert.equal(c.pending, 2)
    assert.equal(b.cancelled, true)
    c.runUntil(10)
    assert.deepEqual(log, [1, 3])
    assert.equal(c.pending, 0)
    c.cancel(a) // already ran: harmless
    assert.equal(c.pending, 0)
    assert.equal(a.done, true)
})

test("a bad time is refused", () => {
    const c = new VirtualClock()
    assert.throws(() => c.schedule(NaN, () => {}), /bad time/)
    assert.throws(() => c.schedule(Infinity, () => {}), /bad time/)
})

test("the heap agrees with a stable sort over many random events", () => {
    const rng = new Xoshiro128(42)
    const c = new VirtualClock()
    const expected: { t: number; i: number }[] = []
    const got: number[] = []
    const handles = []
    for (let i = 0; i < 5000; i++) {
        const t = rng.nextU32() % 200
        expected.push({ t, i })
        handles.push(c.schedule(t, () => got.push(i)))
    }
    // cancel every seventh
    const cancelled = new Set<number>()
    for (let i = 0; i < 5000; i += 7) {
        c.cancel(handles[i])
        cancelled.add(i)
    }
    c.runUntil(1000)
    const want = expected
        .filter((e) => !cancelled.has(e.i))
        .sort((a, b) => a.t - b.t || a.i - b.i)
        .map((e) => e.i)
    assert.deepEqual(got, want)
})

test("more than maxEventsPerInstant events at one instant throws a clear error", () => {
    const c = new VirtualClock({ maxEventsPerInstant: 1000 })
    const again = () => {
        c.schedule(c.now, again, "spin")
    }
    c.schedule(7, again, "spin")
    assert.throws(
        () => c.runUntil(100),
        (e: unknown) => e instanceof RunawayError && /more than 1000 events at virtual time 7 ms/.test(e.message) && /spin/.test(e.message),
    )
})

test("many events spread over time do not trip the guard", () => {
    const c = new VirtualClock({ maxEventsPerInstant: 10 })
    let n = 0
    const tick = () => {
        n++
        if (n < 10000) c.schedule(c.now + 1, tick)
    }
    c.schedule(0, tick)
    c.runUntil(20000)
    assert.equal(n, 10000)
})
