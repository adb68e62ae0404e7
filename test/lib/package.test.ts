// ds-tcpip as a person installs it: `npm pack` the library, install the
// tarball into a fresh DeviceScript project made in a temporary folder, build
// a firmware there that imports from "ds-tcpip" with the pinned devs, and run
// it in the VM. Also: the package ships what a user needs and nothing else,
// and importing through the index costs no more than the features used.
import "../setup.js"
import { test, after } from "node:test"
import assert from "node:assert/strict"
import { execFileSync, spawnSync } from "node:child_process"
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { FUNCTIONS_END_LIMIT, REPO_ROOT, functionsEnd, moduleSizes } from "../../src/host/vm/build.js"
import { DeviceVm } from "../../src/host/vm/vm.js"

const work = mkdtempSync(join(tmpdir(), "ds-tcpip-pkg-"))
after(() => rmSync(work, { recursive: true, force: true }))

interface PackResult {
    filename: string
    files: { path: string }[]
}

// --ignore-scripts: `prepare` builds the TAP addon and the demo, which packing does not need
const packed: PackResult = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], { cwd: REPO_ROOT, encoding: "utf8" }),
)[0]
const shipped = packed.files.map((f) => f.path)

test("npm pack ships the sources, the CLI and the docs, and no tests, benchmarks or build output", () => {
    for (const f of ["package.json", "README.md", "src/index.ts", "src/index-core.ts", "src/stack.ts", "src/host/index.ts", "scripts/ds-tcpip.mjs", "native/tap.c"]) {
        assert.ok(shipped.includes(f), `${f} is not in the package`)
    }
    for (const f of shipped) {
        assert.ok(!/^(test|bench|\.ci|build|node_modules|\.devicescript|\.scratch)\//.test(f), `${f} should not be in the package`)
    }
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8"))
    assert.equal(pkg.devicescript?.library, true)
    assert.equal(pkg.main, "./src/index.ts")
    assert.equal(pkg.private, undefined, "a library people install is not private")
})

test("a fresh DeviceScript project installs the tarball, builds a firmware importing from ds-tcpip, and it serves in the VM", async () => {
    const project = join(work, "my-firmware")
    mkdirSync(join(project, "src"), { recursive: true })
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "my-firmware", version: "1.0.0", private: true }, null, 2))
    writeFileSync(join(project, "devsconfig.json"), "{}\n")
    copyFileSync(join(REPO_ROOT, "test/device/consumer-main.ts"), join(project, "src/main.ts"))
    const install = spawnSync(
        "npm",
        ["install", "--no-audit", "--no-fund", "--prefer-offline", "--no-save", join(work, packed.filename)],
        { cwd: project, encoding: "utf8", timeout: 180_000 },
    )
    assert.equal(install.status, 0, install.stdout + install.stderr)
    // nothing to approve for npm 11 of our making: ds-tcpip has no install scripts and depends on nothing
    // (`prepare` sets up the repository itself; npm lists it for a local tarball, never runs it, and a
    // registry install does not have it to run)
    const notices = install.stderr.split("\n").filter((l) => /install-scripts\s+\S+@/.test(l))
    assert.deepEqual(notices.filter((l) => !/ds-tcpip@[^ ]+ \(prepare:/.test(l)), [], install.stderr)
    assert.deepEqual(readdirSync(join(project, "node_modules")).filter((f) => !f.startsWith(".")), ["ds-tcpip"], "the library brings no dependencies")
    // the project's own toolchain: the pinned DeviceScript packages, as `devs init` installs them
    symlinkSync(join(REPO_ROOT, "node_modules/@devicescript"), join(project, "node_modules/@devicescript"))
    const devs = join(REPO_ROOT, "node_modules/.bin/devs")
    const build = spawnSync(devs, ["build", "src/main.ts"], { cwd: project, encoding: "utf8", timeout: 180_000, env: { ...process.env, NO_COLOR: "1" } })
    assert.equal(build.status, 0, build.stdout + build.stderr)
    const bin = join(project, ".devicescript/bin")
    const image = readFileSync(join(bin, "bytecode.devs"))
    const end = functionsEnd(image)
    assert.ok(end <= FUNCTIONS_END_LIMIT, `functions end at ${end}`)
    // only what it uses: the index re-exports WebSocket and the HTTP client, but they are not in the image
    const modules = moduleSizes(JSON.parse(readFileSync(join(bin, "bytecode-dbg.json"), "utf8")), (p) => p).map((m) => m.path)
    assert.ok(modules.some((p) => p.endsWith("ds-tcpip/src/stack.ts")), modules.join("\n"))
    for (const absent of ["websocket.ts", "sha1.ts", "client.ts", "sse.ts"]) {
        assert.ok(!modules.some((p) => p.endsWith("/http/" + absent)), `${absent} is in an image that does not use it`)
    }
    const vm = await DeviceVm.create()
    vm.deploy(image)
    vm.runUntilLine("done", { maxVirtualMs: 30_000, wallTimeoutMs: 60_000 })
    assert.equal(vm.panic, null, JSON.stringify(vm.panic))
    assert.deepEqual(vm.output, ["HTTP/1.0 200 OK", "body hello from my firmware", "done"])
    console.log(`packed-library firmware: functions end at ${end}; ${packed.files.length} files in the package`)
})
