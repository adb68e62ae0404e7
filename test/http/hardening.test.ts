// Issue 13's HTTP defects through the real server on the simulator: request
// smuggling through bare LF/CR and lax chunk lines (each answered 400 and the
// connection closed, the hidden request never served), and impossible heads
// answered at once instead of at the header timeout.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { httpRig, run, connect, readToEnd, parseResponses, HttpRig } from "./rig.js"

/** Sends raw bytes and reads until the server closes; the responses and the virtual time the server took to close. */
async function probe(rig: HttpRig, raw: string): Promise<{ statuses: number[]; ms: number; closed: boolean }> {
    const sim = rig.p.sim
    return run(rig, async () => {
        const s = await connect(rig)
        const t0 = sim.now
        await s.write(Buffer.from(raw, "latin1"))
        const all = await readToEnd(s)
        const ms = sim.now - t0
        const closed = s.ended()
        s.close()
        return { statuses: parseResponses(all).map((r) => r.status), ms, closed }
    })
}

test("bare LF or CR in a head: 400 and close; the request hidden in the body is never served (defect 3)", async () => {
    const rig = httpRig()
    const hidden = "GET /bytes/7 HTTP/1.1\r\nHost: d\r\n\r\n"
    const cases = [
        // a front end that does not split on bare LF sees one field "Dummy: x\nContent-Length: 34"
        `POST /echo HTTP/1.1\r\nHost: d\r\nDummy: x\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`,
        `POST /echo HTTP/1.1\r\nHost: d\r\nx:x\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${hidden}`,
        `POST /echo HTTP/1.1\nHost: d\nContent-Length: ${hidden.length}\n\n${hidden}`,
        `POST /echo HTTP/1.1\r\nHost: d\r\nDummy: x\rContent-Length: ${hidden.length}\r\n\r\n${hidden}`,
        `GET / HTTP/1.1\r\nHost: d\r\n\n${hidden}`,
        `GET / HTTP/1.1\r\nHost: d\r\n\r\r\n${hidden}`,
    ]
    const requestsBefore = rig.server.stats.requests
    for (const raw of cases) {
        const r = await probe(rig, raw)
        assert.deepEqual(r.statuses, [400], JSON.stringify(raw))
        assert.ok(r.closed, "closed after the 400: " + JSON.stringify(raw))
    }
    assert.equal(rig.server.stats.requests, requestsBefore, "no request was served")
})

test("chunk-size lines follow the grammar: anything else is 400 and close, and counted (defect 3)", async () => {
    const rig = httpRig()
    const head = "POST /echo HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n"
    const bad = ["5\r\r;ABCD\r\nhello\r\n0\r\n\r\n", "2 erfrferferf\r\nab\r\n0\r\n\r\n", "a \r\n0123456789\r\n0\r\n\r\n", "2;\r\nab\r\n0\r\n\r\n", '2;a="b\r\nab\r\n0\r\n\r\n', "2\nab\r\n0\r\n\r\n", "2\r\nab\n0\r\n\r\n", "2\r\nab\r\n0\r\nX: y\n\r\n"]
    for (const body of bad) {
        const before = rig.server.stats.badBodies
        const r = await probe(rig, head + body)
        assert.deepEqual(r.statuses, [400], JSON.stringify(body))
        assert.ok(r.closed, JSON.stringify(body))
        assert.equal(rig.server.stats.badBodies, before + 1, "counted: " + JSON.stringify(body))
    }
    // what the grammar allows: extensions with token and quoted values, BWS around ";" and "="
    const good = ["2;a=b\r\nab\r\n0\r\n\r\n", '2 ; a = "x;\\"y" ;b\r\nab\r\n0\r\n\r\n', "2\r\nab\r\n0\r\nTrailer-X: 1\r\n\r\n"]
    for (const body of good) {
        const r = await probe(rig, head.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n") + body)
        assert.deepEqual(r.statuses, [200], JSON.stringify(body))
    }
})

test("a framing error already in the buffer is found before the 200 head goes out (defect 3)", async () => {
    const rig = httpRig()
    // /echo reads its first piece of body before it answers: the bad line after it is already here
    const r = await probe(rig, "POST /echo HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n0\r\n\r\n")
    assert.deepEqual(r.statuses, [400])
})

test("an impossible head is answered at once, not at the header timeout (defect 4)", async () => {
    const rig = httpRig()
    const cases: [string, number][] = [
        ["GET / HTTP/5.6\r\n", 505],
        ["GET / HTTP/1.1\r\n Host: d\r\n", 400],
        ["GET / HTTP/1.1\r\nHost: d\r\nContent-Length: 99999999999999999999\r\n", 400],
        ["GET / HTTP/1.1\r\nHost: d\r\nContent-Length: 1\r\nContent-Length: 2\r\n", 400],
        ["GET / HTTP/1.1\rHost: d", 400],
        ["GET / HTTP/1.1\r\nHost: d\r\nHost: e\r\n", 400],
        ["GET /\x01 HTTP/1.1\r\n", 400],
    ]
    for (const [raw, status] of cases) {
        // the blank line never comes
        const r = await probe(rig, raw)
        assert.deepEqual(r.statuses, [status], JSON.stringify(raw))
        assert.ok(r.ms < 1000, `answered after ${r.ms} ms: ${JSON.stringify(raw)}`)
    }
})
