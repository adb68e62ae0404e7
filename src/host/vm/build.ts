// Compiles a DeviceScript entry file to bytecode with the pinned `devs` CLI.
//
// `devs build` writes .devicescript/bin/bytecode.devs and bytecode-sizes.md
// into its working directory (its `-o` flag is broken), so every build runs in
// a fresh temporary directory holding only an empty devsconfig.json: builds can
// run concurrently and never touch the repository's own .devicescript folder.

import { execFile } from "node:child_process"
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"

export interface DeviceBuild {
    /** The compiled image, ready for DeviceVm.deploy(). */
    bytecode: Buffer
    /** "Function TOTAL" from bytecode-sizes.md: function descriptors and bytecode. */
    functionBytes: number
    /** Where the function bytecode ends in the image: must be at most 64 KiB (see functionsEnd()). */
    functionsEnd: number
    /** Size of the whole image in bytes. */
    imageBytes: number
    /** Bytes of functions (descriptor + bytecode) per source file, largest first: see moduleSizes(). */
    modules: ModuleSize[]
    /** Names of the functions in the image (from the debug output). */
    functionNames: string[]
}

export interface ModuleSize {
    /** The source file, relative to the repository ("src/tcp/tcp.ts"), or "(prototype set-up)". */
    path: string
    bytes: number
}

/**
 * Where the last function may end in the image: DeviceScript's program
 * counter is 16 bits and functions are 4-byte aligned, so the runtime's
 * verifier (check 1051) refuses a function ending at 65,536 or later.
 */
export const FUNCTIONS_END_LIMIT = 65532

/**
 * The offset in the image where the function bytecode ends: the end of the
 * second section (functions_data) of the image header, which is 32 fixed
 * bytes followed by 8-byte {start, length} sections (devs_img_header_t). The
 * header and the function descriptors come first, so this is a little more
 * than the bytecode itself.
 */
export function functionsEnd(image: Buffer): number {
    if (image.length < 48) return NaN
    return image.readUInt32LE(40) + image.readUInt32LE(44)
}

/** "Function TOTAL" of a bytecode-sizes.md that `devs build` writes (NaN when absent). */
export function functionTotal(sizes: string): number {
    const m = /^\s*(\d+)\s*\|\s*Function TOTAL/m.exec(sizes)
    return m ? Number(m[1]) : NaN
}

/**
 * Bytes of functions per source file, from the debug output `devs build`
 * writes (bytecode-dbg.json). Each function's size there includes its 16-byte
 * descriptor, and a function's location is an offset into the sources laid
 * end to end in their listed order. The one "prototype" function that sets up
 * every class's methods (about 12 bytes a method) is a row of its own.
 */
export function moduleSizes(dbg: any, relativePath: (p: string) => string): ModuleSize[] {
    const starts: number[] = []
    let at = 0
    for (const s of dbg.sources) {
        starts.push(at)
        at += s.length
    }
    const bytes = new Map<string, number>()
    for (const f of dbg.functions) {
        let k = 0
        while (k + 1 < starts.length && starts[k + 1] <= f.location[0]) k++
        const path = f.name === "prototype" ? "(prototype set-up)" : relativePath(String(dbg.sources[k].path))
        bytes.set(path, (bytes.get(path) ?? 0) + f.size)
    }
    return [...bytes].map(([path, n]) => ({ path, bytes: n })).sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : 1))
}

/** The repository root (this file is src/host/vm/build.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..")

const DEVS = join(REPO_ROOT, "node_modules", ".bin", "devs")

/** Wall-clock limit for one `devs build`. */
const BUILD_TIMEOUT_MS = 180_000

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
    return new Promise((done) => {
        execFile(
            cmd,
            args,
            { cwd, timeout: BUILD_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } },
            (err, stdout, stderr) => {
                const output = (stdout ?? "") + (stderr ?? "")
                if (!err) return done({ code: 0, output })
                const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string }
                const why = e.killed ? `killed after ${BUILD_TIMEOUT_MS} ms` : String(e.message)
                done({ code: typeof e.code === "number" ? e.code : 1, output: output + "\n" + why })
            },
        )
    })
}

/** Builds `entry` (a path relative to the current directory, or absolute) with `devs build`. */
export async function buildDevice(entry: string): Promise<DeviceBuild> {
    const abs = resolve(entry)
    await stat(abs) // a clear ENOENT instead of a compiler message
    const cwd = await mkdtemp(join(tmpdir(), "ds-tcpip-devs-"))
    try {
        await writeFile(join(cwd, "devsconfig.json"), "{}\n")
        const r = await run(DEVS, ["build", abs], cwd)
        const bin = join(cwd, ".devicescript", "bin")
        let bytecode: Buffer
        try {
            bytecode = await readFile(join(bin, "bytecode.devs"))
        } catch {
            bytecode = null
        }
        if (r.code !== 0 || !bytecode) {
            throw new Error(`devs build ${entry} failed (exit ${r.code}):\n${r.output.trim()}`)
        }
        let functionBytes = NaN
        try {
            functionBytes = functionTotal(await readFile(join(bin, "bytecode-sizes.md"), "utf8"))
        } catch {
            // leave NaN: the image itself is what matters to callers
        }
        let modules: ModuleSize[] = []
        let functionNames: string[] = []
        try {
            const dbg = JSON.parse(await readFile(join(bin, "bytecode-dbg.json"), "utf8"))
            // sources are named relative to the build's folder; the compiler's own packages as node_modules/...
            modules = moduleSizes(dbg, (p) => (p.startsWith("../") ? relative(REPO_ROOT, resolve(cwd, p)) : p))
            functionNames = dbg.functions.map((f: any) => String(f.name))
        } catch {
            // leave empty: only the size report and the budget tests read them
        }
        return { bytecode, functionBytes, functionsEnd: functionsEnd(bytecode), imageBytes: bytecode.length, modules, functionNames }
    } finally {
        await rm(cwd, { recursive: true, force: true })
    }
}
