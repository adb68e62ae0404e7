// Builds the TAP addon (native/tap.c -> build/native/tap.node) with the
// system C compiler against Node's own headers; `npm install` runs it.
// Node-API symbols resolve when Node loads the addon, so nothing is linked
// and nothing is downloaded (node-gyp would fetch headers when it cannot
// find them; the compiler and <node_api.h> are all this needs).
//
// Not fatal: without a compiler (or off Linux) it says so and exits 0, and
// the TAP bridge falls back to its python3 helper (src/host/tap.ts).
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, statSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const src = join(root, "native/tap.c")
const out = join(root, "build/native/tap.node")
const force = process.argv.includes("--force")

function say(s) {
    console.log("build-native: " + s)
}

if (process.platform !== "linux") {
    say("not Linux: no TAP addon (the TAP bridge is Linux-only)")
    process.exit(0)
}
if (!force && existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) {
    say("build/native/tap.node is up to date")
    process.exit(0)
}
// Node's headers: <prefix>/include/node beside <prefix>/bin/node, or nodedir.
const candidates = [join(dirname(process.execPath), "..", "include", "node")]
if (process.env.npm_config_nodedir) candidates.unshift(join(process.env.npm_config_nodedir, "include", "node"))
const include = candidates.find((d) => existsSync(join(d, "node_api.h")))
if (!include) {
    say(`Node's headers not found (looked in ${candidates.join(", ")}): the TAP bridge will use its python3 helper`)
    process.exit(0)
}
const cc = process.env.CC || "cc"
mkdirSync(dirname(out), { recursive: true })
const args = ["-O2", "-Wall", "-Wextra", "-std=gnu11", "-shared", "-fPIC", "-I", include, "-o", out, src]
const r = spawnSync(cc, args, { stdio: "inherit" })
if (r.error || r.status !== 0) {
    say(`${cc} failed (${r.error ? r.error.message : "exit " + r.status}): the TAP bridge will use its python3 helper`)
    process.exit(0)
}
say("built build/native/tap.node")
