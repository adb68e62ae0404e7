// The simulator on the wall clock: virtual time is paced to real time, so
// simulated hosts can talk to real sockets (src/host/hostfwd.ts).
//
// Virtual time = the virtual time at start + wall milliseconds since start
// (times `speed`). One timer: a setTimeout to the next event's time, or a
// setImmediate when events are due; at most `batch` events run per turn, so
// real I/O keeps its share of the event loop. Nothing spins: with no event
// scheduled there is no timer at all, until kick() (which the socket host
// below calls whenever application code touched a stack).
//
// Between events the clock stays where the last event left it, so code that
// reads the time from outside an event (a real socket's callback) first
// calls catchUp(): the clock moves to the wall time, but never past the next
// pending event (which must still run at its own time), so time never goes
// backwards and no event runs out of order.
import { Simulator } from "./network.js"
import { SimSocketHost } from "./async.js"
import { Signal } from "../../socket/socket.js"

export interface RealTimeOptions {
    /** Virtual ms per wall ms (default 1). */
    speed?: number
    /** Most events run per event-loop turn (default 1000). */
    batch?: number
}

export class RealTimePacer {
    readonly sim: Simulator
    /** Events run so far. */
    events = 0
    private readonly speed: number
    private readonly batch: number
    private readonly wall0: number
    private readonly virtual0: number
    private timer: NodeJS.Timeout | null = null
    private timerAt = -1
    private immediate: NodeJS.Immediate | null = null
    private running = false

    constructor(sim: Simulator, o: RealTimeOptions = {}) {
        this.sim = sim
        this.speed = o.speed ?? 1
        this.batch = o.batch ?? 1000
        this.wall0 = performance.now()
        this.virtual0 = sim.now
    }

    /** The virtual time that corresponds to now on the wall clock. */
    wallVirtual(): number {
        return this.virtual0 + (performance.now() - this.wall0) * this.speed
    }

    /** Moves the virtual clock toward the wall clock without running or skipping any event. */
    catchUp(): void {
        const w = this.wallVirtual()
        const next = this.sim.clock.peekTime()
        this.sim.clock.advanceTo(next >= 0 && next < w ? next : w)
    }

    start(): void {
        if (this.running) return
        this.running = true
        this.kick()
    }

    stop(): void {
        this.running = false
        if (this.timer) clearTimeout(this.timer)
        if (this.immediate) clearImmediate(this.immediate)
        this.timer = null
        this.immediate = null
        this.timerAt = -1
    }

    /** Re-reads the endpoints' deadlines and re-arms the timer (call after touching a stack from outside). */
    kick(): void {
        if (!this.running) return
        this.sim.kick()
        this.arm()
    }

    private arm(): void {
        if (!this.running || this.immediate) return
        const next = this.sim.clock.peekTime()
        if (next < 0) {
            if (this.timer) clearTimeout(this.timer)
            this.timer = null
            this.timerAt = -1
            return
        }
        const w = this.wallVirtual()
        if (next <= w) {
            if (this.timer) clearTimeout(this.timer)
            this.timer = null
            this.timerAt = -1
            this.immediate = setImmediate(() => {
                this.immediate = null
                this.runDue()
            })
            return
        }
        if (this.timer && this.timerAt === next) return
        if (this.timer) clearTimeout(this.timer)
        this.timerAt = next
        this.timer = setTimeout(
            () => {
                this.timer = null
                this.timerAt = -1
                this.runDue()
            },
            Math.max(1, Math.ceil((next - w) / this.speed)),
        )
    }

    /** Runs the events whose time has come (at most `batch`), then re-arms. */
    private runDue(): void {
        if (!this.running) return
        const w = this.wallVirtual()
        let n = 0
        while (n < this.batch && this.sim.clock.step(w)) n++
        this.events += n
        if (n < this.batch) this.catchUp()
        this.arm()
    }
}

/**
 * SimSocketHost for a paced simulator: the time is caught up to the wall
 * clock when application code asks for it, and kick() re-arms the pacer.
 */
export class RealTimeSimSocketHost extends SimSocketHost {
    constructor(private readonly pacer: RealTimePacer) {
        super(pacer.sim)
        // a timeout is a new simulator event: measured from the caught-up time, and the pacer re-armed for it
        const simWait = this.waitFor
        this.waitFor = (signal: Signal, timeoutMs: number): Promise<boolean> => {
            pacer.catchUp()
            const p = simWait(signal, timeoutMs)
            if (timeoutMs > 0) pacer.kick()
            return p
        }
    }

    override now = (): number => {
        this.pacer.catchUp()
        return this.pacer.sim.now
    }

    override kick = (): void => this.pacer.kick()

}
