// The starter firmware (src/main-starter.ts) as it would be flashed, in the
// DeviceScript VM on the ENC28J60 model, on a LAN of one Node host running
// the test DHCP server: it leases an address, prints its URL, answers
// NAME.local (a legacy unicast mDNS query, RFC 6762 §6.7) and serves its page
// and its event stream at the leased address.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { buildDevice } from "../../src/host/vm/build.js"
import { VmRig } from "../../src/host/vm-rig.js"
import { TestDhcpServer } from "../../src/host/dhcp-server.js"
import { DnsRecord, DNS_TYPE_A, parseRecord, writeHeader, writeName } from "../../src/wire/dns.js"
import { ipToString, parseIp } from "../../src/wire/bytes.js"
import { DhcpType } from "../../src/wire/dhcp.js"
import { request } from "../../src/http/client.js"

test("the starter firmware leases an address by DHCP, answers NAME.local, and serves / and /events there", async () => {
    const { bytecode, functionsEnd } = await buildDevice("src/main-starter.ts")
    const rig = await VmRig.create("enc28j60", bytecode)
    const dhcp = new TestDhcpServer(rig.peer, { first: parseIp("198.18.0.100"), last: parseIp("198.18.0.110"), netmask: parseIp("255.255.255.0"), router: parseIp("198.18.0.1") })
    const leased = () => rig.vm.output.find((l) => l.startsWith("address "))
    assert.ok(await rig.run(() => !!leased(), 30_000), rig.vm.output.join("\n"))
    assert.equal(leased(), "address 198.18.0.100: http://ds-tcpip.local/")
    assert.deepEqual(dhcp.received.map((m) => m.type), [DhcpType.Discover, DhcpType.Request])
    assert.equal(dhcp.received[0].hostName, "ds-tcpip")

    // mDNS: after probing (RFC 6762 §8.1, ~750 ms) the name is answered, to a unicast query from port 40000
    await rig.run(() => false, 2_000)
    const q = Buffer.alloc(64)
    let at = writeName(q, 12, "ds-tcpip.local")
    q.writeUInt16BE(DNS_TYPE_A, at)
    q.writeUInt16BE(1, at + 2)
    writeHeader(q, 0, 0x4242, 0, 1, 0, 0, 0)
    let answer: number = -1
    let id = -1
    rig.peer.udpBind(40000, (src, sport, dport, b, off, len) => {
        // a copy, so offsets count from the message's start
        const m = Buffer.from(b.subarray(off, off + len))
        id = m.readUInt16BE(0)
        const an = m.readUInt16BE(6)
        let p = parseRecord(m, 12, m.length, true, new DnsRecord())
        const r = new DnsRecord()
        for (let i = 0; i < an && p > 0; i++) {
            p = parseRecord(m, p, m.length, false, r)
            if (p > 0 && r.type === DNS_TYPE_A && r.rdLength === 4) answer = m.readUInt32BE(r.rdata)
        }
    })
    rig.peer.udpSend(40000, parseIp("198.18.0.100"), 5353, q, 0, at + 4, rig.vm.nowMs())
    assert.ok(await rig.run(() => answer >= 0, 2_000), "no answer to the mDNS query")
    assert.equal(id, 0x4242)
    assert.equal(ipToString(answer), "198.18.0.100")

    assert.equal((await rig.get("/", undefined, "198.18.0.100")).toString(), "hello from ds-tcpip\n")
    // two events of the stream, then the client goes away
    let events = ""
    const p = (async () => {
        const res = await request(rig.net, { host: "198.18.0.100", path: "/events" })
        const buf = Buffer.alloc(256)
        while (!events.includes("data: 2")) {
            const n = await res.read(buf, 0, buf.length)
            if (n <= 0) break
            events += buf.toString("utf8", 0, n)
        }
        res.close()
    })()
    assert.ok(await rig.run(() => events.includes("data: 2"), 5_000), events)
    await p
    assert.match(events, /data: 1\n\ndata: 2\n\n/)
    assert.equal(rig.vm.panic, null)
    assert.deepEqual(rig.model.errors, [])
    assert.ok(rig.vm.maxStepsPerTurn < 65536, `worst turn ${rig.vm.maxStepsPerTurn}`)
    assert.equal(rig.vm.collectGarbage(), true)
    const heap = rig.vm.heapStats()
    console.log(`starter in the VM: functions end at ${functionsEnd}; worst fiber turn ${rig.vm.maxStepsPerTurn} opcodes; live heap ${heap.usedBytes} of ${heap.totalBytes} B after a GC`)
})
