// Runs in the DeviceScript VM (test/vm/soak.test.ts): the device's stack and
// HTTP server (2 connections, as the firmware) and a client stack in one
// program over a MemoryLink, with the firmware's network loop and fibers.
//   0. The head parser on the device: "parser 200 400 400" (every tchar in a
//      field name; a byte above 127 in one; a bare LF).
//   1. The exhaustion policy (issue 13): 3 connections that send nothing,
//      then 2 that drip a header byte a second, hold the server's pool; a new
//      client's wait for its answer is printed ("idle wait N ms", "drip wait
//      N ms"); then everything is closed: "pool device 0 client 0 http active 0".
//   2. Sequential HTTP connections (GET /hello, Connection: close) until the
//      host stops the VM, each response byte-exact (equal to the first);
//      "soak N" every 100, so the host can read the GC heap between them.
// A failure prints a line with FAILED, then "done".
import * as ds from "@devicescript/core"
import { Stack } from "../../src/stack.js"
import { MemoryLink } from "../../src/drivers/memory-link.js"
import { Xoshiro128 } from "../../src/random.js"
import { parseIp, parseMac } from "../../src/wire/bytes.js"
import { Net, TcpSocket } from "../../src/socket/socket.js"
import { HttpServer, IncomingRequest } from "../../src/http/server.js"
import { ServerResponse } from "../../src/http/response.js"
import { deviceSocketHost } from "../../src/device/socket-host.js"
import { runNetwork } from "../../src/device/runner.js"
import { FiberSignal } from "../../src/device/signal.js"

const log = (line: string) => console.log(line)
const kick = new FiberSignal()
// the heap is 64 KiB for both stacks, the server and the clients: 576-byte IP packets
const MTU = 576
const link = new MemoryLink(4, MTU + 14)
link.onQueued = () => kick.emit(true)
const netmask = parseIp("255.255.255.0")
const devicePort = link.port(parseMac("02:00:00:00:00:02"), MTU)
const clientPort = link.port(parseMac("02:00:00:00:00:01"), MTU)
const deviceIp = parseIp("198.18.0.2")
const device = new Stack({
    driver: devicePort,
    ip: deviceIp,
    netmask,
    random: new Xoshiro128(2),
    limits: { mtu: MTU, tcpConnections: 2, tcpSendBuffer: 1024, tcpRecvBuffer: 1024, arpEntries: 2, arpQueueFrames: 1, tcpMslMs: 100 },
})
const client = new Stack({
    driver: clientPort,
    ip: parseIp("198.18.0.1"),
    netmask,
    random: new Xoshiro128(1),
    limits: { mtu: MTU, tcpConnections: 4, tcpSendBuffer: 536, tcpRecvBuffer: 536, arpEntries: 2, arpQueueFrames: 1, tcpMslMs: 100 },
})
link.attach(devicePort, device)
link.attach(clientPort, client)
const host = deviceSocketHost(kick, log)
runNetwork([device, client], link, kick, 2, log)
device.start(ds.millis())
client.start(ds.millis())
const server = new HttpServer(new Net(device, host), null, { maxHeaderBytes: 256, maxHeaders: 8 })
server.get("/hello", async (req: IncomingRequest, res: ServerResponse) => {
    await res.send(200, "hello from the device\n")
})
server.listen(80)
const net = new Net(client, host)

const REQUEST = Buffer.from("GET /hello HTTP/1.1\r\nHost: device\r\nConnection: close\r\n\r\n")
const response = Buffer.alloc(512)
let first: Buffer = null

/** One GET /hello on a new connection: true when the answer is byte-exact. */
async function getOnce(): Promise<boolean> {
    let s: TcpSocket = null
    let n = 0
    try {
        s = await net.connect(deviceIp, 80, 5000)
        await s.write(REQUEST)
        for (;;) {
            const k = await s.read(response, n, response.length - n, 5000)
            if (k === 0) break
            n += k
        }
        s.close()
    } catch (e) {
        if (s) s.abort()
        return false
    }
    if (!first) {
        first = response.slice(0, n)
        return first.toString().startsWith("HTTP/1.1 200 OK\r\n") && first.toString().endsWith("\r\n\r\nhello from the device\n")
    }
    if (n !== first.length) return false
    for (let i = 0; i < n; i++) if (response[i] !== first[i]) return false
    return true
}

/** The status code a raw request gets, or "none". */
async function statusOf(raw: string): Promise<string> {
    try {
        const s = await net.connect(deviceIp, 80, 5000)
        await s.write(Buffer.from(raw))
        let n = 0
        for (;;) {
            const k = await s.read(response, n, response.length - n, 5000)
            if (k === 0) break
            n += k
        }
        s.close()
        return n >= 12 ? response.slice(9, 12).toString() : "none"
    } catch (e) {
        return "none"
    }
}

/** A legitimate client: tries until it has its answer (10 s at most); returns the ms it waited, or -1. */
async function legitimateWait(): Promise<number> {
    const t0 = ds.millis()
    while (ds.millis() - t0 < 10000) if (await getOnce()) return ds.millis() - t0
    return -1
}

let stopAttack = false

/** Holds a connection, sending nothing (or a header byte a second when drip), until stopAttack. */
async function attacker(drip: boolean): Promise<void> {
    const head = Buffer.from("GET /hello HTTP/1.1\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
    while (!stopAttack) {
        let s: TcpSocket = null
        try {
            s = await net.connect(deviceIp, 80, 3000)
            for (let i = 0; !stopAttack && !s.ended(); i++) {
                if (drip) await s.write(head, i % head.length, 1)
                await ds.sleep(1000)
            }
        } catch (e) {
            // reset or refused: come back
        }
        if (s) s.abort()
        await ds.sleep(100)
    }
}

function startAttackers(count: number, drip: boolean): void {
    for (let i = 0; i < count; i++) {
        host.spawn(async () => {
            await attacker(drip)
        })
    }
}

async function stopAttackers(): Promise<void> {
    stopAttack = true
    await ds.sleep(3000)
    stopAttack = false
}

async function main(): Promise<void> {
    await ds.sleep(1)
    // the parser on the device: every tchar in a field name; a byte above 127 in one; a bare LF
    const a = await statusOf("GET /hello HTTP/1.1\r\nHost: d\r\nX-az!#$%&'*+-.^_`|~09AZ: 1\r\nConnection: close\r\n\r\n")
    const b = await statusOf("GET /hello HTTP/1.1\r\nHost: d\r\nX\u00e9: 1\r\nConnection: close\r\n\r\n")
    const c = await statusOf("GET /hello HTTP/1.1\r\nHost: d\nConnection: close\r\n\r\n")
    console.log("parser " + a + " " + b + " " + c)
    startAttackers(3, false)
    await ds.sleep(3000)
    console.log("idle wait " + (await legitimateWait()) + " ms")
    await stopAttackers()
    startAttackers(2, true)
    await ds.sleep(3000)
    console.log("drip wait " + (await legitimateWait()) + " ms")
    await stopAttackers()
    // TIME-WAIT (2 x 100 ms) and the server's lingering closes end
    await ds.sleep(3000)
    console.log("pool device " + device.tcp.inUseCount() + " client " + client.tcp.inUseCount() + " http active " + server.stats.connectionsActive)
    // the soak: until the host has seen enough
    for (let i = 1; ; i++) {
        if (!(await getOnce())) {
            console.log("soak FAILED at connection " + i)
            return
        }
        if (i % 100 === 0) console.log("soak " + i)
    }
}

host.spawn(async () => {
    await main()
    console.log("done")
})
