// The request-head parser on bytes (line by line, resumable), the chunk-size
// line grammar, and the client's end-of-head scan.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import fc from "fast-check"
import { RequestHead, countListed, findHeadEnd, parseHead, parseHex, parseDecimal, parseChunkLine } from "../../src/http/parser.js"

function parse(raw: string): { status: number; head: RequestHead } {
    const b = Buffer.from(raw, "latin1")
    const head = new RequestHead()
    return { status: parseHead(b, 0, b.length, 32, head), head }
}

/** Feeds the head a byte at a time (as a slow client would); the status and how many bytes it took to decide. */
function parseByBytes(raw: string): { status: number; at: number } {
    const b = Buffer.from(raw, "latin1")
    const head = new RequestHead()
    for (let end = 1; end <= b.length; end++) {
        const status = parseHead(b, 0, end, 32, head)
        if (status >= 0) return { status, at: end }
    }
    return { status: -1, at: b.length }
}

test("request line, fields, framing and connection semantics", () => {
    const { status, head } = parse("POST /echo?x=1 HTTP/1.1\r\nHost: dev\r\nContent-Length: 12\r\nX-A:  spaced value \t\r\nConnection: close\r\n\r\n")
    assert.equal(status, 0)
    assert.equal(head.method, "POST")
    assert.equal(head.url, "/echo?x=1")
    assert.equal(head.path, "/echo")
    assert.equal(head.query, "x=1")
    assert.equal(head.httpVersion, "1.1")
    assert.equal(head.contentLength, 12)
    assert.equal(head.headers["x-a"], "spaced value")
    assert.equal(head.keepAlive, false)
    const h10 = parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert.equal(h10.status, 0)
    assert.equal(h10.head.keepAlive, true)
    assert.equal(parse("GET / HTTP/1.0\r\n\r\n").head.keepAlive, false)
    assert.equal(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next").head.parsed, 27, "the head's length; what follows is not read")
    assert.equal(parse("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n").status, 0, "a leading empty line is ignored")
})

test("malformed heads get the right status", () => {
    assert.equal(parse("GET / HTTP/1.1\r\n\r\n").status, 400, "no Host")
    assert.equal(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").status, 400, "two Hosts")
    assert.equal(parse("GET  / HTTP/1.1\r\nHost: a\r\n\r\n").status, 400)
    assert.equal(parse("GET / HTTP/3.0\r\nHost: a\r\n\r\n").status, 505)
    assert.equal(parse("GET / HTTX/1.1\r\nHost: a\r\n\r\n").status, 400)
    assert.equal(parse("G(T / HTTP/1.1\r\nHost: a\r\n\r\n").status, 400)
    assert.equal(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n").status, 400)
    assert.equal(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n").status, 400)
    assert.equal(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n").status, 0)
    assert.equal(parse("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n").status, 501)
    assert.equal(parse("GET / HTTP/1.1\r\nHost: a\r\nExpect: x\r\n\r\n").status, 417)
    assert.equal(parse("GET / HTTP/1.1\r\nHost: a\r\nX: a\u0001b\r\n\r\n").status, 400, "control characters")
    const many = "GET / HTTP/1.1\r\nHost: a\r\n" + "X: 1\r\n".repeat(40) + "\r\n"
    assert.equal(parse(many).status, 431)
    assert.equal(parse("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n").status, 400, "chunked twice")
    assert.equal(parse("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked ,\tchunked\r\n\r\n").status, 400, "chunked twice in one field")
    assert.equal(parse("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip,chunked\r\n\r\n").status, 501)
    // empty list elements are ignored (RFC 9110 §5.6.1.2); a field with no coding is not chunked
    const trailing = parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked ,\r\n\r\n")
    assert.equal(trailing.status, 0)
    assert.equal(trailing.head.chunked, true)
    assert.equal(parse("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,\r\n\r\n").status, 400)
    assert.equal(parse("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n").status, 400)
})

test("countListed: comma lists with OWS around the elements (RFC 9110 §5.6.1)", () => {
    assert.equal(countListed("keep-alive, upgrade", "upgrade"), 1)
    assert.equal(countListed("upgrade", "upgrade"), 1)
    assert.equal(countListed(" a ,\tb,a,, ", "a"), 2)
    assert.equal(countListed(" a ,\tb,a,, ", null), 3, "empty elements are not counted")
    assert.equal(countListed("", null), 0)
    assert.equal(countListed("", "a"), 0)
    assert.equal(countListed("upgrades", "upgrade"), 0)
    // Connection: close wins over keep-alive in one field, whatever the order
    assert.equal(parse("GET / HTTP/1.0\r\nConnection: close, keep-alive\r\n\r\n").head.keepAlive, false)
    assert.equal(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive , close\r\n\r\n").head.keepAlive, false)
    assert.equal(parse("GET / HTTP/1.0\r\nConnection: x, Keep-Alive\r\n\r\n").head.keepAlive, true)
    assert.equal(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, close\r\n\r\n").head.keepAlive, false)
})

test("bare LF and bare CR are errors anywhere in the head, not line ends (request smuggling)", () => {
    for (const raw of [
        "GET / HTTP/1.1\nHost: a\n\n",
        "GET / HTTP/1.1\r\nHost: a\n\r\n",
        "GET / HTTP/1.1\r\nDummy: x\nContent-Length: 23\r\n\r\n",
        "GET / HTTP/1.1\r\nx:x\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n",
        "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\r\nHost: a\r\n\r\n",
    ]) {
        assert.equal(parse(raw).status, 400, JSON.stringify(raw))
    }
})

test("each line is judged as it completes: bad heads are decided before their blank line", () => {
    const cases: [string, number, string][] = [
        ["GET / HTTP/5.6\r\n", 505, "GET / HTTP/5.6\r\n"],
        ["GET / HTTP/1.1\r\n Host: a\r\n", 400, "GET / HTTP/1.1\r\n "],
        ["GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 12345678901234567890\r\n", 400, "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 12345678901234567890\r\n"],
        ["GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n", 400, "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n"],
        ["GET / HTTP/1.1\rHost", 400, "GET / HTTP/1.1\rH"],
        ["GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n", 400, "GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n"],
    ]
    for (const [raw, status, decidedAfter] of cases) {
        assert.deepEqual(parseByBytes(raw), { status, at: decidedAfter.length }, JSON.stringify(raw))
    }
})

test("fed in any pieces, the parser decides what it decides on the whole head (property)", () => {
    const piece = fc.constantFrom("GET / HTTP/1.1", "POST /echo HTTP/1.0", "Host: a", "Content-Length: 5", "Transfer-Encoding: chunked", "X:y", " ", "\t", "\r", "\n", "\r\n", "\r\n\r\n", ":", "a")
    fc.assert(
        fc.property(fc.array(piece, { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }), (parts, steps) => {
            const b = Buffer.from(parts.join("") + "\r\n\r\n", "latin1")
            const whole = new RequestHead()
            const want = parseHead(b, 0, b.length, 8, whole)
            const head = new RequestHead()
            let got = -1
            for (let end = 0, k = 0; end < b.length && got < 0; k++) {
                end = Math.min(b.length, end + steps[k % steps.length])
                got = parseHead(b, 0, end, 8, head)
            }
            assert.equal(got, want)
            if (want === 0) {
                assert.equal(head.parsed, whole.parsed)
                assert.deepEqual([head.method, head.url, head.headers, head.contentLength, head.chunked], [whole.method, whole.url, whole.headers, whole.contentLength, whole.chunked])
            }
        }),
        { seed: 9, numRuns: 3000 },
    )
})

test("chunk-size lines: hex digits, extensions with token or quoted-string values, nothing else", () => {
    const size = (s: string) => parseChunkLine(Buffer.from(s, "latin1"), 0, s.length)
    assert.equal(size("1aF"), 0x1af)
    assert.equal(size("0"), 0)
    assert.equal(size("5;name"), 5)
    assert.equal(size("5;name=value;other"), 5)
    assert.equal(size("5 ; name = value"), 5, "BWS around ; and = (RFC 9112 §7.1.1)")
    assert.equal(size('5;name="quoted \\" ; value"'), 5)
    for (const bad of ["", "x", "2 erfrferferf", "a ", "2;", "2; ", "2;=v", "2;n=", '2;n="open', '2;n="x"y', "2;n=v w", "5\r", "123456789", "-1", "0x5", "5;n=v;"]) {
        assert.equal(size(bad), -1, JSON.stringify(bad))
    }
})

test("findHeadEnd: fed a byte at a time it finds the same end as one scan (property)", () => {
    fc.assert(
        fc.property(fc.array(fc.constantFrom("a", ":", " ", "\r", "\n", "\r\n", "\n\n", "\r\n\r\n"), { maxLength: 60 }), (parts) => {
            const b = Buffer.from(parts.join(""), "latin1")
            const whole = findHeadEnd(b, 0, b.length, 0)
            let found = -1
            let scanned = 0
            for (let end = 1; end <= b.length && found < 0; end++) {
                found = findHeadEnd(b, 0, end, scanned)
                scanned = end
            }
            assert.equal(found, whole)
        }),
        { seed: 7, numRuns: 3000 },
    )
})

test("parseHead never throws and answers 0 or an HTTP status (property)", () => {
    fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
            const b = Buffer.concat([Buffer.from(bytes), Buffer.from("\r\n\r\n")])
            const status = parseHead(b, 0, b.length, 8, new RequestHead())
            assert.ok(status === -1 || status === 0 || (status >= 400 && status < 600))
        }),
        { seed: 8, numRuns: 3000 },
    )
})

test("numbers: decimal and chunk-size hex", () => {
    assert.equal(parseDecimal("0"), 0)
    assert.equal(parseDecimal("123456"), 123456)
    assert.equal(parseDecimal(""), -1)
    assert.equal(parseDecimal("1 "), -1)
    assert.equal(parseDecimal("+1"), -1)
    const h = Buffer.from("1aF;")
    assert.equal(parseHex(h, 0, 3), 0x1af)
    assert.equal(parseHex(h, 0, 4), -1)
    assert.equal(parseHex(Buffer.from("123456789"), 0, 9), -1, "more than 8 digits")
})
