// npm start -- --device: the firmware's bytecode in the VM with the chip
// model, a gateway stack on Node and a loopback port; Node's fetch on that
// port reaches the firmware. No root needed.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { REPO_ROOT } from "../../src/host/vm/build.js"

test("npm start -- --device serves the firmware's / and /bytes/100000 on a loopback port", { timeout: 180_000 }, async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/host/start.ts", "--device", "--port", "0"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    child.stdout.on("data", (b: Buffer) => (out += b.toString()))
    child.stderr.on("data", (b: Buffer) => (out += b.toString()))
    try {
        const url = await new Promise<string>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error("no URL in 150 s:\n" + out)), 150_000)
            const check = () => {
                const m = /Open (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)
                if (m) {
                    clearTimeout(t)
                    resolve(m[1])
                } else if (child.exitCode !== null) {
                    clearTimeout(t)
                    reject(new Error(`exited ${child.exitCode}:\n${out}`))
                } else setTimeout(check, 50)
            }
            check()
        })
        assert.match(out, /\[device\] eth: ENC28J60 rev 6, link up/)
        const page = await fetch(url + "/")
        assert.equal(page.status, 200)
        assert.match(await page.text(), /ds-tcpip/i)
        const bytes = Buffer.from(await (await fetch(url + "/bytes/100000")).arrayBuffer())
        const expect = Buffer.alloc(100000)
        for (let i = 0; i < expect.length; i++) expect[i] = i & 0xff
        assert.equal(createHash("sha256").update(bytes).digest("hex"), createHash("sha256").update(expect).digest("hex"))
    } finally {
        child.kill("SIGTERM")
        await new Promise((r) => child.once("exit", r))
    }
})
