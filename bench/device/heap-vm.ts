// Heap cost of a Stack and of each TCP connection, measured in the
// DeviceScript VM (run with GC stress on, so the heap holds only live data).
// The harness reads the heap at each line it prints.
import * as ds from "@devicescript/core"
import { Stack } from "../../src/stack.js"
import { MemoryLink } from "../../src/drivers/memory-link.js"
import { Xoshiro128 } from "../../src/random.js"
import { parseIp, parseMac } from "../../src/wire/bytes.js"

const link = new MemoryLink(1, 64)
const netmask = parseIp("255.255.255.0")

function make(n: number, last: number): Stack {
    return new Stack({
        driver: link.port(parseMac("02:00:00:00:00:0" + last), 1500),
        ip: parseIp("198.18.0." + last),
        netmask,
        random: new Xoshiro128(last),
        limits: { tcpConnections: n },
    })
}

console.log("base")
await ds.sleep(10)
const none = make(0, 1)
console.log("stack0")
await ds.sleep(10)
const four = make(4, 2)
console.log("stack4")
await ds.sleep(10)
console.log("kept " + none.limits.tcpConnections + " " + four.limits.tcpConnections)
console.log("done")
