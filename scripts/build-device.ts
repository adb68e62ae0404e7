// npm run build:device: compile the device entry with devs (into
// .devicescript/bin, where `devs devtools` deploys from) and report the size.
// All function bytecode must end below 64 KiB in the image.
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { FUNCTIONS_END_LIMIT, functionTotal, functionsEnd } from "../src/host/vm/build.js"

const entry = process.argv[2] ?? "src/main.ts"
execFileSync("node_modules/.bin/devs", ["build", entry], { stdio: "inherit" })
const image = readFileSync(".devicescript/bin/bytecode.devs")
const end = functionsEnd(image)
const functionBytes = functionTotal(readFileSync(".devicescript/bin/bytecode-sizes.md", "utf8"))
const limit = FUNCTIONS_END_LIMIT
console.log(
    `device image: ${image.length} bytes; functions (descriptors and bytecode): ${functionBytes} bytes, ending at ${end} of ${limit} (${((100 * end) / limit).toFixed(1)}%, ${limit - end} bytes left)`,
)
if (!(end <= limit)) {
    console.error("function bytecode ends past 64 KiB in the image")
    process.exit(1)
}
