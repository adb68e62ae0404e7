// The starter firmware (src/main-starter.ts) as it would be flashed, in the
// DeviceScript VM on the ENC28J60 model, on a LAN of one Node host running
// the test DHCP server: it leases an address, prints its URL, answers
// NAME.local (a legacy unicast mDNS query, RFC 6762 §6.7) and serves its page
// and its event stream at the leased address. NAME is the "hostname" of the
// device's configuration when it has one (as a board's .board.json gives it;
// here written into the image, src/host/vm/dcfg.ts), else ds-tcpip.
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
import { withImageConfig } from "../../src/host/vm/dcfg.js"

const starter = buildDevice("src/main-starter.ts")

/** Asks the device for NAME's address with a legacy unicast query (from port 40000); resolves to [query ID seen, address] or null. */
async function askMdns(rig: VmRig, ip: string, name: string): Promise<[number, string] | null> {
    const q = Buffer.alloc(80)
    const at = writeName(q, 12, name)
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
    rig.peer.udpSend(40000, parseIp(ip), 5353, q, 0, at + 4, rig.vm.nowMs())
    const ok = await rig.run(() => answer >= 0, 2_000)
    rig.peer.udpUnbind(40000)
    return ok ? [id, ipToString(answer)] : null
}

test("the starter firmware leases an address by DHCP, answers NAME.local, and serves / and /events there", async () => {
    const { bytecode, functionsEnd } = await starter
    const rig = await VmRig.create("enc28j60", bytecode)
    const dhcp = new TestDhcpServer(rig.peer, { first: parseIp("198.18.0.100"), last: parseIp("198.18.0.110"), netmask: parseIp("255.255.255.0"), router: parseIp("198.18.0.1") })
    const leased = () => rig.vm.output.find((l) => l.startsWith("address "))
    assert.ok(await rig.run(() => !!leased(), 30_000), rig.vm.output.join("\n"))
    assert.equal(leased(), "address 198.18.0.100: http://ds-tcpip.local/")
    assert.deepEqual(dhcp.received.map((m) => m.type), [DhcpType.Discover, DhcpType.Request])
    assert.equal(dhcp.received[0].hostName, "ds-tcpip")

    // mDNS: after probing (RFC 6762 §8.1, ~750 ms) the name is answered, to a unicast query from port 40000
    await rig.run(() => false, 2_000)
    assert.deepEqual(await askMdns(rig, "198.18.0.100", "ds-tcpip.local"), [0x4242, "198.18.0.100"])

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

test("the starter firmware takes its name from the device's configuration: \"hostname\" as a board's .board.json has it", async () => {
    const { bytecode } = await starter
    const rig = await VmRig.create("enc28j60", withImageConfig(bytecode, { hostname: "Kitchen-2b" }), "198.18.0.7")
    assert.equal(await rig.lease(), "address 198.18.0.7: http://Kitchen-2b.local/")
    assert.equal(rig.dhcp.received[0].hostName, "Kitchen-2b")
    await rig.run(() => false, 2_000)
    // mDNS names match without regard to case (RFC 6762 §16)
    assert.deepEqual(await askMdns(rig, "198.18.0.7", "kitchen-2b.local"), [0x4242, "198.18.0.7"])
    assert.equal(await askMdns(rig, "198.18.0.7", "ds-tcpip.local"), null)
    assert.equal(rig.vm.panic, null)
})

test("a hostname in the configuration that is not a host name is refused with a line on the console, and the default is used", async () => {
    const { bytecode } = await starter
    for (const bad of ["kitchen.local", "-kitchen", "a".repeat(41), ""]) {
        const rig = await VmRig.create("enc28j60", withImageConfig(bytecode, { hostname: bad }), "198.18.0.7")
        assert.equal(await rig.lease(), "address 198.18.0.7: http://ds-tcpip.local/", bad)
        assert.ok(rig.vm.output.includes(`hostname "${bad}" of the configuration is not a host name (letters, digits, '-'): using ds-tcpip`), rig.vm.output.join("\n"))
        assert.equal(rig.dhcp.received[0].hostName, "ds-tcpip")
    }
    // a number under the key is no name either: the default, silently
    const rig = await VmRig.create("enc28j60", withImageConfig(bytecode, { hostname: 7 }), "198.18.0.7")
    assert.equal(await rig.lease(), "address 198.18.0.7: http://ds-tcpip.local/")
})
