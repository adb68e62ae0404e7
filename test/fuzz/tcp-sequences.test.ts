// Property tests of the TCP engine with fast-check: random sequences of
// segments from scripted peers (sequence and acknowledgment numbers what B
// expects, near it, or anywhere; any combination of SYN/FIN/RST/PSH/ACK;
// payloads of 0..3000 bytes; any window), random time advances, and random
// user calls (send, recv, shutdown, close, abort, accept, connect), on the
// packet-level rig of test/tcp/rig.ts.
//
// After every step, on every connection in use:
//   SND.UNA <= SND.NXT <= SND.MAX (modulo 2^32), and what is in flight fits
//   in the send ring (plus SYN and FIN); both rings within their capacity; a
//   valid state; CLOSED only while the user still holds it; and
//   drops[InternalError] === 0. Every segment B sends parses with a valid
//   checksum. At the end the user closes everything, time runs 10 minutes
//   (timer by timer) and the pool must be empty.
//
// Runs are deterministic (seed 42). To explore other inputs:
//   FUZZ_SEED=random node scripts/run-tests.mjs test/fuzz     # fresh seed, printed on failure
//   FUZZ_SEED=1234 FUZZ_SCALE=10 node scripts/run-tests.mjs test/fuzz/tcp-sequences   # 10x the runs
import "../setup.js"
import { fuzzOptions } from "./options.js"
import { outOfRange } from "../strict-buffers.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import fc from "fast-check"
import { Limits } from "../../src/config.js"
import { Reason } from "../../src/wire/reason.js"
import { seqLeq, seqDiff } from "../../src/wire/seq.js"
import { EthernetHeader, ETHERTYPE_ARP, ETHERTYPE_IPV4, parseEthernet } from "../../src/wire/ethernet.js"
import { ArpPacket, ARP_REPLY, ARP_REQUEST, parseArp } from "../../src/wire/arp.js"
import { Ipv4Header, IP_PROTO_TCP, parseIpv4 } from "../../src/wire/ipv4.js"
import { TcpHeader, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, parseTcp } from "../../src/wire/tcp.js"
import { TcpConnection, OFF } from "../../src/tcp/connection.js"
import { TcpListener } from "../../src/tcp/tcp.js"
import { TcpState, TCP_STATE_NAMES } from "../../src/tcp/state.js"
import { A_IP, A_MAC, B_IP, B_MAC, arpFrame, ip } from "../helpers.js"
import { Rig, PEER_PORT, SegIn, ISS_A, ISS_B, established } from "../tcp/rig.js"

// ---- the peers ---------------------------------------------------------------------

/** A's ports: the established connection's, two more that open connections to B:80, and a server for B's connect(). */
const PEERS = [PEER_PORT, PEER_PORT + 1, PEER_PORT + 2, 8080]
const SERVER_PORT = 8080
const LISTEN_PORT = 80

/** What A last heard from B on one of its ports. */
interface Heard {
    bPort: number
    /** B's SEG.SEQ and the end of the segment (SEQ + data + SYN + FIN) */
    seq: number
    end: number
    /** B's SEG.ACK: what B expects next */
    ack: number
}

interface Handle {
    conn: TcpConnection
    generation: number
    /** true until the user calls close() */
    owned: boolean
    /** bytes the user wrote and read so far */
    written: number
    read: number
}

/**
 * The byte at sequence number s of either stream: A sends byte streamByte(s)
 * at s, and the user of B writes byte streamByte(ISS + 1 + k) as its k-th, so
 * any data segment of B at s must carry streamByte(s + i) and every byte the
 * user reads is checked against the peer's IRS: the rings, the reassembly
 * and retransmission deliver the right bytes at the right places.
 */
function streamByte(s: number): number {
    return Math.imul(s | 0, 0x9e3779b1) >>> 24
}

/** The numbers that only move forward while a slot holds one connection. */
interface Progress {
    generation: number
    rcvNxt: number
    sndUna: number
}

/** Everything one run plays with. */
class World {
    readonly rig: Rig
    readonly listener: TcpListener
    readonly handles: Handle[] = []
    readonly heard = new Map<number, Heard>()
    readonly scratch = Buffer.alloc(4096)
    readonly tx = Buffer.alloc(3000)
    steps: string[] = []
    lastSeg: SegIn | null = null
    readonly progress: Progress[] = []

    constructor(rig: Rig, first: TcpConnection | null) {
        this.rig = rig
        this.listener = rig.tcp.listeners.find((l) => l.inUse && l.port === LISTEN_PORT) || null
        assert.ok(this.listener, "listener on 80")
        if (first) this.hold(first)
    }

    hold(c: TcpConnection): void {
        this.handles.push({ conn: c, generation: c.generation, owned: true, written: 0, read: 0 })
    }

    /** A handle the user may still use (owned, and the slot not reused). */
    live(h: Handle): boolean {
        return h.owned && h.conn.generation === h.generation
    }

    /** The connection that talks to A's port, if any. */
    connFor(peerPort: number): TcpConnection | null {
        for (const c of this.rig.tcp.pool) if (c.inUse && c.remotePort === peerPort && c.state !== TcpState.Closed) return c
        return null
    }

    /** Takes what B sent: answers ARP requests for A, checks and remembers TCP segments. */
    drain(): void {
        const eth = new EthernetHeader()
        const arp = new ArpPacket()
        const iph = new Ipv4Header()
        const t = new TcpHeader()
        for (let round = 0; round < 10; round++) {
            const frames = this.rig.driver.take()
            if (frames.length === 0) return
            for (const f of frames) {
                assert.equal(parseEthernet(f, 0, f.length, eth), Reason.Ok)
                if (eth.etherType === ETHERTYPE_ARP) {
                    assert.equal(parseArp(f, 14, f.length - 14, arp), Reason.Ok)
                    // A's ARP entry expired (5 min): A answers, and B sends what waited
                    if (arp.op === ARP_REQUEST && arp.tpa === ip(A_IP)) {
                        this.rig.stack.receive(arpFrame(ARP_REPLY, A_MAC, A_IP, B_MAC, B_IP, B_MAC), this.rig.now)
                    }
                    continue
                }
                assert.equal(eth.etherType, ETHERTYPE_IPV4)
                assert.equal(parseIpv4(f, 14, f.length - 14, iph), Reason.Ok, "B's IPv4 header")
                assert.equal(iph.protocol, IP_PROTO_TCP, "B sends only TCP here")
                const len = iph.totalLength - iph.headerLength
                assert.equal(parseTcp(f, 34, len, iph.src, iph.dst, t), Reason.Ok, "B's segment parses with a valid checksum")
                const dataLen = len - t.headerLength
                assert.ok(dataLen <= this.rig.stack.limits.mtu - 40, "segment within the MSS")
                assert.ok(t.window <= this.rig.stack.limits.tcpRecvBuffer, "window within the receive ring")
                for (let i = 0; i < dataLen; i++) {
                    if (f[34 + t.headerLength + i] !== streamByte(t.seq + i)) {
                        assert.fail("B sent the wrong byte at seq " + ((t.seq + i) >>> 0) + " (segment " + t.seq + " len " + dataLen + ") after " + this.steps.slice(-6).join(" | "))
                    }
                }
                if (t.flags & TCP_RST) continue
                const end = (t.seq + dataLen + (t.flags & TCP_SYN ? 1 : 0) + (t.flags & TCP_FIN ? 1 : 0)) >>> 0
                this.heard.set(t.dstPort, { bPort: t.srcPort, seq: t.seq, end, ack: t.ack })
            }
        }
    }

    /** The invariants that hold after every step. */
    check(): void {
        const tcp = this.rig.tcp
        let inUse = 0
        for (const c of tcp.pool) {
            if (!c.inUse) continue
            inUse++
            const what = () => "conn " + c.id + " " + TCP_STATE_NAMES[c.state] + " una " + c.sndUna + " nxt " + c.sndNxt + " max " + c.sndMax +
                " send " + c.sendRing.length + " recv " + c.recvRing.length + " after " + this.steps.slice(-6).join(" | ")
            assert.ok(Number.isInteger(c.state) && c.state >= TcpState.Closed && c.state <= TcpState.TimeWait && c.state !== TcpState.Listen, "state: " + what())
            assert.ok(seqLeq(c.sndUna, c.sndNxt), "SND.UNA <= SND.NXT: " + what())
            assert.ok(seqLeq(c.sndNxt, c.sndMax), "SND.NXT <= SND.MAX: " + what())
            assert.ok(c.sendRing.length >= 0 && c.sendRing.length <= c.sendRing.capacity, "send ring: " + what())
            assert.ok(c.recvRing.length >= 0 && c.recvRing.length <= c.recvRing.capacity, "receive ring: " + what())
            assert.ok(seqDiff(c.sndMax, c.sndUna) <= c.sendRing.length + 2, "in flight beyond the send ring (+SYN +FIN): " + what())
            if (c.state === TcpState.Closed) assert.ok(c.userOwned, "CLOSED and not held by the user, yet in use: " + what())
            const p = this.progress[c.id]
            if (p && p.generation === c.generation && c.state !== TcpState.SynSent && c.state !== TcpState.Closed) {
                assert.ok(seqLeq(p.rcvNxt, c.rcvNxt), "RCV.NXT went back from " + p.rcvNxt + ": " + what())
                assert.ok(seqLeq(p.sndUna, c.sndUna), "SND.UNA went back from " + p.sndUna + ": " + what())
            }
            if (c.state !== TcpState.SynSent && c.state !== TcpState.Closed) this.progress[c.id] = { generation: c.generation, rcvNxt: c.rcvNxt, sndUna: c.sndUna }
        }
        assert.ok(inUse <= tcp.pool.length)
        if (outOfRange.length > 0) assert.fail("out-of-range buffer access: " + outOfRange.slice(0, 4).join(", ") + " after " + this.steps.slice(-6).join(" | "))
        assert.equal(this.rig.stack.counters.drops[Reason.InternalError], 0, "internal error: " + this.rig.logs.filter((l) => l.includes("internal")).join("; "))
    }
}

// ---- steps -----------------------------------------------------------------------------

interface SegStep {
    kind: "seg"
    peer: number
    seqMode: number // 0 expected, 1 near, 2 anywhere
    seqDelta: number
    seqAny: number
    ackMode: number // 0 expected (B's SND.NXT), 1 SND.UNA, 2 SND.MAX, 3 near, 4 anywhere
    ackDelta: number
    ackAny: number
    flags: number
    len: number
    window: number
    mss: number
}

interface TimeStep {
    kind: "time"
    dt: number
}

interface UserStep {
    kind: "user"
    op: "send" | "recv" | "shutdown" | "close" | "abort" | "accept" | "connect" | "tune"
    pick: number
    n: number
}

/** The previous segment again, exactly: duplicate ACKs, retransmitted FINs and SYNs. */
interface AgainStep {
    kind: "again"
    times: number
}

type Step = SegStep | TimeStep | UserStep | AgainStep

interface Weights {
    /** weight of each peer port in PEERS */
    peers: number[]
    seg: number
    time: number
    user: number
    /** extra weight of a bare SYN */
    syn: number
}

function stepArb(w: Weights): fc.Arbitrary<Step> {
    const flagBits = fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(TCP_ACK, TCP_ACK | TCP_PSH, TCP_ACK | TCP_FIN, TCP_ACK | TCP_PSH | TCP_FIN, TCP_RST, TCP_RST | TCP_ACK, TCP_SYN, TCP_SYN | TCP_ACK) },
        { weight: w.syn, arbitrary: fc.constant(TCP_SYN) },
        // any combination of the five, SYN+FIN and SYN+RST included
        { weight: 2, arbitrary: fc.integer({ min: 0, max: 31 }) },
    )
    const peerArb = fc.oneof(...w.peers.map((weight, i) => ({ weight, arbitrary: fc.constant(i) })).filter((x) => x.weight > 0))
    const seg: fc.Arbitrary<Step> = fc.record({
        kind: fc.constant("seg" as const),
        peer: peerArb,
        seqMode: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constant(2) }),
        seqDelta: fc.integer({ min: -3000, max: 3000 }),
        seqAny: fc.integer({ min: 0, max: 0xffffffff }),
        ackMode: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constant(2) }, { weight: 2, arbitrary: fc.constant(3) }, { weight: 1, arbitrary: fc.constant(4) }),
        ackDelta: fc.integer({ min: -3000, max: 3000 }),
        ackAny: fc.integer({ min: 0, max: 0xffffffff }),
        flags: flagBits,
        len: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 4, arbitrary: fc.integer({ min: 1, max: 600 }) }, { weight: 1, arbitrary: fc.integer({ min: 600, max: 3000 }) }),
        window: fc.oneof({ weight: 4, arbitrary: fc.constant(65535) }, { weight: 2, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 1500 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 65535 }) }),
        mss: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 2000 }) }),
    })
    const time: fc.Arbitrary<Step> = fc.record({
        kind: fc.constant("time" as const),
        dt: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 250 }) }, { weight: 2, arbitrary: fc.integer({ min: 250, max: 5000 }) }, { weight: 1, arbitrary: fc.integer({ min: 5000, max: 130000 }) }),
    })
    const user: fc.Arbitrary<Step> = fc.record({
        kind: fc.constant("user" as const),
        op: fc.oneof(
            { weight: 4, arbitrary: fc.constantFrom("send" as const, "recv" as const) },
            { weight: 1, arbitrary: fc.constantFrom("shutdown" as const, "close" as const, "abort" as const, "accept" as const, "connect" as const, "tune" as const) },
        ),
        pick: fc.nat(),
        n: fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 200, max: 3000 })),
    })
    const again: fc.Arbitrary<Step> = fc.record({ kind: fc.constant("again" as const), times: fc.integer({ min: 1, max: 4 }) })
    return fc.oneof({ weight: w.seg, arbitrary: seg }, { weight: w.time, arbitrary: time }, { weight: w.user, arbitrary: user }, { weight: 1, arbitrary: again })
}

function flagText(f: number): string {
    let s = ""
    if (f & TCP_SYN) s += "S"
    if (f & TCP_FIN) s += "F"
    if (f & TCP_RST) s += "R"
    if (f & TCP_PSH) s += "P"
    if (f & TCP_ACK) s += "."
    return s
}

function playSeg(w: World, s: SegStep): string {
    const peerPort = PEERS[s.peer]
    const c = w.connFor(peerPort)
    const heard = w.heard.get(peerPort)
    // B's port: the connection's, else what B last used with this peer, else the listener
    let bPort = c ? c.localPort : heard ? heard.bPort : LISTEN_PORT
    if (peerPort === SERVER_PORT && !c && !heard) bPort = 49152
    // what B expects next, as B's own variables say it or as A last heard it
    const expectSeq = c ? c.rcvNxt : heard ? heard.ack : s.seqAny
    const bNxt = c ? c.sndNxt : heard ? heard.end : s.ackAny
    const seq = s.seqMode === 0 ? expectSeq : s.seqMode === 1 ? expectSeq + s.seqDelta : s.seqAny
    let ack: number
    if (s.ackMode === 0) ack = bNxt
    else if (s.ackMode === 1) ack = c ? c.sndUna : bNxt
    else if (s.ackMode === 2) ack = c ? c.sndMax : bNxt
    else if (s.ackMode === 3) ack = bNxt + s.ackDelta
    else ack = s.ackAny
    const flags = flagText(s.flags)
    let data: Buffer = undefined
    if (s.len > 0) {
        data = Buffer.alloc(s.len)
        for (let i = 0; i < s.len; i++) data[i] = streamByte(seq + i)
    }
    w.lastSeg = { sport: peerPort, dport: bPort, seq: seq >>> 0, ack: ack >>> 0, flags, window: s.window, mss: s.mss, data }
    w.rig.send(w.lastSeg)
    return peerPort + ">" + bPort + " " + (flags || "none") + " " + (seq >>> 0) + ":" + (ack >>> 0) + " len " + s.len + " win " + s.window
}

function playUser(w: World, s: UserStep): string {
    const tcp = w.rig.tcp
    const now = w.rig.now
    if (s.op === "accept") {
        const c = tcp.accept(w.listener)
        if (c) w.hold(c)
        return "accept " + (c ? c.id : "none")
    }
    if (s.op === "connect") {
        const c = tcp.connect(ip(A_IP), SERVER_PORT, now)
        if (c) w.hold(c)
        return "connect " + (c ? c.id + " from " + c.localPort : "none")
    }
    const live = w.handles.filter((h) => w.live(h))
    if (live.length === 0) return s.op + " (no connection)"
    const h = live[s.pick % live.length]
    const c = h.conn
    const name = s.op + " conn " + c.id + " " + TCP_STATE_NAMES[c.state]
    switch (s.op) {
        case "send": {
            const base = c.iss + 1 + h.written
            for (let i = 0; i < s.n; i++) w.tx[i] = streamByte(base + i)
            const n = tcp.send(c, w.tx, 0, s.n, now)
            assert.ok(n >= 0 && n <= s.n)
            h.written += n
            return name + " " + s.n + " -> " + n
        }
        case "recv": {
            const n = tcp.recv(c, w.scratch, 0, Math.min(s.n, w.scratch.length), now)
            assert.ok(n >= 0 && n <= s.n)
            const base = c.irs + 1 + h.read
            for (let i = 0; i < n; i++) {
                if (w.scratch[i] !== streamByte(base + i)) assert.fail("read the wrong byte at stream offset " + (h.read + i) + " (IRS " + c.irs + ") after " + w.steps.slice(-6).join(" | "))
            }
            h.read += n
            return name + " " + s.n + " -> " + n
        }
        case "shutdown":
            tcp.shutdown(c, now)
            return name
        case "close":
            tcp.close(c, now)
            h.owned = false
            return name
        case "abort":
            tcp.abort(c, now)
            return name
        case "tune": {
            // what the socket layer's setNoDelay / setKeepAlive / setIdleTimeout do
            const k = s.n % 4
            if (k === 0) c.nagle = !c.nagle
            else if (k === 1) {
                c.keepAlive = !c.keepAlive
                c.keepIdleMs = 1000 + (s.n % 20) * 1000
                c.keepIntervalMs = 500 + (s.n % 7) * 500
                c.keepCount = 1 + (s.n % 3)
            } else c.idleTimeoutMs = k === 2 ? 0 : 5000 + (s.n % 10) * 5000
            if (k !== 0) tcp.armKeepAlive(c, now)
            return name + " nagle " + c.nagle + " keepAlive " + c.keepAlive + " idle " + c.idleTimeoutMs
        }
    }
}

function play(w: World, s: Step): void {
    let line: string
    if (s.kind === "seg") line = playSeg(w, s)
    else if (s.kind === "again") {
        for (let i = 0; i < s.times && w.lastSeg; i++) {
            w.rig.send(w.lastSeg)
            w.drain()
        }
        line = "again x" + s.times
    } else if (s.kind === "time") {
        w.rig.at(w.rig.now + s.dt)
        line = "at " + w.rig.now
    } else line = playUser(w, s)
    w.steps.push(line)
    w.drain()
    w.check()
}

/** The user closes what it holds and stops listening; then 10 minutes pass, timer by timer. */
function finish(w: World): void {
    const tcp = w.rig.tcp
    for (const h of w.handles) {
        if (!w.live(h)) continue
        tcp.close(h.conn, w.rig.now)
        h.owned = false
        w.drain()
        w.check()
    }
    tcp.unlisten(w.listener, w.rig.now)
    w.drain()
    w.check()
    const end = w.rig.now + 10 * 60 * 1000
    for (let i = 0; i < 2000; i++) {
        const d = w.rig.stack.nextDeadline()
        if (d < 0 || d > end) break
        w.rig.at(Math.max(d, w.rig.now))
        w.drain()
        w.check()
    }
    w.rig.at(end)
    w.drain()
    w.check()
    const left = tcp.pool.filter((c) => c.inUse).map((c) => "conn " + c.id + " " + TCP_STATE_NAMES[c.state] + " send " + c.sendRing.length + " sndWnd " + c.sndWnd + " persistAt " + c.persistAt + " rtxAt " + c.rtxAt)
    assert.equal(left.length, 0, "10 minutes after the user closed everything: " + left.join("; ") + "; last steps: " + w.steps.slice(-8).join(" | "))
    w.rig.assertPoolEmpty()
}

function run(limits: Partial<Limits>, steps: Step[]): void {
    outOfRange.length = 0
    const { rig, conn } = established(limits)
    const w = new World(rig, conn)
    w.check()
    for (const s of steps) play(w, s)
    finish(w)
}

// ---- the properties ---------------------------------------------------------------------

const LIMITS: Partial<Limits> = {
    tcpConnections: 3,
    tcpSendBuffer: 1024,
    tcpRecvBuffer: 1024,
    tcpOutOfOrderRanges: 2,
    tcpBacklog: 2,
    // keeps "retransmissions run out" within the 10 minutes: 12 retries of at most 10 s
    tcpMaxRtoMs: 10000,
    tcpBurst: 4,
}

test("fuzz tcp: random segments, time and user calls on an established connection keep the invariants; everything is freed 10 minutes after close", () => {
    const steps = stepArb({ peers: [6, 1, 0, 1], seg: 6, time: 2, user: 3, syn: 0 })
    fc.assert(
        fc.property(fc.array(steps, { minLength: 1, maxLength: 60, size: "max" }), (s) => run(LIMITS, s)),
        fuzzOptions(2000),
    )
})

test("fuzz tcp: a second and third peer port open connections with random SYNs to a small listener (pool 2, backlog 1)", () => {
    const steps = stepArb({ peers: [2, 3, 3, 0], seg: 8, time: 2, user: 2, syn: 3 })
    const limits: Partial<Limits> = { ...LIMITS, tcpConnections: 2, tcpBacklog: 1 }
    fc.assert(
        fc.property(fc.array(steps, { minLength: 1, maxLength: 60, size: "max" }), (s) => run(limits, s)),
        fuzzOptions(2000),
    )
})

// ---- minimal reproductions of what the fuzzing found ------------------------------

test("a closed connection whose peer offered a zero window and went silent is freed in the end", () => {
    const { rig, conn } = established()
    // the peer's window closes, then the user writes a byte and closes: "x" and the FIN wait for the window
    rig.send({ seq: ISS_A + 1, ack: ISS_B + 1, flags: ".", window: 0 })
    rig.expectNothing()
    assert.equal(rig.tcp.send(conn, Buffer.from("x"), 0, 1, 0), 1)
    rig.tcp.close(conn, 0)
    assert.equal(TCP_STATE_NAMES[conn.state], "FIN-WAIT-1")
    // the peer never answers again; an hour passes, timer by timer
    for (let i = 0; i < 10000; i++) {
        const d = rig.stack.nextDeadline()
        if (d < 0 || d > 3600000) break
        rig.at(d)
        rig.driver.take()
    }
    assert.equal(conn.inUse, false, "still " + TCP_STATE_NAMES[conn.state] + " after " + rig.tcp.counters.zeroWindowProbes + " unanswered zero-window probes")
    rig.assertPoolEmpty()
})
