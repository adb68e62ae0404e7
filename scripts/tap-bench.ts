// Per-frame cost of the TAP bridge (src/host/tap.ts): two TapDevices on a
// Linux bridge inside a throwaway namespace; frames written to one come back
// on the other, so each crosses the bridge twice and the kernel (addon, or
// DS_TCPIP_TAP=helper for the python helper). A window
// bounds the frames in flight (no queue overflow); each size runs for at most
// N frames or 8 s. Needs root. Run: node --import tsx scripts/tap-bench.ts
import "../src/host/buffer-polyfill.js"
import { TapDevice } from "../src/host/tap.js"
import { Netns, interopSkipReason } from "../test/interop/netns.js"

const skip = interopSkipReason()
if (skip) {
    console.log("tap-bench: skipped: " + skip)
    process.exit(0)
}
const ns = new Netns({ tag: "bench", taps: ["dsbt0", "dsbt1"], kernelAddress: "" })
try {
    ns.exec(["ip", "link", "add", "dsbr0", "type", "bridge", "forward_delay", "0", "stp_state", "0"])
    for (const t of ns.taps) ns.exec(["ip", "link", "set", t, "master", "dsbr0"])
    ns.exec(["ip", "link", "set", "dsbr0", "up"])
    const a = await TapDevice.open("dsbt0", { netns: ns.name })
    console.log(`mechanism: ${a.mechanism}`)
    const b = await TapDevice.open("dsbt1", { netns: ns.name })
    await new Promise((r) => setTimeout(r, 300))
    for (const [size, total] of [[64, 300000], [1514, 150000]]) {
        const frame = Buffer.alloc(size)
        Buffer.from([2, 0, 0, 0, 0, 0x22, 2, 0, 0, 0, 0, 0x11, 0x88, 0xb5]).copy(frame)
        const window = 512
        let sent = 0
        let got = 0
        const t0 = performance.now()
        let iv: NodeJS.Timeout
        const done = new Promise<void>((resolve) => {
            const pump = () => {
                while (sent < total && sent - got < window) {
                    frame.writeUInt32BE(sent, 14)
                    a.send(frame, size)
                    sent++
                }
            }
            b.onFrame = (f) => {
                if (f.length !== size || f[12] !== 0x88) return
                got++
                if (got >= total) resolve()
                else if (sent - got < window / 2) pump()
            }
            pump()
            // frames lost in the kernel would stall the window: refill on a timer, and stop after 8 s
            iv = setInterval(() => {
                if (performance.now() - t0 > 8000) {
                    clearInterval(iv)
                    resolve()
                    return
                }
                if (sent - got >= window) sent = got // forget the lost ones
                pump()
            }, 100)
        })
        await done
        clearInterval(iv)
        const ms = performance.now() - t0
        const fps = (got * 1000) / ms
        console.log(`${size}-byte frames: ${got} in ${ms.toFixed(0)} ms = ${Math.round(fps)} frames/s (${(1000 / fps * 1000).toFixed(2)} µs/frame, ${((fps * size) / 1e6).toFixed(1)} MB/s)`)
    }
    await a.close()
    await b.close()
} finally {
    ns.closeSync()
}
