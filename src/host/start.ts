// npm start: the demo device in the simulator, reachable from this machine's
// browser with no root and no hardware. A simulated gateway (198.18.0.1)
// accepts real TCP connections on 127.0.0.1:PORT and opens ds-tcpip
// connections through the virtual link to the device (198.18.0.2:80), like
// QEMU's hostfwd; the simulator runs on the wall clock.
//
//   npm start -- [--port 8080] [--trace] [--pcap FILE] [--ladder DIR] [--loss P] [--reorder P]
//                [--delay MS] [--seed N] [--duration S] [--live-port N]
//
// --pcap FILE also writes the device's state changes to FILE.states (for
// ds-tcpip trace); --ladder DIR a ladder diagram of every connection. A second
// page on the host (http://127.0.0.1:LIVE/, --live-port, default the next
// port) shows the device's connections and the ladder of the one you pick.
import "./buffer-polyfill.js"
import { writeFileSync } from "node:fs"
import { Simulator } from "./sim/network.js"
import { addStackHost } from "./sim/stack-host.js"
import { RealTimePacer, RealTimeSimSocketHost } from "./sim/realtime.js"
import { PcapWriter } from "./sim/pcap.js"
import { HostFwd } from "./hostfwd.js"
import { TraceContext } from "./trace.js"
import { CaptureExtras } from "./capture-extras.js"
import { startLiveView } from "./live-view.js"
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
const ladderDir = option("ladder", "")
const livePort = Number(option("live-port", port === 0 ? "0" : String(port + 1)))
if (!(port >= 0 && port < 65536 && livePort >= 0 && livePort < 65536 && loss >= 0 && loss <= 1 && reorder >= 0 && reorder <= 1 && delayMs >= 0)) {
    console.error("usage: npm start -- [--port 8080] [--trace] [--pcap FILE] [--ladder DIR] [--loss 0..100] [--reorder 0..100] [--delay MS] [--seed N] [--duration S] [--live-port N]")
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
const epochMs = Date.now()
const pcap = new PcapWriter({ epochMs })
if (pcapFile) sim.capture("device", pcap)
// the device's state changes beside the capture, its ladders, and the live view's table
const extras = new CaptureExtras({ statesPath: pcapFile && pcapFile + ".states", ladderDir, live: true, epochMs, timeWaitMs: 60000 })
extras.attach(device.endpoint, () => sim.now)
const feed = extras.sink()
sim.onFrame((h, _dir, frame, now) => h === "device" && feed.write(now, frame))
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
try {
    const live = await startLiveView(extras.ladder, livePort)
    live.server.unref()
    console.log(`Live connections and their ladder diagrams: http://127.0.0.1:${live.port}/`)
} catch (e) {
    console.log(`no live view: cannot listen on 127.0.0.1:${livePort} (${(e as Error).message}); --live-port N picks another`)
}

let stopping = false
function stop() {
    if (stopping) return
    stopping = true
    void fwd.close().finally(() => {
        pacer.stop()
        server.close()
        extras.close()
        if (ladderDir) console.log(`ladder diagrams: ${extras.ladder.written.length} in ${ladderDir}${extras.ladder.failed ? ` (${extras.ladder.failed} not written: ${extras.ladder.lastError})` : ""}`)
        if (extras.error) console.log(`${pcapFile}.states stopped: ${extras.error}`)
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
