// Connections as they happen (host only): the frames a runner sees go
// through the state tracker one by one; `--ladder DIR` writes each
// connection's diagram when it ends (and the rest on stop), and the live view
// of `npm start` asks for the connection table and a chosen connection's
// model. The device carries none of this: it is fed from the host's frame
// taps and the stack's state-change events.
//
// Bounded: at most `maxSegments` segments (1000; their headers, not their
// data) are kept per connection for its diagram, and at most
// `maxConnections` (64) are followed at once: the oldest finished ones make
// room first, then the oldest. The tracker forgets them too.

import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { LINKTYPE_ETHERNET } from "./capture.js"
import { CapturedSegment, segmentsOf } from "./trace-file.js"
import { StateName, TcpStateTracker, TrackedConnection, TrackedSegment } from "./tcp-infer.js"
import { LadderModel, ladderHtml, ladderModel } from "./ladder.js"
import { StateEvent } from "./state-events.js"

export interface LiveLadderOptions {
    /** Write each connection's diagram here when it ends (HTML). */
    dir?: string
    /** 2 MSL of the tracker, ms (default 60000). */
    timeWaitMs?: number
    maxSegments?: number
    maxConnections?: number
}

interface Followed {
    conn: TrackedConnection
    tracked: { conn: TrackedConnection; t: TrackedSegment; seg: CapturedSegment }[]
    cut: number
    written: boolean
    /** The stack's own state for its endpoint, from its events. */
    real: string
}

export interface LiveRow {
    id: number
    local: string
    remote: string
    /** The stack's state of its endpoint (from its events), or the inferred one. */
    state: string
    inferred: [StateName, StateName]
    segments: number
}

export class LiveLadder {
    readonly dir: string
    readonly written: string[] = []
    /** Diagrams that could not be written, and why the last one failed. */
    failed = 0
    lastError = ""
    private readonly tracker: TcpStateTracker
    private readonly followed: Followed[] = []
    private readonly maxSegments: number
    private readonly maxConnections: number
    private index = 0

    constructor(o: LiveLadderOptions = {}) {
        this.dir = o.dir ?? ""
        this.tracker = new TcpStateTracker({ timeWaitMs: o.timeWaitMs, keepSegments: 64 })
        this.maxSegments = o.maxSegments ?? 1000
        this.maxConnections = o.maxConnections ?? 64
        if (this.dir) mkdirSync(this.dir, { recursive: true })
    }

    /** One Ethernet frame, as a pcap sink sees it (time in ms). Never throws on bad frames. */
    write(timeMs: number, frame: Buffer, length = frame.length): void {
        const data = frame.subarray(0, Math.min(length, frame.length))
        const read = segmentsOf({ format: "pcap", warnings: [], packets: [{ timeMs, linktype: LINKTYPE_ETHERNET, data, origLength: length, index: this.index++ }] })
        for (const seg of read.segments) {
            // keep a copy of the headers only (the diagram's tooltip prints the options), not the data
            seg.data = Buffer.from(data.subarray(0, seg.tcpOffset + seg.headerLength))
            const t = this.tracker.add(seg)
            let f = this.followed.find((x) => x.conn === t.conn)
            if (!f) {
                f = { conn: t.conn, tracked: [], cut: 0, written: false, real: "" }
                this.followed.push(f)
                this.trim()
            }
            if (f.tracked.length < this.maxSegments) f.tracked.push({ conn: t.conn, t, seg })
            else f.cut++
            if (this.finished(f.conn)) this.finish(f)
        }
    }

    /** A state change of the stack (recordStateEvents), shown in the table as the truth. */
    stateEvent(e: StateEvent): void {
        for (let i = this.followed.length - 1; i >= 0; i--) {
            const f = this.followed[i]
            const [a, b] = [f.conn.endpointName(0), f.conn.endpointName(1)]
            if ((e.local === a && e.remote === b) || (e.local === b && e.remote === a)) {
                f.real = e.to
                return
            }
        }
    }

    private finished(c: TrackedConnection): boolean {
        const done = (s: StateName) => s === "CLOSED" || s === "TIME-WAIT"
        return done(c.state(0)) && done(c.state(1))
    }

    private finish(f: Followed): void {
        if (f.written) return
        f.written = true
        if (this.dir) {
            const name = "conn-" + String(f.conn.id).padStart(4, "0") + "-" + f.conn.endpointName(0) + "-" + f.conn.endpointName(1) + ".html"
            const path = join(this.dir, name)
            // a full disk or a removed directory must not stop the runner that feeds us: count it
            try {
                writeFileSync(path, ladderHtml([this.model(f)], "ds-tcpip: " + f.conn.label))
                this.written.push(path)
            } catch (e) {
                this.failed++
                this.lastError = (e as Error).message
            }
        }
    }

    /** Keeps at most maxConnections: drops written ones first, then the oldest. */
    private trim(): void {
        while (this.followed.length > this.maxConnections) {
            let i = this.followed.findIndex((f) => f.written)
            if (i < 0) i = 0
            this.tracker.forget(this.followed[i].conn)
            this.followed.splice(i, 1)
        }
    }

    private model(f: Followed): LadderModel {
        const m = ladderModel({ tracked: f.tracked }, f.conn)
        if (f.cut) m.title += " (first " + f.tracked.length + " segments; " + f.cut + " more not drawn)"
        return m
    }

    /** Writes the diagrams of the connections that have not ended (on stop). */
    flush(): void {
        for (const f of this.followed) this.finish(f)
    }

    /** The connection table, newest first. */
    table(): LiveRow[] {
        return this.followed
            .map((f) => ({
                id: f.conn.id,
                local: f.conn.endpointName(1),
                remote: f.conn.endpointName(0),
                state: f.real || f.conn.state(1),
                inferred: [f.conn.state(0), f.conn.state(1)] as [StateName, StateName],
                segments: f.tracked.length + f.cut,
            }))
            .reverse()
    }

    /** The model of connection `id`, or null when it is not followed any more. */
    modelOf(id: number): LadderModel {
        const f = this.followed.find((x) => x.conn.id === id)
        return f ? this.model(f) : null
    }
}
