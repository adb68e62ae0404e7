// The seeded chaos soak (issue 13): the demo device on the simulator, many
// clients at once for several virtual minutes over a link that loses,
// reorders and duplicates frames. Clients run keep-alive sessions of GETs and
// POSTs (Content-Length and chunked, some pipelined), Server-Sent Events and
// WebSocket sessions, and some abort mid-request or mid-response (resets).
// The server's pool (6) is smaller than the crowd (12, some idling before
// their requests), so the exhaustion policy takes connections back too.
//
// After every simulator event both stacks' invariants are checked. Every
// response that arrives complete must be byte-exact. At the end, with the
// clients stopped: no connection is stuck, both pools are back to zero, the
// HTTP server serves nothing, no task threw.
//
// A fixed seed in npm test; FUZZ_SEED=n for another, FUZZ_SCALE=k for k times
// as long.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import { parseIp, CLIENT_IP, SERVER_IP, Pair } from "../tcp/sim-helpers.js"
import { addStackHost } from "../../src/host/sim/stack-host.js"
import { startDemo } from "../../src/app/demo.js"
import { HttpServer } from "../../src/http/server.js"
import { SimSocketHost } from "../../src/host/sim/async.js"
import { Simulator } from "../../src/host/sim/network.js"
import { Net, TcpSocket, SocketError } from "../../src/socket/socket.js"
import { Stack } from "../../src/stack.js"
import { Xoshiro128 } from "../../src/random.js"
import { Reason } from "../../src/wire/reason.js"
import { TcpState, TCP_STATE_NAMES } from "../../src/tcp/state.js"
import { seqDiff, seqLeq } from "../../src/wire/seq.js"
import { fuzzOptions } from "../fuzz/options.js"
import { pattern } from "../http/rig.js"

const opts = fuzzOptions(1)
const SCALE = opts.numRuns
const DURATION_MS = 180_000 * SCALE
const CLIENTS = 12

// ---- invariants after every event ---------------------------------------------------

class Invariants {
    private readonly progress = new Map<string, { generation: number; rcvNxt: number; sndUna: number }>()
    events = 0

    constructor(private readonly stacks: [string, Stack][]) {}

    check(): void {
        this.events++
        for (const [name, stack] of this.stacks) {
            for (const c of stack.tcp.pool) {
                if (!c.inUse) continue
                const what = () => `${name} conn ${c.id} ${TCP_STATE_NAMES[c.state]} una ${c.sndUna} nxt ${c.sndNxt} max ${c.sndMax} send ${c.sendRing.length} recv ${c.recvRing.length}`
                assert.ok(c.state >= TcpState.Closed && c.state <= TcpState.TimeWait && c.state !== TcpState.Listen, "state: " + what())
                assert.ok(seqLeq(c.sndUna, c.sndNxt) && seqLeq(c.sndNxt, c.sndMax), "SND.UNA <= SND.NXT <= SND.MAX: " + what())
                assert.ok(c.sendRing.length <= c.sendRing.capacity && c.recvRing.length <= c.recvRing.capacity, "rings: " + what())
                assert.ok(seqDiff(c.sndMax, c.sndUna) <= c.sendRing.length + 2, "in flight beyond the send ring: " + what())
                if (c.state === TcpState.Closed) assert.ok(c.userOwned, "CLOSED, not held by the user, yet in use: " + what())
                const key = name + c.id
                const p = this.progress.get(key)
                if (p && p.generation === c.generation && c.state !== TcpState.SynSent && c.state !== TcpState.Closed) {
                    assert.ok(seqLeq(p.rcvNxt, c.rcvNxt) && seqLeq(p.sndUna, c.sndUna), "RCV.NXT or SND.UNA went back: " + what())
                }
                if (c.state !== TcpState.SynSent && c.state !== TcpState.Closed) this.progress.set(key, { generation: c.generation, rcvNxt: c.rcvNxt, sndUna: c.sndUna })
            }
            assert.equal(stack.counters.drops[Reason.InternalError], 0, name + ": an InternalError drop")
        }
    }
}

/** runAsync with the invariants checked after every simulator event (and the promise turns it made ready). */
async function runChecked(sim: Simulator, inv: Invariants, done: () => boolean, maxMs: number): Promise<boolean> {
    const limit = sim.now + maxMs
    for (;;) {
        await new Promise<void>((r) => setImmediate(r))
        inv.check()
        if (done()) return true
        sim.kick()
        if (!sim.clock.step(limit)) {
            await new Promise<void>((r) => setImmediate(r))
            inv.check()
            if (done()) return true
            sim.clock.advanceTo(limit)
            return done()
        }
    }
}

// ---- a client's view of the byte stream --------------------------------------------

class Stream {
    private buf = Buffer.alloc(0)
    private readonly chunk = Buffer.alloc(8192)
    constructor(readonly sock: TcpSocket) {}

    /** More bytes; false at the end of the stream. */
    private async fill(): Promise<boolean> {
        const n = await this.sock.read(this.chunk, 0, this.chunk.length, 60000)
        if (n === 0) return false
        this.buf = Buffer.concat([this.buf, this.chunk.subarray(0, n)])
        return true
    }

    async until(text: string): Promise<Buffer> {
        let i: number
        while ((i = this.buf.indexOf(text)) < 0) if (!(await this.fill())) return null
        const out = this.buf.subarray(0, i)
        this.buf = this.buf.subarray(i + text.length)
        return out
    }

    async take(n: number): Promise<Buffer> {
        while (this.buf.length < n) if (!(await this.fill())) return null
        const out = this.buf.subarray(0, n)
        this.buf = this.buf.subarray(n)
        return out
    }

    async end(): Promise<boolean> {
        return this.buf.length === 0 && !(await this.fill())
    }

    /** One response: status, fields, body (Content-Length or chunked); null if the stream ended first. */
    async response(): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
        const head = await this.until("\r\n\r\n")
        if (!head) return null
        const lines = head.toString("latin1").split("\r\n")
        const m = /^HTTP\/1\.1 (\d{3}) [^\r\n]*$/.exec(lines[0])
        assert.ok(m, "status line " + JSON.stringify(lines[0]))
        const headers: Record<string, string> = {}
        for (const l of lines.slice(1)) {
            const c = l.indexOf(":")
            assert.ok(c > 0, "field " + JSON.stringify(l))
            headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim()
        }
        let body: Buffer
        if (headers["transfer-encoding"] === "chunked") {
            const parts: Buffer[] = []
            for (;;) {
                const line = await this.until("\r\n")
                if (!line) return null
                const size = parseInt(line.toString("latin1"), 16)
                const data = await this.take(size + 2)
                if (!data) return null
                assert.equal(data.toString("latin1", size), "\r\n")
                if (size === 0) break
                parts.push(data.subarray(0, size))
            }
            body = Buffer.concat(parts)
        } else {
            body = await this.take(Number(headers["content-length"] ?? "0"))
            if (!body) return null
        }
        return { status: Number(m[1]), headers, body }
    }
}

// ---- the clients ---------------------------------------------------------------------

class Tally {
    complete = 0
    failed = 0
    aborted = 0
    idle = 0
    sse = 0
    ws = 0
    bytes = 0
    readonly hash = createHash("sha256")
}

interface Exchange {
    request: Buffer
    status: number
    body: Buffer
}

function bodyOf(rng: Xoshiro128, n: number): Buffer {
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i++) b[i] = rng.nextU32() & 0xff
    return b
}

function chunked(rng: Xoshiro128, body: Buffer): Buffer {
    const parts: Buffer[] = []
    for (let at = 0; at < body.length; ) {
        const k = Math.min(body.length - at, 1 + (rng.nextU32() % 3000))
        const ext = rng.nextU32() % 4 === 0 ? ';x="y"' : ""
        parts.push(Buffer.from(k.toString(16) + ext + "\r\n"), body.subarray(at, at + k), Buffer.from("\r\n"))
        at += k
    }
    parts.push(Buffer.from("0\r\n\r\n"))
    return Buffer.concat(parts)
}

/** A random request the demo answers 200 to, and what that 200 must carry. */
function randomExchange(rng: Xoshiro128, close: boolean): Exchange {
    const conn = close ? "Connection: close\r\n" : ""
    const kind = rng.nextU32() % 3
    if (kind === 0) {
        const n = rng.nextU32() % 20000
        return { request: Buffer.from(`GET /bytes/${n} HTTP/1.1\r\nHost: d\r\n${conn}\r\n`), status: 200, body: pattern(n) }
    }
    const body = bodyOf(rng, rng.nextU32() % 6000)
    if (kind === 1) return { request: Buffer.concat([Buffer.from(`POST /echo HTTP/1.1\r\nHost: d\r\nContent-Length: ${body.length}\r\n${conn}\r\n`), body]), status: 200, body }
    return { request: Buffer.concat([Buffer.from(`POST /echo HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n${conn}\r\n`), chunked(rng, body)]), status: 200, body }
}

/** A keep-alive session: 1-4 exchanges, some pipelined in pairs; every complete answer byte-exact. */
async function session(s: TcpSocket, rng: Xoshiro128, t: Tally): Promise<void> {
    const st = new Stream(s)
    const count = 1 + (rng.nextU32() % 4)
    for (let i = 0; i < count; ) {
        const pipelined = i + 1 < count && rng.nextU32() % 3 === 0 ? 2 : 1
        const xs: Exchange[] = []
        for (let k = 0; k < pipelined; k++) xs.push(randomExchange(rng, i + k === count - 1))
        await s.write(Buffer.concat(xs.map((x) => x.request)))
        for (const x of xs) {
            const r = await st.response()
            if (!r) throw new SocketError("ECONNRESET", "closed before the answer")
            assert.equal(r.status, x.status, "status for " + JSON.stringify(x.request.toString("latin1", 0, 60)))
            assert.ok(r.body.equals(x.body), "body of " + JSON.stringify(x.request.toString("latin1", 0, 60)))
            t.complete++
            t.bytes += r.body.length
            t.hash.update(r.body)
        }
        i += pipelined
    }
    assert.ok(await st.end(), "the server closes after Connection: close")
}

/** Server-Sent Events: the first three ticks, in order, then the client goes away. */
async function events(s: TcpSocket, t: Tally): Promise<void> {
    const st = new Stream(s)
    await s.write(Buffer.from("GET /events HTTP/1.1\r\nHost: d\r\n\r\n"))
    const head = await st.until("\r\n\r\n")
    if (!head) throw new SocketError("ECONNRESET", "closed")
    assert.match(head.toString("latin1"), /^HTTP\/1\.1 200 OK\r\n[^]*content-type: text\/event-stream/i)
    // the stream is chunked (HTTP/1.1 without a length): undo the chunks, then split the events
    const chunkedStream = /transfer-encoding: chunked/i.test(head.toString("latin1"))
    let text = ""
    let expect = 1
    while (expect <= 3) {
        let piece: Buffer
        if (chunkedStream) {
            const line = await st.until("\r\n")
            const data = line && (await st.take(parseInt(line.toString("latin1"), 16) + 2))
            piece = data && data.subarray(0, data.length - 2)
        } else piece = await st.take(1)
        if (!piece) throw new SocketError("ECONNRESET", "closed")
        text += piece.toString("latin1")
        let end: number
        while (expect <= 3 && (end = text.indexOf("\n\n")) >= 0) {
            const ev = text.slice(0, end)
            text = text.slice(end + 2)
            if (ev.startsWith("retry:") || ev.startsWith(":")) continue
            assert.equal(ev, `event: tick\nid: ${expect}\ndata: ${expect}`)
            expect++
        }
    }
    t.sse++
}

/** A WebSocket echo: 1-3 masked messages come back exactly; then a close handshake or a reset. */
async function webSocket(s: TcpSocket, rng: Xoshiro128, t: Tally): Promise<void> {
    const st = new Stream(s)
    await s.write(Buffer.from("GET /ws HTTP/1.1\r\nHost: d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
    const head = await st.until("\r\n\r\n")
    if (!head) throw new SocketError("ECONNRESET", "closed")
    assert.match(head.toString("latin1"), /^HTTP\/1\.1 101 .*\r\n[^]*Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i)
    const frame = (opcode: number, payload: Buffer) => {
        const key = bodyOf(rng, 4)
        const len = payload.length
        const h = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len]) : Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 255])
        const masked = Buffer.from(payload.map((b, i) => b ^ key[i & 3]))
        return Buffer.concat([h, key, masked])
    }
    const messages = 1 + (rng.nextU32() % 3)
    for (let i = 0; i < messages; i++) {
        const payload = bodyOf(rng, rng.nextU32() % 1000)
        await s.write(frame(2, payload))
        const h = await st.take(2)
        if (!h) throw new SocketError("ECONNRESET", "closed")
        assert.equal(h[0], 0x82)
        let len = h[1]
        if (len === 126) {
            const ext = await st.take(2)
            if (!ext) throw new SocketError("ECONNRESET", "closed")
            len = ext.readUInt16BE(0)
        }
        const got = await st.take(len)
        if (!got) throw new SocketError("ECONNRESET", "closed")
        assert.ok(got.equals(payload), "WebSocket echo")
    }
    if (rng.nextU32() % 2) {
        await s.write(frame(8, Buffer.from([0x03, 0xe8])))
        const h = await st.take(4)
        if (h) assert.deepEqual([...h], [0x88, 2, 0x03, 0xe8])
    }
    t.ws++
}

/** The two stacks: the server with a pool of 6, the clients' stack big enough for the crowd. */
function chaosPair(seed: number): Pair {
    const sim = new Simulator({ seed })
    const limits = { tcpSendBuffer: 4096, tcpRecvBuffer: 4096, tcpMslMs: 1000 }
    const c = addStackHost(sim, "client", { ip: CLIENT_IP, mac: "02:00:00:00:00:01", limits: { ...limits, tcpConnections: 2 * CLIENTS }, seed: seed * 2 + 1 })
    const s = addStackHost(sim, "server", { ip: SERVER_IP, mac: "02:00:00:00:00:02", limits: { ...limits, tcpConnections: 6 }, seed: seed * 2 + 2 })
    sim.setImpairments("client", { loss: 0.02, duplicate: 0.02, reorder: 0.03, delayMs: 1, jitterMs: 1, seed: seed * 31 + 7 })
    const host = new SimSocketHost(sim)
    c.endpoint.start(0)
    s.endpoint.start(0)
    return { sim, client: c.endpoint, server: s.endpoint, clientNet: new Net(c.endpoint, host), serverNet: new Net(s.endpoint, host), logs: [] }
}

/** What each client is doing, for a failure's message. */
const doing: string[] = []

async function client(p: Pair, seed: number, until: number, t: Tally, index: number): Promise<void> {
    const rng = new Xoshiro128(seed)
    const host = p.clientNet.host
    while (host.now() < until) {
        let s: TcpSocket = null
        const r = rng.nextU32() % 100
        doing[index] = "kind " + r + " since " + host.now()
        try {
            s = await p.clientNet.connect(parseIp(SERVER_IP), 80, 10000)
            if (r < 40) await session(s, rng, t)
            else if (r < 50) await events(s, t)
            else if (r < 60) await webSocket(s, rng, t)
            else if (r < 70) {
                // idle for a while first: under pressure the server may take the slot back (a reset)
                await host.waitFor(host.newSignal(), 500 + (rng.nextU32() % 4000))
                t.idle++
                await session(s, rng, t)
            } else if (r < 82) {
                // abort mid-request: part of a head or of a body, then a reset
                const x = randomExchange(rng, false).request
                await s.write(x, 0, 1 + (rng.nextU32() % (x.length - 1)))
                await host.waitFor(host.newSignal(), 1 + (rng.nextU32() % 300))
                t.aborted++
            } else {
                // abort mid-response
                await s.write(Buffer.from("GET /bytes/60000 HTTP/1.1\r\nHost: d\r\n\r\n"))
                const buf = Buffer.alloc(1 + (rng.nextU32() % 20000))
                let got = 0
                while (got < buf.length) {
                    const n = await s.read(buf, got, buf.length - got, 10000)
                    if (n === 0) break
                    got += n
                }
                t.aborted++
            }
        } catch (e) {
            // a reset (our own aborts race the server; a pool full reclaims an idle connection), a timeout under loss
            if (!(e instanceof SocketError)) throw e
            t.failed++
        }
        doing[index] = "done " + host.now()
        if (s) {
            if (rng.nextU32() % 2) s.abort()
            else s.close()
        }
        await host.waitFor(host.newSignal(), 1 + (rng.nextU32() % 2000))
    }
}

test("chaos: many clients, loss, reordering, duplication, resets, pipelining, chunked, SSE and WebSocket; invariants after every event; pools back to zero", async (t) => {
    const seed = opts.seed
    const p = chaosPair(seed)
    const server: HttpServer = startDemo(p.serverNet, p.server, { eventIntervalMs: 200, http: { bodyTimeoutMs: 5000 } })
    const inv = new Invariants([
        ["client", p.client],
        ["server", p.server],
    ])
    const tally = new Tally()
    const until = p.sim.now + DURATION_MS
    let running = CLIENTS
    const failures: unknown[] = []
    for (let i = 0; i < CLIENTS; i++) {
        client(p, seed * 1000 + i, until, tally, i)
            .catch((e) => failures.push(e))
            .finally(() => running--)
    }
    await runChecked(p.sim, inv, () => running === 0 || failures.length > 0, DURATION_MS + 600_000)
    if (failures.length) throw failures[0]
    assert.equal(running, 0, "clients still running: " + JSON.stringify(doing) + " at " + p.sim.now + " server " + JSON.stringify(p.server.tcp.countByState()) + " client " + JSON.stringify(p.client.tcp.countByState()))
    // quiet: lingering closes, TIME-WAIT and the SSE loop's next tick end
    await runChecked(p.sim, inv, () => p.server.tcp.inUseCount() === 0 && p.client.tcp.inUseCount() === 0 && server.stats.connectionsActive === 0, 120_000)
    const summary =
        `seed ${seed}: ${inv.events} events checked, ${tally.complete} complete responses (${tally.bytes} bytes, all byte-exact), ` +
        `${tally.sse} SSE and ${tally.ws} WebSocket sessions, ${tally.idle} idle first, ${tally.aborted} aborted on purpose, ${tally.failed} failed under them; ` +
        `server: ${JSON.stringify({ requests: server.stats.requests, badBodies: server.stats.badBodies, aborted: server.stats.aborted, timeouts: server.stats.timeouts })}, ` +
        `tcp ${JSON.stringify({ idleReclaimed: p.server.tcp.counters.idleReclaimed, cookies: p.server.tcp.counters.synCookiesSent, retransmits: p.server.tcp.counters.retransmits })}; ` +
        `links ${JSON.stringify(p.sim.linkStats("client"))}`
    t.diagnostic(summary)
    console.log("chaos: " + summary)
    const stuck = p.server.tcp.pool.filter((c) => c.inUse).map((c) => ({ state: TCP_STATE_NAMES[c.state], user: c.userOwned, listener: c.listener, queued: c.queued, send: c.sendRing.length, recv: c.recvRing.length, fin: c.finReceived, lastHeard: c.lastHeard, rtx: c.rtxAt, keep: c.keepAt, persist: c.persistAt, una: c.sndUna, nxt: c.sndNxt, wnd: c.sndWnd, reclaimAt: p.server.tcp.reclaimAt[c.id], port: c.remotePort }))
    assert.equal(p.server.tcp.inUseCount(), 0, "server connections stuck: " + JSON.stringify(stuck) + " now " + p.sim.now + " http active " + server.stats.connectionsActive)
    assert.equal(p.client.tcp.inUseCount(), 0, "client connections stuck: " + JSON.stringify(p.client.tcp.countByState()))
    assert.equal(server.stats.connectionsActive, 0, "the HTTP server still serves")
    assert.deepEqual((p.serverNet.host as SimSocketHost).errors, [], "a server task threw")
    assert.equal(server.stats.handlerErrors, 0)
    // the mix happened, and failures stay the exception
    assert.ok(tally.complete > 200 && tally.sse > 10 && tally.ws > 10 && tally.aborted > 20 && tally.idle > 20, summary)
    assert.ok(tally.failed < (tally.complete + tally.sse + tally.ws) / 4, summary)
    // the crowd is bigger than the server's pool: the exhaustion policy took slots back
    assert.ok(p.server.tcp.counters.idleReclaimed > 0, summary)
})
