// The real-time runner: drives a Stack from a frame link (a TAP, or anything
// with send/onFrame) on the wall clock, the way the simulator drives it on
// virtual time.
//
//   link.onFrame ─▶ [impairments in] ─▶ pcap/trace ─▶ stack.receive(frame, now)
//   stack ─▶ driver.transmit ─▶ pcap/trace ─▶ [impairments out] ─▶ link.send
//   one timer, re-armed to stack.nextDeadline() after every burst ─▶ stack.poll(now)
//
// A burst is one callback of the link (a batch of frames) or of a timer with
// the microtasks it sets off (the application's reads and writes): frames and
// socket calls only ask for a re-arm, and one look at the deadline happens
// after the burst (process.nextTick). Sending never waits for it: a segment
// goes out from inside the socket call that produced it.
//
// `now` is performance.now(): monotonic milliseconds (fractional), never
// stepped by NTP. There is exactly one poll timer: a setTimeout to the
// earliest deadline, or a setImmediate when the deadline is already due
// (setTimeout(0) would cost a millisecond per application write). Nothing
// spins: an idle stack with no deadline has no timer at all, and a stack
// that keeps reporting a deadline that is already due after being polled is
// polled again at most once per millisecond (and counted in `stuckPolls`).
//
// Impairments (src/host/sim/impair.ts) are applied between the link and the
// stack, one FaultInjector per direction; pcap and trace see what the stack
// sees (frames in after the impairments, frames out before them), as tcpdump
// on the device itself would.
import "./buffer-polyfill.js"
import { openSync, writeSync, closeSync } from "node:fs"
import { randomInt } from "node:crypto"
import { Stack } from "../stack.js"
import { Limits } from "../config.js"
import { NetDriver } from "../driver.js"
import { Xoshiro128 } from "../random.js"
import { Net, Signal, SocketHost } from "../socket/socket.js"
import { parseIp, parseMac } from "../wire/bytes.js"
import { FaultInjector, Impairments, Delivery, FaultStats } from "./sim/impair.js"
import { PcapWriter } from "./sim/pcap.js"
import { TraceContext } from "./trace.js"

/** What the runner needs of a network interface (TapDevice has it). */
export interface FrameLink {
    /** Sends frame[0, length); must copy before returning. */
    send(frame: Buffer, length: number): void
    /** Set by the runner: called with each received frame (valid only during the call). */
    onFrame: ((frame: Buffer) => void) | null
}

/** Where captured frames go: a PcapWriter (in memory) or a PcapFile (streamed). */
export interface PcapSink {
    write(timeMs: number, frame: Buffer, length?: number): void
}

/** The monotonic clock of the runner (ms). */
export function monotonicNow(): number {
    return performance.now()
}

/** Wall-clock ms at monotonic 0, for pcap timestamps (pcap time = epoch + now). */
export const MONOTONIC_EPOCH_MS = performance.timeOrigin

/** A pcap file written as frames come (buffered, flushed every 64 KiB, 250 ms and on close). */
export class PcapFile implements PcapSink {
    count = 0
    private fd: number
    private buf: Buffer[] = []
    private bytes = 0
    private timer: NodeJS.Timeout | null = null
    private readonly epochMs: number

    constructor(path: string, epochMs = MONOTONIC_EPOCH_MS) {
        this.epochMs = epochMs
        this.fd = openSync(path, "w")
        writeSync(this.fd, new PcapWriter().toBuffer()) // the 24-byte global header
    }

    write(timeMs: number, frame: Buffer, length = frame.length): void {
        if (this.fd < 0) return
        const totalUs = Math.round((timeMs + this.epochMs) * 1000)
        const sec = Math.floor(totalUs / 1e6)
        const r = Buffer.alloc(16 + length)
        r.writeUInt32LE(sec >>> 0, 0)
        r.writeUInt32LE(totalUs - sec * 1e6, 4)
        r.writeUInt32LE(length, 8)
        r.writeUInt32LE(length, 12)
        frame.copy(r, 16, 0, length)
        this.buf.push(r)
        this.bytes += r.length
        this.count++
        if (this.bytes >= 65536) this.flush()
        else if (!this.timer) {
            this.timer = setTimeout(() => this.flush(), 250)
            this.timer.unref()
        }
    }

    flush(): void {
        if (this.timer) clearTimeout(this.timer)
        this.timer = null
        if (this.fd < 0 || !this.buf.length) return
        writeSync(this.fd, Buffer.concat(this.buf))
        this.buf = []
        this.bytes = 0
    }

    close(): void {
        this.flush()
        if (this.fd >= 0) closeSync(this.fd)
        this.fd = -1
    }
}

/** One task waiting on a signal: its promise's resolve, and its timeout (if any). */
class RtWaiter {
    /** Position in RealTimeSocketHost.timed, -1 when it has no timeout (or no longer waits). */
    index = -1
    deadline = 0
    constructor(
        readonly signal: RtSignal,
        readonly resolve: (raised: boolean) => void,
    ) {}
}

class RtSignal implements Signal {
    waiters: RtWaiter[] = []
}

/**
 * SocketHost on the wall clock: a signal is a list of waiters (promise
 * resolvers), kick() asks the runner to re-arm its poll timer. Every socket
 * read of every request waits here, nearly always with a timeout that never
 * fires (keep-alive, header, body), so timeouts are not a Node timer each:
 * the timed waiters sit in one array (removal is a swap with the last) and a
 * single timer, armed for the earliest deadline known when it was armed,
 * sweeps it. Nor is a closure made per wait.
 */
export class RealTimeSocketHost implements SocketHost {
    /** Errors escaping spawned tasks. */
    errors: unknown[] = []
    /** Called with each error escaping a spawned task (default: kept in `errors`, at most 100). */
    onError: ((e: unknown) => void) | null = null

    constructor(
        private readonly clock: () => number = monotonicNow,
        private readonly onKick: () => void = () => {},
    ) {}

    now = (): number => this.clock()

    newSignal = (): Signal => new RtSignal()

    /** Waiters with a timeout, in no order. */
    private timed: RtWaiter[] = []
    private sweepTimer: NodeJS.Timeout | null = null
    private sweepAt = -1
    private readonly sweep = (): void => {
        this.sweepTimer = null
        this.sweepAt = -1
        const now = this.clock()
        const timed = this.timed
        let next = -1
        let due: RtWaiter[] = null
        // back to front: a swap-removal moves an already visited waiter into i
        for (let i = timed.length - 1; i >= 0; i--) {
            const w = timed[i]
            if (w.deadline <= now) {
                this.untime(w)
                const list = w.signal.waiters
                const at = list.indexOf(w)
                if (at >= 0) list.splice(at, 1) // so a signal nobody raises does not collect waiters
                ;(due ??= []).push(w)
            } else if (next < 0 || w.deadline < next) next = w.deadline
        }
        // a late sweep (a busy machine) finds several due: they time out in deadline order
        if (due) {
            due.sort((a, b) => a.deadline - b.deadline)
            for (const w of due) w.resolve(false)
        }
        if (next >= 0) this.armSweep(next, now)
    }

    waitFor = (signal: Signal, timeoutMs: number): Promise<boolean> => {
        const s = signal as RtSignal
        return new Promise<boolean>((resolve) => {
            const w = new RtWaiter(s, resolve)
            if (timeoutMs > 0) {
                const now = this.clock()
                w.deadline = now + timeoutMs
                w.index = this.timed.length
                this.timed.push(w)
                if (this.sweepAt < 0 || w.deadline < this.sweepAt) this.armSweep(w.deadline, now)
            }
            s.waiters.push(w)
        })
    }

    /** Waiters with a timeout still pending (for tests). */
    timedWaiters(): number {
        return this.timed.length
    }

    private armSweep(at: number, now: number): void {
        if (this.sweepTimer) clearTimeout(this.sweepTimer)
        this.sweepAt = at
        this.sweepTimer = setTimeout(this.sweep, Math.max(1, Math.ceil(at - now)))
    }

    private untime(w: RtWaiter): void {
        const timed = this.timed
        const last = timed.pop()
        if (last !== w) {
            timed[w.index] = last
            last.index = w.index
        }
        w.index = -1
    }

    raise = (signal: Signal): void => {
        const s = signal as RtSignal
        const list = s.waiters
        if (!list.length) return
        s.waiters = []
        for (let i = 0; i < list.length; i++) {
            const w = list[i]
            if (w.index >= 0) this.untime(w) // its sweep timer may fire early: it finds nothing and re-arms
            w.resolve(true)
        }
    }

    kick = (): void => this.onKick()

    spawn = (task: () => Promise<void>): void => {
        task().catch((e) => {
            if (this.errors.length < 100) this.errors.push(e)
            if (this.onError) this.onError(e)
        })
    }
}

/** One direction of impairments in real time: deliveries in time order, one timer. */
class ImpairedPath {
    private q: Delivery[] = []
    private timer: NodeJS.Timeout | null = null
    private timerAt = -1
    private stopped = false

    constructor(
        readonly injector: FaultInjector,
        private readonly now: () => number,
        private readonly out: (frame: Buffer) => void,
    ) {}

    /** The frame must not change afterwards (pass a copy). */
    offer(frame: Buffer): void {
        if (this.stopped) return
        this.add(this.injector.process(frame, this.now()))
        this.flush()
    }

    stop(): void {
        this.stopped = true
        if (this.timer) clearTimeout(this.timer)
        this.timer = null
        this.q = []
    }

    private add(ds: Delivery[]): void {
        for (const d of ds) {
            let i = this.q.length
            while (i > 0 && this.q[i - 1].at > d.at) i--
            this.q.splice(i, 0, d)
        }
    }

    private flush(): void {
        if (this.stopped) return
        const now = this.now()
        const hd = this.injector.holdDeadline()
        if (hd >= 0 && hd <= now) this.add(this.injector.release(now))
        while (this.q.length && this.q[0].at <= now) {
            this.out(this.q.shift().frame)
            if (this.stopped) return
        }
        let next = this.q.length ? this.q[0].at : -1
        const h = this.injector.holdDeadline()
        if (h >= 0 && (next < 0 || h < next)) next = h
        if (next < 0) {
            if (this.timer) clearTimeout(this.timer)
            this.timer = null
            this.timerAt = -1
            return
        }
        if (this.timer && this.timerAt === next) return
        if (this.timer) clearTimeout(this.timer)
        this.timerAt = next
        this.timer = setTimeout(() => {
            this.timer = null
            this.timerAt = -1
            this.flush()
        }, Math.max(0, Math.ceil(next - now)))
    }
}

export interface RunnerOptions {
    link: FrameLink
    /** The stack's MAC ("02:..." or 6 bytes); default a random locally administered one. */
    mac?: string | Buffer
    mtu?: number
    /** "198.18.0.2" or "198.18.0.2/24" (the prefix sets the netmask). */
    ip: string
    netmask?: string
    gateway?: string
    limits?: Partial<Limits>
    /** Seed of the stack's random source (ISNs, ports); default a random one. */
    seed?: number
    /** Applied to both directions (each direction derives its own stream from `seed`). */
    impairments?: Partial<Impairments>
    /** Every frame in and out, as the stack sees it. */
    pcap?: PcapSink
    /** tcpdump-style lines of every frame, with the direction ("in"/"out"). */
    trace?: (line: string, direction: "in" | "out") => void
    /** The stack's log lines (TCP state changes, ARP events) with the time they happened. */
    log?: (line: string, now: number) => void
    /** The clock (default performance.now()); tests may inject one. */
    clock?: () => number
}

/** A random locally administered unicast MAC: 02:xx:xx:xx:xx:xx. */
export function randomMac(): Buffer {
    const m = Buffer.alloc(6)
    m[0] = 0x02
    for (let i = 1; i < 6; i++) m[i] = randomInt(256)
    return m
}

/** Parses "a.b.c.d/len" into address and netmask (numbers), or throws with a clear message. */
export function parseCidr(text: string, defaultMask = "255.255.255.0"): { ip: number; netmask: number; prefix: number } {
    const [addr, pfx] = text.split("/")
    const ip = parseIp(addr)
    if (ip < 0 || ip === undefined || ip === null) throw new Error(`bad IPv4 address "${addr}"`)
    let prefix: number
    if (pfx === undefined) {
        const m = parseIp(defaultMask)
        prefix = 0
        for (let b = 31; b >= 0 && (m >>> b) & 1; b--) prefix++
    } else {
        prefix = Number(pfx)
        if (!/^\d+$/.test(pfx) || prefix < 1 || prefix > 30) throw new Error(`bad prefix length "/${pfx}" (1..30)`)
    }
    const netmask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
    return { ip: ip >>> 0, netmask, prefix }
}

export class RealTimeRunner {
    readonly stack: Stack
    readonly host: RealTimeSocketHost
    readonly net: Net
    readonly link: FrameLink
    /** Times the stack still had a due deadline right after a poll (should stay 0). */
    stuckPolls = 0
    /** Polls run. */
    polls = 0

    private readonly clock: () => number
    private readonly trace: TraceContext | null
    private readonly opts: RunnerOptions
    private readonly inPath: ImpairedPath | null
    private readonly outPath: ImpairedPath | null
    private timer: NodeJS.Timeout | null = null
    private timerAt = -1
    private immediate: NodeJS.Immediate | null = null
    private lastPolledDeadline = -1
    private running = false
    private schedulePending = false
    // made once: a closure per frame or per kick shows up in profiles
    private readonly scheduleSoon = (): void => {
        this.schedulePending = false
        this.schedule()
    }
    private readonly pollFromImmediate = (): void => {
        this.immediate = null
        this.pollNow()
    }
    private readonly pollFromTimer = (): void => {
        this.timer = null
        this.timerAt = -1
        this.pollNow()
    }

    constructor(o: RunnerOptions) {
        this.opts = o
        this.link = o.link
        this.clock = o.clock ?? monotonicNow
        const clock = this.clock
        const cidr = parseCidr(o.ip, o.netmask)
        const netmask = o.netmask && o.ip.indexOf("/") < 0 ? parseIp(o.netmask) : cidr.netmask
        const gateway = o.gateway ? parseIp(o.gateway) : 0
        if (o.gateway && gateway < 0) throw new Error(`bad gateway address "${o.gateway}"`)
        const mac = o.mac === undefined ? randomMac() : typeof o.mac === "string" ? parseMac(o.mac) : o.mac
        if (!mac || mac.length !== 6) throw new Error(`bad MAC address "${o.mac}"`)
        this.trace = o.trace ? new TraceContext() : null
        const imp = o.impairments
        const seed = (imp && imp.seed) ?? 1
        const self = this
        this.outPath = imp ? new ImpairedPath(new FaultInjector({ ...imp, seed }), clock, (f) => self.link.send(f, f.length)) : null
        this.inPath = imp ? new ImpairedPath(new FaultInjector({ ...imp, seed: (seed ^ 0x5bd1e995) >>> 0 }), clock, (f) => self.deliver(f)) : null
        const driver: NetDriver = {
            mac,
            mtu: o.mtu ?? 1500,
            transmit(frame: Buffer, length: number): void {
                self.transmit(frame, length)
            },
        }
        this.stack = new Stack({
            driver,
            ip: cidr.ip,
            netmask,
            gateway,
            random: new Xoshiro128(o.seed ?? randomInt(1, 0x7fffffff)),
            log: o.log ? (line: string) => o.log(line, clock()) : undefined,
            limits: o.limits,
        })
        this.stack.tcp.enableSynCookies()
        this.stack.tcp.enableOutOfOrder()
        this.stack.enableUdp()
        this.host = new RealTimeSocketHost(clock, () => self.requestSchedule())
        this.net = new Net(this.stack, this.host)
    }

    now(): number {
        return this.clock()
    }

    /** Fault statistics per direction ("in": link to stack), or null without impairments. */
    impairmentStats(): { in: FaultStats; out: FaultStats } | null {
        return this.inPath ? { in: this.inPath.injector.stats, out: this.outPath.injector.stats } : null
    }

    /** Attaches to the link and announces the stack (gratuitous ARP). */
    start(): void {
        if (this.running) return
        this.running = true
        this.link.onFrame = (f) => {
            if (!this.running) return
            if (this.inPath) this.inPath.offer(Buffer.from(f)) // held for later: a copy
            else this.deliver(f)
        }
        this.stack.start(this.clock())
        this.schedule()
    }

    /** Detaches from the link and stops every timer (the stack keeps its state). */
    stop(): void {
        this.running = false
        this.link.onFrame = null
        if (this.timer) clearTimeout(this.timer)
        if (this.immediate) clearImmediate(this.immediate)
        this.timer = null
        this.immediate = null
        this.timerAt = -1
        if (this.inPath) this.inPath.stop()
        if (this.outPath) this.outPath.stop()
    }

    /**
     * Asks for schedule() once the current callback and its microtasks are
     * done. Every frame and every socket call (SocketHost.kick) may move the
     * next deadline; one look at the end of the burst is enough, and costs
     * one nextDeadline() scan instead of one per event.
     */
    requestSchedule(): void {
        if (this.schedulePending || !this.running) return
        this.schedulePending = true
        process.nextTick(this.scheduleSoon)
    }

    /** Re-reads nextDeadline() and re-arms the single poll timer. */
    schedule(): void {
        if (!this.running || this.immediate) return // a pending immediate poll re-schedules after it runs
        const d = this.stack.nextDeadline()
        if (d < 0) {
            if (this.timer) clearTimeout(this.timer)
            this.timer = null
            this.timerAt = -1
            return
        }
        const now = this.clock()
        if (d <= now && d !== this.lastPolledDeadline) {
            if (this.timer) clearTimeout(this.timer)
            this.timer = null
            this.timerAt = -1
            this.immediate = setImmediate(this.pollFromImmediate)
            return
        }
        if (d <= now) this.stuckPolls++ // polled for this very deadline and it is still due: back off 1 ms
        // A timer already armed for this deadline or an earlier one stays: when it
        // fires early, the poll finds nothing due and re-arms. Deadlines move
        // later on nearly every ACK (the retransmission timer restarts), and
        // re-arming a Node timer per frame costs more than an early wake-up.
        if (this.timer && this.timerAt <= d) return
        if (this.timer) clearTimeout(this.timer)
        this.timerAt = d
        this.timer = setTimeout(this.pollFromTimer, Math.max(1, Math.ceil(d - now)))
    }

    private pollNow(): void {
        if (!this.running) return
        const now = this.clock()
        const d = this.stack.nextDeadline()
        this.polls++
        this.stack.poll(now)
        this.lastPolledDeadline = d >= 0 && d <= now ? d : -1
        this.schedule()
        this.lastPolledDeadline = -1
    }

    private deliver(frame: Buffer): void {
        if (!this.running) return
        const now = this.clock()
        if (this.opts.pcap) this.opts.pcap.write(now, frame, frame.length)
        if (this.trace) this.opts.trace(this.trace.format(frame, frame.length, now), "in")
        this.stack.receive(frame, now)
        this.requestSchedule()
    }

    private transmit(frame: Buffer, length: number): void {
        if (this.opts.pcap || this.trace) {
            const now = this.clock()
            if (this.opts.pcap) this.opts.pcap.write(now, frame, length)
            if (this.trace) this.opts.trace(this.trace.format(frame, length, now), "out")
        }
        if (this.outPath) this.outPath.offer(Buffer.from(frame.subarray(0, length)))
        else this.link.send(frame, length)
    }
}
