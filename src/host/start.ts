// npm start: the demo device in the simulator, reachable from this machine's
// browser with no root and no hardware. A simulated gateway (198.18.0.1)
// accepts real TCP connections on 127.0.0.1:PORT and opens ds-tcpip
// connections through the virtual link to the device (198.18.0.2:80), like
// QEMU's hostfwd; the simulator runs on the wall clock.
//
//   npm start -- [--port 8080] [--trace] [--pcap FILE] [--loss P] [--reorder P]
//                [--delay MS] [--seed N] [--duration S]
import "./buffer-polyfill.js"
import { writeFileSync } from "node:fs"
import { Simulator } from "./sim/network.js"
import { addStackHost } from "./sim/stack-host.js"
import { RealTimePacer, RealTimeSimSocketHost } from "./sim/realtime.js"
import { PcapWriter } from "./sim/pcap.js"
import { HostFwd } from "./hostfwd.js"
import { TraceContext } from "./trace.js"
import { Net } from "../socket/socket.js"
import { startDemo } from "../app/demo.js"
import { startDevice } from "./start-device.js"

// --device: the firmware's bytecode in the DeviceScript VM (src/host/start-device.ts);
// it runs until stopped, and the simulator below is not started
if (process.argv.includes("--device")) {
    await startDevice(process.argv.slice(2))
    await new Promise<never>(() => {})
}

function option(name: string, fallback: string): string {
    const i = process.argv.indexOf("--" + name)
    return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback
}

const port = Number(option("port", "8080"))
const trace = process.argv.includes("--trace")
const pcapFile = option("pcap", "")
const loss = Number(option("loss", "0")) / 100
const reorder = Number(option("reorder", "0")) / 100
const delayMs = Number(option("delay", "0.25"))
const seed = Number(option("seed", "1"))
const duration = Number(option("duration", "0"))
if (!(port >= 0 && port < 65536 && loss >= 0 && loss <= 1 && reorder >= 0 && reorder <= 1 && delayMs >= 0)) {
    console.error("usage: npm start -- [--port 8080] [--trace] [--pcap FILE] [--loss 0..100] [--reorder 0..100] [--delay MS] [--seed N] [--duration S]")
    process.exit(2)
}

const sim = new Simulator({ seed })
const seconds = () => (sim.now / 1000).toFixed(6)
const log = (name: string) => (line: string) => {
    if (trace) console.log(`${seconds()} ${name}: ${line}`)
}
// the host side has memory to spare: roomier rings than a device's
const limits = { tcpConnections: 32, tcpSendBuffer: 16384, tcpRecvBuffer: 16384, tcpBacklog: 16 }
const imp = { delayMs, loss, reorder, seed }
const gw = addStackHost(sim, "gateway", { ip: "198.18.0.1", mac: "02:00:00:00:00:01", limits, impairments: imp, log: log("gateway") })
const device = addStackHost(sim, "device", { ip: "198.18.0.2", mac: "02:00:00:00:00:02", limits, impairments: imp, log: log("device") })
const pacer = new RealTimePacer(sim)
const host = new RealTimeSimSocketHost(pacer)
const traceCtx = new TraceContext()
const pcap = new PcapWriter({ epochMs: Date.now() })
if (pcapFile) sim.capture("device", pcap)
if (trace) sim.onFrame((_h, dir, frame, now) => dir === "out" && console.log(traceCtx.format(frame, frame.length, now)))

gw.endpoint.start(sim.now)
device.endpoint.start(sim.now)
pacer.start()
const server = startDemo(new Net(device.endpoint, host), device.endpoint)
const fwd = new HostFwd({ gateway: new Net(gw.endpoint, host), targetIp: "198.18.0.2", targetPort: 80, listenPort: port })
let realPort: number
try {
    realPort = await fwd.listen()
} catch (e) {
    console.error(`cannot listen on 127.0.0.1:${port} (${(e as Error).message}); try --port 0 for any free port`)
    process.exit(1)
}
console.log(`ds-tcpip demo device (198.18.0.2) is running in the simulator.`)
console.log(`Open http://127.0.0.1:${realPort}/ — a simulated gateway (198.18.0.1) forwards it to the device over simulated TCP.`)
console.log(`Routes: / /bytes/N /echo /events /status${trace ? "" : "   (--trace prints every simulated segment)"}`)

let stopping = false
function stop() {
    if (stopping) return
    stopping = true
    void fwd.close().finally(() => {
        pacer.stop()
        server.close()
        if (pcapFile) {
            writeFileSync(pcapFile, pcap.toBuffer())
            console.log(`capture of the device's link: ${pcapFile} (${pcap.count} frames)`)
        }
        console.log(`served ${server.stats.requests} requests on ${server.stats.connections} connections`)
        process.exit(0)
    })
}
process.on("SIGINT", stop)
process.on("SIGTERM", stop)
if (duration > 0) setTimeout(stop, duration * 1000)
