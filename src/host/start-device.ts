// `npm start -- --device [--chip enc28j60|w5500] [--port 8080]`: the firmware
// itself (its devs-built bytecode) in the DeviceScript VM on real time,
// driving a model of the Ethernet chip; the model's wire is joined to a
// gateway Stack on Node, which also leases the firmware its address by DHCP
// (198.18.0.2), and a loopback port forwards (like QEMU's hostfwd) through the
// gateway to the device's port 80. No root, no TAP: a browser on
// http://127.0.0.1:8080/ talks to the firmware.
import { FrameLink, RealTimeRunner } from "./runner.js"
import { HostFwd } from "./hostfwd.js"
import { CHIPS, Chip, VmDevice, FIRMWARE_ENTRY } from "./device-runner.js"
import { TestDhcpServer } from "./dhcp-server.js"
import { parseIp } from "../wire/bytes.js"

/** Two FrameLinks joined like a cable: what one sends the other receives (copied). */
function cable(): [FrameLink, FrameLink] {
    const a: FrameLink = { send: (f, n) => b.onFrame && b.onFrame(Buffer.from(f.subarray(0, n))), onFrame: null }
    const b: FrameLink = { send: (f, n) => a.onFrame && a.onFrame(Buffer.from(f.subarray(0, n))), onFrame: null }
    return [a, b]
}

export async function startDevice(argv: string[]): Promise<void> {
    const opt = (name: string, fallback: string) => {
        const i = argv.indexOf("--" + name)
        return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback
    }
    const chip = opt("chip", "enc28j60") as Chip
    const port = Number(opt("port", "8080"))
    if (CHIPS.indexOf(chip) < 0 || !(port >= 0 && port < 65536)) {
        console.error("usage: npm start -- --device [--chip enc28j60|w5500] [--port 8080]")
        process.exit(64)
    }
    const [deviceSide, gatewaySide] = cable()
    console.log(`building ${FIRMWARE_ENTRY} with devs and starting it in the DeviceScript VM with an ${chip.toUpperCase()} model on its SPI bus ...`)
    const dev = await VmDevice.start({ chip, onLine: (l) => console.log("[device] " + l) })
    dev.attach(deviceSide)
    dev.onStop = (e) => {
        console.error("the firmware stopped: " + e.message)
        process.exit(1)
    }
    const gw = new RealTimeRunner({ link: gatewaySide, ip: "198.18.0.1/24", mac: "02:00:00:00:00:01", limits: { tcpConnections: 16, tcpBacklog: 16 } })
    gw.start()
    // the firmware asks DHCP for its address, as on a LAN: the gateway has one to give
    new TestDhcpServer(gw.stack, { first: parseIp("198.18.0.2"), last: parseIp("198.18.0.2"), netmask: parseIp("255.255.255.0"), router: gw.stack.ip })
    await dev.waitForLine((l) => l.startsWith("address "), 60_000)
    const fwd = new HostFwd({ gateway: gw.net, targetIp: "198.18.0.2", targetPort: 80, listenPort: port })
    let realPort: number
    try {
        realPort = await fwd.listen()
    } catch (e) {
        console.error(`cannot listen on 127.0.0.1:${port} (${(e as Error).message}); try --port 0 for any free port`)
        process.exit(1)
    }
    console.log(`Open http://127.0.0.1:${realPort}/ — a gateway stack (198.18.0.1) forwards it over the chip model's wire to the firmware (198.18.0.2).`)
    const stop = () => {
        void fwd.close().finally(() => {
            dev.stop()
            gw.stop()
            process.exit(0)
        })
    }
    process.on("SIGINT", stop)
    process.on("SIGTERM", stop)
}
