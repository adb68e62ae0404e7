// A small authoritative DNS server on a ds-tcpip Stack, for the tests: A and
// CNAME records from a table, NXDOMAIN for the rest, with knobs to be
// silent, answer SERVFAIL, or send garbage. Names in replies are compressed
// with pointers to the question, as real servers do.
import { Stack } from "../stack.js"
import { DnsRecord, DNS_TYPE_A, DNS_TYPE_CNAME, parseRecord, readName, writeName } from "../wire/dns.js"

export class TestDnsServer {
    /** name -> "a.b.c.d" (A) or "cname:target" */
    readonly records = new Map<string, string>()
    ttl = 60
    silent = false
    servfail = false
    /** Reply with these bytes instead (the query's ID is written over the first two). */
    garbage: Buffer = null
    readonly queries: { name: string; type: number; id: number; sport: number }[] = []
    private readonly rec = new DnsRecord()

    constructor(readonly stack: Stack) {
        stack.udpBind(53, (src, sport, dport, b, off, len, now) => this.input(src, sport, b, off, len, now))
    }

    private input(src: number, sport: number, b: Buffer, off: number, len: number, now: number): void {
        const end = off + len
        const r = this.rec
        const qEnd = parseRecord(b, off + 12, end, true, r)
        if (qEnd < 0) return
        const name = readName(b, off, r.name, end)
        this.queries.push({ name, type: r.type, id: b.readUInt16BE(off), sport })
        if (this.silent) return
        const out = Buffer.alloc(512)
        if (this.garbage) {
            this.garbage.copy(out)
            out.writeUInt16BE(b.readUInt16BE(off), 0)
            this.stack.udpSend(53, src, sport, out, 0, this.garbage.length, now)
            return
        }
        b.copy(out, 0, off, qEnd)
        let at = qEnd - off
        let an = 0
        let owner = name
        let ownerPtr = 12 // the question's name
        let rcode = this.servfail ? 2 : 0
        for (let hop = 0; hop < 10 && !this.servfail; hop++) {
            const v = this.records.get(owner)
            if (v === undefined) {
                if (hop === 0) rcode = 3
                break
            }
            out.writeUInt16BE(0xc000 | ownerPtr, at)
            const cname = v.startsWith("cname:")
            out.writeUInt16BE(cname ? DNS_TYPE_CNAME : DNS_TYPE_A, at + 2)
            out.writeUInt16BE(1, at + 4)
            out.writeUInt32BE(this.ttl, at + 8 - 2)
            const rd = at + 12
            an++
            if (!cname) {
                const p = v.split(".").map(Number)
                out.set(p, rd)
                out.writeUInt16BE(4, rd - 2)
                at = rd + 4
                break
            }
            owner = v.slice(6)
            const e = writeName(out, rd, owner)
            out.writeUInt16BE(e - rd, rd - 2)
            ownerPtr = rd
            at = e
        }
        out.writeUInt16BE(0x8180 | rcode, 2) // QR, RD, RA
        out.writeUInt16BE(an, 6)
        this.stack.udpSend(53, src, sport, out, 0, at, now)
    }
}
