// Runs in the DeviceScript VM (test/vm/vm.test.ts): two Stacks in one
// program joined by a MemoryLink, A (client, 198.18.0.1) and B (server,
// 198.18.0.2, port 7000). In order:
//   handshake; 65536 bytes A -> B (byte i = (i * 7 + 3) & 255), every byte
//   checked by B; 65536 bytes B -> A checked by A; the client closes first
//   (A: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT, CLOSED after 2 MSL); a second
//   connection that the server closes first; both pools empty at the end.
// It prints progress lines and, when all went well,
//   a2b 65536 ok / b2a 65536 ok / closed client-first / closed server-first /
//   pool a 0 b 0 / work ... / done
// and on any failure a line saying what went wrong, then "done".
//
// The program drives both stacks itself, one bounded turn at a time: deliver
// at most FRAMES_PER_TURN frames, run the timers that are due, do at most
// CHUNK bytes of application work per side, then `await ds.sleep(1)`. The VM
// kills a fiber that runs 131,071 opcodes without suspending; the harness
// measures the worst turn (DeviceVm.maxStepsPerTurn).
import * as ds from "@devicescript/core"
import { Stack } from "../../src/stack.js"
import { MemoryLink } from "../../src/drivers/memory-link.js"
import { Xoshiro128 } from "../../src/random.js"
import { parseIp, parseMac } from "../../src/wire/bytes.js"
import { TcpConnection } from "../../src/tcp/connection.js"
import { TcpState, TCP_STATE_NAMES } from "../../src/tcp/state.js"

const MTU = 1500
const ETH_HEADER = 14
const TOTAL = 65536
const CHUNK = 512
const PROGRESS = 16384
const FRAMES_PER_TURN = 2
const LINK_QUEUE = 4
const PORT = 7000
/** Turns one phase may take before it is reported as stalled. */
const MAX_TURNS = 20000
const MSL = 100

const link = new MemoryLink(LINK_QUEUE, ETH_HEADER + MTU)
const portA = link.port(parseMac("02:00:00:00:00:01"), MTU)
const portB = link.port(parseMac("02:00:00:00:00:02"), MTU)
const ipA = parseIp("198.18.0.1")
const ipB = parseIp("198.18.0.2")
const netmask = parseIp("255.255.255.0")
// two stacks share one 64 KiB heap: small pools
const limits = {
    arpEntries: 2,
    arpQueueFrames: 1,
    udpSockets: 0,
    tcpConnections: 2,
    tcpSendBuffer: 2048,
    tcpRecvBuffer: 2048,
    tcpOutOfOrderRanges: 2,
    tcpListeners: 1,
    tcpBacklog: 2,
    tcpMslMs: MSL,
}
const a = new Stack({ driver: portA, ip: ipA, netmask, random: new Xoshiro128(1), limits })
const b = new Stack({ driver: portB, ip: ipB, netmask, random: new Xoshiro128(2), limits })
link.attach(portA, a)
link.attach(portB, b)

/** The states a stack's connections went through since reset(), and when TIME-WAIT began and ended. */
class Recorder {
    names: string[] = []
    timeWaitAt = -1
    closedAt = -1
    reset() {
        this.names = []
        this.timeWaitAt = -1
        this.closedAt = -1
    }
    joined(): string {
        return this.names.join(" ")
    }
}
const recA = new Recorder()
const recB = new Recorder()
function record(rec: Recorder, from: TcpState, to: TcpState) {
    if (rec.names.length < 16) rec.names.push(TCP_STATE_NAMES[to])
    if (to === TcpState.TimeWait) rec.timeWaitAt = ds.millis()
    if (to === TcpState.Closed && from === TcpState.TimeWait) rec.closedAt = ds.millis()
}
a.tcp.onStateChange = (c: TcpConnection, from: TcpState, to: TcpState) => record(recA, from, to)
b.tcp.onStateChange = (c: TcpConnection, from: TcpState, to: TcpState) => record(recB, from, to)

// ---- the turn ---------------------------------------------------------------

let turns = 0
let frames = 0
let maxFrames = 0
let maxQueued = 0

function pollIfDue(s: Stack, now: number) {
    const d = s.nextDeadline()
    if (d >= 0 && now >= d) s.poll(now)
}

async function turn() {
    const now = ds.millis()
    const q = link.pending()
    if (q > maxQueued) maxQueued = q
    const n = link.deliver(now, FRAMES_PER_TURN)
    frames += n
    if (n > maxFrames) maxFrames = n
    pollIfDue(a, now)
    pollIfDue(b, now)
    turns++
    await ds.sleep(1)
}

function stateOf(c: TcpConnection): string {
    return c ? TCP_STATE_NAMES[c.state] + (c.error ? " error " + c.error : "") : "none"
}

// ---- phases -----------------------------------------------------------------

const listener = b.tcp.listen(PORT, 2)
let ca: TcpConnection = null
let cb: TcpConnection = null

async function open(label: string): Promise<boolean> {
    ca = a.tcp.connect(ipB, PORT, ds.millis())
    cb = null
    if (!ca) {
        console.log(label + " connect failed")
        return false
    }
    for (let i = 0; i < MAX_TURNS; i++) {
        if (!cb) cb = b.tcp.accept(listener)
        if (cb && ca.state === TcpState.Established && cb.state === TcpState.Established) {
            console.log(label + " established at " + ds.millis() + " ms")
            return true
        }
        if (ca.state === TcpState.Closed) break
        await turn()
    }
    console.log(label + " stalled: a " + stateOf(ca) + ", b " + stateOf(cb))
    return false
}

const txBuf = Buffer.alloc(CHUNK)
const rxBuf = Buffer.alloc(CHUNK)

/** Sends TOTAL pattern bytes from (from, fc) to (to, tc); the receiver checks every byte. */
async function transfer(label: string, from: Stack, fc: TcpConnection, to: Stack, tc: TcpConnection): Promise<boolean> {
    const t0 = ds.millis()
    let sent = 0
    let got = 0
    let txv = 3
    let rxv = 3
    let bad = -1
    let next = PROGRESS
    for (let i = 0; i < MAX_TURNS && got < TOTAL; i++) {
        let n = TOTAL - sent
        if (n > CHUNK) n = CHUNK
        const room = fc.writable()
        if (n > room) n = room
        if (n > 0) {
            for (let k = 0; k < n; k++) {
                txBuf[k] = txv
                txv = (txv + 7) & 255
            }
            const taken = from.tcp.send(fc, txBuf, 0, n, ds.millis())
            if (taken !== n) {
                console.log(label + " send took " + taken + " of " + n + " (" + stateOf(fc) + ")")
                return false
            }
            sent += n
        }
        const r = to.tcp.recv(tc, rxBuf, 0, CHUNK, ds.millis())
        for (let k = 0; k < r; k++) {
            if (rxBuf[k] !== rxv && bad < 0) bad = got + k
            rxv = (rxv + 7) & 255
        }
        got += r
        if (got >= next) {
            console.log(label + " " + got + " at " + ds.millis() + " ms")
            next += PROGRESS
        }
        if (fc.error || tc.error) break
        await turn()
    }
    if (got !== TOTAL) {
        console.log(label + " stalled at " + got + " of " + TOTAL + " (sent " + sent + "): sender " + stateOf(fc) + ", receiver " + stateOf(tc))
        return false
    }
    if (bad >= 0) {
        console.log(label + " " + got + " bad byte at " + bad)
        return false
    }
    console.log(label + " took " + (ds.millis() - t0) + " ms")
    console.log(label + " " + got + " ok")
    return true
}

/**
 * Closes (first, fc) and, once its FIN has arrived, (second, sc); waits
 * until both pools are empty. Checks the states each side went through and
 * that TIME-WAIT (on the side that closed first) lasted 2 MSL.
 */
async function closeBoth(label: string, first: Stack, fc: TcpConnection, rf: Recorder, second: Stack, sc: TcpConnection, rs: Recorder): Promise<boolean> {
    recA.reset()
    recB.reset()
    first.tcp.close(fc, ds.millis())
    let secondClosed = false
    let done = false
    for (let i = 0; i < MAX_TURNS; i++) {
        if (!secondClosed && sc.finReceived && sc.readable() === 0) {
            second.tcp.close(sc, ds.millis())
            secondClosed = true
        }
        if (secondClosed && first.tcp.inUseCount() === 0 && second.tcp.inUseCount() === 0) {
            done = true
            break
        }
        await turn()
    }
    const firstStates = rf.joined()
    const secondStates = rs.joined()
    const timeWait = rf.closedAt - rf.timeWaitAt
    console.log(label + " first: " + firstStates)
    console.log(label + " second: " + secondStates)
    console.log(label + " time-wait " + timeWait + " ms")
    if (!done) {
        console.log(label + " stalled: first " + stateOf(fc) + ", second " + stateOf(sc))
        return false
    }
    if (firstStates !== "FIN-WAIT-1 FIN-WAIT-2 TIME-WAIT CLOSED" || secondStates !== "CLOSE-WAIT LAST-ACK CLOSED") {
        console.log(label + " unexpected states")
        return false
    }
    if (rf.timeWaitAt < 0 || timeWait < 2 * MSL || timeWait > 2 * MSL + 50) {
        console.log(label + " TIME-WAIT did not last 2 MSL")
        return false
    }
    console.log("closed " + label)
    return true
}

async function main() {
    a.start(ds.millis())
    b.start(ds.millis())
    if (!listener) {
        console.log("listen failed")
        return
    }
    if (!(await open("conn1"))) return
    if (!(await transfer("a2b", a, ca, b, cb))) return
    if (!(await transfer("b2a", b, cb, a, ca))) return
    if (!(await closeBoth("client-first", a, ca, recA, b, cb, recB))) return
    if (!(await open("conn2"))) return
    if (!(await closeBoth("server-first", b, cb, recB, a, ca, recA))) return
    console.log("pool a " + a.tcp.inUseCount() + " b " + b.tcp.inUseCount())
}

try {
    await main()
} catch (e) {
    console.log("exception " + e)
}
console.log("work turns " + turns + " frames " + frames + " max-frames-per-turn " + maxFrames + " max-queued " + maxQueued + " dropped " + link.dropped)
console.log("done")
