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
import { existsSync, readFileSync } from "node:fs"
import { TapDevice, TapError, havePython, defaultTapMechanism } from "./tap.js"
import { RealTimeRunner, PcapFile, parseCidr } from "./runner.js"
import { Impairments } from "./sim/impair.js"
import { parseIp, ipToString } from "../wire/bytes.js"
import { startDemo } from "../app/demo.js"
import { startEcho } from "../app/echo.js"
import { CaptureExtras } from "./capture-extras.js"
import { getCommand, startServices, validHostname } from "./cli-services.js"

const USAGE = `usage:
  ds-tcpip serve --tap IF (--ip ADDR/PREFIX | --dhcp) [--hostname NAME] [--gateway ADDR] [--mac MAC] [--netns NS]
                 [--pcap FILE] [--ladder DIR] [--trace] [--quiet] [--loss PCT] [--reorder PCT] [--delay MS] [--seed N]
  ds-tcpip get URL --tap IF (--dhcp | --ip ADDR/PREFIX [--gateway ADDR] [--dns ADDR]) [--netns NS] [--timeout S] [--verbose]
  ds-tcpip netns-demo [--ns NAME] [--pcap FILE] [--ladder DIR] [--trace] [--loss PCT] [--reorder PCT] [--delay MS] [--seed N]
  ds-tcpip trace FILE [--conn N] [--relative] [--time] [--json] [--states EVENTS] [--msl MS]
  ds-tcpip ladder FILE -o OUT.html|OUT.svg [--conn N] [--msl MS]
  ds-tcpip serve --device [--chip enc28j60|w5500] --tap IF [--netns NS] [--dhcp]   (the firmware in the DeviceScript VM; --dhcp: the starter, by DHCP and mDNS)
  ds-tcpip bridge --tap IF [--netns NS] [--port 7777] [--listen ADDR]     (the host end of the bridge driver)`

class UsageError extends Error {}

interface Args {
    command: string
    opts: Map<string, string>
    flags: Set<string>
}

const FLAGS = new Set(["trace", "quiet", "help", "dhcp"])

function parseArgs(argv: string[]): Args {
    const command = argv[0]
    const opts = new Map<string, string>()
    const flags = new Set<string>()
    for (let i = 1; i < argv.length; i++) {
        const a = argv[i]
        if (!a.startsWith("--")) throw new UsageError(`unexpected argument "${a}"`)
        const name = a.slice(2)
        if (FLAGS.has(name)) flags.add(name)
        else {
            if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`)
            opts.set(name, argv[++i])
        }
    }
    return { command, opts, flags }
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

/** The kernel's IPv4 addresses on an interface ("a.b.c.d/len"), via `ip -j`. */
function kernelAddresses(ifname: string): string[] {
    const r = spawnSync("ip", ["-j", "-4", "addr", "show", "dev", ifname], { encoding: "utf8" })
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

function fail(msg: string, code = 1): never {
    console.error("ds-tcpip: " + msg)
    process.exit(code)
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
    const ns = a.opts.get("netns")
    if (typeof process.getuid === "function" && process.getuid() !== 0) fail("serve opens a TAP device and needs root (run it with sudo)", 77)
    if (!existsSync("/dev/net/tun")) fail("/dev/net/tun is missing: load the tun module (modprobe tun)")
    const mechanism = defaultTapMechanism()
    if (mechanism === "helper" && !havePython()) fail("the TAP bridge needs its addon (npm install builds it with a C compiler) or python3 for its helper")
    if (!ns) {
        // /sys shows this namespace's interfaces (ip netns exec remounts it)
        const sys = `/sys/class/net/${tapName}`
        if (!existsSync(sys))
            fail(`there is no interface ${tapName}: create it first, e.g.\n  ip tuntap add dev ${tapName} mode tap && ip addr add ${ipToString((net + 1) >>> 0)}/${cidr.prefix} dev ${tapName} && ip link set ${tapName} up\n(or try: ds-tcpip netns-demo)`)
        if (!existsSync(sys + "/tun_flags")) fail(`${tapName} exists but is not a TAP/TUN device`)
        const flags = parseInt(readFileSync(sys + "/tun_flags", "utf8").trim(), 16)
        if ((flags & 0x0002) === 0) fail(`${tapName} is a TUN (layer 3) device; ds-tcpip needs a TAP (ip tuntap add dev NAME mode tap)`)
        const kernel = kernelAddresses(tapName)
        const mine = kernel.filter((k) => {
            const c = parseCidr(k)
            return inSubnet(c.ip, cidr.ip, mask)
        })
        if (kernel.length && !mine.length && !dhcp) fail(`${ipText} is outside the subnet of ${tapName} (${kernel.join(", ")}): the kernel could not reach it`)
        for (const k of kernel) if (parseCidr(k).ip === cidr.ip) fail(`${ipToString(cidr.ip)} is the kernel's own address on ${tapName}; give the device another one`)
        if (!kernel.length) console.log(`note: ${tapName} has no IPv4 address on the kernel side`)
    }

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
    const pcap = pcapPath ? new PcapFile(pcapPath, performance.timeOrigin + t0) : undefined
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

async function main(): Promise<void> {
    const argv = process.argv.slice(2)
    if (argv[0] === "get") process.exit(await getCommand(argv.slice(1)))
    // the firmware in the VM (src/host/serve-device.ts) and the bridge (src/host/bridge-cli.ts)
    if (argv[0] === "serve" && argv.indexOf("--device") > 0) return serveDevice(argv.slice(1))
    if (argv[0] === "bridge") return bridgeCommand(argv.slice(1))
    if (argv[0] === "trace" || argv[0] === "ladder") {
        // reading captures: its own module and options (src/host/capture-cli.ts)
        const { runCaptureCommand } = await import("./capture-cli.js")
        process.exitCode = await runCaptureCommand(argv)
        return
    }
    let a: Args
    try {
        a = parseArgs(argv)
        if (!a.command || a.flags.has("help") || a.command === "help" || a.command === "--help") {
            console.log(USAGE)
            return
        }
        if (a.command === "serve") await serve(a)
        else if (a.command === "netns-demo") await netnsDemo(a)
        else throw new UsageError(`unknown command "${a.command}"`)
    } catch (e) {
        if (e instanceof UsageError) {
            console.error("ds-tcpip: " + e.message + "\n" + USAGE)
            process.exit(2)
        }
        throw e
    }
}

await main()
