// The state tracker against the truth: 100 connections between two ds-tcpip
// stacks on the simulator, with loss and reordering both ways and every
// close order (client first, server first, simultaneous, a half-close with
// data after the FIN, an abort from either side, a refused connection). Each
// host's link is captured as tcpdump on that host would see it; the states
// inferred from a host's capture must match the state changes its stack
// made, step by step, each inferred no earlier than it really happened.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { pair, runAsync, parseIp, SERVER_IP } from "../tcp/sim-helpers.js"
import { PcapWriter } from "../../src/host/sim/pcap.js"
import { recordStateEvents, StateEvent, compareStates, normalizeSteps } from "../../src/host/state-events.js"
import { analyze } from "../../src/host/trace-file.js"
import { TcpSocket } from "../../src/socket/socket.js"
import { Reason } from "../../src/wire/reason.js"

const MSL = 200
const KINDS = ["client first", "server first", "simultaneous", "half-close", "client abort", "server abort", "refused"]

async function readSome(s: TcpSocket): Promise<string> {
    const b = Buffer.alloc(512)
    const n = await s.read(b, 0, b.length)
    return b.toString("latin1", 0, n)
}

async function readToEnd(s: TcpSocket): Promise<string> {
    let all = ""
    for (;;) {
        const t = await readSome(s)
        if (t === "") return all
        all += t
    }
}

test("on 100 simulated connections with loss and reordering, inferred states match the stacks' state changes", { timeout: 120000 }, async () => {
    const seed = Number(process.env["INFER_SEED"] ?? 12)
    const p = pair(seed, { delayMs: 1, loss: 0.04, reorder: 0.08 }, { tcpConnections: 64, tcpMslMs: MSL, tcpBacklog: 16 })
    // impair the server's link too (pair() impairs the client's)
    p.sim.setImpairments("server", { delayMs: 1, loss: 0.04, reorder: 0.08, seed: 99 })
    const caps = { client: new PcapWriter(), server: new PcapWriter() }
    p.sim.capture("client", caps.client)
    p.sim.capture("server", caps.server)
    const events: { client: StateEvent[]; server: StateEvent[] } = { client: [], server: [] }
    recordStateEvents(p.client, () => p.sim.now, (e) => events.client.push(e))
    recordStateEvents(p.server, () => p.sim.now, (e) => events.server.push(e))

    const listener = p.serverNet.listen(80)
    const serverSockets: TcpSocket[] = []
    let failure: unknown = null
    let kind = ""
    // the server: reads a request, answers by the kind of the connection
    ;(async () => {
        for (;;) {
            const s = await listener.accept()
            if (!s) return
            // each connection on its own, so a slow one holds up no other
            serve(s, kind).catch((e) => (failure = e))
        }
    })().catch((e) => (failure = e))
    async function serve(s: TcpSocket, k: string): Promise<void> {
        {
            const req = await readSome(s).catch(() => "")
            if (k === "client first") {
                await s.write(Buffer.from("re:" + req))
                await readToEnd(s)
                s.close()
            } else if (k === "server first") {
                await s.write(Buffer.from("re:" + req))
                s.close()
            } else if (k === "simultaneous") {
                await s.write(Buffer.from("re:" + req))
                // the client closes both ends at one instant (below)
                serverSockets.push(s)
            } else if (k === "half-close") {
                // the client has shut down its sending side; data still flows to it
                await readToEnd(s)
                for (let i = 0; i < 3; i++) await s.write(Buffer.from("after your FIN " + i))
                s.close()
            } else if (k === "client abort") {
                await s.write(Buffer.from("re:" + req)).catch(() => {})
                await readToEnd(s).catch(() => "")
                s.close()
            } else if (k === "server abort") {
                s.abort()
            }
        }
    }

    let done = 0
    ;(async () => {
        for (let i = 0; i < 100; i++) {
            kind = KINDS[i % KINDS.length]
            if (kind === "refused") {
                await assert.rejects(p.clientNet.connect(parseIp(SERVER_IP), 81), /ECONNREFUSED/)
                done++
                continue
            }
            const c = await p.clientNet.connect(parseIp(SERVER_IP), 80)
            await c.write(Buffer.from("hello " + i))
            if (kind === "client first") {
                assert.equal(await readSome(c), "re:hello " + i)
                c.close()
            } else if (kind === "server first") {
                assert.equal(await readToEnd(c), "re:hello " + i)
                c.close()
            } else if (kind === "simultaneous") {
                assert.equal(await readSome(c), "re:hello " + i)
                // both ends close at the same virtual instant: the FINs cross (CLOSING), unless loss delays one
                const ss = serverSockets.shift()
                c.close()
                ss.close()
            } else if (kind === "half-close") {
                c.shutdown()
                assert.match(await readToEnd(c), /^(after your FIN \d)+$/)
                c.close()
            } else if (kind === "client abort") {
                // once the request is acknowledged (else a lost request and reset leave the
                // server waiting forever, half-open), the answer finds no connection: a reset
                // (again, while resets are lost)
                await c.drain()
                c.abort()
            } else if (kind === "server abort") {
                // data after the server's reset (it resets once it has read the request): if the
                // reset was lost, the data draws another
                await c.drain()
                await c.write(Buffer.from("more")).catch(() => {})
                await readToEnd(c).catch(() => "")
                c.close()
            }
            done++
        }
    })().catch((e) => (failure = e))
    const finished = await runAsync(p.sim, () => done === 100 || failure !== null, 900000)
    // INFER_DUMP=PREFIX keeps the two captures for a look with ds-tcpip trace
    if (process.env["INFER_DUMP"]) for (const h of ["client", "server"] as const) caps[h].writeFile(process.env["INFER_DUMP"] + "-" + h + ".pcap")
    assert.ok(finished, "the 100 connections finished: " + done + " done, now " + kind)
    if (failure) throw failure
    listener.close()
    // every TIME-WAIT and every lingering close runs out
    assert.ok(await runAsync(p.sim, () => p.client.tcp.inUseCount() === 0 && p.server.tcp.inUseCount() === 0, 600000), "pools empty: " + JSON.stringify([p.client.tcp.countByState(), p.server.tcp.countByState()]))
    assert.equal(p.client.tcp.counters.timeWaitReclaimed + p.server.tcp.counters.timeWaitReclaimed, 0, "no TIME-WAIT was cut short (invisible on the wire)")
    assert.equal(p.client.counters.drops[Reason.InternalError] + p.server.counters.drops[Reason.InternalError], 0)
    const loss = p.sim.linkStats("client").out.lost + p.sim.linkStats("server").out.lost
    assert.ok(loss > 10, "the links lost segments: " + loss)

    for (const host of ["client", "server"] as const) {
        const r = analyze(caps[host].toBuffer(), 2 * MSL)
        r.tracker.finish(p.sim.now)
        const mine = events[host]
        const conns = r.tracker.connections
        assert.equal(conns.length, 100, host + ": one tracked connection per connection")
        const dis = compareStates(conns, mine)
        assert.deepEqual(dis, [], host + ": inferred and real state changes differ")
        // every step: the same change, inferred no earlier than the stack made it
        const local = host === "client" ? "198.18.0.1" : SERVER_IP
        let steps = 0
        for (const c of conns) {
            const ep = c.endpointName(0).startsWith(local + ".") ? 0 : 1
            const inferred = normalizeSteps(c.changes.filter((ch) => ch.endpoint === ep))
            const collapsed = normalizeSteps(mine.filter((e) => e.local === c.endpointName(ep) && e.remote === c.endpointName(ep === 0 ? 1 : 0)))
            assert.equal(inferred.length, collapsed.length, `${host} connection ${c.id}: ${inferred.map((x) => x.to)} vs ${collapsed.map((x) => x.to)}`)
            inferred.forEach((ch, i) => {
                assert.ok(ch.timeMs >= collapsed[i].timeMs - 0.001, `${host} connection ${c.id} step ${i} ${ch.from} -> ${ch.to}: inferred at ${ch.timeMs}, real at ${collapsed[i].timeMs}`)
                steps++
            })
        }
        assert.ok(steps > 300, host + ": " + steps + " steps compared")
    }
})
