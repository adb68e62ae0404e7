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
import { CliError, CommandSpec, EXIT, ParsedArgs, checkWritable, commandHelp, numberOption, parseCommand } from "./cli-args.js"

const START: CommandSpec = {
    name: "npm start --",
    summary: "the demo device in the simulator, reachable from this machine's browser: no root, no hardware",
    usage: "[OPTIONS]",
    description: "A simulated gateway forwards 127.0.0.1:PORT into the virtual network to the device (198.18.0.2:80).",
    options: [
        { name: "port", value: "N", default: "8080", help: "the loopback port to forward (0: any free one)" },
        { name: "live-port", value: "N", default: "PORT + 1", help: "the host's live view of the device's connections" },
        { name: "trace", flag: true, help: "print every simulated segment in tcpdump's notation, and the stacks' log" },
        { name: "pcap", value: "FILE", help: "keep a capture of the device's link (and its state changes in FILE.states)" },
        { name: "ladder", value: "DIR", help: "write a ladder diagram of every connection into this folder" },
        { name: "loss", value: "PCT", default: "0", help: "drop this percentage of frames on each link (0..100)" },
        { name: "reorder", value: "PCT", default: "0", help: "deliver this percentage of frames late (0..100)" },
        { name: "delay", value: "MS", default: "0.25", help: "one-way delay of each link in milliseconds (0..10000)" },
        { name: "seed", value: "N", default: "1", help: "seed of the simulation" },
        { name: "duration", value: "S", default: "0", help: "stop after this many seconds (0: run until Ctrl-C)" },
        { name: "device", flag: true, help: "the firmware's bytecode in the DeviceScript VM on a chip model instead of the simulator" },
        { name: "chip", value: "NAME", default: "enc28j60", help: "with --device: the chip model, enc28j60 or w5500" },
    ],
    run: () => {},
}

let args: ParsedArgs
try {
    args = parseCommand(START, process.argv.slice(2))
} catch (e) {
    console.error("npm start: " + (e as Error).message.replace(/^npm start --: /, "") + " (npm start -- --help)")
    process.exit((e as CliError).code ?? EXIT.usage)
}
if (args.values["help"]) {
    console.log(commandHelp("", START).replace(/^usage:  /, "usage: "))
    process.exit(EXIT.ok)
}

// --device: the firmware's bytecode in the DeviceScript VM (src/host/start-device.ts);
// it runs until stopped, and the simulator below is not started
if (args.values["device"]) {
    await startDevice(process.argv.slice(2))
    await new Promise<never>(() => {})
}

let port: number, livePort: number, loss: number, reorder: number, delayMs: number, seed: number, duration: number
try {
    port = numberOption(args, "port", 8080, 0, 65535, true)
    livePort = numberOption(args, "live-port", port === 0 ? 0 : port + 1, 0, 65535, true)
    loss = numberOption(args, "loss", 0, 0, 100) / 100
    reorder = numberOption(args, "reorder", 0, 0, 100) / 100
    delayMs = numberOption(args, "delay", 0.25, 0, 10000)
    seed = numberOption(args, "seed", 1, 0, 0xffffffff, true)
    duration = numberOption(args, "duration", 0, 0, 1e9)
    if (args.values["pcap"] !== undefined) checkWritable("pcap", args.values["pcap"] as string)
} catch (e) {
    console.error("npm start: " + (e as Error).message)
    process.exit((e as CliError).code ?? EXIT.usage)
}
const trace = args.values["trace"] === true
const pcapFile = (args.values["pcap"] as string) ?? ""
const ladderDir = (args.values["ladder"] as string) ?? ""

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
        console.log(`served ${server.stats.requests} requests on ${server.stats.connectionsAccepted} connections`)
        process.exit(0)
    })
}
process.on("SIGINT", stop)
process.on("SIGTERM", stop)
if (duration > 0) setTimeout(stop, duration * 1000)
