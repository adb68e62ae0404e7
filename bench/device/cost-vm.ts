// `npm run bench:device`, opcodes (bench/device.ts runs this in the
// DeviceScript VM with GC stress off, as on a device). Not a test program.
//
// The device is one Stack with the default limits of src/config.ts but for
// tcpConnections: 2 (see below), serving
// the demo routes (src/app/demo.ts) plus "/small", a route shaped like the
// demo's "/" (a Content-Type and res.end(body)) with a 20-byte body. Its peer
// is bench/device/peer.ts, a raw-frame client, so the device is the only Stack
// here. Two MemoryLinks, one per direction, let the program choose who gets
// frames when: the peer's work is never inside a measured region.
//
// Regions. The program prints "R <label>" and yields, does the device's work,
// yields for SETTLE ms (fibers woken by that work, the HTTP server's, run to
// their next wait), prints "E" and yields. The harness reads the VM's opcode
// counter at the end of the steps that printed "R ..." and "E", so a region
// is the device's work plus a constant (the two yields and the "E" line),
// which the harness subtracts: the "R base" regions, which do nothing.
// "R other" regions are device work that is not one of the figures
// (handshakes, timers, the ACKs of /bytes): they count for the worst fiber
// turn only. Lines "V ..." report what a region did (frames sent, bytes).
import * as ds from "@devicescript/core"
import { Stack } from "../../src/stack.js"
import { MemoryLink } from "../../src/drivers/memory-link.js"
import { Xoshiro128 } from "../../src/random.js"
import { parseIp, parseMac } from "../../src/wire/bytes.js"
import { finishChecksum, internetChecksum, onesSum, pseudoHeaderSum } from "../../src/wire/checksum.js"
import { Net } from "../../src/socket/socket.js"
import { startDemo } from "../../src/app/demo.js"
import { IncomingRequest } from "../../src/http/server.js"
import { ServerResponse } from "../../src/http/response.js"
import { deviceSocketHost } from "../../src/device/socket-host.js"
import { TcpConnection } from "../../src/tcp/connection.js"
import { Peer, PeerConn } from "./peer.js"
import { FiberSignal } from "../../src/device/signal.js"

function pattern(n: number): Buffer {
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 255
    return b
}

const MTU = 1500
const FRAME = 1514
const SEGMENT = 1460
/** Unmeasured rounds before the measured ones (slow start, first-use costs). */
const WARMUP = 4
/** Measured rounds of each kind. */
const ROUNDS = 20
/** Virtual ms a region waits for the fibers its work woke. */
const SETTLE = 2
const SMALL_BODY = "hello from ds-tcpip\n"

const peerMac = parseMac("02:00:00:00:00:01")
const devMac = parseMac("02:00:00:00:00:02")
const peerIp = parseIp("198.18.0.1")
const devIp = parseIp("198.18.0.2")
const toDevice = new MemoryLink(2, FRAME)
const toPeer = new MemoryLink(3, FRAME)
const peerTx = toDevice.port(peerMac, MTU)
const devRx = toDevice.port(devMac, MTU)
const devTx = toPeer.port(devMac, MTU)
const peerRx = toPeer.port(peerMac, MTU)
// allocated first, once: allocated later (between live objects, with garbage
// collected only when an allocation fails) they ran out of heap with GC
// stress off, though under GC stress this program peaks at 57 KB live
const data = pattern(FRAME)
const scratch = Buffer.alloc(2048)
const peer = new Peer(peerTx, peerIp, devMac, devIp, FRAME)
toPeer.attach(peerRx, peer)

// The default limits but for the pool: 4 connections (23 KB of rings) with
// the demo, the peer and the links do not fit in the 64 KiB heap, and this
// program uses 2 at a time. (The heap figures use the defaults unchanged.)
const a = new Stack({ driver: devTx, ip: devIp, netmask: parseIp("255.255.255.0"), random: new Xoshiro128(2), limits: { tcpConnections: 2 } })
toDevice.attach(devRx, a)
const log = (line: string) => console.log(line)
const kick = new FiberSignal()
const host = deviceSocketHost(kick, log)
const server = startDemo(new Net(a, host), a, {})
server.get("/small", async (req: IncomingRequest, res: ServerResponse) => {
    res.setHeader("Content-Type", "text/plain")
    await res.end(SMALL_BODY)
})

let polls = 0
let sink = 0

async function begin(label: string) {
    console.log(label)
    await ds.sleep(1)
}

async function end() {
    await ds.sleep(SETTLE)
    console.log("E")
    await ds.sleep(1)
}

/** One turn of the device's network loop (src/device/runner.ts): up to 2 frames, then the timers that are due. */
function networkTurn() {
    const now = ds.millis()
    toDevice.deliver(now, 2)
    const d = a.nextDeadline()
    if (d >= 0 && d <= now) {
        a.poll(now)
        polls++
    }
}

/**
 * Until nothing moves: the peer takes the device's frames (outside any
 * region), the device takes the peer's and runs its due timers in "R other"
 * regions.
 */
async function settle(): Promise<boolean> {
    for (let i = 0; i < 2000; i++) {
        if (toPeer.pending() > 0) toPeer.deliver(ds.millis(), toPeer.pending())
        const d = a.nextDeadline()
        if (toDevice.pending() === 0 && !(d >= 0 && d <= ds.millis())) return true
        await begin("R other")
        networkTurn()
        await end()
    }
    console.log("settle stalled")
    return false
}

async function baseline() {
    for (let i = 0; i < ROUNDS; i++) {
        await begin("R base")
        await end()
    }
}

/** The checksums of a received or sent full segment alone: the IPv4 header's, and the TCP segment's with the pseudo-header. */
async function checksums(frame: Buffer) {
    for (let i = 0; i < ROUNDS; i++) {
        await begin("R cksum")
        sink ^= internetChecksum(frame, 14, 20)
        sink ^= finishChecksum(onesSum(frame, 34, 20 + SEGMENT, pseudoHeaderSum(peerIp, devIp, 6, 20 + SEGMENT)))
        await end()
    }
}

/** An idle turn of the network loop: nothing to deliver, no timer due. */
async function idleTurns() {
    for (let i = 0; i < ROUNDS; i++) {
        await begin("R idle")
        networkTurn()
        await end()
    }
}

let bulkPeer: PeerConn = null
let bulkConn: TcpConnection = null
let requestLength = 0
let responseLength = 0

async function bulk(): Promise<boolean> {
    const listener = a.tcp.listen(7000, 1)
    const pc = peer.conn(40000, 7000, 1000000)
    bulkPeer = pc
    peer.connect(pc)
    if (!(await settle())) return false
    const dc = a.tcp.accept(listener)
    bulkConn = dc
    if (!dc || !pc.established) {
        console.log("bulk connection failed")
        return false
    }
    const rx = scratch
    // the peer sends 1460-byte segments; the device's application reads each
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
        const m = i >= WARMUP
        if (pc.window() < SEGMENT) {
            console.log("device window closed: " + pc.window())
            return false
        }
        peer.send(pc, data, 0, SEGMENT)
        await begin(m ? "R rx" : "R other")
        toDevice.deliver(ds.millis(), 1)
        await end()
        const f1 = toPeer.pending()
        await begin(m ? "R rxread" : "R other")
        const n = a.tcp.recv(dc, rx, 0, rx.length, ds.millis())
        await end()
        const f2 = toPeer.pending()
        if (m) console.log("V rx " + f1 + " " + (f2 - f1) + " " + n)
        if (!(await settle())) return false
    }
    // the device's application sends 1460 bytes into an open window; the peer ACKs each segment
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
        const m = i >= WARMUP
        if (dc.sendRing.length !== 0) {
            console.log("send ring not empty: " + dc.sendRing.length)
            return false
        }
        const before = pc.received
        await begin(m ? "R tx" : "R other")
        const taken = a.tcp.send(dc, data, 0, SEGMENT, ds.millis())
        await end()
        const f = toPeer.pending()
        toPeer.deliver(ds.millis(), f)
        if (m) console.log("V tx " + f + " " + taken + " " + (pc.received - before))
        peer.ack(pc)
        await begin(m ? "R txack" : "R other")
        toDevice.deliver(ds.millis(), 1)
        await end()
        if (!(await settle())) return false
    }
    return true
}

function request(path: string): Buffer {
    return Buffer.from("GET " + path + " HTTP/1.1\r\nHost: 198.18.0.2\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n")
}

/** Keep-alive GETs on one connection: the request carries the ACK of the previous response, as a real client's does. */
async function requests(pc: PeerConn, path: string, label: string): Promise<boolean> {
    const req = request(path)
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
        const m = i >= WARMUP
        const before = pc.received
        pc.lastStatus = 0
        peer.send(pc, req, 0, req.length)
        await begin(m ? label : "R other")
        toDevice.deliver(ds.millis(), 1)
        await end()
        const f = toPeer.pending()
        if (!(await settle())) return false
        if (m) console.log("V " + label.slice(2) + " " + f + " " + (pc.received - before) + " " + pc.lastStatus)
        requestLength = req.length
        responseLength = pc.received - before
        if (pc.lastStatus !== 200 || pc.reset) {
            console.log("GET " + path + " failed: status " + pc.lastStatus)
            return false
        }
    }
    return true
}

/**
 * The stack's share of a keep-alive request, on the raw connection of
 * bulk(): a segment as long as the request in, the application's read, a
 * segment as long as the response out (carrying the ACK, as the response
 * does); the next segment in carries the ACK of that one.
 */
async function exchange(pc: PeerConn, dc: TcpConnection, inLen: number, outLen: number): Promise<boolean> {
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
        const m = i >= WARMUP
        peer.send(pc, data, 0, inLen)
        await begin(m ? "R xrx" : "R other")
        toDevice.deliver(ds.millis(), 1)
        await end()
        const f1 = toPeer.pending()
        await begin(m ? "R xread" : "R other")
        const n = a.tcp.recv(dc, scratch, 0, scratch.length, ds.millis())
        await end()
        await begin(m ? "R xtx" : "R other")
        const taken = a.tcp.send(dc, data, 0, outLen, ds.millis())
        await end()
        const f2 = toPeer.pending()
        if (m) console.log("V exchange " + f1 + " " + f2 + " " + n + " " + taken)
        if (!(await settle())) return false
    }
    return true
}

async function http(pc: PeerConn): Promise<boolean> {
    if (!(await requests(pc, "/small", "R req"))) return false
    const small = responseLength
    const smallReq = requestLength
    // a response of about a segment (the old page size: the dashboard is 3.8 KB now, more than this
    // program's peer takes without ACKing)
    if (!(await requests(pc, "/bytes/1100", "R page"))) return false
    // a long response, for the worst fiber turn: the peer ACKs every segment
    pc.autoAck = true
    const before = pc.received
    const req = request("/bytes/100000")
    peer.send(pc, req, 0, req.length)
    if (!(await settle())) return false
    pc.autoAck = false
    console.log("V bytes " + (pc.received - before) + " " + pc.lastStatus)
    responseLength = small
    requestLength = smallReq
    return true
}

async function main() {
    a.start(ds.millis())
    peer.arpRequest()
    if (!(await settle())) return
    // the HTTP connection first: with its 2 KB input buffer allocated after the
    // bulk phase, the program ran out of heap (GC stress off)
    const web = peer.conn(40001, 80, 2000000)
    peer.connect(web)
    if (!(await settle()) || !web.established) {
        console.log("http connection failed")
        return
    }
    await baseline()
    await idleTurns()
    await checksums(data)
    if (!(await bulk())) return
    if (!(await http(web))) return
    if (!(await exchange(bulkPeer, bulkConn, requestLength, responseLength))) return
    await baseline()
    console.log("V end " + polls + " " + toDevice.dropped + " " + toPeer.dropped + " " + (sink & 1))
}

try {
    await main()
} catch (e) {
    console.log("exception " + e)
}
console.log("done")
