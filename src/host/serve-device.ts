// `ds-tcpip serve --device [--chip enc28j60|w5500] --tap IF [--netns NS] [--ip 198.18.0.2/24 | --dhcp]`:
// the firmware itself (src/main.ts, built with devs) in the DeviceScript VM
// on real time, its SPI bus wired to a model of the Ethernet chip, the
// model's wire bridged to a TAP. The firmware's address is its own
// (198.18.0.2/24 in src/main.ts): --ip, when given, must say the same.
// With --dhcp it is the starter firmware (src/main-starter.ts, ENC28J60),
// which takes its address from a DHCP server on the TAP's network and
// answers to ds-tcpip.local.
import { existsSync } from "node:fs"
import { TapDevice, TapError } from "./tap.js"
import { CHIPS, Chip, VmDevice, entryFor } from "./device-runner.js"

const USAGE = "usage: ds-tcpip serve --device [--chip enc28j60|w5500] --tap IF [--netns NS] [--ip 198.18.0.2/24 | --dhcp] [--entry FILE]"
const DHCP_FIRMWARE = "src/main-starter.ts"
const FIRMWARE_IP = "198.18.0.2/24"

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
        if (["chip", "tap", "netns", "ip", "entry", "dhcp"].indexOf(k) < 0) {
            console.error(`ds-tcpip: serve --device has no option --${k}\n${USAGE}`)
            process.exit(64)
        }
    }
    const chip = (opts.get("chip") ?? "enc28j60") as Chip
    if (CHIPS.indexOf(chip) < 0) fail(`--chip ${chip}: the models are ${CHIPS.join(", ")}`)
    const tapName = opts.get("tap")
    if (!tapName) fail("serve --device needs --tap IF\n" + USAGE)
    const ip = opts.get("ip")
    const dhcp = opts.has("dhcp")
    if (dhcp && ip) fail("give --ip or --dhcp, not both\n" + USAGE, 2)
    if (dhcp && chip !== "enc28j60") fail(`--dhcp runs ${DHCP_FIRMWARE}, which carries the ENC28J60 driver: --chip enc28j60`, 2)
    if (dhcp && !opts.has("entry")) opts.set("entry", DHCP_FIRMWARE)
    if (ip && ip !== FIRMWARE_IP) fail(`--ip ${ip}: the firmware's address is ${FIRMWARE_IP} (set in src/main.ts)`)
    if (typeof process.getuid === "function" && process.getuid() !== 0) fail("serve opens a TAP device and needs root (run it with sudo)", 77)
    if (!existsSync("/dev/net/tun")) fail("/dev/net/tun is missing: load the tun module (modprobe tun)")
    let tap: TapDevice
    try {
        tap = await TapDevice.open(tapName, { netns: opts.get("netns") })
    } catch (e) {
        fail(e instanceof TapError ? e.message : String(e))
    }
    console.log(`building ${opts.get("entry") ?? entryFor(chip)} and starting it in the DeviceScript VM with an ${chip.toUpperCase()} model on its SPI bus`)
    const dev = await VmDevice.start({ entry: opts.get("entry"), chip, onLine: (l) => console.log("[device] " + l) })
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
