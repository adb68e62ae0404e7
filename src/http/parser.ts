// The HTTP/1.x request head (RFC 9112 §2-§7): request line and header
// fields, judged one line at a time as each line completes. The server calls
// parseHead() on each read; it resumes where it stopped (RequestHead.parsed,
// .scanned), so a head split over many segments costs one scan of each byte,
// and an impossible line (a bad version, a space before a field name, two
// different Content-Lengths, a bare CR or LF) is answered at once, not when
// the blank line comes. Everything is bounded: the head must fit the
// connection's buffer (431 otherwise), at most maxHeaders fields (431), and
// any malformed byte gives a 4xx/5xx status instead of an exception.

/**
 * A request head; every field is set by reset() (one copy of the initial values in the device image).
 * @devsWhenUsed
 */
export class RequestHead {
    method: string
    target: string
    /** 10 for HTTP/1.0, 11 for HTTP/1.1. */
    version: number
    /** Lower-cased field names and their values (OWS trimmed), in order. */
    names: string[]
    values: string[]
    /** -1 when there is no Content-Length. */
    contentLength: number
    chunked: boolean
    /** The connection stays open after the response (version default, Connection header). */
    keepAlive: boolean
    expectContinue: boolean
    /** Bytes of the head taken so far, from its first byte: whole lines (the whole head once complete). */
    parsed: number
    /** Bytes checked for bare CR and LF so far (parsed plus the partial line). */
    scanned: number
    hosts: number
    teSeen: boolean
    /** The Connection fields' values, lower case, joined with ",". */
    connection: string

    constructor() {
        this.reset()
    }

    /** The value of the first field with this (lower-case) name, or null. */
    header(name: string): string {
        for (let i = 0; i < this.names.length; i++) if (this.names[i] === name) return this.values[i]
        return null
    }

    reset(): void {
        this.method = ""
        this.target = ""
        this.version = 11
        this.names = []
        this.values = []
        this.contentLength = -1
        this.chunked = false
        this.keepAlive = true
        this.expectContinue = false
        this.parsed = 0
        this.scanned = 0
        this.hosts = 0
        this.teSeen = false
        this.connection = ""
    }
}

const CR = 13
const LF = 10
const SP = 32
const HT = 9
const COLON = 58

/**
 * Where the head that starts at buf[start] ends: the index just past the
 * blank line (CRLF CRLF, or LF LF), or -1 when it is not complete in
 * buf[start, end). `from` lets a caller skip bytes it already scanned. (The
 * HTTP client's response heads: a recipient MAY take a bare LF as a line end,
 * RFC 9112 §2.2; the server does not, see parseHead.)
 */
export function findHeadEnd(buf: Buffer, start: number, end: number, from: number): number {
    // the blank line may straddle the bytes already scanned: look back over
    // the longest terminator (LF CR LF) minus its last byte
    let i = from - 3 > start ? from - 3 : start
    for (; i < end; i++) {
        if (buf[i] !== LF) continue
        if (i + 1 < end && buf[i + 1] === LF) return i + 2
        if (i + 2 < end && buf[i + 1] === CR && buf[i + 2] === LF) return i + 3
    }
    return -1
}

/**
 * RFC 9110 §5.6.2 tchar (ALPHA, DIGIT and ! # $ % & ' * + - . ^ _ ` | ~) as
 * a bitmap of 32 characters a word: one lookup, and far less device code
 * than the comparisons. Anything from 128 up (or undefined) is not a tchar.
 */
const TOKEN_BITS: number[] = [0, 0x3ff6cfa, 0xc7fffffe, 0x57ffffff]

export function isTokenChar(c: number): boolean {
    return ((TOKEN_BITS[c >> 5] >>> (c & 31)) & 1) === 1
}

/** Text of buf[a, b) (UTF-8, the only decoding DeviceScript has; header text is ASCII). */
export function text(buf: Buffer, a: number, b: number): string {
    if (b <= a) return ""
    return buf.slice(a, b).toString()
}

/**
 * Parses what has arrived of the head that starts at buf[start] (up to end),
 * resuming at out.parsed / out.scanned (call out.reset() before a new head).
 * Returns -1 while the head is incomplete and nothing is wrong yet, 0 when it
 * is complete (out.parsed is then its length), or the HTTP status to answer
 * with: 400 for malformed syntax, 431 for too many fields, 501 for an unknown
 * transfer coding, 505 for an unsupported version.
 */
export function parseHead(buf: Buffer, start: number, end: number, maxHeaders: number, out: RequestHead): number {
    for (let i = start + out.scanned; i < end; i++) {
        const b = buf[i]
        // Every line ends in CRLF. A bare LF or CR is where parsers disagree
        // (a proxy that does not split there sees another message: request
        // smuggling), so it is an error, not a line end (RFC 9112 §2.2 lets
        // a server reject it).
        if ((i > start && buf[i - 1] === CR) !== (b === LF)) return 400
        // whitespace before a field name: obs-fold or a smuggled name (RFC 9112 §5.1, §5.2)
        if (i === start + out.parsed && out.method !== "" && (b === SP || b === HT)) return 400
        out.scanned = i + 1 - start
        if (b !== LF) continue
        const lineStart = start + out.parsed
        out.parsed = out.scanned
        const status = headLine(buf, lineStart, i - 1, maxHeaders, out)
        if (status >= 0) return status
    }
    return -1
}

/** One line of the head, buf[i, end) without its CRLF: -1 to go on, 0 at the blank line, or a status. */
function headLine(buf: Buffer, i: number, end: number, maxHeaders: number, out: RequestHead): number {
    if (out.method === "") {
        // RFC 9112 §2.2: ignore at least one empty line before the request line
        if (i === end) return -1
        // method
        const m0 = i
        while (i < end && isTokenChar(buf[i])) i++
        if (i === m0 || i >= end || buf[i] !== SP) return 400
        out.method = text(buf, m0, i)
        i++
        // request-target: visible ASCII up to the next space
        const t0 = i
        while (i < end && buf[i] > SP && buf[i] < 127) i++
        if (i === t0 || i >= end || buf[i] !== SP) return 400
        out.target = text(buf, t0, i)
        i++
        // HTTP-version = "HTTP/" DIGIT "." DIGIT, and the line ends there
        if (i + 8 !== end || buf[i] !== 72 || buf[i + 1] !== 84 || buf[i + 2] !== 84 || buf[i + 3] !== 80 || buf[i + 4] !== 47 || buf[i + 6] !== 46) return 400
        const major = buf[i + 5] - 48
        const minor = buf[i + 7] - 48
        if (major < 0 || major > 9 || minor < 0 || minor > 9) return 400
        if (major !== 1) return 505
        out.version = minor === 0 ? 10 : 11
        out.keepAlive = out.version === 11
        return -1
    }
    if (i === end) {
        // the blank line: what can only be judged on the whole head.
        // RFC 9112 §3.2: a 1.1 request has exactly one Host
        if (out.version === 11 && out.hosts !== 1) return 400
        for (const token of out.connection.split(",")) {
            const t = token.trim()
            if (t === "close") out.keepAlive = false
            else if (t === "keep-alive" && out.version === 10) out.keepAlive = true
        }
        // RFC 9112 §6.1: HTTP/1.0 with Transfer-Encoding has faulty framing: close after it
        if (out.teSeen && out.version === 10) out.keepAlive = false
        return 0
    }
    const n0 = i
    while (i < end && isTokenChar(buf[i])) i++
    if (i === n0 || i >= end || buf[i] !== COLON) return 400 // includes "name :" (§5.1)
    const name = text(buf, n0, i).toLowerCase()
    i++
    while (i < end && (buf[i] === SP || buf[i] === HT)) i++
    const v0 = i
    for (; i < end; i++) {
        const c = buf[i]
        if ((c < SP && c !== HT) || c === 127) return 400 // CTLs are not field content
    }
    let v1 = end
    while (v1 > v0 && (buf[v1 - 1] === SP || buf[v1 - 1] === HT)) v1--
    if (out.names.length >= maxHeaders) return 431
    const value = text(buf, v0, v1)
    out.names.push(name)
    out.values.push(value)

    if (name === "content-length") {
        const n = parseDecimal(value)
        if (n < 0) return 400
        // several Content-Length fields must agree (RFC 9110 §8.6)
        if (out.contentLength >= 0 && out.contentLength !== n) return 400
        out.contentLength = n
    } else if (name === "transfer-encoding") {
        out.teSeen = true
        const codings = value.toLowerCase().split(",")
        const last = codings[codings.length - 1].trim()
        // chunked must be last (RFC 9112 §6.1); we implement no other coding
        for (const c of codings) if (c.trim() !== "chunked") return 501
        if (last !== "chunked" || codings.length > 1 || out.chunked) return 400
        out.chunked = true
    } else if (name === "host") {
        // RFC 9112 §3.2: at most one Host
        if (++out.hosts > 1) return 400
    } else if (name === "connection") {
        out.connection = out.connection + "," + value.toLowerCase()
    } else if (name === "expect") {
        if (value.toLowerCase() !== "100-continue") return 417
        out.expectContinue = out.version === 11
    }
    // RFC 9112 §6.3: Transfer-Encoding with Content-Length is an attack or a bug
    if (out.teSeen && out.contentLength >= 0) return 400
    return -1
}

/** A non-negative decimal without sign or spaces, or -1 (also beyond 2^53). */
export function parseDecimal(s: string): number {
    if (s.length === 0 || s.length > 15) return -1
    let n = 0
    for (let i = 0; i < s.length; i++) {
        const d = s.charCodeAt(i) - 48
        if (d < 0 || d > 9) return -1
        n = n * 10 + d
    }
    return n
}

/** Hex chunk size (RFC 9112 §7.1), at most 8 digits; -1 when malformed. */
export function parseHex(buf: Buffer, a: number, b: number): number {
    if (b <= a || b - a > 8) return -1
    let n = 0
    for (let i = a; i < b; i++) {
        const c = buf[i]
        let d = -1
        if (c >= 48 && c <= 57) d = c - 48
        else if (c >= 97 && c <= 102) d = c - 87
        else if (c >= 65 && c <= 70) d = c - 55
        if (d < 0) return -1
        n = n * 16 + d
    }
    return n
}

/**
 * The size on a chunk-size line, buf[a, e) without its CRLF, or -1 when the
 * line is not (RFC 9112 §7.1, §7.1.1, RFC 9110 §5.6.4):
 *   1*HEXDIG *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] )
 * Anything else ("2 x", "a ", "2;", an open quote) is an error: a lenient
 * reading is how a front end and this server would split a body differently.
 */
export function parseChunkLine(buf: Buffer, a: number, e: number): number {
    let i = a
    while (i < e && isTokenChar(buf[i])) i++ // hex digits are token characters; parseHex judges them
    const size = parseHex(buf, a, i)
    while (size >= 0 && i < e) {
        i = skipBlanks(buf, i, e)
        if (i >= e || buf[i] !== 59) return -1 // ";"
        i = skipBlanks(buf, i + 1, e)
        const n0 = i
        while (i < e && isTokenChar(buf[i])) i++
        if (i === n0) return -1
        const j = skipBlanks(buf, i, e)
        if (j >= e || buf[j] !== 61) continue // no "=": the next extension, or the end
        i = skipBlanks(buf, j + 1, e)
        if (i < e && buf[i] === 34) {
            // quoted-string: qdtext or a backslash and the byte it quotes, up to the closing quote
            for (i++; ; i++) {
                if (i >= e) return -1
                const c = buf[i]
                if (c === 34) break
                if ((c < SP && c !== HT) || c === 127) return -1
                if (c === 92) i++
            }
            i++
        } else {
            const v0 = i
            while (i < e && isTokenChar(buf[i])) i++
            if (i === v0) return -1
        }
    }
    return size
}

function skipBlanks(buf: Buffer, i: number, e: number): number {
    while (i < e && (buf[i] === SP || buf[i] === HT)) i++
    return i
}
