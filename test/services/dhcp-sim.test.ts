// The DHCP client against the test DHCP server (src/host/dhcp-server.ts) in
// the simulator, on virtual time: a lease, renewal at T1, rebinding at T2,
// NAK, lost and duplicated packets, an ARP conflict leading to DECLINE, two
// devices on one link, INIT-REBOOT, and a connection cut by a lost address.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { Simulator } from "../../src/host/sim/network.js"
import { addStackHost } from "../../src/host/sim/stack-host.js"
import { SimSocketHost, runAsync } from "../../src/host/sim/async.js"
import { TestDhcpServer } from "../../src/host/dhcp-server.js"
import { DhcpClient, DhcpState, startDhcp } from "../../src/services/dhcp.js"
import { DhcpType } from "../../src/wire/dhcp.js"
import { parseIp, ipToString } from "../../src/wire/bytes.js"
import { Reason } from "../../src/wire/reason.js"
import { Net, SocketError, TcpSocket } from "../../src/socket/socket.js"
import { Stack } from "../../src/stack.js"

const SERVER = parseIp("198.18.0.1")
const POOL = parseIp("198.18.0.100")

function rig(opts: { leaseTime?: number; seed?: number; clients?: number; probes?: number } = {}) {
    const sim = new Simulator({ seed: opts.seed ?? 1 })
    const s = addStackHost(sim, "server", { ip: "198.18.0.1", mac: "02:00:00:00:00:01" })
    const server = new TestDhcpServer(s.endpoint, {
        first: POOL,
        last: POOL + 9,
        netmask: parseIp("255.255.255.0"),
        router: SERVER,
        dns: [parseIp("198.18.0.53"), parseIp("198.18.0.54")],
        leaseTime: opts.leaseTime ?? 600,
    })
    s.endpoint.start(0)
    const clients: { stack: Stack; dhcp: DhcpClient; log: string[] }[] = []
    for (let i = 0; i < (opts.clients ?? 1); i++) {
        const log: string[] = []
        const h = addStackHost(sim, "dev" + i, {
            ip: "0.0.0.0",
            netmask: "0.0.0.0",
            mac: "02:00:00:00:01:0" + i,
            seed: 100 + i,
            log: (l) => log.push(sim.now + " " + l),
        })
        const dhcp = new DhcpClient(h.endpoint, { hostName: "dev" + i, probes: opts.probes })
        clients.push({ stack: h.endpoint, dhcp, log })
    }
    return { sim, server, serverStack: s.endpoint, clients }
}

function types(server: TestDhcpServer): string {
    const names = ["", "DISCOVER", "OFFER", "REQUEST", "DECLINE", "ACK", "NAK", "RELEASE", "INFORM"]
    return server.received.map((r) => names[r.type]).join(" ")
}

test("a lease: DISCOVER, OFFER, REQUEST, ACK, ARP probes, then the address, mask, router and DNS are in use", () => {
    const { sim, server, clients } = rig()
    const { stack, dhcp } = clients[0]
    stack.start(0)
    dhcp.start(0)
    assert.ok(sim.runUntil(() => dhcp.state === DhcpState.Bound, 60_000), "reached in time")
    assert.equal(types(server), "DISCOVER REQUEST")
    assert.equal(ipToString(stack.ip), "198.18.0.100")
    assert.equal(ipToString(stack.netmask), "255.255.255.0")
    assert.equal(ipToString(stack.gateway), "198.18.0.1")
    assert.deepEqual(dhcp.dns.slice(0, dhcp.dnsCount).map(ipToString), ["198.18.0.53", "198.18.0.54"])
    assert.equal(dhcp.leaseTime, 600)
    // host name (12) and client identifier (61) went out
    assert.equal(server.received[0].hostName, "dev0")
    assert.ok(server.received[0].clientId, "client id")
    // RFC 5227: three probes (sender 0.0.0.0) before the address was used, ~3-6 s after the ACK
    const ack = server.sent.find((m) => m.type === DhcpType.Ack)
    assert.ok(sim.now - ack.at >= 4000 && sim.now - ack.at <= 6000, `bound ${sim.now - ack.at} ms after the ACK`)
    // it answers ping at the new address
    let replied = 0
    sim.at(sim.now + 10, () => server.stack.ping(stack.ip, 1, 1, 8, sim.now))
    server.stack.onEchoReply = () => replied++
    sim.runFor(1000)
    assert.equal(replied, 1)
    assert.equal(stack.counters.drops[Reason.BadDhcp], 0)
})

test("renewal at T1 is unicast to the server; rebinding at T2 is broadcast when the server is silent; the lease ends at expiry", () => {
    const { sim, server, clients } = rig({ leaseTime: 400 })
    const { stack, dhcp } = clients[0]
    const requestDst: { at: number; dst: string }[] = []
    sim.onFrame((host, dir, f) => {
        // UDP to port 67 from the device
        if (host === "dev0" && dir === "out" && f[23] === 17 && f.readUInt16BE(36) === 67) requestDst.push({ at: sim.now, dst: ipToString(f.readUInt32BE(30)) })
    })
    stack.start(0)
    dhcp.start(0)
    assert.ok(sim.runUntil(() => dhcp.state === DhcpState.Bound, 60_000), "reached in time")
    const t1 = dhcp.t1At
    assert.equal(t1 - dhcp.expiresAt + 400_000, 200_000, "T1 is half the lease")
    sim.run(t1 - 1)
    assert.equal(server.received.length, 2)
    sim.run(t1 + 1000)
    // renewed: REQUEST unicast with ciaddr, ACK, still bound, lease moved on
    assert.equal(types(server), "DISCOVER REQUEST REQUEST")
    const renew = server.received[2]
    assert.equal(renew.ciaddr, stack.ip)
    assert.equal(renew.serverId, 0)
    assert.equal(requestDst[requestDst.length - 1].dst, "198.18.0.1")
    assert.equal(dhcp.state, DhcpState.Bound)
    assert.ok(dhcp.t1At > t1 + 190_000, "T1 moved")
    // now the server goes silent: RENEWING until T2, then REBINDING by broadcast
    server.silent = true
    const t2 = dhcp.t2At
    sim.run(t2 - 1)
    assert.equal(dhcp.state, DhcpState.Renewing)
    sim.run(t2 + 1)
    assert.equal(dhcp.state, DhcpState.Rebinding)
    assert.equal(requestDst[requestDst.length - 1].dst, "255.255.255.255")
    // renewing requests are at least 60 s apart (RFC 2131 §4.4.5) or meet T2
    const renews = requestDst.filter((r) => r.at > dhcp.t1At - 1 && r.at < t2)
    for (let i = 1; i < renews.length; i++) assert.ok(renews[i].at - renews[i - 1].at >= 60_000 || renews[i].at === t2, "renew spacing")
    // the lease runs out: the address is dropped, DISCOVER again
    const leased = stack.ip
    sim.run(dhcp.expiresAt + 1)
    assert.equal(stack.ip, 0)
    assert.equal(dhcp.state, DhcpState.Selecting)
    // the server comes back: the same address again
    server.silent = false
    assert.ok(sim.runUntil(() => dhcp.state === DhcpState.Bound, 120_000), "reached in time")
    assert.equal(stack.ip, leased)
})

test("rebinding at T2 to another server takes its ACK", () => {
    const { sim, server, clients } = rig({ leaseTime: 400 })
    const { stack, dhcp } = clients[0]
    stack.start(0)
    dhcp.start(0)
    assert.ok(sim.runUntil(() => dhcp.state === DhcpState.Bound, 60_000), "reached in time")
    server.silent = true
    sim.run(dhcp.t2At + 1)
    assert.equal(dhcp.state, DhcpState.Rebinding)
    const rebind = server.received[server.received.length - 1]
    assert.equal(rebind.ciaddr, stack.ip)
    server.silent = false // it answers the next broadcast, as another server would
    const before = dhcp.expiresAt
    assert.ok(sim.runUntil(() => dhcp.state === DhcpState.Bound, 200_000), "reached in time")
    assert.ok(dhcp.expiresAt > before, "lease extended")
    assert.equal(ipToString(stack.ip), "198.18.0.100")
})

test("a renewal that gives another address moves the stack to it", () => {
    const { sim, server, clients } = rig({ leaseTime: 400 })
    const { stack, dhcp } = clients[0]
    stack.start(0)
    dhcp.start(0)
    assert.ok(sim.runUntil(() => dhcp.state === DhcpState.Bound, 60_000), "first lease")
    assert.equal(ipToString(stack.ip), "198.18.0.100")
    // the server renumbers the client: its renewal (ciaddr .100) is ACKed with .105
    server.renumberTo = POOL + 5
    sim.run(dhcp.t1At + 1000)
    assert.equal(dhcp.state, DhcpState.Bound)
    assert.equal(ipToString(stack.ip), "198.18.0.105")
})

test("a NAK on renewal drops the address; DISCOVER gets a new lease", () => {
    const { sim, server, clients } = rig({ leaseTime: 400 })
    const { stack, dhcp } = clients[0]
    let changes: boolean[] = []
    ;(dhcp as any).opts.onChange = (b: boolean) => changes.push(b)
    stack.start(0)
    dhcp.start(0)
    assert.ok(sim.runUntil(() => dhcp.state === DhcpState.Bound, 60_000), "reached in time")
    // the server forgets us and gives our address to someone else
    server.bindings.clear()
    server.bindings.set("02:00:00:00:99:99", POOL)
    server.nakNext = 1
    sim.run(dhcp.t1At + 1)
    assert.ok(server.sent.some((m) => m.type === DhcpType.Nak), "NAK sent")
    assert.ok(sim.runUntil(() => dhcp.state === DhcpState.Bound, 60_000), "reached in time")
    assert.equal(ipToString(stack.ip), "198.18.0.101")
    assert.deepEqual(changes, [true, false, true])
    assert.equal(types(server), "DISCOVER REQUEST REQUEST DISCOVER REQUEST")
})

/** The device restarts: a fresh client on the same stack (same MAC), with no address. */
function reboot(stack: Stack, lastIp: number): DhcpClient {
    stack.services.length = 0
    stack.udpUnbind(68)
    stack.setAddress(0, 0, 0, 0)
    return new DhcpClient(stack, { hostName: "dev0", lastIp })
}

test("INIT-REBOOT: the last address is asked for and kept; a wrong one is NAKed and DISCOVER follows; an unknown client retries then starts over", () => {
    const { sim, server, clients } = rig()
    const { stack, dhcp } = clients[0]
    stack.start(0)
    dhcp.start(0)
    assert.ok(sim.runUntil(() => dhcp.state === DhcpState.Bound, 60_000), "first lease")
    const leased = stack.ip
    // reboot knowing the lease: one REQUEST without server id, ACK, same address
    let again = reboot(stack, leased)
    let from = server.received.length
    again.start(sim.now)
    assert.ok(sim.runUntil(() => again.state === DhcpState.Bound, 60_000), "bound after INIT-REBOOT")
    assert.equal(stack.ip, leased)
    assert.deepEqual(server.received.slice(from).map((r) => [r.type, r.requestedIp, r.serverId, r.ciaddr]), [[DhcpType.Request, leased, 0, 0]])
    // reboot with an address the server did not give us: NAK, then DISCOVER
    again = reboot(stack, parseIp("198.18.0.107"))
    from = server.received.length
    again.start(sim.now)
    assert.ok(sim.runUntil(() => again.state === DhcpState.Bound, 60_000), "bound after the NAK")
    assert.equal(stack.ip, leased)
    assert.equal(types({ received: server.received.slice(from) } as TestDhcpServer), "REQUEST DISCOVER REQUEST")
    // a server that does not know the client stays silent: 4 REQUESTs, then DISCOVER
    server.bindings.clear()
    again = reboot(stack, parseIp("198.18.0.107"))
    from = server.received.length
    again.start(sim.now)
    assert.ok(sim.runUntil(() => again.state === DhcpState.Bound, 120_000), "bound after the silent INIT-REBOOT")
    assert.equal(types({ received: server.received.slice(from) } as TestDhcpServer), "REQUEST REQUEST REQUEST REQUEST DISCOVER REQUEST")
})

test("lost and duplicated packets: retransmissions with backoff; duplicates change nothing", () => {
    for (const seed of [1, 2, 3, 4]) {
        const { sim, server, clients } = rig({ seed })
        const { stack, dhcp } = clients[0]
        sim.setImpairments("dev0", { loss: 0.4, duplicate: 0.3, seed })
        stack.start(0)
        dhcp.start(0)
        assert.ok(sim.runUntil(() => dhcp.state === DhcpState.Bound, 600_000), `seed ${seed}: bound`)
        assert.equal(ipToString(stack.ip), "198.18.0.100")
        assert.equal(server.bindings.size, 1, "one binding however many duplicates")
        // retransmitted DISCOVERs are 3..5 s, 7..9 s, 15..17 s ... apart
        const discovers = server.received.filter((r) => r.type === DhcpType.Discover)
        for (let i = 1; i < discovers.length; i++) {
            if (discovers[i].xid !== discovers[i - 1].xid) continue
            const gap = discovers[i].at - discovers[i - 1].at
            if (gap < 1000) continue // a duplicate
            assert.ok(gap >= 3000 && gap <= 65000, `seed ${seed}: gap ${gap}`)
        }
        assert.equal(stack.counters.drops[Reason.BadDhcp], 0)
    }
})

test("an ARP conflict while probing leads to DECLINE, and 10 s later another address", () => {
    const { sim, server, clients } = rig()
    const { stack, dhcp } = clients[0]
    // a host that already uses the first pool address without a lease
    const squatter = addStackHost(sim, "squatter", { ip: "198.18.0.100", mac: "02:00:00:00:00:66" })
    squatter.endpoint.start(0)
    stack.start(0)
    dhcp.start(1000)
    assert.ok(sim.runUntil(() => dhcp.state === DhcpState.Bound, 120_000), "reached in time")
    assert.equal(types(server), "DISCOVER REQUEST DECLINE DISCOVER REQUEST")
    const decline = server.received[2]
    assert.equal(decline.requestedIp, POOL)
    assert.equal(decline.serverId, SERVER)
    assert.ok(server.received[3].at - decline.at >= 10_000, "waited 10 s")
    assert.equal(ipToString(stack.ip), "198.18.0.101")
    assert.equal(dhcp.declines, 1)
    assert.ok(server.declined.has(POOL), "declined")
})

test("two devices on one link get different addresses", () => {
    const { sim, clients } = rig({ clients: 2 })
    for (const c of clients) {
        c.stack.start(0)
        c.dhcp.start(0)
    }
    assert.ok(sim.runUntil(() => clients.every((c) => c.dhcp.state === DhcpState.Bound), 60_000), "reached in time")
    const ips = clients.map((c) => ipToString(c.stack.ip)).sort()
    assert.deepEqual(ips, ["198.18.0.100", "198.18.0.101"])
    // each saw the other's broadcast replies and ignored them as not theirs
    for (const c of clients) assert.ok(c.stack.counters.drops[Reason.NotForUs] > 0, "saw the other's replies")
})

test("malformed DHCP replies are counted as badDhcp and change nothing", () => {
    const { sim, serverStack, clients } = rig()
    const { stack, dhcp } = clients[0]
    stack.start(0)
    dhcp.start(0)
    assert.ok(sim.runUntil(() => dhcp.state === DhcpState.Bound, 60_000), "reached in time")
    const junk = Buffer.alloc(300, 0xee)
    junk[0] = 2
    sim.at(sim.now + 1, () => serverStack.udpSend(67, 0xffffffff, 68, junk, 0, junk.length, sim.now))
    sim.at(sim.now + 2, () => serverStack.udpSend(67, 0xffffffff, 68, junk, 0, 100, sim.now))
    sim.runFor(100)
    assert.equal(stack.counters.drops[Reason.BadDhcp], 2)
    assert.equal(stack.status().counters.drops.badDhcp, 2, "by name in /status")
    assert.equal(dhcp.state, DhcpState.Bound)
})

test("configured() waits for the lease; a connection on the lost address fails with EADDRNOTAVAIL", async () => {
    const { sim, server, serverStack, clients } = rig({ leaseTime: 400 })
    const { stack } = clients[0]
    const host = new SimSocketHost(sim)
    const net = new Net(stack, host)
    // replace the rig's client with one started through startDhcp
    stack.services.length = 0
    stack.udpUnbind(68)
    stack.start(0)
    const dhcp = startDhcp(net, { hostName: "dev0" })
    let configured: boolean = null
    dhcp.configured(120_000).then((v) => (configured = v))
    await runAsync(sim, () => configured !== null, 120_000)
    assert.equal(configured, true)
    // a TCP connection from the device to the server, then the lease is lost
    const serverNet = new Net(serverStack, new SimSocketHost(sim))
    const listener = serverNet.listen(9000)
    let sock: TcpSocket = null
    net.connect(SERVER, 9000, 10_000).then((s) => (sock = s))
    await runAsync(sim, () => sock !== null, 10_000)
    assert.ok(sock, "connected")
    server.silent = true
    let err: SocketError = null
    const buf = Buffer.alloc(10)
    sock.read(buf, 0, 10).catch((e: SocketError) => (err = e))
    await runAsync(sim, () => err !== null, 500_000)
    assert.equal(err.code, "EADDRNOTAVAIL")
    assert.equal(stack.ip, 0)
    listener.close()
})
