// Request smuggling, fuzzed from a grammar (issue 13): messages built from
// RFC 9112's grammar with mutations where parsers disagree — line ends (bare
// LF, bare CR, CR CR LF), whitespace (before a field name, before the colon,
// around values), obs-fold, duplicate and conflicting framing fields
// (Content-Length twice, Content-Length with Transfer-Encoding, chunked twice,
// unknown codings), odd Content-Length and chunk-size syntax. Every body
// carries a complete request for /smuggled.
//
// Each mutation is known to keep the message valid or to break it, so the
// oracle is exact: messages are answered in order, each valid one exactly once
// (POST /echo returns its body, GET /bytes/5 its five bytes); the first
// invalid one gets a 4xx/5xx and the connection closes; /smuggled is never
// served, whatever the input.
//
// Deterministic (seed 42); FUZZ_SEED / FUZZ_SCALE as in options.ts.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import fc from "fast-check"
import { fuzzOptions } from "./options.js"
import { httpRig, run, connect, readToEnd, parseResponses, pattern } from "../http/rig.js"

const SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: d\r\n\r\n"

/** [text, keeps the message valid] */
type Variant = [string, boolean]

// Content-Length values for a body of n bytes (RFC 9110 §8.6: 1*DIGIT; OWS around a field value is not part of it)
const lengthForms = (n: number): Variant[] => [
    [`${n}`, true],
    [` ${n}`, true],
    [`${n}\t`, true],
    [`0${n}`, true],
    [`+${n}`, false],
    [`${n}, ${n}`, false],
    [`${n + 1}, ${n}`, false],
    [`0x${n.toString(16)}`, false],
    [`${n}e0`, false],
    ["", false],
    [`-${n}`, false],
    ["99999999999999999999", false],
]

const codingForms: Variant[] = [
    ["chunked", true],
    ["Chunked", true],
    [" CHUNKED ", true],
    ["chunked, chunked", false],
    ["gzip, chunked", false],
    ["chunked, gzip", false],
    ["identity", false],
    ["chunked\u000b", false],
    ["x-chunked", false],
    ["", false],
]

/** Chunk-size line forms for size s (the CRLF after it is added by the line-end rule). */
const chunkForms = (s: number): Variant[] => [
    [s.toString(16), true],
    [s.toString(16).toUpperCase(), true],
    ["0" + s.toString(16), true],
    [s.toString(16) + ";name", true],
    [s.toString(16) + ' ; n = "q\\"x"', true],
    [s.toString(16) + " ", false],
    [s.toString(16) + ";", false],
    [s.toString(16) + " junk", false],
    [s.toString(16) + ';n="open', false],
    [(s + 1).toString(16), false],
    ["-" + s.toString(16), false],
]

const lineEnds: Variant[] = [
    ["\r\n", true],
    ["\n", false],
    ["\r", false],
    ["\r\r\n", false],
    ["\n\r", false],
]

interface Spec {
    framing: "length" | "chunked" | "none"
    filler: number
    lengthForm: number
    codingForm: number
    chunkForms: number[]
    /** extra fields: indexes into extras() */
    extras: number[]
    /** a line end of the head replaced: [line index, form] */
    lineEnd: [number, number] | null
    chunkLineEnd: number
    requestLine: number
}

/** Extra fields and whether the message stays valid with them, given its framing and body length. */
function extras(framing: Spec["framing"], n: number): Variant[] {
    return [
        ["X-A: 1", true],
        ["X-B:\tspaced value \t", true],
        ["X-C: 1\r\n folded", false], // obs-fold (RFC 9112 §5.2: a server may reject it; we do)
        [" X-D: 1", false], // whitespace before a field name
        ["X-E : 1", false], // whitespace before the colon (§5.1)
        ["Host: other", false], // a second Host (§3.2)
        [`Content-Length: ${n}`, framing === "length"], // the same length again is allowed; with chunked it is not
        [`Content-Length: ${n + 3}`, false],
        ["Transfer-Encoding: chunked", false], // chunked twice, or with Content-Length
        ["X-F: a\u0000b", false],
        ["X-G: a\u007fb", false],
    ]
}

const requestLines: Variant[] = [
    ["{M} {T} HTTP/1.1", true],
    ["{M}  {T} HTTP/1.1", false],
    ["{M} {T} HTTP/1.1 ", false],
    ["{M} {T}  HTTP/1.1", false],
    ["{M} {T} HTTP/1.10", false],
    ["{M} {T} http/1.1", false],
    [" {M} {T} HTTP/1.1", false],
]

/** Builds the message: its bytes, whether it is valid, and what a valid one is answered with. */
function build(spec: Spec, seedByte: number): { bytes: Buffer; valid: boolean; body: Buffer } {
    let valid = true
    const n = SMUGGLED.length + spec.filler
    const content = Buffer.concat([Buffer.from(SMUGGLED), Buffer.alloc(spec.filler, 0x61 + (seedByte % 26))])
    const get = spec.framing === "none"
    const [rl, rlOk] = requestLines[spec.requestLine % requestLines.length]
    valid = valid && rlOk
    const lines = [rl.replace("{M}", get ? "GET" : "POST").replace("{T}", get ? "/bytes/5" : "/echo"), "Host: d"]
    if (spec.framing === "length") {
        const [v, ok] = lengthForms(n)[spec.lengthForm % lengthForms(n).length]
        lines.push("Content-Length: " + v)
        valid = valid && ok
    } else if (spec.framing === "chunked") {
        const [v, ok] = codingForms[spec.codingForm % codingForms.length]
        lines.push("Transfer-Encoding: " + v)
        valid = valid && ok
    }
    const ex = extras(spec.framing, n)
    for (const i of spec.extras) {
        const [v, ok] = ex[i % ex.length]
        // a GET with no framing of its own: framing fields would give it a body; keep to the plain ones
        if (get && /^(Content-Length|Transfer-Encoding)/.test(v)) continue
        lines.push(v)
        valid = valid && ok
    }
    lines.push("") // the blank line
    const ends = lines.map((): string => "\r\n")
    if (spec.lineEnd) {
        const [at, form] = spec.lineEnd
        const [e, ok] = lineEnds[form % lineEnds.length]
        ends[at % ends.length] = e
        valid = valid && ok
    }
    let head = ""
    for (let i = 0; i < lines.length; i++) head += lines[i] + ends[i]
    let body: Buffer
    if (spec.framing === "length") body = content
    else if (spec.framing === "chunked") {
        // the content in up to three chunks, then the last chunk and the end of the trailers
        const parts: Buffer[] = []
        const cuts = [0, Math.min(n, 7), Math.min(n, 20), n].filter((v, i, a) => i === 0 || v > a[i - 1])
        for (let i = 1; i < cuts.length; i++) {
            const size = cuts[i] - cuts[i - 1]
            const form = spec.chunkForms[(i - 1) % spec.chunkForms.length] ?? 0
            const [v, ok] = chunkForms(size)[form % chunkForms(size).length]
            valid = valid && ok
            const [e, eok] = i === 1 ? lineEnds[spec.chunkLineEnd % lineEnds.length] : lineEnds[0]
            valid = valid && eok
            parts.push(Buffer.from(v + e), content.subarray(cuts[i - 1], cuts[i]), Buffer.from("\r\n"))
        }
        parts.push(Buffer.from("0\r\n\r\n"))
        body = Buffer.concat(parts)
    } else body = Buffer.alloc(0)
    return { bytes: Buffer.concat([Buffer.from(head, "latin1"), body]), valid, body: get ? pattern(5) : content }
}

const spec: fc.Arbitrary<Spec> = fc.record({
    framing: fc.constantFrom<Spec["framing"]>("length", "chunked", "none"),
    filler: fc.integer({ min: 0, max: 40 }),
    lengthForm: fc.oneof(fc.constant(0), fc.nat()),
    codingForm: fc.oneof(fc.constant(0), fc.nat()),
    chunkForms: fc.array(fc.oneof(fc.constant(0), fc.nat()), { minLength: 1, maxLength: 3 }),
    extras: fc.array(fc.oneof(fc.constant(0), fc.constant(1), fc.nat()), { maxLength: 3 }),
    lineEnd: fc.option(fc.tuple(fc.nat(), fc.nat()), { freq: 2 }),
    chunkLineEnd: fc.oneof(fc.constant(0), fc.constant(0), fc.nat()),
    requestLine: fc.oneof(fc.constant(0), fc.constant(0), fc.nat()),
})

test("fuzz smuggling: grammar-built messages with mutations at CR, LF, whitespace, obs-fold and framing fields", async () => {
    const rig = httpRig()
    let smuggled = 0
    rig.server.get("/smuggled", async (_req, res) => {
        smuggled++
        await res.send(200, "smuggled\n")
    })
    const counts = { valid: 0, invalid: 0 }
    await fc.assert(
        fc.asyncProperty(fc.array(spec, { minLength: 1, maxLength: 3 }), fc.nat(), async (specs, seedByte) => {
            const messages = specs.map((s) => build(s, seedByte))
            const input = Buffer.concat(messages.map((m) => m.bytes))
            const what = () => JSON.stringify(input.toString("latin1"))
            const out = await run(rig, async () => {
                const s = await connect(rig)
                await s.write(input)
                s.shutdown()
                const all = await readToEnd(s)
                s.close()
                return all
            })
            const rs = parseResponses(out)
            let i = 0
            for (; i < messages.length && messages[i].valid; i++) {
                counts.valid++
                assert.ok(i < rs.length, `message ${i} (valid) unanswered: ${what()}`)
                assert.equal(rs[i].status, 200, `message ${i} (valid): ${what()}`)
                assert.ok(rs[i].body.equals(messages[i].body), `message ${i}'s body: ${what()}`)
            }
            // a bare CR as the very last byte cannot be judged: the client's FIN came first, and nobody waits for an answer
            const cut = i === messages.length - 1 && input[input.length - 1] === 13 && rs.length === i
            if (i < messages.length && !cut) {
                counts.invalid++
                assert.equal(rs.length, i + 1, `answers up to the first invalid message (${i}): ${what()}`)
                assert.ok(rs[i].status >= 400, `message ${i} (invalid) got ${rs[i].status}: ${what()}`)
                assert.equal(rs[i].headers["connection"], "close", what())
            } else if (!cut) assert.equal(rs.length, messages.length, what())
            assert.equal(smuggled, 0, "a body was served as a request: " + what())
        }),
        { ...fuzzOptions(400), endOnFailure: true },
    )
    assert.ok(counts.valid > 50 && counts.invalid > 50, JSON.stringify(counts))
})
