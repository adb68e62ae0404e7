// The exhaustion policy against the kernel (issue 13, defect 5): the demo
// device with a device's pool (4 connections) on a TAP in the test's own
// namespace; kernel sockets (a python3 script in the namespace) hold more
// connections than the pool and send nothing, or as many as the pool holds
// and drip a header byte a second. A legitimate client (python3's
// http.client, a fresh connection per try, as a browser retries) must have its
// answer within 2 s. Every load is bounded in count and time; the namespace,
// the TAP and the clients go when the file ends, also on failure.
import "../../src/host/buffer-polyfill.js"
import { describe, it, before, after } from "node:test"
import assert from "node:assert/strict"
import { PcapSink } from "../../src/host/runner.js"
import { interopSkipReason } from "./netns.js"
import { Device, DEVICE_IP, runIn, startDevice, waitFor } from "./harness.js"

/** Attackers and one legitimate client; prints the client's wait in ms (or -1 after 20 s). */
const SCRIPT = `
import socket, sys, threading, time, http.client
mode, count = sys.argv[1], int(sys.argv[2])
stop = time.time() + 12
def attacker():
    while time.time() < stop:
        try:
            s = socket.create_connection(("${DEVICE_IP}", 80), timeout=3)
            head = b"GET / HTTP/1.1\\r\\nHost: d\\r\\nX-Drip: " + b"a" * 200
            i = 0
            while time.time() < stop:
                if mode == "drip":
                    s.send(head[i:i + 1])
                    i += 1
                time.sleep(1)
        except OSError:
            time.sleep(0.05)
for _ in range(count):
    threading.Thread(target=attacker, daemon=True).start()
time.sleep(3)
t0 = time.time()
wait = -1
while time.time() - t0 < 20:
    try:
        c = http.client.HTTPConnection("${DEVICE_IP}", 80, timeout=5)
        c.request("GET", "/bytes/100")
        r = c.getresponse()
        body = r.read()
        if r.status == 200 and body == bytes(i & 255 for i in range(100)):
            wait = int((time.time() - t0) * 1000)
            break
    except OSError:
        pass
print(wait, flush=True)
`

class NoPcap implements PcapSink {
    write(): void {}
}

const skip = interopSkipReason()
describe("interop: a new kernel client is served while idle or dripping clients hold the device's pool", { skip: skip ?? false, timeout: 120000 }, () => {
    let dev: Device<NoPcap>

    before(async () => {
        dev = await startDevice("exh", { pcap: new NoPcap(), limits: { tcpConnections: 4, tcpMslMs: 250 }, seed: 13, demo: {} })
    })

    after(async () => {
        if (dev) await dev.stop()
    })

    for (const [mode, count] of [
        ["idle", 8],
        ["drip", 4],
    ] as [string, number][]) {
        it(`${count} ${mode} connections: the legitimate client waits under 2 s`, async () => {
            const r = await runIn(dev.ns, ["python3", "-c", SCRIPT, mode, String(count)], { timeoutMs: 40000 })
            assert.equal(r.status, 0, r.stderr)
            const wait = Number(r.stdout.toString().trim())
            console.log(`kernel client, ${count} ${mode} connections holding the pool: waited ${wait} ms (-1: not served in 20 s); server ${JSON.stringify(dev.runner.stack.tcp.counters.idleReclaimed)} reclaimed`)
            assert.ok(wait >= 0 && wait < 2000, `waited ${wait} ms`)
            // the attackers are gone (their script ended): the pool empties (TIME-WAIT is 2 x 250 ms)
            assert.ok(await waitFor(() => dev.runner.stack.tcp.inUseCount() === 0 && dev.http.stats.connectionsActive === 0, 15000), JSON.stringify(dev.runner.stack.tcp.countByState()))
        })
    }
})
