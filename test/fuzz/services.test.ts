// Property tests of the services' parsers with strict buffer bounds
// (test/strict-buffers.ts records any blitAt/fillAt/getAt past a buffer):
//
//   - parseDhcp, readName/skipName/parseRecord on random bytes at random
//     (off, len): no exception, a valid outcome, nothing read past the end,
//     readName's text never over 255 bytes;
//   - real messages (dnsmasq's OFFER, A answer; dig's query) mutated: the same;
//   - the whole receive path of a stack running the DHCP client (waiting for
//     an offer with a known xid), the mDNS responder and the resolver (waiting
//     for a reply with a known id): random and mutated datagrams to ports 68,
//     5353 and the resolver's port never raise an internal error, and every
//     malformed one is counted under badDhcp, badMdns or badDns.
// Deterministic (seed 42); FUZZ_SEED / FUZZ_SCALE as in parsers.test.ts.
import "../setup.js"
import { fuzzOptions } from "./options.js"
import { outOfRange } from "../strict-buffers.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import fc from "fast-check"
import { DhcpMessage, DhcpType, parseDhcp } from "../../src/wire/dhcp.js"
import { DnsRecord, parseRecord, readName, skipName } from "../../src/wire/dns.js"
import { Reason } from "../../src/wire/reason.js"
import { DhcpClient, DhcpState } from "../../src/services/dhcp.js"
import { MdnsResponder, MdnsState, startMdns } from "../../src/services/mdns.js"
import { DnsResolver } from "../../src/services/dns.js"
import { Net } from "../../src/socket/socket.js"
import { SimSocketHost } from "../../src/host/sim/async.js"
import { Simulator } from "../../src/host/sim/network.js"
import { addStackHost } from "../../src/host/sim/stack-host.js"
import { parseIp } from "../../src/wire/bytes.js"
import { DNSMASQ_A, DNSMASQ_OFFER, DIG_QUERY } from "../wire/services-capture.js"
import { ethFrame, udpDatagram, ipPacket } from "../helpers.js"

const bytes = (maxLength: number, minLength = 0) => fc.uint8Array({ minLength, maxLength }).map((a) => Buffer.from(a))

/** A real message with a few bytes changed, cut short or extended. */
function mutated(hex: string): fc.Arbitrary<Buffer> {
    const base = Buffer.from(hex, "hex")
    return fc
        .record({
            edits: fc.array(fc.record({ at: fc.nat(base.length - 1), v: fc.integer({ min: 0, max: 255 }) }), { maxLength: 6 }),
            cut: fc.oneof({ weight: 3, arbitrary: fc.constant(base.length) }, { weight: 1, arbitrary: fc.nat(base.length) }),
            tail: bytes(8),
        })
        .map((t) => {
            const b = Buffer.from(base)
            for (const e of t.edits) b[e.at] = e.v
            return Buffer.concat([b.subarray(0, t.cut), t.tail])
        })
}

function checkBounds(): void {
    if (outOfRange.length) {
        const first = outOfRange[0]
        outOfRange.length = 0
        throw new Error("out of range: " + first)
    }
}

const dhcpInput = fc.oneof(bytes(400), mutated(DNSMASQ_OFFER))
const dnsInput = fc.oneof(bytes(120), mutated(DNSMASQ_A), mutated(DIG_QUERY))

test("parseDhcp: random and mutated messages at any (off, len)", () => {
    const m = new DhcpMessage()
    fc.assert(
        fc.property(dhcpInput, fc.nat(8), fc.nat(420), (b, off, len) => {
            const r = parseDhcp(b, Math.min(off, b.length), len, m)
            assert.ok(r === Reason.Ok || r === Reason.Truncated || r === Reason.BadDhcp)
            if (r === Reason.Ok) assert.ok(m.type >= DhcpType.Discover && m.type <= DhcpType.Inform && m.dnsCount <= 3)
            checkBounds()
        }),
        fuzzOptions(3000),
    )
})

test("readName, skipName, parseRecord: random and mutated messages terminate within bounds", () => {
    const r = new DnsRecord()
    fc.assert(
        fc.property(dnsInput, fc.nat(20), (b, start) => {
            const end = b.length
            const off = Math.min(start, end)
            const name = readName(b, 0, off, end)
            assert.ok(name === null || name.length <= 255)
            assert.ok(name === null || name === name.toLowerCase() || /[^\x00-\x7f]/.test(name), "ASCII letters in lower case")
            const s = skipName(b, off, end)
            assert.ok(s === -1 || (s > off && s <= end))
            // walk every record the counts claim, as the services do
            let at = 12
            const n = b.length >= 12 ? b.readUInt16BE(4) + b.readUInt16BE(6) : 0
            for (let i = 0; i < Math.min(n, 50) && at > 0; i++) {
                at = parseRecord(b, at, end, i === 0, r)
                if (at > 0) readName(b, 0, r.name, end)
            }
            checkBounds()
        }),
        fuzzOptions(3000),
    )
})

const DEV_MAC = "02:00:00:00:0f:02"
const SERVER_MAC = "02:00:00:00:0f:01"

test("the receive path: a stack with the DHCP client, mDNS responder and resolver takes random and mutated datagrams", async () => {
    const sim = new Simulator({ seed: 3 })
    const h = addStackHost(sim, "dev", { ip: "198.18.0.2", mac: DEV_MAC })
    const stack = h.endpoint
    stack.start(0)
    const mdns = startMdns(stack, { name: "fuzz", service: "_http._tcp", port: 80, txt: ["path=/"] }, 0)
    sim.run(5000)
    assert.equal(mdns.state, MdnsState.Running)
    const dhcp = new DhcpClient(stack, { probes: 0 })
    dhcp.start(sim.now)
    assert.equal(dhcp.state, DhcpState.Selecting)
    const xid = (dhcp as any).xid as number
    const net = new Net(stack, new SimSocketHost(sim))
    const resolver = new DnsResolver(net, [parseIp("198.18.0.1")], { timeoutMs: 1_000_000 })
    resolver.resolve("files.test").catch(() => {})
    sim.runFor(1)
    const port = [...Array(65536).keys()].find((p) => p >= 49152 && (stack as any).udpPorts.indexOf(p) >= 0)
    const query = (resolver as any) as { id: number }
    const before = { ...stack.counters.drops }
    let malformed = 0
    const kinds = fc.oneof(
        dhcpInput.map((b) => {
            // our xid and MAC most of the time, so the client reads it all
            if (b.length >= 34 && b[0] !== 0xff) {
                b.writeUInt32BE(xid >>> 0, 4)
                Buffer.from(DEV_MAC.replace(/:/g, ""), "hex").copy(b, 28)
            }
            return { port: 68, src: 67, from: "198.18.0.1", payload: b }
        }),
        dnsInput.map((b) => ({ port: 5353, src: 5353, from: "198.18.0.9", payload: b })),
        dnsInput.map((b) => {
            if (b.length >= 2) b.writeUInt16BE(query.id, 0)
            return { port, src: 53, from: "198.18.0.1", payload: b }
        }),
    )
    fc.assert(
        fc.property(kinds, (k) => {
            const d = udpDatagram(k.from, "198.18.0.2", k.src, k.port, k.payload)
            const frame = ethFrame(DEV_MAC, SERVER_MAC, 0x0800, ipPacket({ protocol: 17, src: k.from, dst: "198.18.0.2" }, d))
            const bad = stack.counters.drops[Reason.BadDhcp] + stack.counters.drops[Reason.BadMdns] + stack.counters.drops[Reason.BadDns]
            stack.receive(frame, sim.now)
            const after = stack.counters.drops[Reason.BadDhcp] + stack.counters.drops[Reason.BadMdns] + stack.counters.drops[Reason.BadDns]
            malformed += after - bad
            assert.equal(stack.counters.drops[Reason.InternalError], 0)
            checkBounds()
            // put the services back where the next input reaches their parsers
            if (dhcp.state !== DhcpState.Selecting) {
                ;(dhcp as any).state = DhcpState.Selecting
                ;(dhcp as any).xid = xid
            }
            if ((resolver as any).got !== 0) (resolver as any).got = 0
        }),
        fuzzOptions(1500),
    )
    assert.ok(malformed > 100, `malformed inputs counted: ${malformed}`)
    void before
    void mdns
    assert.ok(port > 0, "the resolver's port")
})
