// Ladder diagrams (host only): the picture every TCP textbook draws. Two
// vertical lines, one per endpoint, time running down; an arrow for each
// segment, sloped by its delay, labelled with its flags, sequence and
// acknowledgment numbers, data length and window (when it changes); each
// endpoint's state written beside its line where it changes; retransmissions,
// inferred losses, zero-window and keep-alive probes and resets marked; runs
// of data segments collapsed into a band that expands on click (HTML).
//
// The model (ladderModel) comes from the state tracker; one renderer
// (renderLadder, self-contained: no imports, no outer names) draws it, in
// Node for .svg files and inside the HTML page, which carries the model and
// the renderer's source and re-draws when a band is clicked. Nothing is
// fetched: the files open offline in any browser.
//
// Delays: a capture shows each segment once, where it was captured. The
// handshake tells where that was: SYN -> SYN,ACK spans the round trip from the
// capture point to the right endpoint, SYN,ACK -> ACK the one to the left
// endpoint. A segment then leaves its sender half that round trip before it
// was captured and reaches its receiver half the other one after.

import { readFileSync } from "node:fs"
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG } from "../wire/tcp.js"
import { CaptureError } from "./capture.js"
import { analyze, formatSegment, notesText, CapturedSegment, TraceResult } from "./trace-file.js"
import { TrackedConnection } from "./tcp-infer.js"

export interface LadderSegment {
    kind: "seg"
    /** 0: left to right, 1: right to left. */
    dir: 0 | 1
    /** Leaves its sender, reaches its receiver (ms from the connection's first segment). */
    t0: number
    t1: number
    label: string
    /** The full tcpdump line, for the tooltip. */
    line: string
    marks: string[]
    /** Carries data and nothing else remarkable: may be folded into a band. */
    plain: boolean
    bytes: number
}

export interface LadderState {
    kind: "state"
    side: 0 | 1
    t: number
    from: string
    to: string
    timer: boolean
}

export interface LadderModel {
    title: string
    names: [string, string]
    initial: [string, string]
    items: (LadderSegment | LadderState)[]
    /** Pixels per ms where time is drawn to scale. */
    pxPerMs: number
    /** The delays could not be estimated (no handshake in the capture). */
    delaysGuessed: boolean
}

function flagNames(f: number): string {
    const n: string[] = []
    if (f & TCP_SYN) n.push("SYN")
    if (f & TCP_FIN) n.push("FIN")
    if (f & TCP_RST) n.push("RST")
    if (f & TCP_URG) n.push("URG")
    if (f & TCP_ACK) n.push("ACK")
    if (!n.length) n.push(f & TCP_PSH ? "PSH" : "none")
    return n.join(",")
}

/** The diagram's model of one tracked connection. */
export function ladderModel(r: Pick<TraceResult, "tracked">, c: TrackedConnection): LadderModel {
    const segs = r.tracked.filter((x) => x.conn === c)
    const t00 = segs.length ? segs[0].seg.timeMs : 0
    // round trips from the capture point to each side, from the handshake
    let toRight = -1
    let toLeft = -1
    // the answer (SYN,ACK, or the RST of a refusal) answers the last SYN before it (earlier ones were lost)
    const first = segs.find((x) => (x.seg.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN)
    const synAck = first ? segs.find((x) => x.t.dir !== first.t.dir && x.seg.timeMs >= first.seg.timeMs) : null
    let syn: (typeof segs)[number] = null
    for (const x of segs) if ((x.seg.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN && (!synAck || x.seg.timeMs <= synAck.seg.timeMs)) syn = x
    if (syn && synAck) {
        toRight = Math.max(0, synAck.seg.timeMs - syn.seg.timeMs)
        const ack = segs.find((x) => x.t.dir === syn.t.dir && x.seg.timeMs >= synAck.seg.timeMs && (x.seg.flags & (TCP_SYN | TCP_ACK)) === TCP_ACK)
        toLeft = ack ? Math.max(0, ack.seg.timeMs - synAck.seg.timeMs) : 0
        if (syn.t.dir === 1) [toRight, toLeft] = [toLeft, toRight]
    }
    const guessed = toRight < 0
    const dLeft = guessed ? 0 : toLeft / 2
    const dRight = guessed ? 0 : toRight / 2
    const rtt = guessed ? 0 : toLeft + toRight
    // scale: a round trip is about 90 px (bounded for loopback and for satellite links)
    const pxPerMs = rtt > 0 ? Math.min(4000, Math.max(0.02, 90 / rtt)) : 1

    const isn: [number, number] = [NaN, NaN]
    // relative numbers count from each side's SYN; a capture that starts mid-connection counts from
    // the first segment seen (as tcpdump does)
    const base = (side: 0 | 1, s: CapturedSegment) => {
        if (isn[side] !== isn[side] && (s.flags & TCP_SYN || !c.opened)) isn[side] = s.flags & TCP_SYN ? s.seq : (s.seq - 1) >>> 0
        return isn[side]
    }
    const lastWin: [number, number] = [-1, -1]
    let handshakeDone = !c.opened
    const items: (LadderSegment | LadderState)[] = []
    // each side's events keep their order on its line: a reply that leaves the instant the
    // request arrived is drawn after it (estimated delays can make it look a hair earlier)
    const eps = 1e-6
    const lastT: [number, number] = [-Infinity, -Infinity]
    const at = (side: 0 | 1, t: number) => (lastT[side] = Math.max(t, lastT[side] + eps))
    for (const x of segs) {
        const s = x.seg
        const t = s.timeMs - t00
        const from = x.t.dir
        const to: 0 | 1 = from === 0 ? 1 : 0
        for (const ch of x.t.before) items.push({ kind: "state", side: ch.endpoint, t: at(ch.endpoint, t - (from === 0 ? dLeft : dRight) - eps), from: ch.from, to: ch.to, timer: false })
        const t0 = at(from, t - (from === 0 ? dLeft : dRight))
        const t1 = at(to, t + (from === 0 ? dRight : dLeft))
        const mine = base(x.t.dir, s)
        const theirs = isn[x.t.dir === 0 ? 1 : 0]
        let label = flagNames(s.flags)
        // absolute numbers through the handshake (SYN seq=x, SYN,ACK seq=y ack=x+1, ACK seq=x+1 ack=y+1), relative after
        const third = c.opened && !handshakeDone && (s.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_ACK && isn[0] === isn[0] && isn[1] === isn[1]
        if (third) handshakeDone = true
        const synOrFirst = (s.flags & TCP_SYN) !== 0 || third || !handshakeDone
        if (s.length > 0 || s.flags & (TCP_SYN | TCP_FIN | TCP_RST) || third) label += " seq=" + (synOrFirst || mine !== mine ? s.seq : (s.seq - mine) >>> 0)
        if (s.flags & TCP_ACK) label += " ack=" + (synOrFirst || theirs !== theirs ? s.ack : (s.ack - theirs) >>> 0)
        if (s.length > 0) label += " len=" + s.length
        if (s.window !== lastWin[x.t.dir] && !(s.flags & TCP_RST)) label += " win=" + s.window
        if (!(s.flags & TCP_RST)) lastWin[x.t.dir] = s.window
        const marks = notesText(x.t.notes).filter((m) => m !== "window change")
        if (s.flags & TCP_RST) marks.unshift("reset")
        const plain = s.length > 0 && !(s.flags & (TCP_SYN | TCP_FIN | TCP_RST)) && marks.length === 0 && x.t.before.length === 0 && x.t.after.length === 0
        items.push({ kind: "seg", dir: x.t.dir, t0, t1, label, line: formatSegment(s), marks, plain, bytes: s.length })
        for (const ch of x.t.after) items.push({ kind: "state", side: ch.endpoint, t: at(ch.endpoint, t1 + eps), from: ch.from, to: ch.to, timer: false })
    }
    for (const tm of c.timerAfter) items.push({ kind: "state", side: tm.change.endpoint, t: tm.change.timeMs - t00, from: tm.change.from, to: tm.change.to, timer: true })
    return {
        title: "connection " + c.id + ": " + c.endpointName(0) + " > " + c.endpointName(1),
        names: [c.endpointName(0), c.endpointName(1)],
        // the side that answered a SYN was listening
        initial: [c.initial[0], c.changes.some((ch) => ch.endpoint === 1 && ch.from === "LISTEN") ? "LISTEN" : c.initial[1]],
        items,
        pxPerMs,
        delaysGuessed: guessed,
    }
}

/**
 * Draws a model as an SVG document. `expanded[i]` opens band i. Self-contained
 * (its source is embedded in the HTML page): everything it uses is inside it.
 */
export function renderLadder(m: LadderModel, expanded: Record<string, boolean>, idPrefix: string): { svg: string; width: number; height: number } {
    const W = 760
    const L = 190
    const R = W - 190
    const TOP = 78
    const MIN_GAP = 26
    const MAX_GAP = 110
    const BAND_H = 46
    const BAND_MIN = 6
    const esc = (s: string) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
    const fmtMs = (ms: number) => (ms >= 1000 ? (ms / 1000).toFixed(ms >= 10000 ? 1 : 2) + " s" : ms >= 1 ? ms.toFixed(1) + " ms" : (ms * 1000).toFixed(0) + " µs")
    // ---- runs of plain data segments become bands ----
    type Seg = (typeof m.items)[number] & { kind: "seg" }
    type Band = { kind: "band"; index: number; segs: Seg[]; t0: number; t1: number }
    const view: (LadderModel["items"][number] | Band)[] = []
    let run: Seg[] = []
    let bands = 0
    const flush = () => {
        // a run ends with the ACKs that were interleaved; count data segments to decide
        const data = run.filter((s) => s.plain).length
        if (data >= BAND_MIN) {
            const b: Band = { kind: "band", index: bands++, segs: run, t0: Math.min(...run.map((s) => s.t0)), t1: Math.max(...run.map((s) => s.t1)) }
            if (expanded[String(b.index)]) {
                view.push(b)
                for (const s of run) view.push(s)
            } else view.push(b)
        } else for (const s of run) view.push(s)
        run = []
    }
    for (const it of m.items) {
        const quietAck = it.kind === "seg" && !it.plain && it.bytes === 0 && it.marks.length === 0 && it.label.indexOf("SYN") < 0 && it.label.indexOf("FIN") < 0
        if (it.kind === "seg" && (it.plain || (quietAck && run.length > 0))) run.push(it)
        else {
            flush()
            view.push(it)
        }
    }
    flush()
    // ---- time -> y: knots at every drawn instant, to scale between MIN_GAP and MAX_GAP ----
    const knots: { t: number; band?: Band }[] = []
    for (const v of view) {
        if (v.kind === "seg") knots.push({ t: v.t0 }, { t: v.t1 })
        else if (v.kind === "state") knots.push({ t: v.t })
        else if (!expanded[String(v.index)]) knots.push({ t: v.t0, band: v }, { t: v.t1, band: v })
        else knots.push({ t: v.t0 - 2e-6 }) // room for an open band's label above its first arrow
    }
    knots.sort((a, b) => a.t - b.t)
    const ts: number[] = []
    const ys: number[] = []
    const breaks: { y: number; text: string }[] = []
    let y = TOP
    for (let i = 0; i < knots.length; i++) {
        const k = knots[i]
        if (i > 0) {
            const prev = knots[i - 1]
            if (k.t === prev.t && !(k.band && prev.band === k.band)) continue
            const dt = k.t - prev.t
            let step: number
            if (k.band && prev.band === k.band) step = BAND_H
            else if (prev.band && !k.band && ts.length && ts[ts.length - 1] === prev.t) step = Math.max(MIN_GAP, Math.min(MAX_GAP, dt * m.pxPerMs))
            else step = Math.max(MIN_GAP, Math.min(MAX_GAP, dt * m.pxPerMs))
            if (dt * m.pxPerMs > MAX_GAP * 1.5 && !(k.band && prev.band === k.band)) breaks.push({ y: y + step / 2, text: fmtMs(dt) })
            y += step
        }
        ts.push(k.t)
        ys.push(y)
    }
    // coordinates to a tenth of a pixel: smaller files, and the same on every machine
    const yAt = (t: number) => Math.round(yAtExact(t) * 10) / 10
    const yAtExact = (t: number) => {
        if (!ts.length) return TOP
        if (t <= ts[0]) return ys[0] - (ts[0] - t) * m.pxPerMs
        if (t >= ts[ts.length - 1]) return ys[ys.length - 1] + Math.min(MAX_GAP, (t - ts[ts.length - 1]) * m.pxPerMs)
        let lo = 0
        let hi = ts.length - 1
        while (hi - lo > 1) {
            const mid = (lo + hi) >> 1
            if (ts[mid] <= t) lo = mid
            else hi = mid
        }
        const span = ts[hi] - ts[lo]
        return span > 0 ? ys[lo] + ((t - ts[lo]) / span) * (ys[hi] - ys[lo]) : ys[lo]
    }
    const bottom = Math.round(y + 60)
    const out: string[] = []
    const P = idPrefix
    out.push(`<g class="lines"><line x1="${L}" y1="${TOP - 22}" x2="${L}" y2="${bottom}" class="life"/><line x1="${R}" y1="${TOP - 22}" x2="${R}" y2="${bottom}" class="life"/></g>`)
    out.push(`<text class="title" x="${W / 2}" y="18" text-anchor="middle">${esc(m.title)}</text>`)
    out.push(`<text class="endpoint" x="${L}" y="42" text-anchor="middle">${esc(m.names[0])}</text><text class="endpoint" x="${R}" y="42" text-anchor="middle">${esc(m.names[1])}</text>`)
    out.push(`<text class="state-label initial" x="${L - 10}" y="${TOP - 12}" text-anchor="end">${esc(m.initial[0])}</text>`)
    out.push(`<text class="state-label initial" x="${R + 10}" y="${TOP - 12}" text-anchor="start">${esc(m.initial[1])}</text>`)
    for (const b of breaks) {
        out.push(`<g class="break"><text x="${W / 2}" y="${b.y + 4}" text-anchor="middle">… ${esc(b.text)} …</text></g>`)
    }
    // state labels: beside their line; one under another when they come close
    let lastStateY: [number, number] = [-1e9, -1e9]
    for (const v of view) {
        if (v.kind !== "state") continue
        let sy = yAt(v.t)
        if (sy < lastStateY[v.side] + 16) sy = lastStateY[v.side] + 16
        lastStateY[v.side] = sy
        const x = v.side === 0 ? L : R
        const text = v.to + (v.timer ? " (after 2MSL)" : "")
        out.push(
            `<g class="state"><title>${esc(v.from + " -> " + v.to)}</title><circle cx="${x}" cy="${yAt(v.t)}" r="3.5" class="state-dot"/><text class="state-label" data-side="${v.side}" x="${v.side === 0 ? L - 10 : R + 10}" y="${sy + 4}" text-anchor="${v.side === 0 ? "end" : "start"}">${esc(text)}</text></g>`,
        )
    }
    let lastLabelY: [number, number] = [-1e9, -1e9]
    for (const v of view) {
        if (v.kind === "band") {
            const open = !!expanded[String(v.index)]
            const data = v.segs.filter((s) => s.plain)
            const bytes = data.reduce((a, s) => a + s.bytes, 0)
            const right = data.filter((s) => s.dir === 0).length
            const left = data.length - right
            const acks = v.segs.length - data.length
            const what = data.length + " data segments, " + bytes.toLocaleString("en-US") + " bytes " + (right && left ? "⇄" : right ? "→" : "←") + (acks ? ", " + acks + " ACKs" : "") + ", " + fmtMs(v.t1 - v.t0)
            const y0 = open ? yAt(v.t0 - 2e-6) : yAt(v.t0)
            const y1 = open ? yAt(v.t1) : y0 + BAND_H
            out.push(
                `<g class="band${open ? " open" : ""}" data-band="${v.index}" id="${P}band${v.index}" tabindex="0" role="button"><rect x="${L + 4}" y="${y0 - 6}" width="${R - L - 8}" height="${Math.max(12, y1 - y0 + 12)}" rx="6"/><text class="band-label" x="${W / 2}" y="${open ? y0 + 6 : y0 + BAND_H / 2 + 2}" text-anchor="middle">${esc((open ? "▾ " : "▸ ") + what)}</text></g>`,
            )
            continue
        }
        if (v.kind !== "seg") continue
        const x0 = v.dir === 0 ? L : R
        const x1 = v.dir === 0 ? R : L
        const y0 = yAt(v.t0)
        let y1 = yAt(v.t1)
        if (y1 - y0 < 8) y1 = y0 + 8
        const lost = v.marks.indexOf("lost") >= 0
        const cls = ["arrow"]
        for (const mk of v.marks) cls.push("m-" + mk.replace(/[^a-z]+/g, "-"))
        // a lost segment stops short, at a cross
        const ex = lost ? x0 + (x1 - x0) * 0.62 : x1
        const ey = lost ? y0 + (y1 - y0) * 0.62 : y1
        let g = `<g class="${cls.join(" ")}"><title>${esc(v.line + (v.marks.length ? "  (" + v.marks.join(", ") + ")" : ""))}</title>`
        g += `<line class="shaft" x1="${x0}" y1="${y0}" x2="${ex}" y2="${ey}"${lost ? "" : ` marker-end="url(#${P}head)"`}/>`
        if (lost) g += `<path class="cross" d="M${ex - 6} ${ey - 6} L${ex + 6} ${ey + 6} M${ex - 6} ${ey + 6} L${ex + 6} ${ey - 6}"/>`
        // the label sits above the arrow's start, on its sender's half
        let ly = y0 - 5
        if (ly < lastLabelY[v.dir] + 14) ly = lastLabelY[v.dir] + 14
        lastLabelY[v.dir] = ly
        const tag = v.marks.join(", ")
        const text = v.label + (tag ? "  [" + tag + "]" : "")
        g += `<text class="seg-label" x="${v.dir === 0 ? L + 10 : R - 10}" y="${ly}" text-anchor="${v.dir === 0 ? "start" : "end"}">${esc(text)}</text></g>`
        out.push(g)
    }
    // legend
    const ly0 = bottom + 10
    const legend: [string, string][] = [
        ["arrow", "segment (sloped by its delay)"],
        ["arrow m-retransmission", "retransmission"],
        ["arrow m-lost", "lost (sent again before it was acknowledged)"],
        ["arrow m-zero-window-probe", "zero-window probe"],
        ["arrow m-keep-alive", "keep-alive probe"],
        ["arrow m-reset", "reset"],
    ]
    let lg = `<g class="legend"><text class="legend-title" x="20" y="${ly0 + 12}">Legend</text>`
    legend.forEach(([cls, text], i) => {
        const yy = ly0 + 30 + i * 18
        lg += `<g class="${cls}"><line class="shaft" x1="20" y1="${yy}" x2="70" y2="${yy}"/></g><text class="legend-text" x="80" y="${yy + 4}">${esc(text)}</text>`
    })
    const yy = ly0 + 30 + legend.length * 18
    lg += `<circle cx="45" cy="${yy}" r="3.5" class="state-dot"/><text class="legend-text" x="80" y="${yy + 4}">state change (RFC 9293 names), written beside the endpoint's line</text>`
    lg += `<rect x="24" y="${yy + 12}" width="42" height="14" rx="4" class="legend-band"/><text class="legend-text" x="80" y="${yy + 23}">data segments folded into a band (click to open)</text>`
    lg += `<text class="legend-text" x="20" y="${yy + 46}">${esc("seq/ack: absolute through the handshake, then relative to each side's ISN; win when it changes")}</text>`
    if (m.delaysGuessed) lg += `<text class="legend-text" x="20" y="${yy + 62}">${esc("no handshake in the capture: delays are not drawn to scale")}</text>`
    out.push(lg + "</g>")
    const height = yy + (m.delaysGuessed ? 76 : 60)
    const style = `.life{stroke:#444;stroke-width:2}.title{font:600 14px sans-serif}.endpoint{font:600 13px monospace}.state-label{font:600 12px sans-serif;fill:#0a5d2a}.state-label.initial{fill:#555}.state-dot{fill:#0a5d2a}.seg-label{font:11px monospace;fill:#111;paint-order:stroke;stroke:#fff;stroke-width:3px}.arrow .shaft{stroke:#1f4e9c;stroke-width:1.4}.m-retransmission .shaft{stroke:#d97706;stroke-dasharray:6 3}.m-lost .shaft,.cross{stroke:#c0162a;stroke-width:1.6}.m-zero-window-probe .shaft{stroke:#7c3aed;stroke-dasharray:2 3}.m-keep-alive .shaft{stroke:#6b7280;stroke-dasharray:2 3}.m-reset .shaft{stroke:#c0162a;stroke-width:2.5}.band rect{fill:#e8eef9;stroke:#1f4e9c;stroke-dasharray:4 2;cursor:pointer}.band.open rect{fill:none}.band-label{font:11px sans-serif;fill:#1f4e9c;cursor:pointer}.break text{font:italic 11px sans-serif;fill:#777}.legend-title{font:600 12px sans-serif}.legend-text{font:11px sans-serif}.legend-band{fill:#e8eef9;stroke:#1f4e9c;stroke-dasharray:4 2}`
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" class="ladder" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}"><style>${style}</style><defs><marker id="${P}head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#1f4e9c"/></marker></defs><rect width="100%" height="100%" fill="#fff"/>${out.join("")}</svg>`
    return { svg, width: W, height }
}

/** A standalone SVG of one or more connections, one under another. */
export function ladderSvg(models: LadderModel[]): string {
    if (models.length === 1) return '<?xml version="1.0" encoding="UTF-8"?>\n' + renderLadder(models[0], {}, "c0").svg + "\n"
    let y = 0
    let w = 0
    const parts: string[] = []
    models.forEach((m, i) => {
        const r = renderLadder(m, {}, "c" + i)
        parts.push(`<g transform="translate(0 ${y})">${r.svg}</g>`)
        y += r.height + 20
        w = Math.max(w, r.width)
    })
    return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${y}" viewBox="0 0 ${w} ${y}">${parts.join("")}</svg>\n`
}

/** A self-contained HTML page: the diagrams, and bands that open and close on click. */
export function ladderHtml(models: LadderModel[], title: string): string {
    const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;")
    const blocks = models.map((m, i) => `<section id="conn${i}" data-index="${i}">${renderLadder(m, {}, "c" + i).svg}</section>`).join("\n")
    // the page re-draws with the same renderer (tsx names functions with __name: a no-op here)
    const script = `
var __name = function (f) { return f; };
var renderLadder = ${renderLadder.toString()};
var models = ${JSON.stringify(models).replace(/</g, "\\u003c")};
var open = models.map(function () { return {}; });
function draw(i) {
  var sec = document.getElementById("conn" + i);
  sec.innerHTML = renderLadder(models[i], open[i], "c" + i).svg;
}
document.addEventListener("click", function (e) {
  var t = e.target;
  while (t && t.getAttribute && !t.getAttribute("data-band")) t = t.parentNode;
  if (!t || !t.getAttribute) return;
  var sec = t.closest("section");
  var i = Number(sec.getAttribute("data-index"));
  var b = t.getAttribute("data-band");
  open[i][b] = !open[i][b];
  draw(i);
});
document.addEventListener("keydown", function (e) {
  if ((e.key === "Enter" || e.key === " ") && e.target.getAttribute && e.target.getAttribute("data-band")) { e.preventDefault(); e.target.dispatchEvent(new MouseEvent("click", { bubbles: true })); }
});
`
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:sans-serif;margin:16px;background:#f6f7f9}section{background:#fff;margin:0 0 24px;display:inline-block;box-shadow:0 1px 3px #0002}h1{font-size:16px}</style>
</head><body><h1>${esc(title)}</h1>
${blocks}
<script>${script}</script>
</body></html>
`
}

export interface LadderArgs {
    file: string
    conn?: number
    timeWaitMs?: number
    html: boolean
}

/** Runs `ladder`: the SVG or HTML text. */
export function ladderCommand(a: LadderArgs): string {
    let buf: Buffer
    try {
        buf = readFileSync(a.file)
    } catch (e) {
        throw new CaptureError("cannot read " + a.file + ": " + (e as NodeJS.ErrnoException).code)
    }
    const r = analyze(buf, a.timeWaitMs)
    const conns = r.tracker.connections.filter((c) => a.conn === undefined || c.id === a.conn)
    if (a.conn !== undefined && !conns.length) throw new CaptureError("there is no connection " + a.conn + " (the capture has " + r.tracker.connections.length + ")")
    if (!conns.length) throw new CaptureError("no TCP connections in " + a.file)
    const models = conns.map((c) => ladderModel(r, c))
    return a.html ? ladderHtml(models, "ds-tcpip ladder: " + a.file) : ladderSvg(models)
}
