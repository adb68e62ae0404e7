// `npm run bench:device`, heap (bench/device.ts runs this in the DeviceScript
// VM with GC stress ON: a full GC at every allocation, so the heap holds only
// live objects when the harness reads it). Not a test program.
//
// The device: a Stack with the default limits of src/config.ts, the HTTP
// server of src/http/server.ts with default options and one route shaped like
// the demo's "/" (a Content-Type and res.end(body), 20-byte body), and 4 open
// keep-alive connections, each having served one GET and waiting for the
// next. The peer (bench/device/peer.ts, a raw-frame client) and the links are
// built before "H base", so the harness can subtract them. The harness reads
// the heap at each "H ..." line (the program yields right after each).
import * as ds from "@devicescript/core"
import { Stack } from "../../src/stack.js"
import { NetDriver } from "../../src/driver.js"
import { Xoshiro128 } from "../../src/random.js"
import { parseIp, parseMac } from "../../src/wire/bytes.js"
import { Net } from "../../src/socket/socket.js"
import { HttpServer, IncomingRequest } from "../../src/http/server.js"
import { ServerResponse } from "../../src/http/response.js"
import { deviceSocketHost } from "../../src/device/socket-host.js"
import { FramePort, Peer, PeerConn } from "./peer.js"
import { FiberSignal } from "../../src/device/signal.js"

const CONNECTIONS = 4

async function mark(line: string) {
    console.log(line)
    await ds.sleep(10)
}

await mark("H start")

const MTU = 1500
const peerMac = parseMac("02:00:00:00:00:01")
const devMac = parseMac("02:00:00:00:00:02")
const peerIp = parseIp("198.18.0.1")
const devIp = parseIp("198.18.0.2")
const netmask = parseIp("255.255.255.0")

// No MemoryLink here: its slots would leave too little heap for the device.
// The device's frames go straight to the peer, which only records them (or
// puts one answer in its slot); the peer's frame waits in one slot until the
// program hands it to the device. Small frames only (handshakes, GETs, short
// responses).

/** @devsWhenUsed */
class PeerSlot implements FramePort {
    readonly mac = peerMac
    buf = Buffer.alloc(300)
    /** The buffer being delivered: the device may answer (and the peer fill buf) while it reads. */
    spare = Buffer.alloc(300)
    length = 0
    dropped = 0
    transmit(frame: Buffer, length: number): void {
        if (this.length > 0 || length > this.buf.length) {
            this.dropped++
            return
        }
        this.buf.blitAt(0, frame, 0, length)
        this.length = length
    }
}

/** @devsWhenUsed */
class DeviceWire implements NetDriver {
    readonly mac = devMac
    readonly mtu = MTU
    transmit(frame: Buffer, length: number): void {
        peer.receive(frame, 0, length)
    }
}

const slot = new PeerSlot()
const peer = new Peer(slot, peerIp, devMac, devIp, 300)
const wire = new DeviceWire()
const conns: PeerConn[] = []
for (let i = 0; i < CONNECTIONS; i++) conns.push(peer.conn(41000 + i, 80, 3000000 + i * 100000))
const req = Buffer.from("GET / HTTP/1.1\r\nHost: 198.18.0.2\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n")
const log = (line: string) => console.log(line)
const kick = new FiberSignal()

await mark("H base")

let s0 = new Stack({ driver: wire, ip: devIp, netmask, random: new Xoshiro128(3), limits: { tcpConnections: 0 } })
await mark("H stack0 " + s0.limits.tcpConnections)
s0 = null
await mark("H freed")

const a = new Stack({ driver: wire, ip: devIp, netmask, random: new Xoshiro128(2) })
await mark("H stack " + a.limits.tcpConnections)

const server = new HttpServer(new Net(a, deviceSocketHost(kick, log)), null)
server.get("/", async (req: IncomingRequest, res: ServerResponse) => {
    res.setHeader("Content-Type", "text/plain")
    await res.end("hello from ds-tcpip\n")
})
server.listen(80)
a.start(ds.millis())
peer.arpRequest()

/** Hands the peer's frame to the device and runs the device's timers until nothing moves. */
async function settle(): Promise<boolean> {
    for (let i = 0; i < 1000; i++) {
        const now = ds.millis()
        const d = a.nextDeadline()
        const due = d >= 0 && d <= now
        if (slot.length === 0 && !due) return true
        if (slot.length > 0) {
            const n = slot.length
            const b = slot.buf
            slot.buf = slot.spare
            slot.spare = b
            slot.length = 0
            a.receive(b, now, n)
        }
        if (due) a.poll(now)
        await ds.sleep(2)
    }
    console.log("settle stalled")
    return false
}

async function main() {
    if (!(await settle())) return
    await mark("H server")
    for (let i = 0; i < CONNECTIONS; i++) {
        const c = conns[i]
        peer.connect(c)
        if (!(await settle()) || !c.established) {
            console.log("connection " + i + " failed")
            return
        }
        peer.send(c, req, 0, req.length)
        if (!(await settle()) || c.lastStatus !== 200 || c.reset) {
            console.log("GET / on connection " + i + " failed: " + c.lastStatus)
            return
        }
        // the response's ACK, as a client's delayed ACK would send it
        peer.ack(c)
        if (!(await settle())) return
        await mark("H conn" + (i + 1))
    }
    await mark("H conns " + a.tcp.inUseCount() + " " + server.stats.connectionsActive + " " + slot.dropped)
}

try {
    await main()
} catch (e) {
    console.log("exception " + e)
}
console.log("done")
