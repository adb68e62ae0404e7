// Virtual time for the simulator: a clock that only moves when events run,
// and a deterministic event queue.
//
// Events are kept in a binary min-heap keyed by (time, insertion sequence), so
// events due at the same instant run in the order they were scheduled, and a
// run with the same inputs is identical every time. Cancellation is lazy: a
// cancelled event stays in the heap and is skipped when it reaches the top.

export interface TimerHandle {
    /** Absolute virtual time (ms) the event is due. */
    readonly time: number
    /** Insertion sequence number, the tie-breaker between events due at the same time. */
    readonly seq: number
    /** A short description, shown by the runaway-loop guard. */
    readonly label: string
    /** True once the event has been cancelled; it will not run. */
    readonly cancelled: boolean
    /** True once the event has run. */
    readonly done: boolean
}

interface Entry extends TimerHandle {
    time: number
    seq: number
    label: string
    cancelled: boolean
    done: boolean
    fn: () => void
}

export interface VirtualClockOptions {
    /** Start time in ms (default 0). */
    start?: number
    /**
     * More than this many events at one virtual instant throws: a component
     * that keeps asking to run "now" without making progress would otherwise
     * hang the test. Default 100000.
     */
    maxEventsPerInstant?: number
}

export class RunawayError extends Error {
    constructor(message: string) {
        super(message)
        this.name = "RunawayError"
    }
}

export class VirtualClock {
    private heap: Entry[] = []
    private seqNo = 0
    private live = 0
    private _now: number
    /** See VirtualClockOptions.maxEventsPerInstant. */
    maxEventsPerInstant: number
    private instantTime = NaN
    private instantCount = 0
    private recent: string[] = []
    /** Total number of events run so far. */
    eventsRun = 0

    constructor(opts: VirtualClockOptions = {}) {
        this._now = opts.start ?? 0
        this.maxEventsPerInstant = opts.maxEventsPerInstant ?? 100000
    }

    /** The current virtual time in ms. */
    get now(): number {
        return this._now
    }

    /** Number of scheduled events that have neither run nor been cancelled. */
    get pending(): number {
        return this.live
    }

    /**
     * Runs fn at absolute virtual time `at` (ms). A time in the past is run at
     * the current time (after the events already due now).
     */
    schedule(at: number, fn: () => void, label = "event"): TimerHandle {
        if (typeof at !== "number" || Number.isNaN(at) || at === Infinity || at === -Infinity)
            throw new Error(`VirtualClock.schedule: bad time ${at} (${label})`)
        const e: Entry = { time: at < this._now ? this._now : at, seq: this.seqNo++, label, cancelled: false, done: false, fn }
        this.push(e)
        this.live++
        return e
    }

    /** Runs fn `delay` ms from now. */
    after(delay: number, fn: () => void, label = "event"): TimerHandle {
        return this.schedule(this._now + delay, fn, label)
    }

    /** Cancels an event; harmless if it already ran or was cancelled. */
    cancel(h: TimerHandle | null | undefined): void {
        if (!h) return
        const e = h as Entry
        if (e.cancelled || e.done) return
        e.cancelled = true
        this.live--
    }

    /** Time of the next live event, or -1 when none is scheduled. */
    peekTime(): number {
        this.dropCancelled()
        return this.heap.length ? this.heap[0].time : -1
    }

    /**
     * Runs the next event if it is due at or before `limit` (default: any),
     * advancing the clock to its time. Returns false when there was none.
     */
    step(limit = Infinity): boolean {
        this.dropCancelled()
        if (!this.heap.length || this.heap[0].time > limit) return false
        const e = this.pop()
        this.live--
        e.done = true
        if (e.time !== this.instantTime) {
            this.instantTime = e.time
            this.instantCount = 0
        }
        this._now = e.time
        this.instantCount++
        if (this.recent.length >= 16) this.recent.shift()
        this.recent.push(e.label)
        if (this.instantCount > this.maxEventsPerInstant) {
            throw new RunawayError(
                `VirtualClock: more than ${this.maxEventsPerInstant} events at virtual time ${e.time} ms without time ` +
                    `moving on (a component keeps asking to run now without making progress?); last events: ` +
                    this.recent.join(", "),
            )
        }
        this.eventsRun++
        e.fn()
        return true
    }

    /** Moves the clock forward to `t` without running anything (never backwards). */
    advanceTo(t: number): void {
        if (t > this._now) this._now = t
    }

    /** Runs every event due at or before `t`, then sets the clock to `t`. */
    runUntil(t: number): void {
        while (this.step(t)) {}
        this.advanceTo(t)
    }

    // ---- binary heap ----

    private less(a: Entry, b: Entry): boolean {
        return a.time < b.time || (a.time === b.time && a.seq < b.seq)
    }

    private dropCancelled(): void {
        while (this.heap.length && this.heap[0].cancelled) this.pop()
    }

    private push(e: Entry): void {
        const h = this.heap
        let i = h.length
        h.push(e)
        while (i > 0) {
            const p = (i - 1) >> 1
            if (!this.less(h[i], h[p])) break
            const t = h[i]
            h[i] = h[p]
            h[p] = t
            i = p
        }
    }

    private pop(): Entry {
        const h = this.heap
        const top = h[0]
        const last = h.pop()
        if (h.length) {
            h[0] = last
            let i = 0
            const n = h.length
            for (;;) {
                const l = 2 * i + 1
                const r = l + 1
                let m = i
                if (l < n && this.less(h[l], h[m])) m = l
                if (r < n && this.less(h[r], h[m])) m = r
                if (m === i) break
                const t = h[i]
                h[i] = h[m]
                h[m] = t
                i = m
            }
        }
        return top
    }
}
