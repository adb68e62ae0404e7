// Ethernet frames over a byte stream: the NetDriver of a device whose frames
// travel through the one TCP socket @devicescript/net gives a program (a
// board without an SPI MAC, on Wi-Fi; DeviceScript's own simulator) to a host
// process that puts them on a TAP (`ds-tcpip bridge --tap IF`).
//
// Each frame is a 2-byte big-endian length and the frame (no FCS), both
// ways. What it is not: a network interface of the board's own Wi-Fi stack.
// The device's IP traffic exists only behind the tunnel (the host's TAP side),
// and every frame costs a trip through the TCP connection of the runtime's
// socket, so it is a test and development path, not a fast one.
import { NetDriver } from "../driver.js"
import { DriverCounters, FrameSink } from "./spi.js"

const MAX_FRAME = 1514

/** @devsWhenUsed */
export class BridgeDriver implements NetDriver {
    readonly mac: Buffer
    readonly mtu = 1500
    readonly counters = new DriverCounters()
    /** Sends bytes on the stream (set by the socket glue); false when they were not taken. */
    out: (bytes: Buffer) => boolean = null
    // the frame being reassembled: its length header, then the frame
    private readonly rx = Buffer.alloc(2 + MAX_FRAME)
    private have = 0

    constructor(mac: Buffer) {
        this.mac = mac
    }

    transmit(frame: Buffer, length: number): void {
        const c = this.counters
        if (length > MAX_FRAME) {
            c.txTooBig++
            return
        }
        const b = Buffer.alloc(2 + length)
        b[0] = length >> 8
        b[1] = length & 0xff
        b.blitAt(2, frame, 0, length)
        if (!this.out || !this.out(b)) {
            c.txQueueFull++
            return
        }
        c.txFrames++
        c.txBytes += length
    }

    /** Bytes from the stream: hands every frame they complete to sink. False when a length is impossible (the stream is out of step: close it). */
    input(data: Buffer, sink: FrameSink, now: number): boolean {
        const c = this.counters
        const rx = this.rx
        let i = 0
        while (i < data.length) {
            const need = this.have < 2 ? 2 : 2 + ((rx[0] << 8) | rx[1])
            const n = Math.min(need - this.have, data.length - i)
            rx.blitAt(this.have, data, i, n)
            this.have += n
            i += n
            if (this.have === 2) {
                const len = (rx[0] << 8) | rx[1]
                if (len < 14 || len > MAX_FRAME) {
                    c.rxErrors++
                    this.have = 0
                    return false
                }
            } else if (this.have === need && need > 2) {
                const len = need - 2
                this.have = 0
                c.rxFrames++
                c.rxBytes += len
                rx.blitAt(0, rx, 2, len)
                sink.receive(rx, now, len)
                // the frame was moved to the front: restore nothing, the next header overwrites it
            }
        }
        return true
    }
}
