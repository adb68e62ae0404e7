// Every board in boards/ builds with the pinned devs: the board file passes
// devs's own checks (devs build fails on an invalid one), its pins carry the
// ETH_* labels src/device/board-driver.ts looks up (a program naming them
// type-checks against the board's generated typings) and a "hostname" the
// firmware accepts, and the firmware for its chip builds in a project holding
// that board.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { execFile } from "node:child_process"
import { mkdtemp, readFile, readdir, rm, writeFile, mkdir, copyFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { REPO_ROOT } from "../../src/host/vm/build.js"
import { validHostname } from "../../src/services/mdns.js"

const DEVS = join(REPO_ROOT, "node_modules", ".bin", "devs")
const LABELS = ["ETH_SCK", "ETH_MISO", "ETH_MOSI", "ETH_CS", "ETH_INT", "ETH_RST"]

function devs(args: string[], cwd: string): Promise<{ code: number; output: string }> {
    return new Promise((done) => {
        execFile(DEVS, args, { cwd, timeout: 180_000, env: { ...process.env, NO_COLOR: "1" } }, (err, stdout, stderr) => {
            done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr })
        })
    })
}

const files = (await readdir(join(REPO_ROOT, "boards"))).filter((f) => f.endsWith(".board.json")).sort()

test("boards/ has an ENC28J60 board and a W5500 board", () => {
    assert.ok(files.some((f) => f.includes("enc28j60")), files.join(", "))
    assert.ok(files.some((f) => f.includes("w5500")), files.join(", "))
})

for (const file of files) {
    const id = file.replace(/\.board\.json$/, "")
    test(`devs build succeeds with board ${id}, its ETH_* pins and its firmware`, async () => {
        const board = JSON.parse(await readFile(join(REPO_ROOT, "boards", file), "utf8"))
        for (const l of LABELS) assert.equal(typeof board.pins[l], "number", `${id}: pins.${l}`)
        // the firmware's name on the LAN (boardHostname reads it), one it accepts, and the chip openEthernet opens
        assert.ok(typeof board.hostname === "string" && validHostname(board.hostname), `${id}: hostname ${board.hostname}`)
        assert.equal(board.ethChip, id.includes("w5500") ? "w5500" : "enc28j60", `${id}: ethChip`)
        const gpios = Object.values(board.pins) as number[]
        assert.equal(new Set(gpios).size, gpios.length, `${id}: a GPIO under two labels`)
        const dir = await mkdtemp(join(tmpdir(), "ds-tcpip-board-"))
        try {
            await writeFile(join(dir, "devsconfig.json"), "{}\n")
            await mkdir(join(dir, "boards"))
            await mkdir(join(dir, "src"))
            await copyFile(join(REPO_ROOT, "boards", file), join(dir, "boards", file))
            await writeFile(join(dir, "src", "main.ts"), `import { pins } from "@dsboard/${id}"\nconst eth = [${LABELS.map((l) => "pins." + l).join(", ")}]\nconsole.log(eth.length)\n`)
            const labels = await devs(["build", "src/main.ts"], dir)
            assert.equal(labels.code, 0, labels.output)
            const fw = await devs(["build", resolve(REPO_ROOT, "src/main.ts")], dir)
            assert.equal(fw.code, 0, fw.output)
            assert.doesNotMatch(fw.output, /invalid/i)
        } finally {
            await rm(dir, { recursive: true, force: true })
        }
    })
}
