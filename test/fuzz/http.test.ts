// The HTTP request parser fuzzed through the real server (the demo device on
// the simulator), fed by a raw ds-tcpip client:
//
//   - random byte strings, and "token soup" (HTTP-ish pieces in random order);
//   - valid requests (GET routes, POST /echo with Content-Length or chunked
//     bodies, HTTP/1.0 and 1.1, Expect: 100-continue), mutated: bytes flipped,
//     set, inserted (CR, LF, NUL, SP, ':'), deleted; truncation; duplicated
//     header lines and whole requests (pipelining); lying Content-Length;
//     broken chunk sizes; extra conflicting fields.
//
// After every input, with or without the client's FIN:
//   - no task threw (SimSocketHost.errors), no handler error (500), no
//     InternalError drop in the server's stack, and the server lets go of
//     the connection (stats.connectionsActive back to 0);
//   - the output is a sequence of well-formed HTTP/1.0 or 1.1 responses,
//     each 4xx/5xx, a 100 Continue the input asked for, or a 2xx, and there
//     are never more 2xx than well-formed request lines for real routes in
//     the input; an unmutated request gets exactly its expected answer;
//   - the server closes without a word only when the input held no complete
//     head and the client's FIN cut it short; a response is cut short only by
//     a reset (a handler that failed after its head went out).
//
// Deterministic (seed 42). FUZZ_SEED=random or FUZZ_SEED=n, FUZZ_SCALE=k as in parsers.test.ts.
import "../setup.js"
import { fuzzOptions } from "./options.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import fc from "fast-check"
import { httpRig, run, connect, pattern, HttpRig } from "../http/rig.js"
import { runAsync } from "../tcp/sim-helpers.js"
import { SimSocketHost } from "../../src/host/sim/async.js"
import { Reason } from "../../src/wire/reason.js"
import { SocketError } from "../../src/socket/socket.js"

/** The shared options; shrinking re-runs on the same rig would mostly measure the first failure's aftermath. */
function httpFuzzOptions(numRuns: number) {
    return { ...fuzzOptions(numRuns), endOnFailure: true }
}

// ---- one exchange -------------------------------------------------------------

interface Outcome {
    out: Buffer
    /** How the server's side ended: FIN, RST, or silence for 30 s (a hang). */
    end: "fin" | "reset" | "hang"
}

const SILENCE_MS = 30000

/** Sends input (cut at `cuts`, each piece its own segment, acknowledged before the next), reads all that comes back. */
async function exchangeRaw(rig: HttpRig, input: Buffer, fin: boolean, cuts: number[]): Promise<Outcome> {
    const s = await connect(rig)
    s.setNoDelay(true)
    const at = [...new Set(cuts.map((c) => c % input.length).filter((c) => c > 0))].sort((a, b) => a - b)
    at.push(input.length)
    // the writer runs beside the reader: the server may answer (and close) before it has read everything
    void (async () => {
        try {
            let from = 0
            for (const to of at) {
                await s.write(input, from, to - from)
                if (to < input.length) await s.drain()
                from = to
            }
            if (fin) s.shutdown()
        } catch (e) {
            // the server closed first
        }
    })()
    const parts: Buffer[] = []
    const buf = Buffer.alloc(4096)
    let end: Outcome["end"] = "fin"
    let total = 0
    try {
        for (;;) {
            const n = await s.read(buf, 0, buf.length, SILENCE_MS)
            if (n === 0) {
                end = s.ended() ? "fin" : "hang"
                break
            }
            parts.push(Buffer.from(buf.subarray(0, n)))
            total += n
            if (total > 4 * 1024 * 1024) throw new Error("more than 4 MiB back")
        }
    } catch (e) {
        if (!(e instanceof SocketError) || (e as SocketError).code !== "ECONNRESET") throw e
        end = "reset"
    }
    s.abort()
    return { out: Buffer.concat(parts), end }
}

// ---- the oracle ---------------------------------------------------------------

interface Resp {
    version: string
    status: number
    headers: Record<string, string>
    body: Buffer
    /** The body was cut short. */
    truncated: boolean
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** Parses the server's output strictly; a truncated final body is reported, not thrown. */
function parseOutput(all: Buffer): Resp[] {
    const out: Resp[] = []
    let at = 0
    while (at < all.length) {
        const end = all.indexOf("\r\n\r\n", at)
        assert.ok(end >= 0, "incomplete response head: " + JSON.stringify(all.toString("latin1", at, at + 200)))
        const lines = all.toString("latin1", at, end).split("\r\n")
        const m = /^HTTP\/(1\.[01]) (\d{3}) [ -~]*$/.exec(lines[0])
        assert.ok(m, "status line: " + JSON.stringify(lines[0]))
        const headers: Record<string, string> = {}
        for (const l of lines.slice(1)) {
            const c = l.indexOf(": ")
            assert.ok(c > 0 && TOKEN.test(l.slice(0, c)), "field: " + JSON.stringify(l))
            assert.ok(/^[ -~\t]*$/.test(l.slice(c + 2)), "field value: " + JSON.stringify(l))
            const name = l.slice(0, c).toLowerCase()
            assert.equal(headers[name], undefined, "repeated field " + name)
            headers[name] = l.slice(c + 2)
        }
        at = end + 4
        const status = Number(m[2])
        let body: Buffer = Buffer.alloc(0)
        let truncated = false
        if (status === 204 || status === 304 || status < 200) {
            // no body
        } else if (headers["transfer-encoding"] !== undefined) {
            assert.equal(headers["transfer-encoding"], "chunked")
            assert.equal(headers["content-length"], undefined, "both framings")
            const parts: Buffer[] = []
            for (;;) {
                const le = all.indexOf("\r\n", at)
                if (le < 0) {
                    truncated = true
                    at = all.length
                    break
                }
                const sizeText = all.toString("latin1", at, le)
                assert.match(sizeText, /^[0-9a-f]{1,8}$/, "chunk size")
                const size = parseInt(sizeText, 16)
                at = le + 2
                if (size === 0) {
                    assert.equal(all.toString("latin1", at, at + 2), "\r\n", "end of the chunked body")
                    at += 2
                    break
                }
                if (at + size + 2 > all.length) {
                    truncated = true
                    at = all.length
                    break
                }
                parts.push(all.subarray(at, at + size))
                at += size
                assert.equal(all.toString("latin1", at, at + 2), "\r\n", "end of a chunk")
                at += 2
            }
            body = Buffer.concat(parts)
        } else if (headers["content-length"] !== undefined) {
            const n = contentLength(headers["content-length"])
            body = all.subarray(at, at + n)
            truncated = body.length < n
            at += body.length
        } else {
            // close-delimited: only HTTP/1.0 or a response that closes
            assert.ok(m[1] === "1.0" || headers["connection"] === "close", "unframed body on a persistent connection")
            body = all.subarray(at)
            at = all.length
        }
        out.push({ version: m[1], status, headers, body, truncated })
    }
    return out
}

/** A Content-Length value: digits only (RFC 9110 §8.6: a sender never sends a list). */
function contentLength(v: string): number {
    assert.match(v, /^\d+$/, "Content-Length " + JSON.stringify(v))
    return Number(v)
}

/**
 * Request lines the demo answers 2xx to (method, route, version), counted
 * anywhere in the input. HTTP/1.x with any minor version is served as 1.1
 * (RFC 9110 §2.5).
 */
function validRequestLines(input: Buffer): number {
    const s = input.toString("latin1")
    const re = /(GET \/(bytes\/\d+|status)?|POST \/echo)(\?[!-~]*)? HTTP\/1\.\d\r?\n/g
    let n = 0
    while (re.exec(s)) n++
    return n
}

/** A blank line ends a head somewhere after the empty lines a request may start with (RFC 9112 §2.2). */
function hasCompleteHead(input: Buffer): boolean {
    let i = 0
    while (input[i] === 13 && input[i + 1] === 10) i += 2
    for (; i < input.length; i++) {
        if (input[i] !== 10) continue
        if (input[i + 1] === 10) return true
        if (input[i + 1] === 13 && input[i + 2] === 10) return true
    }
    return false
}

interface Expected {
    status: number
    body?: Buffer
}

async function check(rig: HttpRig, input: Buffer, fin: boolean, cuts: number[], expected?: Expected): Promise<void> {
    const what = () => JSON.stringify({ input: input.toString("latin1"), fin, cuts })
    const o = await run(rig, () => exchangeRaw(rig, input, fin, cuts), 200000)
    // the server lets go of the connection and nothing went wrong inside it
    await runAsync(rig.p.sim, () => rig.server.stats.connectionsActive === 0, 60000)
    assert.equal(rig.server.stats.connectionsActive, 0, "the server is still serving: " + what())
    assert.deepEqual((rig.p.serverNet.host as SimSocketHost).errors, [], "a task threw: " + what())
    assert.equal(rig.server.stats.handlerErrors, 0, "a handler error: " + what())
    assert.equal(rig.p.server.counters.drops[Reason.InternalError], 0, "an InternalError drop: " + what())
    assert.notEqual(o.end, "hang", "the server neither answered nor closed in " + SILENCE_MS + " ms: " + what())

    let rs: Resp[]
    try {
        rs = parseOutput(o.out)
    } catch (e) {
        throw new Error((e as Error).message + "\n  output " + JSON.stringify(o.out.toString("latin1").slice(0, 600)) + "\n  " + what())
    }
    if (rs.length === 0) {
        assert.ok(fin && !hasCompleteHead(input), "closed without an answer (" + o.end + "): " + what())
        return
    }
    let ok2xx = 0
    for (let i = 0; i < rs.length; i++) {
        const r = rs[i]
        if (r.truncated) assert.ok(o.end === "reset" && i === rs.length - 1, "a body cut short without a reset: " + what())
        if (r.status === 100) {
            assert.match(input.toString("latin1"), /100-continue/i, "an unasked 100 Continue: " + what())
            continue
        }
        if (r.status >= 200 && r.status < 300) {
            ok2xx++
            continue
        }
        assert.ok(r.status >= 400 && r.status < 600, "status " + r.status + ": " + what())
    }
    assert.ok(ok2xx <= validRequestLines(input), ok2xx + " 2xx answers to " + validRequestLines(input) + " valid request lines: " + what())
    if (expected) {
        const finals = rs.filter((r) => r.status !== 100)
        assert.equal(finals.length, 1, "one answer: " + what())
        assert.equal(finals[0].status, expected.status, what())
        assert.ok(!finals[0].truncated)
        if (expected.body) assert.ok(finals[0].body.equals(expected.body), "the expected body: " + what())
    }
}

// ---- valid requests and their mutations -------------------------------------------

interface Base {
    kind: "get" | "echoLength" | "echoChunked"
    path: string
    http10: boolean
    close: boolean
    expect: boolean
    body: Uint8Array
    chunkSizes: number[]
}

const PATHS = ["/", "/bytes/0", "/bytes/17", "/bytes/1000", "/status", "/nowhere", "/bytes/x", "/echo"]

const base: fc.Arbitrary<Base> = fc.record({
    kind: fc.constantFrom("get", "echoLength", "echoChunked") as fc.Arbitrary<Base["kind"]>,
    path: fc.constantFrom(...PATHS),
    http10: fc.boolean(),
    close: fc.boolean(),
    expect: fc.boolean(),
    body: fc.uint8Array({ maxLength: 400 }),
    chunkSizes: fc.array(fc.integer({ min: 1, max: 120 }), { maxLength: 4 }),
})

function build(b: Base): { bytes: Buffer; expected: Expected } {
    const version = b.http10 && b.kind !== "echoChunked" ? "1.0" : "1.1"
    let head = ""
    let body = Buffer.alloc(0)
    let expected: Expected
    const fields = ["Host: device"]
    if (b.close) fields.push("Connection: close")
    if (b.kind === "get") {
        head = "GET " + b.path + " HTTP/" + version + "\r\n"
        if (b.path === "/bytes/0" || b.path === "/bytes/17" || b.path === "/bytes/1000") expected = { status: 200, body: pattern(Number(b.path.slice(7))) }
        else if (b.path === "/" || b.path === "/status") expected = { status: 200 }
        else if (b.path === "/bytes/x") expected = { status: 400 }
        else if (b.path === "/echo") expected = { status: 405 }
        else expected = { status: 404 }
    } else {
        head = "POST /echo HTTP/" + version + "\r\n"
        if (b.expect && version === "1.1") fields.push("Expect: 100-continue")
        const data = Buffer.from(b.body)
        expected = { status: 200, body: data }
        if (b.kind === "echoLength") {
            fields.push("Content-Length: " + data.length)
            body = data
        } else {
            fields.push("Transfer-Encoding: chunked")
            const pieces: Buffer[] = []
            let at = 0
            for (const size of b.chunkSizes) {
                if (at >= data.length) break
                const k = Math.min(size, data.length - at)
                pieces.push(Buffer.from(k.toString(16) + "\r\n"), data.subarray(at, at + k), Buffer.from("\r\n"))
                at += k
            }
            if (at < data.length) pieces.push(Buffer.from((data.length - at).toString(16) + "\r\n"), data.subarray(at), Buffer.from("\r\n"))
            pieces.push(Buffer.from("0\r\n\r\n"))
            body = Buffer.concat(pieces)
        }
    }
    head += fields.join("\r\n") + "\r\n\r\n"
    return { bytes: Buffer.concat([Buffer.from(head, "latin1"), body]), expected }
}

type Mutation = { op: number; pos: number; val: number }

const mutation: fc.Arbitrary<Mutation> = fc.record({ op: fc.integer({ min: 0, max: 10 }), pos: fc.nat(), val: fc.nat() })

const SPECIAL = [13, 10, 0, 32, 58, 9, 0x7f, 0xff]
const LIES = ["0", "1", "5", "99999", "99999999999999999", "-1", "1e3", "0x10", " 7 ", "5, 6", "", "4294967296"]
const BAD_SIZES = ["zz", "fffffffff", "-1", "0x5", "", " 5", "5 ;ext=1", "ffffffff", "1\r\n\r\n", "5\n"]
const EXTRA = [
    "Transfer-Encoding: chunked",
    "Transfer-Encoding: gzip",
    "Transfer-Encoding: chunked, chunked",
    "Content-Length: 3",
    "Content-Length: 3\r\nContent-Length: 4",
    "Host: other",
    "Expect: 100-continue",
    "Expect: nope",
    "Connection: close",
    "Connection: keep-alive, close",
    "X: \u0000",
    " folded",
    "Bad Name: x",
    "X-Long: " + "a".repeat(1500),
]

function lineStarts(s: string): number[] {
    const out: number[] = []
    for (let i = s.indexOf("\n"); i >= 0 && i + 1 < s.length; i = s.indexOf("\n", i + 1)) out.push(i + 1)
    return out
}

/** One mutation of the request text (latin1, one char per byte). */
function mutate(s: string, original: string, m: Mutation): string {
    const len = s.length
    const p = len ? m.pos % len : 0
    switch (m.op) {
        case 0: // flip a bit
            return len ? s.slice(0, p) + String.fromCharCode(s.charCodeAt(p) ^ (1 << (m.val & 7))) + s.slice(p + 1) : s
        case 1: // set a byte
            return len ? s.slice(0, p) + String.fromCharCode(m.val & 0xff) + s.slice(p + 1) : s
        case 2: // insert CR, LF, NUL, SP, ':' ...
            return s.slice(0, p) + String.fromCharCode(SPECIAL[m.val % SPECIAL.length]) + s.slice(p)
        case 3: // delete a few bytes
            return s.slice(0, p) + s.slice(p + 1 + (m.val % 8))
        case 4: // truncate
            return s.slice(0, p)
        case 5: {
            // duplicate a header line
            const starts = lineStarts(s)
            if (starts.length < 2) return s
            const a = starts[m.val % (starts.length - 1)]
            const b = s.indexOf("\n", a)
            return b < 0 ? s : s.slice(0, b + 1) + s.slice(a, b + 1) + s.slice(b + 1)
        }
        case 6: // pipeline: the original request again
            return s + original
        case 7: {
            // a lying Content-Length
            const lie = LIES[m.val % LIES.length]
            const i = s.toLowerCase().indexOf("content-length:")
            if (i >= 0) {
                const e = s.indexOf("\r\n", i)
                return s.slice(0, i) + "Content-Length: " + lie + (e >= 0 ? s.slice(e) : "")
            }
            const f = s.indexOf("\r\n")
            return f < 0 ? s : s.slice(0, f + 2) + "Content-Length: " + lie + s.slice(f)
        }
        case 8: {
            // a broken chunk size: the first size line after the head, or any line
            const h = s.indexOf("\r\n\r\n")
            if (h < 0) return s
            const starts = lineStarts(s).filter((x) => x >= h + 4)
            if (starts.length === 0) return s
            const a = starts[m.val % starts.length]
            const e = s.indexOf("\r\n", a)
            return s.slice(0, a) + BAD_SIZES[m.val % BAD_SIZES.length] + (e >= 0 ? s.slice(e) : "")
        }
        case 9: {
            // an extra field after the request line
            const f = s.indexOf("\r\n")
            return f < 0 ? s : s.slice(0, f + 2) + EXTRA[m.val % EXTRA.length] + "\r\n" + s.slice(f + 2)
        }
        default: {
            // a random byte somewhere
            return s.slice(0, p) + String.fromCharCode(m.val & 0xff) + s.slice(p)
        }
    }
}

const TOKENS = [
    "GET", "POST", "PUT", " ", "  ", "/", "/echo", "/bytes/", "/status", "7", "0", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.",
    "\r\n", "\n", "\r", "\r\n\r\n", ":", ": ", "Host", "Host: d", "Content-Length", "Content-Length: 4", "Transfer-Encoding",
    "Transfer-Encoding: chunked", "chunked", "Expect: 100-continue", "Connection: close", "5", "ffffffff", "abc", ";", "\t", "\0", "\x7f", "\xff", ",",
]

// ---- the properties -----------------------------------------------------------------

/** Shorter server timeouts: inputs cut short cost less virtual time. */
const TIMEOUTS = { headerTimeoutMs: 3000, bodyTimeoutMs: 3000, keepAliveTimeoutMs: 2000 }

/** Where the input is cut into segments (none for half the runs). */
const cuts = fc.oneof(fc.constant([] as number[]), fc.array(fc.nat(), { minLength: 1, maxLength: 5 }))

test("fuzz: random bytes and token soup never break the server", async () => {
    const rig = httpRig({ demo: { http: TIMEOUTS } })
    const input = fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => Buffer.from(a)),
        fc.array(fc.constantFrom(...TOKENS), { minLength: 1, maxLength: 40 }).map((t) => Buffer.from(t.join(""), "latin1")),
    )
    await fc.assert(
        fc.asyncProperty(input, fc.boolean(), cuts, async (bytes, fin, at) => {
            await check(rig, bytes, fin, at)
        }),
        httpFuzzOptions(500),
    )
})

function mutatedRequests(rig: HttpRig, numRuns: number, checkExpected: boolean): Promise<void> {
    return fc.assert(
        fc.asyncProperty(base, fc.array(mutation, { maxLength: 3 }), fc.boolean(), cuts, async (b, muts, fin, at) => {
            const { bytes, expected } = build(b)
            const original = bytes.toString("latin1")
            let s = original
            for (const m of muts) s = mutate(s, original, m)
            const input = Buffer.from(s, "latin1")
            if (input.length === 0) return
            await check(rig, input, fin, at, muts.length === 0 && checkExpected ? expected : undefined)
        }),
        httpFuzzOptions(numRuns),
    )
}

test("fuzz: valid requests are answered as expected; mutated ones never break the server", async () => {
    const rig = httpRig({ demo: { http: TIMEOUTS } })
    await mutatedRequests(rig, 1000, true)
})

test("fuzz: mutated requests against small limits (head 200 bytes, body 100 bytes, 4 fields)", async () => {
    const rig = httpRig({ demo: { http: { ...TIMEOUTS, maxHeaderBytes: 200, maxBodyBytes: 100, maxHeaders: 4 } } })
    await mutatedRequests(rig, 500, false)
})

// ---- what the fuzzer found ------------------------------------------------------------

test("POST /echo with a repeated Content-Length answers one value, not the joined field", async () => {
    const rig = httpRig()
    const o = await run(rig, () => exchangeRaw(rig, Buffer.from("POST /echo HTTP/1.1\r\nHost: d\r\nContent-Length: 4\r\ncontent-length: 04\r\nConnection: close\r\n\r\nping"), true, []))
    const text = o.out.toString("latin1")
    assert.match(text, /^HTTP\/1\.1 200 /)
    // RFC 9110 §8.6: Content-Length = 1*DIGIT; a sender must not generate a list
    assert.match(text, /\r\nContent-Length: 4\r\n/, JSON.stringify(text))
})

test("an HTTP/1.0 request with Transfer-Encoding closes the connection after its answer (RFC 9112 §6.1)", async () => {
    const rig = httpRig()
    const raw = "GET /bytes/2 HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n0\r\n\r\nGET /bytes/3 HTTP/1.0\r\n\r\n"
    const o = await run(rig, () => exchangeRaw(rig, Buffer.from(raw, "latin1"), true, []))
    const rs = parseOutput(o.out)
    assert.equal(rs.length, 1, "answers after the faulty framing: " + rs.length)
})
