// WIZnet W5500 with socket 0 in MACRAW mode as a NetDriver. References:
// W5500 datasheet v1.1.0 (sections cited as "DS §n").
//
// An SPI frame is a 16-bit offset, a control byte (block select, read or
// write, variable-length data mode) and any number of data bytes, with the
// offset auto-incrementing (DS §2.2): one transaction reads or writes a run
// of registers or buffer bytes. So a poll is one read of socket 0's
// registers Sn_IR .. Sn_RX_RSR; received frames are read two transfers each
// (the 2-byte length header, then the frame) and released with one Sn_RX_RD
// write and one RECV for the whole batch; a transmission is the frame, the
// new Sn_TX_WR and SEND.
//
// Socket 0 gets all 16 KB of receive and 16 KB of transmit buffer. In
// MACRAW the chip's filter (Sn_MR.MFEN) passes our unicast, broadcast and
// multicast; it has no per-group filter, so with a joined group all
// multicast passes (the stack drops the groups it did not join, counted as
// notForUs) and with none multicast is blocked (MMB); IPv6 multicast is
// always blocked (MIP6B).
import { NetDriver } from "../driver.js"
import { DriverCounters, FrameSink, SpiBus, TxQueue } from "./spi.js"

// control byte: block select << 3 | RWB << 2 | OM (0: variable length)
const COMMON = 0x00
const S0_REG = 0x08
const S0_TX = 0x10
const S0_RX = 0x18
const WRITE = 0x04

// common registers (DS §3.1)
const MR = 0x0000
const SHAR = 0x0009
const PHYCFGR = 0x002e
const VERSIONR = 0x0039
// socket registers (DS §3.2)
const SN_MR = 0x0000
const SN_CR = 0x0001
const SN_IR = 0x0002
const SN_SR = 0x0003
const SN_RXBUF_SIZE = 0x001e
const SN_TX_WR = 0x0024
const SN_RX_RSR = 0x0026
const SN_RX_RD = 0x0028

const CR_OPEN = 0x01
const CR_SEND = 0x20
const CR_RECV = 0x40
const SR_MACRAW = 0x42
const MAX_FRAME = 1514
const SMALL = 96
/** Polls between link checks (PHYCFGR.LNK). */
const LINK_EVERY = 64

/** @devsWhenUsed */
export class W5500 implements NetDriver {
    readonly mac: Buffer
    readonly mtu = 1500
    readonly counters = new DriverCounters()
    readonly name = "W5500"
    link = false
    /** Called when transmit() queued a frame (the driver's loop wakes up); unset (no initializer: no code) until the loop sets it. */
    onQueued: () => void
    private readonly bus: SpiBus
    private readonly queue: TxQueue
    private multicast = false
    // set by init() (no initializers: no code)
    private txWr: number
    private rxRd: number
    private sending: boolean
    private polls = 0
    /** Bytes of this batch read past Sn_RX_RD (released together at its end). */
    private rxReadOffset = 0
    // Sn_IR .. Sn_RX_RSR in one read
    private readonly tPoll = Buffer.alloc(3 + 0x26)
    private readonly rPoll = Buffer.alloc(3 + 0x26)
    private readonly t5 = Buffer.alloc(5)
    private readonly r5 = Buffer.alloc(5)
    private readonly tSmall = Buffer.alloc(3 + SMALL)
    private readonly rSmall = Buffer.alloc(3 + SMALL)
    private readonly rBig = Buffer.alloc(3 + MAX_FRAME)

    constructor(bus: SpiBus, mac: Buffer, txQueueFrames?: number) {
        this.bus = bus
        this.mac = mac
        // queue slots start with the 3-byte frame header of a TX buffer write
        this.queue = new TxQueue(txQueueFrames || 2, 3, MAX_FRAME)
        this.tPoll[1] = SN_IR
        this.tPoll[2] = S0_REG
    }

    /** Lets multicast through (the chip cannot filter by group; call before init). */
    addMulticast(mac: Buffer): void {
        this.multicast = true
    }

    private async frame(tx: Buffer, rx: Buffer, offset: number, control: number): Promise<void> {
        tx[0] = offset >> 8
        tx[1] = offset & 0xff
        tx[2] = control
        this.counters.spiTransfers++
        await this.bus.xfer(tx, rx)
    }

    /** Writes bytes (a number array) at offset of a block: one transaction. */
    private async write(offset: number, block: number, bytes: number[]): Promise<void> {
        const t = Buffer.alloc(3 + bytes.length)
        for (let i = 0; i < bytes.length; i++) t[3 + i] = bytes[i]
        await this.frame(t, null, offset, block | WRITE)
    }

    private async read8(offset: number, block: number): Promise<number> {
        await this.frame(this.t5, this.r5, offset, block)
        return this.r5[3]
    }

    /** A 16-bit register the chip may be updating: read until two reads agree (DS §3.2, Sn_TX_FSR/Sn_RX_RSR). */
    private async read16(offset: number): Promise<number> {
        let last = -1
        for (let i = 0; i < 4; i++) {
            await this.frame(this.t5, this.r5, offset, S0_REG)
            const v = (this.r5[3] << 8) | this.r5[4]
            if (v === last) return v
            last = v
        }
        return last
    }

    async init(): Promise<boolean> {
        if (this.bus.hardReset) await this.bus.hardReset()
        await this.write(MR, COMMON, [0x80]) // software reset (DS §3.1 MR.RST)
        await this.bus.sleep(1)
        for (let i = 0; i < 10 && (await this.read8(MR, COMMON)) & 0x80; i++) await this.bus.sleep(1)
        if ((await this.read8(VERSIONR, COMMON)) !== 0x04) return false
        const m = this.mac
        await this.write(SHAR, COMMON, [m[0], m[1], m[2], m[3], m[4], m[5]])
        // all 16 KB + 16 KB to socket 0: the others' sizes to 0 first, as the total must not exceed 16 (DS §3.2 Sn_RXBUF_SIZE)
        for (let s = 1; s < 8; s++) await this.write(SN_RXBUF_SIZE, (s * 4 + 1) << 3, [0, 0])
        await this.write(SN_RXBUF_SIZE, S0_REG, [16, 16])
        // MACRAW with the MAC filter, IPv6 multicast blocked, multicast blocked unless a group was joined
        await this.write(SN_MR, S0_REG, [0x04 | 0x80 | 0x10 | (this.multicast ? 0 : 0x20)])
        await this.write(SN_CR, S0_REG, [CR_OPEN])
        if ((await this.read8(SN_SR, S0_REG)) !== SR_MACRAW) return false
        this.txWr = await this.read16(SN_TX_WR)
        this.rxRd = await this.read16(SN_RX_RD)
        this.sending = false
        this.link = ((await this.read8(PHYCFGR, COMMON)) & 1) !== 0
        return true
    }

    transmit(frame: Buffer, length: number): void {
        if (this.queue.put(frame, length, this.counters)) {
            if (this.onQueued) this.onQueued()
        }
    }

    pending(): number {
        return this.queue.count
    }

    /** One bounded turn: one poll read, up to maxFrames frames in, one frame out; the link every LINK_EVERY polls. */
    async service(sink: FrameSink, now: number, maxFrames: number): Promise<number> {
        const c = this.counters
        if (this.polls++ % LINK_EVERY === 0) {
            const up = ((await this.read8(PHYCFGR, COMMON)) & 1) !== 0
            if (up !== this.link) c.linkChanges++
            this.link = up
        }
        await this.frame(this.tPoll, this.rPoll, SN_IR, S0_REG)
        const p = this.rPoll
        // offsets in the poll: Sn_IR at 3, Sn_TX_RD at 3 + 0x20, Sn_RX_RSR at 3 + 0x24
        const txRd = (p[3 + 0x20] << 8) | p[3 + 0x21]
        if (this.sending && txRd === this.txWr) this.sending = false
        let rsr = (p[3 + 0x24] << 8) | p[3 + 0x25]
        let got = 0
        if (rsr > 0) {
            rsr = await this.read16(SN_RX_RSR)
            let used = 0
            this.rxReadOffset = 0
            while (used + 2 <= rsr && got < maxFrames) {
                const n = await this.receiveOne(sink, now, rsr - used)
                if (n <= 0) break
                used += n
                got++
            }
            if (used > 0) {
                this.rxRd = (this.rxRd + used) & 0xffff
                await this.write(SN_RX_RD, S0_REG, [this.rxRd >> 8, this.rxRd & 0xff])
                await this.write(SN_CR, S0_REG, [CR_RECV])
            }
        }
        if (!this.sending && this.queue.count > 0 && this.link) await this.sendOne()
        return got
    }

    /** Reads the frame at rxRd + used; returns the bytes it took (header included), 0 when the buffer is inconsistent. */
    private async receiveOne(sink: FrameSink, now: number, left: number): Promise<number> {
        const c = this.counters
        const at = (this.rxRd + this.rxReadOffset) & 0xffff
        await this.frame(this.t5, this.r5, at, S0_RX)
        const total = (this.r5[3] << 8) | this.r5[4]
        const len = total - 2
        if (total > left || len < 14 || len > MAX_FRAME) {
            // a length the chip never writes: release everything received
            // (the stream cannot be walked further) and count it
            c.rxResets++
            this.rxReadOffset = 0
            return left
        }
        // an over-read past the frame is harmless: reads move no pointer
        const small = len <= SMALL
        const rx = small ? this.rSmall : this.rBig
        const tx = small ? this.tSmall : this.queue.slots[0]
        // the slot's header bytes are rewritten by frame() and restored by sendOne()
        await this.frame(tx, rx, (at + 2) & 0xffff, S0_RX)
        this.rxReadOffset += total
        rx.blitAt(0, rx, 3, len)
        c.rxFrames++
        c.rxBytes += len
        sink.receive(rx, now, len)
        return total
    }

    private async sendOne(): Promise<void> {
        const q = this.queue
        const i = q.first
        const len = q.lengths[i]
        let buf = q.slots[i]
        if (len <= SMALL) {
            // a short frame in a short transfer: the bytes after it land in
            // free buffer space past Sn_TX_WR and are not sent
            buf = this.tSmall
            buf.blitAt(3, q.slots[i], 3, len)
        }
        await this.frame(buf, null, this.txWr, S0_TX | WRITE)
        this.txWr = (this.txWr + len) & 0xffff
        await this.write(SN_TX_WR, S0_REG, [this.txWr >> 8, this.txWr & 0xff])
        await this.write(SN_CR, S0_REG, [CR_SEND])
        q.pop()
        this.sending = true
        this.counters.txFrames++
        this.counters.txBytes += len
    }
}
