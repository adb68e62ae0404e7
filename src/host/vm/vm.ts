// Runs DeviceScript bytecode in the WASM VM that ships inside the pinned CLI
// (node_modules/@devicescript/cli/built/devicescript-cli.cjs), on virtual time.
//
// How the VM is obtained: the CLI is one esbuild bundle. It embeds
// runtime/devicescript-vm/built/devicescript-vm.js as a `__commonJS` module
// whose body is an Emscripten MODULARIZE factory `(moduleArg) => Promise<Module>`
// with the .wasm inlined as a base64 data URI, plus the wrapper of
// runtime/devicescript-vm/wasmpre.ts (devsInit, devsDeploy, devsGcStress, ...).
// We cut that module's text out of the bundle, evaluate it once with
// vm.runInThisContext, compile the inlined .wasm once, and call the factory
// once per DeviceVm (passing `instantiateWasm` so every instance shares the
// compiled WebAssembly.Module but has its own memory and state).
//
// Virtual time: the VM reads the clock only through Date.now() (em_time_now),
// so around every call into the VM we point Date.now at this VM's own clock,
// and runUntil() advances that clock by the sleep each step returns. Random
// bytes (em_jd_crypto_get_random -> require("crypto").randomBytes) come from a
// per-VM seeded generator in the same way, so runs are reproducible.
//
// This depends on the bundle's layout (pinned @devicescript/cli 2.16.4): if the
// markers are missing, load fails with an error naming what was not found.

import { createRequire } from "node:module"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { runInThisContext } from "node:vm"
import { REPO_ROOT } from "./build.js"
import { IMPORT_GLOBAL, countImports, leb, readLeb, wasmName } from "./wasm.js"
import { exportInternals, GC_EXPORT, installSpi, VmSpiDevice } from "./spi-hook.js"
import { installSockets, SocketConnector } from "./sockets.js"

/**
 * Panic codes seen from this VM (runtime/devicescript/devicescript.h). The
 * step budget (DEVS_MAX_STEPS) and fatal exceptions are reported with the
 * runtime's own name in the dmesg line "! Exception: <Name>", which
 * VmPanic.name prefers.
 */
export const PANIC_NAMES: Record<number, string> = {
    0: "Restart",
    60000: "Reboot",
    60001: "Timeout", // also the step budget: "! Exception: InfiniteLoop"
    60002: "InternalError",
    60003: "RuntimeFailure",
    60004: "OutOfMemory",
    60005: "UnhandledException",
    60006: "StackOverflow",
}

export interface VmPanic {
    /** The code passed to panicHandler (0 for a requested restart/exit). */
    code: number
    /**
     * The exception the VM reported ("InfiniteLoop", "OutOfMemory",
     * "StackOverflow", ...), else the name of the code in PANIC_NAMES, else "Panic<code>".
     */
    name: string
    /** Virtual time (ms since create) when it happened. */
    atMs: number
    /** The VM's report: the "!"/"*" dmesg lines since the program started (exception, message, stack). */
    report: string[]
}

export interface HeapStats {
    /** Bytes in allocated blocks, 4-byte headers included (what devs_dump_heap calls "used"). */
    usedBytes: number
    freeBytes: number
    /** Size of the heap chunk(s): usedBytes + freeBytes. */
    totalBytes: number
    largestFreeBytes: number
    /** Number of allocated blocks. */
    objects: number
}

export interface VmOptions {
    /** Full GC at every allocation (what `devs run --test` does). Default false. */
    gcStress?: boolean
    /** Seed for the VM's random bytes (device id, Math.random). Default 1. */
    seed?: number
    /** Copy program output lines to process.stdout as they come. Default false. */
    echo?: boolean
    /** Wall-clock limit for loading/instantiating the VM. Default 20 s. */
    startupTimeoutMs?: number
    /** A device on the SPI bus: the program's ds.spiXfer() reaches it (see spi-hook.ts). */
    spi?: VmSpiDevice
    /** The program's @devicescript/net socket connects where this says (see sockets.ts); default: no sockets. */
    connect?: SocketConnector
}

export interface RunOptions {
    /** Stop when virtual time has advanced this far in this call. Default 60,000 ms. */
    maxVirtualMs?: number
    /** Stop after this many main-loop steps in this call. Default 1,000,000. */
    maxSteps?: number
    /** Wall-clock limit for this call. Default 20,000 ms. */
    wallTimeoutMs?: number
}

export type StopReason = "predicate" | "panic" | "maxVirtualMs" | "maxSteps" | "wallTimeout"

export interface RunResult {
    reason: StopReason
    steps: number
    /** Virtual ms that passed in this call. */
    virtualMs: number
    /** Wall-clock ms this call took. */
    wallMs: number
}

/** The parts of the Emscripten module (plus wasmpre.ts wrapper) we use. */
interface EmModule {
    HEAPU8: Uint8Array
    devsInit(): void
    devsDeploy(binary: Uint8Array): number
    devsGcStress(en: boolean): void
    devsSetDeviceId(id0: string | number, id1?: number): void
    _jd_em_process(): number
    _jd_em_tcpsock_on_event(ev: number, ptr: number, len: number): void
    _malloc(n: number): number
    _free(p: number): void
    dmesg: (s: string) => void
    log: (...a: unknown[]) => void
    error: (...a: unknown[]) => void
    panicHandler: (code: number) => void
    deployHandler: (code: number) => void
    sendPacket: (pkt: Uint8Array) => number | void
    sockOpen: (hostptr: number, port: number) => number
    sockWrite: (ptr: number, len: number) => number
    sockClose: () => number
    sockIsAvailable: () => boolean
    flashLoad: (() => Uint8Array) | null
    flashSave: ((b: Uint8Array) => void) | null
}

// tsconfig has lib es2022 without DOM, so the WebAssembly global is untyped:
// the little we use of it, declared here.
interface WasmModule {
    readonly __wasmModule?: never
}
interface WasmInstance {
    readonly exports: unknown
}
interface WasmGlobal {
    value: number
}
interface WasmApi {
    Module: new (bytes: Uint8Array) => WasmModule
    Instance: new (module: WasmModule, imports: object) => WasmInstance
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly

type Factory = (moduleArg: Record<string, unknown>) => Promise<EmModule>

interface Loaded {
    factory: Factory
    wasm: WasmModule
    cliVersion: string
    /** The step counter was added to the .wasm (see instrumentStepCounter); else why not. */
    stepCounter: true | string
    /** The SPI exports were added (see spi-hook.ts); else why not. */
    spi: true | string
}

const CLI_DIR = join(REPO_ROOT, "node_modules", "@devicescript", "cli")
const CLI_BUNDLE = join(CLI_DIR, "built", "devicescript-cli.cjs")
const START_MARKER = '"runtime/devicescript-vm/built/devicescript-vm.js"(exports, module2) {'
const WASM_MARKER = 'wasmBinaryFile = "data:application/octet-stream;base64,'

/** The VM whose call is in progress: receives crypto.randomBytes requests. */
let current: DeviceVm | null = null
let loaded: Promise<Loaded> | null = null

// ---- opcode counting --------------------------------------------------------
//
// The step budget lives in a C local, not in memory (runtime/devicescript/
// vm_main.c, devs_vm_exec_opcodes):
//
//     unsigned maxsteps = DEVS_MAX_STEPS;            // 128 * 1024
//     while (ctx->curr_fn && --maxsteps && !ctx->suspension)
//         devs_vm_exec_opcode(ctx, ctx->curr_fn);
//     if (maxsteps == 0) devs_panic(ctx, DEVS_PANIC_TIMEOUT);   // "InfiniteLoop"
//
// One call runs one fiber until it suspends (sleep, wait, end of fiber), so
// DEVS_MAX_STEPS - maxsteps is the number of opcodes that fiber ran since it
// was resumed. Nothing exports that local, so we add the export: in the
// shipped .wasm the loop head compiles to
//
//     i32.const 131072  local.set $l3  block  loop
//       local.get $l2  local.set $l2
//       local.get $l3  i32.const -1  i32.add  local.tee $l4  i32.eqz  br_if 1
//
// and right after that br_if (an opcode is about to run, $l4 = budget left)
// we insert
//
//     if ($l4 <u $minLeft) $minLeft = $l4;  $opcodes += 1
//
// on two new exported mutable globals. Nothing else moves: the new globals
// come after the existing ones, and only the function's and the code
// section's sizes are re-encoded. Opcodes a fiber ran before it suspended =
// 131072 - (the smallest $l4 seen); the VM panics when $l4 would reach 0,
// i.e. a fiber may run 131,071 opcodes.
export const DEVS_MAX_STEPS = 128 * 1024
const STEP_LOOP_HEAD = "41808008 2103 0240 0340 2002 2102 2003 417f 6a 2204 45 0d01".replace(/ /g, "")
const MIN_LEFT_EXPORT = "ds_tcpip_min_steps_left"
const OPCODES_EXPORT = "ds_tcpip_opcodes"

/** Returns a copy of the VM's .wasm with the step counter described above; throws when the layout is not the expected one. */
export function instrumentStepCounter(wasm: Uint8Array): Uint8Array {
    const b = Buffer.from(wasm)
    if (b.readUInt32LE(0) !== 0x6d736100 || b.readUInt32LE(4) !== 1) throw new Error("not a wasm module")
    const sections: { id: number; start: number; end: number }[] = []
    for (let p = 8; p < b.length; ) {
        const id = b[p]
        const [size, q] = readLeb(b, p + 1)
        sections.push({ id, start: q, end: q + size })
        p = q + size
    }
    const sec = (id: number) => sections.find((s) => s.id === id)
    // imported globals come first in the global index space
    const imp = sec(2)
    const importedGlobals = imp ? countImports(b, imp.start, IMPORT_GLOBAL) : 0
    const glob = sec(6)
    const exp = sec(7)
    const code = sec(10)
    if (!glob || !exp || !code) throw new Error("no global, export or code section")
    const [definedGlobals, globBody] = readLeb(b, glob.start)
    const gMin = importedGlobals + definedGlobals
    const gOps = gMin + 1

    // the loop head, exactly once, inside the code section
    const pat = Buffer.from(STEP_LOOP_HEAD, "hex")
    const at = b.indexOf(pat)
    if (at < 0 || b.indexOf(pat, at + 1) >= 0) throw new Error("the step loop of devs_vm_exec_opcodes was not found exactly once")
    if (at < code.start || at >= code.end) throw new Error("the step loop is not in the code section")
    const local = pat[20] // local.tee $l4
    const insertAt = at + pat.length
    const insert = [
        0x20, local, 0x23, ...leb(gMin), 0x49, 0x04, 0x40, 0x20, local, 0x24, ...leb(gMin), 0x0b,
        0x23, ...leb(gOps), 0x41, 0x01, 0x6a, 0x24, ...leb(gOps),
    ]
    // the function body holding it
    let [nFuncs, p] = readLeb(b, code.start)
    let bodyStart = -1
    let bodyEnd = -1
    let sizePos = -1
    for (; nFuncs > 0; nFuncs--) {
        const [size, q] = readLeb(b, p)
        if (insertAt > q && insertAt < q + size) {
            sizePos = p
            bodyStart = q
            bodyEnd = q + size
            break
        }
        p = q + size
    }
    if (bodyStart < 0) throw new Error("no function body around the step loop")
    const newCode = Buffer.concat([
        b.subarray(code.start, sizePos),
        Buffer.from(leb(bodyEnd - bodyStart + insert.length)),
        b.subarray(bodyStart, insertAt),
        Buffer.from(insert),
        b.subarray(insertAt, code.end),
    ])
    // i32 mutable globals, initialised to the budget and 0
    const newGlob = Buffer.concat([
        Buffer.from(leb(definedGlobals + 2)),
        b.subarray(globBody, glob.end),
        Buffer.from([0x7f, 0x01, 0x41, ...sleb(DEVS_MAX_STEPS), 0x0b, 0x7f, 0x01, 0x41, 0x00, 0x0b]),
    ])
    const [nExports, expBody] = readLeb(b, exp.start)
    const newExp = Buffer.concat([
        Buffer.from(leb(nExports + 2)),
        b.subarray(expBody, exp.end),
        Buffer.from([...wasmName(MIN_LEFT_EXPORT), 0x03, ...leb(gMin), ...wasmName(OPCODES_EXPORT), 0x03, ...leb(gOps)]),
    ])
    const parts: Buffer[] = [b.subarray(0, 8)]
    for (const s of sections) {
        const content = s.id === 6 ? newGlob : s.id === 7 ? newExp : s.id === 10 ? newCode : b.subarray(s.start, s.end)
        parts.push(Buffer.from([s.id, ...leb(content.length)]), content)
    }
    return Buffer.concat(parts)
}

function sleb(v: number): number[] {
    const out: number[] = []
    for (;;) {
        const x = v & 0x7f
        v >>= 7
        if ((v === 0 && (x & 0x40) === 0) || (v === -1 && (x & 0x40) !== 0)) {
            out.push(x)
            return out
        }
        out.push(x | 0x80)
    }
}

function loadVmModule(): Loaded {
    let cliVersion = "?"
    try {
        cliVersion = JSON.parse(readFileSync(join(CLI_DIR, "package.json"), "utf8")).version
    } catch {
        // reported below if the bundle is missing too
    }
    let src: string
    try {
        src = readFileSync(CLI_BUNDLE, "utf8")
    } catch (e) {
        throw new Error(`DeviceVm: cannot read the DeviceScript CLI bundle ${CLI_BUNDLE} (${(e as Error).message}); run npm install`)
    }
    const fail = (what: string) =>
        new Error(`DeviceVm: ${what} in ${CLI_BUNDLE} (@devicescript/cli ${cliVersion}; the harness expects 2.16.4's bundle layout)`)
    const s = src.indexOf(START_MARKER)
    if (s < 0) throw fail("no embedded runtime/devicescript-vm/built/devicescript-vm.js module")
    // the module ends with `\n  }\n});` before the next bundled module's comment
    const e = src.indexOf("\n});\n", s)
    if (e < 0) throw fail("no end of the embedded VM module")
    let body = src.slice(s + START_MARKER.length, e)
    const close = body.lastIndexOf("}")
    if (close < 0) throw fail("malformed VM module")
    body = body.slice(0, close)
    if (body.indexOf("devsInit") < 0 || body.indexOf("_jd_em_process") < 0 || body.indexOf("panicHandler") < 0)
        throw fail("the VM module lacks devsInit/_jd_em_process/panicHandler")
    const w = body.indexOf(WASM_MARKER)
    if (w < 0) throw fail("no inlined .wasm data URI")
    const wEnd = body.indexOf('"', w + WASM_MARKER.length)
    const wasmBytes = Buffer.from(body.slice(w + WASM_MARKER.length, wEnd), "base64")
    let wasm: WasmModule
    let stepCounter: true | string
    let spi: true | string = true
    let withSpi: Uint8Array = wasmBytes
    try {
        withSpi = exportInternals(wasmBytes)
    } catch (e) {
        spi = (e as Error).message
    }
    try {
        wasm = new Wasm.Module(instrumentStepCounter(withSpi))
        stepCounter = true
    } catch (e) {
        // run the VM as shipped, without opcode counts
        wasm = new Wasm.Module(withSpi)
        stepCounter = (e as Error).message
    }

    // The module's `require`: real modules, except crypto.randomBytes, which
    // draws from the VM currently being called (seeded, reproducible).
    const realRequire = createRequire(CLI_BUNDLE)
    const crypto = realRequire("crypto") as typeof import("node:crypto")
    const cryptoShim = {
        ...crypto,
        randomBytes: (n: number) => (current ? current._randomBytes(n) : crypto.randomBytes(n)),
    }
    const req = (id: string) => (id === "crypto" || id === "node:crypto" ? cryptoShim : realRequire(id))
    const wrapper = runInThisContext(`(function (exports, module2, require, __filename, __dirname) {${body}\n})`, {
        filename: "devicescript-vm.js (from @devicescript/cli bundle)",
    }) as (exports: object, module2: { exports: unknown }, require: unknown, f: string, d: string) => void
    const mod: { exports: unknown } = { exports: {} }
    wrapper(mod.exports as object, mod, req, CLI_BUNDLE, join(CLI_DIR, "built"))
    if (typeof mod.exports !== "function") throw fail("the VM module did not export a factory function")
    return { factory: mod.exports as Factory, wasm, cliVersion, stepCounter, spi }
}

function getLoaded(): Promise<Loaded> {
    if (!loaded) {
        loaded = new Promise<Loaded>((resolve) => resolve(loadVmModule()))
        loaded.catch(() => {
            loaded = null
        })
    }
    return loaded
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout
    const t = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`DeviceVm: ${what} did not finish within ${ms} ms (wall clock)`)), ms)
    })
    return Promise.race([p, t]).finally(() => clearTimeout(timer))
}

// The GC heap (runtime/devicescript/gc_alloc.c, 32-bit WASM): a chunk is
// { next, end, blocks... }; every block starts with a header word
// tag << 24 | size-in-words; the chunk's `end` word holds the FINAL tag.
// devs_gc_create() allocates { devs_gc_t (6 words), chunk } together, so the
// live heap's devs_gc_t.first_chunk (the word 5 words before the chunk) points
// at the chunk; devs_gc_destroy() clears it, which tells a freed heap apart.
const GC_TAG_FINAL_HEADER = ((0xf | 0x40) << 24) | 1 // 0x4f000001
const GC_TAG_FREE = 0x1
const GC_TAG_MASK = 0xf

export class DeviceVm {
    /** Program console output (DeviceScript console.log), one entry per line. */
    readonly output: string[] = []
    /** Every dmesg line of the VM, including output lines (with their "> " prefix). */
    readonly dmesg: string[] = []
    /** Set when the program panics (also for a requested restart, code 0). */
    panic: VmPanic | null = null
    /** Set when a call into the VM threw (a WASM trap or an abort): the VM is dead. */
    fault: Error | null = null
    /** Main-loop steps run so far. */
    steps = 0
    /** Wall-clock ms spent inside _jd_em_process() so far. */
    stepWallMs = 0
    /**
     * Null when opcodes are counted; else why not (the .wasm did not have the
     * expected layout): maxStepsPerTurn and opcodes then stay -1.
     */
    readonly stepCounterError: string | null
    /**
     * The most opcodes any fiber ran between two suspensions so far (the
     * number DEVS_MAX_STEPS bounds: past 131,071 the VM panics with
     * InfiniteLoop). -1 without the counter.
     */
    maxStepsPerTurn = -1
    /** Virtual time (ms) of the step in which maxStepsPerTurn was reached. */
    maxStepsAtMs = -1
    /** Opcodes run so far (all fibers). -1 without the counter. */
    opcodes = -1
    /** Errors of SPI transfers (a strict chip model refusing an access); the transfer is skipped. */
    readonly spiErrors: Error[] = []

    private readonly em: EmModule
    private readonly counters: { minLeft: WasmGlobal; opcodes: WasmGlobal } | null
    private readonly gcFn: ((gc: number) => void) | null
    private sockEvents: (() => void)[] = []
    private readonly echo: boolean
    private clockUs = 0
    private readonly epochMs = 1_000_000
    private rng: number
    private heapChunk = -1
    private programStart = 0

    private constructor(em: EmModule, opts: VmOptions, exports: Record<string, unknown>, stepCounter: true | string) {
        this.em = em
        this.gcFn = (exports?.[GC_EXPORT] as (gc: number) => void) ?? null
        const minLeft = exports?.[MIN_LEFT_EXPORT] as WasmGlobal
        const opcodes = exports?.[OPCODES_EXPORT] as WasmGlobal
        if (stepCounter === true && minLeft && opcodes) {
            this.counters = { minLeft, opcodes }
            this.stepCounterError = null
            this.maxStepsPerTurn = 0
            this.opcodes = 0
        } else {
            this.counters = null
            this.stepCounterError = stepCounter === true ? "the step counter globals are not exported" : stepCounter
        }
        this.echo = !!opts.echo
        this.rng = (opts.seed ?? 1) >>> 0 || 1
    }

    static async create(opts: VmOptions = {}): Promise<DeviceVm> {
        const timeout = opts.startupTimeoutMs ?? 20_000
        const { factory, wasm, stepCounter, spi } = await withTimeout(getLoaded(), timeout, "loading the VM from the CLI bundle")
        let exports: Record<string, unknown> = null
        // Emscripten's own stdout/stderr (abort messages): kept for the start-up
        // error, then routed to the VM's dmesg
        const logs: string[] = []
        let sink = logs
        const em = await withTimeout(
            factory({
                instantiateWasm: (imports: object, receive: (i: WasmInstance) => void) => {
                    const inst = new Wasm.Instance(wasm, imports)
                    exports = inst.exports as Record<string, unknown>
                    receive(inst)
                    return inst.exports
                },
                print: (s: string) => sink.push("stdout: " + s),
                printErr: (s: string) => sink.push("stderr: " + s),
            }),
            timeout,
            "instantiating the VM",
        ).catch((e: Error) => {
            throw new Error(`${e.message}${logs.length ? "\n" + logs.join("\n") : ""}`)
        })
        const vm = new DeviceVm(em, opts, exports, stepCounter)
        sink = vm.dmesg
        vm.wire()
        vm.call(() => {
            em.devsInit()
            em.devsGcStress(!!opts.gcStress)
        })
        if (opts.connect) vm.sockEvents = installSockets(em, opts.connect)
        if (opts.spi) {
            if (spi !== true) throw new Error("DeviceVm: no SPI in this VM: " + spi)
            installSpi(exports, () => em.HEAPU8, (n) => em._malloc(n), opts.spi, (e) => vm.spiErrors.push(e))
        }
        return vm
    }

    private wire() {
        const em = this.em
        em.dmesg = (s: string) => this.onDmesg(s)
        em.log = (...a: unknown[]) => this.dmesg.push("log: " + a.join(" "))
        em.error = (...a: unknown[]) => this.dmesg.push("error: " + a.join(" "))
        em.panicHandler = (code: number) => {
            if (this.panic) return
            const report = this.dmesg.slice(this.programStart).filter((l) => /^[!*] /.test(l))
            let name = PANIC_NAMES[code] ?? `Panic${code}`
            for (const l of report) {
                const m = /^! Exception: (\w+)/.exec(l)
                if (m) name = m[1]
            }
            this.panic = { code, name, atMs: this.nowMs(), report }
        }
        em.deployHandler = (code: number) => this.dmesg.push(`deploy handler ${code}`)
        em.sendPacket = () => 0 // Jacdac frames to nowhere
        em.flashLoad = null
        em.flashSave = null
        // no host sockets: @devicescript/net connect() fails
        em.sockOpen = () => -1
        em.sockWrite = () => -10
        em.sockClose = () => -10
        em.sockIsAvailable = () => false
    }

    private onDmesg(s: string) {
        this.dmesg.push(s)
        if (s.startsWith("> ")) {
            const line = s.slice(2)
            this.output.push(line)
            if (this.echo) process.stdout.write(`[vm] ${line}\n`)
            return
        }
        if (s.startsWith("* start: ")) this.programStart = this.dmesg.length
        if (this.echo) process.stdout.write(`[vm dmesg] ${s}\n`)
    }

    /** Runs fn with Date.now, console.log/debug and random bytes pointing at this VM. */
    private call<T>(fn: () => T): T {
        if (this.fault) throw this.fault
        const prev = current
        const realNow = Date.now
        const realLog = console.log
        const realDebug = console.debug
        const nowMs = this.nowMs() + this.epochMs
        current = this
        Date.now = () => nowMs
        // _devs_panic_handler prints "PANIC <code>" with console.log directly
        console.log = (...a: unknown[]) => this.dmesg.push("console: " + a.join(" "))
        console.debug = (...a: unknown[]) => this.dmesg.push("console: " + a.join(" "))
        try {
            return fn()
        } catch (e) {
            this.fault = e instanceof Error ? e : new Error(String(e))
            throw this.fault
        } finally {
            Date.now = realNow
            console.log = realLog
            console.debug = realDebug
            current = prev
        }
    }

    /** @internal seeded bytes for em_jd_crypto_get_random. */
    _randomBytes(n: number): Buffer {
        const b = Buffer.alloc(n)
        let x = this.rng
        for (let i = 0; i < n; i++) {
            x ^= x << 13
            x ^= x >>> 17
            x ^= x << 5
            x >>>= 0
            b[i] = x & 0xff
        }
        this.rng = x
        return b
    }

    /** Virtual milliseconds since create(). */
    nowMs(): number {
        return Math.floor(this.clockUs / 1000)
    }

    /** Moves the virtual clock forward without running the VM. */
    advance(ms: number) {
        if (ms > 0) this.clockUs += Math.round(ms * 1000)
    }

    /** Loads a program image; it starts running on the next step(). Throws if the VM rejects it. */
    deploy(bytecode: Buffer | Uint8Array) {
        this.panic = null
        const r = this.call(() => this.em.devsDeploy(bytecode instanceof Uint8Array ? bytecode : new Uint8Array(bytecode)))
        if (r) throw new Error(`DeviceVm: deploy rejected the image (error ${r}); see vm.dmesg:\n${this.dmesg.slice(-10).join("\n")}`)
    }

    /** One main-loop step (_jd_em_process); returns the next sleep the VM asks for, in µs. */
    step(): number {
        const c = this.counters
        if (c) c.minLeft.value = DEVS_MAX_STEPS
        const t0 = performance.now()
        const ev = this.sockEvents.shift()
        if (ev) this.call(ev)
        const us = this.call(() => this.em._jd_em_process())
        this.stepWallMs += performance.now() - t0
        this.steps++
        if (c) {
            const worst = DEVS_MAX_STEPS - (c.minLeft.value >>> 0)
            if (worst > this.maxStepsPerTurn) {
                this.maxStepsPerTurn = worst
                this.maxStepsAtMs = this.nowMs()
            }
            this.opcodes = c.opcodes.value >>> 0
        }
        return us
    }

    /**
     * Runs a full garbage collection now (the runtime's devs_gc on the
     * program's heap, between steps) so heapStats() counts live objects only.
     * False when the heap or the exported function is missing.
     */
    collectGarbage(): boolean {
        if (!this.gcFn || !this.heapStats() || this.heapChunk < 0) return false
        // devs_gc_create() allocates { devs_gc_t (6 words), chunk } together
        const gc = this.heapChunk - 24
        this.call(() => this.gcFn(gc))
        return true
    }

    /** Forgets maxStepsPerTurn (to measure one phase of a program). */
    resetMaxSteps() {
        if (!this.counters) return
        this.maxStepsPerTurn = 0
        this.maxStepsAtMs = -1
    }

    /**
     * Steps the VM, advancing virtual time by each returned sleep, until
     * `predicate(this)` holds (checked before the first step and after every
     * step), the program panics, or a limit is reached. Never throws on a
     * limit: look at the returned reason.
     */
    runUntil(predicate: (vm: DeviceVm) => boolean, opts: RunOptions = {}): RunResult {
        const maxVirtualMs = opts.maxVirtualMs ?? 60_000
        const maxSteps = opts.maxSteps ?? 1_000_000
        const wallTimeoutMs = opts.wallTimeoutMs ?? 20_000
        const startUs = this.clockUs
        const wall0 = performance.now()
        let steps = 0
        const done = (reason: StopReason): RunResult => ({
            reason,
            steps,
            virtualMs: (this.clockUs - startUs) / 1000,
            wallMs: performance.now() - wall0,
        })
        for (;;) {
            if (predicate(this)) return done("predicate")
            if (this.panic) return done("panic")
            if (steps >= maxSteps) return done("maxSteps")
            if (this.clockUs - startUs >= maxVirtualMs * 1000) return done("maxVirtualMs")
            if ((steps & 63) === 0 && performance.now() - wall0 > wallTimeoutMs) return done("wallTimeout")
            const us = this.step()
            steps++
            if (us > 0) this.clockUs += us
        }
    }

    /** Runs for `ms` of virtual time (or until a panic). */
    runFor(ms: number, opts: Omit<RunOptions, "maxVirtualMs"> = {}): RunResult {
        return this.runUntil(() => false, { ...opts, maxVirtualMs: ms })
    }

    /** Runs until the program printed a line equal to `line`; throws (with the output) if it did not. */
    runUntilLine(line: string, opts: RunOptions = {}): RunResult {
        const r = this.runUntil((vm) => vm.output.indexOf(line) >= 0, opts)
        if (r.reason !== "predicate") {
            const why = this.panic ? `panic ${this.panic.name} (${this.panic.code})` : r.reason
            throw new Error(
                `DeviceVm: no line "${line}" (${why} after ${r.steps} steps, ${r.virtualMs} virtual ms)\n` +
                    `output:\n${this.output.join("\n")}\n${this.panic ? this.panic.report.join("\n") : ""}`,
            )
        }
        return r
    }

    /** Bytes in use in the GC heap (allocated blocks with their headers), or -1 if the heap was not found. */
    heapBytesInUse(): number {
        const s = this.heapStats()
        return s ? s.usedBytes : -1
    }

    /**
     * Walks the GC heap in WASM memory (same numbers as the runtime's
     * devs_dump_heap). Null when no program heap exists (nothing deployed).
     * Read it between steps: it counts garbage not yet collected too.
     */
    heapStats(): HeapStats | null {
        const w = new Uint32Array(this.em.HEAPU8.buffer)
        if (this.heapChunk >= 0) {
            const s = this.walkHeap(w, this.heapChunk, true)
            if (s) return s
            this.heapChunk = -1
        }
        // find every FINAL header, then the chunk whose `end` word points at it
        const ends = new Set<number>()
        for (let i = 0; i < w.length; i++) if (w[i] === GC_TAG_FINAL_HEADER) ends.add(i * 4)
        if (ends.size === 0) return null
        let fallback = -1
        for (let i = 1; i < w.length; i++) {
            const v = w[i]
            if (v > i * 4 && ends.has(v)) {
                const chunk = (i - 1) * 4
                if (this.walkHeap(w, chunk, true)) {
                    this.heapChunk = chunk
                    return this.walkHeap(w, chunk, true)
                }
                if (fallback < 0 && this.walkHeap(w, chunk, false)) fallback = chunk
            }
        }
        return fallback >= 0 ? this.walkHeap(w, fallback, false) : null
    }

    /**
     * Live blocks by the runtime's GC tag (devs_objects.h: 2 bytes, 3 array,
     * 4 map, 5 buffer, 6 string, ...) and size, for finding where a
     * program's heap goes. Read it between steps, with GC stress on.
     */
    heapHistogram(): { tag: number; bytes: number; count: number }[] {
        if (!this.heapStats()) return []
        const w = new Uint32Array(this.em.HEAPU8.buffer)
        const byKey = new Map<string, { tag: number; bytes: number; count: number }>()
        let c = this.heapChunk
        for (let n = 0; c > 0 && n < 64; n++) {
            const end = w[(c + 4) >> 2]
            for (let p = c + 8; p < end; ) {
                const h = w[p >> 2]
                const bytes = (h & 0xffffff) * 4
                const tag = (h >>> 24) & GC_TAG_MASK
                if (tag !== GC_TAG_FREE) {
                    const k = tag + ":" + bytes
                    const e = byKey.get(k) ?? { tag, bytes, count: 0 }
                    e.count++
                    byKey.set(k, e)
                }
                p += bytes
            }
            c = w[c >> 2]
        }
        return [...byKey.values()].sort((a, b) => b.bytes * b.count - a.bytes * a.count)
    }

    private walkHeap(w: Uint32Array, chunk: number, requireLive: boolean): HeapStats | null {
        if (chunk < 24 || chunk + 8 > w.length * 4) return null
        if (requireLive && w[(chunk - 20) >> 2] !== chunk) return null
        const stats: HeapStats = { usedBytes: 0, freeBytes: 0, totalBytes: 0, largestFreeBytes: 0, objects: 0 }
        let c = chunk
        for (let n = 0; c !== 0 && n < 64; n++) {
            const end = w[(c + 4) >> 2]
            if (end <= c || end >= w.length * 4 || w[end >> 2] !== GC_TAG_FINAL_HEADER) return null
            let p = c + 8
            while (p < end) {
                const h = w[p >> 2]
                const words = h & 0xffffff
                if (words === 0) return null
                const bytes = words * 4
                if ((h >>> 24) & GC_TAG_MASK) {
                    if (((h >>> 24) & GC_TAG_MASK) === GC_TAG_FREE) {
                        stats.freeBytes += bytes
                        if (bytes > stats.largestFreeBytes) stats.largestFreeBytes = bytes
                    } else {
                        stats.usedBytes += bytes
                        stats.objects++
                    }
                } else return null
                p += bytes
            }
            if (p !== end) return null
            c = w[c >> 2]
        }
        stats.totalBytes = stats.usedBytes + stats.freeBytes
        return stats
    }
}
