// The host end of the bridge driver (src/drivers/bridge.ts): a TCP server
// that takes one device connection at a time and moves its length-prefixed
// Ethernet frames to and from a frame link (a TAP). `ds-tcpip bridge --tap IF`.
import { createServer, Server, Socket } from "node:net"
import { FrameLink } from "./runner.js"

const MAX_FRAME = 1514

export interface BridgeStats {
    connections: number
    toDevice: number
    fromDevice: number
    /** Frames with an impossible length (the connection is closed). */
    bad: number
}

export class BridgeServer {
    readonly stats: BridgeStats = { connections: 0, toDevice: 0, fromDevice: 0, bad: 0 }
    private readonly server: Server
    private client: Socket | null = null

    constructor(link: FrameLink, log: (line: string) => void = () => {}) {
        link.onFrame = (f) => {
            const c = this.client
            if (!c || f.length > MAX_FRAME) return
            const h = Buffer.alloc(2)
            h.writeUInt16BE(f.length, 0)
            c.write(Buffer.concat([h, f]))
            this.stats.toDevice++
        }
        this.server = createServer((s) => {
            // a new device replaces the old one (it restarted)
            if (this.client) this.client.destroy()
            this.client = s
            this.stats.connections++
            s.setNoDelay(true)
            log(`bridge: device connected from ${s.remoteAddress}:${s.remotePort}`)
            let pending: Buffer = Buffer.alloc(0)
            s.on("data", (d: Buffer) => {
                pending = pending.length ? Buffer.concat([pending, d]) : d
                while (pending.length >= 2) {
                    const len = pending.readUInt16BE(0)
                    if (len < 14 || len > MAX_FRAME) {
                        this.stats.bad++
                        log(`bridge: a frame of ${len} bytes: closing the connection`)
                        s.destroy()
                        return
                    }
                    if (pending.length < 2 + len) break
                    link.send(pending.subarray(2, 2 + len), len)
                    this.stats.fromDevice++
                    pending = pending.subarray(2 + len)
                }
            })
            const gone = () => {
                if (this.client === s) this.client = null
                log("bridge: device disconnected")
            }
            s.on("close", gone)
            s.on("error", () => {})
        })
    }

    /** Listens on host:port (port 0: any); resolves to the port. */
    listen(port: number, host = "127.0.0.1"): Promise<number> {
        return new Promise((resolve, reject) => {
            this.server.once("error", reject)
            this.server.listen(port, host, () => {
                const a = this.server.address()
                resolve(typeof a === "object" && a ? a.port : port)
            })
        })
    }

    close(): Promise<void> {
        if (this.client) this.client.destroy()
        return new Promise((resolve) => this.server.close(() => resolve()))
    }
}
