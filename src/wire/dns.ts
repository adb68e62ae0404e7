// DNS messages (RFC 1035 §4.1), shared by the resolver and mDNS (RFC 6762):
// a 12-byte header (id, flags, four counts), then questions (name, type,
// class) and resource records (name, type, class, TTL, rdlength, rdata).
//
// Names are labels of 1..63 bytes ended by a zero byte, or by a compression
// pointer (two bytes, 0b11 + a 14-bit offset; §4.1.4). Reading is bounded:
// every pointer must point before the previous one's target (or before the
// name itself for the first), so a chain of pointers cannot loop; a pointer
// out of the message, a label over 63 bytes, a name over 255 bytes (§2.3.4)
// or a label past the end makes the name malformed (null / -1).
import { getU16, getU32, setU16, setU32 } from "./bytes.js"

export const DNS_HEADER_LEN = 12
export const DNS_TYPE_A = 1
export const DNS_TYPE_CNAME = 5
export const DNS_TYPE_PTR = 12
export const DNS_TYPE_TXT = 16
export const DNS_TYPE_SRV = 33
export const DNS_TYPE_ANY = 255
export const DNS_CLASS_IN = 1

/** A question (rdata fields unused) or a resource record, as offsets into the message. */
export class DnsRecord {
    /** Offset of the owner name (read it with readName). */
    name = 0
    type = 0
    /** Class with its top bit (mDNS: unicast-response / cache-flush, RFC 6762 §18.12, §10.2). */
    cls = 0
    ttl = 0
    rdata = 0
    rdLength = 0
}

/**
 * Reads the name at buf[off] of the message that starts at buf[base] and
 * ends at end (pointers count from base): dotted, ASCII letters in lower
 * case ("" for the root); null when the name is malformed. Names are
 * compared as this text.
 */
export function readName(buf: Buffer, base: number, off: number, end: number): string {
    let at = off
    let bound = off
    let total = 0
    let text = ""
    for (;;) {
        if (at < base || at >= end) return null
        const n = buf[at]
        if (n >= 0xc0) {
            const target = base + (((n & 0x3f) << 8) | buf[at + 1])
            if (at + 1 >= end || target >= bound) return null
            bound = at = target
            continue
        }
        if (n === 0) return text
        total += n + 1
        if (n > 63 || total > 255 || at + 1 + n > end) return null
        if (total > n + 1) text += "."
        for (let i = 1; i <= n; i++) {
            const c = buf[at + i]
            text += String.fromCharCode(c >= 65 && c <= 90 ? c + 32 : c)
        }
        at += 1 + n
    }
}

/** The offset just past the name at buf[off] (its in-place part), or -1 when it runs past end. */
export function skipName(buf: Buffer, off: number, end: number): number {
    let at = off
    for (;;) {
        if (at >= end) return -1
        const n = buf[at]
        if (n >= 0xc0) return at + 2 <= end ? at + 2 : -1
        if (n > 63) return -1
        at += 1 + n
        if (n === 0) return at
    }
}

/**
 * Reads the question (question true) or resource record at buf[off] into
 * r; returns the offset past it, or -1 when it is malformed or runs past end.
 */
export function parseRecord(buf: Buffer, off: number, end: number, question: boolean, r: DnsRecord): number {
    const at = skipName(buf, off, end)
    if (at < 0 || at + 4 > end) return -1
    r.name = off
    r.type = getU16(buf, at)
    r.cls = getU16(buf, at + 2)
    if (question) return at + 4
    if (at + 10 > end) return -1
    r.ttl = getU32(buf, at + 4)
    r.rdLength = getU16(buf, at + 8)
    r.rdata = at + 10
    return r.rdata + r.rdLength <= end ? r.rdata + r.rdLength : -1
}

/** Writes the dotted `name` as labels (no compression; empty labels skipped) at buf[off]; returns the offset past it. */
export function writeName(buf: Buffer, off: number, name: string): number {
    // len: where the current label's length goes; at: its next byte
    let len = off
    let at = off + 1
    for (let i = 0; i <= name.length; i++) {
        const c = name.charCodeAt(i)
        if (i < name.length && c !== 46) buf[at++] = c
        else if (at > len + 1) {
            buf[len] = at - len - 1
            len = at++
        }
    }
    buf[len] = 0
    return len + 1
}

/** Writes a header: id, flags, then the four counts. */
export function writeHeader(buf: Buffer, off: number, id: number, flags: number, qd: number, an: number, ns: number, ar: number): void {
    setU16(buf, off, id)
    setU16(buf, off + 2, flags)
    setU16(buf, off + 4, qd)
    setU16(buf, off + 6, an)
    setU16(buf, off + 8, ns)
    setU16(buf, off + 10, ar)
}

/** Writes type, class and TTL after a name, and a zero rdlength; returns the rdata offset (finish with endRecord). */
export function writeRecordHead(buf: Buffer, off: number, type: number, cls: number, ttl: number): number {
    setU16(buf, off, type)
    setU16(buf, off + 2, cls)
    setU32(buf, off + 4, ttl)
    return off + 10
}

/** Sets the rdlength of the record whose rdata starts at rdata and ends at end; returns end. */
export function endRecord(buf: Buffer, rdata: number, end: number): number {
    setU16(buf, rdata - 2, end - rdata)
    return end
}
