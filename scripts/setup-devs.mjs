// postinstall: check the pinned DeviceScript CLI and let it lay down its own
// packages (@devicescript/core and friends in node_modules), as `devs init` projects do.
import { execFileSync } from "node:child_process"
import { existsSync } from "node:fs"

const devs = "node_modules/.bin/devs"
if (!existsSync(devs)) {
    console.error("setup: @devicescript/cli is not installed (npm install should have installed it)")
    process.exit(1)
}
const version = execFileSync(devs, ["--version"], { encoding: "utf8" }).trim()
console.log("setup: " + version)
if (existsSync("src/main.ts")) {
    execFileSync(devs, ["build", "--quiet", "src/main.ts"], { stdio: "inherit" })
}
