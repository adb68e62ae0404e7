// Two or more stacks in one program joined by an in-memory Ethernet link: a
// bounded queue of frames that the owner drains with deliver(). Used by the
// device's power-on self-test and by tests that run several stacks inside one
// DeviceScript VM. Every frame is copied once into a buffer from a fixed pool;
// a full queue drops the frame and counts it, like a real NIC's ring.

import { NetDriver } from "../driver.js"
import { copyBytes, isBroadcastMac, macEquals } from "../wire/bytes.js"

/** What a port hands received frames to (a Stack). */
export interface FrameSink {
    receive(frame: Buffer, now: number, length?: number): void
}

/** @devsWhenUsed */
class Slot {
    buf: Buffer
    length = 0
    from = 0
    constructor(size: number) {
        this.buf = Buffer.alloc(size)
    }
}

/** @devsWhenUsed */
export class MemoryLink {
    /** Frames dropped because the queue was full. */
    dropped = 0
    delivered = 0
    /** Called when a frame is queued (a runner waiting for work wakes up). */
    onQueued: () => void = null
    private readonly slots: Slot[] = []
    private head = 0
    private count = 0
    private readonly ports: MemoryPort[] = []
    private readonly sinks: FrameSink[] = []

    constructor(queueFrames: number, frameSize: number) {
        for (let i = 0; i < queueFrames; i++) this.slots.push(new Slot(frameSize))
    }

    /** A new port with this MAC; attach its stack with attach() once the stack exists. */
    port(mac: Buffer, mtu: number): MemoryPort {
        const p = new MemoryPort(this, this.ports.length, mac, mtu)
        this.ports.push(p)
        this.sinks.push(null)
        return p
    }

    attach(port: MemoryPort, sink: FrameSink): void {
        this.sinks[port.index] = sink
    }

    /** Frames waiting. */
    pending(): number {
        return this.count
    }

    enqueue(from: number, frame: Buffer, length: number): void {
        const size = this.slots.length
        if (this.count === size || size === 0 || length > this.slots[0].buf.length) {
            this.dropped++
            return
        }
        const s = this.slots[(this.head + this.count) % size]
        copyBytes(s.buf, 0, frame, 0, length)
        s.length = length
        s.from = from
        this.count++
        if (this.onQueued) this.onQueued()
    }

    /**
     * Delivers up to `max` queued frames (frames sent while delivering wait
     * for the next call): to the port whose MAC is the destination, or to
     * every other port for broadcast and multicast. Returns the frames delivered.
     */
    deliver(now: number, max: number): number {
        let n = 0
        while (this.count > 0 && n < max) {
            // the slot stays taken while receivers read it (they may transmit meanwhile)
            const s = this.slots[this.head]
            n++
            const group = isBroadcastMac(s.buf, 0) || (s.buf[0] & 1) === 1
            for (let i = 0; i < this.ports.length; i++) {
                if (i === s.from || !this.sinks[i]) continue
                if (group || macEquals(s.buf, 0, this.ports[i].mac, 0)) {
                    this.delivered++
                    this.sinks[i].receive(s.buf, now, s.length)
                }
            }
            this.head = (this.head + 1) % this.slots.length
            this.count--
        }
        return n
    }
}

/** @devsWhenUsed */
export class MemoryPort implements NetDriver {
    readonly mac: Buffer
    readonly mtu: number
    readonly index: number
    private readonly link: MemoryLink

    constructor(link: MemoryLink, index: number, mac: Buffer, mtu: number) {
        this.link = link
        this.index = index
        this.mac = mac
        this.mtu = mtu
    }

    transmit(frame: Buffer, length: number): void {
        this.link.enqueue(this.index, frame, length)
    }
}
