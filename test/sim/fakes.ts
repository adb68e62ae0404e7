// Tiny endpoints for the simulator's own tests: they speak raw Ethernet only.
import { NetDriver } from "../../src/driver.js"
import { SimEndpoint } from "../../src/host/sim/network.js"

export function mac(text: string): Buffer {
    return Buffer.from(text.split(":").map((h) => parseInt(h, 16)))
}

export const BROADCAST = mac("ff:ff:ff:ff:ff:ff")

/** An Ethernet frame: dst, src, EtherType, payload. */
export function ethFrame(dst: Buffer, src: Buffer, type: number, payload: Buffer | number[] = []): Buffer {
    const p = Buffer.from(payload as any)
    const f = Buffer.alloc(14 + p.length)
    dst.copy(f, 0)
    src.copy(f, 6)
    f.writeUInt16BE(type, 12)
    p.copy(f, 14)
    return f
}

export interface Received {
    at: number
    frame: Buffer
}

/** Records every frame it receives; sends what the test tells it to, from one reused buffer. */
export class CountingEndpoint implements SimEndpoint {
    received: Received[] = []
    private tx = Buffer.alloc(1514)
    constructor(readonly driver: NetDriver) {}
    receive(frame: Buffer, now: number): void {
        this.received.push({ at: now, frame: Buffer.from(frame) })
    }
    poll(_now: number): void {}
    nextDeadline(): number {
        return -1
    }
    /** Sends a frame through the reused buffer, then scribbles over it (the simulator must have copied). */
    send(dst: Buffer, type: number, payload: Buffer | number[]): void {
        const f = ethFrame(dst, this.driver.mac, type, payload)
        f.copy(this.tx, 0)
        this.driver.transmit(this.tx, f.length)
        this.tx.fill(0xee)
    }
}

/** Sends every frame back to its source, from a reused buffer. */
export class EchoEndpoint extends CountingEndpoint {
    private echoBuf = Buffer.alloc(1514)
    override receive(frame: Buffer, now: number): void {
        super.receive(frame, now)
        frame.copy(this.echoBuf, 0)
        frame.copy(this.echoBuf, 0, 6, 12) // dst = their src
        this.driver.mac.copy(this.echoBuf, 6) // src = us
        this.driver.transmit(this.echoBuf, frame.length)
        this.echoBuf.fill(0)
    }
}

/** A set of one-shot timers; polls are recorded. */
export class TimerEndpoint implements SimEndpoint {
    timers: number[] = []
    polls: number[] = []
    received: Received[] = []
    /** On receive, arm a timer this many ms later (-1: none). */
    armOnReceive = -1
    /** Re-arm this many ms after every poll (-1: none), like a periodic tick. */
    period = -1
    constructor(readonly driver: NetDriver) {}
    arm(at: number): void {
        this.timers.push(at)
    }
    receive(frame: Buffer, now: number): void {
        this.received.push({ at: now, frame: Buffer.from(frame) })
        if (this.armOnReceive >= 0) this.arm(now + this.armOnReceive)
    }
    poll(now: number): void {
        this.polls.push(now)
        const due = this.timers.filter((t) => t <= now)
        this.timers = this.timers.filter((t) => t > now)
        if (due.length && this.period >= 0) this.arm(now + this.period)
    }
    nextDeadline(): number {
        return this.timers.length ? Math.min(...this.timers) : -1
    }
}
