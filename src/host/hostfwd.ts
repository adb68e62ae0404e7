// Host port forwarding into the simulator, like QEMU's hostfwd: a real TCP
// listener on 127.0.0.1:PORT (node:net); each connection it accepts becomes
// a ds-tcpip connection from a simulated gateway (a Stack in the simulator)
// to a device inside the simulated network, and bytes are relayed both ways.
// The simulator must run on the wall clock (sim/realtime.ts) and the
// gateway's Net must use a RealTimeSimSocketHost.
//
// Back-pressure both ways: a real socket is paused while its data waits to
// enter the gateway connection's send ring (TcpSocket.write resolves once it
// is all queued); the simulated side is read only while the real socket's
// write buffer is drained. Half-closes pass through (FIN <-> end()), a reset
// or error on one side destroys/aborts the other.
import * as nodeNet from "node:net"
import { Net, TcpSocket } from "../socket/socket.js"
import { parseIp } from "../wire/bytes.js"

export interface HostFwdOptions {
    /** The simulated gateway's sockets. */
    gateway: Net
    /** Where connections go inside the simulation. */
    targetIp: string
    targetPort: number
    /** Real address to listen on (default 127.0.0.1). */
    listenHost?: string
    /** Real port (default 0: any free port; see HostFwd.port). */
    listenPort?: number
    /** Connect timeout inside the simulation (ms, default 10000). */
    connectTimeoutMs?: number
    log?: (line: string) => void
}

export interface HostFwdStats {
    accepted: number
    connected: number
    failed: number
    active: number
    bytesIn: number
    bytesOut: number
}

export class HostFwd {
    readonly stats: HostFwdStats = { accepted: 0, connected: 0, failed: 0, active: 0, bytesIn: 0, bytesOut: 0 }
    private server: nodeNet.Server
    private readonly o: HostFwdOptions
    private readonly target: number
    private sockets = new Set<nodeNet.Socket>()

    constructor(o: HostFwdOptions) {
        this.o = o
        this.target = parseIp(o.targetIp)
        if (this.target < 0) throw new Error(`hostfwd: bad target address ${o.targetIp}`)
        this.server = nodeNet.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => this.accept(s))
    }

    /** Starts listening; resolves with the real port. */
    listen(): Promise<number> {
        return new Promise<number>((resolve, reject) => {
            this.server.once("error", reject)
            this.server.listen(this.o.listenPort ?? 0, this.o.listenHost ?? "127.0.0.1", () => {
                this.server.off("error", reject)
                resolve(this.port)
            })
        })
    }

    get port(): number {
        const a = this.server.address()
        return a && typeof a === "object" ? a.port : -1
    }

    /** Stops listening and destroys the relayed connections. */
    close(): Promise<void> {
        for (const s of this.sockets) s.destroy()
        return new Promise<void>((resolve) => this.server.close(() => resolve()))
    }

    private say(line: string): void {
        if (this.o.log) this.o.log(line)
    }

    private accept(real: nodeNet.Socket): void {
        this.stats.accepted++
        this.sockets.add(real)
        const gw = this.o.gateway
        const from = `${real.remoteAddress}:${real.remotePort}`
        let sim: TcpSocket = null
        let closed = false
        const finish = () => {
            if (closed) return
            closed = true
            this.sockets.delete(real)
            this.stats.active--
        }
        this.stats.active++
        real.on("error", () => {}) // reported by "close"
        real.on("close", (hadError) => {
            // the real side is gone: an error resets the simulated side, a clean close already sent our FIN
            if (sim) {
                if (hadError) sim.abort()
                else sim.close()
            }
            finish()
        })
        gw.connect(this.target, this.o.targetPort, this.o.connectTimeoutMs ?? 10000).then(
            (s) => {
                if (closed || real.destroyed) {
                    s.abort()
                    return
                }
                sim = s
                this.stats.connected++
                this.say(`hostfwd: ${from} -> ${this.o.targetIp}:${this.o.targetPort} (local port ${s.localPort})`)
                this.realToSim(real, s)
                void this.simToReal(s, real)
                real.resume()
            },
            (e) => {
                this.stats.failed++
                this.say(`hostfwd: ${from}: ${(e as Error).message}`)
                real.destroy()
            },
        )
    }

    private realToSim(real: nodeNet.Socket, sim: TcpSocket): void {
        let chain = Promise.resolve()
        real.on("data", (chunk: Buffer) => {
            // hold the real socket until this chunk is in the send ring
            real.pause()
            this.stats.bytesIn += chunk.length
            chain = chain
                .then(() => sim.write(chunk))
                .then(
                    () => {
                        if (!real.destroyed) real.resume()
                    },
                    () => {
                        real.destroy()
                    },
                )
        })
        real.on("end", () => {
            chain = chain.then(() => sim.shutdown())
        })
    }

    private async simToReal(sim: TcpSocket, real: nodeNet.Socket): Promise<void> {
        const buf = Buffer.alloc(16384)
        try {
            for (;;) {
                const n = await sim.read(buf, 0, buf.length)
                if (n === 0) {
                    if (!sim.ended()) continue
                    if (!real.destroyed) real.end()
                    return
                }
                if (real.destroyed) return
                this.stats.bytesOut += n
                // a copy: buf is reused for the next read
                if (!real.write(Buffer.from(buf.subarray(0, n)))) {
                    await new Promise<void>((resolve) => {
                        const done = () => {
                            real.off("drain", done)
                            real.off("close", done)
                            resolve()
                        }
                        real.on("drain", done)
                        real.on("close", done)
                    })
                }
            }
        } catch (e) {
            // reset or timed out inside the simulation: reset the real side too
            real.resetAndDestroy()
        }
    }
}
