// Bulk transfers between two ds-tcpip stacks over impaired virtual links:
// byte-exact (SHA-256) in both directions, with clean closes and an empty
// pool at the end.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { pair, randomBytes, sha256, readAll, runAsync, parseIp, SERVER_IP, Pair } from "./sim-helpers.js"
import { Impairments } from "../../src/host/sim/impair.js"
import { Reason } from "../../src/wire/reason.js"

const MB = 1024 * 1024
const LIMITS = { tcpSendBuffer: 16384, tcpRecvBuffer: 16384, tcpMslMs: 1000 }

/** Sends `data` one way over a fresh connection; returns what the receiver hashed. */
async function transfer(p: Pair, data: Buffer, serverSends: boolean, maxMs: number) {
    const server = p.serverNet.listen(80)
    let received: { hash: string; bytes: number } = null
    let failure: unknown = null
    const sender = async (sock: any) => {
        await sock.write(data)
        sock.close()
    }
    const receiver = async (sock: any) => {
        received = await readAll(sock)
        sock.close()
    }
    const serverTask = (async () => {
        const sock = await server.accept()
        await (serverSends ? sender(sock) : receiver(sock))
    })().catch((e) => (failure = e))
    const clientTask = (async () => {
        const sock = await p.clientNet.connect(parseIp(SERVER_IP), 80)
        await (serverSends ? receiver(sock) : sender(sock))
    })().catch((e) => (failure = e))
    void serverTask
    void clientTask
    const ok = await runAsync(p.sim, () => received !== null || failure !== null, maxMs)
    if (failure) throw failure
    assert.ok(ok, "transfer did not finish in " + maxMs + " ms of virtual time")
    server.close()
    // both sides reach CLOSED and TIME-WAIT expires: the pools empty
    await runAsync(p.sim, () => p.client.tcp.inUseCount() === 0 && p.server.tcp.inUseCount() === 0, 120000)
    return received
}

function checkClean(p: Pair) {
    assert.equal(p.client.tcp.inUseCount(), 0, "client pool: " + JSON.stringify(p.client.tcp.countByState()))
    assert.equal(p.server.tcp.inUseCount(), 0, "server pool: " + JSON.stringify(p.server.tcp.countByState()))
    assert.equal(p.client.counters.drops[Reason.InternalError], 0)
    assert.equal(p.server.counters.drops[Reason.InternalError], 0)
}

const SIZE = 10 * MB
const data = randomBytes(SIZE, 99)
const want = sha256(data)

const cases: [string, Partial<Impairments>][] = [
    ["clean link", { delayMs: 0.5 }],
    ["5% loss", { loss: 0.05, delayMs: 0.5 }],
    ["20% loss", { loss: 0.2, delayMs: 0.5 }],
    ["reordering, duplication, corruption", { reorder: 0.1, duplicate: 0.05, corrupt: 0.02, delayMs: 1, jitterMs: 1 }],
]

for (const [name, imp] of cases) {
    for (const serverSends of [false, true]) {
        const seeds = imp.loss === 0.2 ? [1] : [1, 2]
        for (const seed of seeds) {
            test(`10 MB ${serverSends ? "server → client" : "client → server"}, ${name}, seed ${seed}: byte-exact`, async () => {
                const p = pair(seed, imp, LIMITS)
                const got = await transfer(p, data, serverSends, 3600000)
                assert.equal(got.bytes, SIZE)
                assert.equal(got.hash, want)
                checkClean(p)
                if (imp.loss) assert.ok(p.client.tcp.counters.retransmits + p.server.tcp.counters.retransmits > 0)
            })
        }
    }
}
