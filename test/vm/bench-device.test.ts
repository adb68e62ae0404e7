// npm run bench:device's measuring code (bench/device.ts) on its device
// programs: the figures exist, are sane, and are deterministic (the same
// image measured twice gives the same opcode counts), and they meet the
// device's budgets (opcodes and heap are deterministic, so they may be):
// at most 8,000 opcodes per received full segment and per keep-alive request,
// at least 16 KiB of heap left for the application with the default limits.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { buildDevice, REPO_ROOT } from "../../src/host/vm/build.js"
import { DEVS_MAX_STEPS } from "../../src/host/vm/vm.js"
import { COST_PROGRAM, costFigures, HEAP_PROGRAM, heapFigures, measureCosts, measureHeap, OPEN_CONNECTIONS, report } from "../../bench/device.js"

// one build after the other (each devs build takes seconds of CPU)
const costBuild = buildDevice(COST_PROGRAM)
const heapBuild = costBuild.then(
    () => buildDevice(HEAP_PROGRAM),
    () => buildDevice(HEAP_PROGRAM),
)
const firstCosts = costBuild.then((b) => measureCosts(b.bytecode))
costBuild.catch(() => {})
heapBuild.catch(() => {})
firstCosts.catch(() => {})

test("bench:device opcode figures are sane and deterministic", async () => {
    const { bytecode } = await costBuild
    const first = await firstCosts
    const f = costFigures(first)
    // every region of a kind ran the same code on the same kind of input
    for (const k of ["rx", "rxread", "tx", "txack", "req", "page", "cksum", "idle", "xrx", "xread", "xtx"]) {
        assert.equal(first.regions[k].count, 20, k)
        assert.ok(first.regions[k].min > 0, `${k}: ${first.regions[k].min}`)
    }
    assert.equal(first.regions["base"].max, 0, "the empty regions all cost the same")
    assert.ok(first.baseline > 0 && first.baseline < 100, `baseline ${first.baseline}`)
    // one frame out per segment in, per segment written; a response per request
    assert.equal(f.rxFrames, 1)
    assert.equal(f.txFrames, 1)
    assert.ok(f.requestFrames >= 1 && f.requestFrames < 1.5, `frames per request ${f.requestFrames}`)
    assert.ok(f.requestBytes > 20 && f.requestBytes < 300, `response ${f.requestBytes} B`)
    assert.ok(f.pageBytes > 1000, `page ${f.pageBytes} B`)
    // the parts are smaller than the wholes they are part of
    assert.ok(f.checksums > 0 && f.checksums < f.rxReceive && f.checksums < f.txSegment, JSON.stringify(f))
    assert.ok(f.rxSegment === Math.round(first.regions["rx"].mean + first.regions["rxread"].mean))
    assert.ok(f.requestStack > 0 && f.requestRest > 0 && f.request > f.requestStack, JSON.stringify(f))
    assert.ok(f.page > f.request, JSON.stringify(f))
    // an rx region is one turn of one fiber
    assert.ok(f.worstTurn >= first.regions["rx"].max && f.worstTurn < DEVS_MAX_STEPS / 2, `worst turn ${f.worstTurn}`)
    for (const v of first.values.filter((x) => x[0] === "req" || x[0] === "page")) assert.equal(v[3], "200")
    const end = first.values.find((v) => v[0] === "end")
    assert.deepEqual(end.slice(2, 4), ["0", "0"], "no frame dropped by the links")
    const bytes = first.values.find((v) => v[0] === "bytes")
    assert.ok(Number(bytes[1]) > 100000 && bytes[2] === "200", `GET /bytes/100000: ${bytes}`)

    const second = await measureCosts(bytecode)
    assert.deepEqual(
        Object.fromEntries(Object.entries(second.regions).map(([k, s]) => [k, s.values])),
        Object.fromEntries(Object.entries(first.regions).map(([k, s]) => [k, s.values])),
    )
    assert.equal(second.worstTurn, first.worstTurn)
    assert.equal(second.opcodes, first.opcodes)
    console.log(`bench:device opcodes: ${JSON.stringify(f)}`)
})

test("bench:device heap figures are sane, and the report has the lines of issue 9", async () => {
    const { bytecode } = await heapBuild
    const h = await measureHeap(bytecode)
    const hf = heapFigures(h)
    assert.equal(hf.connections, 4, "the default pool")
    assert.ok(hf.stack0 > 0 && hf.stack > hf.stack0, JSON.stringify(hf))
    // two 2048-byte rings and their headers, plus the connection's record
    assert.ok(hf.perConnection > 4096 && hf.perConnection < 8192, `per connection ${hf.perConnection}`)
    assert.ok(hf.server > 0 && hf.perOpenConnection > 0, JSON.stringify(hf))
    assert.ok(hf.opened >= 2 && hf.opened <= OPEN_CONNECTIONS)
    assert.equal(hf.outOfMemory, hf.opened < OPEN_CONNECTIONS)
    assert.ok(hf.device > hf.stack + hf.server, JSON.stringify(hf))
    assert.equal(hf.left, hf.heapBytes - hf.start - hf.device)
    assert.ok(hf.firstUse >= 0 && hf.harness > 0, JSON.stringify(hf))

    const lines = report(await firstCosts, h)
    const want = [
        /^opcodes per received 1460-byte segment: \d+$/,
        /^opcodes per transmitted 1460-byte segment: \d+$/,
        /^opcodes per keep-alive request: \d+$/,
        /^worst fiber turn: \d+ opcodes$/,
    ]
    want.forEach((re, i) => assert.match(lines[i], re))
    assert.ok(lines.some((l) => /^heap left for the application: -?\d+ bytes$/.test(l)), lines.join("\n"))
    console.log(lines.join("\n"))

    // the README's table of device figures says what the report says (they are deterministic)
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8").split("\n")
    const figure = (label: string) => {
        const row = readme.find((l) => l.startsWith("| " + label))
        assert.ok(row, `no README row "${label}"`)
        return Number(row.split("|")[2].replace(/[^0-9]/g, ""))
    }
    const reported = (re: RegExp) => Number(re.exec(lines.join("\n"))[1])
    const pairs: [string, RegExp][] = [
        ["opcodes per received 1,460-byte segment", /^opcodes per received 1460-byte segment: (\d+)$/m],
        ["opcodes per transmitted 1,460-byte segment", /^opcodes per transmitted 1460-byte segment: (\d+)$/m],
        ["opcodes per keep-alive request", /^opcodes per keep-alive request: (\d+)$/m],
        ["worst fiber turn", /^worst fiber turn: (\d+) opcodes$/m],
        ["heap left for the application", /^heap left for the application: (-?\d+) bytes$/m],
    ]
    for (const [label, re] of pairs) assert.equal(figure(label), reported(re), `README "${label}" (run npm run bench:device and update it)`)

    // the budgets
    assert.ok(reported(pairs[0][1]) <= 8000, "opcodes per received segment over 8,000")
    assert.ok(reported(pairs[2][1]) <= 8000, "opcodes per keep-alive request over 8,000")
    assert.ok(reported(pairs[4][1]) >= 16384, "less than 16 KiB of heap left for the application")
})
