// The HTTP client (src/http/client.ts) on the simulator: against the demo
// device, and against tiny raw servers (Net.listen on other ports) that answer
// close-delimited, malformed or never.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { httpRig, run, pattern, HttpRig } from "./rig.js"
import { randomBytes, runAsync, SERVER_IP } from "../tcp/sim-helpers.js"
import { request, parseUrl, parseResponseHead, ResponseHead, ClientResponse, HttpClientError } from "../../src/http/client.js"
import { TcpSocket } from "../../src/socket/socket.js"
import { SimSocketHost } from "../../src/host/sim/async.js"

const BASE = "http://" + SERVER_IP

/** The client's connections all released, and no task failed. */
async function assertClean(rig: HttpRig): Promise<void> {
    await runAsync(rig.p.sim, () => rig.p.client.tcp.inUseCount() === 0, 20000)
    assert.equal(rig.p.client.tcp.inUseCount(), 0, "client connections released")
    assert.deepEqual((rig.p.clientNet.host as SimSocketHost).errors, [])
    assert.equal(rig.server.stats.handlerErrors, 0)
}

async function rejects(p: Promise<unknown>, code: string, what?: RegExp): Promise<HttpClientError> {
    try {
        await p
    } catch (e) {
        const err = e as HttpClientError
        assert.equal(err.code, code, "error " + err.message)
        if (what) assert.match(err.message, what)
        return err
    }
    assert.fail("expected a " + code + " rejection")
}

/** Reads one request head from a raw socket (up to the blank line). */
async function readRequestHead(s: TcpSocket): Promise<string> {
    const buf = Buffer.alloc(4096)
    let got = ""
    while (got.indexOf("\r\n\r\n") < 0) {
        const n = await s.read(buf, 0, buf.length)
        if (n === 0) break
        got += buf.toString("latin1", 0, n)
    }
    return got
}

/** Keeps a raw server's connection open until the client goes away, then frees the slot. */
function lingerThenClose(s: TcpSocket): void {
    void (async () => {
        const buf = Buffer.alloc(512)
        try {
            while ((await s.read(buf, 0, buf.length)) > 0) {}
        } catch (e) {
            // reset by the client
        }
        s.close()
    })()
}

/** A raw server on the device's stack: answers every connection with `reply` (then closes unless keepOpen). */
function rawServer(rig: HttpRig, port: number, reply: (head: string) => Buffer | string | null, keepOpen: boolean | ((head: string) => boolean) = false): string[] {
    const heads: string[] = []
    const srv = rig.p.serverNet.listen(port)
    rig.p.serverNet.host.spawn(async () => {
        for (;;) {
            const s = await srv.accept()
            if (!s) return
            const head = await readRequestHead(s)
            heads.push(head)
            const r = reply(head)
            if (r !== null) await s.write(typeof r === "string" ? Buffer.from(r, "latin1") : r)
            if (typeof keepOpen === "function" ? keepOpen(head) : keepOpen) lingerThenClose(s)
            else s.close()
        }
    })
    return heads
}

test("parseUrl: the parts of http URLs, and what is refused", () => {
    const u = parseUrl("http://198.18.0.2:8080/path?q=1#frag")
    assert.deepEqual({ ...u }, { host: "198.18.0.2", port: 8080, path: "/path?q=1" })
    assert.deepEqual({ ...parseUrl("HTTP://device") }, { host: "device", port: 80, path: "/" })
    assert.deepEqual({ ...parseUrl("http://10.0.0.1?x") }, { host: "10.0.0.1", port: 80, path: "/?x" })
    for (const bad of ["https://a/", "http://", "http:///x", "http://a:0/", "http://a:65536/", "http://a:x/", "http://u@a/", "http://[::1]/", "http://a/b c", "ftp://a/", "http://a b/"]) {
        assert.equal(parseUrl(bad), null, bad)
    }
})

test("parseResponseHead: status line, fields, obs-fold; malformed heads are named", () => {
    const h = new ResponseHead()
    const ok = Buffer.from("HTTP/1.0 204 No Content\r\nA: 1\r\nB:\t x \r\n  folded\r\nA: 2\n\r\n")
    assert.equal(parseResponseHead(ok, 0, ok.length, h), "")
    assert.equal(h.version, 10)
    assert.equal(h.status, 204)
    assert.equal(h.reason, "No Content")
    assert.deepEqual(h.names, ["a", "b", "a"])
    assert.deepEqual(h.values, ["1", "x folded", "2"])
    const noReason = Buffer.from("HTTP/1.1 200\r\n\r\n")
    assert.equal(parseResponseHead(noReason, 0, noReason.length, h), "")
    assert.equal(h.status, 200)
    for (const bad of ["HTTP/2.0 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 abc\r\n\r\n", "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "HTTP/1.1 200 OK\r\nA: x\ry\r\n\r\n", "HTTP/1.1 200 OK\r\n folded-first\r\n\r\n", "HTTP/1.1 200 OK\r\nA: \u0001\r\n\r\n", "HTTP/1.1 099 X\r\n\r\n"]) {
        const b = Buffer.from(bad, "latin1")
        assert.notEqual(parseResponseHead(b, 0, b.length, h), "", JSON.stringify(bad))
    }
})

test("GET / : the HTML page, then the connection is released", async () => {
    const rig = httpRig()
    const res = await run(rig, async () => {
        const r = await request(rig.p.clientNet, BASE + "/")
        return { status: r.status, statusText: r.statusText, version: r.httpVersion, type: r.headers["content-type"], text: await r.text(), done: r.done() }
    })
    assert.equal(res.status, 200)
    assert.equal(res.statusText, "OK")
    assert.equal(res.version, "1.1")
    assert.match(res.type, /text\/html/)
    assert.match(res.text, /ds-tcpip demo device/)
    assert.ok(res.done)
    await assertClean(rig)
})

test("GET /bytes/0 and /bytes/100000: Content-Length bodies, whole and streamed", async () => {
    const rig = httpRig()
    await run(rig, async () => {
        const zero = await request(rig.p.clientNet, BASE + "/bytes/0")
        assert.equal(zero.status, 200)
        assert.equal(zero.contentLength, 0)
        assert.ok(zero.done(), "an empty body is done at once")
        assert.equal((await zero.body()).length, 0)

        const big = await request(rig.p.clientNet, BASE + "/bytes/100000", { maxBodyBytes: 200000 })
        assert.equal(big.headers["content-length"], "100000")
        const b = await big.body()
        assert.ok(b.equals(pattern(100000)), "the pattern")

        // streamed through read() in small pieces, without a body limit
        const s = await request(rig.p.clientNet, { host: SERVER_IP, path: "/bytes/70000" }, { maxBodyBytes: 10 })
        const piece = Buffer.alloc(777)
        const parts: Buffer[] = []
        for (;;) {
            const n = await s.read(piece, 0, piece.length)
            if (n === 0) break
            parts.push(Buffer.from(piece.subarray(0, n)))
        }
        assert.ok(Buffer.concat(parts).equals(pattern(70000)))
        assert.equal(s.received, 70000)
        assert.equal(await s.read(piece, 0, 1), 0, "0 after the end")

        // body() is bounded by maxBodyBytes: refused up front from the Content-Length
        const tooBig = await request(rig.p.clientNet, BASE + "/bytes/5000", { maxBodyBytes: 4096 })
        await rejects(tooBig.body(), "EMSGSIZE")
    })
    await assertClean(rig)
})

test("POST /echo: a 50 KB body (Content-Length) comes back while it is still being sent", async () => {
    const rig = httpRig()
    const data = randomBytes(50 * 1024, 5)
    const back = await run(rig, async () => {
        const r = await request(rig.p.clientNet, { url: BASE + "/echo", method: "POST", headers: { "Content-Type": "application/x-test" }, body: data }, { maxBodyBytes: 100000 })
        assert.equal(r.status, 200)
        assert.equal(r.headers["content-length"], String(data.length))
        assert.equal(r.headers["content-type"], "application/x-test")
        return await r.body()
    })
    assert.ok(back.equals(data), "echoed")
    // the request was bigger than both TCP buffers together: only concurrent reading could finish it
    assert.ok(data.length > 2 * 8192 * 2)
    await assertClean(rig)
})

test("POST /echo with a chunked request: a chunked response", async () => {
    const rig = httpRig()
    const data = randomBytes(5000, 9)
    const r = await run(rig, async () => {
        const res = await request(rig.p.clientNet, { host: SERVER_IP, path: "/echo", method: "post", headers: { "Transfer-Encoding": "chunked" }, body: data })
        return { te: res.headers["transfer-encoding"], length: res.contentLength, body: await res.body() }
    })
    assert.equal(r.te, "chunked")
    assert.equal(r.length, -1)
    assert.ok(r.body.equals(data))
    // a string body is sent as UTF-8
    const t = await run(rig, async () => (await request(rig.p.clientNet, { url: BASE + "/echo", method: "POST", body: "héllo" })).text())
    assert.equal(t, "héllo")
    await assertClean(rig)
})

test("HEAD: the GET's fields and no body; /status JSON; 404", async () => {
    const rig = httpRig()
    await run(rig, async () => {
        const h = await request(rig.p.clientNet, { url: BASE + "/bytes/50", method: "HEAD" })
        assert.equal(h.status, 200)
        assert.equal(h.headers["content-length"], "50")
        assert.ok(h.done(), "no body to wait for")
        assert.equal((await h.body()).length, 0)

        const s = await request(rig.p.clientNet, BASE + "/status")
        assert.equal(s.headers["content-type"], "application/json")
        const j = await s.json()
        assert.equal(j.ip, SERVER_IP)
        assert.ok(j.http.requests >= 2)

        const nf = await request(rig.p.clientNet, BASE + "/nowhere?x=1")
        assert.equal(nf.status, 404)
        assert.equal(nf.statusText, "Not Found")
        assert.equal(await nf.text(), "not found\n")

        // not JSON
        const page = await request(rig.p.clientNet, BASE + "/")
        await rejects(page.json(), "EPROTO")
    })
    await assertClean(rig)
})

test("the request head: Host with the port, Content-Length, Connection: close, caller fields; bad arguments", async () => {
    const rig = httpRig()
    const heads = rawServer(rig, 8080, () => "HTTP/1.1 204 No Content\r\n\r\n")
    await run(rig, async () => {
        const net = rig.p.clientNet
        const a = await request(net, { url: "http://" + SERVER_IP + ":8080/a?b", method: "PUT", headers: { "X-Num": 5, "X-Skip": null } })
        assert.equal(a.status, 204)
        const b = await request(net, { host: SERVER_IP, port: 8080, path: "/p", headers: { Host: "named.local", Connection: "keep-alive" }, body: "abc" })
        assert.equal(b.status, 204)
        b.close()
        await rejects(request(net, "https://x/"), "EINVAL")
        await rejects(request(net, { host: SERVER_IP, headers: { "X-Bad": "a\r\nInjected: 1" } }), "EINVAL")
        await rejects(request(net, { host: SERVER_IP, headers: { "Bad Name": "a" } }), "EINVAL")
        await rejects(request(net, { host: SERVER_IP, path: "no-slash" }), "EINVAL")
        await rejects(request(net, { host: SERVER_IP, headers: { "Content-Length": "3" }, body: "ab" }), "EINVAL")
        await rejects(request(net, "http://device.local/"), "EINVAL", /resolve/)
        // names through the resolve hook
        const r = await request(net, "http://device.local:8080/n", { resolve: async (name) => (name === "device.local" ? 0xc6120002 : -1) })
        assert.equal(r.status, 204)
        await rejects(request(net, "http://other.local/", { resolve: async () => -1 }), "ENOTFOUND")
    })
    assert.equal(heads[0], "PUT /a?b HTTP/1.1\r\nHost: " + SERVER_IP + ":8080\r\nX-Num: 5\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    assert.equal(heads[1], "GET /p HTTP/1.1\r\nHost: named.local\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\n")
    assert.equal(heads[2], "GET /n HTTP/1.1\r\nHost: device.local:8080\r\nConnection: close\r\n\r\n")
    await assertClean(rig)
})

test("a close-delimited HTTP/1.0 response (no Content-Length) runs to the server's FIN", async () => {
    const rig = httpRig()
    const payload = randomBytes(20000, 3)
    rawServer(rig, 8080, () => Buffer.concat([Buffer.from("HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n"), payload]))
    const r = await run(rig, async () => {
        const res = await request(rig.p.clientNet, "http://" + SERVER_IP + ":8080/raw")
        return { version: res.httpVersion, length: res.contentLength, body: await res.body() }
    })
    assert.equal(r.version, "1.0")
    assert.equal(r.length, -1)
    assert.ok(r.body.equals(payload))
    await assertClean(rig)
})

test("interim 1xx responses are skipped; 101 is refused", async () => {
    const rig = httpRig()
    rawServer(rig, 8080, () => "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    rawServer(rig, 8081, () => "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n")
    await run(rig, async () => {
        const r = await request(rig.p.clientNet, "http://" + SERVER_IP + ":8080/")
        assert.equal(r.status, 200)
        assert.equal(await r.text(), "ok")
        await rejects(request(rig.p.clientNet, "http://" + SERVER_IP + ":8081/"), "EPROTO", /101/)
    })
    await assertClean(rig)
})

test("malformed responses reject with EPROTO and never hang", async () => {
    const rig = httpRig()
    // answers stay open (keepOpen): a client that waited for the close would hang until the timeout
    const heads: [string, RegExp][] = [
        ["garbage\r\n\r\n", /not an HTTP response/],
        ["HTTP/1.1 abc\r\n\r\n", /status code/],
        ["HTTP/2 200 OK\r\n\r\n", /./],
        ["HTTP/1.1 200 OK\r\nContent-Length: zz\r\n\r\n", /Content-Length/],
        ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", /Content-Length/],
        ["HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", /Transfer-Encoding/],
        ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", /Transfer-Encoding and Content-Length/],
        ["HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", /bare CR/],
        ["HTTP/1.1 200 OK\r\nBad Field\r\n\r\n", /field name/],
    ]
    // bodies that break after a good head
    const bodies = [
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", // bad chunk size
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n", // chunk longer than its size
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffff\r\n", // 9 hex digits
    ]
    // cut short by the server's close
    const closing = [
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b",
        "HTTP/1.1 200 OK\r\nContent-",
        "",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
    ]
    // one raw server; the path picks the answer: /h<i>, /b<i>, /c<i>, /big
    const pick = (head: string): string => {
        const path = head.split(" ")[1]
        const i = Number(path.slice(2))
        if (path === "/big") return "HTTP/1.1 200 OK\r\nX-Big: " + "a".repeat(5000) + "\r\n\r\n"
        if (path[1] === "h") return heads[i][0]
        if (path[1] === "b") return bodies[i]
        return closing[i]
    }
    rawServer(rig, 9000, pick, (head) => head.split(" ")[1][1] !== "c")
    const url = (path: string) => "http://" + SERVER_IP + ":9000" + path
    const t0 = rig.p.sim.now
    await run(rig, async () => {
        const net = rig.p.clientNet
        const o = { timeoutMs: 60000 }
        for (let i = 0; i < heads.length; i++) await rejects(request(net, url("/h" + i), o), "EPROTO", heads[i][1])
        for (let i = 0; i < bodies.length; i++) {
            const r = await request(net, url("/b" + i), o)
            assert.equal(r.status, 200)
            await rejects(r.body(), "EPROTO", /chunk/)
        }
        const short = await request(net, url("/c0"), o)
        await rejects(short.text(), "EPROTO", /closed inside the body/)
        await rejects(request(net, url("/c1"), o), "EPROTO", /inside the response head/)
        await rejects(request(net, url("/c2"), o), "EPROTO", /without a response/)
        const cut = await request(net, url("/c3"), o)
        await rejects(cut.body(), "EPROTO")
        await rejects(request(net, url("/big"), o), "EMSGSIZE")
    })
    // all of that without waiting for a single timeout
    assert.ok(rig.p.sim.now - t0 < 10000, "took " + (rig.p.sim.now - t0) + " ms")
    await assertClean(rig)
})

test("a server that never answers: ETIMEDOUT after timeoutMs of virtual time; a stalled body too", async () => {
    const rig = httpRig()
    rawServer(rig, 8080, () => null, true)
    rawServer(rig, 8081, () => "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst", true)
    await run(rig, async () => {
        const net = rig.p.clientNet
        let t = rig.p.sim.now
        await rejects(request(net, "http://" + SERVER_IP + ":8080/", { timeoutMs: 3000 }), "ETIMEDOUT", /within 3000 ms/)
        let took = rig.p.sim.now - t
        assert.ok(took >= 3000 && took < 3100, "head timeout took " + took)

        const r = await request(net, "http://" + SERVER_IP + ":8081/", { timeoutMs: 2000 })
        const buf = Buffer.alloc(100)
        assert.equal(await r.read(buf, 0, 100), 5)
        t = rig.p.sim.now
        await rejects(r.read(buf, 0, 100), "ETIMEDOUT")
        took = rig.p.sim.now - t
        assert.ok(took >= 2000 && took < 2100, "body timeout took " + took)
        await rejects(r.read(buf, 0, 100), "ETIMEDOUT", /./) // the failure sticks

        // nobody at that address: the connect times out
        t = rig.p.sim.now
        try {
            await request(net, "http://198.18.0.99/", { timeoutMs: 2500 })
            assert.fail("connected to nobody")
        } catch (e) {
            assert.match((e as Error).message, /ETIMEDOUT|EHOSTUNREACH/)
        }
        took = rig.p.sim.now - t
        assert.ok(took <= 2600, "connect timeout took " + took)
    })
    await assertClean(rig)
})

test("a 5% loss link: /bytes and /echo arrive intact", async () => {
    const rig = httpRig({ imp: { loss: 0.05, delayMs: 2 }, seed: 23 })
    const data = randomBytes(30000, 77)
    await run(rig, async () => {
        const net = rig.p.clientNet
        const o = { maxBodyBytes: 100000, timeoutMs: 60000 }
        const b = await (await request(net, BASE + "/bytes/60000", o)).body()
        assert.ok(b.equals(pattern(60000)))
        const e = await (await request(net, { url: BASE + "/echo", method: "POST", body: data }, o)).body()
        assert.ok(e.equals(data))
        const c = await (await request(net, { url: BASE + "/echo", method: "POST", headers: { "transfer-encoding": "chunked" }, body: data }, o)).body()
        assert.ok(c.equals(data))
    }, 600000)
    const lost = rig.p.client.tcp.counters
    assert.ok(lost.retransmits > 0 || rig.p.server.tcp.counters.retransmits > 0, "the link did lose segments")
    await assertClean(rig)
})

test("a response closed early (close()) releases the connection; reads after it fail", async () => {
    const rig = httpRig()
    await run(rig, async () => {
        const r: ClientResponse = await request(rig.p.clientNet, BASE + "/bytes/100000")
        const buf = Buffer.alloc(10)
        assert.equal(await r.read(buf, 0, 10), 10)
        r.close()
        await rejects(r.read(buf, 0, 10), "EINVAL")
    })
    await assertClean(rig)
})
