// WebSocket (RFC 6455) on the simulator: a small test-side client over a
// ds-tcpip TcpSocket talks to the demo's /ws echo route. Plus the SHA-1,
// base64 and UTF-8 helpers against known vectors and Node's implementations.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import { httpRig, run, connect, exchange, HttpRig } from "./rig.js"
import { runAsync } from "../tcp/sim-helpers.js"
import { TcpSocket } from "../../src/socket/socket.js"
import { Xoshiro128 } from "../../src/random.js"
import { sha1 } from "../../src/http/sha1.js"
import { base64Decode, base64Encode } from "../../src/http/base64.js"
import { Utf8Validator, acceptWebSocket, isUtf8, webSocketAccept } from "../../src/http/websocket.js"

const TEXT = 1
const BINARY = 2
const CLOSE = 8
const PING = 9
const PONG = 10

interface Frame {
    fin: boolean
    opcode: number
    payload: Buffer
}

interface FrameOptions {
    fin?: boolean
    masked?: boolean
    rsv?: number
    /** Force a length form: 7, 16 or 64 bits. */
    lengthBits?: number
}

/** A minimal RFC 6455 client: masked frames with seeded random keys; checks what the server sends. */
class WsClient {
    private pending = Buffer.alloc(0)
    private readonly chunk = Buffer.alloc(8192)

    constructor(
        readonly sock: TcpSocket,
        private readonly rng: Xoshiro128,
    ) {}

    /** Connects, upgrades on /ws (sending `early` in the same write as the request), checks the 101. */
    static async open(rig: HttpRig, seed: number, early?: Buffer, path = "/ws"): Promise<WsClient> {
        const sock = await connect(rig)
        const c = new WsClient(sock, new Xoshiro128(seed))
        const key = c.randomBytes(16).toString("base64")
        const req = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: device\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`)
        await sock.write(early ? Buffer.concat([req, early]) : req)
        let end = -1
        while ((end = c.pending.indexOf("\r\n\r\n")) < 0) assert.ok(await c.fill(), "connection closed during the handshake")
        const lines = c.pending.toString("latin1", 0, end).split("\r\n")
        c.pending = c.pending.subarray(end + 4)
        assert.equal(lines[0], "HTTP/1.1 101 Switching Protocols")
        const h: Record<string, string> = {}
        for (const l of lines.slice(1)) h[l.slice(0, l.indexOf(":")).toLowerCase()] = l.slice(l.indexOf(":") + 1).trim()
        assert.equal(h["upgrade"].toLowerCase(), "websocket")
        assert.equal(h["connection"].toLowerCase(), "upgrade")
        const expected = createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64")
        assert.equal(h["sec-websocket-accept"], expected)
        assert.equal(h["content-length"], undefined)
        assert.equal(h["transfer-encoding"], undefined)
        return c
    }

    randomBytes(n: number): Buffer {
        const b = Buffer.alloc(n)
        for (let i = 0; i < n; i++) b[i] = this.rng.nextU32() & 0xff
        return b
    }

    frame(opcode: number, payload: Buffer, o: FrameOptions = {}): Buffer {
        const masked = o.masked ?? true
        const n = payload.length
        const bits = o.lengthBits ?? (n < 126 ? 7 : n < 65536 ? 16 : 64)
        const head: number[] = [((o.fin ?? true) ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | opcode]
        const m = masked ? 0x80 : 0
        if (bits === 7) head.push(m | n)
        else if (bits === 16) head.push(m | 126, n >> 8, n & 0xff)
        else {
            const hi = Math.floor(n / 2 ** 32)
            const lo = n >>> 0
            head.push(m | 127, hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff)
        }
        if (!masked) return Buffer.concat([Buffer.from(head), payload])
        const key = this.randomBytes(4)
        const body = Buffer.alloc(n)
        for (let i = 0; i < n; i++) body[i] = payload[i] ^ key[i & 3]
        return Buffer.concat([Buffer.from(head), key, body])
    }

    async send(opcode: number, payload: Buffer, o?: FrameOptions): Promise<void> {
        await this.sock.write(this.frame(opcode, payload, o))
    }

    async close(code: number, reason = ""): Promise<void> {
        const p = Buffer.alloc(2 + Buffer.byteLength(reason))
        p.writeUInt16BE(code, 0)
        p.write(reason, 2)
        await this.send(CLOSE, p)
    }

    private async fill(): Promise<boolean> {
        const n = await this.sock.read(this.chunk, 0, this.chunk.length)
        if (n === 0) return false
        this.pending = Buffer.concat([this.pending, this.chunk.subarray(0, n)])
        return true
    }

    /** The next frame from the server (asserting it is unmasked and well-formed); null at the end of the stream. */
    async readFrame(): Promise<Frame | null> {
        for (;;) {
            const p = this.pending
            if (p.length >= 2) {
                assert.equal(p[0] & 0x70, 0, "reserved bits")
                assert.equal(p[1] & 0x80, 0, "server frames are not masked")
                const len7 = p[1] & 0x7f
                const hl = len7 === 126 ? 4 : len7 === 127 ? 10 : 2
                if (p.length >= hl) {
                    let n = len7
                    if (len7 === 126) n = p.readUInt16BE(2)
                    else if (len7 === 127) n = p.readUInt32BE(2) * 2 ** 32 + p.readUInt32BE(6)
                    // minimal length encoding (§5.2)
                    if (len7 === 126) assert.ok(n >= 126)
                    if (len7 === 127) assert.ok(n >= 65536)
                    if (p.length >= hl + n) {
                        const payload = Buffer.from(p.subarray(hl, hl + n))
                        this.pending = p.subarray(hl + n)
                        return { fin: (p[0] & 0x80) !== 0, opcode: p[0] & 0x0f, payload }
                    }
                }
            }
            if (!(await this.fill())) {
                assert.equal(this.pending.length, 0, "stream ended inside a frame")
                return null
            }
        }
    }

    /** The next data message, with the pongs that came before it. */
    async readMessage(): Promise<{ opcode: number; data: Buffer; pongs: Buffer[] }> {
        const pongs: Buffer[] = []
        const parts: Buffer[] = []
        let opcode = 0
        for (;;) {
            const f = await this.readFrame()
            assert.ok(f, "stream ended before a message")
            if (f.opcode === PONG) {
                pongs.push(f.payload)
                continue
            }
            assert.notEqual(f.opcode, CLOSE, "unexpected close " + (f.payload.length >= 2 ? f.payload.readUInt16BE(0) : ""))
            if (opcode === 0) opcode = f.opcode
            else assert.equal(f.opcode, 0)
            parts.push(f.payload)
            if (f.fin) return { opcode, data: Buffer.concat(parts), pongs }
        }
    }

    /** After our close: expects the server's close with this code, then the end of the stream. */
    async expectCloseAfterOwn(code: number): Promise<void> {
        const f = await this.readFrame()
        assert.ok(f && f.opcode === CLOSE, "a close frame")
        assert.equal(f.payload.readUInt16BE(0), code)
        assert.equal(await this.readFrame(), null, "TCP ends after the close")
        this.sock.close()
    }

    /** Expects the server's close with this code, answers it, and expects the TCP stream to end. */
    async expectClose(code: number): Promise<void> {
        let f: Frame | null
        // data frames already in flight may come first
        while ((f = await this.readFrame()) && f.opcode !== CLOSE) {}
        assert.ok(f, "no close frame before the end of the stream")
        assert.ok(f.payload.length >= 2, "close without a code")
        assert.equal(f.payload.readUInt16BE(0), code)
        try {
            await this.close(code)
        } catch (e) {
            // the server may already have closed
        }
        assert.equal(await this.readFrame(), null, "TCP ends after the close")
        assert.ok(this.sock.ended())
        this.sock.close()
    }
}

/** Exactly n bytes of valid UTF-8 with 1- to 4-byte characters. */
function utf8Text(n: number): Buffer {
    const unit = Buffer.from("héllo wörld € 𝄞 κόσμε ")
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i++) b[i] = unit[i % unit.length]
    // a character cut at the end becomes ASCII
    let i = n - 1
    while (i >= 0 && (b[i] & 0xc0) === 0x80) i--
    if (i >= 0 && b[i] >= 0xc0) b.fill(0x61, i)
    assert.ok(isUtf8(b, 0, n))
    return b
}

function binary(n: number, seed: number): Buffer {
    const r = new Xoshiro128(seed)
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i++) b[i] = r.nextU32() & 0xff
    return b
}

/** Splits into `count` pieces of uneven sizes. */
function split(b: Buffer, count: number): Buffer[] {
    const out: Buffer[] = []
    let at = 0
    for (let i = 0; i < count; i++) {
        const end = i === count - 1 ? b.length : Math.floor((b.length * (i + 1)) / count) + 7 * i
        out.push(b.subarray(at, end))
        at = end
    }
    return out
}

test("SHA-1: FIPS 180 / RFC 3174 vectors and Node's crypto", () => {
    const hex = (s: string | Buffer) => sha1(typeof s === "string" ? Buffer.from(s) : s).toString("hex")
    assert.equal(hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d")
    assert.equal(hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    assert.equal(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"), "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
    assert.equal(hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"), "a49b2446a02c645bf419f995b67091253a04a259")
    assert.equal(hex(Buffer.alloc(1000000, 0x61)), "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    // RFC 3174 §7.3 test 4: "01234567" repeated 80 times
    assert.equal(hex("01234567".repeat(80)), "dea356a2cddd90c7a7ecedc5ebb563934f460452")
    const data = binary(300, 5)
    for (let n = 0; n <= 300; n++) assert.equal(hex(data.subarray(0, n)), createHash("sha1").update(data.subarray(0, n)).digest("hex"), "length " + n)
    // an offset and length within a bigger buffer
    assert.equal(sha1(data, 10, 100).toString("hex"), createHash("sha1").update(data.subarray(10, 110)).digest("hex"))
})

test("base64: RFC 4648 vectors, Node's encoder, strict decoding", () => {
    const vectors: [string, string][] = [
        ["", ""],
        ["f", "Zg=="],
        ["fo", "Zm8="],
        ["foo", "Zm9v"],
        ["foob", "Zm9vYg=="],
        ["fooba", "Zm9vYmE="],
        ["foobar", "Zm9vYmFy"],
    ]
    for (const [plain, enc] of vectors) {
        assert.equal(base64Encode(Buffer.from(plain)), enc)
        assert.equal(base64Decode(enc).toString(), plain)
    }
    const data = binary(100, 9)
    for (let n = 0; n <= 100; n++) {
        const enc = data.subarray(0, n).toString("base64")
        assert.equal(base64Encode(data, 0, n), enc)
        assert.ok(base64Decode(enc).equals(data.subarray(0, n)))
    }
    for (const bad of ["Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zm8=Zm8=", "Zm 9", "Zm9v!A==", "====", "A"]) assert.equal(base64Decode(bad), null, bad)
    // RFC 6455 §1.3's example
    assert.equal(webSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
})

test("UTF-8 validation agrees with a strict decoder, fed whole and byte by byte", () => {
    const decoder = new TextDecoder("utf-8", { fatal: true })
    const strict = (b: Buffer) => {
        try {
            decoder.decode(b)
            return true
        } catch {
            return false
        }
    }
    const samples = [
        "", "abc", "héllo", "€", "𝄞", "κόσμε", "\u{10ffff}", "\ud7ff", "\ue000",
    ].map((s) => Buffer.from(s))
    const hex = ["c0af", "e080af", "eda080", "f4908080", "f5", "ff", "80", "c2", "e282", "f09d84", "c3a9c3", "f08f8080", "edbfbf", "efbfbf", "f48fbfbf", "e0a080", "cebae1bdb9cf83ceb5eda080656469746564"]
    for (const h of hex) samples.push(Buffer.from(h, "hex"))
    const r = new Xoshiro128(3)
    for (let i = 0; i < 2000; i++) {
        const n = 1 + (r.nextU32() % 6)
        const b = Buffer.alloc(n)
        for (let j = 0; j < n; j++) b[j] = [0x41, 0x80, 0xbf, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0x9f, 0xa0, 0x90, 0x8f][r.nextU32() % 14]
        samples.push(b)
    }
    for (const b of samples) {
        const want = strict(b)
        assert.equal(isUtf8(b, 0, b.length), want, b.toString("hex"))
        const v = new Utf8Validator()
        let ok = true
        for (let i = 0; i < b.length && ok; i++) ok = v.feed(b, i, 1)
        assert.equal(ok && v.complete(), want, "byte by byte " + b.toString("hex"))
    }
})

test("echo of text and binary messages, 0..70000 bytes, fragmented with pings between, over 5% loss", async () => {
    const rig = httpRig({ imp: { loss: 0.05, delayMs: 0.5 } })
    await run(rig, async () => {
        const c = await WsClient.open(rig, 1)
        let pingNo = 0
        for (const opcode of [TEXT, BINARY]) {
            for (const n of [0, 125, 126, 65535, 70000]) {
                const data = opcode === TEXT ? utf8Text(n) : binary(n, n)
                const pings: Buffer[] = []
                if (n === 70000) {
                    // four frames (a cut may fall inside a character), a ping after each of the first three
                    const parts = split(data, 4)
                    for (let i = 0; i < parts.length; i++) {
                        await c.send(i === 0 ? opcode : 0, parts[i], { fin: i === parts.length - 1 })
                        if (i < parts.length - 1) {
                            const p = Buffer.from("ping " + pingNo++)
                            pings.push(p)
                            await c.send(PING, p)
                        }
                    }
                } else await c.send(opcode, data)
                const m = await c.readMessage()
                assert.equal(m.opcode, opcode, "type of the " + n + "-byte message")
                assert.equal(m.data.length, n)
                assert.ok(m.data.equals(data), "echo of " + n + " bytes")
                assert.deepEqual(m.pongs.map((p) => p.toString()), pings.map((p) => p.toString()))
            }
        }
        // a 16-bit length used for a short message, and a 64-bit one for a 200-byte message (allowed on receipt)
        await c.send(BINARY, binary(10, 1), { lengthBits: 16 })
        assert.ok((await c.readMessage()).data.equals(binary(10, 1)))
        await c.send(BINARY, binary(200, 2), { lengthBits: 64 })
        assert.ok((await c.readMessage()).data.equals(binary(200, 2)))
        await c.close(1000)
        await c.expectCloseAfterOwn(1000)
    }, 600000)
    assert.ok(rig.p.client.tcp.counters.retransmits > 0 && rig.p.server.tcp.counters.retransmits > 0, "the link did lose segments")
})

test("ping/pong: pongs echo the ping's data; unsolicited pongs are ignored", async () => {
    const rig = httpRig()
    await run(rig, async () => {
        const c = await WsClient.open(rig, 2)
        for (const p of [Buffer.alloc(0), Buffer.from("hello"), binary(125, 7)]) {
            await c.send(PING, p)
            const f = await c.readFrame()
            assert.equal(f.opcode, PONG)
            assert.ok(f.fin)
            assert.ok(f.payload.equals(p))
        }
        await c.send(PONG, Buffer.from("unsolicited"))
        await c.send(TEXT, Buffer.from("still here"))
        const m = await c.readMessage()
        assert.equal(m.data.toString(), "still here")
        assert.equal(m.pongs.length, 0)
        await c.close(1000)
        await c.expectCloseAfterOwn(1000)
    })
})

test("frames sent with the handshake request are read from the connection buffer", async () => {
    const rig = httpRig()
    await run(rig, async () => {
        // the client sends its first frames before it sees the 101 (allowed by §4.1 once it is sure)
        const pre = new WsClient(null as unknown as TcpSocket, new Xoshiro128(99))
        const early = Buffer.concat([pre.frame(TEXT, Buffer.from("early")), pre.frame(PING, Buffer.from("p")), pre.frame(BINARY, binary(300, 3))])
        const c = await WsClient.open(rig, 3, early)
        const a = await c.readMessage()
        assert.equal(a.opcode, TEXT)
        assert.equal(a.data.toString(), "early")
        const b = await c.readMessage()
        assert.deepEqual(b.pongs.map((p) => p.toString()), ["p"])
        assert.equal(b.opcode, BINARY)
        assert.ok(b.data.equals(binary(300, 3)))
        await c.close(1000)
        await c.expectCloseAfterOwn(1000)
    })
})

test("close handshake: close 1000 gets close 1000 back, then the server ends TCP", async () => {
    const rig = httpRig()
    await run(rig, async () => {
        const c = await WsClient.open(rig, 4)
        await c.send(TEXT, Buffer.from("before"))
        assert.equal((await c.readMessage()).data.toString(), "before")
        await c.close(1000, "bye")
        const f = await c.readFrame()
        assert.equal(f.opcode, CLOSE)
        assert.equal(f.payload.length, 2)
        assert.equal(f.payload.readUInt16BE(0), 1000)
        assert.equal(await c.readFrame(), null)
        assert.ok(c.sock.ended())
        c.sock.close()
        // a close without a code is answered with an empty close
        const d = await WsClient.open(rig, 5)
        await d.send(CLOSE, Buffer.alloc(0))
        const g = await d.readFrame()
        assert.equal(g.opcode, CLOSE)
        assert.equal(g.payload.length, 0)
        assert.equal(await d.readFrame(), null)
        d.sock.close()
    })
    // the server closed first: its side goes through TIME-WAIT and frees the connections
    await runAsync(rig.p.sim, () => rig.p.server.tcp.inUseCount() === 0, 10000)
    assert.equal(rig.p.server.tcp.inUseCount(), 0)
    // the upgrades count as 1xx in /status
    assert.equal(rig.server.stats.responses1xx, 2)
    assert.equal(rig.server.stats.responses2xx, 0)
    assert.equal(rig.server.stats.responses4xx, 0)
})

test("the server closes: its close frame, then the peer's close or the timeout, then TCP ends", async () => {
    const rig = httpRig()
    const seen: { code: number; after: unknown; sent: boolean }[] = []
    rig.server.get("/ws-bye", async (req, res) => {
        // no host given: the one of the request's socket
        const ws = await acceptWebSocket(req, res, { closeTimeoutMs: 1000 })
        await ws.send("bye")
        await ws.close(4000, "done")
        seen.push({ code: ws.closeCode, after: await ws.receive(), sent: await ws.send("late") })
    })
    await run(rig, async () => {
        const c = await WsClient.open(rig, 6, undefined, "/ws-bye")
        const m = await c.readMessage()
        assert.equal(m.opcode, TEXT)
        assert.equal(m.data.toString(), "bye")
        const f = await c.readFrame()
        assert.equal(f.opcode, CLOSE)
        assert.equal(f.payload.readUInt16BE(0), 4000)
        assert.equal(f.payload.toString("utf8", 2), "done")
        const t0 = rig.p.sim.now
        await c.close(4000)
        assert.equal(await c.readFrame(), null)
        assert.ok(rig.p.sim.now - t0 < 100, "TCP ends right after the peer's close")
        c.sock.close()
        // a peer that never answers the close (and keeps its side open): the server gives up after closeTimeoutMs
        const d = await WsClient.open(rig, 7, undefined, "/ws-bye")
        assert.equal((await d.readMessage()).data.toString(), "bye")
        assert.equal((await d.readFrame()).opcode, CLOSE)
        const t1 = rig.p.sim.now
        const host = rig.p.clientNet.host
        while (seen.length < 2 && rig.p.sim.now - t1 < 5000) await host.waitFor(host.newSignal(), 10)
        const waited = rig.p.sim.now - t1
        assert.ok(waited >= 900 && waited < 1200, "the server waited its close timeout: " + waited)
        // its FIN came with its close frame
        assert.equal(await d.sock.read(Buffer.alloc(16), 0, 16, 5000), 0)
        assert.ok(d.sock.ended())
        d.sock.close()
    })
    assert.deepEqual(seen, [
        { code: 4000, after: null, sent: false },
        { code: 1006, after: null, sent: false },
    ])
})

test("close() while another task is in receive(): that task reads the peer's close, data after ours is dropped", async () => {
    const rig = httpRig()
    const seen: unknown[] = []
    const host = rig.p.serverNet.host
    rig.server.get("/ws-reader", async (req, res) => {
        const ws = await acceptWebSocket(req, res, { closeTimeoutMs: 1000, host })
        let first: string = null
        const got: (string | null)[] = []
        const reader = (async () => {
            for (;;) {
                const m = await ws.receive()
                got.push(m && m.data.toString())
                if (!m) return
                first = m.data.toString()
            }
        })()
        while (first === null) await host.waitFor(host.newSignal(), 5)
        const t = host.now()
        await ws.close(4001)
        await reader
        seen.push({ code: ws.closeCode, got, quick: host.now() - t < 500 })
    })
    await run(rig, async () => {
        const c = await WsClient.open(rig, 8, undefined, "/ws-reader")
        await c.send(TEXT, Buffer.from("x"))
        const f = await c.readFrame()
        assert.equal(f.opcode, CLOSE)
        assert.equal(f.payload.readUInt16BE(0), 4001)
        await c.send(TEXT, Buffer.from("dropped"))
        await c.send(PING, Buffer.from("no pong after close"))
        await c.close(4001)
        assert.equal(await c.readFrame(), null, "no pong, TCP ends")
        c.sock.close()
        while (seen.length === 0) await host.waitFor(host.newSignal(), 5)
    })
    assert.deepEqual(seen, [{ code: 4001, got: ["x", null], quick: true }])
})

test("protocol errors close with 1002, 1007 and 1009", async () => {
    const rig = httpRig()
    await run(rig, async () => {
        type Case = [string, (c: WsClient) => Promise<void>, number]
        const cases: Case[] = [
            ["unmasked frame", (c) => c.send(TEXT, Buffer.from("hi"), { masked: false }), 1002],
            ["reserved bit", (c) => c.send(TEXT, Buffer.from("hi"), { rsv: 4 }), 1002],
            ["unknown data opcode", (c) => c.send(3, Buffer.from("hi")), 1002],
            ["unknown control opcode", (c) => c.send(11, Buffer.alloc(0)), 1002],
            ["fragmented ping", (c) => c.send(PING, Buffer.from("x"), { fin: false }), 1002],
            ["ping over 125 bytes", (c) => c.send(PING, Buffer.alloc(126)), 1002],
            ["continuation without a start", (c) => c.send(0, Buffer.from("x")), 1002],
            [
                "a new message inside a fragmented one",
                async (c) => {
                    await c.send(TEXT, Buffer.from("a"), { fin: false })
                    await c.send(TEXT, Buffer.from("b"))
                },
                1002,
            ],
            ["close with a 1-byte payload", (c) => c.send(CLOSE, Buffer.from([3])), 1002],
            ["close with code 1005", (c) => c.close(1005), 1002],
            ["close with code 999", (c) => c.close(999), 1002],
            ["invalid UTF-8 text", (c) => c.send(TEXT, Buffer.from("6869eda080", "hex")), 1007],
            [
                "invalid UTF-8 across fragments",
                async (c) => {
                    await c.send(TEXT, Buffer.from("e282", "hex"), { fin: false })
                    await c.send(0, Buffer.from("28", "hex"))
                },
                1007,
            ],
            ["text ending inside a character", (c) => c.send(TEXT, Buffer.from("e282", "hex")), 1007],
            ["close reason not UTF-8", (c) => c.send(CLOSE, Buffer.from("03e8ff", "hex")), 1007],
            ["message over the limit in one frame", (c) => c.send(BINARY, binary(100000, 1)), 1009],
            [
                "message over the limit in fragments",
                async (c) => {
                    for (let i = 0; i < 3; i++) await c.send(i === 0 ? BINARY : 0, binary(30000, i), { fin: false })
                },
                1009,
            ],
            ["64-bit length above 2^53", (c) => c.sock.write(Buffer.from("82ff002000000000000001020304", "hex")), 1009],
        ]
        for (const [name, act, code] of cases) {
            const c = await WsClient.open(rig, 100 + code)
            // the connection works before the error
            await c.send(TEXT, Buffer.from("ok"))
            assert.equal((await c.readMessage()).data.toString(), "ok", name)
            await act(c)
            try {
                await c.expectClose(code)
            } catch (e) {
                ;(e as Error).message = name + ": " + (e as Error).message
                throw e
            }
        }
    })
    await runAsync(rig.p.sim, () => rig.p.server.tcp.inUseCount() === 0, 10000)
    assert.equal(rig.p.server.tcp.inUseCount(), 0)
})

test("a bad handshake gets 400 or 426 and the connection closes", async () => {
    const rig = httpRig()
    const base = (fields: string) => `GET /ws HTTP/1.1\r\nHost: d\r\n${fields}\r\n`
    const up = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    const key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    const cases: [string, number][] = [
        [base(up + "Sec-WebSocket-Version: 13\r\n"), 400], // no key
        [base(up + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: c2hvcnQ=\r\n"), 400], // a key of 5 bytes
        [base(up + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: not base64 at all!!!!!!\r\n"), 400],
        [base(up + key + "Sec-WebSocket-Version: 8\r\n"), 426],
        [base(up + key), 426], // no version
        [base("Connection: Upgrade\r\n" + key + "Sec-WebSocket-Version: 13\r\n"), 426], // no Upgrade
        [base("Upgrade: websocket\r\n" + key + "Sec-WebSocket-Version: 13\r\n"), 400], // no Connection: upgrade
        [`GET /ws HTTP/1.0\r\nHost: d\r\n${up}${key}Sec-WebSocket-Version: 13\r\n\r\n`, 400],
    ]
    for (const [raw, status] of cases) {
        const rs = await run(rig, () => exchange(rig, raw))
        assert.equal(rs.length, 1, raw)
        assert.equal(rs[0].status, status, raw)
        assert.equal(rs[0].headers["connection"], "close", raw)
        if (status === 426 && raw.includes("Upgrade: websocket")) assert.equal(rs[0].headers["sec-websocket-version"], "13", raw)
    }
})
