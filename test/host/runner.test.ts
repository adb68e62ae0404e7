// The real-time runner and its SocketHost (src/host/runner.ts) on the wall
// clock, without a TAP: waits and their timeouts (one sweep timer for all),
// and two runners joined by an in-memory link moving data through TCP with
// the coalesced scheduling (one deadline look per burst).
import { describe, it } from "node:test"
import assert from "node:assert/strict"
import { randomBytes } from "node:crypto"
import { RealTimeRunner, RealTimeSocketHost, FrameLink } from "../../src/host/runner.js"
import { startEcho } from "../../src/app/echo.js"
import { parseIp } from "../../src/wire/bytes.js"

describe("RealTimeSocketHost", () => {
    it("wakes every waiter of a raised signal with true and keeps no timeout behind", async () => {
        const host = new RealTimeSocketHost()
        const s = host.newSignal()
        const waits = []
        for (let i = 0; i < 100; i++) waits.push(host.waitFor(s, i % 2 ? 60000 : 0))
        assert.equal(host.timedWaiters(), 50)
        host.raise(s)
        assert.deepEqual(await Promise.all(waits), new Array(100).fill(true))
        assert.equal(host.timedWaiters(), 0)
        host.raise(s) // nobody waits: nothing happens
    })

    it("times waits out in deadline order, none early, and drops them from their signal", async () => {
        const host = new RealTimeSocketHost()
        const s = host.newSignal()
        const t0 = performance.now()
        const order: number[] = []
        const at: number[] = []
        const one = (ms: number) =>
            host.waitFor(s, ms).then((raised) => {
                assert.equal(raised, false)
                order.push(ms)
                at.push(performance.now() - t0)
            })
        await Promise.all([one(60), one(20), one(40)])
        assert.deepEqual(order, [20, 40, 60])
        for (let i = 0; i < 3; i++) assert.ok(at[i] >= order[i] - 1, `the ${order[i]} ms wait ended at ${at[i].toFixed(1)} ms`)
        assert.equal(host.timedWaiters(), 0)
        // the signal holds nobody: a raise now wakes only a new waiter
        const later = host.waitFor(s, 0)
        host.raise(s)
        assert.equal(await later, true)
    })

    it("a shorter timeout after a longer one still fires on time; raising the long one is unaffected", async () => {
        const host = new RealTimeSocketHost()
        const long = host.newSignal()
        const short = host.newSignal()
        const a = host.waitFor(long, 60000)
        const t0 = performance.now()
        assert.equal(await host.waitFor(short, 15), false)
        assert.ok(performance.now() - t0 >= 14)
        assert.equal(host.timedWaiters(), 1)
        host.raise(long)
        assert.equal(await a, true)
        assert.equal(host.timedWaiters(), 0)
    })
})

/** Two FrameLinks joined back to back; frames are handed over asynchronously (as a NIC would). */
function linkPair(): [FrameLink, FrameLink] {
    const mk = (): FrameLink & { peer?: FrameLink } => ({
        onFrame: null,
        send(frame: Buffer, length: number) {
            const copy = Buffer.from(frame.subarray(0, length))
            const peer = (this as { peer?: FrameLink }).peer
            setImmediate(() => peer.onFrame && peer.onFrame(copy))
        },
    })
    const a = mk()
    const b = mk()
    a.peer = b
    b.peer = a
    return [a, b]
}

describe("RealTimeRunner", () => {
    it("moves 256 KB through TCP between two runners on the wall clock, and goes quiet afterwards", async () => {
        const [la, lb] = linkPair()
        const limits = { tcpConnections: 2, tcpSendBuffer: 8192, tcpRecvBuffer: 8192, tcpMslMs: 50 }
        const server = new RealTimeRunner({ link: la, ip: "198.18.0.2/24", limits, seed: 1 })
        const client = new RealTimeRunner({ link: lb, ip: "198.18.0.3/24", limits, seed: 2 })
        server.start()
        client.start()
        const echo = startEcho(server.net, 7)
        try {
            const data = randomBytes(256 * 1024)
            const s = await client.net.connect(parseIp("198.18.0.2"), 7, 5000)
            const got: Buffer[] = []
            let total = 0
            const reader = (async () => {
                const buf = Buffer.alloc(4096)
                while (total < data.length) {
                    const n = await s.read(buf, 0, buf.length, 5000)
                    if (n === 0) break
                    got.push(Buffer.from(buf.subarray(0, n)))
                    total += n
                }
            })()
            await s.write(data, 0, data.length)
            await reader
            s.close()
            assert.ok(Buffer.concat(got).equals(data), `echoed ${total} of ${data.length} bytes`)
            // both ends close, TIME-WAIT (2 x 50 ms) ends, and no timer is left
            const end = performance.now() + 5000
            while ((server.stack.tcp.inUseCount() || client.stack.tcp.inUseCount()) && performance.now() < end) await new Promise((r) => setTimeout(r, 20))
            assert.equal(server.stack.tcp.inUseCount() + client.stack.tcp.inUseCount(), 0)
            assert.equal(server.stuckPolls + client.stuckPolls, 0, "no deadline stayed due after a poll")
        } finally {
            echo.close()
            server.stop()
            client.stop()
        }
    })
})
