// Connection life cycles between two ds-tcpip stacks on the simulator:
// many connections in sequence, every close order, and a SYN flood.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { pair, runAsync, parseIp, SERVER_IP, CLIENT_IP, Pair } from "./sim-helpers.js"
import { TcpSocket } from "../../src/socket/socket.js"
import { Reason } from "../../src/wire/reason.js"
import { SimEndpoint } from "../../src/host/sim/network.js"
import { NetDriver } from "../../src/driver.js"
import { TcpHeader, TCP_SYN, emitTcp } from "../../src/wire/tcp.js"
import { Ipv4Header, emitIpv4 } from "../../src/wire/ipv4.js"
import { parseMac } from "../../src/wire/bytes.js"
import { Xoshiro128 } from "../../src/random.js"

const MSL = 30000

async function readText(sock: TcpSocket): Promise<string> {
    const buf = Buffer.alloc(256)
    const n = await sock.read(buf, 0, buf.length)
    return buf.toString("latin1", 0, n)
}

async function settleAll(p: Pair, maxMs = 4 * MSL) {
    return runAsync(p.sim, () => p.client.tcp.inUseCount() === 0 && p.server.tcp.inUseCount() === 0, maxMs)
}

function noInternalErrors(p: Pair) {
    assert.equal(p.client.counters.drops[Reason.InternalError] + p.server.counters.drops[Reason.InternalError], 0)
}

test("100 connections opened and closed in sequence leave both pools empty", async () => {
    const p = pair(5, { delayMs: 0.5, loss: 0.02 })
    const server = p.serverNet.listen(80)
    let served = 0
    let failure: unknown = null
    ;(async () => {
        for (;;) {
            const s = await server.accept()
            if (!s) return
            const msg = await readText(s)
            await s.write(Buffer.from("re:" + msg))
            // alternate who closes first
            if (served % 2 === 0) s.close()
            else {
                while ((await readText(s)) !== "") {}
                s.close()
            }
            served++
        }
    })().catch((e) => (failure = e))
    let done = 0
    ;(async () => {
        for (let i = 0; i < 100; i++) {
            const s = await p.clientNet.connect(parseIp(SERVER_IP), 80)
            await s.write(Buffer.from("hello " + i))
            assert.equal(await readText(s), "re:hello " + i)
            s.close()
            done++
        }
    })().catch((e) => (failure = e))
    assert.ok(await runAsync(p.sim, () => done === 100 || failure !== null, 600000), "finished")
    if (failure) throw failure
    server.close()
    assert.ok(await settleAll(p), "every TIME-WAIT expired: " + JSON.stringify([p.client.tcp.countByState(), p.server.tcp.countByState()]))
    assert.equal(served, 100)
    assert.equal(p.client.tcp.counters.activeOpens, 100)
    assert.equal(p.server.tcp.counters.passiveOpens, 100)
    // the client pool (4) held TIME-WAITs: the oldest made room for new connections
    assert.ok(p.client.tcp.counters.timeWaitReclaimed > 0)
    noInternalErrors(p)
})

for (const order of ["client first", "server first", "simultaneous"]) {
    test(`close ${order}: both sides end in CLOSED through the right states`, async () => {
        const p = pair(3, { delayMs: 2 }, undefined, true)
        const server = p.serverNet.listen(80)
        let ss: TcpSocket = null
        let cs: TcpSocket = null
        ;(async () => (ss = await server.accept()))()
        ;(async () => (cs = await p.clientNet.connect(parseIp(SERVER_IP), 80)))()
        assert.ok(await runAsync(p.sim, () => ss !== null && cs !== null, 10000))
        if (order === "client first") cs.close()
        else if (order === "server first") ss.close()
        else {
            cs.close()
            ss.close()
        }
        // the passive closer sees the end of the stream, then closes
        let eof = false
        if (order !== "simultaneous") {
            const passive = order === "client first" ? ss : cs
            ;(async () => {
                eof = (await passive.read(Buffer.alloc(16), 0, 16)) === 0
                passive.close()
            })()
            assert.ok(await runAsync(p.sim, () => eof, 10000))
        }
        assert.ok(await settleAll(p))
        const seq = (who: string) => p.logs.filter((l) => l.includes(" " + who + " tcp")).map((l) => l.split(" ").slice(-3).join(" "))
        const c = seq("client")
        const s = seq("server")
        if (order === "client first") {
            assert.deepEqual(c.slice(-4), ["ESTABLISHED -> FIN-WAIT-1", "FIN-WAIT-1 -> FIN-WAIT-2", "FIN-WAIT-2 -> TIME-WAIT", "TIME-WAIT -> CLOSED"])
            assert.deepEqual(s.slice(-3), ["ESTABLISHED -> CLOSE-WAIT", "CLOSE-WAIT -> LAST-ACK", "LAST-ACK -> CLOSED"])
        } else if (order === "server first") {
            assert.deepEqual(s.slice(-4), ["ESTABLISHED -> FIN-WAIT-1", "FIN-WAIT-1 -> FIN-WAIT-2", "FIN-WAIT-2 -> TIME-WAIT", "TIME-WAIT -> CLOSED"])
            assert.deepEqual(c.slice(-3), ["ESTABLISHED -> CLOSE-WAIT", "CLOSE-WAIT -> LAST-ACK", "LAST-ACK -> CLOSED"])
        } else {
            for (const side of [c, s]) {
                assert.deepEqual(side.slice(-4), ["ESTABLISHED -> FIN-WAIT-1", "FIN-WAIT-1 -> CLOSING", "CLOSING -> TIME-WAIT", "TIME-WAIT -> CLOSED"])
            }
        }
        noInternalErrors(p)
    })
}

/** Sends SYNs from the given address with random source ports and ISNs, and ignores everything. */
class SynFlooder implements SimEndpoint {
    sent = 0
    private next = 0
    private readonly tx = Buffer.alloc(14 + 20 + 24)
    private readonly rng = new Xoshiro128(4242)
    constructor(
        private readonly driver: NetDriver,
        private readonly dstMac: Buffer,
        private readonly src: number,
        private readonly dst: number,
        private readonly total: number,
        private readonly intervalMs: number,
    ) {}
    receive(): void {}
    poll(now: number): void {
        if (this.sent >= this.total || now < this.next) return
        const f = this.tx
        this.dstMac.copy(f, 0)
        this.driver.mac.copy(f, 6)
        f.writeUInt16BE(0x0800, 12)
        const t = new TcpHeader()
        t.srcPort = 1024 + (this.rng.nextU32() % 60000)
        t.dstPort = 80
        t.seq = this.rng.nextU32()
        t.flags = TCP_SYN
        t.window = 64240
        t.mss = 1460
        const hl = emitTcp(t, f, 34, this.src, this.dst, 0)
        const ip = new Ipv4Header()
        ip.headerLength = 20
        ip.totalLength = 20 + hl
        ip.id = this.sent & 0xffff
        ip.ttl = 64
        ip.protocol = 6
        ip.src = this.src
        ip.dst = this.dst
        emitIpv4(ip, f, 14)
        this.driver.transmit(f, 14 + 20 + hl)
        this.sent++
        this.next = now + this.intervalMs
    }
    nextDeadline(): number {
        return this.sent < this.total ? this.next : -1
    }
}

test("a SYN flood from spoofed ports does not stop a legitimate client (SYN cookies)", async () => {
    const p = pair(9, { delayMs: 0.5 })
    // the server learns the flooder's MAC from its gratuitous ARP-less SYNs only through ARP: give it one
    const flooder = p.sim.addHost("flooder", parseMac("02:00:00:00:00:66"), (d) => new SynFlooder(d, parseMac("02:00:00:00:00:02"), parseIp("198.18.0.66"), parseIp(SERVER_IP), 5000, 0.2))
    void flooder
    const server = p.serverNet.listen(80)
    let served = 0
    ;(async () => {
        for (;;) {
            const s = await server.accept()
            if (!s) return
            const buf = Buffer.alloc(64)
            const n = await s.read(buf, 0, 64)
            await s.write(buf.subarray(0, n))
            s.close()
            served++
        }
    })()
    let ok = 0
    let failure: unknown = null
    ;(async () => {
        for (let i = 0; i < 5; i++) {
            await new Promise<void>((r) => p.sim.after(100, r))
            const s = await p.clientNet.connect(parseIp(SERVER_IP), 80, 30000)
            await s.write(Buffer.from("legit " + i))
            assert.equal(await readText(s), "legit " + i)
            s.close()
            ok++
        }
    })().catch((e) => (failure = e))
    assert.ok(await runAsync(p.sim, () => ok === 5 || failure !== null, 120000), "legitimate client served")
    if (failure) throw failure
    const t = p.server.tcp.counters
    assert.ok(t.synCookiesSent > 1000, `cookies sent: ${t.synCookiesSent}`)
    assert.ok(t.synCookiesAccepted >= 1, `cookies accepted: ${t.synCookiesAccepted}`)
    assert.equal(served, 5)
    assert.ok(p.server.tcp.inUseCount() <= p.server.limits.tcpConnections)
    noInternalErrors(p)
    void CLIENT_IP
})
