// Testing app.ts on a simulated network with ds-tcpip/host: the device's
// routes run on the same stack as on the board, a simulated client talks to
// it over a lossy link on virtual time (a test that "waits" 2 minutes takes
// milliseconds), and the capture is there to read, as a trace or a pcap.
//
//   node --import tsx --test examples/app.test.ts
import { test } from "node:test"
import assert from "node:assert/strict"
import { Simulator, addStackHost, SimSocketHost, runAsync, PcapWriter, readPcap, TraceContext, Net, request } from "ds-tcpip/host"
import { startApp, Readings } from "./app.js"

function network(lossPercent: number) {
    const sim = new Simulator({ seed: 42 })
    const device = addStackHost(sim, "device", { ip: "198.18.0.2", mac: "02:00:00:00:00:02" })
    const laptop = addStackHost(sim, "laptop", { ip: "198.18.0.1", mac: "02:00:00:00:00:01" })
    // impair the laptop's link both ways: lost frames are retransmitted by TCP
    sim.setImpairments("laptop", { loss: lossPercent / 100, seed: 7 })
    const pcap = new PcapWriter()
    sim.capture("device", pcap)
    const host = new SimSocketHost(sim)
    device.endpoint.start(0)
    laptop.endpoint.start(0)
    const readings: Readings = { celsius: 21.5 }
    startApp(new Net(device.endpoint, host), readings)
    return { sim, pcap, readings, client: new Net(laptop.endpoint, host) }
}

/** Runs an async client on the simulator's virtual time until it settles. */
async function run<T>(sim: Simulator, client: () => Promise<T>): Promise<T> {
    let result: T
    let error: unknown = null
    let done = false
    client().then((v) => ((result = v), (done = true)), (e) => ((error = e), (done = true)))
    await runAsync(sim, () => done, 60_000)
    if (error) throw error
    assert.ok(done, "the client did not finish in 60 virtual seconds")
    return result
}

test("GET /temperature answers JSON", async () => {
    const { sim, client } = network(0)
    const body = await run(sim, async () => (await request(client, "http://198.18.0.2/temperature")).json())
    assert.deepEqual(body, { celsius: 21.5 })
})

test("POST /calibrate checks its input", async () => {
    const { sim, client, readings } = network(0)
    const bad = await run(sim, async () => (await request(client, { url: "http://198.18.0.2/calibrate/99", method: "POST" })).status)
    assert.equal(bad, 400)
    const ok = await run(sim, async () => (await request(client, { url: "http://198.18.0.2/calibrate/-2", method: "POST" })).json())
    assert.deepEqual(ok, { celsius: 19.5 })
    assert.equal(readings.celsius, 19.5)
})

test("20 requests over a link that loses 10% of frames all succeed, and the capture shows it", async () => {
    const { sim, client, pcap } = network(10)
    for (let i = 0; i < 20; i++) {
        const res = await run(sim, () => request(client, "http://198.18.0.2/"))
        assert.equal(res.status, 200)
        assert.equal(await run(sim, () => res.text()), "thermometer\n")
    }
    // the capture: every frame the device saw, as tcpdump would print it
    const ctx = new TraceContext()
    const lines = readPcap(pcap.toBuffer()).map((r) => ctx.format(r.frame, r.frame.length, r.timeMs))
    assert.ok(lines.some((l) => l.includes("198.18.0.1.") && l.includes("> 198.18.0.2.80: Flags [S]")), lines.slice(0, 5).join("\n"))
    assert.ok(pcap.count > 100)
    // pcap.writeFile("device.pcap") keeps it for Wireshark
})
