// Issue 13's TCP defects, each with the test that would have caught it:
// segment sizes of corked and Nagled writers for any ISN (pushUpTo once
// started at 0, so for an ISN at or above 2^31 every write looked "pushed"),
// and answers to invalid pure ACKs rate-limited per connection (RFC 5961 §10,
// Linux's tcp_invalid_ratelimit), so two stacks that disagree on sequence
// numbers cannot trade ACKs without end.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import fc from "fast-check"
import { Rig, ISS_A, PEER_PORT } from "./rig.js"
import { TcpConnection } from "../../src/tcp/connection.js"
import { TcpState } from "../../src/tcp/state.js"
import { ip, A_IP } from "../helpers.js"
import { fuzzOptions } from "../fuzz/options.js"
import { pair, runTask, parseIp, SERVER_IP } from "./sim-helpers.js"

const u32 = (n: number) => n >>> 0

/** ESTABLISHED with B's ISS = iss, by a passive open (active = false) or an active one. */
function establishedWith(iss: number, active: boolean): { rig: Rig; conn: TcpConnection; peerSeq: number } {
    const rig = new Rig({ tcpSendBuffer: 4096 })
    rig.tcp.isn = () => iss
    let conn: TcpConnection
    if (active) {
        conn = rig.tcp.connect(ip(A_IP), 80, 0)
        const syn = rig.expect({ flags: "S", seq: iss })
        rig.send({ sport: 80, dport: syn.sport, seq: ISS_A, ack: u32(iss + 1), flags: "S.", mss: 1460 })
        rig.expect({ flags: ".", ack: u32(ISS_A + 1) })
    } else {
        const l = rig.tcp.listen(80, 0)
        rig.send({ seq: ISS_A, flags: "S", mss: 1460 })
        rig.expect({ flags: "S.", seq: iss })
        rig.send({ seq: ISS_A + 1, ack: u32(iss + 1), flags: "." })
        conn = rig.tcp.accept(l)
    }
    assert.equal(conn.state, TcpState.Established)
    return { rig, conn, peerSeq: ISS_A + 1 }
}

function ackFrom(rig: Rig, conn: TcpConnection, peerSeq: number, ack: number): void {
    rig.send({ sport: conn.remotePort, dport: conn.localPort, seq: peerSeq, ack: u32(ack), flags: "." })
}

/** /bytes/3000's writer: corked 1024-byte writes, then uncork. Returns the data segment sizes. */
function corkedSizes(iss: number, active: boolean): number[] {
    const { rig, conn } = establishedWith(iss, active)
    rig.tcp.cork(conn)
    for (let left = 3000; left > 0; left -= 1024) {
        const k = Math.min(left, 1024)
        assert.equal(rig.tcp.send(conn, Buffer.alloc(k, 0x61), 0, k, rig.now), k)
    }
    rig.tcp.uncork(conn, rig.now)
    return rig.recv().map((s) => s.data.length)
}

/** A Nagled writer: one byte, then two more while the first is unacknowledged. */
function nagleSizes(iss: number, active: boolean): number[][] {
    const { rig, conn, peerSeq } = establishedWith(iss, active)
    const sizes: number[][] = []
    rig.tcp.send(conn, Buffer.from("a"), 0, 1, rig.now)
    sizes.push(rig.recv().map((s) => s.data.length))
    rig.tcp.send(conn, Buffer.from("b"), 0, 1, rig.now)
    rig.tcp.send(conn, Buffer.from("c"), 0, 1, rig.now)
    sizes.push(rig.recv().map((s) => s.data.length))
    ackFrom(rig, conn, peerSeq, iss + 2)
    sizes.push(rig.recv().map((s) => s.data.length))
    return sizes
}

const EDGE_ISNS = [0, 1, 0x7fffffff, 0x80000000, 0x80000001, 0xc0000000, 0xfffff800, 0xffffff00, 0xfffffffe, 0xffffffff]

test("cork and Nagle hold for any ISN: both sides of 2^31 and across the wrap (defect 2)", () => {
    for (const iss of EDGE_ISNS) {
        for (const active of [false, true]) {
            const what = "ISS " + iss + (active ? " (active open)" : " (passive open)")
            assert.deepEqual(corkedSizes(iss, active), [1460, 1460, 80], what + ": corked writes leave in full segments")
            assert.deepEqual(nagleSizes(iss, active), [[1], [], [2]], what + ": Nagle holds the small writes")
        }
    }
    fc.assert(
        fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.boolean(), (iss, active) => {
            assert.deepEqual(corkedSizes(iss, active), [1460, 1460, 80])
            assert.deepEqual(nagleSizes(iss, active), [[1], [], [2]])
        }),
        fuzzOptions(200),
    )
})

test("a flood of invalid pure ACKs of both kinds gets a bounded number of answers; the connection keeps working (defect 1)", (t) => {
    const { rig, conn, peerSeq } = establishedWith(1000, false)
    let answers = 0
    // 10 s of a flood, 1 segment per ms, alternating: beyond our window, and an ACK of data never sent
    for (let t = 1; t <= 10000; t++) {
        rig.at(t)
        if (t % 2) rig.send({ seq: peerSeq + 1000000, ack: 1001, flags: "." })
        else rig.send({ seq: peerSeq, ack: 1001 + 500000, flags: "." })
        answers += rig.recv().length
    }
    // Linux's tcp_invalid_ratelimit: one answer per 500 ms
    t.diagnostic("answers to 10,000 invalid ACKs in 10 s: " + answers)
    assert.ok(answers >= 10 && answers <= 21, "answers to 10,000 invalid ACKs in 10 s: " + answers)
    // invalid segments that carry data are not part of a loop: each still gets its ACK at once
    rig.send({ seq: peerSeq + 1000000, ack: 1001, flags: "P.", data: "x" })
    rig.expect({ flags: ".", ack: peerSeq })
    rig.send({ seq: peerSeq, ack: 1001 + 500000, flags: "P.", data: "y" })
    rig.expect({ flags: ".", ack: peerSeq })
    // and the connection works: data both ways
    rig.send({ seq: peerSeq, ack: 1001, flags: "P.", data: "hello" })
    const got = Buffer.alloc(16)
    assert.equal(rig.tcp.recv(conn, got, 0, 16, rig.now), 5)
    rig.tcp.send(conn, Buffer.from("world"), 0, 5, rig.now)
    rig.expect({ flags: "P.", data: "world", ack: peerSeq + 5 })
    rig.tcp.abort(conn, rig.now)
    rig.tcp.close(conn, rig.now)
    rig.assertPoolEmpty()
    void PEER_PORT
})

test("two stacks whose sequence numbers disagree do not trade ACKs without end (defect 1)", async (t) => {
    const p = pair(3, { delayMs: 0.5 })
    const server = p.serverNet.listen(80)
    let conns: TcpConnection[] = []
    await runTask(
        p.sim,
        async () => {
            const c = await p.clientNet.connect(parseIp(SERVER_IP), 80, 5000)
            const s = await server.accept()
            await c.write(Buffer.from("hi"))
            const b = Buffer.alloc(4)
            assert.equal(await s.read(b, 0, 4), 2)
        },
        5000,
    )
    const clientConn = p.client.tcp.pool.find((c) => c.inUse)
    const serverConn = p.server.tcp.pool.find((c) => c.inUse)
    conns = [clientConn, serverConn]
    p.sim.runFor(1000)
    // the server's idea of its own sequence numbers jumps far ahead of what the client knows
    // (state lost and restored wrong, say): each side's ACK is now invalid to the other
    serverConn.sndUna = u32(serverConn.sndUna + 0x40000000)
    serverConn.sndNxt = serverConn.sndUna
    serverConn.sndMax = serverConn.sndUna
    const before = [p.client.tcp.counters.segmentsOut, p.server.tcp.counters.segmentsOut]
    serverConn.ackNow = true
    p.server.tcp.output(serverConn, p.sim.now)
    p.sim.runFor(10000)
    const sent = [p.client.tcp.counters.segmentsOut - before[0], p.server.tcp.counters.segmentsOut - before[1]]
    t.diagnostic("segments sent in 10 s by client, server: " + sent.join(", "))
    // before the fix: about 10,000 segments each way in these 10 s
    assert.ok(sent[0] <= 4 && sent[1] <= 4, "segments sent in 10 s by client, server: " + sent.join(", "))
    for (const c of conns) assert.equal(c.state, TcpState.Established)
})
