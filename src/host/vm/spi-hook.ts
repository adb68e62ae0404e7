// SPI for the WASM DeviceScript VM: the firmware's ds.spiConfigure() and
// ds.spiXfer() reach a host-side device (a chip model) unchanged.
//
// Why this is needed: the VM in the pinned CLI is built without JD_SPI, so
// both builtins throw "SPI not supported" (runtime/devicescript/
// impl_dsspi.c), and the module has no SPI or GPIO imports a harness could
// provide. What it does have is a name section and an exported function
// table (`__indirect_function_table`) through which the interpreter calls
// every builtin (protogen.c: {N(SPIXFER), 2, NO_SELF, {.meth =
// fun2_DeviceScript_spiXfer}}). So:
//
//  1. exportInternals() adds exports (nothing else changes) for the two
//     builtins and for the runtime functions a replacement needs:
//     devs_bufferish_data (the bytes of a Buffer argument), devs_arg_int
//     and devs_fiber_sleep (suspends the calling fiber, as ds.sleep does);
//     and devs_gc, for a full collection before a heap reading.
//  2. installSpi() replaces the two table entries with small WASM functions
//     that call JavaScript. spiXfer's replacement reads its two Buffer
//     arguments from the interpreter's stack, runs the transfer against the
//     device, writes the received bytes into the rx Buffer, and suspends
//     the fiber with devs_fiber_sleep(fiber, 0) — on an ESP32 the fiber is
//     suspended until the SPI DMA is done, and here it resumes at the next
//     scheduler pass with the data in place.
//
// The bytecode is the one `devs build` makes for a board: nothing in the
// program knows it runs in the VM. Two layout facts of the 2.16.4 runtime
// are used (ctx->the_stack at ctx + 88, ctx->curr_fiber at ctx + 236); they
// are checked against the code of fun1_DeviceScript_sleep, which reads both,
// and installSpi() refuses to run if that code has another shape.

import { IMPORT_FUNC, countImports, leb, readLeb } from "./wasm.js"

/** A device on the VM's SPI bus. */
export interface VmSpiDevice {
    /** One transaction; rx is null when the program passed no receive buffer. */
    transfer(tx: Buffer, rx: Buffer | null): void
    /** ds.spiConfigure(miso, mosi, sck, mode, hz). */
    configure?(miso: number, mosi: number, sck: number, mode: number, hz: number): void
}

const NEEDED = ["fun2_DeviceScript_spiXfer", "fun5_DeviceScript_spiConfigure", "devs_bufferish_data", "devs_arg_int", "devs_fiber_sleep", "devs_gc"]
const PREFIX = "ds_tcpip_"
/** devs_gc(devs_gc_t *), exported for DeviceVm.collectGarbage(). */
export const GC_EXPORT = PREFIX + "devs_gc"

interface Section {
    id: number
    start: number
    end: number
}

function sections(b: Buffer): Section[] {
    const out: Section[] = []
    for (let p = 8; p < b.length; ) {
        const id = b[p]
        const [size, q] = readLeb(b, p + 1)
        out.push({ id, start: q, end: q + size })
        p = q + size
    }
    return out
}

/** Function index by name, from the "name" custom section's function names. */
function functionNames(b: Buffer, secs: Section[]): Map<string, number> {
    const names = new Map<string, number>()
    for (const s of secs) {
        if (s.id !== 0) continue
        let [n, p] = readLeb(b, s.start)
        if (b.toString("latin1", p, p + n) !== "name") continue
        p += n
        while (p < s.end) {
            const sub = b[p]
            const [size, q] = readLeb(b, p + 1)
            if (sub === 1) {
                let [count, r] = readLeb(b, q)
                for (; count > 0; count--) {
                    let idx: number
                    let len: number
                    ;[idx, r] = readLeb(b, r)
                    ;[len, r] = readLeb(b, r)
                    names.set(b.toString("utf8", r, r + len), idx)
                    r += len
                }
            }
            p = q + size
        }
    }
    return names
}

/**
 * A copy of the VM's .wasm with the functions installSpi() needs exported as
 * ds_tcpip_<name>; also checks the two struct offsets. Throws when something
 * is not where 2.16.4 has it.
 */
export function exportInternals(wasm: Uint8Array): Uint8Array {
    const b = Buffer.from(wasm)
    const secs = sections(b)
    const names = functionNames(b, secs)
    const missing = NEEDED.filter((n) => !names.has(n))
    if (missing.length) throw new Error("no function named " + missing.join(", ") + " in the VM's name section")
    checkSleepLayout(b, secs, names.get("fun1_DeviceScript_sleep"))
    const exp = secs.find((s) => s.id === 7)
    const [n, body] = readLeb(b, exp.start)
    const extra: number[] = []
    for (const name of NEEDED) {
        const full = Buffer.from(PREFIX + name)
        extra.push(...leb(full.length), ...full, 0x00, ...leb(names.get(name)))
    }
    const newExp = Buffer.concat([Buffer.from(leb(n + NEEDED.length)), b.subarray(body, exp.end), Buffer.from(extra)])
    const parts: Buffer[] = [b.subarray(0, 8)]
    for (const s of secs) {
        const content = s.id === 7 ? newExp : b.subarray(s.start, s.end)
        parts.push(Buffer.from([s.id, ...leb(content.length)]), content)
    }
    return Buffer.concat(parts)
}

// fun1_DeviceScript_sleep begins by loading devs_arg(ctx, 0) =
// ctx->the_stack[1]: local.get 0, i32.const 96, i32.add, i64.load; and ends
// with devs_fiber_sleep(ctx->curr_fiber, time): local.get 0, i32.load offset=236
const ARG0_LOAD = Buffer.from("2000 41e000 6a 290300".replace(/ /g, ""), "hex")
const CURR_FIBER_LOAD = Buffer.from("2000 2802ec01".replace(/ /g, ""), "hex")
const ARG0_OFFSET = 96
const CURR_FIBER_OFFSET = 236

function checkSleepLayout(b: Buffer, secs: Section[], index: number | undefined) {
    if (index === undefined) throw new Error("no fun1_DeviceScript_sleep in the VM's name section")
    const imp = secs.find((s) => s.id === 2)
    const imported = imp ? countImports(b, imp.start, IMPORT_FUNC) : 0
    const code = secs.find((s) => s.id === 10)
    let [n, p] = readLeb(b, code.start)
    for (let i = 0; i < n; i++) {
        const [size, q] = readLeb(b, p)
        if (i + imported === index) {
            const fn = b.subarray(q, q + size)
            if (fn.indexOf(ARG0_LOAD) < 0 || fn.indexOf(CURR_FIBER_LOAD) < 0) {
                throw new Error("fun1_DeviceScript_sleep does not read ctx->the_stack[1] at +96 and ctx->curr_fiber at +236: another runtime layout")
            }
            return
        }
        p = q + size
    }
    throw new Error("fun1_DeviceScript_sleep has no body")
}

// A module that imports a JS function (i32) -> () and exports a WASM
// function calling it: only WASM functions can go into a function table.
const TRAMPOLINE = Buffer.from(
    "0061736d01000000" + "01050160017f00" + "020701016d01660000" + "03020100" + "070501016600" + "01" + "0a0801060020001000" + "0b",
    "hex",
)

interface WasmApi {
    Module: new (bytes: Uint8Array) => object
    Instance: new (module: object, imports: object) => { exports: Record<string, unknown> }
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly
let trampolineModule: object = null

function trampoline(fn: (ctx: number) => void): unknown {
    if (!trampolineModule) trampolineModule = new Wasm.Module(TRAMPOLINE)
    return new Wasm.Instance(trampolineModule, { m: { f: fn } }).exports["f"]
}

interface Table {
    length: number
    get(i: number): unknown
    set(i: number, v: unknown): void
}

/** Points the VM's spiXfer and spiConfigure builtins at `device`. */
export function installSpi(
    exports: Record<string, unknown>,
    heap: () => Uint8Array,
    malloc: (n: number) => number,
    device: VmSpiDevice,
    onError: (e: Error) => void,
): void {
    const fn = (name: string) => exports[PREFIX + name] as (...a: number[]) => number
    const table = exports["__indirect_function_table"] as Table
    if (!table || !fn("devs_fiber_sleep")) throw new Error("the VM was loaded without the SPI exports")
    const bufferish = fn("devs_bufferish_data")
    const argInt = fn("devs_arg_int")
    const sleep = fn("devs_fiber_sleep")
    const scratch = malloc(16)
    const u32 = (p: number) => new DataView(heap().buffer).getUint32(p, true)
    /** The bytes of Buffer argument `idx` of the builtin call in ctx: [pointer, length], pointer 0 for null/undefined. */
    const bufArg = (ctx: number, idx: number): [number, number] => {
        const h = heap()
        h.copyWithin(scratch, ctx + ARG0_OFFSET + 8 * idx, ctx + ARG0_OFFSET + 8 * idx + 8)
        const ptr = bufferish(ctx, scratch, scratch + 8)
        return [ptr, ptr ? u32(scratch + 8) : 0]
    }
    const xfer = (ctx: number) => {
        try {
            const [txp, txn] = bufArg(ctx, 0)
            const [rxp, rxn] = bufArg(ctx, 1)
            if (!txp) throw new Error("spiXfer without a tx buffer (the harness needs the command bytes)")
            if (rxp && rxn !== txn) throw new Error(`spiXfer with tx ${txn} and rx ${rxn} bytes`)
            const tx = Buffer.from(heap().subarray(txp, txp + txn))
            const rx = rxp ? Buffer.alloc(rxn) : null
            device.transfer(tx, rx)
            if (rx) heap().set(rx, rxp)
        } catch (e) {
            onError(e instanceof Error ? e : new Error(String(e)))
        }
        // like the device: the fiber waits for the transfer and resumes with the data
        sleep(u32(ctx + CURR_FIBER_OFFSET), 0)
    }
    const configure = (ctx: number) => {
        if (device.configure) device.configure(argInt(ctx, 0), argInt(ctx, 1), argInt(ctx, 2), argInt(ctx, 3), argInt(ctx, 4))
    }
    let replaced = 0
    for (let i = 0; i < table.length; i++) {
        const f = table.get(i)
        if (f && f === exports[PREFIX + "fun2_DeviceScript_spiXfer"]) {
            table.set(i, trampoline(xfer))
            replaced++
        } else if (f && f === exports[PREFIX + "fun5_DeviceScript_spiConfigure"]) {
            table.set(i, trampoline(configure))
            replaced++
        }
    }
    if (replaced !== 2) throw new Error(`found ${replaced} of the 2 SPI builtins in the function table`)
}
