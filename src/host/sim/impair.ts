// Link impairments: loss, duplication, reordering, delay, jitter, bit errors,
// and a rate-limited transmit queue with tail drop.
//
// A FaultInjector models one direction of one link. Given a frame and the
// time it was sent, it decides when zero, one or two (duplicate) copies come
// out at the far end. Its decisions are a pure function of the seed and of the
// sequence of calls: every frame draws the same fixed number of random values
// whatever the configuration, so turning one knob (say, loss) does not shift
// the random stream behind the others.

import { Xoshiro128 } from "../../random.js"

export interface Impairments {
    /** Probability a frame is lost (after it has been serialized). */
    loss: number
    /** Probability a delivered frame arrives twice. */
    duplicate: number
    /**
     * Probability a frame is held back and delivered right after the next
     * frame on this link; if no frame follows within `reorderHoldMs` (of send
     * time), it is delivered `reorderHoldMs` late instead.
     */
    reorder: number
    /** How long a held-back frame waits for a next frame (ms, default 10). */
    reorderHoldMs: number
    /** Fixed one-way delay in ms (propagation). */
    delayMs: number
    /**
     * Extra delay drawn uniformly from [0, jitterMs] per copy. Jitter alone
     * never reorders a link: a copy never arrives before one sent earlier
     * (use `reorder` for that).
     */
    jitterMs: number
    /**
     * Probability a delivered copy has one random bit flipped (in a copy of
     * the frame; the original is untouched). The bit is chosen past the
     * 14-byte Ethernet header unless `corruptHeader` is set, so that the
     * frame still reaches the right host (a real switch would have dropped it
     * on a bad FCS; we model errors the FCS did not see, for the IP/TCP
     * checksums to catch).
     */
    corrupt: number
    /** Let corruption hit the Ethernet header too (default false). */
    corruptHeader: boolean
    /** Link rate in bytes per second; 0 = infinitely fast (no serialization delay, no queue). */
    rateBytesPerSec: number
    /**
     * With a rate: most frames waiting in (or being serialized from) the
     * transmit queue; a frame arriving to a full queue is tail-dropped.
     * Default Infinity.
     */
    queueLimit: number
    /** Seed of this injector's random stream (the simulator derives one per link when unset). */
    seed: number
}

export const NO_IMPAIRMENTS: Impairments = Object.freeze({
    loss: 0,
    duplicate: 0,
    reorder: 0,
    reorderHoldMs: 10,
    delayMs: 0,
    jitterMs: 0,
    corrupt: 0,
    corruptHeader: false,
    rateBytesPerSec: 0,
    queueLimit: Infinity,
    seed: 1,
})

export interface FaultStats {
    /** Frames offered to the link. */
    sent: number
    /** Copies that came out (a duplicated frame counts twice). */
    delivered: number
    /** Frames lost (loss probability). */
    lost: number
    /** Frames that came out twice. */
    duplicated: number
    /** Frames held back to be delivered after the next one. */
    reordered: number
    /** Copies with a bit flipped. */
    corrupted: number
    /** Frames tail-dropped at a full rate-limited queue. */
    queueDropped: number
}

export interface Delivery {
    /** Virtual time (ms) the copy arrives at the far end. */
    at: number
    /** The frame: the same Buffer that was offered, or a corrupted copy of it. */
    frame: Buffer
    /** True when a bit was flipped. */
    corrupted: boolean
    /** True for the second copy of a duplicated frame. */
    duplicate: boolean
}

function check(name: string, v: number, max: number): void {
    if (typeof v !== "number" || Number.isNaN(v) || v < 0 || v > max)
        throw new RangeError(`Impairments.${name} must be a number in [0, ${max}], got ${v}`)
}

/** Fills defaults and validates. */
export function normalizeImpairments(cfg: Partial<Impairments> = {}): Impairments {
    const c: Impairments = { ...NO_IMPAIRMENTS }
    for (const k of Object.keys(cfg) as (keyof Impairments)[]) {
        if (cfg[k] !== undefined) (c as any)[k] = cfg[k]
    }
    check("loss", c.loss, 1)
    check("duplicate", c.duplicate, 1)
    check("reorder", c.reorder, 1)
    check("corrupt", c.corrupt, 1)
    check("delayMs", c.delayMs, Infinity)
    check("jitterMs", c.jitterMs, Infinity)
    check("reorderHoldMs", c.reorderHoldMs, Infinity)
    check("rateBytesPerSec", c.rateBytesPerSec, Infinity)
    if (!(c.queueLimit >= 1)) throw new RangeError(`Impairments.queueLimit must be >= 1, got ${c.queueLimit}`)
    return c
}

interface Held {
    copies: Delivery[]
    /** Send time + reorderHoldMs: released then if no frame has come. */
    deadline: number
    holdMs: number
}

export class FaultInjector {
    private cfg: Impairments
    private rng: Xoshiro128
    readonly stats: FaultStats = { sent: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0, corrupted: 0, queueDropped: 0 }
    /** Finish times of frames in the rate-limited queue, ascending; [qHead, length) are live. */
    private queue: number[] = []
    private qHead = 0
    private busyUntil = -Infinity
    /** Latest delivery time handed out (FIFO floor for jitter). */
    private lastAt = -Infinity
    private held: Held | null = null

    constructor(cfg: Partial<Impairments> = {}) {
        this.cfg = normalizeImpairments(cfg)
        this.rng = new Xoshiro128(this.cfg.seed)
    }

    get config(): Readonly<Impairments> {
        return this.cfg
    }

    /**
     * Replaces the configuration (unset fields take their defaults). The
     * random stream, statistics and queue carry on unless `seed` is given,
     * which restarts the stream.
     */
    configure(cfg: Partial<Impairments>): void {
        const seedGiven = cfg.seed !== undefined
        const next = normalizeImpairments({ ...cfg, seed: seedGiven ? cfg.seed : this.cfg.seed })
        this.cfg = next
        if (seedGiven) this.rng = new Xoshiro128(next.seed)
    }

    /** Frames in the rate-limited queue at time `now` (including the one being serialized). */
    queueLength(now: number): number {
        this.drainQueue(now)
        return this.queue.length - this.qHead
    }

    /** Send time by which a held-back frame is released on its own, or -1 when none is held. */
    holdDeadline(): number {
        return this.held ? this.held.deadline : -1
    }

    /**
     * Releases a held-back frame whose deadline has passed by `now`. Returns
     * its copies (delivered `reorderHoldMs` late), or [] when nothing is due.
     */
    release(now: number): Delivery[] {
        const h = this.held
        if (!h || h.deadline > now) return []
        this.held = null
        for (const d of h.copies) {
            d.at += h.holdMs
            if (d.at < this.lastAt) d.at = this.lastAt
            this.lastAt = d.at
        }
        return h.copies
    }

    /**
     * Offers a frame sent at `sendTime`; returns the copies that come out and
     * when, in delivery order. May also return (after the new frame's copies)
     * an earlier frame that was held back for reordering. The frame must not be
     * modified afterwards by the caller while it may still be delivered.
     */
    process(frame: Buffer, sendTime: number): Delivery[] {
        const c = this.cfg
        const out: Delivery[] = []
        // a held frame whose time ran out before this one was sent goes first
        if (this.held && this.held.deadline < sendTime) out.push(...this.release(this.held.deadline))

        // fixed draws per frame, whatever the configuration
        const rLoss = this.rng.nextFloat()
        const rDup = this.rng.nextFloat()
        const rReorder = this.rng.nextFloat()
        const rJit1 = this.rng.nextFloat()
        const rJit2 = this.rng.nextFloat()
        const rCor1 = this.rng.nextFloat()
        const rCor2 = this.rng.nextFloat()
        const rBit1 = this.rng.nextU32()
        const rBit2 = this.rng.nextU32()

        this.stats.sent++
        let t = sendTime
        if (c.rateBytesPerSec > 0) {
            this.drainQueue(sendTime)
            if (this.queue.length - this.qHead >= c.queueLimit) {
                this.stats.queueDropped++
                return this.releaseHeldAfter(out, -Infinity)
            }
            const start = Math.max(sendTime, this.busyUntil)
            const finish = start + (frame.length * 1000) / c.rateBytesPerSec
            this.busyUntil = finish
            this.queue.push(finish)
            t = finish
        }
        if (rLoss < c.loss) {
            this.stats.lost++
            return this.releaseHeldAfter(out, -Infinity)
        }
        const hold = !this.held && rReorder < c.reorder
        const floor = this.lastAt
        const copies: Delivery[] = []
        const base = t + c.delayMs
        let at1 = base + rJit1 * c.jitterMs
        if (at1 < floor) at1 = floor
        copies.push(this.copy(frame, at1, rCor1, rBit1, false))
        if (rDup < c.duplicate) {
            this.stats.duplicated++
            let at2 = base + rJit2 * c.jitterMs
            if (at2 < at1) at2 = at1
            copies.push(this.copy(frame, at2, rCor2, rBit2, true))
        }
        if (hold) {
            this.stats.reordered++
            this.held = { copies, deadline: sendTime + c.reorderHoldMs, holdMs: c.reorderHoldMs }
            return out
        }
        this.lastAt = copies[copies.length - 1].at
        out.push(...copies)
        return this.releaseHeldAfter(out, this.lastAt)
    }

    /** A held frame comes out right after the frame just processed (or at its own time if that one was dropped). */
    private releaseHeldAfter(out: Delivery[], after: number): Delivery[] {
        const h = this.held
        if (!h) return out
        this.held = null
        for (const d of h.copies) {
            d.at = Math.max(d.at, after, this.lastAt)
            this.lastAt = d.at
            out.push(d)
        }
        return out
    }

    private copy(frame: Buffer, at: number, rCor: number, rBit: number, duplicate: boolean): Delivery {
        this.stats.delivered++
        if (rCor < this.cfg.corrupt && frame.length > 0) {
            this.stats.corrupted++
            const f = Buffer.from(frame)
            const skip = !this.cfg.corruptHeader && f.length > 14 ? 14 * 8 : 0
            const bit = skip + (rBit % (f.length * 8 - skip))
            f[bit >> 3] ^= 0x80 >> (bit & 7)
            return { at, frame: f, corrupted: true, duplicate }
        }
        return { at, frame, corrupted: false, duplicate }
    }

    private drainQueue(now: number): void {
        const q = this.queue
        while (this.qHead < q.length && q[this.qHead] <= now) this.qHead++
        if (this.qHead > 1024 && this.qHead * 2 > q.length) {
            this.queue = q.slice(this.qHead)
            this.qHead = 0
        }
    }
}
