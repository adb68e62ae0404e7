// npm run demo:ping: the simulator with no root and no hardware. Two ds-tcpip hosts
// on a virtual switch resolve each other by ARP and ping, then open a TCP
// connection, exchange a few bytes and close it. Every frame is printed as
// tcpdump would show it (with virtual time), beside each connection's state
// changes as the stacks log them. Options:
//   --count N     pings (default 5)       --size N    payload bytes (default 56)
//   --loss P      loss in % on A's link   --seed N    impairment seed (default 1)
//   --pcap FILE   write a capture that tshark/Wireshark open
import "./buffer-polyfill.js"
import { writeFileSync } from "node:fs"
import { Simulator } from "./sim/network.js"
import { PcapWriter } from "./sim/pcap.js"
import { addStackHost } from "./sim/stack-host.js"
import { TraceContext } from "./trace.js"
import { parseIp } from "../wire/bytes.js"
import { SimSocketHost, runAsync } from "./sim/async.js"
import { Net } from "../socket/socket.js"

function option(name: string, fallback: string): string {
    const i = process.argv.indexOf("--" + name)
    return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback
}

function seconds(ms: number): string {
    return (ms / 1000).toFixed(6)
}

const count = Number(option("count", "5"))
const size = Number(option("size", "56"))
const loss = Number(option("loss", "0")) / 100
const seed = Number(option("seed", "1"))
const pcapFile = option("pcap", "")
if (!(count >= 0 && size >= 0 && size <= 1472 && loss >= 0 && loss <= 1)) {
    console.error("usage: npm run demo:ping -- [--count N] [--size 0..1472] [--loss 0..100] [--seed N] [--pcap FILE]")
    process.exit(2)
}

const sim = new Simulator({ seed })
const log = (name: string) => (line: string) => console.log(`${seconds(sim.now)} ${name}: ${line}`)
// a quarter of a millisecond each way on each link, like a small LAN
const a = addStackHost(sim, "a", { ip: "198.18.0.1", mac: "02:00:00:00:00:01", log: log("a"), impairments: { delayMs: 0.25 } })
const b = addStackHost(sim, "b", { ip: "198.18.0.2", mac: "02:00:00:00:00:02", log: log("b"), impairments: { delayMs: 0.25 } })
if (loss > 0) sim.setImpairments("a", { loss, seed, delayMs: 0.25 })
const trace = new TraceContext()
const pcap = new PcapWriter()
sim.capture("a", pcap)
// each frame once, as it leaves its sender
sim.onFrame((host, dir, frame, now) => {
    if (dir === "out") console.log(trace.format(frame, frame.length, now))
})

let replies = 0
const sentAt: number[] = []
a.endpoint.onEchoReply = (src, id, seq, _buf, _off, len, now) => {
    replies++
    console.log(`${seconds(now)} a: ${len + 8} bytes from 198.18.0.2: icmp_seq=${seq} time=${(now - sentAt[seq]).toFixed(3)} ms`)
}

console.log("ds-tcpip demo: hosts a (198.18.0.1) and b (198.18.0.2) on a simulated switch" + (loss > 0 ? `, ${loss * 100}% loss on a's link` : ""))
a.endpoint.start(0)
b.endpoint.start(0)
for (let seq = 1; seq <= count; seq++) {
    sim.at(seq * 1000, () => {
        sentAt[seq] = sim.now
        a.endpoint.ping(parseIp("198.18.0.2"), 1, seq, size, sim.now)
    })
}
sim.run((count + 3) * 1000)

console.log(`--- 198.18.0.2 ping statistics ---`)
console.log(`${count} packets transmitted, ${replies} received, ${count ? Math.round((100 * (count - replies)) / count) : 0}% packet loss (virtual time ${seconds(sim.now)} s)`)

// TCP: b echoes what a sends; a closes first, so a passes through TIME-WAIT
console.log("--- TCP: a connects to b:7, sends a line, b echoes it, both close ---")
const host = new SimSocketHost(sim)
const netA = new Net(a.endpoint, host)
const netB = new Net(b.endpoint, host)
const server = netB.listen(7)
let finished = false
;(async () => {
    const s = await server.accept()
    const buf = Buffer.alloc(512)
    for (;;) {
        const n = await s.read(buf, 0, buf.length)
        if (n === 0) break
        await s.write(buf, 0, n)
    }
    s.close()
})().catch((e) => console.log("b: " + e))
;(async () => {
    const s = await netA.connect(parseIp("198.18.0.2"), 7, 30000)
    await s.write(Buffer.from("hello from a\n"))
    const buf = Buffer.alloc(512)
    const n = await s.read(buf, 0, buf.length)
    console.log(`${seconds(sim.now)} a: echoed ${JSON.stringify(buf.toString("latin1", 0, n))}`)
    s.close()
})()
    .catch((e) => console.log("a: " + e))
    .finally(() => (finished = true))
await runAsync(sim, () => finished && a.endpoint.tcp.inUseCount() === 0 && b.endpoint.tcp.inUseCount() === 0, 300000)
server.close()
console.log("a: " + JSON.stringify(a.endpoint.status().counters))
console.log("b: " + JSON.stringify(b.endpoint.status().counters))
if (pcapFile) {
    writeFileSync(pcapFile, pcap.toBuffer())
    console.log(`capture of a's link: ${pcapFile} (${pcap.count} frames; tshark -r ${pcapFile})`)
}
