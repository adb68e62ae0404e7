// The stack's real TCP state changes, written beside a capture so that a
// trace can say where its inference and the truth disagree (host only).
//
// File format (text, one change per line, times in seconds since 1970 as
// in the pcap written beside it):
//
//   # ds-tcpip state events, 2MSL 60000 ms
//   1700000000.004000 198.18.0.2.80 198.18.0.1.54562 CLOSED -> SYN-RECEIVED
//
// local endpoint first, then the remote one.

import { Stack } from "../stack.js"
import { TcpConnection } from "../tcp/connection.js"
import { TcpState, TCP_STATE_NAMES } from "../tcp/state.js"
import { ipToString } from "../wire/bytes.js"
import { StateChange, TrackedConnection } from "./tcp-infer.js"

export interface StateEvent {
    timeMs: number
    local: string
    remote: string
    from: string
    to: string
}

/**
 * Records every state change of `stack` (chained after the handler it has)
 * with the time `clock()` gives, in ms since 1970.
 */
export function recordStateEvents(stack: Stack, clock: () => number, sink: (e: StateEvent) => void): void {
    const prev = stack.tcp.onStateChange
    stack.tcp.onStateChange = (c: TcpConnection, from: TcpState, to: TcpState) => {
        if (prev) prev(c, from, to)
        sink({
            timeMs: clock(),
            local: ipToString(c.localIp) + "." + c.localPort,
            remote: ipToString(c.remoteIp) + "." + c.remotePort,
            from: TCP_STATE_NAMES[from],
            to: TCP_STATE_NAMES[to],
        })
    }
}

export function stateEventsHeader(timeWaitMs: number): string {
    return "# ds-tcpip state events, 2MSL " + timeWaitMs + " ms\n"
}

export function formatStateEvent(e: StateEvent): string {
    return (e.timeMs / 1000).toFixed(6) + " " + e.local + " " + e.remote + " " + e.from + " -> " + e.to + "\n"
}

/** Parses a state-events file; lines it cannot read are counted, not fatal. */
export function parseStateEvents(text: string): { events: StateEvent[]; timeWaitMs: number; badLines: number } {
    const events: StateEvent[] = []
    let timeWaitMs = 0
    let badLines = 0
    for (const line of text.split("\n")) {
        if (!line.trim()) continue
        if (line.startsWith("#")) {
            const m = /2MSL (\d+) ms/.exec(line)
            if (m) timeWaitMs = Number(m[1])
            continue
        }
        const f = line.trim().split(/\s+/)
        if (f.length !== 6 || f[4] !== "->" || !(Number(f[0]) >= 0)) {
            badLines++
            continue
        }
        events.push({ timeMs: Number(f[0]) * 1000, local: f[1], remote: f[2], from: f[3], to: f[5] })
    }
    return { events, timeWaitMs, badLines }
}

export interface Disagreement {
    conn: number
    endpoint: 0 | 1
    /** Position in the endpoint's list of changes. */
    step: number
    /** What the stack did ("FROM -> TO"), or "" when it did nothing more. */
    real: string
    /** What the capture suggests, or "" when it shows nothing more. */
    inferred: string
    timeMs: number
}

export interface Step {
    from: string
    to: string
    timeMs: number
}

/**
 * A list of changes in the terms both sides share: a connection starts from
 * LISTEN or CLOSED alike (the stack has no LISTEN connection, its listener is
 * apart), a connection made from a SYN cookie went through SYN-RECEIVED on
 * the wire, and FIN-WAIT-1 -> TIME-WAIT (one segment acknowledged our FIN and
 * carried theirs, RFC 9293 §3.10.7.4) is the two steps through FIN-WAIT-2
 * that a stack processing the ACK before the FIN makes at one instant.
 */
export function normalizeSteps(steps: Step[]): Step[] {
    const out: Step[] = []
    for (const s of steps) {
        const from = s.from === "LISTEN" ? "CLOSED" : s.from
        if (from === "FIN-WAIT-1" && s.to === "TIME-WAIT") {
            out.push({ from, to: "FIN-WAIT-2", timeMs: s.timeMs }, { from: "FIN-WAIT-2", to: "TIME-WAIT", timeMs: s.timeMs })
        } else if (from === "CLOSED" && s.to === "ESTABLISHED" && out.length === 0) {
            // a SYN cookie: the stack answered the SYN without keeping a SYN-RECEIVED connection (the
            // cookie held it), so it goes from nothing to ESTABLISHED; on the wire it was SYN-RECEIVED
            out.push({ from, to: "SYN-RECEIVED", timeMs: s.timeMs }, { from: "SYN-RECEIVED", to: "ESTABLISHED", timeMs: s.timeMs })
        } else out.push({ from, to: s.to, timeMs: s.timeMs })
    }
    return out
}

/**
 * Compares the tracker's inferred changes with the stack's real ones, endpoint
 * by endpoint (for every endpoint the events file knows). Connections on the
 * same four-tuple are paired in order; real changes after `endMs` (the end of
 * the capture) are left out, as the capture cannot show them.
 */
export function compareStates(conns: TrackedConnection[], events: StateEvent[], endMs = Infinity): Disagreement[] {
    const out: Disagreement[] = []
    // the stack's changes per (local, remote), split into incarnations at each change out of CLOSED
    const incarnations = new Map<string, Step[][]>()
    for (const e of [...events].sort((a, b) => a.timeMs - b.timeMs)) {
        if (e.timeMs > endMs) continue
        const k = e.local + " " + e.remote
        let list = incarnations.get(k)
        if (!list) incarnations.set(k, (list = []))
        if (e.from === "CLOSED" || list.length === 0) list.push([])
        list[list.length - 1].push({ from: e.from, to: e.to, timeMs: e.timeMs })
    }
    const used = new Map<string, number>()
    for (const c of conns) {
        for (const ep of [0, 1] as const) {
            const k = c.endpointName(ep) + " " + c.endpointName(ep === 0 ? 1 : 0)
            const list = incarnations.get(k)
            if (!list) continue
            const n = used.get(k) ?? 0
            used.set(k, n + 1)
            const real = normalizeSteps(list[n] ?? [])
            const inferred = normalizeSteps(c.changes.filter((ch: StateChange) => ch.endpoint === ep))
            const len = Math.max(real.length, inferred.length)
            for (let i = 0; i < len; i++) {
                const r = real[i]
                const f = inferred[i]
                if (r && f && r.from === f.from && r.to === f.to) continue
                out.push({
                    conn: c.id,
                    endpoint: ep,
                    step: i,
                    real: r ? r.from + " -> " + r.to : "",
                    inferred: f ? f.from + " -> " + f.to : "",
                    timeMs: r ? r.timeMs : f.timeMs,
                })
                break // one disagreement per endpoint: what follows it differs anyway
            }
        }
    }
    return out
}
