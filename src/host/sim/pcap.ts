// Classic libpcap files (the format tcpdump -w writes, which Wireshark and
// tshark open): a 24-byte global header, then per frame a 16-byte record
// header with a seconds + microseconds timestamp and the captured bytes.
// Virtual milliseconds become the timestamp, offset by `epochMs`.

import { writeFileSync } from "node:fs"

export const PCAP_MAGIC = 0xa1b2c3d4
export const PCAP_MAGIC_NS = 0xa1b23c4d
export const LINKTYPE_ETHERNET = 1

export interface PcapWriterOptions {
    /** Largest number of bytes kept per frame (default 65535). */
    snaplen?: number
    /** Added to every virtual time, in ms since 1970 (default 0). */
    epochMs?: number
    /** Link-layer type (default LINKTYPE_ETHERNET). */
    linktype?: number
}

export class PcapWriter {
    readonly snaplen: number
    readonly epochMs: number
    readonly linktype: number
    private chunks: Buffer[] = []
    /** Number of records written. */
    count = 0

    constructor(opts: PcapWriterOptions = {}) {
        this.snaplen = opts.snaplen ?? 65535
        this.epochMs = opts.epochMs ?? 0
        this.linktype = opts.linktype ?? LINKTYPE_ETHERNET
        const h = Buffer.alloc(24)
        h.writeUInt32LE(PCAP_MAGIC, 0)
        h.writeUInt16LE(2, 4) // version 2.4
        h.writeUInt16LE(4, 6)
        h.writeInt32LE(0, 8) // thiszone
        h.writeUInt32LE(0, 12) // sigfigs
        h.writeUInt32LE(this.snaplen, 16)
        h.writeUInt32LE(this.linktype, 20)
        this.chunks.push(h)
    }

    /** Records frame[0, length) at virtual time `timeMs`. The bytes are copied. */
    write(timeMs: number, frame: Buffer, length = frame.length): void {
        const totalUs = Math.round((timeMs + this.epochMs) * 1000)
        const sec = Math.floor(totalUs / 1e6)
        const usec = totalUs - sec * 1e6
        const incl = Math.min(length, this.snaplen)
        const r = Buffer.alloc(16 + incl)
        r.writeUInt32LE(sec >>> 0, 0)
        r.writeUInt32LE(usec, 4)
        r.writeUInt32LE(incl, 8)
        r.writeUInt32LE(length, 12)
        frame.copy(r, 16, 0, incl)
        this.chunks.push(r)
        this.count++
    }

    /** The whole file so far. */
    toBuffer(): Buffer {
        if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)]
        return this.chunks[0]
    }

    writeFile(path: string): void {
        writeFileSync(path, this.toBuffer())
    }
}

export interface PcapRecord {
    /** Timestamp in ms (seconds and fraction as stored; epochMs not removed). */
    timeMs: number
    /** The captured bytes. */
    frame: Buffer
    /** The frame's length on the wire (>= frame.length when truncated by snaplen). */
    origLength: number
}

export interface PcapFile {
    linktype: number
    snaplen: number
    records: PcapRecord[]
}

/** Parses a classic pcap file (either byte order, micro- or nanosecond). */
export function readPcapFile(buf: Buffer): PcapFile {
    if (buf.length < 24) throw new Error("pcap: file shorter than its header")
    let le: boolean
    let nano: boolean
    const m = buf.readUInt32LE(0)
    if (m === PCAP_MAGIC || m === PCAP_MAGIC_NS) {
        le = true
        nano = m === PCAP_MAGIC_NS
    } else {
        const mb = buf.readUInt32BE(0)
        if (mb !== PCAP_MAGIC && mb !== PCAP_MAGIC_NS) throw new Error("pcap: bad magic 0x" + m.toString(16))
        le = false
        nano = mb === PCAP_MAGIC_NS
    }
    const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o))
    const snaplen = u32(16)
    const linktype = u32(20)
    const records: PcapRecord[] = []
    let o = 24
    while (o < buf.length) {
        if (o + 16 > buf.length) throw new Error(`pcap: truncated record header at offset ${o}`)
        const sec = u32(o)
        const frac = u32(o + 4)
        const incl = u32(o + 8)
        const orig = u32(o + 12)
        if (o + 16 + incl > buf.length) throw new Error(`pcap: truncated record at offset ${o}`)
        records.push({
            timeMs: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3),
            frame: Buffer.from(buf.subarray(o + 16, o + 16 + incl)),
            origLength: orig,
        })
        o += 16 + incl
    }
    return { linktype, snaplen, records }
}

/** The records of a pcap file, for tests. */
export function readPcap(buf: Buffer): PcapRecord[] {
    return readPcapFile(buf).records
}
