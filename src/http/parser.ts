// The HTTP/1.x request head (RFC 9112 §2-§7): request line and header
// fields, judged one line at a time as each line completes. The server calls
// parseHead() on each read; it resumes at the first line not yet judged
// (RequestHead.parsed), so an impossible line (a bad version, a space before a
// field name, two different Content-Lengths, a bare CR or LF) is answered at
// once, not when the blank line comes. Everything is bounded: the head must fit
// the connection's buffer (431 otherwise), at most maxHeaders fields (431), and
// any malformed byte gives a 4xx/5xx status instead of an exception.
//
// What it costs on the device: a loop turn over bytes is ~30 VM opcodes and a
// native call ~8, so lines are found with native searches on the unjudged
// bytes taken as one string, and the per-character checks (RFC 9110 §5.6.2
// tokens, field content without CTLs) run only where a cheap test cannot vouch
// for a line: a line of plain printable ASCII (JSON.stringify escapes every
// CTL, quote and backslash) has nothing a value or a target may not hold, and
// a name or method in the lists below is a token.

/**
 * A request head; the server makes one per request (IncomingRequest extends it).
 * @devsWhenUsed
 */
export class RequestHead {
    method = ""
    /** The request target as sent: "/bytes/10?x=1". */
    url = ""
    /** The path part of the target. */
    path = ""
    /** The query part (without "?"), or "". */
    query = ""
    /** "1.0" or "1.1" (a later 1.x is served as 1.1). */
    httpVersion = "1.1"
    /** Fields by lower-case name, values OWS-trimmed; repeated fields joined with ", " (RFC 9110 §5.3). */
    headers: any = {}
    /** -1 when there is no Content-Length. */
    contentLength = -1
    chunked = false
    /** The connection stays open after the response (version default, Connection header). */
    keepAlive = true
    expectContinue = false
    /** Bytes of the head judged so far, from its first byte: whole lines (the whole head once complete). */
    parsed = 0
    /** Header fields so far. */
    fields = 0
}

const CR = 13
const LF = 10
const SP = 32
const HT = 9

/** Methods known to be tokens (between spaces): no per-character check for them. */
const METHODS = " GET HEAD POST PUT DELETE OPTIONS PATCH "
/**
 * Lower-case field names known to be tokens (between colons, which no name
 * holds); the ones the parser acts on come first, before SPECIAL_END.
 */
const FIELDS =
    ":host:content-length:transfer-encoding:connection:expect:user-agent:accept:accept-encoding:accept-language:content-type:cache-control:pragma:upgrade:origin:referer:cookie:authorization:if-none-match:if-modified-since:range:dnt:upgrade-insecure-requests:sec-fetch-site:sec-fetch-mode:sec-fetch-dest:sec-fetch-user:sec-ch-ua:sec-ch-ua-mobile:sec-ch-ua-platform:sec-websocket-key:sec-websocket-version:sec-websocket-extensions:sec-websocket-protocol:priority:te:"
const SPECIAL_END = FIELDS.indexOf(":user-agent:")

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

/** s is a token: one or more tchars. */
function isToken(s: string): boolean {
    for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false
    return s.length > 0
}

/** Text of buf[a, b) (UTF-8, the only decoding DeviceScript has; header text is ASCII). */
export function text(buf: Buffer, a: number, b: number): string {
    if (b <= a) return ""
    // alloc + blitAt: DeviceScript's Buffer.slice is a bytecode function doing the same, at twice the opcodes
    const t = Buffer.alloc(b - a)
    t.blitAt(0, buf, a, b - a)
    return t.toString()
}

/**
 * s[a, b) without leading and trailing SP and HT (OWS). (Nested ifs, not
 * && and ||: the compiler makes each of those a temporary and two jumps, and
 * this runs for every field of every request.)
 */
function trimOws(s: string, a: number, b: number): string {
    // the usual field: one SP after the colon, a value that starts and ends
    // with a visible character (NaN past the end compares false)
    if (s.charCodeAt(a) === SP) {
        if (s.charCodeAt(a + 1) > SP) {
            if (s.charCodeAt(b - 1) > SP) return s.slice(a + 1, b)
        }
    }
    while (a < b) {
        const c = s.charCodeAt(a)
        if (c !== SP) {
            if (c !== HT) break
        }
        a++
    }
    while (b > a) {
        const c = s.charCodeAt(b - 1)
        if (c !== SP) {
            if (c !== HT) break
        }
        b--
    }
    return s.slice(a, b)
}

/**
 * Parses what has arrived of the head that starts at buf[start] (up to end),
 * resuming at out.parsed (a new RequestHead for each head). Returns -1 while
 * the head is incomplete and nothing is wrong yet, 0 when it is complete
 * (out.parsed is then its length), or the HTTP status to answer with: 400 for
 * malformed syntax, 431 for too many fields, 501 for an unknown transfer
 * coding, 505 for an unsupported version.
 */
export function parseHead(buf: Buffer, start: number, end: number, maxHeaders: number, out: RequestHead): number {
    const at = start + out.parsed
    if (at >= end) return -1
    const s = text(buf, at, end)
    // plain ASCII: as many characters as bytes, none a replacement for a bad sequence
    const ascii = s.length === end - at && s.indexOf("\ufffd") < 0
    const del = s.indexOf("\x7f")
    for (let p = 0; ; ) {
        // Every line ends in CRLF. A bare LF or CR is where parsers disagree
        // (a proxy that does not split there sees another message: request
        // smuggling), so it is an error, not a line end (RFC 9112 §2.2 lets
        // a server reject it).
        const lf = s.indexOf("\n", p)
        const cr = s.indexOf("\r", p)
        if (lf < 0) {
            // the line so far: a CR not followed by LF, or whitespace before a
            // field name (obs-fold or a smuggled name, RFC 9112 §5.1, §5.2)
            if (cr >= 0 && cr + 1 < s.length) return 400
            const c = s.charCodeAt(p)
            if (p < s.length && out.method !== "" && (c === SP || c === HT)) return 400
            return -1
        }
        // the first CR of the line is the one right before its LF (cr < p: none at all)
        if (cr !== lf - 1) return 400
        if (cr < p) return 400
        // a DEL is in no part of a head
        if (del >= p) {
            if (del < lf) return 400
        }
        const line = s.slice(p, cr)
        // printable ASCII without quotes or backslashes: JSON.stringify adds only its two quotes
        let plain = false
        if (ascii) {
            out.parsed = at + lf + 1 - start
            plain = JSON.stringify(line).length === line.length + 2
        } else out.parsed = buf.indexOf(LF, start + out.parsed) + 1 - start
        const status = headLine(line, plain, maxHeaders, out)
        if (status >= 0) return status
        p = lf + 1
    }
}

/**
 * One line of the head without its CRLF: -1 to go on, 0 at the blank line, or
 * a status. `plain`: the line is printable ASCII without quotes or backslashes.
 */
function headLine(line: string, plain: boolean, maxHeaders: number, out: RequestHead): number {
    const n = line.length
    if (out.method === "") {
        // RFC 9112 §2.2: ignore at least one empty line before the request line
        if (n === 0) return -1
        // method SP request-target SP HTTP-version, and the line ends there
        const sp = line.indexOf(" ")
        const sp2 = sp > 0 ? line.indexOf(" ", sp + 1) : -1
        if (sp2 <= sp + 1) return 400
        const method = line.slice(0, sp)
        if (METHODS.indexOf(" " + method + " ") < 0 && !isToken(method)) return 400
        // request-target: visible ASCII (no space: sp2 is the next one)
        if (!plain) {
            for (let i = sp + 1; i < sp2; i++) {
                const c = line.charCodeAt(i)
                if (c <= SP || c >= 127) return 400
            }
        }
        const url = line.slice(sp + 1, sp2)
        const q = url.indexOf("?")
        out.method = method
        out.url = url
        out.path = q < 0 ? url : url.slice(0, q)
        out.query = q < 0 ? "" : url.slice(q + 1)
        // HTTP-version = "HTTP/" DIGIT "." DIGIT
        const v = line.slice(sp2 + 1)
        if (v !== "HTTP/1.1") {
            if (v.length !== 8 || v.slice(0, 5) !== "HTTP/" || v.charCodeAt(6) !== 46) return 400
            const major = v.charCodeAt(5) - 48
            const minor = v.charCodeAt(7) - 48
            if (major < 0 || major > 9 || minor < 0 || minor > 9) return 400
            if (major !== 1) return 505
            if (minor === 0) {
                out.httpVersion = "1.0"
                out.keepAlive = false
            }
        }
        return -1
    }
    const h = out.headers
    if (n === 0) {
        // the blank line: what can only be judged on the whole head.
        // RFC 9112 §3.2: a 1.1 request has exactly one Host
        if (out.httpVersion === "1.1" && h["host"] === undefined) return 400
        // RFC 9112 §6.1: HTTP/1.0 with Transfer-Encoding has faulty framing: close after it
        if (out.chunked && out.httpVersion === "1.0") out.keepAlive = false
        return 0
    }
    // field-name ":" OWS field-value OWS; a name is a token right before the colon (no "name :", §5.1)
    const colon = line.indexOf(":")
    const name = line.slice(0, colon < 0 ? 0 : colon).toLowerCase()
    let known = -1
    if (plain) {
        if (colon > 0) known = FIELDS.indexOf(":" + name + ":")
    }
    if (known < 0) {
        if (!isToken(line.slice(0, colon < 0 ? 0 : colon))) return 400
    }
    if (!plain) {
        for (let i = colon + 1; i < n; i++) {
            const c = line.charCodeAt(i)
            if (c < SP && c !== HT) return 400 // CTLs are not field content
        }
    }
    if (out.fields >= maxHeaders) return 431
    out.fields++
    const value = trimOws(line, colon + 1, n)
    const old = h[name]
    h[name] = old === undefined ? value : old + ", " + value

    if (known >= SPECIAL_END) {
        // a field the parser does not act on
    } else if (name === "host") {
        // RFC 9112 §3.2: at most one Host
        if (old !== undefined) return 400
    } else if (name === "content-length") {
        const len = parseDecimal(value)
        if (len < 0) return 400
        // several Content-Length fields must agree (RFC 9110 §8.6)
        if (out.contentLength >= 0 && out.contentLength !== len) return 400
        out.contentLength = len
    } else if (name === "transfer-encoding") {
        const v = value.toLowerCase()
        if (v !== "chunked") {
            // we implement no coding but chunked (501); chunked twice is a
            // framing error (400: RFC 9112 §7.1, "MUST NOT apply chunked more
            // than once"), and so is a field with no coding at all; empty
            // elements do not count ("chunked ," is chunked, RFC 9110 §5.6.1.2)
            const codings = countListed(v, null)
            if (countListed(v, "chunked") < codings) return 501
            if (codings !== 1) return 400
        }
        if (out.chunked) return 400
        out.chunked = true
    } else if (name === "connection") {
        // "close" wins over "keep-alive" in one field (RFC 9112 §9.6)
        const v = value.toLowerCase()
        if (countListed(v, "close") > 0) out.keepAlive = false
        else if (out.httpVersion === "1.0") {
            if (countListed(v, "keep-alive") > 0) out.keepAlive = true
        }
    } else if (name === "expect") {
        if (value.toLowerCase() !== "100-continue") return 417
        out.expectContinue = out.httpVersion === "1.1"
    }
    // RFC 9112 §6.3: Transfer-Encoding with Content-Length is an attack or a bug
    if (out.chunked) {
        if (out.contentLength >= 0) return 400
    }
    return -1
}

/**
 * How many elements of the comma-separated list `value` are `token`, each
 * element without its OWS (RFC 9110 §5.6.1; compared as given, so lower-case
 * both); with token null, how many elements are not empty. (A loop over indexOf
 * rather than split(): split and trim would bring their 450 bytes of library
 * code into a device's image.)
 */
export function countListed(value: string, token: string): number {
    let n = 0
    let from = 0
    for (;;) {
        let comma = value.indexOf(",", from)
        if (comma < 0) comma = value.length
        const e = trimOws(value, from, comma)
        if (token === null) {
            if (e !== "") n++
        } else if (e === token) n++
        if (comma >= value.length) return n
        from = comma + 1
    }
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
