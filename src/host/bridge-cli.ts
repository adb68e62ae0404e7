// `ds-tcpip bridge --tap IF [--netns NS] [--port 7777] [--listen 127.0.0.1]`:
// the host end of the bridge driver. A DeviceScript program using
// src/device/bridge-socket.ts connects here (from DeviceScript's simulator,
// or from a board on Wi-Fi: then --listen 0.0.0.0) and its frames go to and
// from the TAP.
import { TapDevice, TapError } from "./tap.js"
import { BridgeServer } from "./bridge.js"

const USAGE = "usage: ds-tcpip bridge --tap IF [--netns NS] [--port 7777] [--listen 127.0.0.1]"

export async function bridgeCommand(argv: string[]): Promise<void> {
    const opts = new Map<string, string>()
    for (let i = 0; i < argv.length; i += 2) {
        const k = argv[i]
        if (!k.startsWith("--") || i + 1 >= argv.length || ["--tap", "--netns", "--port", "--listen"].indexOf(k) < 0) {
            console.error(`ds-tcpip: bridge: unexpected "${k}"\n${USAGE}`)
            process.exit(64)
        }
        opts.set(k.slice(2), argv[i + 1])
    }
    const tapName = opts.get("tap")
    const port = Number(opts.get("port") ?? "7777")
    if (!tapName || !(port > 0 && port < 65536)) {
        console.error(USAGE)
        process.exit(64)
    }
    if (typeof process.getuid === "function" && process.getuid() !== 0) {
        console.error("ds-tcpip: bridge opens a TAP device and needs root (run it with sudo)")
        process.exit(77)
    }
    let tap: TapDevice
    try {
        tap = await TapDevice.open(tapName, { netns: opts.get("netns") })
    } catch (e) {
        console.error("ds-tcpip: " + (e instanceof TapError ? e.message : String(e)))
        process.exit(1)
    }
    const bridge = new BridgeServer(tap, (l) => console.log(l))
    const host = opts.get("listen") ?? "127.0.0.1"
    await bridge.listen(port, host)
    console.log(`bridge: ${tapName} <-> tcp://${host}:${port} (frames with a 2-byte length prefix)`)
    const stop = (): void => {
        void bridge.close().then(() => tap.close()).then(() => process.exit(0))
    }
    process.once("SIGINT", stop)
    process.once("SIGTERM", stop)
}
