// The request-head parser on bytes, and its incremental end-of-head scan.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import fc from "fast-check"
import { RequestHead, findHeadEnd, parseHead, parseHex, parseDecimal } from "../../src/http/parser.js"

function parse(raw: string): { status: number; head: RequestHead } {
    const b = Buffer.from(raw, "latin1")
    const end = findHeadEnd(b, 0, b.length, 0)
    assert.ok(end > 0, "complete head")
    const head = new RequestHead()
    return { status: parseHead(b, 0, end, 32, head), head }
}

test("request line, fields, framing and connection semantics", () => {
    const { status, head } = parse("POST /echo?x=1 HTTP/1.1\r\nHost: dev\r\nContent-Length: 12\r\nX-A:  spaced value \t\r\nConnection: close\r\n\r\n")
    assert.equal(status, 0)
    assert.equal(head.method, "POST")
    assert.equal(head.target, "/echo?x=1")
    assert.equal(head.version, 11)
    assert.equal(head.contentLength, 12)
    assert.equal(head.header("x-a"), "spaced value")
    assert.equal(head.keepAlive, false)
    const h10 = parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert.equal(h10.status, 0)
    assert.equal(h10.head.keepAlive, true)
    assert.equal(parse("GET / HTTP/1.0\r\n\r\n").head.keepAlive, false)
    assert.equal(parse("GET / HTTP/1.1\nHost: a\n\n").status, 0, "bare LF line ends (RFC 9112 §2.2)")
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
            const end = findHeadEnd(b, 0, b.length, 0)
            const status = parseHead(b, 0, end, 8, new RequestHead())
            assert.ok(status === 0 || (status >= 400 && status < 600))
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
