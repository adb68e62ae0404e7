// DHCP and DNS formats on real bytes: messages dnsmasq 2.89 sent to
// ds-tcpip and queries the kernel's dig (BIND 9.18) sent, captured in the
// services' interop test (test/interop/services.test.ts), UDP payloads only.
// Each is parsed field by field; what we emit is parsed back; malformed
// names (loops, pointers forward or out of the message, long labels) are
// rejected.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { DhcpMessage, DhcpType, DHCP_BROADCAST, dhcpOption, emitDhcp, parseDhcp } from "../../src/wire/dhcp.js"
import { DnsRecord, parseRecord, readName, skipName, writeName } from "../../src/wire/dns.js"
import { ipToString, parseMac } from "../../src/wire/bytes.js"
import { Reason } from "../../src/wire/reason.js"

import { DNSMASQ_OFFER, DNSMASQ_ACK, DNSMASQ_A, DNSMASQ_NXDOMAIN, DIG_QUERY } from "./services-capture.js"

test("dnsmasq's OFFER and ACK: every field we use", () => {
    for (const [hex, type] of [[DNSMASQ_OFFER, DhcpType.Offer], [DNSMASQ_ACK, DhcpType.Ack]] as [string, DhcpType][]) {
        const b = Buffer.from(hex, "hex")
        const m = new DhcpMessage()
        assert.equal(parseDhcp(b, 0, b.length, m), Reason.Ok)
        assert.equal(m.op, 2)
        assert.equal(m.type, type)
        assert.equal(m.xid, 0xcc266a02)
        assert.equal(m.flags, DHCP_BROADCAST)
        assert.equal(ipToString(m.yiaddr), "198.18.0.112")
        assert.equal(ipToString(m.siaddr), "198.18.0.1")
        assert.equal(m.chaddr.toString("hex"), "020000001102")
        assert.equal(ipToString(m.serverId), "198.18.0.1")
        assert.equal(m.leaseTime, 120)
        assert.equal(m.t1, 60)
        assert.equal(m.t2, 105)
        assert.equal(ipToString(m.subnetMask), "255.255.255.0")
        assert.equal(ipToString(m.router), "198.18.0.1")
        assert.deepEqual(m.dns.slice(0, m.dnsCount).map(ipToString), ["198.18.0.1"])
        // the walk the client uses: the type's value, an absent option, a short message
        assert.equal(b[dhcpOption(b, 0, b.length, 53)], type)
        assert.equal(dhcpOption(b, 0, b.length, 99), 0)
        assert.equal(dhcpOption(b, 0, 239, 53), -1)
        // a truncated copy, a broken cookie, an option running past the end
        assert.equal(parseDhcp(b, 0, 239, m), Reason.Truncated)
        const bad = Buffer.from(b)
        bad[237] ^= 1
        assert.equal(parseDhcp(bad, 0, bad.length, m), Reason.BadDhcp)
        const cut = Buffer.from(b.subarray(0, 245))
        assert.equal(parseDhcp(cut, 0, cut.length, m), Reason.BadDhcp, "option 54 cut in the middle")
        // option 51 (lease) claiming 3 bytes, and option 6 (DNS) claiming 5: wrong sizes
        const odd = Buffer.from(b)
        const lease = odd.indexOf(Buffer.from("3304000000", "hex"), 240)
        odd[lease + 1] = 3
        assert.equal(parseDhcp(odd, 0, odd.length, m), Reason.BadDhcp, "a lease of 3 bytes")
        const dns = Buffer.from(b)
        dns[dns.indexOf(Buffer.from("0604c6120001", "hex"), 240) + 1] = 5
        assert.equal(parseDhcp(dns, 0, dns.length, m), Reason.BadDhcp, "5 bytes of DNS servers")
    }
})

test("our REQUEST, emitted and parsed back; its option bytes", () => {
    const buf = Buffer.alloc(310, 0xaa)
    const len = emitDhcp(buf, 0x01020304, DhcpType.Request, 0, parseMac("02:00:00:00:11:02"), 0xc6120001, 0xc6120070, "dsdev")
    assert.equal(len, 300, "padded to 300 (RFC 1542)")
    const back = new DhcpMessage()
    assert.equal(parseDhcp(buf, 0, len, back), Reason.Ok)
    assert.equal(back.op, 1)
    assert.equal(back.type, DhcpType.Request)
    assert.equal(back.xid, 0x01020304)
    assert.equal(back.flags, DHCP_BROADCAST, "no ciaddr: broadcast replies")
    assert.equal(back.serverId, 0xc6120001)
    assert.equal(back.requestedIp, 0xc6120070)
    assert.equal(back.chaddr.toString("hex"), "020000001102")
    assert.equal(buf.subarray(0, 4).toString("hex"), "01010600")
    assert.ok(buf.subarray(len, 310).equals(Buffer.alloc(10)), "the whole buffer was zeroed first")
    assert.ok(buf.subarray(8, 236).equals(Buffer.concat([Buffer.from("00008000", "hex"), Buffer.alloc(16), Buffer.from("020000001102", "hex"), Buffer.alloc(202)])), "secs, flags .. file")
    // 53=3, 54, 50, 61 (type 1 + MAC), 12 "dsdev", 55 (1 3 6 51 58 59), end
    assert.equal(
        buf.subarray(240, 240 + 40).toString("hex"),
        "350103" + "3604c6120001" + "3204c6120070" + "3d0701020000001102" + "0c056473646576" + "3706010306333a3b" + "ff",
    )
    assert.ok(buf.subarray(280, 300).equals(Buffer.alloc(20)), "padding")
    // a renewal: ciaddr, no broadcast flag; no 54, 50 or 12
    const n = emitDhcp(buf, 7, DhcpType.Request, 0xc6120070, parseMac("02:00:00:00:11:02"), 0, 0, null)
    assert.equal(parseDhcp(buf, 0, n, back), Reason.Ok)
    assert.deepEqual([back.flags, back.ciaddr, back.serverId, back.requestedIp], [0, 0xc6120070, 0, 0])
    assert.equal(buf.subarray(240, 240 + 21).toString("hex"), "350103" + "3d0701020000001102" + "3706010306333a3b" + "ff")
})

test("dnsmasq's A answer (compressed) and NXDOMAIN; dig's query with EDNS", () => {
    const a = Buffer.from(DNSMASQ_A, "hex")
    const r = new DnsRecord()
    assert.equal(a.readUInt16BE(2) & 15, 0)
    let at = parseRecord(a, 12, a.length, true, r)
    assert.equal(readName(a, 0, r.name, a.length), "files.test")
    const upper = Buffer.from(a)
    upper.write("FiLES", 13, "latin1")
    assert.equal(readName(upper, 0, 12, upper.length), "files.test", "letters in lower case")
    at = parseRecord(a, at, a.length, false, r)
    assert.equal(at, a.length)
    assert.equal(readName(a, 0, r.name, a.length), "files.test", "the pointer to the question")
    assert.deepEqual([r.type, r.cls, r.ttl, r.rdLength], [1, 1, 0, 4])
    assert.equal(ipToString(a.readUInt32BE(r.rdata)), "198.18.0.1")
    const nx = Buffer.from(DNSMASQ_NXDOMAIN, "hex")
    assert.equal(nx.readUInt16BE(2) & 15, 3)
    const q = Buffer.from(DIG_QUERY, "hex")
    at = parseRecord(q, 12, q.length, true, r)
    assert.equal(readName(q, 0, r.name, q.length), "dsdev.local")
    at = parseRecord(q, at, q.length, false, r)
    assert.equal(r.type, 41, "OPT")
    assert.equal(readName(q, 0, r.name, q.length), "", "the root")
    assert.equal(at, q.length)
    // the same message at an offset in a bigger buffer: pointers count from the message's start
    const shifted = Buffer.concat([Buffer.alloc(42, 0xaa), a])
    at = parseRecord(shifted, 42 + 12, shifted.length, true, r)
    parseRecord(shifted, at, shifted.length, false, r)
    assert.equal(readName(shifted, 42, r.name, shifted.length), "files.test")
})

test("malformed names are rejected: loops, forward and wild pointers, long labels and names, truncation", () => {
    const msg = (hex: string) => Buffer.from("000000000001000000000000" + hex, "hex")
    const cases: [string, string][] = [
        ["c00c", "a pointer to itself"],
        ["0161c00c", "a label, then a pointer back to the name itself"],
        ["c00e0161c00c", "a pointer forward, into a pointer back"],
        ["c3ff", "a pointer out of the message"],
        ["40" + "61".repeat(64) + "00", "a label of 64"],
        ["0561626364", "a label past the end"],
        ["03616263", "no terminating zero"],
        ["c0", "half a pointer"],
    ]
    for (const [hex, what] of cases) {
        const b = msg(hex)
        assert.equal(readName(b, 0, 12, b.length), null, what)
    }
    // a 256-byte name: 4 labels of 63 + one more
    let long = ""
    for (let i = 0; i < 4; i++) long += "3f" + "61".repeat(63)
    const b = msg(long + "0161" + "00")
    assert.equal(readName(b, 0, 12, b.length), null, "over 255 bytes")
    assert.equal(skipName(Buffer.from("0361", "hex"), 0, 2), -1)
    // writeName and readName agree
    const w = Buffer.alloc(64)
    const end = writeName(w, 0, "Kitchen-2._http._tcp.local")
    assert.equal(readName(w, 0, 0, end), "kitchen-2._http._tcp.local")
    assert.equal(skipName(w, 0, end), end)
    // empty labels are skipped; "" is the root
    assert.equal(w.subarray(0, writeName(w, 0, ".a..bc.")).toString("hex"), "0161026263" + "00")
    assert.equal(writeName(w, 0, ""), 1)
    assert.equal(w[0], 0)
})
