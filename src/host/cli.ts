// The ds-tcpip command (bin: scripts/ds-tcpip.mjs runs this file through tsx).
//
//   ds-tcpip serve --tap IF --ip 198.18.0.2/24 [--gateway A] [--mac M] [--netns NS]
//                  [--pcap FILE] [--ladder DIR] [--trace] [--quiet]
//                  [--loss PCT] [--reorder PCT] [--delay MS] [--seed N]
//       The demo device (src/app/demo.ts: HTTP on port 80) plus a TCP echo on
//       port 7, on an existing TAP interface. Impairments apply between the TAP
//       and the stack in both directions; percentages are 0..100. --pcap FILE
//       also writes the stack's state changes to FILE.states (ds-tcpip trace
//       compares them with what it infers); --ladder DIR writes a ladder
//       diagram of every connection.
//       --dhcp takes the address from DHCP instead of --ip; --hostname NAME
//       answers NAME.local over mDNS with _http._tcp (src/host/cli-services.ts).
//   ds-tcpip get URL --tap IF (--dhcp | --ip A/P ...): see cli-services.ts
//   ds-tcpip netns-demo [--ns NAME] [serve options]
//       Makes a namespace with a TAP at 198.18.0.1/24, runs `serve` inside it
//       at 198.18.0.2, prints commands to try and removes everything on Ctrl-C.
import { serveDevice } from "./serve-device.js"
import { bridgeCommand } from "./bridge-cli.js"
import "./buffer-polyfill.js"
import { spawn, spawnSync } from "node:child_process"
import { CliError, CommandSpec, EXIT, OptionSpec, ParsedArgs, checkWritable, runProgram } from "./cli-args.js"
import { existsSync, readFileSync } from "node:fs"
import { TapDevice, TapError, havePython, defaultTapMechanism } from "./tap.js"
import { RealTimeRunner, PcapFile, parseCidr } from "./runner.js"
import { Impairments } from "./sim/impair.js"
import { parseIp, ipToString } from "../wire/bytes.js"
import { startDemo } from "../app/demo.js"
import { startEcho } from "../app/echo.js"
import { CaptureExtras } from "./capture-extras.js"
import { getCommand, startServices } from "./cli-services.js"
import { validHostname } from "../services/mdns.js"

/** A wrong option value or combination: one line, exit 64 (EX_USAGE). */
class UsageError extends CliError {
    constructor(message: string) {
        super(message, EXIT.usage)
    }
}

interface Args {
    command: string
    opts: Map<string, string>
    flags: Set<string>
}

function percent(opts: Map<string, string>, name: string): number {
    const v = opts.get(name)
    if (v === undefined) return 0
    const n = Number(v.replace(/%$/, ""))
    if (!(n >= 0 && n <= 100)) throw new UsageError(`--${name} must be a percentage 0..100, got "${v}"`)
    return n / 100
}

function impairmentsOf(opts: Map<string, string>): Partial<Impairments> | undefined {
    const loss = percent(opts, "loss")
    const reorder = percent(opts, "reorder")
    const delay = opts.has("delay") ? Number(opts.get("delay")) : 0
    if (!(delay >= 0 && delay <= 10000)) throw new UsageError(`--delay must be 0..10000 ms, got "${opts.get("delay")}"`)
    const seed = opts.has("seed") ? Number(opts.get("seed")) : 1
    if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer`)
    if (!loss && !reorder && !delay) return undefined
    return { loss, reorder, delayMs: delay, seed }
}

function inSubnet(a: number, b: number, mask: number): boolean {
    return ((a ^ b) & mask) === 0
}

/** The kernel's IPv4 addresses on an interface ("a.b.c.d/len"), via `ip -j` (in namespace ns when given). */
function kernelAddresses(ifname: string, ns?: string): string[] {
    const r = spawnSync("ip", [...(ns ? ["-n", ns] : []), "-j", "-4", "addr", "show", "dev", ifname], { encoding: "utf8" })
    if (r.status !== 0) return []
    try {
        const j = JSON.parse(r.stdout)
        const out: string[] = []
        for (const l of j) for (const a of l.addr_info || []) if (a.family === "inet") out.push(`${a.local}/${a.prefixlen}`)
        return out
    } catch {
        return []
    }
}

/** What kind of interface `name` is (in namespace ns when given): "tap", "tun", "other", or null when there is none. */
function tapKind(name: string, ns?: string): "tap" | "tun" | "other" | null {
    if (!ns) {
        // /sys shows this namespace's interfaces (ip netns exec remounts it)
        const sys = `/sys/class/net/${name}`
        if (!existsSync(sys)) return null
        if (!existsSync(sys + "/tun_flags")) return "other"
        return parseInt(readFileSync(sys + "/tun_flags", "utf8").trim(), 16) & 0x0002 ? "tap" : "tun"
    }
    const r = spawnSync("ip", ["-n", ns, "-d", "-j", "link", "show", "dev", name], { encoding: "utf8" })
    if (r.status !== 0) return null
    try {
        const info = JSON.parse(r.stdout)[0]?.linkinfo
        if (!info || info.info_kind !== "tun") return "other"
        return info.info_data?.type === "tap" ? "tap" : "tun"
    } catch {
        return "other"
    }
}

function fail(msg: string, code: number = EXIT.failure): never {
    throw new CliError(msg, code)
}

async function serve(a: Args): Promise<void> {
    const tapName = a.opts.get("tap")
    const dhcp = a.flags.has("dhcp")
    const hostname = a.opts.get("hostname")
    if (hostname !== undefined && !validHostname(hostname)) throw new UsageError(`--hostname: "${hostname}" is not a host name (letters, digits, '-')`)
    if (dhcp && a.opts.has("ip")) throw new UsageError("give --ip or --dhcp, not both")
    const ipText = dhcp ? "0.0.0.0" : a.opts.get("ip")
    if (!tapName || !ipText) throw new UsageError("serve needs --tap IF and --ip ADDR/PREFIX (or --dhcp)")
    let cidr: { ip: number; netmask: number; prefix: number }
    try {
        cidr = parseCidr(ipText)
    } catch (e) {
        throw new UsageError(`--ip: ${(e as Error).message}`)
    }
    const mask = cidr.netmask
    const net = (cidr.ip & mask) >>> 0
    const bcast = (net | ~mask) >>> 0
    if (!dhcp && (cidr.ip === net || cidr.ip === bcast)) fail(`${ipText}: ${ipToString(cidr.ip)} is the ${cidr.ip === net ? "network" : "broadcast"} address of its subnet`)
    const gwText = a.opts.get("gateway")
    if (gwText && dhcp) throw new UsageError("with --dhcp the gateway comes from the lease")
    if (gwText) {
        const gw = parseIp(gwText)
        if (gw < 0) throw new UsageError(`--gateway: bad address "${gwText}"`)
        if (!inSubnet(gw, cidr.ip, mask)) fail(`gateway ${gwText} is outside the subnet ${ipToString(net)}/${cidr.prefix} of ${ipText}`)
        if (gw >>> 0 === cidr.ip) fail(`gateway ${gwText} is our own address`)
    }
    const impairments = impairmentsOf(a.opts)
    if (a.opts.has("pcap")) checkWritable("pcap", a.opts.get("pcap"))
    const ns = a.opts.get("netns")
    if (typeof process.getuid === "function" && process.getuid() !== 0) fail("serve opens a TAP device and needs root (run it with sudo)", 77)
    if (!existsSync("/dev/net/tun")) fail("/dev/net/tun is missing: load the tun module (modprobe tun)")
    const mechanism = defaultTapMechanism()
    if (mechanism === "helper" && !havePython()) fail("the TAP bridge needs its addon (npm install builds it with a C compiler) or python3 for its helper")
    // the same checks in a namespace as here: opening a TAP that does not exist would create it
    const kind = tapKind(tapName, ns)
    const where = ns ? ` in namespace ${ns}` : ""
    if (kind === null) {
        const ip = ns ? `ip -n ${ns}` : "ip"
        fail(`there is no interface ${tapName}${where} (create it: ${ip} tuntap add dev ${tapName} mode tap; ${ip} addr add ${ipToString((net + 1) >>> 0)}/${cidr.prefix} dev ${tapName}; ${ip} link set ${tapName} up; or try ds-tcpip netns-demo)`, EXIT.unavailable)
    }
    if (kind === "other") fail(`${tapName}${where} exists but is not a TAP/TUN device`, EXIT.osErr)
    if (kind === "tun") fail(`${tapName}${where} is a TUN (layer 3) device; ds-tcpip needs a TAP (ip tuntap add dev NAME mode tap)`, EXIT.osErr)
    const kernel = kernelAddresses(tapName, ns)
    const mine = kernel.filter((k) => inSubnet(parseCidr(k).ip, cidr.ip, mask))
    if (kernel.length && !mine.length && !dhcp) fail(`${ipText} is outside the subnet of ${tapName}${where} (${kernel.join(", ")}): the kernel could not reach it`, EXIT.usage)
    for (const k of kernel) if (parseCidr(k).ip === cidr.ip) fail(`${ipToString(cidr.ip)} is the kernel's own address on ${tapName}; give the device another one`, EXIT.usage)
    if (!kernel.length) console.log(`note: ${tapName} has no IPv4 address on the kernel side`)

    let tap: TapDevice
    try {
        tap = await TapDevice.open(tapName, { netns: ns, mechanism })
    } catch (e) {
        fail(e instanceof TapError ? e.message : String(e))
    }
    const quiet = a.flags.has("quiet")
    const t0 = performance.now()
    // the runner's clock starts at 0 when serve starts: trace, log and pcap agree
    const clock = () => performance.now() - t0
    const stamp = (now: number) => (now / 1000).toFixed(6)
    const pcapPath = a.opts.get("pcap")
    let pcap: PcapFile
    try {
        pcap = pcapPath ? new PcapFile(pcapPath, performance.timeOrigin + t0) : undefined
    } catch (e) {
        await tap.close()
        fail(`--pcap ${pcapPath}: ${(e as Error).message}`, EXIT.cantCreate)
    }
    // the stack's state changes beside the capture (for ds-tcpip trace), diagrams with --ladder DIR
    const extras = new CaptureExtras({ statesPath: pcapPath && pcapPath + ".states", ladderDir: a.opts.get("ladder"), epochMs: performance.timeOrigin + t0, timeWaitMs: 60000 })
    let runner: RealTimeRunner
    try {
        runner = new RealTimeRunner({
            link: tap,
            mac: a.opts.get("mac"),
            ip: ipText,
            gateway: gwText,
            limits: { tcpConnections: 32, tcpSendBuffer: 16384, tcpRecvBuffer: 16384, tcpBacklog: 16 },
            seed: a.opts.has("seed") ? Number(a.opts.get("seed")) : undefined,
            impairments,
            pcap: extras.sink(pcap),
            trace: a.flags.has("trace") ? (line) => console.log(line) : undefined,
            log: quiet ? undefined : (line, now) => console.log(`${stamp(now)} ${line}`),
            clock,
        })
    } catch (e) {
        await tap.close()
        fail((e as Error).message)
    }
    runner.host.onError = (e) => {
        if (!quiet) console.log("app error: " + ((e as Error).message || e))
    }
    extras.attach(runner.stack, clock)
    runner.start()
    startDemo(runner.net, runner.stack)
    startEcho(runner.net, 7)
    if (dhcp || hostname) startServices(runner, { dhcp, hostname, log: (line) => console.log(line) })
    const mac = runner.stack.status().mac
    console.log(`ds-tcpip ${dhcp ? "(address by DHCP)" : ipText} (mac ${mac}) on TAP ${tapName}${ns ? " in " + ns : ""} (${mechanism}): the demo device on port 80, TCP echo on port 7`)
    if (impairments) console.log(`impairments both ways: ${JSON.stringify(impairments)}`)
    if (pcap) console.log(`writing ${pcapPath}`)

    let stopping = false
    const stop = async (why: string) => {
        if (stopping) return
        stopping = true
        runner.stop()
        if (pcap) pcap.close()
        extras.close()
        await tap.close()
        console.log(`${why}: ${JSON.stringify(runner.stack.status().counters)}`)
        process.exit(0)
    }
    process.on("SIGINT", () => void stop("interrupted"))
    process.on("SIGTERM", () => void stop("terminated"))
    tap.onClose = (err) => {
        if (err) {
            console.error("ds-tcpip: " + err.message)
            void stop("TAP gone")
        }
    }
}

async function netnsDemo(a: Args): Promise<void> {
    if (typeof process.getuid === "function" && process.getuid() !== 0) fail("netns-demo creates a network namespace and a TAP and needs root (run it with sudo)", 77)
    const ns = a.opts.get("ns") || `dsdemo${process.pid}`
    if (!/^[A-Za-z0-9_.-]{1,32}$/.test(ns)) throw new UsageError(`bad namespace name "${ns}"`)
    const tapName = "dstap0"
    impairmentsOf(a.opts) // validate before creating anything
    const sh = (args: string[], check = true) => {
        const r = spawnSync(args[0], args.slice(1), { encoding: "utf8" })
        if (check && r.status !== 0) throw new Error(`${args.join(" ")}: ${(r.stderr || "").trim() || r.error}`)
        return r
    }
    if (sh(["ip", "netns", "list"], false).stdout?.split("\n").some((l) => l.split(" ")[0] === ns)) fail(`namespace ${ns} exists already (remove it with: ip netns del ${ns})`)
    let cleaned = false
    let child: ReturnType<typeof spawn> = null
    const cleanup = () => {
        if (cleaned) return
        cleaned = true
        if (child && child.exitCode === null && child.pid) {
            try {
                process.kill(child.pid, "SIGKILL")
            } catch {}
        }
        sh(["ip", "-n", ns, "link", "del", tapName], false)
        sh(["ip", "netns", "del", ns], false)
    }
    process.on("exit", cleanup)
    try {
        sh(["ip", "netns", "add", ns])
        sh(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"], false)
        sh(["ip", "-n", ns, "link", "set", "lo", "up"])
        sh(["ip", "-n", ns, "tuntap", "add", "dev", tapName, "mode", "tap"])
        sh(["ip", "-n", ns, "addr", "add", "198.18.0.1/24", "dev", tapName])
        sh(["ip", "-n", ns, "link", "set", tapName, "up"])
    } catch (e) {
        cleanup()
        fail((e as Error).message)
    }
    const pass: string[] = []
    for (const [k, v] of a.opts) if (k !== "ns") pass.push("--" + k, v)
    for (const f of a.flags) pass.push("--" + f)
    // the TAP must be opened inside the namespace: the whole serve process runs there
    const self = [process.execPath, ...process.execArgv, process.argv[1]]
    child = spawn("ip", ["netns", "exec", ns, ...self, "serve", "--tap", tapName, "--ip", "198.18.0.2/24", "--gateway", "198.18.0.1", ...pass], { stdio: "inherit" })
    console.log(`namespace ${ns}: kernel at 198.18.0.1/24 on ${tapName}, ds-tcpip at 198.18.0.2. Try, in another shell:
  ip netns exec ${ns} ping -c 3 198.18.0.2
  ip netns exec ${ns} curl http://198.18.0.2/
  ip netns exec ${ns} curl http://198.18.0.2/status
  echo hello | ip netns exec ${ns} nc -N 198.18.0.2 7
Ctrl-C stops the device and removes the namespace.`)
    const onSignal = () => {
        if (child && child.pid && child.exitCode === null) {
            try {
                process.kill(child.pid, "SIGTERM")
            } catch {}
        }
        setTimeout(() => {
            cleanup()
            process.exit(130)
        }, 3000).unref()
    }
    process.on("SIGINT", onSignal)
    process.on("SIGTERM", onSignal)
    child.on("exit", (code, signal) => {
        cleanup()
        process.exit(code ?? (signal ? 130 : 1))
    })
}

// ---- the commands, as data (src/host/cli-args.ts parses them and writes their help) ----

const IMPAIRMENTS: OptionSpec[] = [
    { name: "loss", value: "PCT", default: "0", help: "drop this percentage of frames, each way (0..100)" },
    { name: "reorder", value: "PCT", default: "0", help: "deliver this percentage of frames late, after the next (0..100)" },
    { name: "delay", value: "MS", default: "0", help: "one-way delay in milliseconds (0..10000)" },
    { name: "seed", value: "N", default: "1", help: "seed of the impairments' random stream (and of the stack)" },
]
const CAPTURE: OptionSpec[] = [
    { name: "pcap", value: "FILE", help: "write every frame to a pcap file, and the stack's state changes to FILE.states" },
    { name: "ladder", value: "DIR", help: "write a ladder diagram of every connection into this folder" },
    { name: "trace", flag: true, help: "print every segment in tcpdump's notation" },
    { name: "quiet", flag: true, help: "no log lines" },
]

/** The options given, as the older per-command parsers take them: ["--name", value, "--flag", ...]. */
function argvOf(a: ParsedArgs, skip: string[] = []): string[] {
    const out: string[] = []
    for (const [k, v] of Object.entries(a.values)) {
        if (v === undefined || v === false || skip.indexOf(k) >= 0) continue
        out.push("--" + k)
        if (v !== true) out.push(v)
    }
    return out
}

function argsOf(command: string, a: ParsedArgs): Args {
    const opts = new Map<string, string>()
    const flags = new Set<string>()
    for (const [k, v] of Object.entries(a.values)) {
        if (v === true) flags.add(k)
        else if (typeof v === "string") opts.set(k, v)
    }
    return { command, opts, flags }
}

const COMMANDS: CommandSpec[] = [
    {
        name: "serve",
        summary: "the demo device (HTTP on port 80, TCP echo on 7) on a Linux TAP interface",
        usage: "--tap IF (--ip ADDR/PREFIX | --dhcp) [OPTIONS]",
        description:
            "Runs as root, on a TAP interface that exists (ip tuntap add dev IF mode tap). With --device it is the firmware itself:\n" +
            "src/main.ts built with devs, in the DeviceScript VM, on a model of the Ethernet chip. The firmware takes its address from\n" +
            "DHCP: with --dhcp from a server on the TAP's network, otherwise from one on the device's own wire that offers --ip\n" +
            "(default 198.18.0.2/24) and --gateway.",
        options: [
            { name: "tap", value: "IF", help: "the TAP interface" },
            { name: "ip", value: "ADDR/PREFIX", help: "the device's address, in the subnet of the TAP's kernel side" },
            { name: "dhcp", flag: true, help: "take the address from a DHCP server instead of --ip, and answer to NAME.local" },
            { name: "hostname", value: "NAME", default: "ds-tcpip", help: "the name for DHCP (option 12) and mDNS: with --dhcp, or with --device (the firmware's configured hostname)" },
            { name: "gateway", value: "ADDR", help: "the default gateway (none: only the subnet is reachable)" },
            { name: "mac", value: "MAC", help: "the device's MAC address (default: a random locally administered one)" },
            { name: "netns", value: "NS", help: "the TAP is in this network namespace" },
            ...CAPTURE,
            ...IMPAIRMENTS,
            { name: "device", flag: true, help: "run the firmware's bytecode in the DeviceScript VM on a chip model" },
            { name: "chip", value: "NAME", default: "enc28j60", help: "with --device: the chip model, enc28j60 or w5500" },
            { name: "entry", value: "FILE", help: "with --device: another firmware entry to build and run" },
        ],
        run: async (a) => {
            if (a.values["device"]) return serveDevice(argvOf(a, ["device"]))
            for (const k of ["chip", "entry"]) if (a.values[k] !== undefined) throw new UsageError(`--${k} goes with --device`)
            await serve(argsOf("serve", a))
        },
    },
    {
        name: "netns-demo",
        summary: "makes a namespace with a TAP (198.18.0.1/24), runs serve in it at 198.18.0.2, removes both on Ctrl-C",
        usage: "[--ns NAME] [OPTIONS]",
        options: [{ name: "ns", value: "NAME", default: "dsdemo<pid>", help: "the namespace to create" }, ...CAPTURE, ...IMPAIRMENTS],
        run: (a) => netnsDemo(argsOf("netns-demo", a)),
    },
    {
        name: "trace",
        summary: "every TCP segment of a pcap or pcapng file in tcpdump's notation, with each endpoint's inferred states",
        usage: "FILE [OPTIONS]",
        positionals: [{ name: "FILE", required: true }],
        options: [
            { name: "conn", value: "N", help: "only connection N (1 is the first seen)" },
            { name: "relative", flag: true, help: "sequence numbers relative to each side's ISN" },
            { name: "time", flag: true, help: "print each segment's time" },
            { name: "json", flag: true, help: "JSON instead of text" },
            { name: "states", value: "EVENTS", default: "FILE.states when it exists", help: "the stack's state events to compare the inference with" },
            { name: "msl", value: "MS", default: "30000", help: "maximum segment lifetime: TIME-WAIT ends after 2 MSL" },
        ],
        run: async (a) => {
            const { runCaptureCommand } = await import("./capture-cli.js")
            return runCaptureCommand(["trace", a.positionals[0], ...argvOf(a)])
        },
    },
    {
        name: "ladder",
        summary: "the ladder diagram (SVG or self-contained HTML) of one or all connections of a capture",
        usage: "FILE -o OUT.html|OUT.svg [OPTIONS]",
        positionals: [{ name: "FILE", required: true }],
        options: [
            { name: "output", short: "o", value: "OUT", help: "the file to write: .html (bands open on click) or .svg" },
            { name: "conn", value: "N", help: "only connection N (1 is the first seen)" },
            { name: "msl", value: "MS", default: "30000", help: "maximum segment lifetime: TIME-WAIT ends after 2 MSL" },
        ],
        run: async (a) => {
            const { runCaptureCommand } = await import("./capture-cli.js")
            return runCaptureCommand(["ladder", a.positionals[0], ...argvOf(a)])
        },
    },
    {
        name: "get",
        summary: "fetches a URL through ds-tcpip's own stack on a TAP (DHCP, DNS, the HTTP client): the body to stdout",
        usage: "URL --tap IF (--dhcp | --ip ADDR/PREFIX [--gateway ADDR] [--dns ADDR]) [OPTIONS]",
        description: "Exit status: 0 for a 2xx or 3xx answer, 22 for an HTTP error status (as curl -f), else as listed in ds-tcpip --help.",
        positionals: [{ name: "URL", required: true }],
        options: [
            { name: "tap", value: "IF", help: "the TAP interface" },
            { name: "dhcp", flag: true, help: "take an address (and the DNS servers) from DHCP" },
            { name: "ip", value: "ADDR/PREFIX", help: "a fixed address instead" },
            { name: "gateway", value: "ADDR", help: "with --ip: the default gateway" },
            { name: "dns", value: "ADDR", help: "with --ip: the DNS server" },
            { name: "netns", value: "NS", help: "the TAP is in this network namespace" },
            { name: "mac", value: "MAC", help: "our MAC address (default: a random locally administered one)" },
            { name: "hostname", value: "NAME", help: "the name sent to the DHCP server" },
            { name: "timeout", value: "S", default: "30", help: "give up after this many seconds (1..3600)" },
            { name: "verbose", flag: true, help: "what the stack does, on stderr" },
        ],
        // a finished fetch exits: the TAP and the stack hold nothing worth waiting for
        run: async (a) => process.exit(await getCommand([a.positionals[0], ...argvOf(a)])),
    },
    {
        name: "bridge",
        summary: "the host end of the bridge driver: a DeviceScript program's Ethernet frames, over its TCP socket, to a TAP",
        usage: "--tap IF [OPTIONS]",
        options: [
            { name: "tap", value: "IF", help: "the TAP interface" },
            { name: "netns", value: "NS", help: "the TAP is in this network namespace" },
            { name: "port", value: "PORT", default: "7777", help: "the TCP port the program connects to" },
            { name: "listen", value: "ADDR", default: "127.0.0.1", help: "the address to listen on (0.0.0.0 for a board on Wi-Fi)" },
        ],
        run: (a) => bridgeCommand(argvOf(a)),
    },
]

function version(): string {
    try {
        return JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version
    } catch {
        return "unknown"
    }
}

process.exitCode = await runProgram(
    { name: "ds-tcpip", version: version(), summary: "A TCP/IP stack and HTTP server for microcontrollers, on a Linux TAP, in the simulator, or as firmware in the DeviceScript VM.", commands: COMMANDS },
    process.argv.slice(2),
)
