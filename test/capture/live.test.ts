// Ladders as connections happen: a LiveLadder fed by the simulator's frame
// taps writes one diagram per connection when it ends (what --ladder DIR
// does for npm start and serve), keeps its table's states from the stack's
// own events, and stays bounded.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pair, runAsync, parseIp, SERVER_IP } from "../tcp/sim-helpers.js"
import { CaptureExtras } from "../../src/host/capture-extras.js"
import { LiveLadder } from "../../src/host/live-ladder.js"

test("--ladder DIR: one diagram per connection, written when it ends, states from the stack", { timeout: 60000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "ds-ladder-"))
    try {
        const p = pair(4, { delayMs: 2, loss: 0.05 }, { tcpMslMs: 100 })
        const extras = new CaptureExtras({ ladderDir: dir, epochMs: 0, timeWaitMs: 200 })
        extras.attach(p.server, () => p.sim.now)
        const feed = extras.sink()
        p.sim.onFrame((h, _d, frame, now) => h === "server" && feed.write(now, frame))
        const l = p.serverNet.listen(80)
        ;(async () => {
            for (;;) {
                const s = await l.accept()
                if (!s) return
                const b = Buffer.alloc(100)
                await s.read(b, 0, 100)
                await s.write(Buffer.from("bye"))
                s.close()
            }
        })()
        let done = 0
        ;(async () => {
            for (let i = 0; i < 5; i++) {
                const c = await p.clientNet.connect(parseIp(SERVER_IP), 80)
                await c.write(Buffer.from("hi " + i))
                const b = Buffer.alloc(100)
                while ((await c.read(b, 0, 100)) > 0) {}
                c.close()
                done++
            }
        })()
        assert.ok(await runAsync(p.sim, () => done === 5, 60000))
        assert.ok(await runAsync(p.sim, () => p.server.tcp.inUseCount() === 0 && p.client.tcp.inUseCount() === 0, 10000))
        const rows = extras.ladder.table()
        assert.equal(rows.length, 5)
        for (const r of rows) assert.equal(r.state, "CLOSED", "the table shows the stack's own state")
        extras.close()
        const files = readdirSync(dir).sort()
        assert.equal(files.length, 5)
        for (const f of files) {
            const html = readFileSync(join(dir, f), "utf8")
            assert.match(f, /^conn-\d{4}-198\.18\.0\.1\.\d+-198\.18\.0\.2\.80\.html$/)
            assert.equal((html.match(/class="arrow/g) || []).length >= 8, true, f)
            for (const s of ["SYN-SENT", "SYN-RECEIVED", "FIN-WAIT-1", "LAST-ACK"]) assert.ok(html.includes(">" + s + "<"), f + " shows " + s)
        }
    } finally {
        rmSync(dir, { recursive: true })
    }
})

test("a LiveLadder stays bounded: segments per connection and connections followed", () => {
    const live = new LiveLadder({ maxSegments: 10, maxConnections: 3 })
    // 5 connections of 30 segments each, never closed (frames from the seed-style builder)
    const frame = (sport: number, seq: number, flags: number) => {
        const f = Buffer.alloc(14 + 20 + 20)
        f.writeUInt16BE(0x0800, 12)
        f[14] = 0x45
        f.writeUInt16BE(40, 16)
        f[23] = 6
        f.writeUInt32BE(0xc6120001, 26)
        f.writeUInt32BE(0xc6120002, 30)
        f.writeUInt16BE(sport, 34)
        f.writeUInt16BE(80, 36)
        f.writeUInt32BE(seq, 38)
        f[46] = 5 << 4
        f[47] = flags
        return f
    }
    for (let c = 0; c < 5; c++) for (let i = 0; i < 30; i++) live.write(c * 100 + i, frame(40000 + c, 1000 + i, i === 0 ? 0x02 : 0x10))
    const rows = live.table()
    assert.equal(rows.length, 3)
    assert.deepEqual(
        rows.map((r) => r.id),
        [5, 4, 3],
    )
    assert.equal(rows[0].segments, 30)
    const m = live.modelOf(5)
    assert.equal(m.items.filter((i) => i.kind === "seg").length, 10)
    assert.match(m.title, /first 10 segments; 20 more not drawn/)
    assert.equal(live.modelOf(1), null)
})

test("a diagram that cannot be written is counted, and the frames keep coming", () => {
    const dir = mkdtempSync(join(tmpdir(), "ds-ladder-"))
    const live = new LiveLadder({ dir })
    rmSync(dir, { recursive: true })
    const f = (flags: number, src: number, seq: number, ack: number) => {
        const b = Buffer.alloc(54)
        b.writeUInt16BE(0x0800, 12)
        b[14] = 0x45
        b.writeUInt16BE(40, 16)
        b[23] = 6
        b.writeUInt32BE(src ? 0xc6120002 : 0xc6120001, 26)
        b.writeUInt32BE(src ? 0xc6120001 : 0xc6120002, 30)
        b.writeUInt16BE(src ? 80 : 41000, 34)
        b.writeUInt16BE(src ? 41000 : 80, 36)
        b.writeUInt32BE(seq, 38)
        b.writeUInt32BE(ack, 42)
        b[46] = 5 << 4
        b[47] = flags
        b.writeUInt16BE(1000, 48)
        return b
    }
    // a refused connection: SYN, RST,ACK; both ends CLOSED, so its diagram is due
    live.write(0, f(0x02, 0, 100, 0))
    live.write(1, f(0x14, 1, 0, 101))
    assert.equal(live.failed, 1)
    assert.match(live.lastError, /ENOENT/)
    assert.equal(live.written.length, 0)
    assert.equal(live.table()[0].inferred.join(" "), "CLOSED CLOSED")
})
