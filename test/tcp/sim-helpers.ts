// Two ds-tcpip stacks on the simulator with sockets on virtual time.
import { createHash } from "node:crypto"
import { Simulator } from "../../src/host/sim/network.js"
import { addStackHost } from "../../src/host/sim/stack-host.js"
import { SimSocketHost, runAsync } from "../../src/host/sim/async.js"
import { Impairments } from "../../src/host/sim/impair.js"
import { Net, TcpSocket } from "../../src/socket/socket.js"
import { Limits } from "../../src/config.js"
import { Stack } from "../../src/stack.js"
import { parseIp } from "../../src/wire/bytes.js"
import { Xoshiro128 } from "../../src/random.js"

export const CLIENT_IP = "198.18.0.1"
export const SERVER_IP = "198.18.0.2"

export interface Pair {
    sim: Simulator
    client: Stack
    server: Stack
    clientNet: Net
    serverNet: Net
    logs: string[]
}

export function pair(seed: number, imp: Partial<Impairments>, limits?: Partial<Limits>, log = false): Pair {
    const sim = new Simulator({ seed })
    const logs: string[] = []
    const logger = (name: string) => (line: string) => {
        if (log) logs.push(`${sim.now.toFixed(3)} ${name} ${line}`)
    }
    const c = addStackHost(sim, "client", { ip: CLIENT_IP, mac: "02:00:00:00:00:01", limits, seed: seed * 2 + 1, log: logger("client") })
    const s = addStackHost(sim, "server", { ip: SERVER_IP, mac: "02:00:00:00:00:02", limits, seed: seed * 2 + 2, log: logger("server") })
    sim.setImpairments("client", { ...imp, seed: seed * 31 + 7 })
    const host = new SimSocketHost(sim)
    c.endpoint.start(0)
    s.endpoint.start(0)
    return { sim, client: c.endpoint, server: s.endpoint, clientNet: new Net(c.endpoint, host), serverNet: new Net(s.endpoint, host), logs }
}

/** size bytes of seeded pseudo-random data. */
export function randomBytes(size: number, seed: number): Buffer {
    const r = new Xoshiro128(seed)
    const b = Buffer.alloc(size)
    for (let i = 0; i + 4 <= size; i += 4) b.writeUInt32LE(r.nextU32(), i)
    for (let i = size & ~3; i < size; i++) b[i] = r.nextU32() & 0xff
    return b
}

export function sha256(b: Buffer): string {
    return createHash("sha256").update(b).digest("hex")
}

/** Reads until end of stream; returns the hash and the byte count. */
export async function readAll(sock: TcpSocket): Promise<{ hash: string; bytes: number }> {
    const h = createHash("sha256")
    const buf = Buffer.alloc(4096)
    let bytes = 0
    for (;;) {
        const n = await sock.read(buf, 0, buf.length)
        if (n === 0) break
        h.update(buf.subarray(0, n))
        bytes += n
    }
    return { hash: h.digest("hex"), bytes }
}

/** Runs an async task on the simulator until it settles; rethrows its failure. */
export async function runTask<T>(sim: Simulator, task: () => Promise<T>, maxMs: number): Promise<T> {
    let result: T
    let failure: unknown
    let done = false
    task()
        .then((r) => (result = r))
        .catch((e) => (failure = e))
        .finally(() => (done = true))
    const finished = await runAsync(sim, () => done, maxMs)
    if (failure) throw failure
    if (!finished) throw new Error("task did not finish in " + maxMs + " ms of virtual time")
    return result
}

export { runAsync, parseIp }
