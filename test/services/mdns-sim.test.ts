// The mDNS responder and DNS-SD in the simulator: two devices that want the
// same name end with different ones; a third host's queries (multicast and
// legacy unicast) are answered; goodbye packets on shutdown; a new address
// is probed and announced; malformed packets are counted.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { Simulator } from "../../src/host/sim/network.js"
import { addStackHost } from "../../src/host/sim/stack-host.js"
import { MdnsResponder, MdnsState, MDNS_GROUP, startMdns } from "../../src/services/mdns.js"
import { DnsRecord, DNS_TYPE_A, DNS_TYPE_ANY, DNS_TYPE_PTR, DNS_TYPE_SRV, DNS_TYPE_TXT, parseRecord, readName, writeHeader, writeName } from "../../src/wire/dns.js"
import { ipToString, parseIp } from "../../src/wire/bytes.js"
import { Reason } from "../../src/wire/reason.js"
import { Stack } from "../../src/stack.js"

interface Rr {
    section: "an" | "ar"
    name: string
    type: number
    flush: boolean
    ttl: number
    data: string
}

interface Msg {
    src: string
    sport: number
    id: number
    flags: number
    questions: string[]
    records: Rr[]
}

/** Decodes a DNS message with the wire functions under test (their own tests check them on real bytes). */
function decode(b: Buffer, off: number, len: number): { id: number; flags: number; questions: string[]; records: Rr[] } {
    const end = off + len
    const r = new DnsRecord()
    const qd = b.readUInt16BE(off + 4)
    const an = b.readUInt16BE(off + 6)
    const rest = an + b.readUInt16BE(off + 8) + b.readUInt16BE(off + 10)
    let at = off + 12
    const questions: string[] = []
    for (let i = 0; i < qd; i++) {
        at = parseRecord(b, at, end, true, r)
        assert.ok(at > 0, "question parses")
        questions.push(readName(b, off, r.name, end) + " " + r.type)
    }
    const records: Rr[] = []
    for (let i = 0; i < rest; i++) {
        at = parseRecord(b, at, end, false, r)
        assert.ok(at > 0, "record parses")
        let data = ""
        if (r.type === DNS_TYPE_A) data = ipToString(b.readUInt32BE(r.rdata))
        else if (r.type === DNS_TYPE_PTR) data = readName(b, off, r.rdata, end)
        else if (r.type === DNS_TYPE_SRV) data = b.readUInt16BE(r.rdata + 4) + " " + readName(b, off, r.rdata + 6, end)
        else if (r.type === DNS_TYPE_TXT) data = b.toString("latin1", r.rdata + 1, r.rdata + 1 + b[r.rdata])
        records.push({ section: i < an ? "an" : "ar", name: readName(b, off, r.name, end), type: r.type, flush: (r.cls & 0x8000) !== 0, ttl: r.ttl, data })
    }
    return { id: b.readUInt16BE(off), flags: b.readUInt16BE(off + 2), questions, records }
}

function query(id: number, questions: [string, number][]): Buffer {
    const b = Buffer.alloc(512)
    let at = 12
    for (const [name, type] of questions) {
        at = writeName(b, at, name)
        b.writeUInt16BE(type, at)
        b.writeUInt16BE(1, at + 2)
        at += 4
    }
    writeHeader(b, 0, id, 0, questions.length, 0, 0, 0)
    return b.subarray(0, at)
}

function rig(names: string[], seed = 1) {
    const sim = new Simulator({ seed })
    const devices: { stack: Stack; mdns: MdnsResponder }[] = []
    names.forEach((name, i) => {
        const h = addStackHost(sim, "dev" + i, { ip: "198.18.0." + (10 + i), mac: "02:00:00:00:02:0" + i, seed: 10 + i })
        h.endpoint.start(0)
        const mdns = startMdns(h.endpoint, { name, service: "_http._tcp", port: 80, txt: ["path=/"] }, 0)
        devices.push({ stack: h.endpoint, mdns })
    })
    // the third host: listens on 5353 in the group (multicast answers) and on 40000 (legacy unicast answers)
    const q = addStackHost(sim, "asker", { ip: "198.18.0.99", mac: "02:00:00:00:02:99" })
    q.endpoint.start(0)
    q.endpoint.joinMulticast(MDNS_GROUP)
    const heard: Msg[] = []
    const listen = (src: number, sport: number, dport: number, b: Buffer, off: number, len: number) => heard.push({ src: ipToString(src), sport, ...decode(b, off, len) })
    q.endpoint.udpBind(5353, listen)
    q.endpoint.udpBind(40000, listen)
    return { sim, devices, asker: q.endpoint, heard }
}

test("two devices that want the same name end with different ones; each answers for its own", () => {
    for (const seed of [1, 2, 3]) {
        const { sim, devices, asker, heard } = rig(["board", "board"], seed)
        sim.run(5000)
        assert.ok(devices.every((d) => d.mdns.state === MdnsState.Running), "both running")
        const names = devices.map((d) => d.mdns.name).sort()
        assert.deepEqual(names, ["board", "board-2"], `seed ${seed}`)
        // the asker's legacy unicast queries get each name's own address
        heard.length = 0
        const q1 = query(0x1234, [["board.local", DNS_TYPE_A]])
        const q2 = query(0x1235, [["Board-2.Local", DNS_TYPE_A]])
        sim.at(sim.now + 1, () => asker.udpSend(40000, MDNS_GROUP, 5353, q1, 0, q1.length, sim.now))
        sim.at(sim.now + 2, () => asker.udpSend(40000, MDNS_GROUP, 5353, q2, 0, q2.length, sim.now))
        sim.runFor(100)
        const answers = heard.map((m) => [m.id, m.sport, m.questions[0], m.records.map((r) => r.name + " " + r.data + " " + r.ttl + " " + r.flush).join()])
        const owner = (n: string) => ipToString(devices.find((d) => d.mdns.name === n).stack.ip)
        assert.deepEqual(answers, [
            [0x1234, 5353, "board.local 1", `board.local ${owner("board")} 10 false`],
            [0x1235, 5353, "board-2.local 1", `board-2.local ${owner("board-2")} 10 false`],
        ])
        assert.equal(heard[0].flags, 0x8400)
    }
})

test("a running device defends its name: a later device that probes for it takes NAME-2", () => {
    const { sim, devices } = rig(["sensor"])
    sim.run(5000)
    assert.equal(devices[0].mdns.state, MdnsState.Running)
    const late = addStackHost(sim, "late", { ip: "198.18.0.40", mac: "02:00:00:00:02:40", seed: 40 })
    late.endpoint.start(sim.now)
    const m = startMdns(late.endpoint, { name: "sensor" }, sim.now)
    sim.runFor(5000)
    assert.equal(devices[0].mdns.name, "sensor")
    assert.equal(devices[0].mdns.conflicts, 0)
    assert.equal(m.name, "sensor-2")
    assert.equal(m.state, MdnsState.Running)
})

test("a third host's multicast queries: A, DNS-SD browse (PTR), service enumeration, SRV+TXT; goodbye on shutdown", () => {
    const { sim, devices, asker, heard } = rig(["kitchen"])
    const { stack, mdns } = devices[0]
    sim.run(5000)
    assert.equal(mdns.state, MdnsState.Running)
    // probes and announcements were heard: 3 probes with our A in authority, then 2 announcements of 5 records
    const probes = heard.filter((m) => (m.flags & 0x8000) === 0)
    assert.equal(probes.length, 3)
    assert.deepEqual(probes[0].questions, ["kitchen.local 255", "kitchen._http._tcp.local 255"])
    assert.deepEqual(probes[0].records.map((r) => r.name + " " + r.data), ["kitchen.local 198.18.0.10"])
    const announcements = heard.filter((m) => m.flags === 0x8400)
    assert.equal(announcements.length, 2)
    assert.ok(announcements[1].src === "198.18.0.10" && announcements[1].records.length === 5, "announcement")
    heard.length = 0
    sim.at(sim.now + 1, () => {
        const q = query(0, [["_http._tcp.local", DNS_TYPE_PTR]])
        asker.udpSend(5353, MDNS_GROUP, 5353, q, 0, q.length, sim.now)
    })
    sim.runFor(100)
    assert.equal(heard.length, 1)
    const browse = heard[0]
    assert.equal(browse.id, 0)
    assert.deepEqual(
        browse.records.map((r) => `${r.section} ${r.name} ${r.type} ${r.ttl} ${r.flush} ${r.data}`),
        [
            "an _http._tcp.local 12 4500 false kitchen._http._tcp.local",
            "ar kitchen.local 1 120 true 198.18.0.10",
            "ar kitchen._http._tcp.local 33 120 true 80 kitchen.local",
            "ar kitchen._http._tcp.local 16 4500 true path=/",
        ],
    )
    heard.length = 0
    sim.at(sim.now + 1, () => {
        const q = query(0, [["_services._dns-sd._udp.local", DNS_TYPE_PTR], ["kitchen._http._tcp.local", DNS_TYPE_ANY], ["other.local", DNS_TYPE_A]])
        asker.udpSend(5353, MDNS_GROUP, 5353, q, 0, q.length, sim.now)
    })
    // a query for names that are not ours gets no answer
    sim.at(sim.now + 2, () => {
        const q = query(0, [["other.local", DNS_TYPE_A]])
        asker.udpSend(5353, MDNS_GROUP, 5353, q, 0, q.length, sim.now)
    })
    sim.runFor(100)
    assert.equal(heard.length, 1)
    assert.deepEqual(heard[0].records.map((r) => r.section + " " + r.type + " " + r.data), ["an 33 80 kitchen.local", "an 16 path=/", "an 12 _http._tcp.local", "ar 1 198.18.0.10"])
    // goodbye: every record with TTL 0
    heard.length = 0
    sim.at(sim.now + 1, () => mdns.stop(sim.now))
    sim.runFor(100)
    assert.equal(heard.length, 1)
    assert.equal(heard[0].records.length, 5)
    assert.ok(heard[0].records.every((r) => r.ttl === 0), "TTL 0")
    assert.equal(mdns.state, MdnsState.Idle)
    void stack
})

test("a new address is probed and announced again; a host claiming our name with another address makes us rename", () => {
    const { sim, devices, heard } = rig(["lamp"])
    const { stack, mdns } = devices[0]
    sim.run(5000)
    heard.length = 0
    sim.at(sim.now + 1, () => stack.setAddress(parseIp("198.18.0.77"), parseIp("255.255.255.0"), 0, sim.now))
    sim.runFor(5000)
    assert.equal(mdns.state, MdnsState.Running)
    assert.equal(heard.filter((m) => m.flags === 0).length, 3, "probed again")
    const last = heard[heard.length - 1]
    assert.equal(last.records.find((r) => r.type === DNS_TYPE_A).data, "198.18.0.77")
    // another host announces lamp.local at its address: conflict, rename, probe
    const other = addStackHost(sim, "other", { ip: "198.18.0.50", mac: "02:00:00:00:02:50" })
    other.endpoint.start(sim.now)
    const rogue = startMdns(other.endpoint, { name: "x" }, sim.now)
    sim.runFor(3000)
    ;(rogue as any).name = "lamp"
    ;(rogue as any).names = ["lamp.local"] // its name (private), as probe() sets it
    sim.at(sim.now + 1, () => (rogue as any).respond(sim.now, 1, MDNS_GROUP, 5353, 0, 120)) // announces its A record
    sim.runFor(3000)
    assert.equal(mdns.name, "lamp-2")
    assert.equal(mdns.conflicts, 1)
    assert.equal(mdns.state, MdnsState.Running)
})

test("malformed mDNS packets are counted as badMdns; loops and wild pointers do not hang or throw", () => {
    const { sim, devices, asker } = rig(["pump"])
    const { stack } = devices[0]
    sim.run(5000)
    const bad: Buffer[] = [
        Buffer.from("00000000", "hex"), // short header
        Buffer.from("000000000001000000000000c00c00010001", "hex"), // a pointer to itself
        Buffer.from("000000000001000000000000c0ff00010001", "hex"), // a pointer forward, out of the message
        Buffer.from("00000000000100000000000040", "hex"), // a label of 64
        Buffer.from("000000000005000000000000047075", "hex"), // truncated label
    ]
    bad.forEach((b, i) => sim.at(sim.now + 1 + i, () => asker.udpSend(5353, MDNS_GROUP, 5353, b, 0, b.length, sim.now)))
    sim.runFor(100)
    assert.equal(stack.counters.drops[Reason.BadMdns], 5)
    assert.equal(stack.counters.drops[Reason.InternalError], 0)
})

test("names match without regard to case; a responder without a service answers for its name only", () => {
    const { sim, devices, asker, heard } = rig(["Porch"])
    sim.run(5000)
    assert.equal(devices[0].mdns.state, MdnsState.Running)
    heard.length = 0
    const q = query(0x77, [["porch.LOCAL", DNS_TYPE_A]])
    sim.at(sim.now + 1, () => asker.udpSend(40000, MDNS_GROUP, 5353, q, 0, q.length, sim.now))
    sim.runFor(100)
    assert.deepEqual(
        heard.map((m) => m.records.map((r) => r.name + " " + r.data).join()),
        [`porch.local ${ipToString(devices[0].stack.ip)}`],
        "the configured name answers a query in other case",
    )
    // a device without a service; while it probes, responses carrying a root-named record (an OPT) come by
    const solo = addStackHost(sim, "solo", { ip: "198.18.0.60", mac: "02:00:00:00:02:60", seed: 60 })
    solo.endpoint.start(sim.now)
    const m = startMdns(solo.endpoint, { name: "solo" }, sim.now)
    const opt = Buffer.from("000084000000000100000000" + "00" + "0029" + "0001" + "00000000" + "0000", "hex")
    for (const dt of [50, 200, 400, 600, 800]) sim.at(sim.now + dt, () => asker.udpSend(5353, MDNS_GROUP, 5353, opt, 0, opt.length, sim.now))
    sim.runFor(5000)
    assert.deepEqual([m.name, m.conflicts, m.state], ["solo", 0, MdnsState.Running])
    // questions for the root, the service enumeration and an instance-like name: nothing from it
    heard.length = 0
    const qs = query(0, [["", DNS_TYPE_ANY], ["_services._dns-sd._udp.local", DNS_TYPE_PTR], ["solo._http._tcp.local", DNS_TYPE_ANY]])
    sim.at(sim.now + 1, () => asker.udpSend(5353, MDNS_GROUP, 5353, qs, 0, qs.length, sim.now))
    sim.runFor(100)
    assert.equal(heard.filter((h) => h.src === "198.18.0.60").length, 0)
    const qa = query(0, [["SOLO.local", DNS_TYPE_ANY]])
    sim.at(sim.now + 1, () => asker.udpSend(5353, MDNS_GROUP, 5353, qa, 0, qa.length, sim.now))
    sim.runFor(100)
    assert.deepEqual(heard.filter((h) => h.src === "198.18.0.60").map((h) => h.records.map((r) => r.name + " " + r.type).join()), ["solo.local 1"])
})
