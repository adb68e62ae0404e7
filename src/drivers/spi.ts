// What an SPI Ethernet driver needs from its board, and what both drivers
// share: the bounded transmit queue and the counters /status shows.
//
// On the device the bus is ds.spiXfer with chip select on a GPIO
// (src/device/spi-bus.ts); on the host it is a register-level model of the
// chip (src/host/models/). Every xfer() suspends the fiber on the device, so
// drivers batch register accesses into as few transfers as the chip allows.

/** One SPI device: every xfer() is one transaction (chip select low, tx out, rx in, chip select high). */
export interface SpiBus {
    /** Full duplex: sends tx and receives tx.length bytes into rx (same length; null: nothing to receive). */
    xfer: (tx: Buffer, rx: Buffer) => Promise<void>
    /** Waits ms milliseconds (reset and clock-ready waits). */
    sleep: (ms: number) => Promise<void>
    /** Pulses the chip's reset pin; absent when it is not wired. */
    hardReset?: () => Promise<void>
}

/** Where a driver hands received frames (a Stack). */
export interface FrameSink {
    receive(frame: Buffer, now: number, length?: number): void
}

/** Counters of an SPI driver, shown in /status under "driver". @devsWhenUsed */
export class DriverCounters {
    rxFrames = 0
    rxBytes = 0
    txFrames = 0
    txBytes = 0
    /** Frames transmit() dropped because the queue was full. */
    txQueueFull = 0
    /** Frames transmit() dropped because they were larger than a frame can be. */
    txTooBig = 0
    /** Transmissions the chip reported failed (ENC28J60 TXERIF). */
    txErrors = 0
    /** Frames received with a bad status (CRC, length) and dropped. */
    rxErrors = 0
    /** Times the chip's receive buffer overflowed (frames lost on the wire). */
    rxOverflows = 0
    /** Receive logic resets after an inconsistent buffer (bad next-packet pointer, bad length). */
    rxResets = 0
    linkChanges = 0
    spiTransfers = 0
}

/**
 * Frames waiting for the bus: a fixed pool of slots, each with `head` free
 * bytes before the frame (the driver's command bytes), filled by transmit()
 * (synchronous, called by the stack) and drained by the driver's loop.
 * @devsWhenUsed
 */
export class TxQueue {
    readonly slots: Buffer[] = []
    readonly lengths: number[] = []
    /** Index of the oldest frame (valid while count > 0). */
    first = 0
    count = 0
    readonly head: number
    readonly maxFrame: number

    constructor(frames: number, head: number, maxFrame: number) {
        this.head = head
        this.maxFrame = maxFrame
        for (let i = 0; i < frames; i++) {
            this.slots.push(Buffer.alloc(head + maxFrame))
            this.lengths.push(0)
        }
    }

    /**
     * A driver's transmit(): copies the frame in, or counts it in `counters`
     * as too big or as dropped on a full queue. True when it was queued.
     */
    put(frame: Buffer, length: number, counters: DriverCounters): boolean {
        const n = this.slots.length
        if (length > this.maxFrame) {
            counters.txTooBig++
            return false
        }
        if (this.count === n) {
            counters.txQueueFull++
            return false
        }
        const i = (this.first + this.count) % n
        this.slots[i].blitAt(this.head, frame, 0, length)
        this.lengths[i] = length
        this.count++
        return true
    }

    pop(): void {
        this.first = (this.first + 1) % this.slots.length
        this.count--
    }
}
