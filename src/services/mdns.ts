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
import { getU16, getU32, setU16, setU32 } from "../wire/bytes.js"
import {
    DnsRecord,
    DNS_CLASS_IN,
    DNS_HEADER_LEN,
    DNS_TYPE_A,
    DNS_TYPE_ANY,
    parseRecord,
    readName,
    writeHeader,
    writeName,
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

// our records, one bit each, in the order they are written: A, PTR (service -> instance),
// SRV, TXT, the DNS-SD enumeration PTR (_services._dns-sd._udp.local -> service)
const R_A = 1
const R_PTR = 2
const R_SRV = 4
const R_TXT = 8
const R_ENUM = 16
const R_ALL = 31

/** RFC 6762 §10: 120 s for records with a host name, 75 min for the others. */
const TTL_HOST = 120
const TTL_OTHER = 4500

/**
 * Which of a name's records a question of each type (the index) asks for:
 * the low 5 bits of the character (A: R_A; PTR: both PTRs; TXT; SRV; ANY
 * at 255: all). Data, not code: a string literal lies outside the image's
 * function bytes.
 */
const QUESTION_TYPES = "@A@@@@@@@@@@R@@@H@@@@@@@@@@@@@@@@D@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@_"

/** @devsWhenUsed */
export class MdnsResponder implements StackService {
    state = MdnsState.Idle
    /** The label in use (the requested one, or NAME-2 ... after conflicts). */
    name: string
    conflicts = 0

    private readonly stack: Stack
    private readonly opts: MdnsOptions
    private readonly buf = Buffer.alloc(900)
    /** Our names: NAME.local, and with a service the instance NAME.SERVICE.local, SERVICE.local, the DNS-SD enumeration name. */
    private names: string[]
    /** The same in lower case, as readName() gives the names it reads. */
    private keys: string[]
    private deadline = -1
    private step: number
    /** The TXT record's rdata. */
    private readonly txt: Buffer

    constructor(stack: Stack, opts: MdnsOptions) {
        this.stack = stack
        this.opts = opts
        this.name = opts.name
        // TXT: length-prefixed strings; an empty one when there are none (RFC 6763 §6.1)
        let txt = ""
        for (const t of opts.txt || []) txt += String.fromCharCode(t.length) + t
        this.txt = txt ? Buffer.from(txt) : Buffer.alloc(1)
        const self = this
        const r = new DnsRecord()
        stack.joinMulticast(MDNS_GROUP)
        stack.udpBind(MDNS_PORT, (src, sport, dport, b, off, len, now) => {
            const me = self
            const end = off + len
            if (len < DNS_HEADER_LEN) return stack.counters.drop(Reason.BadMdns)
            const state = me.state
            if (state === MdnsState.Idle) return
            const ip = stack.ip
            const response = (b[off + 2] & 0x80) !== 0
            const qd = getU16(b, off + 4)
            const count = qd + getU16(b, off + 6) + getU16(b, off + 8) + getU16(b, off + 10)
            let at = off + DNS_HEADER_LEN
            let answer = 0
            let qEnd = at
            for (let i = 0; i < count; i++) {
                at = parseRecord(b, at, end, i < qd, r)
                // which of our records the name owns (R_* bits): A, SRV+TXT, PTR, the enumeration PTR
                const name = at < 0 ? null : readName(b, off, r.name, end)
                if (name === null) return stack.counters.drop(Reason.BadMdns)
                const k = me.keys.indexOf(name)
                const o = k < 0 ? 0 : "\x01\x0c\x02\x10".charCodeAt(k)
                const t = r.type
                if (i < qd) {
                    // the records of that name the question asks for
                    answer |= o & QUESTION_TYPES.charCodeAt(t)
                    qEnd = at
                    continue
                }
                if ((o & (R_A | R_SRV)) === 0 || src === ip) continue
                const theirIp = t === DNS_TYPE_A && r.rdLength === 4 ? getU32(b, r.rdata) : 0
                // §9: someone answers for our name: while probing always a conflict; later, only with another address.
                // §8.2: a simultaneous probe (a query with our name in authority) with a larger address (rdata) wins.
                if (state === MdnsState.Probing ? response || (o === R_A && theirIp > ip) : response && o === R_A && theirIp !== 0 && theirIp !== ip) {
                    // §9: take the next name and probe again; §8.1: after 15 conflicts in 10 s, wait 5 s (we wait 1 s after every fifth)
                    const n = ++me.conflicts
                    me.name = opts.name + "-" + (n + 1)
                    stack.say("mdns: conflict, trying " + me.name + ".local")
                    me.probe(now)
                    if (n % 5 === 0) me.deadline = now + 1000
                    return
                }
            }
            // probing done: the name is ours while we announce it too (§8.3)
            if (response || !answer || state < MdnsState.Announcing) return
            // §6.7 legacy unicast (a source port other than 5353): the query's ID and questions, TTL 10, to the asker
            if (sport === MDNS_PORT) return me.respond(now, answer, MDNS_GROUP, MDNS_PORT, 0, TTL_HOST)
            if (qEnd - off > 300) return
            me.buf.blitAt(0, b, off, qEnd - off)
            me.respond(now, answer, src, sport, qEnd - off, 10)
        })
        stack.services.push(this)
    }

    nextDeadline(): number {
        return this.deadline
    }

    /** A new address: probe and announce again (RFC 6762 §8); none: go quiet. */
    addressChanged(now: number): void {
        this.state = MdnsState.Idle
        this.deadline = -1
        if (this.stack.ip !== 0) this.probe(now)
    }

    /**
     * PROBING: 3 queries "NAME.local ANY?" (and the instance's) 250 ms
     * apart, our A in the authority section; then ANNOUNCING: every record
     * twice, 1 s apart; then RUNNING.
     */
    poll(now: number): void {
        if (this.deadline < 0 || now < this.deadline) return
        this.deadline = -1
        if (this.state === MdnsState.Probing) {
            if (this.step < 3) {
                const b = this.buf
                let at = DNS_HEADER_LEN
                const qd = this.opts.service ? 2 : 1
                for (let k = 0; k < qd; k++) {
                    at = writeName(b, at, this.names[k])
                    setU32(b, at, (DNS_TYPE_ANY << 16) | DNS_CLASS_IN)
                    at += 4
                }
                writeHeader(b, 0, 0, 0, qd, 0, 0, 0)
                this.respond(now, R_A << 10, MDNS_GROUP, MDNS_PORT, at, TTL_HOST)
                this.step++
                this.deadline = now + 250
                return
            }
            this.state = MdnsState.Announcing
            this.step = 0
            if (this.opts.onName) this.opts.onName(this.name)
            this.stack.say("mdns: " + this.names[0] + " is ours")
        }
        if (this.state === MdnsState.Announcing) {
            this.respond(now, this.opts.service ? R_ALL : R_A, MDNS_GROUP, MDNS_PORT, 0, TTL_HOST)
            if (++this.step < 2) this.deadline = now + 1000
            else this.state = MdnsState.Running
        }
    }

    /** Goodbye (RFC 6762 §10.1): every record with TTL 0; then silent until the next address. */
    stop(now: number): void {
        if (this.state >= MdnsState.Announcing) this.respond(now, this.opts.service ? R_ALL : R_A, MDNS_GROUP, MDNS_PORT, 0, 0)
        this.state = MdnsState.Idle
        this.deadline = -1
    }

    /** Probes for this.name (after a random 0-250 ms, §8.1). */
    private probe(now: number): void {
        const svc = this.opts.service
        const host = this.name + ".local"
        const names = svc ? [host, this.name + "." + svc + ".local", svc + ".local", "_services._dns-sd._udp.local"] : [host]
        this.names = names
        this.keys = []
        for (const n of names) this.keys.push(n.toLowerCase())
        this.state = MdnsState.Probing
        this.step = 0
        this.deadline = now + ((this.stack.random.nextU32() >>> 8) % 250)
    }

    /**
     * Sends our records `all` after the header, or after qEnd bytes of
     * questions already in buf (a legacy query's, echoed, or a probe's):
     * bits 0-4 (R_*) in the answer section, with what RFC 6763 §12 says goes
     * with them in the additional section (bits 5-9); bits 10-14 in the
     * authority section (a probe's: then the flags are a query's). After
     * questions (legacy unicast: ttl 10; a probe) no cache-flush bit.
     */
    private respond(now: number, all: number, dst: number, port: number, qEnd: number, ttl: number): void {
        const b = this.buf
        const names = this.names
        all |= (((all & R_PTR ? R_SRV | R_TXT | R_A : 0) | (all & R_SRV ? R_A : 0)) & ~all & R_ALL) << 5
        // the header: the ID and question count already in buf after questions
        writeHeader(b, 0, qEnd > 0 ? getU16(b, 0) : 0, all < 1024 ? 0x8400 : 0, qEnd > 0 ? getU16(b, 4) : 0, 0, 0, 0)
        let at = qEnd > 0 ? qEnd : DNS_HEADER_LEN
        for (let bit = 0; bit < 15; bit++) {
            if (((all >> bit) & 1) === 0) continue
            // the section's count: answers, additional, authority
            b[(bit < 5 ? 7 : bit < 10 ? 11 : 9)]++
            const i = bit % 5
            // owners: host, service, instance, instance, enumeration; types A, PTR, SRV, TXT, PTR
            const p = writeName(b, at, names["02113".charCodeAt(i) - 48])
            setU16(b, p, "\x01\x0c!\x10\x0c".charCodeAt(i))
            // A and SRV (bits 0, 2: 0x05) carry the host name (TTL 120); the PTRs (bits 1, 4: 0x12) are shared records: never the cache-flush bit (§10.2)
            setU16(b, p + 2, DNS_CLASS_IN | (qEnd === 0 && ((0x12 >> i) & 1) === 0 ? 0x8000 : 0))
            setU32(b, p + 4, ttl === TTL_HOST && ((0x05 >> i) & 1) === 0 ? TTL_OTHER : ttl)
            const rd = p + 10
            at = rd + 4
            if (i === 0) setU32(b, rd, this.stack.ip)
            else if (i === 2) {
                // RFC 2782: priority 0, weight 0, port, target
                setU32(b, rd, 0)
                setU16(b, at, this.opts.port || 80)
                at = writeName(b, rd + 6, names[0])
            } else if (i === 3) {
                b.blitAt(rd, this.txt, 0, this.txt.length)
                at = rd + this.txt.length
            } else at = writeName(b, rd, names[1 + (i >> 2)]) // PTR: the instance; enumeration: the service
            setU16(b, p + 8, at - rd)
        }
        this.stack.udpSend(MDNS_PORT, dst, port, b, 0, at, now)
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

/**
 * A name NAME.local can be: letters, digits and '-', 1 to 40 long, not
 * starting or ending with '-' (RFC 1123 §2.1; at most 40 so that NAME-NN
 * and the DNS-SD names built from it fit the responder's packets).
 */
export function validHostname(name: string): boolean {
    const n = name.length
    if (n < 1) return false
    if (n > 40) return false
    if (name.charAt(0) === "-") return false
    if (name.charAt(n - 1) === "-") return false
    // one native search a character: smaller code than comparing ranges
    for (let i = 0; i < n; i++) if ("-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".indexOf(name.charAt(i)) < 0) return false
    return true
}
