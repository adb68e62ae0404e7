// The bridge driver: a DeviceScript program (test/device/bridge-vm.ts) in the
// VM on real time sends its frames through @devicescript/net's one socket
// (the VM's socket hooks, src/host/vm/sockets.ts) to the host's bridge
// server (src/host/bridge.ts), which puts them on a TAP in our own
// namespace; the kernel's ping and curl are the clients. Root only.
import { describe, it, before, after } from "node:test"
import assert from "node:assert/strict"
import { connect } from "node:net"
import { rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { interopSkipReason, Netns } from "./netns.js"
import { runIn, sha256 } from "./harness.js"
import { TapDevice } from "../../src/host/tap.js"
import { VmDevice } from "../../src/host/device-runner.js"
import { BridgeServer } from "../../src/host/bridge.js"
import { buildDevice } from "../../src/host/vm/build.js"

const skip = interopSkipReason([
    { name: "ping", pkg: "iputils-ping" },
    { name: "curl", pkg: "curl" },
])

describe("interop: the bridge driver in the VM, through the host's bridge to a TAP", { skip: skip ?? false, timeout: 240_000 }, () => {
    let ns: Netns
    let tap: TapDevice
    let bridge: BridgeServer
    let dev: VmDevice

    before(async () => {
        const { bytecode } = await buildDevice("test/device/bridge-vm.ts")
        ns = new Netns({ tag: "br" })
        tap = await TapDevice.open(ns.taps[0], { netns: ns.name })
        bridge = new BridgeServer(tap)
        const port = await bridge.listen(0)
        // the harness plays the network: the program's "ds-tcpip-bridge":7777 is our server
        dev = await VmDevice.start({
            bytecode,
            chip: null,
            connect: (host, p) => (host === "ds-tcpip-bridge" && p === 7777 ? connect(port, "127.0.0.1") : null),
        })
        await dev.waitForLine((l) => l === "ready", 20_000)
    })

    after(async () => {
        if (dev) dev.stop()
        if (bridge) await bridge.close()
        if (tap) await tap.close()
        if (ns) ns.closeSync()
    })

    it("answers ping, serves GET / and /bytes/100000 (hash-checked), POST /echo of 50 KB and 100 connections with the heap flat, through the bridge", async () => {
        const p = await runIn(ns, ["ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", "198.18.0.2"], { timeoutMs: 15_000 })
        assert.match(p.stdout.toString(), /3 packets transmitted, 3 received/, p.stdout.toString())
        const page = await runIn(ns, ["curl", "-sS", "--max-time", "20", "http://198.18.0.2/"], { timeoutMs: 25_000 })
        assert.equal(page.status, 0, page.stderr)
        assert.match(page.stdout.toString(), /ds-tcpip/i)
        const r = await runIn(ns, ["curl", "-sS", "--max-time", "60", "http://198.18.0.2/bytes/100000"], { timeoutMs: 65_000 })
        assert.equal(r.status, 0, r.stderr)
        const expect = Buffer.alloc(100000)
        for (let i = 0; i < expect.length; i++) expect[i] = i & 0xff
        assert.equal(sha256(r.stdout), sha256(expect))
        const body = Buffer.alloc(50 * 1024)
        for (let i = 0; i < body.length; i++) body[i] = (i * 7 + 3) & 0xff
        const file = join(tmpdir(), `ds-tcpip-bridge-${process.pid}.bin`)
        writeFileSync(file, body)
        try {
            const e = await runIn(ns, ["curl", "-sS", "--max-time", "60", "--data-binary", "@" + file, "http://198.18.0.2/echo"], { timeoutMs: 65_000 })
            assert.equal(e.status, 0, e.stderr)
            assert.equal(sha256(e.stdout), sha256(body), "POST /echo of 50 KB")
        } finally {
            rmSync(file, { force: true })
        }
        // 100 connections in a row with the live heap flat
        const before = dev.heapAfterGc()
        const loop = `ok=0; for i in $(seq 100); do c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 http://198.18.0.2/); [ "$c" = 200 ] && ok=$((ok+1)); done; echo $ok`
        const seq = await runIn(ns, ["sh", "-c", loop], { timeoutMs: 120_000 })
        assert.equal(seq.stdout.toString().trim(), "100")
        const after = dev.heapAfterGc()
        assert.ok(after.used - before.used <= 2048, `heap ${before.used} -> ${after.used}`)
        const s = await runIn(ns, ["curl", "-sS", "--max-time", "20", "http://198.18.0.2/status"], { timeoutMs: 25_000 })
        const status = JSON.parse(s.stdout.toString())
        assert.ok(status.driver.rxFrames > 50 && status.driver.txFrames > 50, JSON.stringify(status.driver))
        assert.equal(bridge.stats.bad, 0)
        assert.equal(bridge.stats.connections, 1)
        assert.equal(dev.stopped, null)
    })
})
