// `ds-tcpip serve --device [--chip enc28j60|w5500] --tap IF [--netns NS] [--ip A/P [--gateway G] | --dhcp] [--hostname NAME]`:
// the firmware itself (src/main.ts, built with devs) in the DeviceScript VM
// on real time, its SPI bus wired to a model of the Ethernet chip, the
// model's wire bridged to a TAP. The firmware takes its address from DHCP
// and answers to NAME.local, as on a LAN. With --dhcp a DHCP server on
// the TAP's network gives it; otherwise a DHCP server on the device's own
// wire (wire-dhcp.ts) gives it --ip (default 198.18.0.2/24). --hostname NAME
// is given to the firmware as a board's configuration would give it (the
// "hostname" key it reads with ds._dcfgString; vm/dcfg.ts); without it the
// firmware uses its own default, ds-tcpip.
import { existsSync } from "node:fs"
import { TapDevice, TapError } from "./tap.js"
import { CHIPS, Chip, VmDevice, FIRMWARE_ENTRY } from "./device-runner.js"
import { parseCidr } from "./runner.js"
import { ipToString, parseIp } from "../wire/bytes.js"
import { validHostname } from "../services/mdns.js"

const USAGE = "usage: ds-tcpip serve --device [--chip enc28j60|w5500] --tap IF [--netns NS] [--ip ADDR/PREFIX [--gateway ADDR] | --dhcp] [--hostname NAME] [--entry FILE]"
const DEFAULT_IP = "198.18.0.2/24"

export async function serveDevice(argv: string[]): Promise<void> {
    const opts = new Map<string, string>()
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i]
        if (a === "--device") continue
        if (a === "--dhcp") {
            opts.set("dhcp", "")
            continue
        }
        if (!a.startsWith("--") || i + 1 >= argv.length) {
            console.error(`ds-tcpip: unexpected "${a}"\n${USAGE}`)
            process.exit(64)
        }
        opts.set(a.slice(2), argv[++i])
    }
    for (const k of opts.keys()) {
        if (["chip", "tap", "netns", "ip", "gateway", "entry", "dhcp", "hostname"].indexOf(k) < 0) {
            console.error(`ds-tcpip: serve --device has no option --${k}\n${USAGE}`)
            process.exit(64)
        }
    }
    const chip = (opts.get("chip") ?? "enc28j60") as Chip
    if (CHIPS.indexOf(chip) < 0) fail(`--chip ${chip}: the models are ${CHIPS.join(", ")}`)
    const tapName = opts.get("tap")
    if (!tapName) fail("serve --device needs --tap IF\n" + USAGE)
    const hostname = opts.get("hostname")
    if (hostname !== undefined && !validHostname(hostname)) fail(`--hostname: "${hostname}" is not a host name (letters, digits, '-')`, 64)
    const dhcp = opts.has("dhcp")
    if (dhcp && (opts.has("ip") || opts.has("gateway"))) fail("give --ip (and --gateway) or --dhcp, not both", 64)
    let lease: { ip: number; netmask: number; router: number } = null
    if (!dhcp) {
        const text = opts.get("ip") ?? DEFAULT_IP
        let cidr: { ip: number; netmask: number; prefix: number } = null
        try {
            // the prefix is not optional here: the lease carries the mask
            if (text.indexOf("/") > 0) cidr = parseCidr(text)
        } catch {
            cidr = null
        }
        if (!cidr || cidr.prefix < 8) fail(`--ip ${text}: want ADDR/PREFIX, e.g. 198.18.0.2/24 (prefix 8 to 30)`, 64)
        const router = opts.has("gateway") ? parseIp(opts.get("gateway")) : 0
        if (router < 0) fail(`--gateway ${opts.get("gateway")}: not an IPv4 address`, 64)
        lease = { ip: cidr.ip, netmask: cidr.netmask, router }
    }
    if (typeof process.getuid === "function" && process.getuid() !== 0) fail("serve opens a TAP device and needs root (run it with sudo)", 77)
    if (!existsSync("/dev/net/tun")) fail("/dev/net/tun is missing: load the tun module (modprobe tun)")
    let tap: TapDevice
    try {
        tap = await TapDevice.open(tapName, { netns: opts.get("netns") })
    } catch (e) {
        fail(e instanceof TapError ? e.message : String(e))
    }
    console.log(`building ${opts.get("entry") ?? FIRMWARE_ENTRY} and starting it in the DeviceScript VM with an ${chip.toUpperCase()} model on its SPI bus`)
    const config = hostname !== undefined ? { hostname } : undefined
    const dev = await VmDevice.start({ entry: opts.get("entry"), chip, config, onLine: (l) => console.log("[device] " + l) })
    if (lease) {
        try {
            dev.serveDhcp(lease.ip, lease.netmask, lease.router)
        } catch (e) {
            dev.stop()
            await tap.close()
            fail(`--ip ${opts.get("ip") ?? DEFAULT_IP}: ${(e as Error).message}`, 64)
        }
        console.log(`a DHCP server on the device's wire offers it ${ipToString(lease.ip)}`)
    }
    dev.attach(tap)
    dev.onStop = (e) => {
        console.error("ds-tcpip: " + e.message)
        void tap.close().then(() => process.exit(1))
    }
    const stop = () => {
        dev.stop()
        void tap.close().then(() => process.exit(0))
    }
    process.once("SIGINT", stop)
    process.once("SIGTERM", stop)
}

function fail(msg: string, code = 1): never {
    console.error("ds-tcpip: " + msg)
    process.exit(code)
}
