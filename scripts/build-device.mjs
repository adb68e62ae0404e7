// npm run build:device: compile the device entry with devs and report the
// bytecode size. All function bytecode must stay below 64 KiB in the image.
import { execFileSync } from "node:child_process"
import { readFileSync, statSync } from "node:fs"

const entry = process.argv[2] ?? "src/main.ts"
execFileSync("node_modules/.bin/devs", ["build", entry], { stdio: "inherit" })
const image = statSync(".devicescript/bin/bytecode.devs").size
const sizes = readFileSync(".devicescript/bin/bytecode-sizes.md", "utf8")
const fn = /^\s*(\d+)\s*\|\s*Function TOTAL/m.exec(sizes)
const functionBytes = fn ? Number(fn[1]) : NaN
const limit = 64 * 1024
console.log(`device image: ${image} bytes; function bytecode: ${functionBytes} bytes of ${limit} (${((100 * functionBytes) / limit).toFixed(1)}%)`)
if (!(functionBytes < limit)) {
    console.error("function bytecode is over the 64 KiB budget")
    process.exit(1)
}
