// Runs in the DeviceScript VM (test/vm/vm.test.ts): two Stacks joined by a
// small frame queue; A pings B five times with 56-byte payloads and prints
// "reply <seq> <len>" for every echo reply, then "done".
import * as ds from "@devicescript/core"
import { Stack } from "../../src/stack.js"
import { NetDriver } from "../../src/driver.js"
import { Xoshiro128 } from "../../src/random.js"
import { copyBytes, parseIp, parseMac } from "../../src/wire/bytes.js"

const QUEUE_MAX = 8

class Queued {
    frame: Buffer
    toA: boolean
    constructor(frame: Buffer, toA: boolean) {
        this.frame = frame
        this.toA = toA
    }
}

const queue: Queued[] = []
let dropped = 0

class LinkDriver implements NetDriver {
    readonly mac: Buffer
    readonly mtu = 1500
    private readonly toA: boolean
    constructor(mac: Buffer, toA: boolean) {
        this.mac = mac
        this.toA = toA
    }
    transmit(frame: Buffer, length: number): void {
        if (queue.length >= QUEUE_MAX) {
            dropped++
            return
        }
        const copy = Buffer.alloc(length)
        copyBytes(copy, 0, frame, 0, length)
        queue.push(new Queued(copy, this.toA))
    }
}

const ipA = parseIp("198.18.0.1")
const ipB = parseIp("198.18.0.2")
const netmask = parseIp("255.255.255.0")
// two stacks share one 64 KiB heap here: keep their TCP pools small
const limits = { tcpConnections: 1, tcpSendBuffer: 1024, tcpRecvBuffer: 1024, arpQueueFrames: 1 }
const a = new Stack({
    driver: new LinkDriver(parseMac("02:00:00:00:00:01"), false),
    ip: ipA,
    netmask,
    random: new Xoshiro128(1),
    limits,
})
const b = new Stack({
    driver: new LinkDriver(parseMac("02:00:00:00:00:02"), true),
    ip: ipB,
    netmask,
    random: new Xoshiro128(2),
    limits,
})

let replies = 0
a.onEchoReply = (src, id, seq, payload, off, len, now) => {
    replies++
    console.log("reply " + seq + " " + len)
}

function deliver(now: number) {
    let n = 0
    while (queue.length > 0 && n < 64) {
        const q = queue.shift()
        if (q.toA) a.receive(q.frame, now)
        else b.receive(q.frame, now)
        n++
    }
    a.poll(now)
    b.poll(now)
}

a.start(ds.millis())
b.start(ds.millis())
deliver(ds.millis())
for (let seq = 1; seq <= 5; seq++) {
    if (!a.ping(ipB, 0x4242, seq, 56, ds.millis())) console.log("ping " + seq + " not sent")
    await ds.sleep(10)
    deliver(ds.millis())
}
for (let i = 0; i < 10 && replies < 5; i++) {
    await ds.sleep(10)
    deliver(ds.millis())
}
console.log("dropped " + dropped)
console.log("done")
