// The firmware itself against the kernel: src/main.ts built with devs, its
// bytecode in the DeviceScript VM on real time, driving the ENC28J60 model on
// its SPI bus, the model's wire bridged to a TAP in our own namespace; the
// kernel's ping and curl are the clients. Skipped (with the reason) when not
// root or a tool is missing.
import { describe, it, before, after } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { interopSkipReason, Netns } from "./netns.js"
import { runIn, sha256, sleep } from "./harness.js"
import { TapDevice } from "../../src/host/tap.js"
import { CHIPS, VmDevice, FIRMWARE_ENTRY } from "../../src/host/device-runner.js"
import { buildDevice } from "../../src/host/vm/build.js"
import { parseIp } from "../../src/wire/bytes.js"

const TOOLS = [
    { name: "ping", pkg: "iputils-ping" },
    { name: "curl", pkg: "curl" },
]
const URL = "http://198.18.0.2"

const skip = interopSkipReason(TOOLS)
for (const chip of CHIPS)
    describe(`interop: the firmware in the VM on the ${chip} model, bridged to a TAP`, { skip: skip ?? false, timeout: 240_000 }, () => {
    let ns: Netns
    let tap: TapDevice
    let dev: VmDevice
    let dir: string

    before(async () => {
        dir = mkdtempSync(join(tmpdir(), "ds-tcpip-device-"))
        const { bytecode } = await buildDevice(FIRMWARE_ENTRY)
        ns = new Netns({ tag: "fw" + chip.slice(0, 1) })
        tap = await TapDevice.open(ns.taps[0], { netns: ns.name })
        dev = await VmDevice.start({ bytecode, chip })
        // the firmware takes its address from DHCP: the wire's own server offers it 198.18.0.2 (serve --device --ip)
        dev.serveDhcp(parseIp("198.18.0.2"), parseIp("255.255.255.0"))
        dev.attach(tap)
        assert.equal(await dev.waitForLine((l) => l.startsWith("address "), 60_000), "address 198.18.0.2: http://ds-tcpip.local/")
    })

    after(async () => {
        if (dev) dev.stop()
        if (tap) await tap.close()
        if (ns) ns.closeSync()
        if (dir) rmSync(dir, { recursive: true, force: true })
    })

    const curl = (args: string[], timeoutMs = 30_000) => runIn(ns, ["curl", "-sS", "--max-time", String(timeoutMs / 1000), ...args], { timeoutMs: timeoutMs + 5000 })

    it("answers ping (5 of 5)", async () => {
        const r = await runIn(ns, ["ping", "-n", "-c", "5", "-i", "0.2", "-W", "2", "198.18.0.2"], { timeoutMs: 20_000 })
        assert.match(r.stdout.toString(), /5 packets transmitted, 5 received/, r.stdout.toString() + r.stderr)
    })

    it("serves GET / and GET /bytes/100000 (hash-checked) to curl", async () => {
        const page = await curl([URL + "/"])
        assert.equal(page.status, 0, page.stderr)
        assert.match(page.stdout.toString(), /ds-tcpip/i)
        const r = await curl([URL + "/bytes/100000"], 60_000)
        assert.equal(r.status, 0, r.stderr)
        const expect = Buffer.alloc(100000)
        for (let i = 0; i < expect.length; i++) expect[i] = i & 0xff
        assert.equal(r.stdout.length, 100000)
        assert.equal(sha256(r.stdout), sha256(expect))
    })

    it("accepts POST /echo of 50 KB", async () => {
        const body = Buffer.alloc(50 * 1024)
        for (let i = 0; i < body.length; i++) body[i] = (i * 131 + 17) & 0xff
        const file = join(dir, "post.bin")
        writeFileSync(file, body)
        const r = await curl(["--data-binary", "@" + file, "-H", "Content-Type: application/octet-stream", URL + "/echo"], 60_000)
        assert.equal(r.status, 0, r.stderr)
        assert.equal(sha256(r.stdout), sha256(body))
    })

    it("serves 200 sequential requests, each on a new connection, with the heap flat", async () => {
        const before = dev.heapAfterGc()
        // one shell loop in the namespace: a curl process per request, each a new connection
        const script = `ok=0; for i in $(seq 200); do c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 ${URL}/); [ "$c" = 200 ] && ok=$((ok+1)); done; echo $ok`
        const r = await runIn(ns, ["sh", "-c", script], { timeoutMs: 180_000 })
        assert.equal(r.stdout.toString().trim(), "200", r.stderr)
        await sleep(200)
        const afterGc = dev.heapAfterGc()
        console.log(`${chip}: device heap after GC: ${before.used} B before, ${afterGc.used} B after 200 requests (of ${afterGc.size}); worst fiber turn ${dev.vm.maxStepsPerTurn} opcodes`)
        assert.ok(afterGc.used - before.used <= 2048, `heap grew ${afterGc.used - before.used} B`)
    })

    it("keeps serving through a link down and up", async () => {
        dev.model.setLink(false)
        const down = await curl(["--max-time", "1", URL + "/"], 3000)
        assert.notEqual(down.status, 0, "nothing answers while the cable is out")
        dev.model.setLink(true)
        await sleep(100)
        const r = await curl([URL + "/status"])
        // a firmware that stopped (a panic: out of memory, say) says why here, not as a curl timeout
        assert.equal(r.status, 0, r.stderr + (dev.stopped ? `(the firmware stopped: ${dev.stopped.message}\n${dev.vm.panic ? dev.vm.panic.report.join("\n") : ""})` : ""))
        const s = JSON.parse(r.stdout.toString())
        assert.equal(s.link, true)
        assert.ok(s.driver.linkChanges >= 2, JSON.stringify(s.driver))
        assert.deepEqual(dev.model.errors, [])
        assert.equal(dev.stopped, null)
    })
})
