// Runs in the DeviceScript VM (test/vm/vm.test.ts): two Stacks joined by a
// MemoryLink; A pings B five times with 56-byte payloads and prints
// "reply <seq> <len>" for every echo reply, then "dropped N" (frames the
// link's queue refused) and "done".
import * as ds from "@devicescript/core"
import { Stack } from "../../src/stack.js"
import { MemoryLink } from "../../src/drivers/memory-link.js"
import { Xoshiro128 } from "../../src/random.js"
import { parseIp, parseMac } from "../../src/wire/bytes.js"

const MTU = 1500
const ETH_HEADER = 14

const link = new MemoryLink(8, ETH_HEADER + MTU)
const portA = link.port(parseMac("02:00:00:00:00:01"), MTU)
const portB = link.port(parseMac("02:00:00:00:00:02"), MTU)

const ipA = parseIp("198.18.0.1")
const ipB = parseIp("198.18.0.2")
const netmask = parseIp("255.255.255.0")
// two stacks share one 64 KiB heap here: keep their TCP pools small
const limits = { tcpConnections: 1, tcpSendBuffer: 1024, tcpRecvBuffer: 1024, arpQueueFrames: 1 }
const a = new Stack({ driver: portA, ip: ipA, netmask, random: new Xoshiro128(1), limits })
const b = new Stack({ driver: portB, ip: ipB, netmask, random: new Xoshiro128(2), limits })
link.attach(portA, a)
link.attach(portB, b)

let replies = 0
a.onEchoReply = (src, id, seq, payload, off, len, now) => {
    replies++
    console.log("reply " + seq + " " + len)
}

function deliver(now: number) {
    link.deliver(now, 64)
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
console.log("dropped " + link.dropped)
console.log("done")
