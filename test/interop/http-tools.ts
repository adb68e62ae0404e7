// Helpers shared by the HTTP interop tests and the TAP benchmark: the demo's
// /bytes pattern and its hash, parsers for the output of wrk and ab, and a
// tshark check of a capture file (malformed packets, TCP analysis flags).
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"

/** The /bytes/N body: byte i = i mod 256. */
export function patternBytes(n: number): Buffer {
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i++) b[i] = i & 0xff
    return b
}

/** SHA-256 of the /bytes/N body, without holding it whole. */
export function patternSha256(n: number): string {
    const h = createHash("sha256")
    const block = patternBytes(65536)
    for (let left = n; left > 0; left -= block.length) h.update(left >= block.length ? block : block.subarray(0, left))
    return h.digest("hex")
}

/** True when every command is on PATH. */
export function have(cmd: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0
}

/** Milliseconds of a wrk duration ("1.23ms", "45.6us", "2.00s", "1.5m"). */
function wrkMs(v: string, unit: string): number {
    const n = Number(v)
    switch (unit) {
        case "us":
            return n / 1000
        case "ms":
            return n
        case "s":
            return n * 1000
        case "m":
            return n * 60000
        default:
            return NaN
    }
}

export interface WrkResult {
    requests: number
    seconds: number
    requestsPerSec: number
    /** Bytes per second (Transfer/sec). */
    bytesPerSec: number
    errors: { connect: number; read: number; write: number; timeout: number }
    non2xx3xx: number
    /** Latency percentiles (ms) from --latency; NaN when absent. */
    p50: number
    p99: number
    text: string
}

/** Parses wrk's report; throws when it has no "N requests in" line. */
export function parseWrk(text: string): WrkResult {
    const m = /(\d+) requests in ([\d.]+)(us|ms|s|m),/.exec(text)
    if (!m) throw new Error("wrk printed no summary:\n" + text)
    const e = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text)
    const n = /Non-2xx or 3xx responses: (\d+)/.exec(text)
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(text)
    const tr = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(text)
    const mult: Record<string, number> = { B: 1, KB: 1024, MB: 1024 * 1024, GB: 1024 * 1024 * 1024 }
    const pct = (p: string) => {
        const r = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(text)
        return r ? wrkMs(r[1], r[2]) : NaN
    }
    return {
        requests: Number(m[1]),
        seconds: wrkMs(m[2], m[3]) / 1000,
        requestsPerSec: rps ? Number(rps[1]) : NaN,
        bytesPerSec: tr ? Number(tr[1]) * mult[tr[2]] : NaN,
        errors: e ? { connect: +e[1], read: +e[2], write: +e[3], timeout: +e[4] } : { connect: 0, read: 0, write: 0, timeout: 0 },
        non2xx3xx: n ? Number(n[1]) : 0,
        p50: pct("50"),
        p99: pct("99"),
        text,
    }
}

export interface AbResult {
    complete: number
    failed: number
    non2xx: number
    writeErrors: number
    requestsPerSec: number
    /** The 99% line of "Percentage of the requests served within a certain time" (ms). */
    p99: number
    text: string
}

/** Parses ab's report; throws when it has no "Complete requests" line. */
export function parseAb(text: string): AbResult {
    const c = /Complete requests:\s+(\d+)/.exec(text)
    if (!c) throw new Error("ab printed no summary:\n" + text)
    const f = /Failed requests:\s+(\d+)/.exec(text)
    const n = /Non-2xx responses:\s+(\d+)/.exec(text)
    const w = /Write errors:\s+(\d+)/.exec(text)
    const r = /Requests per second:\s+([\d.]+)/.exec(text)
    const p = /^\s+99%\s+(\d+)/m.exec(text)
    return {
        complete: Number(c[1]),
        failed: f ? Number(f[1]) : 0,
        non2xx: n ? Number(n[1]) : 0,
        writeErrors: w ? Number(w[1]) : 0,
        requestsPerSec: r ? Number(r[1]) : NaN,
        p99: p ? Number(p[1]) : NaN,
        text,
    }
}

/** TCP analysis flags that are flow control, not faults: a small receive ring filling up and draining. */
const FLOW_CONTROL = ["window_update", "window_full", "zero_window", "zero_window_probe", "zero_window_probe_ack"]
/** Retransmissions: allowed everywhere (on a clean link the stack's counters must still say 0). */
const RETRANSMISSION = ["retransmission", "fast_retransmission", "spurious_retransmission"]
/** The consequences of lost and reordered segments (allowed on an impaired link only). */
const LOSS_RELATED = [
    "out_of_order",
    "lost_segment",
    "ack_lost_segment",
    "duplicate_ack",
    // a pure ACK sent just before a FIN but reordered after it has seq = next - 1: tshark calls it a keep-alive
    "keep_alive",
    "keep_alive_ack",
]
/**
 * A note, not a warning: a client's SYN from a port it used before (ab after
 * wrk's connections, which were reset). The stack accepted it, as it must.
 */
const NOTES = ["reused_ports"]
const ALL_FLAGS = [...RETRANSMISSION, ...FLOW_CONTROL, ...LOSS_RELATED, ...NOTES, "tfo_syn", "tfo_ack", "tfo_ignored"]

export interface CaptureCheck {
    status: number
    frames: number
    /** Malformed packets that are not explained below. */
    malformed: number
    /**
     * Malformed packets that are tshark reassembly artefacts: a retransmitted segment whose bytes
     * were already part of a reassembled HTTP message ("New fragment overlaps old data
     * (retransmission?)"), counted only after checking that every retransmitted byte of
     * that stream equals the byte first sent at that sequence number.
     */
    reassemblyOverlaps: number
    /** Retransmitted bytes that differ from the first transmission (must be 0), over every stream with a retransmission. */
    conflictingBytes: number
    malformedLines: string[]
    /** Frames with TCP analysis flags outside the allowed ones. */
    unexpected: number
    /** The first of them, as tshark's summary lines. */
    unexpectedLines: string[]
    /** Frames with any TCP analysis flag, by flag (field name without "tcp.analysis."). */
    flags: Record<string, number>
    stderr: string
}

function tshark(args: string[]): { status: number; stdout: string; stderr: string } {
    const r = spawnSync("tshark", args, { encoding: "utf8", timeout: 90000, maxBuffer: 512 * 1024 * 1024 })
    const stderr = (r.stderr || "")
        .split("\n")
        .filter((l) => l.trim() && !/Running as user "root"/.test(l))
        .join("\n")
    return { status: r.status ?? -1, stdout: r.stdout || "", stderr: stderr || (r.error ? String(r.error) : "") }
}

/** tshark's one-line summaries of the given frames. */
function summaries(file: string, frames: string[]): string[] {
    if (!frames.length) return []
    const r = tshark(["-r", file, "-Y", `frame.number in {${frames.slice(0, 10).join(",")}}`])
    return r.stdout.split("\n").filter((l) => l.trim())
}

/**
 * Reads a capture with tshark (one pass over every frame): counts malformed
 * packets and frames carrying TCP analysis flags other than retransmissions
 * (always allowed), flow control (allowed, see FLOW_CONTROL) and, with
 * `lossy`, the other consequences of loss and reordering.
 */
export function checkCapture(file: string, o: { lossy?: boolean } = {}): CaptureCheck {
    const allowed = new Set([...RETRANSMISSION, ...FLOW_CONTROL, ...NOTES, ...(o.lossy ? LOSS_RELATED : [])])
    const fields = ["frame.number", "tcp.stream", "_ws.malformed", "_ws.expert.message", ...ALL_FLAGS.map((f) => "tcp.analysis." + f)]
    // On an impaired link the capture (taken where the stack sees frames) lacks the peer's
    // segments that the impairment dropped, so tshark's HTTP dissector would parse the middle
    // of a body as a head ("Malformed Packet: HTTP"), and reassembly would see holes. There
    // Ethernet, IPv4 and TCP are decoded; HTTP is checked by the tests' hashes, and every
    // retransmitted byte is checked against the first transmission below.
    const decode = o.lossy ? ["--disable-protocol", "http"] : []
    const r = tshark(["-r", file, ...decode, "-Y", "tcp.analysis.flags || _ws.malformed", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|", ...fields.flatMap((f) => ["-e", f])])
    const flags: Record<string, number> = {}
    const unexpectedFrames: string[] = []
    const malformedFrames: string[] = []
    const malformedDetails: string[] = []
    const overlapStreams = new Set<string>()
    const retransmittedStreams = new Set<string>()
    let overlaps = 0
    let unexpected = 0
    let malformedTotal = 0
    for (const l of r.stdout.split("\n")) {
        if (!l) continue
        const c = l.split("\t")
        const frame = c[0]
        let bad = false
        let retransmitted = false
        ALL_FLAGS.forEach((f, i) => {
            if (!c[4 + i]) return
            flags[f] = (flags[f] || 0) + 1
            if (RETRANSMISSION.indexOf(f) >= 0 || f === "out_of_order") {
                retransmitted = true
                if (retransmittedStreams.size < 10000) retransmittedStreams.add(c[1])
            }
            // tcp.analysis.flags also matches frames whose only flag is one we do not list
            if (!allowed.has(f)) bad = true
        })
        const anyKnown = ALL_FLAGS.some((_, i) => !!c[4 + i])
        if (!anyKnown && !c[2]) bad = true
        if (bad) {
            unexpected++
            if (unexpectedFrames.length < 10) unexpectedFrames.push(frame)
        }
        if (c[2] || /Malformed|Reassembly error/.test(c[3] || "")) {
            malformedTotal++
            if (retransmitted && /New fragment overlaps old data/.test(l)) {
                overlaps++
                overlapStreams.add(c[1])
            } else if (malformedFrames.length < 10) {
                malformedFrames.push(frame)
                malformedDetails.push(`frame ${frame}: ${c[2]} ${c[3]}`)
            }
        }
    }
    const check = new Set([...overlapStreams, ...retransmittedStreams])
    const conflicting = check.size ? retransmissionConflicts(file, [...check]) : 0
    if (conflicting) overlaps = 0
    const cap = spawnSync("capinfos", ["-c", "-M", file], { encoding: "utf8", timeout: 30000 })
    const fm = /Number of packets:\s+(\d+)/.exec(cap.stdout || "")
    return {
        status: r.status,
        frames: fm ? Number(fm[1]) : -1,
        malformed: malformedTotal - overlaps,
        reassemblyOverlaps: overlaps,
        conflictingBytes: conflicting,
        malformedLines: [...malformedDetails, ...summaries(file, malformedFrames)],
        unexpected,
        unexpectedLines: summaries(file, unexpectedFrames),
        flags,
        stderr: r.stderr,
    }
}

/** Bytes of the given TCP streams that were sent again with a different value (by stream, direction, sequence number). */
export function retransmissionConflicts(file: string, streams: string[]): number {
    // without reassembly and without HTTP every segment's bytes are in tcp.payload
    const args = ["-r", file, "-o", "tcp.desegment_tcp_streams:FALSE", "--disable-protocol", "http", "-Y", `tcp.stream in {${streams.join(",")}} && tcp.len > 0`]
    const r = spawnSync("tshark", [...args, "-T", "fields", "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.seq_raw", "-e", "tcp.len", "-e", "tcp.payload"], {
        encoding: "utf8",
        timeout: 60000,
        maxBuffer: 512 * 1024 * 1024,
    })
    if (r.status !== 0) throw new Error("tshark failed: " + (r.stderr || r.error))
    const first = new Map<string, Map<number, number>>()
    let conflicts = 0
    for (const l of (r.stdout || "").split("\n")) {
        const [stream, port, seqText, lenText, hexText] = l.split("\t")
        if (!lenText) continue
        if (!hexText || hexText.replace(/:/g, "").length !== 2 * Number(lenText)) throw new Error("tshark gave no payload for a segment of stream " + stream)
        const key = stream + "/" + port
        let m = first.get(key)
        if (!m) first.set(key, (m = new Map()))
        const data = Buffer.from(hexText.replace(/:/g, ""), "hex")
        const seq = Number(seqText)
        for (let i = 0; i < data.length; i++) {
            const s = (seq + i) >>> 0
            const v = m.get(s)
            if (v === undefined) m.set(s, data[i])
            else if (v !== data[i]) conflicts++
        }
    }
    return conflicts
}
