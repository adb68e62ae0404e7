// What the runners (`ds-tcpip serve`, `npm start`) add beside a capture
// (host only): the stack's real state changes next to the pcap
// (FILE.pcap.states, for `ds-tcpip trace`), ladder diagrams of every
// connection (`--ladder DIR`), and the live view's connection table. Kept
// here so the runners need only a few lines.
import { closeSync, openSync, writeSync } from "node:fs"
import { Stack } from "../stack.js"
import { LiveLadder } from "./live-ladder.js"
import { formatStateEvent, recordStateEvents, stateEventsHeader } from "./state-events.js"

export interface FrameSink {
    write(timeMs: number, frame: Buffer, length?: number): void
}

export interface CaptureExtrasOptions {
    /** Write the stack's state changes here (FILE.pcap.states beside a capture). */
    statesPath?: string
    /** Write a diagram of every connection here. */
    ladderDir?: string
    /** Follow connections for a live view even without ladderDir. */
    live?: boolean
    /** Added to the runner's clock for the states file, so its times match the pcap's (ms since 1970). */
    epochMs: number
    /** The stack's 2 MSL, ms. */
    timeWaitMs: number
}

export class CaptureExtras {
    readonly ladder: LiveLadder | null
    /** Why the states file stopped, if it did. */
    error = ""
    private fd = -1

    constructor(private readonly o: CaptureExtrasOptions) {
        this.ladder = o.ladderDir || o.live ? new LiveLadder({ dir: o.ladderDir, timeWaitMs: o.timeWaitMs }) : null
        if (o.statesPath) {
            this.fd = openSync(o.statesPath, "w")
            writeSync(this.fd, stateEventsHeader(o.timeWaitMs))
        }
    }

    /** A frame sink that also feeds the ladders (pass it where the runner takes its pcap). */
    sink(pcap?: FrameSink): FrameSink | undefined {
        const ladder = this.ladder
        if (!ladder) return pcap
        return {
            write(timeMs: number, frame: Buffer, length?: number): void {
                if (pcap) pcap.write(timeMs, frame, length)
                ladder.write(timeMs, frame, length)
            },
        }
    }

    /** Follows the stack's state changes; `clock` is the runner's (ms). */
    attach(stack: Stack, clock: () => number): void {
        if (this.fd < 0 && !this.ladder) return
        recordStateEvents(stack, () => this.o.epochMs + clock(), (e) => {
            if (this.fd >= 0) {
                try {
                    writeSync(this.fd, formatStateEvent(e))
                } catch (err) {
                    // a write error stops the file, never the runner
                    this.error = (err as Error).message
                    closeSync(this.fd)
                    this.fd = -1
                }
            }
            if (this.ladder) this.ladder.stateEvent(e)
        })
    }

    /** Writes the diagrams of unfinished connections and closes the states file. */
    close(): void {
        if (this.ladder) this.ladder.flush()
        if (this.fd >= 0) closeSync(this.fd)
        this.fd = -1
    }
}
