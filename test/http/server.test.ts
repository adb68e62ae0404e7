// The HTTP server on the simulator, between a ds-tcpip client and the demo device.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { httpRig, run, exchange, connect, readToEnd, parseResponses, pattern } from "./rig.js"
import { runAsync } from "../tcp/sim-helpers.js"

test("GET / serves the page; HTTP/1.0 closes after it, server first", async () => {
    const rig = httpRig()
    const [r] = await run(rig, () => exchange(rig, "GET / HTTP/1.0\r\n\r\n"))
    assert.equal(r.status, 200)
    assert.equal(r.version, "1.0")
    assert.match(r.headers["content-type"], /text\/html/)
    assert.match(r.body.toString(), /ds-tcpip demo device/)
    assert.equal(r.headers["connection"], "close")
    // the server closed first: it went through FIN-WAIT and TIME-WAIT
    await runAsync(rig.p.sim, () => rig.p.server.tcp.inUseCount() === 0, 10000)
    assert.equal(rig.p.server.tcp.inUseCount(), 0)
})

test("GET /bytes/N: exactly N bytes of the pattern with Content-Length", async () => {
    const rig = httpRig()
    for (const n of [0, 1, 255, 256, 1000, 100000]) {
        const [r] = await run(rig, () => exchange(rig, `GET /bytes/${n} HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n`))
        assert.equal(r.status, 200)
        assert.equal(r.headers["content-length"], String(n))
        assert.ok(r.body.equals(pattern(n)), "pattern of " + n)
    }
    const [bad] = await run(rig, () => exchange(rig, "GET /bytes/x HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"))
    assert.equal(bad.status, 400)
})

test("a corked response leaves in full segments; uncorked, each write is pushed as it comes", async () => {
    const rig = httpRig()
    const n = 100 * 1024
    // /bytes corks around its 1 KB writes: full segments (MSS 1460)
    const before = rig.p.server.tcp.counters.segmentsOut
    const [r] = await run(rig, () => exchange(rig, `GET /bytes/${n} HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n`))
    assert.ok(r.body.equals(pattern(n)))
    const corked = rig.p.server.tcp.counters.segmentsOut - before
    // a route that writes the same 1 KB pieces without cork: each one its own push
    rig.server.get("/pieces", async (_req, res) => {
        res.setHeader("Content-Length", n)
        for (let left = n; left > 0; left -= 1024) await res.write(pattern(1024))
        await res.end()
    })
    const before2 = rig.p.server.tcp.counters.segmentsOut
    const [r2] = await run(rig, () => exchange(rig, "GET /pieces HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"))
    assert.ok(r2.body.equals(pattern(n)))
    const pushed = rig.p.server.tcp.counters.segmentsOut - before2
    const full = Math.ceil(n / 1460)
    assert.ok(corked <= full + 8, `corked: ${corked} segments for ${full} full ones`)
    assert.ok(pushed >= 100, `uncorked: ${pushed} segments, about one per 1 KB write`)
})

test("POST /echo: Content-Length and chunked bodies come back", async () => {
    const rig = httpRig()
    const body = pattern(20000)
    const [a] = await run(rig, () => exchange(rig, Buffer.concat([Buffer.from(`POST /echo HTTP/1.1\r\nHost: d\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`), body])))
    assert.equal(a.status, 200)
    assert.ok(a.body.equals(body))
    const chunked = "POST /echo HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nTrailer: x\r\n\r\n"
    const [b] = await run(rig, () => exchange(rig, chunked))
    assert.equal(b.status, 200)
    assert.equal(b.headers["transfer-encoding"], "chunked")
    assert.equal(b.body.toString(), "hello world!")
})

test("three pipelined requests in one segment are answered in order", async () => {
    const rig = httpRig()
    const raw = "GET /bytes/3 HTTP/1.1\r\nHost: d\r\n\r\nGET /bytes/5 HTTP/1.1\r\nHost: d\r\n\r\nGET /bytes/7 HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"
    const rs = await run(rig, () => exchange(rig, raw))
    assert.deepEqual(rs.map((r) => r.body.length), [3, 5, 7])
    assert.deepEqual(rs.map((r) => r.status), [200, 200, 200])
})

test("a request delivered one byte per segment", async () => {
    const rig = httpRig()
    const rs = await run(rig, async () => {
        const s = await connect(rig)
        s.setNoDelay(true)
        const raw = Buffer.from("GET /bytes/10 HTTP/1.1\r\nHost: device\r\nConnection: close\r\n\r\n")
        for (let i = 0; i < raw.length; i++) {
            await s.write(raw, i, 1)
            await s.drain()
        }
        const all = await readToEnd(s)
        s.close()
        return parseResponses(all)
    })
    assert.equal(rs.length, 1)
    assert.equal(rs[0].status, 200)
    assert.equal(rs[0].body.length, 10)
    assert.ok(rig.p.client.tcp.counters.segmentsOut > 60, "one segment per byte")
})

test("keep-alive: 100 requests over one connection", async () => {
    const rig = httpRig()
    const opens = await run(rig, async () => {
        const s = await connect(rig)
        const buf = Buffer.alloc(4096)
        for (let i = 0; i < 100; i++) {
            await s.write(Buffer.from(`GET /bytes/${i} HTTP/1.1\r\nHost: d\r\n\r\n`))
            // read exactly one response
            let got = Buffer.alloc(0)
            for (;;) {
                const n = await s.read(buf, 0, buf.length)
                assert.ok(n > 0, "connection stays open")
                got = Buffer.concat([got, buf.subarray(0, n)])
                const end = got.indexOf("\r\n\r\n")
                if (end >= 0 && got.length >= end + 4 + i) break
            }
            const [r] = parseResponses(got)
            assert.equal(r.status, 200)
            assert.ok(r.body.equals(pattern(i)))
        }
        s.close()
        return rig.p.server.tcp.counters.passiveOpens
    })
    assert.equal(opens, 1)
    assert.equal(rig.server.stats.requests, 100)
})

test("bad input gets a 4xx and the connection closes", async () => {
    const rig = httpRig()
    const cases: [string, number][] = [
        ["garbage\r\n\r\n", 400],
        ["GET / HTTP/1.1\r\n\r\n", 400], // no Host
        ["GET / HTTP/2.0\r\nHost: d\r\n\r\n", 505],
        ["GET /nowhere HTTP/1.1\r\nHost: d\r\n\r\n", 404],
        ["DELETE / HTTP/1.1\r\nHost: d\r\n\r\n", 405],
        ["POST /echo HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501],
        ["POST /echo HTTP/1.1\r\nHost: d\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
        ["GET / HTTP/1.1\r\nHost : d\r\n\r\n", 400],
        ["GET / HTTP/1.1\r\nHost: d\r\n folded\r\n\r\n", 400],
        ["POST /echo HTTP/1.1\r\nHost: d\r\nContent-Length: 99999999999\r\n\r\n", 413],
        ["POST /echo HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400],
    ]
    for (const [raw, status] of cases) {
        const rs = await run(rig, () => exchange(rig, raw))
        assert.equal(rs[rs.length - 1].status, status, JSON.stringify(raw))
        // a well-formed request that has no route keeps the connection; malformed input closes it
        if (status !== 404 && status !== 405) assert.equal(rs[rs.length - 1].headers["connection"], "close", JSON.stringify(raw))
    }
})

test("oversize headers get 431 and a close", async () => {
    const rig = httpRig()
    const big = "GET / HTTP/1.1\r\nHost: d\r\nX-Big: " + "a".repeat(5000) + "\r\n\r\n"
    const [r] = await run(rig, () => exchange(rig, big))
    assert.equal(r.status, 431)
    const many = "GET / HTTP/1.1\r\nHost: d\r\n" + Array.from({ length: 40 }, (_, i) => `X-${i}: 1\r\n`).join("") + "\r\n"
    const [m] = await run(rig, () => exchange(rig, many))
    assert.equal(m.status, 431)
})

test("HEAD has the GET's fields and no body; Expect: 100-continue gets its interim response", async () => {
    const rig = httpRig()
    const rs = await run(rig, () => exchange(rig, "HEAD /bytes/50 HTTP/1.1\r\nHost: d\r\n\r\nGET /bytes/2 HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n", 1))
    assert.equal(rs[0].status, 200)
    assert.equal(rs[0].headers["content-length"], "50")
    assert.equal(rs[0].body.length, 0)
    assert.equal(rs[1].body.length, 2)
    const out = await run(rig, async () => {
        const s = await connect(rig)
        await s.write(Buffer.from("POST /echo HTTP/1.1\r\nHost: d\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"))
        const buf = Buffer.alloc(256)
        const n = await s.read(buf, 0, buf.length)
        const interim = buf.toString("latin1", 0, n)
        await s.write(Buffer.from("ping"))
        const rest = await readToEnd(s)
        s.close()
        return { interim, rest: parseResponses(rest) }
    })
    assert.equal(out.interim, "HTTP/1.1 100 Continue\r\n\r\n")
    assert.equal(out.rest[0].body.toString(), "ping")
})

test("a slowloris client is timed out (408) while another client is served", async () => {
    const rig = httpRig({ demo: { http: { headerTimeoutMs: 5000 } } })
    let slowResult = ""
    let fastOk = false
    await run(rig, async () => {
        const slow = (async () => {
            const s = await connect(rig)
            s.setNoDelay(true)
            const raw = "GET / HTTP/1.1\r\nHost: d\r\nX-Slow: " + "a".repeat(100)
            try {
                for (let i = 0; i < raw.length && s.readable() === 0 && !s.ended(); i++) {
                    await s.write(Buffer.from(raw[i]))
                    await new Promise<void>((r) => rig.p.sim.after(500, r))
                }
            } catch (e) {
                // the server closed on us
            }
            slowResult = (await readToEnd(s)).toString("latin1")
            s.close()
        })()
        await new Promise<void>((r) => rig.p.sim.after(1000, r))
        const [r] = await exchange(rig, "GET /bytes/5 HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
        fastOk = r.status === 200
        await slow
    }, 120000)
    assert.ok(fastOk, "the second client was served during the slow one")
    assert.match(slowResult, /^HTTP\/1\.1 408 /)
    assert.ok(rig.server.stats.timeouts >= 1)
})

test("/status reports counters as JSON", async () => {
    const rig = httpRig()
    const [r] = await run(rig, () => exchange(rig, "GET /status HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"))
    const j = JSON.parse(r.body.toString())
    assert.equal(j.ip, "198.18.0.2")
    assert.ok(j.counters.rxFrames > 0)
    assert.ok(j.tcp.byState["ESTABLISHED"] >= 1)
    assert.equal(j.http.requests, 1)
})

test("/events streams ticks in order", async () => {
    const rig = httpRig()
    const text = await run(rig, async () => {
        const s = await connect(rig)
        await s.write(Buffer.from("GET /events HTTP/1.1\r\nHost: d\r\n\r\n"))
        let got = ""
        const buf = Buffer.alloc(1024)
        while ((got.match(/event: tick/g) || []).length < 5) {
            const n = await s.read(buf, 0, buf.length)
            got += buf.toString("latin1", 0, n)
        }
        s.abort()
        return got
    })
    assert.match(text, /content-type: text\/event-stream/i)
    const ids = [...text.matchAll(/data: (\d+)/g)].map((m) => Number(m[1]))
    assert.deepEqual(ids.slice(0, 5), [1, 2, 3, 4, 5])
})

test("the demo page is ASCII (its length is its Content-Length) and has the dashboard's parts", async () => {
    const { INDEX_HTML } = await import("../../src/app/page.js")
    assert.ok([...INDEX_HTML].every((c) => c.charCodeAt(0) < 128), "ASCII only")
    for (const id of ["reading", "uptime", "conns", "msg", "send", "log", "status", "heap"]) assert.ok(INDEX_HTML.includes(`id="${id}"`), id)
})
