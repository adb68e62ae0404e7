// Microchip ENC28J60 (10BASE-T MAC + PHY on SPI) as a NetDriver.
// References: datasheet DS39662E (sections cited as "DS §n") and the silicon
// errata DS80349 ("errata #n").
//
// Buffer memory (8 KB, DS §3.2): the receive ring at 0x0000-0x19FF (errata #5:
// the ring must start at 0), the transmit area at 0x1A00-0x1FFF: one frame of
// up to 1514 bytes, its control byte before it and the 7-byte status vector
// after it.
//
// Every SPI command is its own chip-select transaction (DS §4.2), so a
// register access is one transfer and one fiber suspension on the device:
// the driver caches the register bank, sets the read pointer to each frame's
// start from the previous frame's next-packet pointer instead of reading it,
// and reads a frame with two transfers (status vector, then the frame) from
// size classes of buffers (an over-read in the ring is harmless).
import { NetDriver } from "../driver.js"
import { DriverCounters, FrameSink, SpiBus, TxQueue } from "./spi.js"

// SPI opcodes (DS Table 4-1)
const RCR = 0x00
const WCR = 0x40
const BFS = 0x80
const BFC = 0xa0
const RBM = 0x3a
const WBM = 0x7a
const SRC = 0xff

// Registers: bank << 5 | address; | 0x80 for MAC and MII registers, whose
// reads shift out a dummy byte first (DS §4.2.1). Addresses 0x1B-0x1F are in
// every bank (DS Table 3-1).
const enum R {
    ERDPTL = 0x00,
    EWRPTL = 0x02,
    ETXNDL = 0x06,
    ERXSTL = 0x08,
    ERXNDL = 0x0a,
    ERXRDPTL = 0x0c,
    ETXSTL = 0x04,
    EIE = 0x1b,
    EIR = 0x1c,
    ESTAT = 0x1d,
    ECON2 = 0x1e,
    ECON1 = 0x1f,
    EHT0 = 0x20,
    ERXFCON = 0x38,
    EPKTCNT = 0x39,
    MACON1 = 0xc0,
    MACON3 = 0xc2,
    MABBIPG = 0xc4,
    MAIPGL = 0xc6,
    MAMXFLL = 0xca,
    MICMD = 0xd2,
    MIREGADR = 0xd4,
    MIWRL = 0xd6,
    MIRDL = 0xd8,
    MAADR5 = 0xe0,
    MISTAT = 0xea,
    EREVID = 0x72,
}

// bits
const ECON1_TXRST = 0x80
const ECON1_RXRST = 0x40
const ECON1_TXRTS = 0x08
const ECON1_RXEN = 0x04
const ECON2_PKTDEC = 0x40
const ECON2_AUTOINC = 0x80
const EIR_LINKIF = 0x10
const EIR_TXIF = 0x08
const EIR_TXERIF = 0x02
const EIR_RXERIF = 0x01
const ESTAT_CLKRDY = 0x01
const MISTAT_BUSY = 0x01
// PHY registers (DS §3.3)
const PHCON1 = 0x00
const PHCON2 = 0x10
const PHSTAT2 = 0x11
const PHIE = 0x12
const PHIR = 0x13
const PHSTAT2_LSTAT = 0x0400

const RX_START = 0x0000
const RX_END = 0x19ff
const TX_START = 0x1a00
const MAX_FRAME = 1514
/** Frames up to this many bytes (with the pad byte) move through the small buffers. */
const SMALL = 96

/** CRC-32 of a MAC address as the hash table filter computes it; the filter uses bits 28:23 (DS §8.3.5). */
export function encHashIndex(mac: Buffer, off: number): number {
    let crc = -1
    for (let i = 0; i < 6; i++) {
        const b = mac[off + i]
        for (let j = 0; j < 8; j++) {
            const bit = ((crc >>> 31) ^ (b >> j)) & 1
            crc = (crc << 1) ^ (bit ? 0x04c11db7 : 0)
        }
    }
    return (crc >>> 23) & 0x3f
}

/** @devsWhenUsed */
export class Enc28j60 implements NetDriver {
    readonly mac: Buffer
    readonly mtu = 1500
    readonly counters = new DriverCounters()
    /** Link state from PHSTAT2.LSTAT. */
    link = false
    /** Silicon revision (EREVID), read by init(). */
    revision: number
    /** The chip, with its revision once init() read it (for a log line). */
    name = "ENC28J60"
    /** Called when transmit() queued a frame (the driver's loop wakes up); unset (no initializer: no code) until the loop sets it. */
    onQueued: () => void

    private readonly bus: SpiBus
    private readonly queue: TxQueue
    private readonly hash = Buffer.alloc(8)
    /** The register bank selected (init() resets it). */
    private bank: number
    /** Where the next received frame starts (its next-packet pointer said so; rxReset() starts it at RX_START). */
    private next: number
    /** A transmission is under way (init() clears it). */
    private txBusy: boolean
    private readonly t2 = Buffer.alloc(2)
    private readonly r2 = Buffer.alloc(2)
    private readonly t3 = Buffer.alloc(3)
    private readonly r3 = Buffer.alloc(3)
    // RBM of the 6-byte receive status vector
    private readonly tHdr = Buffer.alloc(7)
    private readonly rHdr = Buffer.alloc(7)
    // RBM of small and large frames (opcode, then the frame and its pad
    // byte); the frame is moved to offset 0 for the stack. A large read
    // sends the first queue slot with RBM in its first byte: after the
    // opcode the chip ignores what it is sent, and 1.5 KB of heap is saved.
    private readonly tSmall = Buffer.alloc(1 + SMALL)
    private readonly rSmall = Buffer.alloc(1 + SMALL)
    private readonly rBig = Buffer.alloc(2 + MAX_FRAME)
    // WBM of a small frame: opcode, control byte, frame
    private readonly wSmall = Buffer.alloc(2 + SMALL)

    constructor(bus: SpiBus, mac: Buffer, txQueueFrames?: number) {
        this.bus = bus
        this.mac = mac
        // the queue slots start with the WBM opcode and the per-packet control byte (DS §7.1)
        this.queue = new TxQueue(txQueueFrames || 2, 2, MAX_FRAME)
        for (const s of this.queue.slots) s[0] = WBM
        this.tSmall[0] = RBM
        this.tHdr[0] = RBM
        this.wSmall[0] = WBM
    }

    /** Passes frames sent to this multicast MAC (the hash table filter; call before init or init again). */
    addMulticast(mac: Buffer): void {
        const k = encHashIndex(mac, 0)
        this.hash[k >> 3] |= 1 << (k & 7)
    }

    // ---- SPI ---------------------------------------------------------------

    /**
     * One SPI command on register reg (bank << 5 | address, | 0x80 for MAC
     * and MII registers): op is RCR, WCR, BFS or BFC, v its data byte. The
     * register's bank is selected first unless the address is in every bank
     * (0x1B-0x1F); a MAC or MII register's read shifts out a dummy byte
     * before the value (DS §4.2.1). Returns the byte read.
     */
    private async cmd(op: number, reg: number, v: number): Promise<number> {
        const a = reg & 0x1f
        const b = (reg >> 5) & 3
        const cur = this.bank
        if (a < 0x1b && b !== cur) {
            this.bank = b
            // BFC then BFS, never WCR: ECON1 also holds TXRTS and RXEN (DS §3.1)
            if (cur & ~b) await this.cmd(BFC, R.ECON1, cur & ~b)
            if (b & ~cur) await this.cmd(BFS, R.ECON1, b & ~cur)
        }
        const long = op === RCR && reg & 0x80
        const t = long ? this.t3 : this.t2
        const r = long ? this.r3 : this.r2
        t[0] = op | a
        t[1] = v
        this.counters.spiTransfers++
        await this.bus.xfer(t, r)
        return r[t.length - 1]
    }

    /** A 16-bit pointer register pair, low byte first (DS §3.2: ERXRDPT latches on the high byte). */
    private async write16(reg: number, v: number): Promise<void> {
        await this.cmd(WCR, reg, v & 0xff)
        await this.cmd(WCR, reg + 1, v >> 8)
    }

    /**
     * A PHY register (DS §3.3): writes v, or reads when v is -1 (MICMD.MIIRD,
     * then MIRDL/MIRDH). MII operations take 10.24 µs (DS §3.3.1): one SPI
     * transfer later MISTAT.BUSY is nearly always clear.
     */
    private async phy(reg: number, v: number): Promise<number> {
        await this.cmd(WCR, R.MIREGADR, reg)
        if (v >= 0) await this.write16(R.MIWRL, v)
        else await this.cmd(WCR, R.MICMD, 1) // MIIRD
        for (let i = 0; i < 10 && (await this.cmd(RCR, R.MISTAT, 0)) & MISTAT_BUSY; i++) await this.bus.sleep(1)
        if (v >= 0) return 0
        await this.cmd(WCR, R.MICMD, 0)
        const lo = await this.cmd(RCR, R.MIRDL, 0)
        return lo | ((await this.cmd(RCR, R.MIRDL + 1, 0)) << 8)
    }

    // ---- set-up --------------------------------------------------------------

    /** Resets and configures the chip; false when no ENC28J60 answers. */
    async init(): Promise<boolean> {
        if (this.bus.hardReset) await this.bus.hardReset()
        this.counters.spiTransfers++
        await this.bus.xfer(Buffer.from([SRC]), Buffer.alloc(1))
        this.bank = 0
        this.txBusy = false
        // errata #2: CLKRDY may be set too early after a reset: wait 1 ms first
        await this.bus.sleep(1)
        let ready = false
        for (let i = 0; i < 10 && !ready; i++) {
            ready = ((await this.cmd(RCR, R.ESTAT, 0)) & ESTAT_CLKRDY) !== 0
            if (!ready) await this.bus.sleep(1)
        }
        this.revision = await this.cmd(RCR, R.EREVID, 0)
        if (!ready || this.revision === 0 || this.revision === 0xff) return false
        this.name = "ENC28J60 rev " + this.revision
        await this.cmd(WCR, R.ECON2, ECON2_AUTOINC)
        await this.rxReset(false)
        await this.write16(R.ETXSTL, TX_START)
        // the multicast hash table (DS §8)
        for (let i = 0; i < 8; i++) await this.cmd(WCR, R.EHT0 + i, this.hash[i])
        // register, value pairs (a table, not a call each):
        //   ERXFCON 0xa5: unicast to us, broadcast, CRC checked, multicast through the hash table
        //     (UCEN | CRCEN | HTEN | BCEN, DS §8);
        //   the MAC (DS §6.5): MACON1 0x0d: receive, pause frames both ways (TXPAUS | RXPAUS |
        //     MARXEN); MACON3 0x33: pad to 60 + CRC, length check, full duplex (PADCFG=001 |
        //     TXCRCEN | FRMLNEN | FULDPX); MAMXFL 0x05ee: the maximum frame, MAX_FRAME + 4
        //     (low byte first); MABBIPG 0x15, MAIPGL 0x12: full-duplex gaps
        const t = Buffer.from("38a5c00dc233caeecb05c415c612", "hex")
        for (let i = 0; i < t.length; i += 2) await this.cmd(WCR, t[i], t[i + 1])
        // MAADR1..6 are at 0x04, 0x05, 0x02, 0x03, 0x00, 0x01 of bank 3
        for (let i = 0; i < 6; i++) await this.cmd(WCR, R.MAADR5 + 4 - (i & 6) + (i & 1), this.mac[i])
        // PHY (DS §6.6): full duplex to match the MAC, no loopback in half
        // duplex, interrupts on link changes
        await this.phy(PHCON1, 0x0100) // PDPXMD
        await this.phy(PHCON2, 0x0100) // HDLDIS
        await this.phy(PHIE, 0x12) // PLNKIE | PGEIE
        this.link = ((await this.phy(PHSTAT2, -1)) & PHSTAT2_LSTAT) !== 0
        // INT pin on: packet, link, TX error, RX error (DS §12)
        await this.cmd(WCR, R.EIE, 0xd3) // INTIE | PKTIE | LINKIE | TXERIE | RXERIE
        await this.cmd(BFS, R.ECON1, ECON1_RXEN)
        return true
    }

    /** Resets the receive logic and empties the ring (DS §6.1, §7.2.4); enable says whether to turn reception back on. */
    private async rxReset(enable: boolean): Promise<void> {
        await this.cmd(BFS, R.ECON1, ECON1_RXRST)
        await this.cmd(BFC, R.ECON1, ECON1_RXRST | ECON1_RXEN)
        await this.write16(R.ERXSTL, RX_START)
        await this.write16(R.ERXNDL, RX_END)
        // errata #14: ERXRDPT must be odd
        await this.write16(R.ERXRDPTL, RX_END)
        // reset leaves EPKTCNT alone: decrement it to 0 (DS §7.2.4)
        for (let n = await this.cmd(RCR, R.EPKTCNT, 0); n > 0; n--) await this.cmd(BFS, R.ECON2, ECON2_PKTDEC)
        this.next = RX_START
        await this.cmd(BFC, R.EIR, EIR_RXERIF)
        if (enable) await this.cmd(BFS, R.ECON1, ECON1_RXEN)
    }

    // ---- the loop's work -------------------------------------------------------

    transmit(frame: Buffer, length: number): void {
        if (this.queue.put(frame, length, this.counters)) {
            if (this.onQueued) this.onQueued()
        }
    }

    /** Frames waiting to be sent. */
    pending(): number {
        return this.queue.count
    }

    /**
     * One bounded turn of the driver's loop: reads the interrupt flags
     * (link, transmit done or failed, receive overflow), hands up to
     * maxFrames received frames to sink, and starts the next transmission.
     * Returns the frames received.
     */
    async service(sink: FrameSink, now: number, maxFrames: number): Promise<number> {
        const c = this.counters
        const eir = await this.cmd(RCR, R.EIR, 0)
        if (eir & EIR_LINKIF) {
            await this.phy(PHIR, -1) // reading PHIR clears LINKIF (DS §12.1.5)
            const up = ((await this.phy(PHSTAT2, -1)) & PHSTAT2_LSTAT) !== 0
            if (up !== this.link) c.linkChanges++
            this.link = up
        }
        if (this.txBusy && eir & (EIR_TXIF | EIR_TXERIF)) {
            if (eir & EIR_TXERIF) {
                // errata #12: the transmit logic can stall after an error: reset it
                c.txErrors++
                await this.cmd(BFS, R.ECON1, ECON1_TXRST)
                await this.cmd(BFC, R.ECON1, ECON1_TXRST | ECON1_TXRTS)
            }
            await this.cmd(BFC, R.EIR, EIR_TXIF | EIR_TXERIF)
            this.txBusy = false
        }
        if (eir & EIR_RXERIF) {
            // the ring was full (or EPKTCNT at 255): frames were lost on the
            // wire; reading frames makes room again (DS §12.1.2)
            c.rxOverflows++
            await this.cmd(BFC, R.EIR, EIR_RXERIF)
        }
        let got = 0
        // errata #6: PKTIF is unreliable: count with EPKTCNT
        let n = await this.cmd(RCR, R.EPKTCNT, 0)
        while (n > 0 && got < maxFrames) {
            if (!(await this.receiveOne(sink, now))) break
            got++
            n--
        }
        if (!this.txBusy && this.queue.count > 0 && this.link) await this.sendOne()
        return got
    }

    private async receiveOne(sink: FrameSink, now: number): Promise<boolean> {
        const c = this.counters
        // ERDPT to the frame's start (after a read it is wherever the over-read left it)
        await this.write16(R.ERDPTL, this.next)
        const h = this.rHdr
        c.spiTransfers++
        await this.bus.xfer(this.tHdr, h)
        // receive status vector (DS Table 7-3): next pointer, byte count, status
        const next = h[1] | (h[2] << 8)
        const count = h[3] | (h[4] << 8)
        const len = count - 4
        if (next > RX_END || next & 1 || count > MAX_FRAME + 4 + 4 || count < 4) {
            // a pointer outside the ring or a length no frame has: the ring
            // cannot be walked any further; start it again (frames in it are lost)
            c.rxResets++
            await this.rxReset(true)
            return false
        }
        const size = len + (len & 1)
        const small = size <= SMALL
        const rx = small ? this.rSmall : this.rBig
        const tx = small ? this.tSmall : this.queue.slots[0]
        tx[0] = RBM
        c.spiTransfers++
        await this.bus.xfer(tx, rx)
        if (!small) tx[0] = WBM
        this.next = next
        // errata #14: ERXRDPT = next - 1, odd, frees the frame's space
        await this.write16(R.ERXRDPTL, next === RX_START ? RX_END : next - 1)
        await this.cmd(BFS, R.ECON2, ECON2_PKTDEC)
        // bit 23: received OK (CRC and length fine, DS Table 7-3)
        if (!(h[5] & 0x80) || len < 14) {
            c.rxErrors++
            return true
        }
        rx.blitAt(0, rx, 1, len)
        c.rxFrames++
        c.rxBytes += len
        sink.receive(rx, now, len)
        return true
    }

    private async sendOne(): Promise<void> {
        const q = this.queue
        const i = q.first
        const len = q.lengths[i]
        let buf = q.slots[i]
        if (len <= SMALL) {
            // a short frame in a short transfer (the bytes after it land in
            // the transmit area and are not sent)
            buf = this.wSmall
            buf.blitAt(2, q.slots[i], 2, len)
        }
        buf[1] = 0 // per-packet control byte: MACON3's settings (DS §7.1)
        await this.write16(R.EWRPTL, TX_START)
        this.counters.spiTransfers++
        await this.bus.xfer(buf, null)
        await this.write16(R.ETXNDL, TX_START + len)
        await this.cmd(BFS, R.ECON1, ECON1_TXRTS)
        q.pop()
        this.txBusy = true
        this.counters.txFrames++
        this.counters.txBytes += len
    }
}
