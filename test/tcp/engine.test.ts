// The TCP engine, segment by segment: every state and transition of RFC 9293
// §3.3.2 and the arrival rules of §3.10.7, with explicit time.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { Rig, established, ISS_A, ISS_B, PEER_PORT } from "./rig.js"
import { TcpState, TcpError } from "../../src/tcp/state.js"
import { ip, A_IP } from "../helpers.js"

const MSL = 30000

function read(rig: Rig, conn: any, n = 65536): string {
    const buf = Buffer.alloc(n)
    const got = rig.tcp.recv(conn, buf, 0, n, rig.now)
    return buf.toString("latin1", 0, got)
}

function write(rig: Rig, conn: any, text: string | Buffer): number {
    const b = typeof text === "string" ? Buffer.from(text, "latin1") : text
    return rig.tcp.send(conn, b, 0, b.length, rig.now)
}

test("passive open: the handshake of the seed trace (SYN 3626544836, SYN-ACK, ACK 1739326487)", () => {
    const rig = new Rig()
    rig.tcp.isn = () => ISS_B
    const l = rig.tcp.listen(80, 0)
    rig.send({ seq: 3626544836, flags: "S", mss: 1460, window: 64240 })
    const synAck = rig.expect({ flags: "S.", seq: 1739326486, ack: 3626544837, mss: 1460 })
    assert.equal(synAck.window, 2048, "the receive ring's free space")
    assert.equal(rig.tcp.accept(l), null, "not yet established")
    rig.send({ seq: 3626544837, ack: 1739326487, flags: "." })
    rig.expectNothing()
    const c = rig.tcp.accept(l)
    assert.equal(rig.state(c), "ESTABLISHED")
    assert.ok(rig.logs.some((l) => l.endsWith("SYN-RECEIVED -> ESTABLISHED")))
    rig.tcp.abort(c, 0)
    rig.tcp.close(c, 0)
    rig.assertPoolEmpty()
})

test("active open: SYN with our MSS, SYN-ACK, ACK; the peer's MSS caps our segments", () => {
    const rig = new Rig()
    rig.tcp.isn = () => 1000
    const c = rig.tcp.connect(ip(A_IP), 8080, 0)
    assert.equal(rig.state(c), "SYN-SENT")
    const syn = rig.expect({ flags: "S", seq: 1000, mss: 1460, dport: 8080 })
    rig.send({ sport: 8080, dport: syn.sport, seq: 5000, ack: 1001, flags: "S.", mss: 100 })
    rig.expect({ flags: ".", seq: 1001, ack: 5001, window: 2048 })
    assert.equal(rig.state(c), "ESTABLISHED")
    assert.equal(write(rig, c, "x".repeat(250)), 250)
    const segs = rig.recv()
    assert.deepEqual(segs.map((s) => s.data.length), [100, 100], "MSS 100 from the peer's option; Nagle holds the last 50 bytes")
    assert.deepEqual(segs.map((s) => s.seq), [1001, 1101])
    rig.send({ sport: 8080, dport: syn.sport, seq: 5001, ack: 1201, flags: "." })
    rig.expect({ seq: 1201, data: "x".repeat(50) })
    rig.tcp.abort(c, 0)
    rig.recv()
    rig.tcp.close(c, 0)
    rig.assertPoolEmpty()
})

test("data in: delayed ACK after 40 ms, every second segment at once", () => {
    const { rig, conn } = established()
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1, flags: "P.", data: "hello" })
    rig.expectNothing()
    assert.equal(rig.stack.nextDeadline(), 40)
    rig.at(39).expectNothing()
    rig.at(40).expect({ flags: ".", ack: ISS_A + 6 })
    rig.send({ seq: ISS_A + 6, ack: ISS_B + 1, flags: ".", data: "abc" })
    rig.expectNothing()
    rig.send({ seq: ISS_A + 9, ack: ISS_B + 1, flags: ".", data: "def" })
    rig.expect({ flags: ".", ack: ISS_A + 12 })
    assert.equal(read(rig, conn), "helloabcdef")
})

test("an answer piggybacks the delayed ACK", () => {
    const { rig, conn } = established()
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1, flags: "P.", data: "GET" })
    rig.expectNothing()
    assert.equal(read(rig, conn), "GET")
    write(rig, conn, "200")
    rig.expect({ flags: "P.", seq: ISS_B + 1, ack: ISS_A + 4, data: "200" })
    assert.equal(rig.stack.nextDeadline() > 40, true, "no delayed ACK pending any more")
})

test("out of order: duplicate ACK at once, data delivered once the gap fills", () => {
    const { rig, conn } = established()
    rig.send({ seq: ISS_A + 6, ack: ISS_B + 1, flags: ".", data: "world" })
    rig.expect({ flags: ".", ack: ISS_A + 1 })
    assert.equal(read(rig, conn), "")
    rig.send({ seq: ISS_A + 6, ack: ISS_B + 1, flags: ".", data: "world" })
    rig.expect({ flags: ".", ack: ISS_A + 1 })
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1, flags: ".", data: "hello" })
    rig.expect({ flags: ".", ack: ISS_A + 11 })
    assert.equal(read(rig, conn), "helloworld")
    // overlapping retransmission: delivered exactly once
    rig.send({ seq: ISS_A + 8, ack: ISS_B + 1, flags: ".", data: "rldXY" })
    rig.at(40)
    assert.equal(read(rig, conn), "XY")
})

test("old duplicates are re-ACKed and not delivered again", () => {
    const { rig, conn } = established()
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1, flags: ".", data: "abc" })
    rig.at(40).recv()
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1, flags: ".", data: "abc" })
    rig.expect({ flags: ".", ack: ISS_A + 4 })
    assert.equal(read(rig, conn), "abc")
})

test("we close first: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT for 2 MSL, CLOSED", () => {
    const { rig, conn } = established()
    rig.tcp.close(conn, 0)
    assert.equal(rig.state(conn), "FIN-WAIT-1")
    rig.expect({ flags: "F.", seq: ISS_B + 1, ack: ISS_A + 1 })
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 2, flags: "." })
    assert.equal(rig.state(conn), "FIN-WAIT-2")
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 2, flags: "F." })
    rig.expect({ flags: ".", seq: ISS_B + 2, ack: ISS_A + 2 })
    assert.equal(rig.state(conn), "TIME-WAIT")
    // a retransmitted FIN is ACKed again and restarts the wait
    rig.at(1000)
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 2, flags: "F." })
    rig.expect({ flags: ".", ack: ISS_A + 2 })
    rig.at(1000 + 2 * MSL - 1)
    assert.equal(rig.state(conn), "TIME-WAIT")
    rig.at(1000 + 2 * MSL)
    rig.assertPoolEmpty()
})

test("FIN+ACK in FIN-WAIT-1 goes straight to TIME-WAIT", () => {
    const { rig, conn } = established()
    rig.tcp.close(conn, 0)
    rig.expect({ flags: "F." })
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 2, flags: "F." })
    rig.expect({ flags: ".", ack: ISS_A + 2 })
    assert.equal(rig.state(conn), "TIME-WAIT")
    rig.at(2 * MSL)
    rig.assertPoolEmpty()
})

test("the peer closes first: CLOSE-WAIT (we can still send), LAST-ACK, CLOSED", () => {
    const { rig, conn } = established()
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1, flags: "F.", data: "bye" })
    rig.expect({ flags: ".", ack: ISS_A + 5 })
    assert.equal(rig.state(conn), "CLOSE-WAIT")
    assert.equal(read(rig, conn), "bye")
    assert.ok(conn.finReceived, "end of stream")
    write(rig, conn, "still here")
    rig.expect({ flags: "P.", data: "still here" })
    rig.send({ seq: ISS_A + 5, ack: ISS_B + 11, flags: "." })
    rig.tcp.close(conn, 0)
    assert.equal(rig.state(conn), "LAST-ACK")
    rig.expect({ flags: "F.", seq: ISS_B + 11, ack: ISS_A + 5 })
    rig.send({ seq: ISS_A + 5, ack: ISS_B + 12, flags: "." })
    rig.assertPoolEmpty()
})

test("simultaneous close: CLOSING, then TIME-WAIT", () => {
    const { rig, conn } = established()
    rig.tcp.close(conn, 0)
    rig.expect({ flags: "F.", seq: ISS_B + 1 })
    // the peer's FIN crosses ours: it does not ACK our FIN
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1, flags: "F." })
    rig.expect({ flags: ".", ack: ISS_A + 2 })
    assert.equal(rig.state(conn), "CLOSING")
    rig.send({ seq: ISS_A + 2, ack: ISS_B + 2, flags: "." })
    assert.equal(rig.state(conn), "TIME-WAIT")
    rig.at(2 * MSL)
    rig.assertPoolEmpty()
})

test("half-close: FIN-WAIT-2 keeps receiving", () => {
    const { rig, conn } = established()
    rig.tcp.shutdown(conn, 0)
    rig.expect({ flags: "F." })
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 2, flags: "." })
    assert.equal(rig.state(conn), "FIN-WAIT-2")
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 2, flags: "P.", data: "more data" })
    rig.at(40).expect({ flags: ".", ack: ISS_A + 10 })
    assert.equal(read(rig, conn), "more data")
    rig.send({ seq: ISS_A + 10, ack: ISS_B + 2, flags: "F." })
    rig.expect({ flags: ".", ack: ISS_A + 11 })
    assert.equal(rig.state(conn), "TIME-WAIT")
    rig.tcp.close(conn, rig.now)
    rig.at(rig.now + 2 * MSL)
    rig.assertPoolEmpty()
})

test("simultaneous open: SYN-SENT, SYN crosses, SYN-RECEIVED, ESTABLISHED", () => {
    const rig = new Rig()
    rig.tcp.isn = () => 7000
    const c = rig.tcp.connect(ip(A_IP), 9000, 0)
    const syn = rig.expect({ flags: "S", seq: 7000 })
    rig.send({ sport: 9000, dport: syn.sport, seq: 100, flags: "S", mss: 1460 })
    rig.expect({ flags: "S.", seq: 7000, ack: 101 })
    assert.equal(rig.state(c), "SYN-RECEIVED")
    rig.send({ sport: 9000, dport: syn.sport, seq: 100, ack: 7001, flags: "S." })
    // a SYN in a synchronized state would be challenged; here the SYN,ACK completes the open
    assert.equal(rig.state(c), "ESTABLISHED")
    rig.tcp.abort(c, 0)
    rig.tcp.close(c, 0)
    rig.assertPoolEmpty()
})

test("closed ports answer with RST (§3.10.7.1)", () => {
    const rig = new Rig()
    rig.send({ dport: 81, seq: 500, flags: "S" })
    rig.expect({ flags: "R.", seq: 0, ack: 501 })
    rig.send({ dport: 81, seq: 500, ack: 12345, flags: "." })
    rig.expect({ flags: "R", seq: 12345 })
    rig.send({ dport: 81, seq: 500, flags: "R" })
    rig.expectNothing()
    rig.send({ dport: 81, seq: 500, flags: "P.", ack: 9, data: "abc" })
    rig.expect({ flags: "R", seq: 9 })
})

test("an ACK to a listener gets a RST; a RST to a listener is ignored", () => {
    const rig = new Rig()
    rig.tcp.listen(80, 0)
    rig.send({ seq: 1, ack: 777, flags: "." })
    rig.expect({ flags: "R", seq: 777 })
    rig.send({ seq: 1, flags: "R" })
    rig.expectNothing()
    rig.assertPoolEmpty()
})

test("RST (RFC 5961): exact sequence resets, in-window gets a challenge ACK, outside is dropped", () => {
    const { rig, conn } = established()
    rig.send({ seq: ISS_A + 100, flags: "R" })
    rig.expect({ flags: ".", seq: ISS_B + 1, ack: ISS_A + 1 })
    assert.equal(rig.state(conn), "ESTABLISHED")
    rig.send({ seq: ISS_A + 1000000, flags: "R" })
    rig.expectNothing()
    rig.send({ seq: ISS_A + 1, flags: "R" })
    assert.equal(rig.state(conn), "CLOSED")
    assert.equal(conn.error, TcpError.ConnectionReset)
    rig.tcp.close(conn, 0)
    rig.assertPoolEmpty()
})

test("SYN in ESTABLISHED gets a challenge ACK (RFC 5961 §4)", () => {
    const { rig, conn } = established()
    rig.send({ seq: ISS_A + 50, flags: "S" })
    rig.expect({ flags: ".", seq: ISS_B + 1, ack: ISS_A + 1 })
    assert.equal(rig.state(conn), "ESTABLISHED")
})

test("an ACK of data never sent is answered with an ACK and dropped (RFC 5961 §5)", () => {
    const { rig, conn } = established()
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1000, flags: "P.", data: "zzz" })
    rig.expect({ flags: ".", seq: ISS_B + 1, ack: ISS_A + 1 })
    assert.equal(read(rig, conn), "", "its data is not taken")
    assert.equal(conn.sndUna, ISS_B + 1)
})

test("connect to a closed port: RST,ACK gives ECONNREFUSED", () => {
    const rig = new Rig()
    rig.tcp.isn = () => 1000
    const c = rig.tcp.connect(ip(A_IP), 9, 0)
    const syn = rig.expect({ flags: "S" })
    rig.send({ sport: 9, dport: syn.sport, seq: 0, ack: 1001, flags: "R." })
    assert.equal(rig.state(c), "CLOSED")
    assert.equal(c.error, TcpError.ConnectionRefused)
    rig.tcp.close(c, 0)
    rig.assertPoolEmpty()
})

test("SYN-SENT: a bad ACK gets a RST and changes nothing", () => {
    const rig = new Rig()
    rig.tcp.isn = () => 1000
    const c = rig.tcp.connect(ip(A_IP), 9, 0)
    const syn = rig.expect({ flags: "S" })
    rig.send({ sport: 9, dport: syn.sport, seq: 0, ack: 5555, flags: "S." })
    rig.expect({ flags: "R", seq: 5555 })
    assert.equal(rig.state(c), "SYN-SENT")
    rig.tcp.close(c, 0)
    rig.assertPoolEmpty()
})

test("SYN retransmissions back off and give up with ETIMEDOUT", () => {
    const rig = new Rig({ tcpSynRetries: 3 })
    rig.tcp.isn = () => 1000
    const c = rig.tcp.connect(ip(A_IP), 9, 0)
    rig.expect({ flags: "S" })
    const times: number[] = []
    for (let i = 0; i < 10 && c.state !== TcpState.Closed; i++) {
        const t = rig.stack.nextDeadline()
        rig.at(t)
        if (rig.recv().length) times.push(t)
    }
    assert.deepEqual(times, [1000, 3000, 7000], "1 s, then doubling")
    assert.equal(c.error, TcpError.TimedOut)
    rig.tcp.close(c, rig.now)
    rig.assertPoolEmpty()
})

test("retransmission: RTO, go-back, Karn's rule, and giving up with RST + ETIMEDOUT", () => {
    const { rig, conn } = established({ tcpMaxRetries: 3 })
    write(rig, conn, "data")
    rig.expect({ flags: "P.", seq: ISS_B + 1, data: "data" })
    // the handshake's RTT sample (0 ms) gives SRTT 0 -> RTO clamps to 200 ms
    assert.equal(rig.stack.nextDeadline(), 200)
    rig.at(200).expect({ flags: "P.", seq: ISS_B + 1, data: "data" })
    rig.at(600).expect({ flags: "P.", seq: ISS_B + 1, data: "data" })
    rig.at(1400).expect({ flags: "P.", seq: ISS_B + 1, data: "data" })
    rig.at(3000).expect({ flags: "R" })
    assert.equal(conn.error, TcpError.TimedOut)
    assert.equal(rig.tcp.counters.retransmits, 3)
    rig.tcp.close(conn, rig.now)
    rig.assertPoolEmpty()
})

test("while retransmitting, an ACK carries the highest sequence number sent, not the rewound SND.NXT", () => {
    // Both ends retransmitting at once used to deadlock: each side's ACKs carried
    // SEQ = SND.NXT, rewound by go-back-N below what the other had already
    // received, so they were out of window there (§3.10.7.4) and dropped
    // unprocessed, and the retransmissions never ended (Linux: tcp_acceptable_seq)
    const { rig, conn } = established({}, 100)
    write(rig, conn, Buffer.alloc(200, 0x61))
    assert.deepEqual(rig.recv().map((g) => g.seq), [ISS_B + 1, ISS_B + 101])
    rig.at(200).expect({ flags: ".", seq: ISS_B + 1 }) // RTO: the first segment again, SND.NXT = ISS_B + 101
    // a segment beyond our window is answered at once with an ACK
    rig.send({ seq: ISS_A + 1 + 100000, ack: ISS_B + 1, flags: ".", data: "x" })
    rig.expect({ flags: ".", seq: ISS_B + 201, ack: ISS_A + 1 })
    // the peer had both segments: its ACK ends the retransmission
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 201, flags: "." })
    assert.equal(conn.sndUna, ISS_B + 201)
    assert.equal(rig.stack.nextDeadline(), -1)
})

test("fast retransmit on the third duplicate ACK with an ISS at or above 2^31 (recover starts at the ISS, RFC 6582 §3.2)", () => {
    const iss = 0xf0000000
    const { rig, conn } = established({ tcpSendBuffer: 8192 }, 100, iss)
    write(rig, conn, "a".repeat(100) + "b".repeat(100))
    assert.equal(rig.recv().length, 2)
    for (let i = 0; i < 3; i++) rig.send({ seq: ISS_A + 1, ack: iss + 1, flags: "." })
    rig.expect({ seq: iss + 1, data: "a".repeat(100) })
    assert.equal(rig.tcp.counters.fastRetransmits, 1)
    assert.equal(rig.tcp.counters.timeouts, 0)
})

test("fast retransmit on the third duplicate ACK (RFC 5681 §3.2)", () => {
    const { rig, conn } = established({ tcpSendBuffer: 8192 }, 100)
    write(rig, conn, "a".repeat(100) + "b".repeat(100) + "c".repeat(100) + "d".repeat(100))
    const segs = rig.recv()
    assert.equal(segs.length, 4, "initial window 4380 bytes allows all four")
    for (let i = 0; i < 3; i++) {
        rig.send({ seq: ISS_A + 1, ack: ISS_B + 1, flags: "." })
        if (i < 2) rig.expectNothing()
    }
    rig.expect({ seq: ISS_B + 1, data: "a".repeat(100) })
    assert.equal(rig.tcp.counters.fastRetransmits, 1)
    // a partial ACK retransmits the next hole at once (NewReno)
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 101, flags: "." })
    rig.expect({ seq: ISS_B + 101, data: "b".repeat(100) })
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 401, flags: "." })
    assert.equal(conn.inRecovery, false)
    assert.equal(conn.sendRing.length, 0)
})

test("zero window: data waits, probes go out with backoff, the window opens, data flows", () => {
    const { rig, conn } = established()
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1, flags: ".", window: 0 })
    write(rig, conn, "blocked")
    rig.expectNothing()
    const first = rig.stack.nextDeadline()
    rig.at(first).expect({ flags: ".", seq: ISS_B, ack: ISS_A + 1 })
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1, flags: ".", window: 0 })
    const second = rig.stack.nextDeadline()
    assert.ok(second - first > first, "backed off")
    rig.at(second).expect({ flags: ".", seq: ISS_B })
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1, flags: ".", window: 1000 })
    rig.expect({ flags: "P.", seq: ISS_B + 1, data: "blocked" })
    assert.equal(rig.tcp.counters.zeroWindowProbes, 2)
})

test("our window: advertised from free ring space, zero when full, updated when read", () => {
    const { rig, conn } = established({ tcpRecvBuffer: 1000 })
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1, flags: ".", data: Buffer.alloc(600, 1) })
    rig.send({ seq: ISS_A + 601, ack: ISS_B + 1, flags: ".", data: Buffer.alloc(400, 2) })
    rig.expect({ flags: ".", ack: ISS_A + 1001, window: 0 })
    // more data does not fit: dropped, and a zero-window ACK repeats
    rig.send({ seq: ISS_A + 1001, ack: ISS_B + 1, flags: ".", data: "x" })
    rig.expect({ flags: ".", ack: ISS_A + 1001, window: 0 })
    const buf = Buffer.alloc(1000)
    assert.equal(rig.tcp.recv(conn, buf, 0, 100, 0), 100)
    rig.expectNothing() // 100 bytes is below the SWS step (min(MSS, buffer/2) = 500)
    assert.equal(rig.tcp.recv(conn, buf, 0, 500, 0), 500)
    rig.expect({ flags: ".", ack: ISS_A + 1001, window: 600 })
})

test("keep-alive: probes after idle, abort after the count (RFC 1122 §4.2.3.6)", () => {
    const { rig, conn } = established()
    conn.keepAlive = true
    conn.keepIdleMs = 10000
    conn.keepIntervalMs = 1000
    conn.keepCount = 2
    rig.tcp.armKeepAlive(conn, 0)
    rig.at(10000).expect({ flags: ".", seq: ISS_B, ack: ISS_A + 1 })
    // the peer answers: the connection is alive, the idle time starts again
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1, flags: "." })
    rig.at(11000).expectNothing()
    rig.at(20000).expect({ flags: "." })
    rig.at(21000).expect({ flags: "." })
    rig.at(22000).expect({ flags: "R" })
    assert.equal(conn.error, TcpError.TimedOut)
    assert.equal(rig.tcp.counters.keepAliveProbes, 3)
    rig.tcp.close(conn, rig.now)
    rig.assertPoolEmpty()
})

test("TIME-WAIT accepts a new SYN with a higher sequence number (RFC 6191 / RFC 1122 §4.2.2.13)", () => {
    const { rig, conn } = established()
    rig.tcp.close(conn, 0)
    rig.expect({ flags: "F." })
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 2, flags: "F." })
    rig.expect({ flags: "." })
    assert.equal(rig.state(conn), "TIME-WAIT")
    rig.tcp.isn = () => 5 // below the old connection's numbers
    rig.send({ seq: ISS_A + 100000, flags: "S", mss: 1460 })
    const synAck = rig.expect({ flags: "S.", ack: ISS_A + 100001 })
    assert.ok(synAck.seq - (ISS_B + 2) > 65535, "the new ISS is above the old sequence space")
    // an old SYN (lower sequence number) is not a new connection: ACK of the TIME-WAIT
    rig.send({ seq: ISS_A + 100001, ack: synAck.seq + 1, flags: "." })
    assert.equal(rig.tcp.inUseCount(), 1)
})

test("a retransmitted SYN in SYN-RECEIVED gets the SYN-ACK again", () => {
    const rig = new Rig()
    rig.tcp.isn = () => ISS_B
    rig.tcp.listen(80, 0)
    rig.send({ seq: ISS_A, flags: "S" })
    rig.expect({ flags: "S.", seq: ISS_B })
    rig.send({ seq: ISS_A, flags: "S" })
    rig.expect({ flags: "S.", seq: ISS_B, ack: ISS_A + 1 })
    assert.equal(rig.tcp.inUseCount(), 1)
})

test("an unanswered SYN-ACK gives up and frees the slot", () => {
    const rig = new Rig({ tcpSynRetries: 2 })
    rig.tcp.listen(80, 0)
    rig.send({ seq: ISS_A, flags: "S" })
    rig.recv()
    for (let i = 0; i < 5; i++) {
        const t = rig.stack.nextDeadline()
        if (t < 0) break
        rig.at(t)
    }
    assert.equal(rig.recv().length, 2)
    rig.assertPoolEmpty()
})

test("backlog full: SYN cookies; a valid cookie ACK becomes a connection, a forged one a RST", () => {
    const rig = new Rig({ tcpConnections: 4 })
    const l = rig.tcp.listen(80, 1)
    rig.send({ sport: 1, seq: 100, flags: "S" })
    rig.expect({ flags: "S." })
    assert.equal(rig.tcp.inUseCount(), 1)
    rig.send({ sport: 2, seq: 200, flags: "S", mss: 1460 })
    const cookie = rig.expect({ flags: "S.", ack: 201 })
    assert.equal(rig.tcp.inUseCount(), 1, "the cookie SYN-ACK holds no state")
    assert.equal(rig.tcp.counters.synCookiesSent, 1)
    // a forged ACK
    rig.send({ sport: 2, seq: 201, ack: cookie.seq + 2, flags: "." })
    rig.expect({ flags: "R" })
    // the backlog is still full: free it by accepting the first connection
    rig.send({ sport: 1, seq: 101, ack: rig.tcp.pool[0].iss + 1, flags: "." })
    const first = rig.tcp.accept(l)
    assert.ok(first)
    rig.send({ sport: 2, seq: 201, ack: cookie.seq + 1, flags: "P.", data: "GET /" })
    const second = rig.tcp.accept(l)
    assert.ok(second, "the cookie made a connection")
    assert.equal(second.sndMss, 1460)
    assert.equal(read(rig, second), "GET /", "with the data the ACK carried")
    assert.equal(rig.tcp.counters.synCookiesAccepted, 1)
})

test("closing with unread data resets the connection (RFC 2525 §2.17)", () => {
    const { rig, conn } = established()
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1, flags: ".", data: "unread" })
    rig.tcp.close(conn, 0)
    const segs = rig.recv()
    assert.equal(segs[segs.length - 1].flags, "R")
    rig.assertPoolEmpty()
})

test("handles cannot reach a reused slot: the generation changes", () => {
    const { rig, conn } = established()
    const gen = conn.generation
    rig.tcp.abort(conn, 0)
    rig.tcp.close(conn, 0)
    assert.notEqual(conn.generation, gen)
})

test("Nagle holds small segments while data is in flight; off, they go at once", () => {
    const { rig, conn } = established()
    write(rig, conn, "a")
    rig.expect({ data: "a" })
    write(rig, conn, "b")
    write(rig, conn, "c")
    rig.expectNothing()
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 2, flags: "." })
    rig.expect({ seq: ISS_B + 2, data: "bc" })
    conn.nagle = false
    write(rig, conn, "d")
    rig.expect({ data: "d" })
    void PEER_PORT
})

/** ESTABLISHED with a peer whose window never exceeds `window` (smaller than its MSS of 1460). */
function smallWindowPeer(window: number, limits: object): { rig: Rig; conn: any } {
    const rig = new Rig({ tcpSendBuffer: 4096, ...limits })
    rig.tcp.isn = () => ISS_B
    const l = rig.tcp.listen(80, 0)
    rig.send({ seq: ISS_A, flags: "S", mss: 1460, window })
    rig.expect({ flags: "S.", seq: ISS_B, ack: ISS_A + 1 })
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1, flags: ".", window })
    const conn = rig.tcp.accept(l)
    assert.equal(conn.state, TcpState.Established)
    return { rig, conn }
}

test("a peer window below one MSS: segments fill the window, also when resent after a timeout", () => {
    const { rig, conn } = smallWindowPeer(1024, {})
    assert.equal(write(rig, conn, Buffer.alloc(3000, 0x61)), 3000)
    // half the largest window the peer offered may go (RFC 1122 §4.2.3.4): all 1024 bytes, not an MSS
    assert.deepEqual(rig.recv().map((s) => s.data.length), [1024])
    // the segment is lost: go-back-N resends what the window holds, no more (DeviceScript's
    // Math.min takes two arguments: a third one, the window, was ignored on the device)
    rig.at(200)
    assert.deepEqual(rig.recv().map((s) => [s.seq, s.data.length]), [[ISS_B + 1, 1024]])
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1 + 1024, flags: ".", window: 1024 })
    assert.deepEqual(rig.recv().map((s) => [s.seq, s.data.length]), [[ISS_B + 1 + 1024, 1024]])
})

test("cork holds a partial segment until uncork, but a writer that fills the ring pushes it", () => {
    const { rig, conn } = smallWindowPeer(1024, { tcpSendBuffer: 1460 })
    rig.tcp.cork(conn)
    assert.equal(write(rig, conn, "head"), 4)
    rig.expectNothing()
    // the ring fills: the writer is about to wait for room, and with a window below one MSS
    // no full segment can ever form, so what is queued is pushed (as Linux does before it sleeps)
    assert.equal(write(rig, conn, Buffer.alloc(3000, 0x62)), 1456)
    assert.deepEqual(rig.recv().map((s) => s.data.length), [1024])
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1 + 1024, flags: ".", window: 1024 })
    assert.deepEqual(rig.recv().map((s) => s.data.length), [436], "the rest of what was pushed")
    // room again, still corked: new partial data waits for uncork
    assert.equal(write(rig, conn, "tail"), 4)
    rig.expectNothing()
    rig.tcp.uncork(conn, rig.now)
    rig.expect({ flags: "P.", data: "tail" })
})

test("limited transmit (RFC 3042): each of the first two duplicate ACKs sends one new segment beyond cwnd", () => {
    const { rig, conn } = established({ tcpSendBuffer: 8192 }, 100)
    write(rig, conn, Buffer.alloc(6000, 0x63))
    const first = rig.recv()
    const cwndSegments = first.length
    assert.ok(cwndSegments >= 4 && cwndSegments * 100 <= conn.cwnd, `the initial window's worth (${cwndSegments} segments)`)
    const next = ISS_B + 1 + cwndSegments * 100
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1, flags: "." })
    assert.deepEqual(rig.recv().map((s) => [s.seq, s.data.length]), [[next, 100]], "first duplicate: one new segment")
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1, flags: "." })
    assert.deepEqual(rig.recv().map((s) => [s.seq, s.data.length]), [[next + 100, 100]], "second duplicate: one more")
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1, flags: "." })
    assert.deepEqual(rig.recv()[0].seq, ISS_B + 1, "third duplicate: fast retransmit of the first segment")
    assert.equal(rig.tcp.counters.fastRetransmits, 1)
})
