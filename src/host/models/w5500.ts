// A register-level model of the WIZnet W5500 on its SPI bus, socket 0 in
// MACRAW mode, for testing the driver (src/drivers/w5500.ts) on the host and
// in the DeviceScript VM. Every transaction is the datasheet's SPI frame
// (DS §2.2): a 16-bit offset, a control byte (block select BSB[4:0], RWB,
// OM[1:0]) and the data phase, with the offset auto-incrementing; blocks are
// the common registers, and per socket its registers, TX and RX buffers.
// The socket buffers are rings addressed by the 16-bit pointers modulo
// their size, as the chip does.
//
// Strict: a frame without its control phase, a reserved block, a
// fixed-length mode with the wrong data length, a write to a read-only
// register, socket buffer sizes adding up past 16 KB, a command while the
// socket is in the wrong state, Sn_RX_RD moved past what was received or
// Sn_TX_WR past the free space, all record an error in `errors` and throw.
//
// Faults: setLink(), and a full receive buffer (frames that do not fit are
// dropped, as on the chip).

export class W5500Error extends Error {}

export interface W5500Stats {
    transfers: number
    bytes: number
    rxFrames: number
    rxFiltered: number
    /** Frames dropped because the receive buffer was full. */
    rxLost: number
    /** Frames dropped because the socket was not open or the link down. */
    rxOff: number
    txFrames: number
}

const MEM = 16 * 1024
// common registers
const MR = 0x00
const SHAR = 0x09
const PHYCFGR = 0x2e
const VERSIONR = 0x39
// socket registers
const SN_MR = 0x00
const SN_CR = 0x01
const SN_IR = 0x02
const SN_SR = 0x03
const SN_RXBUF_SIZE = 0x1e
const SN_TXBUF_SIZE = 0x1f
const SN_TX_FSR = 0x20
const SN_TX_RD = 0x22
const SN_TX_WR = 0x24
const SN_RX_RSR = 0x26
const SN_RX_RD = 0x28
const SN_RX_WR = 0x2a
const SOCKET_READ_ONLY = [SN_SR, SN_TX_FSR, SN_TX_FSR + 1, SN_TX_RD, SN_TX_RD + 1, SN_RX_RSR, SN_RX_RSR + 1, SN_RX_WR, SN_RX_WR + 1]

class Socket {
    regs = Buffer.alloc(0x30)
    tx = Buffer.alloc(MEM)
    rx = Buffer.alloc(MEM)
    /** Pending low byte of a 16-bit pointer write. */
    constructor() {
        this.reset()
    }
    reset() {
        this.regs.fill(0)
        this.regs[SN_RXBUF_SIZE] = 2
        this.regs[SN_TXBUF_SIZE] = 2
        this.regs[0x2c] = 0xff // Sn_IMR
        this.regs[0x2d] = 0x40 // Sn_FRAG
        this.regs[0x12] = 0xff // Sn_MSSR
        this.regs[0x13] = 0xff
        this.regs[0x16] = 0x80 // Sn_TTL
        this.set16(SN_TX_FSR, 2048)
    }
    get16(o: number): number {
        return (this.regs[o] << 8) | this.regs[o + 1]
    }
    set16(o: number, v: number) {
        this.regs[o] = (v >> 8) & 0xff
        this.regs[o + 1] = v & 0xff
    }
}

export class W5500Model {
    readonly errors: string[] = []
    readonly stats: W5500Stats = { transfers: 0, bytes: 0, rxFrames: 0, rxFiltered: 0, rxLost: 0, rxOff: 0, txFrames: 0 }
    onTransmit: (frame: Buffer) => void = null
    private common = Buffer.alloc(0x40)
    private sockets: Socket[] = []
    private linkUp = true

    constructor() {
        for (let i = 0; i < 8; i++) this.sockets.push(new Socket())
        this.reset()
    }

    private reset() {
        this.common.fill(0)
        this.common[0x19] = 0x07 // RTR 2000
        this.common[0x1a] = 0xd0
        this.common[0x1b] = 0x08 // RCR
        this.common[VERSIONR] = 0x04
        for (const s of this.sockets) s.reset()
        this.updatePhy()
    }

    private updatePhy() {
        // OPMD=1 all capable, 100 Mb/s full duplex when up (DS §3.1 PHYCFGR)
        this.common[PHYCFGR] = 0xb8 | (this.linkUp ? 0x07 : 0)
    }

    private fail(what: string): never {
        const msg = "W5500 model: " + what
        this.errors.push(msg)
        throw new W5500Error(msg)
    }

    link(): boolean {
        return this.linkUp
    }

    setLink(up: boolean) {
        this.linkUp = up
        this.updatePhy()
    }

    mac(): Buffer {
        return Buffer.from(this.common.subarray(SHAR, SHAR + 6))
    }

    private size(s: Socket, reg: number): number {
        return s.regs[reg] * 1024
    }

    /** A frame from the wire: through socket 0's MACRAW filter into its receive buffer (DS §4.2 MACRAW). */
    receive(frame: Buffer, length = frame.length): boolean {
        const s = this.sockets[0]
        if (s.regs[SN_SR] !== 0x42 || !this.linkUp) {
            this.stats.rxOff++
            return false
        }
        const mr = s.regs[SN_MR]
        if (mr & 0x80) {
            const bcast = frame.subarray(0, 6).equals(Buffer.from("ffffffffffff", "hex"))
            const ours = frame.subarray(0, 6).equals(this.mac())
            const multicast = !bcast && (frame[0] & 1) !== 0
            let pass = ours || (bcast && !(mr & 0x40)) || (multicast && !(mr & 0x20))
            if (multicast && frame[0] === 0x33 && frame[1] === 0x33 && mr & 0x10) pass = false
            if (!pass) {
                this.stats.rxFiltered++
                return false
            }
        }
        const size = this.size(s, SN_RXBUF_SIZE)
        const rsr = s.get16(SN_RX_RSR)
        if (rsr + 2 + length > size) {
            this.stats.rxLost++
            return false
        }
        let wr = s.get16(SN_RX_WR)
        const put = (b: number) => {
            s.rx[wr % size] = b
            wr = (wr + 1) & 0xffff
        }
        put((length + 2) >> 8)
        put((length + 2) & 0xff)
        for (let i = 0; i < length; i++) put(frame[i])
        s.set16(SN_RX_WR, wr)
        s.set16(SN_RX_RSR, rsr + 2 + length)
        s.regs[SN_IR] |= 0x04 // RECV
        this.stats.rxFrames++
        return true
    }

    /** Bytes received and not yet released (Sn_RX_RSR). */
    received(): number {
        return this.sockets[0].get16(SN_RX_RSR)
    }

    transfer(tx: Buffer, rx: Buffer | null): void {
        if (!tx || tx.length < 3) this.fail(`a ${tx ? tx.length : 0}-byte frame has no control phase`)
        if (rx && rx.length !== tx.length) this.fail("rx and tx of different lengths")
        this.stats.transfers++
        this.stats.bytes += tx.length
        const out = rx || Buffer.alloc(tx.length)
        // what the chip shifts out during the address and control phases is not data: zeros here
        out[0] = 0
        out[1] = 0
        out[2] = 0
        let off = (tx[0] << 8) | tx[1]
        const ctl = tx[2]
        const bsb = ctl >> 3
        const write = (ctl & 0x04) !== 0
        const om = ctl & 3
        const n = tx.length - 3
        if (om !== 0 && n !== [0, 1, 2, 4][om]) this.fail(`fixed-length mode ${om} with ${n} data bytes`)
        if (bsb !== 0 && (bsb & 3) === 0) this.fail(`reserved block 0x${bsb.toString(16)}`)
        if (bsb > 31) this.fail("bad block")
        const si = bsb === 0 ? -1 : (bsb - 1) >> 2
        const kind = bsb === 0 ? 0 : (bsb - 1) & 3 // 0 registers, 1 TX, 2 RX
        for (let i = 0; i < n; i++) {
            if (bsb === 0) {
                if (write) this.writeCommon(off, tx[3 + i])
                else out[3 + i] = off < this.common.length ? this.common[off] : 0
            } else {
                const s = this.sockets[si]
                if (kind === 0) {
                    if (write) this.writeSocket(si, off, tx[3 + i])
                    else out[3 + i] = off < s.regs.length ? s.regs[off] : 0
                } else if (kind === 1) {
                    const size = this.size(s, SN_TXBUF_SIZE)
                    if (size === 0) this.fail(`socket ${si} has no TX buffer`)
                    if (write) s.tx[off % size] = tx[3 + i]
                    else out[3 + i] = s.tx[off % size]
                } else {
                    const size = this.size(s, SN_RXBUF_SIZE)
                    if (size === 0) this.fail(`socket ${si} has no RX buffer`)
                    if (write) s.rx[off % size] = tx[3 + i]
                    else out[3 + i] = s.rx[off % size]
                }
            }
            off = (off + 1) & 0xffff
        }
    }

    private writeCommon(off: number, v: number) {
        if (off === VERSIONR) this.fail("write to read-only VERSIONR")
        if (off >= 0x40) this.fail(`write to reserved common register 0x${off.toString(16)}`)
        if (off === MR && v & 0x80) return this.reset()
        if (off === PHYCFGR) {
            // LNK, SPD, DPX are read-only status bits
            this.common[PHYCFGR] = (v & 0xf8) | (this.common[PHYCFGR] & 0x07)
            return
        }
        this.common[off] = v
    }

    private writeSocket(si: number, off: number, v: number) {
        const s = this.sockets[si]
        if (off >= 0x30) this.fail(`write to reserved socket register 0x${off.toString(16)}`)
        if (SOCKET_READ_ONLY.indexOf(off) >= 0) this.fail(`write to read-only socket ${si} register 0x${off.toString(16)}`)
        switch (off) {
            case SN_CR:
                return this.command(si, v)
            case SN_IR:
                s.regs[SN_IR] &= ~v // write 1 to clear
                return
            case SN_RXBUF_SIZE:
            case SN_TXBUF_SIZE: {
                if ([0, 1, 2, 4, 8, 16].indexOf(v) < 0) this.fail(`buffer size ${v} KB is not 0, 1, 2, 4, 8 or 16`)
                s.regs[off] = v
                let total = 0
                for (const t of this.sockets) total += t.regs[off]
                if (total > 16) this.fail(`socket ${off === SN_RXBUF_SIZE ? "RX" : "TX"} buffers add up to ${total} KB (at most 16)`)
                if (off === SN_TXBUF_SIZE) s.set16(SN_TX_FSR, v * 1024)
                return
            }
            case SN_RX_RD + 1: {
                s.regs[off] = v
                // Sn_RX_RD may only move forward over received data (RECV releases it)
                return
            }
            case SN_TX_WR + 1: {
                s.regs[off] = v
                const used = (s.get16(SN_TX_WR) - s.get16(SN_TX_RD)) & 0xffff
                if (used > this.size(s, SN_TXBUF_SIZE)) this.fail(`Sn_TX_WR 0x${s.get16(SN_TX_WR).toString(16)} is past the free space`)
                return
            }
            default:
                s.regs[off] = v
        }
    }

    private command(si: number, cmd: number) {
        const s = this.sockets[si]
        const sr = s.regs[SN_SR]
        switch (cmd) {
            case 0x01: // OPEN
                if ((s.regs[SN_MR] & 0x0f) !== 0x04) this.fail("OPEN of a mode this model does not have (MACRAW only)")
                if (si !== 0) this.fail("MACRAW is only on socket 0 (DS §3.2 Sn_MR)")
                if (this.size(s, SN_RXBUF_SIZE) === 0 || this.size(s, SN_TXBUF_SIZE) === 0) this.fail("OPEN of a socket without buffers")
                s.regs[SN_SR] = 0x42
                s.set16(SN_RX_RSR, 0)
                s.set16(SN_RX_RD, 0)
                s.set16(SN_RX_WR, 0)
                s.set16(SN_TX_RD, 0)
                s.set16(SN_TX_WR, 0)
                s.set16(SN_TX_FSR, this.size(s, SN_TXBUF_SIZE))
                return
            case 0x10: // CLOSE
                s.regs[SN_SR] = 0
                return
            case 0x20: {
                // SEND: the bytes from Sn_TX_RD to Sn_TX_WR are one frame
                if (sr !== 0x42) this.fail("SEND on a socket that is not open")
                const size = this.size(s, SN_TXBUF_SIZE)
                const rd = s.get16(SN_TX_RD)
                const wr = s.get16(SN_TX_WR)
                const len = (wr - rd) & 0xffff
                if (len === 0) this.fail("SEND with nothing between Sn_TX_RD and Sn_TX_WR")
                if (len > 1514) this.fail(`SEND of a ${len}-byte MACRAW frame`)
                const f = Buffer.alloc(len)
                for (let i = 0; i < len; i++) f[i] = s.tx[(rd + i) % size]
                s.set16(SN_TX_RD, wr)
                s.set16(SN_TX_FSR, size)
                s.regs[SN_IR] |= 0x10 // SEND_OK
                if (this.linkUp) {
                    this.stats.txFrames++
                    if (this.onTransmit) this.onTransmit(f)
                }
                return
            }
            case 0x40: {
                // RECV: releases what Sn_RX_RD moved over
                if (sr !== 0x42) this.fail("RECV on a socket that is not open")
                const released = (s.get16(SN_RX_RD) - (s.get16(SN_RX_WR) - s.get16(SN_RX_RSR))) & 0xffff
                if (released > s.get16(SN_RX_RSR)) this.fail(`Sn_RX_RD moved ${released} bytes, past the ${s.get16(SN_RX_RSR)} received`)
                s.set16(SN_RX_RSR, s.get16(SN_RX_RSR) - released)
                return
            }
            default:
                this.fail(`command 0x${cmd.toString(16)} is not one this model has`)
        }
    }
}
