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
