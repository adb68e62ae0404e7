// npm run bench:device: what the device pays, in DeviceScript VM opcodes and
// GC heap bytes. VM only, no root, deterministic (virtual time, seeded).
//
// bench/device/cost-vm.ts (GC stress off, as on a device). The device is a
// Stack with the default limits except tcpConnections: 2 (4 do not fit in the
// heap beside the demo, the peer and the links), serving the demo routes and
// /small; the peer is bench/device/peer.ts, a raw-frame client. Regions are
// counted from the VM's opcode counter, minus an empty region (see
// cost-vm.ts); each figure is the mean of 20 regions after 4 unmeasured ones.
//   received segment     the peer's 1460-byte data segment handed to the
//                        device's stack.receive (Ethernet, IPv4 and TCP parse,
//                        both checksums, demux, into the receive ring, an ACK
//                        if one is due), plus the application's tcp.recv() of
//                        the 1460 bytes (the copy out and the window-update ACK
//                        it sends): one frame sent per segment. Not included:
//                        the driver, the network loop's turn (printed apart).
//   transmitted segment  tcp.send() of 1460 bytes with the send ring empty and
//                        the peer's window open: into the ring, the segment
//                        built, both checksums, handed to the driver (one
//                        frame). The ACK of it arriving later is printed apart.
//   keep-alive request   "GET /small" (curl's three header fields) arriving
//                        on an open keep-alive connection, carrying the ACK of
//                        the previous response: stack.receive, the socket's
//                        signal, the HTTP server's fiber (read, parse, route
//                        among the demo's routes, the handler: Content-Type and
//                        res.end of 20 bytes, the response head built, the
//                        103-byte response segment sent), until that fiber
//                        waits for the next request.
//   worst fiber turn     the most opcodes one fiber ran between suspensions in
//                        any step inside a region: the device's work only (the
//                        network loop's turns as the program runs them, the
//                        HTTP fibers), over the whole run, GET /bytes/100000 included.
// bench/device/heap-http-vm.ts (GC stress on: a full GC at every
// allocation, so the heap holds only live objects when read). A Stack with the
// default limits, the HTTP server with default options and one route, 4 open
// keep-alive connections each waiting for its next request.
//   heap left for the application = the heap - the program's heap at its start
//                        (runtime, module-level objects) - the device's heap
//                        (Stack, server, connections, first-use costs); the
//                        peer's heap is measured before the device's and left out.
//
// `npm run bench:device -- --images` also prints build:device's line for each
// firmware entry (src/main*.ts). The functions are exported for
// test/vm/bench-device.test.ts.
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { buildDevice, FUNCTIONS_END_LIMIT, REPO_ROOT } from "../src/host/vm/build.js"
import { DeviceVm } from "../src/host/vm/vm.js"

export const COST_PROGRAM = "bench/device/cost-vm.ts"
export const HEAP_PROGRAM = "bench/device/heap-http-vm.ts"

export interface RegionStats {
    count: number
    /** Opcodes of every region of this label, the baseline subtracted. */
    values: number[]
    mean: number
    min: number
    max: number
}

export interface CostResult {
    /** Per label, per region: the opcodes of each VM step inside it (the last one holds the "E" line). */
    steps: Record<string, number[][]>
    /** Per label ("rx", "rxread", "tx", "txack", "req", "page", "cksum", "idle", "base", "other"). */
    regions: Record<string, RegionStats>
    /** Opcodes of an empty region (two yields and a console.log): subtracted from every other region. */
    baseline: number
    /** "V" lines of the program, split into words (without the "V"). */
    values: string[][]
    /** The most opcodes one fiber ran between two suspensions, over every step inside a region (device work only). */
    worstTurn: number
    /** The label of the region where worstTurn happened. */
    worstLabel: string
    /** The same over the whole run, the peer's work and the program's start included. */
    worstTurnAll: number
    /** Opcodes the VM ran in all. */
    opcodes: number
    virtualMs: number
    wallMs: number
}

function fail(vm: DeviceVm, why: string): Error {
    const panic = vm.panic ? `panic ${vm.panic.name}\n${vm.panic.report.join("\n")}\n` : ""
    return new Error(`${why}\n${panic}output (last 30 lines):\n${vm.output.slice(-30).join("\n")}`)
}

/** Runs cost-vm.ts's image and attributes opcodes to its regions. */
export async function measureCosts(bytecode: Buffer): Promise<CostResult> {
    const vm = await DeviceVm.create({ gcStress: false })
    if (vm.stepCounterError) throw new Error("the VM counts no opcodes: " + vm.stepCounterError)
    vm.deploy(bytecode)
    const raw: Record<string, number[]> = {}
    const values: string[][] = []
    let label: string = null
    let start = 0
    let worstTurn = 0
    let worstTurnAll = 0
    let worstLabel = ""
    let seen = 0
    let prevOps = 0
    let stepOps: number[] = []
    const steps: Record<string, number[][]> = {}
    const wall0 = performance.now()
    const v0 = vm.nowMs()
    for (;;) {
        if (vm.panic) throw fail(vm, "the cost program panicked")
        if (vm.nowMs() - v0 > 600_000 || performance.now() - wall0 > 120_000) throw fail(vm, "the cost program did not finish")
        const inRegion = label !== null
        vm.resetMaxSteps()
        vm.advance(vm.step() / 1000)
        const turn = vm.maxStepsPerTurn
        if (turn > worstTurnAll) worstTurnAll = turn
        // a step that printed "R ..." ended at the region's start: its work is not the region's
        if (inRegion && turn > worstTurn) {
            worstTurn = turn
            worstLabel = label
        }
        if (inRegion) stepOps.push(vm.opcodes - prevOps)
        prevOps = vm.opcodes
        let done = false
        for (; seen < vm.output.length; seen++) {
            const line = vm.output[seen]
            if (line.startsWith("R ")) {
                if (label !== null) throw fail(vm, `region "${label}" not ended before "${line}"`)
                label = line.slice(2)
                start = vm.opcodes
                stepOps = []
            } else if (line === "E") {
                if (label === null) throw fail(vm, "E without R")
                ;(raw[label] ??= []).push(vm.opcodes - start)
                ;(steps[label] ??= []).push(stepOps)
                label = null
            } else if (line.startsWith("V ")) values.push(line.slice(2).split(" "))
            else if (line === "done") done = true
            else throw fail(vm, `unexpected line "${line}"`)
        }
        if (done) break
    }
    const base = raw["base"]
    if (!base || base.length === 0) throw fail(vm, "no baseline regions")
    const baseline = Math.min(...base)
    const regions: Record<string, RegionStats> = {}
    for (const [k, v] of Object.entries(raw)) {
        const values = v.map((x) => x - baseline)
        const sum = values.reduce((s, x) => s + x, 0)
        regions[k] = { count: values.length, values, mean: sum / values.length, min: Math.min(...values), max: Math.max(...values) }
    }
    return {
        steps,
        regions,
        baseline,
        values,
        worstTurn,
        worstLabel,
        worstTurnAll,
        opcodes: vm.opcodes,
        virtualMs: vm.nowMs() - v0,
        wallMs: performance.now() - wall0,
    }
}

/** The figures of the issue, from a CostResult (rounded means over the measured rounds). */
export function costFigures(r: CostResult) {
    const mean = (k: string) => {
        const s = r.regions[k]
        if (!s) throw new Error(`no "${k}" regions`)
        return s.mean
    }
    const m = (k: string) => Math.round(mean(k))
    // frames the device sent, from the "V" lines: [kind, frames, ...]
    const frames = (kind: string, ...cols: number[]) => {
        const rows = r.values.filter((v) => v[0] === kind)
        if (rows.length === 0) return NaN
        return rows.reduce((s, v) => s + cols.reduce((t, c) => t + Number(v[c]), 0), 0) / rows.length
    }
    const stackShare = mean("xrx") + mean("xread") + mean("xtx")
    return {
        /** stack.receive of the segment (parse, checksums, into the ring, an ACK when one is due) + the application's tcp.recv() of it (and the window update it sends). */
        rxSegment: Math.round(mean("rx") + mean("rxread")),
        rxReceive: m("rx"),
        rxRead: m("rxread"),
        rxFrames: frames("rx", 1, 2),
        /** tcp.send() of 1460 bytes into an open window: into the ring, the segment built, checksummed and handed to the driver. */
        txSegment: m("tx"),
        txFrames: frames("tx", 1),
        txAck: m("txack"),
        /** internetChecksum of a 20-byte IPv4 header + onesSum of a 1480-byte TCP segment with the pseudo-header, alone. */
        checksums: m("cksum"),
        /** A keep-alive GET /small: the request segment received, the server fiber woken, parse, route, handler, the response segment sent, the fiber back waiting. */
        request: m("req"),
        requestFrames: frames("req", 1),
        requestBytes: Number(r.values.find((v) => v[0] === "req")?.[2]),
        /** The stack's share of a request: segments of the same sizes in and out on a raw connection, with the application's read. */
        requestStack: Math.round(stackShare),
        requestRest: Math.round(mean("req") - stackShare),
        page: m("page"),
        pageBytes: Number(r.values.find((v) => v[0] === "page")?.[2]),
        idleTurn: m("idle"),
        /** The most opcodes one fiber ran without yielding, over every step inside a region (the device's work only). */
        worstTurn: r.worstTurn,
    }
}

export interface HeapResult {
    /** Heap bytes in use at each "H <name>" line (by its first word), GC stress on. */
    at: Record<string, number>
    /** The words after the name on each H line. */
    info: Record<string, string[]>
    /** Size of the GC heap. */
    heapBytes: number
    /** Set when the program ran out of heap after opening some connections (figures then extrapolate). */
    outOfMemory: boolean
    wallMs: number
}

/**
 * Runs heap-http-vm.ts's image under GC stress and reads the heap at each
 * "H ..." line. Running out of heap after the second connection is not an
 * error: heapFigures() extrapolates the rest and says so.
 */
export async function measureHeap(bytecode: Buffer): Promise<HeapResult> {
    const vm = await DeviceVm.create({ gcStress: true })
    vm.deploy(bytecode)
    const at: Record<string, number> = {}
    const info: Record<string, string[]> = {}
    let seen = 0
    let outOfMemory = false
    const wall0 = performance.now()
    const v0 = vm.nowMs()
    for (;;) {
        if (vm.panic) {
            if (vm.panic.name === "OutOfMemory" && at["conn2"] !== undefined) {
                outOfMemory = true
                break
            }
            throw fail(vm, "the heap program panicked; heap at its lines so far: " + JSON.stringify(at))
        }
        if (vm.nowMs() - v0 > 60_000 || performance.now() - wall0 > 120_000) throw fail(vm, "the heap program did not finish")
        vm.advance(vm.step() / 1000)
        let done = false
        for (; seen < vm.output.length; seen++) {
            const line = vm.output[seen]
            if (line.startsWith("H ")) {
                const words = line.slice(2).split(" ")
                at[words[0]] = vm.heapBytesInUse()
                info[words[0]] = words.slice(1)
            } else if (line === "done") done = true
            else throw fail(vm, `unexpected line "${line}"`)
        }
        if (done) break
    }
    return { at, info, heapBytes: vm.heapStats().totalBytes, outOfMemory, wallMs: performance.now() - wall0 }
}

export const OPEN_CONNECTIONS = 4

export function heapFigures(h: HeapResult) {
    const at = (k: string) => {
        if (h.at[k] === undefined) throw new Error(`no "H ${k}" line`)
        return h.at[k]
    }
    const stack = at("stack") - at("freed")
    const stack0 = at("stack0") - at("base")
    const connections = Number(h.info["stack"][0])
    let opened = 0
    while (h.at["conn" + (opened + 1)] !== undefined) opened++
    if (opened < 2) throw new Error("fewer than 2 connections opened")
    // each connection after the first (which also pays for first uses: prototypes, the socket and HTTP objects' shapes)
    const perOpen = (at("conn" + opened) - at("conn1")) / (opened - 1)
    const measured = at("conn" + opened) - at("base")
    const device = Math.round(measured + (OPEN_CONNECTIONS - opened) * perOpen)
    return {
        /** The program's own heap before anything is built (the runtime, module-level objects): no application can use it either. */
        start: at("start"),
        /** The peer and its slot (not the device's): subtracted. */
        harness: at("base") - at("start"),
        stack0,
        /** A Stack with the default limits right after new Stack() (everything is allocated at start). */
        stack,
        perConnection: (stack - stack0) / connections,
        connections,
        /** The HTTP server with its route, listening (its accept fiber waiting), the Net and the socket host. */
        server: at("server") - at("stack"),
        perOpenConnection: perOpen,
        /** Connections opened in the VM; the rest of OPEN_CONNECTIONS are extrapolated (perOpenConnection each). */
        opened,
        outOfMemory: h.outOfMemory,
        /** Everything the device holds: Stack, server, open connections (and the first-use costs). */
        device,
        /** What is left of the heap with this device: the heap minus the program's start and the device. */
        left: h.heapBytes - at("start") - device,
        heapBytes: h.heapBytes,
        /** Heap kept after the 0-connection Stack was dropped: first-use costs (class prototypes), counted in `device`. */
        firstUse: at("freed") - at("base"),
    }
}

/** The report of npm run bench:device: the lines of issue 9 first, then the breakdown. */
export function report(c: CostResult, h: HeapResult): string[] {
    const f = costFigures(c)
    const hf = heapFigures(h)
    const out: string[] = []
    out.push(`opcodes per received 1460-byte segment: ${f.rxSegment}`)
    out.push(`opcodes per transmitted 1460-byte segment: ${f.txSegment}`)
    out.push(`opcodes per keep-alive request: ${f.request}`)
    out.push(`worst fiber turn: ${f.worstTurn} opcodes`)
    out.push(`heap of a Stack at start (default limits, ${hf.connections} connections): ${hf.stack} bytes`)
    out.push(`heap per TCP connection (2048 + 2048 rings): ${Math.round(hf.perConnection)} bytes`)
    out.push(
        `heap with the HTTP server and ${OPEN_CONNECTIONS} open keep-alive connections: ${hf.device} bytes` +
            (hf.opened < OPEN_CONNECTIONS
                ? ` (${hf.opened} opened, ${OPEN_CONNECTIONS - hf.opened} more counted at ${Math.round(hf.perOpenConnection)} each: ` +
                  `the VM ran out of heap beside the benchmark's peer, ${hf.harness} bytes)`
                : ""),
    )
    out.push(`heap left for the application: ${hf.left} bytes`)
    out.push(`  (opcodes: DeviceScript VM, GC stress off, means of 20 rounds after 4 unmeasured; heap: GC stress on, live objects only)`)
    out.push(
        `  received segment: stack.receive ${f.rxReceive} + the application's read with the window update ${f.rxRead}; ` +
            `frames sent per segment ${f.rxFrames.toFixed(2)}`,
    )
    out.push(`  of which checksums (IPv4 header + 1480-byte TCP segment, measured alone): ${f.checksums}`)
    out.push(`  transmitted segment: the same checksums inside; receiving the peer's ACK of it (not included): ${f.txAck}`)
    out.push(
        `  keep-alive request (GET /small, ${f.requestBytes}-byte response, ${f.requestFrames.toFixed(2)} frames sent): ` +
            `the stack's share ${f.requestStack} (segments of the same sizes in and out on a raw connection), sockets + HTTP server + route + handler ${f.requestRest}`,
    )
    out.push(`  keep-alive GET /bytes/1100 of the demo (${f.pageBytes}-byte response): ${f.page}`)
    out.push(`  a network-loop turn with nothing to do (deadline check): ${f.idleTurn}`)
    out.push(
        `  worst fiber turn: in a region "${c.worstLabel}", over handshakes, 24 segments each way, 48 keep-alive GETs, ` +
            `GET /bytes/100000 (the peer ACKing every segment), 24 small exchanges; the device's work only`,
    )
    out.push(
        `  heap: a Stack without connections ${hf.stack0}, the HTTP server listening ${hf.server}, ` +
            `per open keep-alive connection ${Math.round(hf.perOpenConnection)}, first-use costs ${hf.firstUse}, ` +
            `the program before any of it ${hf.start}, of a heap of ${hf.heapBytes}`,
    )
    return out
}

async function main() {
    const t0 = performance.now()
    // one after the other: the machine may be shared, and devs build has a 60 s limit
    const heap = await buildDevice(HEAP_PROGRAM)
    const h = await measureHeap(heap.bytecode)
    const cost = await buildDevice(COST_PROGRAM)
    const c = await measureCosts(cost.bytecode)
    for (const line of report(c, h)) console.log(line)
    if (process.env["BENCH_DEVICE_DEBUG"]) {
        for (const [k, s] of Object.entries(c.regions)) console.log(`  region ${k}: ${s.count} x, min ${s.min}, max ${s.max}, mean ${s.mean.toFixed(1)}`)
        console.log("  heap at: " + JSON.stringify(h.at))
    }
    if (process.argv.includes("--images")) {
        // the lines of npm run build:device, one per firmware entry (a build each: slow on a busy machine, so asked for)
        const entries = readdirSync(join(REPO_ROOT, "src"))
            .filter((f) => /^main.*\.ts$/.test(f))
            .sort((a, b) => (a === "main.ts" ? -1 : b === "main.ts" ? 1 : a < b ? -1 : 1))
        for (const f of entries) {
            const b = await buildDevice(join(REPO_ROOT, "src", f))
            const free = FUNCTIONS_END_LIMIT - b.functionsEnd
            console.log(`  src/${f}: image ${b.imageBytes} bytes, functions end at ${b.functionsEnd} of ${FUNCTIONS_END_LIMIT} (${free} free)`)
        }
    }
    console.log(`  (${Math.round(performance.now() - t0)} ms wall; the cost program's functions end at ${cost.functionsEnd})`)
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
    main().catch((e) => {
        console.error(e)
        process.exit(1)
    })
}
