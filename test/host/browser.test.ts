// A person's view: `npm start`, then a browser opens the printed URL and
// sees the demo's dashboard update live (Server-Sent Events through the
// simulated network), the connection table, the counters and the WebSocket
// echo box. Headless Chromium driven by playwright-core; SCREENSHOT=FILE
// keeps a picture (docs/dashboard.png is one).
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"

const CHROMIUM = "/usr/bin/chromium"

test("npm start serves the demo page; a browser sees live updates and the status counters", { timeout: 90000 }, async (t) => {
    if (!existsSync(CHROMIUM)) return t.skip("chromium not installed (apt-get install -y chromium)")
    const { chromium } = await import("playwright-core")
    // what `npm start` runs, on any free port, stopping by itself
    const child = spawn(process.execPath, ["--import", "tsx", "src/host/start.ts", "--port", "0", "--duration", "60"], { stdio: ["ignore", "pipe", "pipe"] })
    let browser: any = null
    try {
        const url = await new Promise<string>((resolve, reject) => {
            let out = ""
            const timer = setTimeout(() => reject(new Error("no URL printed: " + out)), 30000)
            child.stdout.on("data", (b: Buffer) => {
                out += b.toString()
                const m = /Open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)
                if (m) {
                    clearTimeout(timer)
                    resolve(m[1])
                }
            })
            child.on("exit", (code) => reject(new Error("npm start exited with " + code + ": " + out)))
        })
        browser = await chromium.launch({
            executablePath: CHROMIUM,
            args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        })
        const page = await browser.newPage()
        await page.goto(url)
        assert.match(await page.title(), /ds-tcpip/)
        // the counter arrives over SSE and keeps changing
        await page.waitForFunction(() => /^\d+$/.test((globalThis as any).document.getElementById("reading").textContent), null, { timeout: 15000 })
        const first = Number(await page.textContent("#reading"))
        await page.waitForFunction((n: number) => Number((globalThis as any).document.getElementById("reading").textContent) > n, first, { timeout: 15000 })
        const later = Number(await page.textContent("#reading"))
        assert.ok(later > first, `live update: ${first} -> ${later}`)
        // the status block shows the stack's counters
        await page.waitForFunction(() => (globalThis as any).document.getElementById("status").textContent.includes("198.18.0.2"), null, { timeout: 15000 })
        const status = JSON.parse(await page.textContent("#status"))
        assert.equal(status.ip, "198.18.0.2")
        assert.ok(status.http.requests >= 2)
        // the dashboard: the connection table (the page's own connections, ESTABLISHED), uptime, counters
        await page.waitForFunction(() => (globalThis as any).document.querySelectorAll("#conns tr").length >= 1, null, { timeout: 15000 })
        assert.match(await page.textContent("#conns"), /ESTABLISHED198\.18\.0\.2:80198\.18\.0\.1:\d+/)
        assert.match(await page.textContent("#uptime"), /^\d+h \d+m \d+s$/)
        assert.ok(Number(await page.textContent("#rx")) > 0)
        // the WebSocket echo box: what is sent comes back
        await page.fill("#msg", "hello from the test")
        await page.click("#send")
        await page.waitForFunction(() => (globalThis as any).document.getElementById("log").textContent.includes("< hello from the test"), null, { timeout: 15000 })
        if (process.env["SCREENSHOT"]) await page.screenshot({ path: process.env["SCREENSHOT"] })
    } finally {
        if (browser) await browser.close()
        child.kill("SIGTERM")
    }
})
