// The socket API over the simulator: errors as codes, back-pressure, and
// handles that cannot outlive their connection.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { pair, runTask, parseIp, SERVER_IP, Pair } from "../tcp/sim-helpers.js"
import { SocketError, TcpSocket } from "../../src/socket/socket.js"

function go<T>(p: Pair, task: () => Promise<T>, maxMs = 600000): Promise<T> {
    return runTask(p.sim, task, maxMs)
}

async function codeOf(f: () => Promise<unknown>): Promise<string> {
    try {
        await f()
        return "none"
    } catch (e) {
        assert.ok(e instanceof SocketError, "a SocketError: " + e)
        return (e as SocketError).code
    }
}

test("connect to a port nobody listens on: ECONNREFUSED", async () => {
    const p = pair(1, { delayMs: 0.5 })
    const code = await go(p, () => codeOf(() => p.clientNet.connect(parseIp(SERVER_IP), 81)))
    assert.equal(code, "ECONNREFUSED")
    assert.equal(p.client.tcp.inUseCount(), 0)
})

test("connect to a host that never answers: ETIMEDOUT after the SYN retries", async () => {
    const p = pair(1, { delayMs: 0.5 })
    p.sim.setImpairments("client", { loss: 1 })
    const code = await go(p, () => codeOf(() => p.clientNet.connect(parseIp(SERVER_IP), 80)))
    assert.equal(code, "ETIMEDOUT")
})

test("connect with a timeout shorter than the retries: ETIMEDOUT at the timeout", async () => {
    const p = pair(1, { delayMs: 0.5 })
    p.sim.setImpairments("client", { loss: 1 })
    const t0 = p.sim.now
    const code = await go(p, () => codeOf(() => p.clientNet.connect(parseIp(SERVER_IP), 80, 2500)))
    assert.equal(code, "ETIMEDOUT")
    assert.ok(p.sim.now - t0 < 3500)
})

test("a reset by the peer: ECONNRESET on read and write; the handle is dead after close (EBADF)", async () => {
    const p = pair(1, { delayMs: 0.5 })
    const server = p.serverNet.listen(80)
    const out = await go(p, async () => {
        let ss: TcpSocket = null
        const accepted = server.accept().then((s) => (ss = s))
        const c = await p.clientNet.connect(parseIp(SERVER_IP), 80)
        await accepted
        ss.abort()
        const readCode = await codeOf(() => c.read(Buffer.alloc(10), 0, 10))
        const writeCode = await codeOf(() => c.write(Buffer.from("x")))
        c.close()
        const afterClose = await codeOf(() => c.read(Buffer.alloc(10), 0, 10))
        return { readCode, writeCode, afterClose, state: c.state() }
    })
    assert.deepEqual(out, { readCode: "ECONNRESET", writeCode: "ECONNRESET", afterClose: "EBADF", state: "FREED" })
})

test("writing after shutdown: EPIPE; the peer still gets the data and then the end", async () => {
    const p = pair(1, { delayMs: 0.5 })
    const server = p.serverNet.listen(80)
    const out = await go(p, async () => {
        const got = server.accept().then(async (s) => {
            const buf = Buffer.alloc(100)
            let text = ""
            for (;;) {
                const n = await s.read(buf, 0, buf.length)
                if (n === 0) break
                text += buf.toString("latin1", 0, n)
            }
            s.close()
            return text
        })
        const c = await p.clientNet.connect(parseIp(SERVER_IP), 80)
        await c.write(Buffer.from("last words"))
        c.shutdown()
        const code = await codeOf(() => c.write(Buffer.from("more")))
        const text = await got
        c.close()
        return { code, text }
    })
    assert.deepEqual(out, { code: "EPIPE", text: "last words" })
})

test("back-pressure: a large write waits for the reader, nothing is lost", async () => {
    const p = pair(2, { delayMs: 1 })
    const server = p.serverNet.listen(80)
    const size = 300000
    const out = await go(p, async () => {
        let readerStarted = false
        let writeDoneBeforeReader = false
        const reader = server.accept().then(async (s) => {
            // let the writer run into a full window first
            await new Promise<void>((r) => p.sim.after(2000, r))
            readerStarted = true
            const buf = Buffer.alloc(1000)
            let n = 0
            let ok = true
            for (;;) {
                const k = await s.read(buf, 0, buf.length)
                if (k === 0) break
                for (let i = 0; i < k; i++) ok = ok && buf[i] === ((n + i) & 0xff)
                n += k
            }
            s.close()
            return { n, ok }
        })
        const c = await p.clientNet.connect(parseIp(SERVER_IP), 80)
        const data = Buffer.alloc(size)
        for (let i = 0; i < size; i++) data[i] = i & 0xff
        await c.write(data)
        writeDoneBeforeReader = !readerStarted
        c.close()
        return { ...(await reader), writeDoneBeforeReader }
    })
    assert.deepEqual(out, { n: size, ok: true, writeDoneBeforeReader: false })
})

test("an idle timeout resets a silent connection: ETIMEDOUT", async () => {
    const p = pair(1, { delayMs: 0.5 })
    const server = p.serverNet.listen(80)
    const code = await go(p, async () => {
        void server.accept()
        const c = await p.clientNet.connect(parseIp(SERVER_IP), 80)
        c.setIdleTimeout(5000)
        return codeOf(() => c.read(Buffer.alloc(10), 0, 10))
    })
    assert.equal(code, "ETIMEDOUT")
})

test("keep-alive keeps finding a healthy idle peer, and declares a vanished one dead", async () => {
    const p = pair(1, { delayMs: 0.5 })
    const server = p.serverNet.listen(80)
    const out = await go(p, async () => {
        void server.accept()
        const c = await p.clientNet.connect(parseIp(SERVER_IP), 80)
        c.setKeepAlive(true, 10000, 1000, 3)
        // idle but healthy for a minute: still established
        const r = await c.read(Buffer.alloc(10), 0, 10, 60000)
        const alive = c.state()
        // the peer vanishes
        p.sim.setImpairments("server", { loss: 1 })
        const code = await codeOf(() => c.read(Buffer.alloc(10), 0, 10))
        return { r, alive, code }
    })
    assert.deepEqual(out, { r: 0, alive: "ESTABLISHED", code: "ETIMEDOUT" })
    assert.ok(p.client.tcp.counters.keepAliveProbes >= 6)
})

test("listen twice on a port: EADDRINUSE; accept on a closed server: null", async () => {
    const p = pair(1, {})
    const s = p.serverNet.listen(80)
    assert.throws(() => p.serverNet.listen(80), (e: any) => e.code === "EADDRINUSE")
    const got = await go(p, async () => {
        const a = s.accept()
        s.close()
        return a
    })
    assert.equal(got, null)
})

test("closing a socket wakes a task blocked reading it (EBADF)", async () => {
    const p = pair(1, { delayMs: 0.5 })
    const server = p.serverNet.listen(80)
    const code = await go(p, async () => {
        void server.accept()
        const c = await p.clientNet.connect(parseIp(SERVER_IP), 80)
        const reading = codeOf(() => c.read(Buffer.alloc(10), 0, 10))
        await new Promise<void>((r) => p.sim.after(100, r))
        c.close()
        return reading
    }, 10000)
    assert.equal(code, "EBADF")
})
