// npm test: every test/**/*.test.ts (and the examples/ a user copies) under
// Node's built-in runner, through tsx.
import { spawnSync } from "node:child_process"
import { readdirSync, statSync } from "node:fs"
import { join } from "node:path"

function find(dir, out) {
    for (const name of readdirSync(dir).sort()) {
        const p = join(dir, name)
        if (statSync(p).isDirectory()) find(p, out)
        else if (name.endsWith(".test.ts")) out.push(p)
    }
    return out
}
const filter = process.argv.slice(2)
let files = find("test", find("examples", []))
if (filter.length) files = files.filter((f) => filter.some((s) => f.includes(s)))
const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", ...files], {
    stdio: "inherit",
})
process.exit(r.status ?? 1)
