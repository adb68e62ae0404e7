// `ds-tcpip trace FILE`: every TCP segment of a capture in tcpdump's notation
// (as `tcpdump -nn -S -t` prints it; --relative as tcpdump's default),
// grouped by connection, with each endpoint's inferred state changes on their
// own lines (host only):
//
//   connection 1: 192.168.1.116.3337 > 192.168.1.123.7788
//   192.168.1.116.3337: CLOSED -> SYN-SENT
//   IP 192.168.1.116.3337 > 192.168.1.123.7788: Flags [S], seq 3626544836, win 65535, length 0
//   192.168.1.123.7788: LISTEN -> SYN-RECEIVED
//   IP 192.168.1.123.7788 > 192.168.1.116.3337: Flags [S.], seq 1739326486, ack 3626544837, win 65535, length 0
//   192.168.1.116.3337: SYN-SENT -> ESTABLISHED
//   ...
//
// A sender's change is printed before its segment (it changed state to send
// it), a receiver's after. Segments are read without checking checksums:
// captures taken on the sending host often hold checksums the NIC fills in
// later. Remarks (retransmission, lost, zero-window probe, keep-alive,
// window change, reset ignored, gap before) follow a segment's line after
// two spaces, in parentheses.

import { readFileSync, existsSync } from "node:fs"
import { ipToString } from "../wire/bytes.js"
import { TCP_ACK, TCP_FIN, TCP_OPT_WSCALE, TCP_RST, TCP_SYN, TCP_URG } from "../wire/tcp.js"
import { CaptureError, readCapture, ipv4Offset, Capture } from "./capture.js"
import { TcpStateTracker, Segment, TrackedConnection, TrackedSegment, StateChange, SegmentNotes } from "./tcp-infer.js"
import { TraceContext, tcpFlagsString, tcpOptions } from "./trace.js"
import { compareStates, parseStateEvents, Disagreement } from "./state-events.js"

/** A segment with what is needed to print it. */
export interface CapturedSegment extends Segment {
    /** The packet's bytes and where the TCP header starts, for the options. */
    data: Buffer
    tcpOffset: number
    headerLength: number
    urgent: number
}

export interface ReadSegments {
    capture: Capture
    segments: CapturedSegment[]
    /** Packets that are not IPv4 TCP (ARP, UDP, IPv6, fragments, ...). */
    otherPackets: number
    /** TCP packets too short or malformed to read. */
    badPackets: number
}

/** The IPv4 TCP segments of a capture, in capture order. */
export function segmentsOf(capture: Capture): ReadSegments {
    const segments: CapturedSegment[] = []
    let other = 0
    let bad = 0
    let lastTime = 0
    for (const p of capture.packets) {
        const time = p.timeMs === p.timeMs ? p.timeMs : lastTime
        lastTime = time
        const d = p.data
        const ip = ipv4Offset(p.linktype, d)
        if (ip < 0) {
            other++
            continue
        }
        const ihl = (d[ip] & 15) * 4
        const total = d.readUInt16BE(ip + 2)
        const frag = d.readUInt16BE(ip + 6)
        if (d[ip + 9] !== 6 || (frag & 0x1fff) !== 0) {
            other++
            continue
        }
        const t = ip + ihl
        if (ihl < 20 || t + 20 > d.length) {
            bad++
            continue
        }
        const hl = (d[t + 12] >> 4) * 4
        // with segmentation offload a capture may show a total length of 0: take the captured length then
        const ipLen = total >= ihl + hl ? total : p.origLength - ip
        const length = ipLen - ihl - hl
        if (hl < 20 || t + hl > d.length || length < 0) {
            bad++
            continue
        }
        let wscale = -1
        for (let o = t + 20; o < t + hl; ) {
            const kind = d[o]
            if (kind === 0) break
            if (kind === 1) {
                o++
                continue
            }
            const len = d[o + 1]
            if (len < 2 || o + len > t + hl) break
            if (kind === TCP_OPT_WSCALE && len === 3) wscale = d[o + 2]
            o += len
        }
        segments.push({
            index: p.index,
            timeMs: time,
            src: d.readUInt32BE(ip + 12),
            dst: d.readUInt32BE(ip + 16),
            srcPort: d.readUInt16BE(t),
            dstPort: d.readUInt16BE(t + 2),
            seq: d.readUInt32BE(t + 4),
            ack: d.readUInt32BE(t + 8),
            flags: d[t + 13],
            window: d.readUInt16BE(t + 14),
            urgent: d.readUInt16BE(t + 18),
            length,
            wscale,
            data: d,
            tcpOffset: t,
            headerLength: hl,
        })
    }
    return { capture, segments, otherPackets: other, badPackets: bad }
}

/** One segment as `tcpdump -nn -S -t` prints it (relative numbers with a TraceContext, as tcpdump's default). */
export function formatSegment(s: CapturedSegment, ctx?: TraceContext): string {
    let seq = s.seq
    let ack = s.ack
    if (ctx && (s.flags & TCP_ACK) !== 0) [seq, ack] = ctx.relative(s.src, s.srcPort, s.dst, s.dstPort, s.flags, s.seq, s.ack)
    let line = "IP " + ipToString(s.src) + "." + s.srcPort + " > " + ipToString(s.dst) + "." + s.dstPort + ": Flags [" + tcpFlagsString(s.flags) + "]"
    if (s.length > 0 || (s.flags & (TCP_SYN | TCP_FIN | TCP_RST)) !== 0) {
        line += ", seq " + seq
        if (s.length > 0) line += ":" + ((seq + s.length) >>> 0)
    }
    if (s.flags & TCP_ACK) line += ", ack " + ack
    line += ", win " + s.window
    if (s.flags & TCP_URG) line += ", urg " + s.urgent
    if (s.headerLength > 20) line += ", options [" + tcpOptions(s.data, s.tcpOffset, s.headerLength, (s.ack - ack) >>> 0).join(",") + "]"
    return line + ", length " + s.length
}

const NOTE_TEXT: [keyof SegmentNotes, string][] = [
    ["retransmission", "retransmission"],
    ["lost", "lost"],
    ["gapBefore", "data before it not seen"],
    ["zeroWindowProbe", "zero-window probe"],
    ["keepAlive", "keep-alive"],
    ["windowChange", "window change"],
    ["resetIgnored", "reset ignored by the receiver"],
]

export function notesText(n: SegmentNotes): string[] {
    const out: string[] = []
    for (const [k, text] of NOTE_TEXT) if (n[k]) out.push(text)
    return out
}

export interface TraceOptions {
    /** Only this connection (numbered from 1). */
    conn?: number
    relative?: boolean
    /** Print each segment's time in seconds since the capture's first packet. */
    time?: boolean
    /** 2 MSL for the tracker, ms. */
    timeWaitMs?: number
}

export interface TraceResult {
    read: ReadSegments
    tracker: TcpStateTracker
    /** Per segment of the capture, its tracked form and connection. */
    tracked: { conn: TrackedConnection; t: TrackedSegment; seg: CapturedSegment }[]
    startMs: number
    endMs: number
}

/** Reads a capture and runs the state tracker over its segments. */
export function analyze(buf: Buffer, timeWaitMs?: number, timeWaitFor?: (ip: number, port: number) => number): TraceResult {
    const read = segmentsOf(readCapture(buf))
    const tracker = new TcpStateTracker({ timeWaitMs, timeWaitFor })
    const tracked: TraceResult["tracked"] = []
    for (const seg of read.segments) {
        const t = tracker.add(seg)
        tracked.push({ conn: t.conn, t, seg })
    }
    const startMs = read.capture.packets.length ? firstTime(read.capture) : 0
    const endMs = read.segments.length ? read.segments[read.segments.length - 1].timeMs : startMs
    tracker.finish(endMs)
    return { read, tracker, tracked, startMs, endMs }
}

function firstTime(c: Capture): number {
    for (const p of c.packets) if (p.timeMs === p.timeMs) return p.timeMs
    return 0
}

function changeLine(c: TrackedConnection, ch: StateChange): string {
    return c.endpointName(ch.endpoint) + ": " + ch.from + " -> " + ch.to + (ch.cause === "timer" ? " (2MSL passed)" : "")
}

/** The trace's text lines. */
export function traceLines(r: TraceResult, o: TraceOptions = {}, disagreements: Disagreement[] = []): string[] {
    const out: string[] = []
    const ctx = o.relative ? new TraceContext() : undefined
    const byConn = new Map<TrackedConnection, { t: TrackedSegment; seg: CapturedSegment }[]>()
    for (const x of r.tracked) {
        let l = byConn.get(x.conn)
        if (!l) byConn.set(x.conn, (l = []))
        l.push(x)
    }
    for (const c of r.tracker.connections) {
        if (o.conn !== undefined && c.id !== o.conn) continue
        if (out.length) out.push("")
        out.push("connection " + c.id + ": " + c.label + (c.midstream ? " (state unknown: the capture starts mid-connection)" : ""))
        const list = byConn.get(c) ?? []
        const timers = [...c.timerAfter]
        list.forEach((x, i) => {
            for (const ch of x.t.before) out.push(changeLine(c, ch))
            let line = formatSegment(x.seg, ctx)
            if (o.time) line = ((x.seg.timeMs - r.startMs) / 1000).toFixed(6) + " " + line
            const notes = notesText(x.t.notes)
            if (notes.length) line += "  (" + notes.join(", ") + ")"
            out.push(line)
            for (const ch of x.t.after) out.push(changeLine(c, ch))
            while (timers.length && timers[0].afterSegment === i) out.push(changeLine(c, timers.shift().change))
        })
        for (const tm of timers) out.push(changeLine(c, tm.change))
        const fin = c.ends.map((e, i) => c.endpointName(i as 0 | 1) + " " + e.state)
        out.push("end of capture: " + fin.join(", "))
        for (const d of disagreements) {
            if (d.conn !== c.id) continue
            out.push(
                "! " + c.endpointName(d.endpoint) + ": the stack " + (d.real ? "went " + d.real : "changed no more") + (d.inferred ? ", the capture suggests " + d.inferred : ", the capture shows no more changes"),
            )
        }
    }
    return out
}

export function traceJson(r: TraceResult, o: TraceOptions = {}, disagreements: Disagreement[] = []): unknown {
    const ctx = o.relative ? new TraceContext() : undefined
    return {
        format: r.read.capture.format,
        warnings: r.read.capture.warnings,
        otherPackets: r.read.otherPackets,
        badPackets: r.read.badPackets,
        connections: r.tracker.connections
            .filter((c) => o.conn === undefined || c.id === o.conn)
            .map((c) => ({
                id: c.id,
                endpoints: [c.endpointName(0), c.endpointName(1)],
                midstream: c.midstream,
                segments: r.tracked
                    .filter((x) => x.conn === c)
                    .map((x) => ({
                        packet: x.seg.index + 1,
                        timeMs: x.seg.timeMs - r.startMs,
                        from: x.t.dir,
                        line: formatSegment(x.seg, ctx),
                        flags: tcpFlagsString(x.seg.flags),
                        seq: x.seg.seq,
                        ack: x.seg.ack,
                        window: x.seg.window,
                        length: x.seg.length,
                        notes: notesText(x.t.notes),
                        before: x.t.before.map((ch) => ({ endpoint: ch.endpoint, from: ch.from, to: ch.to })),
                        after: x.t.after.map((ch) => ({ endpoint: ch.endpoint, from: ch.from, to: ch.to })),
                    })),
                changes: c.changes.map((ch) => ({ endpoint: ch.endpoint, from: ch.from, to: ch.to, timeMs: ch.timeMs - r.startMs, cause: ch.cause })),
                final: [c.state(0), c.state(1)],
                disagreements: disagreements.filter((d) => d.conn === c.id),
            })),
    }
}

export interface TraceCommandArgs extends TraceOptions {
    file: string
    json?: boolean
    /** The stack's state events; default FILE.states when it exists. "" for none. */
    states?: string
}

/** Runs `trace`; returns the text to print. Throws CaptureError or Error (one line) on unreadable input. */
export function traceCommand(a: TraceCommandArgs): string {
    let buf: Buffer
    try {
        buf = readFileSync(a.file)
    } catch (e) {
        throw new CaptureError("cannot read " + a.file + ": " + (e as NodeJS.ErrnoException).code)
    }
    const statesPath = a.states ?? (existsSync(a.file + ".states") ? a.file + ".states" : "")
    let states: ReturnType<typeof parseStateEvents> = null
    if (statesPath) {
        try {
            states = parseStateEvents(readFileSync(statesPath, "utf8"))
        } catch (e) {
            throw new CaptureError("cannot read " + statesPath + ": " + (e as NodeJS.ErrnoException).code)
        }
    }
    // the stack's 2 MSL (from its events) for its own endpoints; --msl or 60 s for the others
    let timeWaitFor: (ip: number, port: number) => number
    if (states && states.timeWaitMs) {
        const mine = new Set(states.events.map((e) => e.local))
        const other = a.timeWaitMs ?? 60000
        timeWaitFor = (ip, port) => (mine.has(ipToString(ip) + "." + port) ? states.timeWaitMs : other)
    }
    const r = analyze(buf, a.timeWaitMs, timeWaitFor)
    if (a.conn !== undefined && !r.tracker.connections.some((c) => c.id === a.conn))
        throw new CaptureError("there is no connection " + a.conn + " (the capture has " + r.tracker.connections.length + ")")
    // the stack's changes after the capture ends are left out; a real-time runner stamps a change a
    // little after the frame that caused it (the clock is read again), so allow some slack (< 2 MSL)
    const slack = Math.min(1000, (states && states.timeWaitMs ? states.timeWaitMs : 60000) / 2)
    const dis = states ? compareStates(r.tracker.connections, states.events, r.endMs + slack) : []
    if (a.json) return JSON.stringify(traceJson(r, a, dis), null, 1) + "\n"
    const lines = traceLines(r, a, dis)
    for (const w of r.read.capture.warnings) lines.push("warning: " + w)
    const skipped = r.read.otherPackets + r.read.badPackets
    if (skipped) lines.push("(" + skipped + " packet(s) left out: " + r.read.otherPackets + " not IPv4 TCP, " + r.read.badPackets + " malformed)")
    if (states) {
        const n = r.tracker.connections.filter((c) => a.conn === undefined || c.id === a.conn).length
        lines.push(dis.length ? "state events (" + statesPath + "): " + dis.length + " disagreement(s) with the inference" : "state events (" + statesPath + "): the inference agrees with the stack on " + n + " connection(s)")
    }
    if (r.tracker.connections.length === 0) lines.push("no TCP segments in " + a.file + " (" + r.read.capture.packets.length + " packets)")
    return lines.join("\n") + "\n"
}
