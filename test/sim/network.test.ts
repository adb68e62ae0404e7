// The simulated network: the learning switch, per-link impairments, polls at
// endpoints' deadlines, taps, and determinism.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { Simulator, SimEndpoint, Direction } from "../../src/host/sim/network.js"
import { RunawayError } from "../../src/host/sim/clock.js"
import { CountingEndpoint, EchoEndpoint, TimerEndpoint, mac, BROADCAST } from "./fakes.js"

const MA = mac("02:00:00:00:00:0a")
const MB = mac("02:00:00:00:00:0b")
const MC = mac("02:00:00:00:00:0c")
const TYPE = 0x88b5 // local experimental EtherType

function payloadOf(f: Buffer): string {
    return f.subarray(14, 18).toString("latin1")
}

test("two hosts: unknown unicast is flooded, the reply is forwarded to the learned port", () => {
    const sim = new Simulator()
    const a = sim.addHost("a", MA, (d) => new CountingEndpoint(d))
    const b = sim.addHost("b", MB, (d) => new EchoEndpoint(d))
    a.endpoint.send(MB, TYPE, Buffer.from("ping"))
    sim.runFor(10)
    assert.equal(b.endpoint.received.length, 1)
    assert.equal(payloadOf(b.endpoint.received[0].frame), "ping", "the driver's reused buffer was copied")
    assert.equal(a.endpoint.received.length, 1)
    const back = a.endpoint.received[0].frame
    assert.deepEqual(back.subarray(0, 6), MA)
    assert.deepEqual(back.subarray(6, 12), MB)
    assert.equal(payloadOf(back), "ping")
    assert.deepEqual(sim.switchStats, { ingress: 2, forwarded: 1, flooded: 1, unknownUnicast: 1, filtered: 0 })
    assert.deepEqual(
        [...sim.macTable()].sort(),
        [
            ["02:00:00:00:00:0a", "a"],
            ["02:00:00:00:00:0b", "b"],
        ],
    )
    assert.deepEqual(a.counters, { tx: 1, rx: 1 })
    assert.deepEqual(b.counters, { tx: 1, rx: 1 })
})

test("three hosts: flooding reaches everyone else, learned unicast only its port, broadcast all", () => {
    const sim = new Simulator()
    const a = sim.addHost("a", MA, (d) => new CountingEndpoint(d))
    const b = sim.addHost("b", MB, (d) => new CountingEndpoint(d))
    const c = sim.addHost("c", MC, (d) => new CountingEndpoint(d))
    const counts = () => [a, b, c].map((h) => h.endpoint.received.length)

    a.endpoint.send(MC, TYPE, Buffer.from("1st!")) // C unknown: flooded to B and C
    sim.runFor(1)
    assert.deepEqual(counts(), [0, 1, 1])

    c.endpoint.send(MA, TYPE, Buffer.from("rply")) // A learned: only A
    sim.runFor(1)
    assert.deepEqual(counts(), [1, 1, 1])

    a.endpoint.send(MC, TYPE, Buffer.from("2nd!")) // C learned now: only C
    sim.runFor(1)
    assert.deepEqual(counts(), [1, 1, 2])

    b.endpoint.send(BROADCAST, TYPE, Buffer.from("all!")) // broadcast: A and C
    sim.runFor(1)
    assert.deepEqual(counts(), [2, 1, 3])

    b.endpoint.send(mac("01:00:5e:00:00:fb"), TYPE, Buffer.from("mcst")) // multicast: flooded
    sim.runFor(1)
    assert.deepEqual(counts(), [3, 1, 4])

    a.endpoint.send(MA, TYPE, Buffer.from("self")) // destination on the ingress port: filtered
    sim.runFor(1)
    assert.deepEqual(counts(), [3, 1, 4])

    b.endpoint.send(mac("02:00:00:00:00:99"), TYPE, Buffer.from("nobd")) // unknown: flood
    sim.runFor(1)
    assert.deepEqual(counts(), [4, 1, 5])

    assert.deepEqual(sim.switchStats, { ingress: 7, forwarded: 2, flooded: 4, unknownUnicast: 2, filtered: 1 })
    assert.equal(payloadOf(c.endpoint.received[1].frame), "2nd!")
})

test("short frames are padded to 60 bytes; over-long and runt frames throw", () => {
    const sim = new Simulator()
    const a = sim.addHost("a", MA, (d) => new CountingEndpoint(d), { mtu: 100 })
    const b = sim.addHost("b", MB, (d) => new CountingEndpoint(d))
    a.endpoint.send(MB, TYPE, Buffer.from("hi"))
    sim.runFor(1)
    const f = b.endpoint.received[0].frame
    assert.equal(f.length, 60)
    assert.equal(f.subarray(16).every((x) => x === 0), true)
    assert.throws(() => a.driver.transmit(Buffer.alloc(200), 200), /MTU 100/)
    assert.throws(() => a.driver.transmit(Buffer.alloc(200), 10), /bad frame length/)
    const raw = new Simulator({ padFrames: false })
    const x = raw.addHost("x", MA, (d) => new CountingEndpoint(d))
    const y = raw.addHost("y", MB, (d) => new CountingEndpoint(d))
    x.endpoint.send(MB, TYPE, Buffer.from("hi"))
    raw.runFor(1)
    assert.equal(y.endpoint.received[0].frame.length, 16)
})

test("every delivery gets its own Buffer (duplicates and flooded copies included)", () => {
    const sim = new Simulator()
    class Scribbler extends CountingEndpoint {
        override receive(frame: Buffer, now: number): void {
            super.receive(frame, now)
            frame.fill(0x55) // a stack may rewrite a frame in place
        }
    }
    const a = sim.addHost("a", MA, (d) => new CountingEndpoint(d))
    const b = sim.addHost("b", MB, (d) => new Scribbler(d), { impairments: { duplicate: 1 } })
    const c = sim.addHost("c", MC, (d) => new Scribbler(d))
    a.endpoint.send(BROADCAST, TYPE, Buffer.from("data"))
    sim.runFor(1)
    assert.equal(b.endpoint.received.length, 2)
    for (const r of [...b.endpoint.received, ...c.endpoint.received]) assert.equal(payloadOf(r.frame), "data")
})

test("link delays add up along the path; taps see out at send and in at delivery", () => {
    const sim = new Simulator()
    const a = sim.addHost("a", MA, (d) => new CountingEndpoint(d))
    const b = sim.addHost("b", MB, (d) => new EchoEndpoint(d))
    sim.setImpairments("a", { delayMs: 3 }, "out")
    sim.setImpairments("b", { delayMs: 5 }, "in")
    sim.setImpairments("b", { delayMs: 0.5 }, "out")
    const log: string[] = []
    const off = sim.onFrame((name: string, dir: Direction, frame: Buffer, now: number) => log.push(`${now} ${name} ${dir} ${payloadOf(frame)}`))
    sim.runFor(100)
    a.endpoint.send(MB, TYPE, Buffer.from("abcd"))
    sim.runFor(100)
    assert.deepEqual(log, ["100 a out abcd", "108 b in abcd", "108 b out abcd", "108.5 a in abcd"])
    assert.equal(b.endpoint.received[0].at, 108)
    assert.equal(a.endpoint.received[0].at, 108.5)
    off()
    a.endpoint.send(MB, TYPE, Buffer.from("more"))
    sim.runFor(100)
    assert.equal(log.length, 4)
    assert.equal(sim.now, 300)
})

test("polls happen exactly at nextDeadline(), including deadlines that move earlier", () => {
    const sim = new Simulator()
    const a = sim.addHost("a", MA, (d) => new CountingEndpoint(d))
    const t = sim.addHost("t", MB, (d) => {
        const e = new TimerEndpoint(d)
        e.arm(10)
        e.arm(25)
        return e
    })
    sim.run(30)
    assert.deepEqual(t.endpoint.polls, [10, 25])

    // a frame arrives at 40 and arms a timer 3 ms later, earlier than the one at 100
    t.endpoint.arm(100)
    t.endpoint.armOnReceive = 3
    sim.after(10, () => a.endpoint.send(MB, TYPE, Buffer.from("wake")))
    sim.run(200)
    assert.deepEqual(t.endpoint.polls, [10, 25, 43, 100])

    // armed from outside between runs: picked up when the next run starts
    t.endpoint.arm(205.25)
    sim.run(300)
    assert.deepEqual(t.endpoint.polls, [10, 25, 43, 100, 205.25])

    // a deadline already in the past is polled at once
    t.endpoint.arm(1)
    sim.runFor(0)
    assert.equal(t.endpoint.polls.at(-1), 300)
})

test("runUntilIdle and runUntil", () => {
    const sim = new Simulator()
    const t = sim.addHost("t", MA, (d) => new TimerEndpoint(d))
    t.endpoint.arm(50)
    assert.equal(sim.idle, false)
    assert.equal(sim.runUntilIdle(1000), true)
    assert.equal(sim.now, 50)
    assert.equal(sim.idle, true)

    t.endpoint.period = 10
    t.endpoint.arm(60)
    assert.equal(sim.runUntilIdle(1000), false, "a periodic timer never goes idle")
    assert.equal(sim.now, 1050)

    assert.equal(sim.runUntil(() => t.endpoint.polls.length >= 110, 10_000), true)
    assert.equal(sim.now, 60 + 10 * 108)
    assert.equal(sim.runUntil(() => false, 25), false)
    assert.equal(sim.now, 1165)
})

test("an endpoint that never stops asking to run now trips the runaway guard", () => {
    const sim = new Simulator({ maxEventsPerInstant: 500 })
    class Stuck implements SimEndpoint {
        receive(): void {}
        poll(): void {}
        nextDeadline(): number {
            return 5
        }
    }
    sim.addHost("stuck", MA, () => new Stuck())
    assert.throws(() => sim.runFor(100), (e: unknown) => e instanceof RunawayError && /virtual time 5 ms/.test(e.message) && /poll stuck/.test(e.message))
})

test("impairments on a host's link: loss in one direction only, per-link statistics", () => {
    const sim = new Simulator({ seed: 3 })
    const a = sim.addHost("a", MA, (d) => new CountingEndpoint(d))
    const b = sim.addHost("b", MB, (d) => new EchoEndpoint(d))
    sim.setImpairments("b", { loss: 0.5 }, "out")
    for (let i = 0; i < 400; i++) sim.at(i, () => a.endpoint.send(MB, TYPE, Buffer.from("n" + String(i).padStart(3, "0"))))
    sim.runFor(1000)
    assert.equal(b.endpoint.received.length, 400, "a -> b is clean")
    const st = sim.linkStats("b")
    assert.equal(st.in.sent, 400)
    assert.equal(st.in.lost, 0)
    assert.equal(st.out.sent, 400)
    assert.ok(st.out.lost > 150 && st.out.lost < 250, `lost ${st.out.lost}`)
    assert.equal(a.endpoint.received.length, 400 - st.out.lost)
})

test("reordering through the simulator: held frames come after the next one or after the hold", () => {
    const sim = new Simulator()
    const a = sim.addHost("a", MA, (d) => new CountingEndpoint(d))
    const b = sim.addHost("b", MB, (d) => new CountingEndpoint(d))
    sim.setImpairments("a", { reorder: 1, reorderHoldMs: 20, delayMs: 1 }, "out")
    sim.at(0, () => {
        a.endpoint.send(MB, TYPE, Buffer.from("f000"))
        a.endpoint.send(MB, TYPE, Buffer.from("f001"))
        a.endpoint.send(MB, TYPE, Buffer.from("f002")) // held; nothing follows
    })
    sim.runFor(100)
    const got = b.endpoint.received.map((r) => `${r.at} ${payloadOf(r.frame)}`)
    assert.deepEqual(got, ["1 f001", "1 f000", "21 f002"])
})

test("the same seed replays byte for byte; another seed differs", () => {
    function scenario(seed: number): string[] {
        const sim = new Simulator({ seed })
        const a = sim.addHost("a", MA, (d) => new CountingEndpoint(d), {
            impairments: { loss: 0.1, duplicate: 0.1, reorder: 0.1, corrupt: 0.1, delayMs: 2, jitterMs: 3 },
        })
        sim.addHost("b", MB, (d) => new EchoEndpoint(d), { impairments: { loss: 0.1, jitterMs: 2, rateBytesPerSec: 50_000 } })
        const log: string[] = []
        sim.onFrame((n, dir, f, now) => log.push(`${now} ${n} ${dir} ${f.toString("hex")}`))
        for (let i = 0; i < 200; i++) sim.at(i * 0.7, () => a.endpoint.send(MB, TYPE, Buffer.alloc(64, i)))
        sim.runFor(2000)
        return log
    }
    const one = scenario(12)
    assert.ok(one.length > 500)
    assert.deepEqual(scenario(12), one)
    assert.notDeepEqual(scenario(13), one)
})
