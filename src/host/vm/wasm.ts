// The few pieces of the WebAssembly binary format that the VM harness edits
// the CLI's .wasm with (src/host/vm/vm.ts: the step counter;
// src/host/vm/spi-hook.ts: the SPI builtins): LEB128 integers and names.

/** An unsigned LEB128 at b[pos]: [value, position after it] (the .wasm format's integers). */
export function readLeb(b: Uint8Array, pos: number): [number, number] {
    let v = 0
    let shift = 0
    for (;;) {
        const x = b[pos++]
        v += (x & 0x7f) * 2 ** shift
        shift += 7
        if ((x & 0x80) === 0) return [v, pos]
        if (shift > 35) throw new Error("bad LEB128")
    }
}

/** v as unsigned LEB128 bytes. */
export function leb(v: number): number[] {
    const out: number[] = []
    do {
        let x = v % 128
        v = Math.floor(v / 128)
        if (v > 0) x |= 0x80
        out.push(x)
    } while (v > 0)
    return out
}

/** A .wasm name: its length and UTF-8 bytes. */
export function wasmName(s: string): number[] {
    return [...leb(s.length), ...Buffer.from(s, "utf8")]
}

/** Import kinds of the import section (section 2). */
export const IMPORT_FUNC = 0
export const IMPORT_GLOBAL = 3

/**
 * How many imports of `kind` the import section starting at b[start] (its
 * entry count) declares: they come first in that kind's index space.
 */
export function countImports(b: Uint8Array, start: number, kind: number): number {
    let count = 0
    let [n, p] = readLeb(b, start)
    for (; n > 0; n--) {
        let len: number
        ;[len, p] = readLeb(b, p) // module name
        p += len
        ;[len, p] = readLeb(b, p) // field name
        p += len
        const k = b[p++]
        if (k === kind) count++
        if (k === 0) [, p] = readLeb(b, p) // a function: its type index
        else if (k === 1 || k === 2) {
            if (k === 1) p++ // a table: its reftype
            const flags = b[p++] // then limits
            ;[, p] = readLeb(b, p)
            if (flags & 1) [, p] = readLeb(b, p)
        } else if (k === 3) p += 2 // a global: value type and mutability
        else if (k === 4) {
            p++ // a tag: attribute, type index
            ;[, p] = readLeb(b, p)
        } else throw new Error("unknown import kind " + k)
    }
    return count
}
