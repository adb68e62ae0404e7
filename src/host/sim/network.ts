// The simulated network: hosts on a learning Ethernet switch, with an
// impaired link in each direction between every host and the switch, all in
// virtual time.
//
// A frame a host transmits is copied, stamped with the current virtual time,
// seen by the taps ("out"), passed through the host's uplink FaultInjector,
// arrives at the switch, which learns the source MAC and forwards it (unicast
// to a learned port, flooded when broadcast, multicast or unknown), passes
// through each receiver's downlink FaultInjector, is seen by the taps ("in")
// and finally handed to endpoint.receive(frame, now) as a fresh Buffer.
//
// Timers: the simulator keeps one pending poll per endpoint, at the deadline
// nextDeadline() reports. It re-reads the deadline after every event that
// touched the endpoint (a delivery, a poll, the endpoint transmitting) and,
// for everything tests call from outside, at the start of every run*() call
// and after every event scheduled with at()/after().

import { NetDriver } from "../../driver.js"
import { VirtualClock, TimerHandle } from "./clock.js"
import { FaultInjector, FaultStats, Impairments, Delivery } from "./impair.js"
import { PcapWriter } from "./pcap.js"

/** What the simulator needs of a host: the Stack's runner-facing methods. */
export interface SimEndpoint {
    receive(frame: Buffer, now: number): void
    poll(now: number): void
    /** Absolute virtual ms of the next timer, or -1 when none. */
    nextDeadline(): number
}

/** "out": host -> switch (as transmitted); "in": switch -> host (as received). */
export type Direction = "in" | "out"

export type FrameTap = (hostName: string, direction: Direction, frame: Buffer, now: number) => void

export interface SimulatorOptions {
    /** Seeds every link's impairments (each link derives its own stream). Default 1. */
    seed?: number
    /** Virtual start time in ms (default 0). */
    start?: number
    /** Runaway guard: most events at one virtual instant (default 100000). */
    maxEventsPerInstant?: number
    /**
     * Pad frames shorter than 60 bytes with zeros, as a real NIC does before
     * the FCS (default true). Receivers then see the padding and must use the
     * IP total length.
     */
    padFrames?: boolean
}

export interface AddHostOptions {
    /** The driver's MTU (default 1500). A frame longer than mtu + 18 throws. */
    mtu?: number
    /** Impairments of both directions of this host's link. */
    impairments?: Partial<Impairments>
}

export interface SwitchStats {
    /** Frames that arrived at the switch. */
    ingress: number
    /** Frames forwarded to one learned port. */
    forwarded: number
    /** Frames flooded (broadcast, multicast, unknown unicast). */
    flooded: number
    /** Of which unknown unicast. */
    unknownUnicast: number
    /** Frames dropped because the destination was learned on the ingress port. */
    filtered: number
}

interface Link {
    injector: FaultInjector
    /** Deadline for which a hold-release event is already scheduled. */
    flushAt: number
}

export interface SimHost<E extends SimEndpoint = SimEndpoint> {
    readonly name: string
    readonly mac: Buffer
    readonly port: number
    readonly endpoint: E
    readonly driver: NetDriver
    /** Frames this host transmitted / received. */
    readonly counters: { tx: number; rx: number }
}

interface HostState {
    name: string
    mac: Buffer
    port: number
    endpoint: SimEndpoint
    driver: NetDriver
    counters: { tx: number; rx: number }
    out: Link
    in: Link
    pollEvent: TimerHandle | null
}

function macKey(b: Buffer, off: number): number {
    return b.readUIntBE(off, 6)
}

function macText(k: number): string {
    const parts: string[] = []
    for (let i = 5; i >= 0; i--) parts.push((Math.floor(k / 2 ** (8 * i)) % 256).toString(16).padStart(2, "0"))
    return parts.join(":")
}

function deriveSeed(seed: number, index: number): number {
    let z = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
}

export class Simulator {
    readonly clock: VirtualClock
    readonly seed: number
    readonly padFrames: boolean
    readonly switchStats: SwitchStats = { ingress: 0, forwarded: 0, flooded: 0, unknownUnicast: 0, filtered: 0 }
    private hosts: HostState[] = []
    private byName = new Map<string, HostState>()
    private table = new Map<number, HostState>()
    private taps: FrameTap[] = []
    private dirty = new Set<HostState>()

    constructor(opts: SimulatorOptions = {}) {
        this.clock = new VirtualClock({ start: opts.start ?? 0, maxEventsPerInstant: opts.maxEventsPerInstant })
        this.seed = (opts.seed ?? 1) >>> 0
        this.padFrames = opts.padFrames ?? true
    }

    /** Current virtual time in ms. */
    get now(): number {
        return this.clock.now
    }

    // ---- hosts ----

    /**
     * Attaches a host to the switch. `make` receives the host's driver and
     * returns the endpoint (usually `(driver) => new Stack({ driver, ... })`).
     */
    addHost<E extends SimEndpoint>(name: string, mac: Buffer, make: (driver: NetDriver) => E, opts: AddHostOptions = {}): SimHost<E> {
        if (this.byName.has(name)) throw new Error(`Simulator.addHost: a host named "${name}" already exists`)
        if (!mac || mac.length !== 6) throw new Error(`Simulator.addHost(${name}): the MAC must be 6 bytes`)
        const index = this.hosts.length
        const sim = this
        const h = {
            name,
            mac: Buffer.from(mac),
            port: index,
            endpoint: null as SimEndpoint,
            driver: null as NetDriver,
            counters: { tx: 0, rx: 0 },
            out: { injector: new FaultInjector({ ...opts.impairments, seed: opts.impairments?.seed ?? deriveSeed(this.seed, 2 * index) }), flushAt: -1 },
            in: {
                injector: new FaultInjector({
                    ...opts.impairments,
                    seed: opts.impairments?.seed !== undefined ? inSeed(opts.impairments.seed) : deriveSeed(this.seed, 2 * index + 1),
                }),
                flushAt: -1,
            },
            pollEvent: null as TimerHandle | null,
        } as HostState
        const mtu = opts.mtu ?? 1500
        const driver: NetDriver = {
            mac: h.mac,
            mtu,
            transmit(frame: Buffer, length: number): void {
                sim.transmit(h, frame, length)
            },
        }
        h.driver = driver
        this.hosts.push(h)
        this.byName.set(name, h)
        h.endpoint = make(driver)
        if (!h.endpoint) throw new Error(`Simulator.addHost(${name}): make() returned no endpoint`)
        this.refresh(h)
        return h as unknown as SimHost<E>
    }

    /** The host called `name` (throws if there is none). */
    host<E extends SimEndpoint = SimEndpoint>(name: string): SimHost<E> {
        return this.get(name) as unknown as SimHost<E>
    }

    /**
     * Replaces the impairments of a host's link in one or both directions
     * ("out" = host to switch, "in" = switch to host). Unset fields take their
     * defaults; the random stream and statistics carry on unless a seed is
     * given (with "both", the "in" direction derives its own seed from it).
     */
    setImpairments(hostName: string, imp: Partial<Impairments>, direction: Direction | "both" = "both"): void {
        const h = this.get(hostName)
        if (direction === "out" || direction === "both") h.out.injector.configure(imp)
        if (direction === "in" || direction === "both")
            h.in.injector.configure(direction === "both" && imp.seed !== undefined ? { ...imp, seed: inSeed(imp.seed) } : imp)
    }

    /** The fault injector statistics of a host's link, per direction. */
    linkStats(hostName: string): { out: FaultStats; in: FaultStats } {
        const h = this.get(hostName)
        return { out: h.out.injector.stats, in: h.in.injector.stats }
    }

    /** The injector of one direction of a host's link (for inspection). */
    injector(hostName: string, direction: Direction): FaultInjector {
        const h = this.get(hostName)
        return direction === "out" ? h.out.injector : h.in.injector
    }

    /** The switch's learned MAC table: "aa:bb:cc:dd:ee:ff" -> host name. */
    macTable(): Map<string, string> {
        const m = new Map<string, string>()
        for (const [k, h] of this.table) m.set(macText(k), h.name)
        return m
    }

    // ---- taps ----

    /**
     * Observes every frame on every host's wire: "out" when the host sends it
     * (before its link's impairments), "in" when it is delivered (after them).
     * The frame must not be modified; copy it to keep it. Returns an
     * unsubscribe function.
     */
    onFrame(tap: FrameTap): () => void {
        this.taps.push(tap)
        return () => {
            const i = this.taps.indexOf(tap)
            if (i >= 0) this.taps.splice(i, 1)
        }
    }

    /** Writes what a host's wire carries into a pcap, as tcpdump on that host would see it. */
    capture(hostName: string, writer: PcapWriter, direction: Direction | "both" = "both"): () => void {
        this.get(hostName)
        return this.onFrame((name, dir, frame, now) => {
            if (name === hostName && (direction === "both" || direction === dir)) writer.write(now, frame)
        })
    }

    // ---- scheduling and running ----

    /** Runs fn at absolute virtual time `timeMs`; every endpoint's deadline is re-read afterwards. */
    at(timeMs: number, fn: () => void): TimerHandle {
        return this.clock.schedule(
            timeMs,
            () => {
                fn()
                this.refreshAll()
            },
            "user",
        )
    }

    /** Runs fn `ms` from now. */
    after(ms: number, fn: () => void): TimerHandle {
        return this.at(this.now + ms, fn)
    }

    cancel(h: TimerHandle): void {
        this.clock.cancel(h)
    }

    /** Re-reads every endpoint's nextDeadline() (run*() does this on entry). */
    kick(): void {
        this.refreshAll()
    }

    /** Runs every event due at or before `untilMs`, then sets the clock to `untilMs`. */
    run(untilMs: number): void {
        this.refreshAll()
        while (this.clock.step(untilMs)) {}
        this.clock.advanceTo(untilMs)
    }

    /** run(now + ms). */
    runFor(ms: number): void {
        this.run(this.now + ms)
    }

    /**
     * Runs events until `predicate()` is true (checked first and after every
     * event), for at most `maxMs` of virtual time from now. Returns whether the
     * predicate became true; if not, the clock is left at now + maxMs.
     */
    runUntil(predicate: () => boolean, maxMs: number): boolean {
        const limit = this.now + maxMs
        this.refreshAll()
        if (predicate()) return true
        while (this.clock.step(limit)) {
            if (predicate()) return true
        }
        this.clock.advanceTo(limit)
        return predicate()
    }

    /**
     * Runs until nothing is scheduled (no frames in flight, no endpoint with a
     * deadline), for at most `maxMs` of virtual time. Returns true when idle;
     * the clock then stays at the last event's time. Otherwise it is left at
     * now + maxMs and false is returned.
     */
    runUntilIdle(maxMs: number): boolean {
        const limit = this.now + maxMs
        this.refreshAll()
        while (this.clock.step(limit)) {}
        if (this.clock.pending === 0) return true
        this.clock.advanceTo(limit)
        return false
    }

    /** True when nothing is scheduled. */
    get idle(): boolean {
        this.refreshAll()
        return this.clock.pending === 0
    }

    // ---- internals ----

    private get(name: string): HostState {
        const h = this.byName.get(name)
        if (!h) throw new Error(`Simulator: no host named "${name}"`)
        return h
    }

    private transmit(h: HostState, frame: Buffer, length: number): void {
        if (!(length >= 14) || length > frame.length)
            throw new Error(`Simulator: ${h.name} transmitted a bad frame length ${length} (buffer ${frame.length} bytes)`)
        if (length > h.driver.mtu + 18)
            throw new Error(`Simulator: ${h.name} transmitted a ${length}-byte frame, more than its MTU ${h.driver.mtu} allows`)
        const buf = Buffer.alloc(this.padFrames && length < 60 ? 60 : length)
        frame.copy(buf, 0, 0, length)
        const now = this.now
        h.counters.tx++
        this.dirty.add(h)
        for (const tap of this.taps.slice()) tap(h.name, "out", buf, now)
        this.schedule(h, h.out, h.out.injector.process(buf, now), "out")
    }

    /** Schedules the deliveries an injector decided, and the release of a held frame. */
    private schedule(h: HostState, link: Link, ds: Delivery[], dir: Direction): void {
        for (const d of ds) {
            const f = d.frame
            if (dir === "out") this.clock.schedule(d.at, () => this.ingress(h, f), `switch<-${h.name}`)
            else this.clock.schedule(d.at, () => this.deliver(h, f), `deliver ${h.name}`)
        }
        const hd = link.injector.holdDeadline()
        if (hd >= 0 && hd !== link.flushAt) {
            link.flushAt = hd
            this.clock.schedule(
                hd,
                () => {
                    if (link.flushAt === hd) link.flushAt = -1
                    this.schedule(h, link, link.injector.release(this.now), dir)
                },
                `release ${dir} ${h.name}`,
            )
        }
    }

    private ingress(from: HostState, frame: Buffer): void {
        const s = this.switchStats
        s.ingress++
        if (frame.length < 14) return
        if ((frame[6] & 1) === 0) this.table.set(macKey(frame, 6), from)
        if ((frame[0] & 1) === 0) {
            const to = this.table.get(macKey(frame, 0))
            if (to) {
                if (to === from) s.filtered++
                else {
                    s.forwarded++
                    this.egress(to, frame)
                }
                return
            }
            s.unknownUnicast++
        }
        s.flooded++
        for (const h of this.hosts) if (h !== from) this.egress(h, frame)
    }

    private egress(h: HostState, frame: Buffer): void {
        this.schedule(h, h.in, h.in.injector.process(frame, this.now), "in")
    }

    private deliver(h: HostState, frame: Buffer): void {
        const f = Buffer.from(frame)
        const now = this.now
        h.counters.rx++
        for (const tap of this.taps.slice()) tap(h.name, "in", f, now)
        h.endpoint.receive(f, now)
        this.dirty.add(h)
        this.settle()
    }

    private poll(h: HostState): void {
        h.pollEvent = null
        h.endpoint.poll(this.now)
        this.dirty.add(h)
        this.settle()
    }

    /** Re-reads the deadlines of the endpoints touched since the last settle. */
    private settle(): void {
        if (!this.dirty.size) return
        const hs = [...this.dirty]
        this.dirty.clear()
        for (const h of hs) this.refresh(h)
    }

    private refreshAll(): void {
        this.dirty.clear()
        for (const h of this.hosts) this.refresh(h)
    }

    /** Keeps exactly one pending poll per endpoint, at its (earliest) deadline. */
    private refresh(h: HostState): void {
        const d = h.endpoint.nextDeadline()
        if (typeof d !== "number" || Number.isNaN(d) || d < 0 || d === Infinity) {
            if (h.pollEvent) {
                this.clock.cancel(h.pollEvent)
                h.pollEvent = null
            }
            return
        }
        const at = d < this.now ? this.now : d
        if (h.pollEvent) {
            if (h.pollEvent.time === at) return
            this.clock.cancel(h.pollEvent)
        }
        h.pollEvent = this.clock.schedule(at, () => this.poll(h), `poll ${h.name}`)
    }
}

function inSeed(seed: number): number {
    return (seed ^ 0x5bd1e995) >>> 0
}
