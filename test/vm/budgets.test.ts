// The firmware image budgets of the README, enforced: sizes are deterministic,
// so they can be tests. Every entry src/main*.ts must build and end at or
// below 65,532 (the VM's verifier refuses more); the starter must leave room
// for a person's own code; features the starter does not import must not be
// in its image at all.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { buildDevice, DeviceBuild, FUNCTIONS_END_LIMIT, REPO_ROOT } from "../../src/host/vm/build.js"

/** Where the starter's functions may end: 12 KiB of the 65,532 left for a person's own code. */
const STARTER_CEILING = 65532 - 12 * 1024

const entries = readdirSync(join(REPO_ROOT, "src"))
    .filter((f) => /^main.*\.ts$/.test(f))
    .map((f) => "src/" + f)
    .sort()
const builds = new Map<string, Promise<DeviceBuild>>()
// one build at a time: each `devs build` takes a core for a few seconds
let chain: Promise<unknown> = Promise.resolve()
for (const e of entries) {
    const b = chain.then(() => buildDevice(e))
    b.catch(() => {})
    chain = b.catch(() => {})
    builds.set(e, b)
}

test("the firmware entries are the demo (for either chip) and the starter", () => {
    assert.deepEqual(entries, ["src/main-starter.ts", "src/main.ts"])
})

for (const e of entries) {
    test(`${e} builds and its functions end at or below ${FUNCTIONS_END_LIMIT}`, async () => {
        const b = await builds.get(e)
        assert.ok(b.functionsEnd <= FUNCTIONS_END_LIMIT, `${e}: functions end at ${b.functionsEnd}`)
        assert.ok(b.modules.length > 0, "the debug output was read")
    })
}

test(`the starter's functions end at or below ${STARTER_CEILING}: 12 KiB for the application`, async () => {
    const b = await builds.get("src/main-starter.ts")
    assert.ok(b.functionsEnd <= STARTER_CEILING, `src/main-starter.ts: functions end at ${b.functionsEnd} of ${STARTER_CEILING}`)
    // what it carries: the driver and the services, not just the stack
    for (const m of ["src/drivers/enc28j60.ts", "src/services/dhcp.ts", "src/services/mdns.ts", "src/http/sse.ts"]) {
        assert.ok(b.modules.some((x) => x.path === m), `${m} is not in the starter`)
    }
})

test("the demo firmware fits with everything it is for: both drivers, DHCP, mDNS, the demo routes, SSE and WebSocket", async () => {
    const b = await builds.get("src/main.ts")
    assert.ok(b.functionsEnd <= FUNCTIONS_END_LIMIT, `src/main.ts: functions end at ${b.functionsEnd}`)
    for (const m of ["src/drivers/enc28j60.ts", "src/drivers/w5500.ts", "src/services/dhcp.ts", "src/services/mdns.ts", "src/app/demo.ts", "src/http/sse.ts", "src/http/websocket.ts"]) {
        assert.ok(b.modules.some((x) => x.path === m), `${m} is not in the demo`)
    }
    // the chip and the name come from the board's configuration; SYN cookies are on
    for (const fn of ["openEthernet", "boardHostname", "enableSynCookies"]) assert.ok(b.functionNames.includes(fn), `function ${fn} is not in the demo`)
})

test("no image carries the runtime's split, trim or wait (kept by name: docs/devicescript.md)", async () => {
    for (const e of entries) {
        const b = await builds.get(e)
        for (const fn of ["split", "trim", "wait"]) assert.ok(!b.functionNames.includes(fn), `${e}: the runtime's ${fn} is in the image`)
    }
})

test("the starter's image holds none of the features it does not import", async () => {
    const b = await builds.get("src/main-starter.ts")
    const modules = b.modules.map((m) => m.path)
    for (const absent of ["src/http/websocket.ts", "src/http/sha1.ts", "src/http/base64.ts", "src/http/client.ts", "src/services/dns.ts", "src/drivers/w5500.ts", "src/app/demo.ts"]) {
        assert.ok(!modules.includes(absent), `${absent} is in the starter's image`)
    }
    for (const fn of ["acceptWebSocket", "webSocketAccept", "ping", "status", "enableSynCookies", "enableOutOfOrder"]) {
        assert.ok(!b.functionNames.includes(fn), `function ${fn} is in the starter's image`)
    }
    // and the demo, which imports them, has them: the check can fail
    const demo = await builds.get("src/main.ts")
    assert.ok(demo.modules.some((m) => m.path === "src/http/websocket.ts") && demo.functionNames.includes("acceptWebSocket"))
})

test("the README's image table says what the builds say", async () => {
    // a row per entry: | `src/main.ts` (...) | 61,460 | 4,072 | ...
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8")
    for (const e of entries) {
        const row = readme.split("\n").find((l) => l.startsWith("| `" + e + "` ("))
        assert.ok(row, `no row for ${e} in the README's image table`)
        const [end, free] = row.split("|").slice(2, 4).map((c) => Number(c.trim().replace(/,/g, "")))
        const b = await builds.get(e)
        assert.equal(end, b.functionsEnd, `README: ${e} ends at ${end}; the build: ${b.functionsEnd} (update the table)`)
        assert.equal(free, FUNCTIONS_END_LIMIT - b.functionsEnd)
    }
})
