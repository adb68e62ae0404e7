// Issue acceptance: two stacks on one virtual switch ping each other; with
// loss, what the stacks count agrees with what the capture shows.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { Simulator } from "../../src/host/sim/network.js"
import { PcapWriter, readPcap } from "../../src/host/sim/pcap.js"
import { addStackHost } from "../../src/host/sim/stack-host.js"
import { parseIp } from "../../src/wire/bytes.js"
import { Reason } from "../../src/wire/reason.js"
import { haveTshark, tsharkRead } from "../tshark.js"

function frameKind(f: Buffer): string {
    const type = (f[12] << 8) | f[13]
    if (type === 0x0806) return f[21] === 1 ? "arp-request" : "arp-reply"
    if (type === 0x0800 && f[23] === 1) return f[34] === 8 ? "echo-request" : f[34] === 0 ? "echo-reply" : "icmp"
    return "other"
}

function pingRun(loss: number, seed: number) {
    const sim = new Simulator({ seed })
    const a = addStackHost(sim, "a", { ip: "198.18.0.1", mac: "02:00:00:00:00:01" })
    const b = addStackHost(sim, "b", { ip: "198.18.0.2", mac: "02:00:00:00:00:02" })
    if (loss > 0) sim.setImpairments("a", { loss, seed })
    const pcapA = new PcapWriter()
    sim.capture("a", pcapA)
    const seen = { aOut: new Map<string, number>(), aIn: new Map<string, number>(), bIn: new Map<string, number>() }
    sim.onFrame((host, dir, frame) => {
        const m = host === "a" ? (dir === "out" ? seen.aOut : seen.aIn) : dir === "in" ? seen.bIn : null
        if (m) m.set(frameKind(frame), (m.get(frameKind(frame)) ?? 0) + 1)
    })
    const replies: { seq: number; len: number; ok: boolean }[] = []
    a.endpoint.onEchoReply = (src, id, seq, buf, off, len) => {
        let ok = src === parseIp("198.18.0.2") && id === 0x77
        const want = seq % 2 === 0 ? 56 : 1472
        ok = ok && len === want
        for (let i = 0; i < len && ok; i++) ok = buf[off + i] === (i & 0xff)
        replies.push({ seq, len, ok })
    }
    a.endpoint.start(0)
    b.endpoint.start(0)
    for (let seq = 0; seq < 100; seq++) {
        sim.at(1000 + seq * 1000, () => a.endpoint.ping(parseIp("198.18.0.2"), 0x77, seq, seq % 2 === 0 ? 56 : 1472, sim.now))
    }
    sim.run(1000 + 100 * 1000 + 5000)
    return { sim, a: a.endpoint, b: b.endpoint, replies, seen, pcapA }
}

test("A pings B 100 times (56 and 1472 bytes): every reply matches, ARP resolved once", () => {
    const { a, b, replies, seen, pcapA } = pingRun(0, 1)
    assert.equal(replies.length, 100)
    assert.ok(replies.every((r) => r.ok), "payloads echoed exactly")
    assert.deepEqual(replies.map((r) => r.seq), [...Array(100).keys()])
    // one gratuitous request each at start, one resolution by A; B learns A from A's request
    assert.equal(a.counters.arpRequestsSent, 2)
    assert.equal(b.counters.arpRequestsSent, 1)
    assert.equal(b.counters.arpRepliesSent, 1)
    assert.equal(seen.aOut.get("arp-request"), 2)
    assert.equal(seen.aIn.get("arp-reply"), 1)
    assert.equal(b.counters.icmpEchoRepliesSent, 100)
    // the only frame A did not take: B's gratuitous ARP, which is not about A
    assert.equal(a.counters.totalDrops(), 1)
    assert.equal(a.counters.drops[Reason.NotForUs], 1)
    assert.equal(b.counters.drops[Reason.InternalError], 0)
    assert.equal(readPcap(pcapA.toBuffer()).length, 2 + 1 + 1 + 200, "A's capture: 2 ARP out, request from B, reply in, 200 ICMP")
})

for (const seed of [1, 2, 3]) {
    test(`20% loss on A's link (seed ${seed}): lost and received pings agree with the capture`, () => {
        const { a, b, replies, seen, pcapA } = pingRun(0.2, seed)
        const requestsOut = seen.aOut.get("echo-request") ?? 0
        const requestsAtB = seen.bIn.get("echo-request") ?? 0
        const repliesIn = seen.aIn.get("echo-reply") ?? 0
        assert.ok(replies.every((r) => r.ok))
        // every ping was sent, or dropped and counted because ARP did not resolve
        assert.equal(requestsOut + a.counters.drops[Reason.ArpUnresolved] + a.counters.drops[Reason.ArpQueueFull], 100)
        assert.equal(b.counters.icmpEchoRepliesSent, requestsAtB, "B answered every request that reached it")
        assert.equal(replies.length, repliesIn, "A counted every reply the capture shows arriving")
        // the capture (A's side of the wire) tells the same story
        const frames = readPcap(pcapA.toBuffer()).map((r) => r.frame)
        const capturedReplies = frames.filter((f) => frameKind(f) === "echo-reply").length
        const capturedRequests = frames.filter((f) => frameKind(f) === "echo-request").length
        assert.equal(capturedReplies, replies.length)
        assert.equal(capturedRequests, requestsOut)
        // both directions lose 20%: about 64% of pings come back
        const rate = replies.length / 100
        assert.ok(rate > 0.45 && rate < 0.85, `round-trip rate ${rate}`)
        assert.equal(a.counters.drops[Reason.InternalError] + b.counters.drops[Reason.InternalError], 0)
    })
}

test("tshark decodes a capture of the stacks' own frames without malformed packets", (t) => {
    if (!haveTshark()) return t.skip("tshark not installed (apt-get install -y tshark)")
    const { pcapA } = pingRun(0.2, 7)
    const buf = pcapA.toBuffer()
    const r = tsharkRead(buf)
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.frames, readPcap(buf).length, "every frame decoded")
    assert.equal(r.malformed, 0, r.lines.filter((l) => /Malformed/.test(l)).join("\n"))
    assert.ok(r.lines.some((l) => /Echo \(ping\) request/.test(l)))
    assert.ok(r.lines.some((l) => /Echo \(ping\) reply/.test(l)))
    assert.ok(r.lines.some((l) => /Who has 198\.18\.0\.2\? Tell 198\.18\.0\.1/.test(l)))
})
