// mDNS responder (RFC 6762) for NAME.local with one DNS-SD service
// (RFC 6763), e.g. _http._tcp on port 80 with TXT "path=/". A StackService:
// sans-IO, polled with the stack's timers.
//
//   address ─▶ PROBING: 3 queries "NAME.local ANY?" 250 ms apart, our A in
//              the authority section (§8.1); an answer for the name, or a
//              simultaneous prober with a larger address (§8.2), is a
//              conflict: rename to NAME-2, NAME-3 ... and probe again
//           ─▶ ANNOUNCING: every record, twice, 1 s apart (§8.3)
//           ─▶ RUNNING: answers queries at once (all our records are unique
//              except the PTRs, which we answer at once too, a simplification
//              of §6's 20-120 ms delay); a response that claims NAME.local
//              with another address makes us rename and probe (§9)
//   stop() ─▶ goodbye: every record with TTL 0 (§10.1)
//
// Queries from a source port other than 5353 are legacy unicast (§6.7): the
// answer goes back to that address and port with the query's ID, the
// question repeated, TTLs of at most 10 s, no cache-flush bit.
// Not done: known-answer suppression (§7.1), truncated (TC) queries, and
// answering with the unicast-response bit (§5.4) by unicast (we multicast).
import { Stack, StackService } from "../stack.js"
import { getU16, setU32 } from "../wire/bytes.js"
import {
    DnsRecord,
    DNS_CLASS_IN,
    DNS_HEADER_LEN,
    DNS_TYPE_A,
    DNS_TYPE_ANY,
    DNS_TYPE_PTR,
    DNS_TYPE_SRV,
    DNS_TYPE_TXT,
    endRecord,
    parseRecord,
    readName,
    writeHeader,
    writeName,
    writeRecordHead,
} from "../wire/dns.js"
import { Reason } from "../wire/reason.js"

export const MDNS_PORT = 5353
/** 224.0.0.251 */
export const MDNS_GROUP = 0xe00000fb

export interface MdnsOptions {
    /** The host label: NAME.local (letters, digits, '-'; at most 40). */
    name: string
    /** A DNS-SD service type such as "_http._tcp"; none when absent. */
    service?: string
    port?: number
    /** TXT strings, e.g. ["path=/"] (each at most 63 bytes here). */
    txt?: string[]
    /** Told the name in use after probing (and after every rename). */
    onName?: (name: string) => void
}

export const enum MdnsState {
    Idle,
    Probing,
    Announcing,
    Running,
}

// record bits
const R_A = 1
const R_PTR = 2
const R_SRV = 4
const R_TXT = 8
const R_ENUM = 16
const R_ALL = 31

/** RFC 6762 §10: 120 s for records with a host name, 75 min for the others. */
const TTL_HOST = 120
const TTL_OTHER = 4500
const FLUSH = 0x8000

/** @devsWhenUsed */
export class MdnsResponder implements StackService {
    state = MdnsState.Idle
    /** The label in use (the requested one, or NAME-2 ... after conflicts). */
    name: string
    conflicts = 0
    queriesAnswered = 0

    private readonly stack: Stack
    private readonly opts: MdnsOptions
    private readonly buf = Buffer.alloc(900)
    private readonly rec = new DnsRecord()
    private host = ""
    private instance = ""
    private serviceName = ""
    private deadline = -1
    private step = 0

    constructor(stack: Stack, opts: MdnsOptions) {
        this.stack = stack
        this.opts = opts
        this.name = opts.name
        this.names()
        const self = this
        stack.joinMulticast(MDNS_GROUP)
        stack.udpBind(MDNS_PORT, (src, sport, dport, b, off, len, now) => self.input(src, sport, b, off, len, now))
        stack.services.push(this)
    }

    nextDeadline(): number {
        return this.deadline
    }

    /** A new address: probe and announce again (RFC 6762 §8); none: go quiet. */
    addressChanged(now: number): void {
        this.state = MdnsState.Idle
        this.deadline = -1
        if (this.stack.ip !== 0) this.probeSoon(now)
    }

    poll(now: number): void {
        if (this.deadline < 0 || now < this.deadline) return
        this.deadline = -1
        if (this.state === MdnsState.Probing) {
            if (this.step < 3) {
                this.send(now, 0)
                this.step++
                this.deadline = now + 250
                return
            }
            this.state = MdnsState.Announcing
            this.step = 0
            if (this.opts.onName) this.opts.onName(this.name)
            this.stack.say("mdns: " + this.host + " is ours")
        }
        if (this.state === MdnsState.Announcing) {
            this.send(now, TTL_HOST)
            if (++this.step < 2) this.deadline = now + 1000
            else this.state = MdnsState.Running
        }
    }

    /** Goodbye (RFC 6762 §10.1): every record with TTL 0; then silent until the next address. */
    stop(now: number): void {
        if (this.state === MdnsState.Running || this.state === MdnsState.Announcing) this.send(now, -1)
        this.state = MdnsState.Idle
        this.deadline = -1
    }

    // ---- names ------------------------------------------------------------

    private names(): void {
        this.host = this.name + ".local"
        const svc = this.opts.service
        this.serviceName = svc ? svc + ".local" : ""
        this.instance = svc ? this.name + "." + this.serviceName : ""
    }

    private probeSoon(now: number): void {
        this.state = MdnsState.Probing
        this.step = 0
        // §8.1: a random 0-250 ms before the first probe
        this.deadline = now + ((this.stack.random.nextU32() >>> 8) % 250)
    }

    /** §9: another host has the name: take the next one and probe again. */
    private rename(now: number): void {
        this.conflicts++
        const base = this.opts.name
        this.name = base + "-" + (this.conflicts + 1)
        this.stack.say("mdns: conflict, trying " + this.name + ".local")
        this.names()
        this.probeSoon(now)
        // §8.1: after 15 conflicts in 10 s, wait 5 s (we wait 1 s after every fifth)
        if (this.conflicts % 5 === 0) this.deadline = now + 1000
    }

    /** Which of our records the name at buf[off] owns (R_* bits), 0 for none, -1 when malformed. */
    private owner(b: Buffer, base: number, off: number, end: number): number {
        const h = readName(b, base, off, end, this.host)
        if (h === null) return -1
        if (h) return R_A
        if (!this.instance) return 0
        if (readName(b, base, off, end, this.instance)) return R_SRV | R_TXT
        if (readName(b, base, off, end, this.serviceName)) return R_PTR
        if (readName(b, base, off, end, "_services._dns-sd._udp.local")) return R_ENUM
        return 0
    }

    // ---- input ------------------------------------------------------------

    private input(src: number, sport: number, b: Buffer, off: number, len: number, now: number): void {
        const end = off + len
        if (len < DNS_HEADER_LEN) return this.stack.counters.drop(Reason.BadMdns)
        if (this.state === MdnsState.Idle) return
        const flags = getU16(b, off + 2)
        const qd = getU16(b, off + 4)
        const rest = getU16(b, off + 6) + getU16(b, off + 8) + getU16(b, off + 10)
        const r = this.rec
        let at = off + DNS_HEADER_LEN
        let answer = 0
        let qEnd = 0
        for (let i = 0; i < qd; i++) {
            at = parseRecord(b, at, end, true, r)
            if (at < 0) return this.stack.counters.drop(Reason.BadMdns)
            const o = this.owner(b, off, r.name, end)
            if (o < 0) return this.stack.counters.drop(Reason.BadMdns)
            const t = r.type
            if (o === R_A && (t === DNS_TYPE_A || t === DNS_TYPE_ANY)) answer |= R_A
            else if (o === R_PTR && (t === DNS_TYPE_PTR || t === DNS_TYPE_ANY)) answer |= R_PTR
            else if (o === R_ENUM && (t === DNS_TYPE_PTR || t === DNS_TYPE_ANY)) answer |= R_ENUM
            else if (o === (R_SRV | R_TXT)) answer |= t === DNS_TYPE_SRV ? R_SRV : t === DNS_TYPE_TXT ? R_TXT : t === DNS_TYPE_ANY ? R_SRV | R_TXT : 0
        }
        qEnd = at
        const response = (flags & 0x8000) !== 0
        for (let i = 0; i < rest; i++) {
            at = parseRecord(b, at, end, false, r)
            if (at < 0) return this.stack.counters.drop(Reason.BadMdns)
            const o = this.owner(b, off, r.name, end)
            if (o < 0) return this.stack.counters.drop(Reason.BadMdns)
            if (!(o & (R_A | R_SRV)) || src === this.stack.ip) continue
            const theirIp = r.type === DNS_TYPE_A && r.rdLength === 4 ? ((b[r.rdata] << 24) | (b[r.rdata + 1] << 16) | (b[r.rdata + 2] << 8) | b[r.rdata + 3]) >>> 0 : 0
            if (response) {
                // §9: someone answers for our name: while probing always a conflict; later, only with another address
                if (this.state === MdnsState.Probing || (o === R_A && theirIp !== 0 && theirIp !== this.stack.ip)) return this.rename(now)
            } else if (this.state === MdnsState.Probing && o === R_A && theirIp > this.stack.ip) {
                // §8.2: a simultaneous probe; the larger rdata wins (we compare the A records)
                return this.rename(now)
            }
        }
        // probing done: the name is ours while we announce it too (§8.3)
        if (response || !answer || this.state < MdnsState.Announcing) return
        this.queriesAnswered++
        if (sport !== MDNS_PORT) this.reply(src, sport, b, off, qEnd - off, answer, now)
        else this.respond(now, answer, MDNS_GROUP, MDNS_PORT, 0, TTL_HOST)
    }

    /** §6.7 legacy unicast: the query's ID and questions, TTL 10, to the asker. */
    private reply(dst: number, port: number, q: Buffer, off: number, qLen: number, answer: number, now: number): void {
        if (qLen > 300) return
        this.buf.blitAt(0, q, off, qLen)
        this.respond(now, answer, dst, port, qLen, 10)
    }

    // ---- output -----------------------------------------------------------

    /** kind 0: a probe; TTL > 0: an announcement of every record; -1: goodbye. */
    private send(now: number, kind: number): void {
        if (kind === 0) {
            const b = this.buf
            let at = writeName(b, DNS_HEADER_LEN, this.host)
            at = writeRecordHead(b, at, DNS_TYPE_ANY, DNS_CLASS_IN, 0) - 6 // a question: type and class only
            let qd = 1
            if (this.instance) {
                at = writeName(b, at, this.instance)
                at = writeRecordHead(b, at, DNS_TYPE_ANY, DNS_CLASS_IN, 0) - 6
                qd++
            }
            at = this.put(at, R_A, TTL_HOST, false)
            writeHeader(b, 0, 0, 0, qd, 0, 1, 0)
            this.stack.udpSend(MDNS_PORT, MDNS_GROUP, MDNS_PORT, b, 0, at, now)
            return
        }
        this.respond(now, this.opts.service ? R_ALL : R_A, MDNS_GROUP, MDNS_PORT, 0, kind < 0 ? 0 : kind)
    }

    /**
     * A response with `answer` records (after qEnd bytes of echoed query, 0
     * for none) and, in the additional section, what RFC 6763 §12 says goes
     * with them. ttl 10 marks legacy unicast (no cache-flush bit).
     */
    private respond(now: number, answer: number, dst: number, port: number, qEnd: number, ttl: number): void {
        let extra = 0
        if (answer & R_PTR) extra |= R_SRV | R_TXT | R_A
        if (answer & R_SRV) extra |= R_A
        extra &= ~answer
        const legacy = qEnd > 0
        let at = legacy ? qEnd : DNS_HEADER_LEN
        let an = 0
        let ar = 0
        for (let bit = 1; bit <= R_ENUM; bit <<= 1) {
            if (answer & bit) {
                at = this.put(at, bit, ttl, !legacy)
                an++
            }
        }
        for (let bit = 1; bit <= R_ENUM; bit <<= 1) {
            if (extra & bit) {
                at = this.put(at, bit, ttl, !legacy)
                ar++
            }
        }
        const b = this.buf
        writeHeader(b, 0, legacy ? getU16(b, 0) : 0, 0x8400, legacy ? getU16(b, 4) : 0, an, 0, ar)
        this.stack.udpSend(MDNS_PORT, dst, port, b, 0, at, now)
    }

    /** Writes one record at buf[at]; returns the offset past it. */
    private put(at: number, bit: number, ttl: number, flush: boolean): number {
        const b = this.buf
        const host = bit === R_A || bit === R_SRV
        const t = ttl === TTL_HOST && !host ? TTL_OTHER : ttl
        // the PTRs are shared records: never the cache-flush bit (§10.2)
        const cls = DNS_CLASS_IN | (flush && bit !== R_PTR && bit !== R_ENUM ? FLUSH : 0)
        let rd = 0
        if (bit === R_A) {
            rd = writeRecordHead(b, writeName(b, at, this.host), DNS_TYPE_A, cls, t)
            setU32(b, rd, this.stack.ip)
            return endRecord(b, rd, rd + 4)
        }
        if (bit === R_PTR || bit === R_ENUM) {
            const owner = bit === R_PTR ? this.serviceName : "_services._dns-sd._udp.local"
            rd = writeRecordHead(b, writeName(b, at, owner), DNS_TYPE_PTR, cls, t)
            return endRecord(b, rd, writeName(b, rd, bit === R_PTR ? this.instance : this.serviceName))
        }
        const p = writeName(b, at, this.instance)
        if (bit === R_SRV) {
            // RFC 2782: priority 0, weight 0, port, target
            rd = writeRecordHead(b, p, DNS_TYPE_SRV, cls, t)
            b[rd] = b[rd + 1] = b[rd + 2] = b[rd + 3] = 0
            const port = this.opts.port || 80
            b[rd + 4] = port >> 8
            b[rd + 5] = port & 0xff
            return endRecord(b, rd, writeName(b, rd + 6, this.host))
        }
        // TXT: length-prefixed strings; an empty one when there are none (RFC 6763 §6.1)
        rd = writeRecordHead(b, p, DNS_TYPE_TXT, cls, t)
        let q = rd
        const txt = this.opts.txt || []
        if (txt.length === 0) b[q++] = 0
        for (const s of txt) {
            b[q++] = s.length
            for (let i = 0; i < s.length; i++) b[q++] = s.charCodeAt(i)
        }
        return endRecord(b, rd, q)
    }
}

/**
 * Starts answering for NAME.local (and the DNS-SD service) on the stack:
 * it probes now if the stack has an address, or once it gets one.
 */
export function startMdns(stack: Stack, opts: MdnsOptions, now: number): MdnsResponder {
    const m = new MdnsResponder(stack, opts)
    if (stack.ip !== 0) m.addressChanged(now)
    return m
}
