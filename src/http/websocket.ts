// WebSocket (RFC 6455) on the server side: the opening handshake over an
// HTTP/1.1 GET (§4.2), then frames (§5) on the same TCP connection.
//
//   handler ─▶ acceptWebSocket(req, res) ─▶ 101 ─▶ ws.receive()/send()/ping()/close()
//
// Receiving goes through the request's ConnReader (bytes the client sent right
// after its handshake are already there) and reads each payload straight into
// the message buffer, unmasking in place: no per-byte allocation, and a
// message buffer is allocated once per unfragmented message (grown by doubling
// for fragmented ones, never beyond maxMessageBytes). Per-byte work (unmasking,
// UTF-8 validation) yields every YIELD_BYTES so that a device fiber stays under
// its step budget. Protocol errors close with the RFC's codes: 1002 (masking,
// reserved bits, opcodes, control frames, fragmentation), 1007 (text that is not
// UTF-8), 1009 (too big). After a close frame is sent, the peer's close is
// awaited for closeTimeoutMs, then the TCP connection is closed (server first,
// §7.1.1).
import { IncomingRequest } from "./server.js"
import { ServerResponse } from "./response.js"
import { ConnReader } from "./conn.js"
import { countListed } from "./parser.js"
import { Signal, SocketHost, TcpSocket } from "../socket/socket.js"
import { sha1 } from "./sha1.js"
import { base64Encode, base64Value } from "./base64.js"
import { getU16, getU32, setU16, setU32 } from "../wire/bytes.js"

/** The GUID of RFC 6455 §1.3. */
export const WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

export interface WebSocketOptions {
    /** Largest message, after reassembly of fragments (close 1009 beyond). Default 128 KiB. */
    maxMessageBytes?: number
    /** How long to wait for the peer's close frame after ours, before closing TCP. Default 5000. */
    closeTimeoutMs?: number
    /** If set, a peer silent this long (no frame, or a frame stalled) is closed with 1001. Default: no limit. */
    idleTimeoutMs?: number
    /** How to wait (yielding, the send lock). Default: the one the request's socket uses. */
    host?: SocketHost
}

export interface WebSocketMessage {
    type: "text" | "binary"
    data: Buffer
}

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key (§4.2.2 step 5.4). */
export function webSocketAccept(key: string): string {
    return base64Encode(sha1(Buffer.from(key + WEBSOCKET_GUID)))
}

/** A Sec-WebSocket-Key is the base64 of 16 bytes (§4.1): 22 characters (the last with 4 zero bits), then "==". */
function validKey(k: string): boolean {
    if (k.length !== 24 || k.charCodeAt(22) !== 61 || k.charCodeAt(23) !== 61) return false
    for (let i = 0; i < 22; i++) if (base64Value(k.charCodeAt(i)) < 0) return false
    return (base64Value(k.charCodeAt(21)) & 15) === 0
}

function hasToken(value: string, token: string): boolean {
    return value ? countListed(value.toLowerCase(), token) > 0 : false
}

/**
 * Checks a WebSocket upgrade request and answers it. On success the response
 * is 101 and the handler owns the connection through the returned WebSocket
 * (until the handler returns; then the server closes it). Otherwise an error
 * response has been sent (405, 400, or 426 with the versions we speak) and
 * the result is null.
 */
export async function acceptWebSocket(req: IncomingRequest, res: ServerResponse, options?: WebSocketOptions): Promise<WebSocket> {
    const h = req.headers
    let status = 0
    if (req.method !== "GET") {
        status = 405
        res.setHeader("Allow", "GET")
    } else if (req.httpVersion !== "1.1") status = 400
    else if (!hasToken(h["upgrade"], "websocket")) {
        status = 426
        res.setHeader("Upgrade", "websocket")
    } else if (!hasToken(h["connection"], "upgrade")) status = 400
    // field values come without their OWS (parseHead)
    else if (h["sec-websocket-version"] !== "13") {
        status = 426
        res.setHeader("Sec-WebSocket-Version", "13")
    }
    const key = (h["sec-websocket-key"] as string) || ""
    if (status === 0 && !validKey(key)) status = 400
    if (status !== 0) {
        res.keepAlive = false
        await res.send(status, status === 426 ? "WebSocket (version 13) upgrade required\n" : "bad WebSocket handshake\n")
        return null
    }
    res.setHeader("Upgrade", "websocket")
    res.setHeader("Connection", "Upgrade")
    res.setHeader("Sec-WebSocket-Accept", webSocketAccept(key))
    await res.writeHead(101)
    await res.end()
    // A session may stay quiet for long, and a peer that vanished (its reset
    // lost, its host gone) would hold the connection for ever: TCP keep-alive
    // (RFC 1122 §4.2.3.6) after 60 s of silence, 3 probes 10 s apart, ends it.
    req.socket.setKeepAlive(true, 60000, 10000, 3)
    const o = options || {}
    // TcpSocket keeps its Net private; the host is reachable through it when not given
    const host: SocketHost = o.host || req.socket.host
    return new WebSocket(req.socket, req.conn, host, o)
}

const OPEN = 0
/** Our close frame is sent; waiting for the peer's. */
const CLOSING = 1
const CLOSED = 2

const OP_CONTINUATION = 0
const OP_TEXT = 1
const OP_BINARY = 2
const OP_CLOSE = 8
const OP_PING = 9
const OP_PONG = 10

/** Bytes of unmasking/validation between yields: ~57k of a device fiber's 131k opcodes between suspensions. */
const YIELD_BYTES = 1024
/** Most bytes handled per read. */
const CHUNK = 512
/** 2^53 / 2^32: 64-bit lengths from here on are not exact numbers. */
const HI_LIMIT = 0x200000

/**
 * Incremental UTF-8 validation (RFC 3629 §4: no overlongs, surrogates or code
 * points above U+10FFFF). The state between pieces is one number: 0 on a
 * character boundary, else the continuation bytes still expected (bits 0-1)
 * and the range the next one must fall in (lo in bits 2-9, hi from bit 10).
 * Returns the state after b[off, off+len), or -1 once the input cannot be UTF-8.
 */
export function utf8Feed(state: number, b: Buffer, off: number, len: number): number {
    let need = state & 3
    let lo = need ? (state >> 2) & 0xff : 0x80
    let hi = need ? state >> 10 : 0xbf
    const end = off + len
    for (let i = off; i < end; i++) {
        const c = b[i]
        if (need === 0) {
            if (c < 0x80) continue
            if (c < 0xc2) return -1
            if (c < 0xe0) {
                need = 1
            } else if (c < 0xf0) {
                need = 2
                if (c === 0xe0) lo = 0xa0
                else if (c === 0xed) hi = 0x9f
            } else if (c < 0xf5) {
                need = 3
                if (c === 0xf0) lo = 0x90
                else if (c === 0xf4) hi = 0x8f
            } else return -1
        } else {
            if (c < lo || c > hi) return -1
            lo = 0x80
            hi = 0xbf
            need--
        }
    }
    return need ? need | (lo << 2) | (hi << 10) : 0
}

/** Incremental UTF-8 validation for a caller that keeps an object (see utf8Feed). @devsWhenUsed */
export class Utf8Validator {
    private state = 0

    reset(): void {
        this.state = 0
    }

    /** Feeds b[off, off+len); false once the input cannot be UTF-8. */
    feed(b: Buffer, off: number, len: number): boolean {
        if (this.state >= 0) this.state = utf8Feed(this.state, b, off, len)
        return this.state >= 0
    }

    /** True when the input so far ends on a character boundary. */
    complete(): boolean {
        return this.state === 0
    }
}

/** Whether the whole of b[off, off+len) is UTF-8. */
export function isUtf8(b: Buffer, off: number, len: number): boolean {
    return utf8Feed(0, b, off, len) === 0
}

/** @devsWhenUsed */
export class WebSocket {
    /**
     * 0 while open; then the code of the peer's close frame (1005: it had none),
     * ours when we failed the connection (1002, 1007, 1009, 1001 on idle timeout),
     * or 1006 when the connection ended without a close frame from the peer.
     */
    closeCode = 0
    /** The reason of the peer's close frame. */
    closeReason = ""
    readonly socket: TcpSocket
    private readonly conn: ConnReader
    private readonly host: SocketHost
    private readonly maxMessageBytes: number
    private readonly closeTimeoutMs: number
    private readonly idleTimeoutMs: number
    private state = OPEN
    private reading = false
    private sending = false
    /**
     * One signal for every wait: the send lock, the closing wait, the yields
     * of per-byte work. Each waiter checks its own condition again, so a wake
     * meant for another is harmless.
     */
    private readonly signal: Signal
    /** Incoming control payloads. */
    private readonly ctrl: Buffer
    /** Outgoing frame heads, and whole small frames. */
    private readonly tx: Buffer
    /** utf8Feed's state over the text message being read. */
    private utf8 = 0
    /** The frame being read: its head, and payload bytes not consumed yet (-1: unknown, cannot resync). */
    private fin = false
    private opcode = 0
    private remaining = 0
    private readonly mask: Buffer
    private maskPos = 0
    /** Per-byte work since the last yield. */
    private work = 0
    /** While closing: reads give up at this time. */
    private deadline = 0

    constructor(socket: TcpSocket, conn: ConnReader, host: SocketHost, options?: WebSocketOptions) {
        const o = options || {}
        this.socket = socket
        this.conn = conn
        this.host = host
        this.maxMessageBytes = o.maxMessageBytes || 128 * 1024
        this.closeTimeoutMs = o.closeTimeoutMs || 5000
        this.idleTimeoutMs = o.idleTimeoutMs || 0
        this.signal = host.newSignal()
        this.ctrl = Buffer.alloc(125)
        this.tx = Buffer.alloc(256)
        this.mask = Buffer.alloc(4)
        // messages are whole: a small frame need not wait for an ACK (Nagle)
        socket.setNoDelay(true)
    }

    /** True until a close frame was sent or received, or the connection failed. */
    isOpen(): boolean {
        return this.state === OPEN
    }

    /**
     * The next text or binary message (fragments reassembled; pings answered
     * on the way); null once the connection is closed. One reader at a time.
     */
    async receive(): Promise<WebSocketMessage> {
        if (this.state === CLOSED || this.reading) return null
        this.reading = true
        let result: WebSocketMessage = null
        try {
            result = await this.receiveLoop()
        } catch (e) {
            // the connection failed (reset, timeout)
            this.finish()
        }
        this.reading = false
        return result
    }

    /** Sends a message: a string as text, a Buffer as binary unless binary is false. False when closed or failed. */
    async send(data: Buffer | string, binary?: boolean): Promise<boolean> {
        if (this.state !== OPEN) return false
        const isString = typeof data === "string"
        const b = isString ? Buffer.from(data as string) : (data as Buffer)
        const op = binary === undefined ? (isString ? OP_TEXT : OP_BINARY) : binary ? OP_BINARY : OP_TEXT
        return await this.sendFrame(op, b, 0, b.length)
    }

    /** Sends a ping (at most 125 bytes of data); the peer's pong is absorbed by receive(). */
    async ping(data?: Buffer | string): Promise<boolean> {
        if (this.state !== OPEN) return false
        const b = data === undefined || data === null ? this.ctrl : typeof data === "string" ? Buffer.from(data as string) : (data as Buffer)
        const n = data === undefined || data === null ? 0 : b.length
        if (n > 125) return false
        return await this.sendFrame(OP_PING, b, 0, n)
    }

    /**
     * Starts the closing handshake (§7.1.2): sends a close frame, waits up to
     * closeTimeoutMs for the peer's, then closes the TCP connection. When a
     * receive() is running, it reads the peer's close and returns null.
     */
    async close(code?: number, reason?: string): Promise<void> {
        if (this.state !== OPEN) return
        this.state = CLOSING
        this.deadline = this.host.now() + this.closeTimeoutMs
        await this.sendClose(code || 1000, reason || "")
        if (!this.reading) {
            await this.finishClose()
            return
        }
        while (this.state !== CLOSED) {
            const left = this.deadline - this.host.now()
            if (left <= 0) {
                this.finish()
                break
            }
            await this.host.waitFor(this.signal, left)
        }
    }

    private async receiveLoop(): Promise<WebSocketMessage> {
        let msgType = 0
        let msg: Buffer = null
        let msgLen = 0
        for (;;) {
            const st = await this.readHead()
            if (st < 0) return await this.lost()
            if (st > 0) return await this.fail(st)
            const op = this.opcode
            const len = this.remaining
            if (op >= OP_CLOSE) {
                if ((await this.readPayload(this.ctrl, 0, len, false)) !== 0) return await this.lost()
                if (op === OP_PING) {
                    if (this.state === OPEN) await this.sendFrame(OP_PONG, this.ctrl, 0, len)
                } else if (op === OP_CLOSE) {
                    await this.onClose(len)
                    return null
                }
                continue
            }
            if (this.state !== OPEN) {
                // closing: data is dropped until the peer's close frame
                if (!(await this.discard(len))) return await this.lost()
                continue
            }
            if (op === OP_CONTINUATION) {
                if (msgType === 0) return await this.fail(1002)
            } else {
                if (msgType !== 0) return await this.fail(1002)
                msgType = op
                msgLen = 0
                msg = null
                this.utf8 = 0
            }
            if (len > this.maxMessageBytes - msgLen) return await this.fail(1009)
            const need = msgLen + len
            if (msg === null || msg.length < need) {
                let cap = need
                if (msg !== null && !this.fin) {
                    // more fragments to come: grow by doubling, within the limit
                    cap = msg.length * 2
                    if (cap < need) cap = need
                    if (cap > this.maxMessageBytes) cap = this.maxMessageBytes
                }
                const next = allocate(cap)
                if (next === null) return await this.fail(1009)
                if (msg !== null && msgLen > 0) next.blitAt(0, msg, 0, msgLen)
                msg = next
            }
            const r = await this.readPayload(msg, msgLen, len, msgType === OP_TEXT)
            if (r < 0) return await this.lost()
            if (r > 0) return await this.fail(r)
            msgLen = need
            if (this.fin) {
                if (msgType === OP_TEXT && this.utf8 !== 0) return await this.fail(1007)
                let data = msg
                if (msg.length !== msgLen) {
                    data = allocate(msgLen)
                    if (data === null) return await this.fail(1009)
                    data.blitAt(0, msg, 0, msgLen)
                }
                return { type: msgType === OP_TEXT ? "text" : "binary", data }
            }
        }
    }

    /** The peer's close frame, payload in ctrl[0, len) (§5.5.1). */
    private async onClose(len: number): Promise<void> {
        const c = this.ctrl
        const code = len >= 2 ? getU16(c, 0) : 1005
        if (this.state === OPEN) {
            let bad = 0
            // close codes a peer may send (§7.4.1, §7.4.2)
            const valid = (code >= 3000 && code <= 4999) || (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006)
            if (len === 1 || (len >= 2 && !valid)) bad = 1002
            else if (len > 2 && !isUtf8(c, 2, len - 2)) bad = 1007
            if (bad !== 0) {
                // the peer has closed already: no close of its own to wait for
                this.state = CLOSING
                this.closeCode = bad
                await this.sendClose(bad, "")
                this.finish()
                return
            }
        }
        this.closeCode = code
        if (len > 2) {
            const r = Buffer.alloc(len - 2)
            r.blitAt(0, c, 2, len - 2)
            this.closeReason = r.toString()
        }
        if (this.state === OPEN) {
            // echo the code (§5.5.1), then close TCP: the server closes first (§7.1.1)
            this.state = CLOSING
            await this.sendClose(len >= 2 ? code : 0, "")
        }
        this.finish()
    }

    /** Fails the connection (§7.1.7): a close frame with the code, then the closing wait. Returns null for receive(). */
    private async fail(code: number): Promise<WebSocketMessage> {
        if (this.state === OPEN) {
            this.state = CLOSING
            this.closeCode = code
            await this.sendClose(code, "")
        }
        await this.finishClose()
        return null
    }

    /** The stream ended or timed out without a close frame. */
    private async lost(): Promise<WebSocketMessage> {
        if (!this.conn.eof && this.state === OPEN) return await this.fail(1001)
        this.finish()
        return null
    }

    /** After our close frame: drop what still comes until the peer's close frame, the end of the stream or the deadline. */
    private async finishClose(): Promise<void> {
        if (this.deadline === 0) this.deadline = this.host.now() + this.closeTimeoutMs
        // nothing follows our close frame: a FIN tells the peer now (and is all it
        // can go by when the framing is lost)
        this.socket.shutdown()
        try {
            for (;;) {
                if (this.remaining < 0) {
                    // the framing is lost: drop bytes until the peer goes
                    while (await this.discard(CHUNK)) {}
                    break
                }
                if (!(await this.discard(this.remaining))) break
                if ((await this.readHead()) < 0) break
                if (this.opcode === OP_CLOSE) {
                    const len = this.remaining
                    if (len <= 125 && (await this.readPayload(this.ctrl, 0, len, false)) === 0) {
                        if (this.closeCode === 0) this.closeCode = len >= 2 ? getU16(this.ctrl, 0) : 1005
                    }
                    break
                }
            }
        } catch (e) {
            // reset: nothing more to wait for
        }
        this.finish()
    }

    /**
     * Closed: the TCP connection is closed gracefully (the stack finishes FIN
     * and TIME-WAIT). Without a close code yet, it is 1006: no close frame.
     */
    private finish(): void {
        if (this.closeCode === 0) this.closeCode = 1006
        this.state = CLOSED
        this.socket.close()
        this.host.raise(this.signal)
    }

    private async sendClose(code: number, reason: string): Promise<void> {
        let n = 0
        if (code > 0) {
            const r = Buffer.from(reason)
            n = 2 + (r.length > 123 ? 123 : r.length)
            const b = Buffer.alloc(n)
            setU16(b, 0, code)
            b.blitAt(2, r, 0, n - 2)
            await this.sendFrame(OP_CLOSE, b, 0, n)
        } else await this.sendFrame(OP_CLOSE, this.tx, 0, 0)
    }

    /** One unmasked frame, FIN set; frames are never interleaved (a lock across fibers). False if the socket failed. */
    private async sendFrame(op: number, data: Buffer, off: number, len: number): Promise<boolean> {
        const host = this.host
        while (this.sending) await host.waitFor(this.signal, 0)
        this.sending = true
        let ok = true
        try {
            const h = this.tx
            h[0] = 0x80 | op
            let hl = 2
            if (len < 126) h[1] = len
            else if (len < 65536) {
                h[1] = 126
                setU16(h, 2, len)
                hl = 4
            } else {
                h[1] = 127
                setU32(h, 2, Math.floor(len / 0x100000000))
                setU32(h, 6, len % 0x100000000)
                hl = 10
            }
            // the head and as much payload as fits go in one write (one segment for small frames)
            let first = h.length - hl
            if (first > len) first = len
            if (first > 0) h.blitAt(hl, data, off, first)
            await this.socket.write(h, 0, hl + first)
            if (len > first) await this.socket.write(data, off + first, len - first)
        } catch (e) {
            ok = false
            if (this.state === OPEN) this.state = CLOSING
        }
        this.sending = false
        host.raise(this.signal)
        return ok
    }

    /** Read timeout for the next wait: 0 = none, -1 = the closing deadline passed. */
    private timeout(): number {
        if (this.deadline > 0) {
            const left = this.deadline - this.host.now()
            return left > 0 ? left : -1
        }
        return this.idleTimeoutMs
    }

    /** Waits until n bytes are in the connection buffer. False at the end of the stream or on timeout. */
    private async need(n: number): Promise<boolean> {
        const conn = this.conn
        while (conn.available() < n) {
            if (conn.buf.length - conn.start < n) conn.compact()
            const t = this.timeout()
            if (t < 0) return false
            if ((await conn.fill(t)) === 0) return false
        }
        return true
    }

    /**
     * Reads a frame head (§5.2) into fin/opcode/remaining/mask. Returns 0, -1
     * at the end of the stream or on timeout, or a close code for a head that
     * breaks the protocol (remaining then tells what of the payload to skip).
     */
    private async readHead(): Promise<number> {
        const conn = this.conn
        if (!(await this.need(2))) return -1
        let s = conn.start
        const b0 = conn.buf[s]
        const b1 = conn.buf[s + 1]
        const len7 = b1 & 0x7f
        const masked = (b1 & 0x80) !== 0
        const hl = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0)
        if (!(await this.need(hl))) return -1
        s = conn.start
        const b = conn.buf
        let len = len7
        let tooBig = false
        if (len7 === 126) len = getU16(b, s + 2)
        else if (len7 === 127) {
            const hi = getU32(b, s + 2)
            if (hi >= HI_LIMIT) tooBig = true
            else len = hi * 0x100000000 + getU32(b, s + 6)
        }
        if (masked) this.mask.blitAt(0, b, s + hl - 4, 4)
        conn.skip(hl)
        this.fin = (b0 & 0x80) !== 0
        this.opcode = b0 & 0x0f
        this.remaining = tooBig ? -1 : len
        this.maskPos = masked ? 0 : -1
        if (tooBig) return 1009
        const op = this.opcode
        if ((b0 & 0x70) !== 0) return 1002 // no extension was negotiated
        if (!masked) return 1002 // §5.1: a client masks every frame
        if (op >= OP_CLOSE) {
            if (op > OP_PONG) return 1002
            if (!this.fin || len > 125) return 1002 // §5.5
        } else if (op > OP_BINARY) return 1002
        return 0
    }

    /**
     * Reads len payload bytes of the current frame into dst[off], unmasked,
     * validating UTF-8 when asked. Returns 0, -1 at the end of the stream or
     * on timeout, 1007 for invalid UTF-8.
     */
    private async readPayload(dst: Buffer, off: number, len: number, text: boolean): Promise<number> {
        const conn = this.conn
        let at = off
        let left = len
        while (left > 0) {
            let n = left < CHUNK ? left : CHUNK
            const avail = conn.available()
            if (avail > 0) {
                if (n > avail) n = avail
                dst.blitAt(at, conn.buf, conn.start, n)
                conn.skip(n)
            } else {
                // nothing buffered: straight from the socket into place
                const t = this.timeout()
                if (t < 0) return -1
                n = await this.socket.read(dst, at, n, t)
                if (n === 0) {
                    if (this.socket.ended()) conn.eof = true
                    return -1
                }
            }
            if (this.work + n > YIELD_BYTES) {
                // ~56 opcodes a byte to unmask and validate (measured in the VM): yield before the budget runs out
                this.work = 0
                await this.host.waitFor(this.signal, 1)
                this.host.raise(this.signal) // drops the expired waiter (others look again)
            }
            this.work += n
            this.unmask(dst, at, n)
            this.remaining -= n
            if (text) {
                this.utf8 = utf8Feed(this.utf8, dst, at, n)
                if (this.utf8 < 0) return 1007
            }
            at += n
            left -= n
        }
        return 0
    }

    private unmask(b: Buffer, off: number, n: number): void {
        let p = this.maskPos
        if (p < 0) return
        const m = this.mask
        const end = off + n
        for (let i = off; i < end; i++) {
            b[i] = b[i] ^ m[p]
            p = (p + 1) & 3
        }
        this.maskPos = p
    }

    /** Drops len payload bytes. False at the end of the stream or on timeout. */
    private async discard(len: number): Promise<boolean> {
        const conn = this.conn
        let left = len
        while (left > 0) {
            if (conn.available() === 0) {
                const t = this.timeout()
                if (t < 0) return false
                if ((await conn.fill(t)) === 0) return false
            }
            const a = conn.available()
            const n = a < left ? a : left
            conn.skip(n)
            left -= n
            if (this.remaining > 0) this.remaining -= n
        }
        return true
    }
}

function allocate(n: number): Buffer {
    try {
        return Buffer.alloc(n)
    } catch (e) {
        return null // a device's heap: the message cannot be held
    }
}
