// npm start's live view in headless Chromium: after two requests through the
// forwarded port, the host's page lists the device's connections with their
// states (the stack's own), and shows the ladder of the one picked, with
// arrows and state labels that do not overlap.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"

const CHROMIUM = "/usr/bin/chromium"

test("npm start's live view: the connection table and a chosen connection's ladder", { timeout: 90000 }, async (t) => {
    if (!existsSync(CHROMIUM)) return t.skip("chromium not installed (apt-get install -y chromium)")
    const { chromium } = await import("playwright-core")
    const child = spawn(process.execPath, ["--import", "tsx", "src/host/start.ts", "--port", "0", "--duration", "60"], { stdio: ["ignore", "pipe", "pipe"] })
    let browser: any = null
    try {
        const [device, live] = await new Promise<string[]>((resolve, reject) => {
            let out = ""
            const timer = setTimeout(() => reject(new Error("no URLs printed: " + out)), 30000)
            child.stdout.on("data", (b: Buffer) => {
                out += b.toString()
                const d = /Open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)
                const l = /diagrams: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)
                if (d && l) {
                    clearTimeout(timer)
                    resolve([d[1], l[1]])
                }
            })
            child.on("exit", (code) => reject(new Error("npm start exited with " + code + ": " + out)))
        })
        for (const path of ["bytes/100", "status"]) assert.equal((await fetch(device + path)).status, 200)
        browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] })
        const page = await browser.newPage({ viewport: { width: 900, height: 1000 } })
        await page.goto(live)
        await page.waitForFunction(() => (globalThis as any).document.querySelectorAll("tr.conn").length >= 2, null, { timeout: 15000 })
        const rows = await page.$$eval("tr.conn", (trs: any[]) => trs.map((tr) => [...tr.children].map((td: any) => td.textContent)))
        for (const r of rows) {
            assert.match(r[2], /^198\.18\.0\.2\.80$/)
            assert.ok(["ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"].includes(r[3]), r[3])
        }
        // pick the older connection: its ladder replaces the other's
        await page.click(`tr.conn[data-id="${rows[rows.length - 1][0]}"]`)
        await page.waitForFunction((id: string) => ((globalThis as any).document.querySelector("#ladder .title") || {}).textContent?.startsWith("connection " + id + ":"), rows[rows.length - 1][0], { timeout: 10000 })
        const arrows = await page.$$eval("#ladder g.arrow", (g: any[]) => g.length)
        assert.ok(arrows >= 8, arrows + " arrows")
        const labels = await page.$$eval("#ladder text.state-label, #ladder text.seg-label", (els: any[]) => els.map((e) => ({ t: e.textContent, r: e.getBoundingClientRect().toJSON() })))
        for (const s of ["SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"]) assert.ok(labels.some((l: any) => l.t === s), s)
        for (let i = 0; i < labels.length; i++)
            for (let j = i + 1; j < labels.length; j++) {
                const a = labels[i].r
                const b = labels[j].r
                const ix = Math.min(a.right, b.right) - Math.max(a.left, b.left)
                const iy = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top)
                assert.ok(!(ix > 1 && iy > 1), `"${labels[i].t}" overlaps "${labels[j].t}"`)
            }
    } finally {
        if (browser) await browser.close()
        child.kill("SIGTERM")
    }
})
