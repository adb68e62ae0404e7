// npm run build:device: compile the device entry with devs and report the
// bytecode size. All function bytecode must end below 64 KiB in the image.
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"

const entry = process.argv[2] ?? "src/main.ts"
execFileSync("node_modules/.bin/devs", ["build", entry], { stdio: "inherit" })
const imageBuf = readFileSync(".devicescript/bin/bytecode.devs")
const image = imageBuf.length
// the end of the functions_data section (header: 32 bytes, then {start, length} pairs)
const functionsEnd = imageBuf.readUInt32LE(40) + imageBuf.readUInt32LE(44)
const sizes = readFileSync(".devicescript/bin/bytecode-sizes.md", "utf8")
const fn = /^\s*(\d+)\s*\|\s*Function TOTAL/m.exec(sizes)
const functionBytes = fn ? Number(fn[1]) : NaN
const limit = 64 * 1024
console.log(
    `device image: ${image} bytes; functions (descriptors and bytecode): ${functionBytes} bytes, ending at ${functionsEnd} of ${limit} (${((100 * functionsEnd) / limit).toFixed(1)}%, ${limit - functionsEnd} bytes left)`,
)
if (!(functionsEnd <= limit)) {
    console.error("function bytecode ends past 64 KiB in the image")
    process.exit(1)
}
