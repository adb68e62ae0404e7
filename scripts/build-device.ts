// npm run build:device: compile every firmware entry (src/main*.ts, as `devs
// build-all` lays them out) with the pinned devs, print one line per entry
//   src/main.ts: image I bytes, functions end at N of 65532 (F free)
// and a table of function bytes per module from the builds' debug output.
// Exits 1 when an entry does not build or its functions end past the limit
// (the VM's verifier would refuse it). `devs build src/main.ts` also lays the
// demo's bytecode in .devicescript/bin, where `devs devtools` deploys from.
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { buildDevice, DeviceBuild, FUNCTIONS_END_LIMIT, REPO_ROOT } from "../src/host/vm/build.js"

const entries = process.argv.length > 2 ? process.argv.slice(2) : firmwareEntries()

/** The firmware entries: src/main.ts first, then the other src/main*.ts by name. */
export function firmwareEntries(): string[] {
    return readdirSync(join(REPO_ROOT, "src"))
        .filter((f) => /^main.*\.ts$/.test(f))
        .sort((a, b) => (a === "main.ts" ? -1 : b === "main.ts" ? 1 : a < b ? -1 : 1))
        .map((f) => "src/" + f)
}

let failed = false
const builds: DeviceBuild[] = []
for (const entry of entries) {
    try {
        const b = await buildDevice(join(REPO_ROOT, entry))
        builds.push(b)
        const free = FUNCTIONS_END_LIMIT - b.functionsEnd
        console.log(`${entry}: image ${b.imageBytes} bytes, functions end at ${b.functionsEnd} of ${FUNCTIONS_END_LIMIT} (${free} free)`)
        if (free < 0) failed = true
    } catch (e) {
        console.log(`${entry}: ${(e as Error).message}`)
        failed = true
        builds.push(null)
    }
}

// bytes per module, one column per entry
const rows = new Map<string, number[]>()
builds.forEach((b, i) => {
    for (const m of b?.modules ?? []) {
        if (!rows.has(m.path)) rows.set(m.path, entries.map(() => 0))
        rows.get(m.path)[i] = m.bytes
    }
})
const names = entries.map((e) => e.replace(/^src\//, ""))
const width = Math.max(...[...rows.keys()].map((k) => k.length), 6)
const col = (s: string | number, i: number) => String(s).padStart(Math.max(names[i].length, 6))
console.log("")
console.log("function bytes per module (descriptors included)")
console.log("module".padEnd(width) + "  " + names.map(col).join("  "))
for (const [path, bytes] of [...rows].sort((a, b) => b[1][0] - a[1][0] || (a[0] < b[0] ? -1 : 1))) {
    console.log(path.padEnd(width) + "  " + bytes.map((n, i) => col(n || "-", i)).join("  "))
}
console.log("total".padEnd(width) + "  " + builds.map((b, i) => col(b ? b.functionBytes : "-", i)).join("  "))
if (failed) {
    console.error(`build:device: an entry did not build, or its functions end past ${FUNCTIONS_END_LIMIT}`)
    process.exit(1)
}
