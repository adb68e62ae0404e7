// Ladder diagrams in a real browser (headless Chromium, as test/host/browser
// .test.ts launches it): the seed handshake and a 100 KB transfer from the
// guide. The arrows and state labels are there, no two labels overlap (DOM
// bounding boxes), nothing is fetched from the network, and a band opens and
// closes on click. LADDER_SCREENSHOT=FILE keeps a screenshot of the handshake.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { existsSync, readFileSync } from "node:fs"
import { tcpFrame, pcapOf } from "./frames.js"
import { TCP_ACK, TCP_SYN } from "../../src/wire/tcp.js"
import { analyze } from "../../src/host/trace-file.js"
import { ladderHtml, ladderModel } from "../../src/host/ladder.js"

const CHROMIUM = "/usr/bin/chromium"
const skip = !existsSync(CHROMIUM) && "chromium not installed (apt-get install -y chromium)"

interface Box {
    cls: string
    text: string
    x: number
    y: number
    w: number
    h: number
}

function overlaps(boxes: Box[]): string[] {
    const out: string[] = []
    for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
            const a = boxes[i]
            const b = boxes[j]
            const ix = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x)
            const iy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y)
            if (ix > 1 && iy > 1) out.push(`"${a.text}" and "${b.text}"`)
        }
    }
    return out
}

async function withPage(fn: (page: any) => Promise<void>): Promise<void> {
    const { chromium } = await import("playwright-core")
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] })
    try {
        const page = await browser.newPage({ viewport: { width: 820, height: 900 } })
        const requests: string[] = []
        page.on("request", (r: any) => requests.push(r.url()))
        await fn(page)
        assert.deepEqual(
            requests.filter((u) => !u.startsWith("data:") && !u.startsWith("about:")),
            [],
            "self-contained: nothing fetched",
        )
    } finally {
        await browser.close()
    }
}

const labels = (page: any): Promise<Box[]> =>
    page.$$eval("text.state-label, text.seg-label, text.band-label", (els: any[]) =>
        els.map((e) => {
            const r = e.getBoundingClientRect()
            return { cls: e.getAttribute("class"), text: e.textContent, x: r.x, y: r.y, w: r.width, h: r.height }
        }),
    )

test("a handshake diagram in Chromium: three arrows, the states of both sides, no label overlaps", { skip, timeout: 60000 }, async () => {
    const A = { src: "192.168.1.116", sport: 3337, dst: "192.168.1.123", dport: 7788 }
    const B = { src: "192.168.1.123", sport: 7788, dst: "192.168.1.116", dport: 3337 }
    const pcap = pcapOf([
        tcpFrame({ ...A, flags: TCP_SYN, seq: 3626544836, mss: 1460 }),
        tcpFrame({ ...B, flags: TCP_SYN | TCP_ACK, seq: 1739326486, ack: 3626544837, mss: 1460 }),
        tcpFrame({ ...A, flags: TCP_ACK, seq: 3626544837, ack: 1739326487 }),
    ], 20)
    const r = analyze(pcap)
    const html = ladderHtml([ladderModel(r, r.tracker.connections[0])], "the three-way handshake")
    await withPage(async (page) => {
        await page.setContent(html)
        const arrows = await page.$$eval("g.arrow line.shaft", (ls: any[]) => ls.map((l) => [l.x1.baseVal.value, l.y1.baseVal.value, l.x2.baseVal.value, l.y2.baseVal.value]))
        const lifelines = await page.$$eval("line.life", (ls: any[]) => ls.map((l) => l.x1.baseVal.value))
        // the legend draws sample arrows too: the diagram's are those between the two lines
        const drawn = arrows.filter((a: number[]) => Math.min(a[0], a[2]) === lifelines[0] && Math.max(a[0], a[2]) === lifelines[1])
        assert.equal(drawn.length, 3)
        // time runs down: each arrow starts below the previous one and slopes down
        for (let i = 0; i < 3; i++) {
            assert.ok(drawn[i][3] > drawn[i][1], "sloped down")
            if (i) assert.ok(drawn[i][1] > drawn[i - 1][1], "later is lower")
        }
        const boxes = await labels(page)
        const segs = boxes.filter((b) => b.cls === "seg-label").map((b) => b.text)
        assert.deepEqual(segs, ["SYN seq=3626544836 win=65535", "SYN,ACK seq=1739326486 ack=3626544837 win=65535", "ACK seq=3626544837 ack=1739326487"])
        const states = boxes.filter((b) => b.cls.startsWith("state-label")).map((b) => b.text)
        assert.deepEqual(states, ["CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "ESTABLISHED"])
        assert.deepEqual(overlaps(boxes), [])
        // each state label sits beside its own line: the client's left of it, the server's right
        const stateBoxes = boxes.filter((b) => b.cls.startsWith("state-label"))
        const lines = await page.$$eval("line.life", (ls: any[]) => ls.map((l) => l.getBoundingClientRect().x + l.getBoundingClientRect().width / 2))
        for (const b of stateBoxes) {
            const left = b.x + b.w <= lines[0] + 1
            const right = b.x >= lines[1] - 1
            assert.ok(left || right, `${b.text} beside a line`)
        }
        assert.equal(await page.$$eval("g.legend", (g: any[]) => g.length), 1)
        const shot = process.env["LADDER_SCREENSHOT"]
        if (shot) await (await page.$("svg.ladder")).screenshot({ path: shot })
    })
})

test("a 100 KB transfer: bands open and close on click, labels never overlap", { skip, timeout: 90000 }, async () => {
    const html = readFileSync("docs/ladders/bulk.html", "utf8")
    await withPage(async (page) => {
        await page.setContent(html)
        const count = () => page.$$eval("g.arrow", (g: any[]) => g.length)
        const bands = await page.$$eval("g.band", (g: any[]) => g.length)
        assert.ok(bands >= 2, "runs of data are folded: " + bands)
        const before = await count()
        assert.deepEqual(overlaps(await labels(page)), [])
        await page.click("g.band[data-band='0'] rect")
        const opened = await count()
        assert.ok(opened > before + 5, `a band opened: ${before} -> ${opened} arrows`)
        assert.equal(await page.$$eval("g.band.open", (g: any[]) => g.length), 1)
        assert.deepEqual(overlaps(await labels(page)), [], "no overlaps with a band open")
        await page.click("g.band[data-band='0'] text")
        assert.equal(await count(), before, "and closed again")
    })
})
