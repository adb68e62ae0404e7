// A register-level model of the Microchip ENC28J60 on its SPI bus, for
// testing the driver (src/drivers/enc28j60.ts) on the host and in the
// DeviceScript VM. It speaks the SPI command set of datasheet DS39662E §4
// byte for byte: RCR (with the dummy byte of MAC/MII registers), RBM, WCR,
// WBM, BFS, BFC and SRC; four banks of control registers plus the common
// ones; the 8 KB buffer memory with auto-increment and the receive ring's
// wrap; the PHY through MIREGADR/MICMD/MIWR/MIRD; the receive filters; the
// transmit control byte and status vector. Frames leave through onTransmit
// and arrive with receive().
//
// It is strict: an access the datasheet forbids or that would corrupt the
// chip (a write to a read-only register, a bit-field operation on a MAC
// register, a read of a MAC register without its dummy byte, an even
// ERXRDPT (errata #14), ring bounds changed while receiving, a pointer
// outside the memory, PKTDEC at EPKTCNT 0, transmit settings changed while a
// transmission runs) records an error in `errors` and throws, so the test
// that caused it fails.
//
// Faults: setLink(false/true), failNextTransmit() (TXERIF, then the stalled
// transmit logic of errata #12 until TXRST), and a full ring (frames that do
// not fit are dropped and RXERIF is set, as on the chip).

const MEM = 8192

// registers as bank << 5 | address (common registers 0x1B-0x1F stored once)
const ERDPTL = 0x00
const ERDPTH = 0x01
const EWRPTL = 0x02
const EWRPTH = 0x03
const ETXSTL = 0x04
const ETXSTH = 0x05
const ETXNDL = 0x06
const ETXNDH = 0x07
const ERXSTL = 0x08
const ERXSTH = 0x09
const ERXNDL = 0x0a
const ERXNDH = 0x0b
const ERXRDPTL = 0x0c
const ERXRDPTH = 0x0d
const ERXWRPTL = 0x0e
const ERXWRPTH = 0x0f
const EIE = 0x1b
const EIR = 0x1c
const ESTAT = 0x1d
const ECON2 = 0x1e
const ECON1 = 0x1f
const EHT0 = 0x20
const ERXFCON = 0x38
const EPKTCNT = 0x39
const MACON1 = 0x40
const MACON3 = 0x42
const MICMD = 0x52
const MIREGADR = 0x54
const MIWRL = 0x56
const MIWRH = 0x57
const MIRDL = 0x58
const MIRDH = 0x59
const MAADR5 = 0x60
const MISTAT = 0x6a
const EREVID = 0x72

/** Addresses that exist (DS Table 3-2), bank by bank; the rest are reserved. */
const IMPLEMENTED: number[][] = [
    [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17],
    [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x14, 0x15, 0x18, 0x19],
    [0x00, 0x02, 0x03, 0x04, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x12, 0x14, 0x16, 0x17, 0x18, 0x19],
    [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x12, 0x15, 0x17, 0x18, 0x19],
]
/** MAC and MII registers: reads shift out a dummy byte; BFS/BFC do not apply (DS §4.2). */
function isMacMii(reg: number): boolean {
    const bank = reg >> 5
    const a = reg & 0x1f
    return (bank === 2 && a < 0x1b) || (bank === 3 && a <= 0x05) || reg === MISTAT
}
const READ_ONLY = [ERXWRPTL, ERXWRPTH, MIRDL, MIRDH, MISTAT, EREVID, ESTAT]

// PHY registers
const PHCON1 = 0x00
const PHSTAT1 = 0x01
const PHID1 = 0x02
const PHID2 = 0x03
const PHCON2 = 0x10
const PHSTAT2 = 0x11
const PHIE = 0x12
const PHIR = 0x13
const PHLCON = 0x14
const PHY_WRITABLE = [PHCON1, PHCON2, PHIE, PHLCON]

export class Enc28j60Error extends Error {}

export interface Enc28j60Stats {
    transfers: number
    bytes: number
    rxFrames: number
    /** Frames the filters refused. */
    rxFiltered: number
    /** Frames lost because the ring (or EPKTCNT) was full. */
    rxLost: number
    /** Frames lost because reception was off or the link down. */
    rxOff: number
    txFrames: number
    txFailed: number
}

export class Enc28j60Model {
    /** Every violation seen (also thrown). */
    readonly errors: string[] = []
    readonly stats: Enc28j60Stats = { transfers: 0, bytes: 0, rxFrames: 0, rxFiltered: 0, rxLost: 0, rxOff: 0, txFrames: 0, txFailed: 0 }
    /** Frames the chip puts on the wire (without FCS). */
    onTransmit: (frame: Buffer) => void = null
    readonly mem = Buffer.alloc(MEM)
    revision = 0x06 // B7

    private regs = Buffer.alloc(4 * 32)
    private phy: number[] = []
    private linkUp = true
    private rxrdptLow = 0
    private txFailNext = false
    private txStalled = false

    constructor() {
        this.powerOn()
    }

    private powerOn() {
        this.regs.fill(0)
        this.phy = []
        for (let i = 0; i < 0x20; i++) this.phy.push(0)
        this.reset()
    }

    /** Reset values (DS Table 3-3 / 11-1). */
    private reset() {
        const keep = Buffer.from(this.mem)
        this.regs.fill(0)
        this.mem.set(keep)
        this.set16(ERXNDL, 0x1fff)
        this.set16(ERXRDPTL, 0x05fa)
        this.set16(ERXWRPTL, 0)
        this.set16(ETXNDL, 0)
        this.regs[ERXFCON] = 0xa1
        this.regs[ECON2] = 0x80
        this.regs[ESTAT] = 0x01 // CLKRDY (the model's oscillator is always stable)
        this.regs[EREVID] = this.revision
        this.regs[MACON3] = 0
        this.phy[PHID1] = 0x0083
        this.phy[PHID2] = 0x1400
        this.phy[PHCON1] = 0
        this.phy[PHCON2] = 0
        this.phy[PHIE] = 0
        this.phy[PHIR] = 0
        this.phy[PHLCON] = 0x3422
        this.updateLinkBits()
        this.txStalled = false
    }

    // ---- the wire ----------------------------------------------------------

    link(): boolean {
        return this.linkUp
    }

    /** Cable in or out: PHSTAT2.LSTAT, PHIR.PLNKIF and EIR.LINKIF (DS §12.1.5). */
    setLink(up: boolean) {
        if (up === this.linkUp) return
        this.linkUp = up
        this.updateLinkBits()
        this.phy[PHIR] |= 0x10
        if (this.phy[PHIE] & 0x10 && this.phy[PHIE] & 0x02) this.regs[EIR] |= 0x10
    }

    private updateLinkBits() {
        const up = this.linkUp
        this.phy[PHSTAT1] = up ? 0x1804 : 0x1800
        this.phy[PHSTAT2] = up ? 0x0400 | (this.phy[PHCON1] & 0x0100 ? 0x0200 : 0) : 0
    }

    /** The next transmission fails (TXERIF, TXABRT) and the transmit logic stalls until TXRST (errata #12). */
    failNextTransmit() {
        this.txFailNext = true
    }

    /** INT pin asserted (active low on the chip): EIE.INTIE and an enabled flag in EIR. */
    interrupt(): boolean {
        return (this.regs[EIE] & 0x80) !== 0 && (this.regs[EIE] & this.regs[EIR] & 0x7b) !== 0
    }

    /** Packets waiting in the ring (EPKTCNT). */
    packetCount(): number {
        return this.regs[EPKTCNT]
    }

    /** A frame from the wire (without FCS): filtered and written to the ring as the chip does (DS §7.2). */
    receive(frame: Buffer, length = frame.length): boolean {
        const r = this.regs
        if (!(r[ECON1] & 0x04) || !this.linkUp) {
            this.stats.rxOff++
            return false
        }
        if (!this.accepts(frame)) {
            this.stats.rxFiltered++
            return false
        }
        const st = this.get16(ERXSTL)
        const nd = this.get16(ERXNDL)
        const ring = nd - st + 1
        const wr = this.get16(ERXWRPTL)
        const rd = this.get16(ERXRDPTL)
        const count = length + 4
        let need = 6 + count
        if (need & 1) need++
        // space up to (not including) ERXRDPT
        const free = (rd - wr + ring) % ring
        if (need >= free || r[EPKTCNT] === 255) {
            r[EIR] |= 0x01 // RXERIF
            r[ESTAT] |= 0x40 // BUFER
            this.stats.rxLost++
            return false
        }
        let next = wr + need
        if (next > nd) next -= ring
        const hdr = Buffer.alloc(6)
        hdr.writeUInt16LE(next, 0)
        hdr.writeUInt16LE(count, 2)
        let status = 0x80 // bit 23: received OK
        if (frame[0] & 1) status |= frame[0] === 0xff ? 0x200 : 0x100 // broadcast / multicast
        hdr.writeUInt16LE(status, 4)
        const fcs = Buffer.alloc(4)
        fcs.writeUInt32LE(crc32(frame, length), 0)
        let p = wr
        const put = (b: number) => {
            this.mem[p] = b
            p = p === nd ? st : p + 1
        }
        for (const b of hdr) put(b)
        for (let i = 0; i < length; i++) put(frame[i])
        for (const b of fcs) put(b)
        this.set16(ERXWRPTL, next)
        r[EPKTCNT]++
        r[EIR] |= 0x40 // PKTIF
        this.stats.rxFrames++
        return true
    }

    private accepts(f: Buffer): boolean {
        const fc = this.regs[ERXFCON]
        if (fc & 0x80) {
            const mac = this.mac()
            if (mac.equals(f.subarray(0, 6))) return true
        }
        const bcast = f[0] === 0xff && f[1] === 0xff && f[2] === 0xff && f[3] === 0xff && f[4] === 0xff && f[5] === 0xff
        if (fc & 0x01 && bcast) return true
        if (fc & 0x02 && f[0] & 1 && !bcast) return true
        if (fc & 0x04) {
            const k = hashIndex(f)
            if (this.regs[EHT0 + (k >> 3)] & (1 << (k & 7))) return true
        }
        return false
    }

    /** MAADR1..MAADR6 as a MAC address. */
    mac(): Buffer {
        const r = this.regs
        return Buffer.from([r[MAADR5 + 4], r[MAADR5 + 5], r[MAADR5 + 2], r[MAADR5 + 3], r[MAADR5 + 0], r[MAADR5 + 1]])
    }

    // ---- SPI ---------------------------------------------------------------

    private fail(what: string): never {
        const msg = "ENC28J60 model: " + what
        this.errors.push(msg)
        throw new Enc28j60Error(msg)
    }

    /** One chip-select transaction. rx receives what the chip shifts out (may be null). */
    transfer(tx: Buffer, rx: Buffer | null): void {
        if (!tx || tx.length === 0) this.fail("a transaction without a command byte")
        if (rx && rx.length !== tx.length) this.fail("rx and tx of different lengths")
        this.stats.transfers++
        this.stats.bytes += tx.length
        const out = rx || Buffer.alloc(tx.length)
        out.fill(0)
        const op = tx[0]
        const a = op & 0x1f
        switch (op >> 5) {
            case 0: // RCR
                return this.rcr(a, tx, out)
            case 1:
                if (op === 0x3a) return this.rbm(tx, out)
                return this.fail(`opcode 0x${op.toString(16)} is not defined`)
            case 2: // WCR
                if (tx.length !== 2) this.fail(`WCR of ${tx.length - 1} data bytes (one register per transaction)`)
                return this.wcr(this.reg(a), tx[1])
            case 3:
                if (op === 0x7a) return this.wbm(tx)
                return this.fail(`opcode 0x${op.toString(16)} is not defined`)
            case 4: // BFS
            case 5: // BFC
                return this.bitField(op >> 5 === 4, a, tx)
            case 7:
                if (op !== 0xff) this.fail(`opcode 0x${op.toString(16)} is not defined`)
                if (tx.length !== 1) this.fail("SRC followed by more bytes")
                return this.reset()
            default:
                this.fail(`opcode 0x${op.toString(16)} is not defined`)
        }
    }

    private reg(a: number): number {
        if (a >= 0x1b) return a
        const bank = this.regs[ECON1] & 3
        if (IMPLEMENTED[bank].indexOf(a) < 0) this.fail(`bank ${bank} register 0x${a.toString(16)} is reserved`)
        return (bank << 5) | a
    }

    private rcr(a: number, tx: Buffer, out: Buffer) {
        const reg = this.reg(a)
        const mac = isMacMii(reg)
        // a longer read of an ETH register is harmless (it is how a W5500 probe looks to this chip): extra bytes read 0
        if (mac ? tx.length !== 3 : tx.length < 2) {
            this.fail(`RCR of ${mac ? "MAC/MII" : "ETH"} register 0x${reg.toString(16)} in ${tx.length} bytes (needs ${mac ? 3 : 2})`)
        }
        if ((reg === MIRDL || reg === MIRDH) && this.regs[MICMD] & 1) this.fail("MIRD read while MICMD.MIIRD is still set (DS §3.3.1)")
        out[mac ? 2 : 1] = this.regs[reg]
    }

    private wcr(reg: number, v: number) {
        if (READ_ONLY.indexOf(reg) >= 0) this.fail(`write to read-only register 0x${reg.toString(16)}`)
        this.writeReg(reg, v)
    }

    private bitField(set: boolean, a: number, tx: Buffer) {
        if (tx.length !== 2) this.fail(`BFS/BFC of ${tx.length - 1} data bytes`)
        const reg = this.reg(a)
        if (isMacMii(reg)) this.fail(`BFS/BFC on MAC/MII register 0x${reg.toString(16)} (DS §4.2.5)`)
        if (READ_ONLY.indexOf(reg) >= 0) this.fail(`BFS/BFC on read-only register 0x${reg.toString(16)}`)
        const old = this.regs[reg]
        let v = set ? old | tx[1] : old & ~tx[1]
        if (reg === EIR) v = (v & ~0x50) | (old & 0x50) // PKTIF and LINKIF are read-only
        this.writeReg(reg, v & 0xff)
    }

    private writeReg(reg: number, v: number) {
        const r = this.regs
        const old = r[reg]
        const rxOn = (r[ECON1] & 0x04) !== 0
        const txOn = (r[ECON1] & 0x08) !== 0
        if ((reg >= ERXSTL && reg <= ERXNDH) && rxOn) this.fail("ERXST/ERXND changed while ECON1.RXEN is set (DS §6.1)")
        if ((reg >= ETXSTL && reg <= ETXNDH) && txOn) this.fail("ETXST/ETXND changed while a transmission runs")
        if ((reg === ERDPTH || reg === EWRPTH || reg === ETXSTH || reg === ETXNDH || reg === ERXSTH || reg === ERXNDH || reg === ERXRDPTH) && v > 0x1f) {
            this.fail(`pointer register 0x${reg.toString(16)} high byte 0x${v.toString(16)} outside the 8 KB memory`)
        }
        switch (reg) {
            case ERXRDPTL:
                // buffered until the high byte is written (DS §6.1)
                this.rxrdptLow = v
                return
            case ERXRDPTH: {
                const p = (v << 8) | this.rxrdptLow
                const st = this.get16(ERXSTL)
                const nd = this.get16(ERXNDL)
                if (p < st || p > nd) this.fail(`ERXRDPT 0x${p.toString(16)} outside the ring 0x${st.toString(16)}-0x${nd.toString(16)}`)
                if (!(p & 1)) this.fail(`ERXRDPT 0x${p.toString(16)} even (errata #14: it must be odd)`)
                r[ERXRDPTL] = this.rxrdptLow
                r[ERXRDPTH] = v
                return
            }
            case ERXSTL:
            case ERXSTH:
                r[reg] = v
                // ERXWRPT follows ERXST (DS §6.1)
                this.set16(ERXWRPTL, this.get16(ERXSTL))
                return
            case ECON1:
                if (v & 0x80) {
                    // TXRST: transmit logic reset, clears the stall of errata #12
                    this.txStalled = false
                    v &= ~0x08
                }
                if (v & 0x40) {
                    v &= ~0x04 // RXRST holds reception off (EPKTCNT is kept)
                }
                if (v & 0x04 && !(old & 0x04)) this.checkRing()
                r[ECON1] = v
                if (v & 0x08 && !(old & 0x08)) this.startTransmit()
                return
            case ECON2:
                if (v & 0x40) {
                    if (r[EPKTCNT] === 0) this.fail("PKTDEC with EPKTCNT 0")
                    r[EPKTCNT]--
                    if (r[EPKTCNT] === 0) r[EIR] &= ~0x40
                    v &= ~0x40
                }
                r[ECON2] = v
                return
            case MICMD:
                r[MICMD] = v
                if (v & 1) {
                    const pr = r[MIREGADR] & 0x1f
                    this.setMird(this.phy[pr])
                    if (pr === PHIR) {
                        // reading PHIR clears its flags and LINKIF (DS §12.1.5)
                        this.phy[PHIR] = 0
                        r[EIR] &= ~0x10
                    }
                }
                return
            case MIWRH: {
                r[MIWRH] = v
                const pr = r[MIREGADR] & 0x1f
                if (PHY_WRITABLE.indexOf(pr) < 0) this.fail(`write to read-only or reserved PHY register 0x${pr.toString(16)}`)
                this.phy[pr] = (v << 8) | r[MIWRL]
                if (pr === PHCON1) this.updateLinkBits()
                return
            }
            default:
                r[reg] = v
        }
    }

    private setMird(v: number) {
        this.regs[MIRDL] = v & 0xff
        this.regs[MIRDH] = v >> 8
    }

    private checkRing() {
        const st = this.get16(ERXSTL)
        const nd = this.get16(ERXNDL)
        if (st !== 0) this.fail("ERXST must be 0 (errata #5)")
        if (nd <= st || nd >= MEM) this.fail(`receive ring 0x${st.toString(16)}-0x${nd.toString(16)} is empty or outside the memory`)
        const tx = this.get16(ETXSTL)
        if (tx >= st && tx <= nd) this.fail("ETXST inside the receive ring")
        const rd = this.get16(ERXRDPTL)
        if (rd < st || rd > nd) this.fail("ERXRDPT outside the ring when reception starts")
    }

    private rbm(tx: Buffer, out: Buffer) {
        let p = this.get16(ERDPTL)
        const st = this.get16(ERXSTL)
        const nd = this.get16(ERXNDL)
        const auto = (this.regs[ECON2] & 0x80) !== 0
        for (let i = 1; i < tx.length; i++) {
            out[i] = this.mem[p]
            if (!auto) continue
            // reads wrap inside the receive ring (DS §3.2.2), else at the end of memory
            if (p === nd) p = st
            else p = (p + 1) % MEM
        }
        this.set16(ERDPTL, p)
    }

    private wbm(tx: Buffer) {
        let p = this.get16(EWRPTL)
        const auto = (this.regs[ECON2] & 0x80) !== 0
        const st = this.get16(ERXSTL)
        const nd = this.get16(ERXNDL)
        const txOn = (this.regs[ECON1] & 0x08) !== 0
        for (let i = 1; i < tx.length; i++) {
            if ((this.regs[ECON1] & 0x04) !== 0 && p >= st && p <= nd) this.fail(`WBM into the receive ring at 0x${p.toString(16)} while receiving`)
            if (txOn && p >= this.get16(ETXSTL) && p <= this.get16(ETXNDL)) this.fail("WBM into the frame being transmitted")
            this.mem[p] = tx[i]
            if (auto) p = (p + 1) % MEM
        }
        this.set16(EWRPTL, p)
    }

    private startTransmit() {
        const st = this.get16(ETXSTL)
        const nd = this.get16(ETXNDL)
        if (nd <= st || nd - st > 1514) this.fail(`ETXST 0x${st.toString(16)} / ETXND 0x${nd.toString(16)} is not a frame`)
        if (nd + 7 >= MEM) this.fail("no room for the transmit status vector after ETXND")
        const r = this.regs
        if (this.txStalled) return // errata #12: TXRTS stays set, nothing is sent
        const frame = Buffer.from(this.mem.subarray(st + 1, nd + 1))
        const status = Buffer.alloc(7)
        status.writeUInt16LE(frame.length, 0)
        if (this.txFailNext) {
            this.txFailNext = false
            this.txStalled = true
            this.stats.txFailed++
            r[EIR] |= 0x02 // TXERIF
            r[ESTAT] |= 0x02 // TXABRT
            r[ECON1] &= ~0x08
            status[2] = 0x20 // late collision
            this.mem.set(status, nd + 1)
            return
        }
        this.mem.set(status, nd + 1)
        r[ESTAT] &= ~0x02
        r[ECON1] &= ~0x08
        r[EIR] |= 0x08 // TXIF
        this.stats.txFrames++
        if (this.onTransmit) this.onTransmit(frame)
    }

    private get16(reg: number): number {
        return this.regs[reg] | (this.regs[reg + 1] << 8)
    }

    private set16(reg: number, v: number) {
        this.regs[reg] = v & 0xff
        this.regs[reg + 1] = (v >> 8) & 0xff
    }
}

/** The hash table filter's index (bits 28:23 of the CRC of the destination, DS §8.3.5). */
export function hashIndex(dst: Buffer): number {
    let crc = 0xffffffff
    for (let i = 0; i < 6; i++) {
        const b = dst[i]
        for (let j = 0; j < 8; j++) {
            const bit = ((crc >>> 31) ^ (b >> j)) & 1
            crc = ((crc << 1) ^ (bit ? 0x04c11db7 : 0)) >>> 0
        }
    }
    return (crc >>> 23) & 0x3f
}

/** Ethernet FCS (IEEE 802.3 CRC-32). */
export function crc32(b: Buffer, length: number): number {
    let c = 0xffffffff
    for (let i = 0; i < length; i++) {
        c ^= b[i]
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1
    }
    return (c ^ 0xffffffff) >>> 0
}
