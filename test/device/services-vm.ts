// Runs in the DeviceScript VM (test/vm/services-vm.test.ts): the device's
// DHCP client and mDNS responder (with DNS-SD) on a Stack that starts with
// no address, and a peer Stack on the same in-memory link playing the LAN:
// a minimal DHCP server (OFFER/ACK from the portable wire format) and an
// mDNS querier using legacy unicast (RFC 6762 §6.7). It prints
//   bound <address> / mdns A <address> / mdns PTR <instance> / drops ... / done
// and a line saying what went wrong otherwise. Every turn does bounded work
// and then sleeps, as the device's network loop does.
import * as ds from "@devicescript/core"
import { Stack } from "../../src/stack.js"
import { MemoryLink } from "../../src/drivers/memory-link.js"
import { Xoshiro128 } from "../../src/random.js"
import { ipToString, parseIp, parseMac, setU32 } from "../../src/wire/bytes.js"
import { DhcpMessage, DhcpType, emitDhcp, parseDhcp } from "../../src/wire/dhcp.js"
import { DnsRecord, parseRecord, readName, writeHeader, writeName } from "../../src/wire/dns.js"
import { Reason } from "../../src/wire/reason.js"
import { DhcpClient, DhcpState } from "../../src/services/dhcp.js"
import { MdnsState, startMdns } from "../../src/services/mdns.js"

const MTU = 1500
const link = new MemoryLink(8, 14 + MTU)
const devPort = link.port(parseMac("02:00:00:00:0b:02"), MTU)
const lanPort = link.port(parseMac("02:00:00:00:0b:01"), MTU)
// two stacks share one 64 KiB heap here: small TCP pools
const limits = { tcpConnections: 1, tcpSendBuffer: 1024, tcpRecvBuffer: 1024, arpQueueFrames: 1 }
const dev = new Stack({ driver: devPort, ip: 0, netmask: 0, random: new Xoshiro128(ds.millis() + 7), limits, log: (l: string) => console.log(l) })
const lan = new Stack({ driver: lanPort, ip: parseIp("198.18.0.1"), netmask: parseIp("255.255.255.0"), random: new Xoshiro128(3), limits })
link.attach(devPort, dev)
link.attach(lanPort, lan)

// ---- the LAN's DHCP server: one address, 60 s leases ----------------------
const LEASE = parseIp("198.18.0.100")
const rx = new DhcpMessage()
const out = Buffer.alloc(300)
let offers = 0
let acks = 0
lan.udpBind(67, (src, sport, dport, b, off, len, now) => {
    if (parseDhcp(b, off, len, rx) !== Reason.Ok || rx.op !== 1) return
    let type = 0
    if (rx.type === DhcpType.Discover) type = DhcpType.Offer
    else if (rx.type === DhcpType.Request && (rx.requestedIp === LEASE || rx.ciaddr === LEASE)) type = DhcpType.Ack
    if (!type) return
    // the client's emitter writes xid, the broadcast flag, chaddr, 53 and 54; then a reply's fields
    const n = emitDhcp(out, rx.xid, type, 0, rx.chaddr, lan.ip, 0, null)
    out[0] = 2
    setU32(out, 16, LEASE) // yiaddr
    // the server's options after 53 and 54: lease 60 s, mask, router
    let at = 240 + 3 + 6
    const put = (code: number, v: number) => {
        out[at] = code
        out[at + 1] = 4
        setU32(out, at + 2, v)
        at += 6
    }
    put(51, 60)
    put(1, lan.netmask)
    put(3, lan.ip)
    out[at] = 255
    if (type === DhcpType.Offer) offers++
    else acks++
    lan.udpSend(67, 0xffffffff, 68, out, 0, n, now)
})

// ---- the LAN's mDNS querier (legacy unicast from port 40000) ---------------
const rec = new DnsRecord()
let answerA = ""
let answerPtr = ""
lan.udpBind(40000, (src, sport, dport, b, off, len, now) => {
    const end = off + len
    let at = parseRecord(b, off + 12, end, true, rec)
    const an = (b[off + 6] << 8) | b[off + 7]
    for (let i = 0; i < an && at > 0; i++) {
        at = parseRecord(b, at, end, false, rec)
        if (at < 0) break
        if (rec.type === 1 && rec.rdLength === 4) answerA = ipToString(((b[rec.rdata] << 24) | (b[rec.rdata + 1] << 16) | (b[rec.rdata + 2] << 8) | b[rec.rdata + 3]) >>> 0)
        if (rec.type === 12) answerPtr = readName(b, off, rec.rdata, end)
    }
})
const q = Buffer.alloc(64)
function ask(name: string, type: number, now: number) {
    const at = writeName(q, 12, name)
    q[at] = 0
    q[at + 1] = type
    q[at + 2] = 0
    q[at + 3] = 1
    writeHeader(q, 0, 0x1234, 0, 1, 0, 0, 0)
    lan.udpSend(40000, parseIp("224.0.0.251"), 5353, q, 0, at + 4, now)
}

// ---- the device: DHCP, then mDNS ------------------------------------------
const dhcp = new DhcpClient(dev, { hostName: "vmdev", probes: 1 })
const mdns = startMdns(dev, { name: "vmdev", service: "_http._tcp", port: 80, txt: ["path=/"] }, ds.millis())

function turn(now: number) {
    link.deliver(now, 4)
    for (const s of [dev, lan]) {
        const d = s.nextDeadline()
        if (d >= 0 && d <= now) s.poll(now)
    }
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
    const end = ds.millis() + ms
    while (!cond() && ds.millis() < end) {
        turn(ds.millis())
        await ds.sleep(10)
    }
    return cond()
}

lan.start(ds.millis())
dev.start(ds.millis())
dhcp.start(ds.millis())
if (!(await until(() => dhcp.state === DhcpState.Bound, 20000))) console.log("no lease: " + dhcp.state)
else console.log("bound " + ipToString(dev.ip) + " offers " + offers + " acks " + acks)
if (!(await until(() => mdns.state === MdnsState.Running, 10000))) console.log("mdns did not start: " + mdns.state)
ask("vmdev.local", 1, ds.millis())
await until(() => answerA !== "", 2000)
console.log("mdns A " + answerA)
ask("_http._tcp.local", 12, ds.millis())
await until(() => answerPtr !== "", 2000)
console.log("mdns PTR " + answerPtr)
// the lease renews at T1 (30 s) by unicast: still bound, with a second ACK
await until(() => acks >= 2, 40000)
console.log("renewed " + acks + " " + (dhcp.state === DhcpState.Bound ? "bound" : "not bound"))
const d = dev.counters.drops
console.log("drops badDhcp " + d[Reason.BadDhcp] + " badMdns " + d[Reason.BadMdns] + " internal " + d[Reason.InternalError] + " link " + link.dropped)
console.log("done")
