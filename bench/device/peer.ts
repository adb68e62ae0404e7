// The far end of the device benchmarks (bench/device/cost-vm.ts,
// bench/device/heap-http-vm.ts): a minimal TCP client that writes and reads
// raw frames, so that the device (a real Stack) is the only Stack in the VM.
// Its heap is a frame buffer and a few numbers per connection, allocated
// before the device is built (the heap figures subtract it), and its work is
// never inside a measured region.
//
// It answers ARP requests for its address, sends SYN / data / ACK / FIN
// segments with correct checksums, and from the device's segments keeps only
// what a client needs: RCV.NXT, the device's ACK and window, the data bytes
// received (in order only: the device never reorders on a MemoryLink) and the
// status code of the last response that began in a segment. It sends ACKs
// only when asked (ack(), or autoAck for a bulk download), so that, as with a
// real keep-alive client, a response's ACK rides on the next request.
import { copyBytes, getU16, getU32, setU16, setU32 } from "../../src/wire/bytes.js"
import { finishChecksum, internetChecksum, onesSum, pseudoHeaderSum } from "../../src/wire/checksum.js"

const FIN = 0x01
const SYN = 0x02
const RST = 0x04
const PSH = 0x08
const ACK = 0x10
const TCP = 34 // Ethernet + IPv4 headers
const WINDOW = 65535

/** Where the peer's frames go: a MemoryLink port, or a one-frame slot. */
export interface FramePort {
    readonly mac: Buffer
    transmit(frame: Buffer, length: number): void
}

/** @devsWhenUsed */
export class PeerConn {
    readonly localPort: number
    readonly remotePort: number
    sndNxt: number
    rcvNxt = 0
    established = false
    reset = false
    finReceived = false
    /** The device's last ACK and window. */
    peerAck = 0
    peerWindow = 0
    /** Data bytes received from the device, in order. */
    received = 0
    /** Segments received out of order (should stay 0). */
    outOfOrder = 0
    /** Status code of the last segment that began with "HTTP/1.x NNN", else 0. */
    lastStatus = 0
    /** Send an ACK for every data segment (a bulk download). */
    autoAck = false

    constructor(localPort: number, remotePort: number, isn: number) {
        this.localPort = localPort
        this.remotePort = remotePort
        this.sndNxt = isn
    }

    /** Bytes the device's window takes now. */
    window(): number {
        return (this.peerAck + this.peerWindow - this.sndNxt) | 0
    }

    /** Data we sent that the device has not acknowledged. */
    unacked(): number {
        return (this.sndNxt - this.peerAck) | 0
    }
}

/** @devsWhenUsed */
export class Peer {
    readonly conns: PeerConn[] = []
    /** Frames of the device that we looked at. */
    framesIn = 0
    private readonly buf: Buffer
    private readonly port: FramePort
    private readonly mac: Buffer
    private readonly ip: number
    private readonly devMac: Buffer
    private readonly devIp: number
    private ipId = 1

    constructor(port: FramePort, ip: number, devMac: Buffer, devIp: number, frameSize: number) {
        this.port = port
        this.mac = port.mac
        this.ip = ip
        this.devMac = devMac
        this.devIp = devIp
        this.buf = Buffer.alloc(frameSize)
    }

    conn(localPort: number, remotePort: number, isn: number): PeerConn {
        const c = new PeerConn(localPort, remotePort, isn)
        this.conns.push(c)
        return c
    }

    /** "Who has the device's address?": the device learns our MAC from it (RFC 826) and answers. */
    arpRequest(): void {
        this.arp(1, this.devIp)
    }

    connect(c: PeerConn): void {
        this.segment(c, SYN, null, 0, 0)
    }

    send(c: PeerConn, data: Buffer, off: number, len: number): void {
        this.segment(c, ACK | PSH, data, off, len)
    }

    ack(c: PeerConn): void {
        this.segment(c, ACK, null, 0, 0)
    }

    fin(c: PeerConn): void {
        this.segment(c, ACK | FIN, null, 0, 0)
    }

    /** A frame from the device (MemoryLink sink). */
    receive(frame: Buffer, now: number, length?: number): void {
        this.framesIn++
        const type = getU16(frame, 12)
        if (type === 0x0806) {
            if (getU16(frame, 20) === 1 && getU32(frame, 38) === this.ip) this.arp(2, getU32(frame, 28))
            return
        }
        if (type !== 0x0800 || frame[23] !== 6 || getU32(frame, 30) !== this.ip) return
        const ihl = (frame[14] & 15) << 2
        const t = 14 + ihl
        const dport = getU16(frame, t + 2)
        let c: PeerConn = null
        for (const x of this.conns) if (x.localPort === dport) c = x
        if (!c) return
        const flags = frame[t + 13]
        const seq = getU32(frame, t + 4)
        const hl = (frame[t + 12] >> 4) << 2
        const dlen = getU16(frame, 16) - ihl - hl
        if ((flags & RST) !== 0) {
            c.reset = true
            return
        }
        if ((flags & ACK) !== 0) {
            c.peerAck = getU32(frame, t + 8)
            c.peerWindow = getU16(frame, t + 14)
        }
        if ((flags & SYN) !== 0) {
            c.rcvNxt = (seq + 1) >>> 0
            if (!c.established) {
                c.established = true
                this.ack(c)
            }
            return
        }
        if (dlen > 0) {
            if (seq === c.rcvNxt) {
                c.rcvNxt = (c.rcvNxt + dlen) >>> 0
                c.received += dlen
                const d = t + hl
                // "HTTP/1.1 200"
                if (dlen >= 12 && frame[d] === 72 && frame[d + 4] === 47 && frame[d + 8] === 32)
                    c.lastStatus = (frame[d + 9] - 48) * 100 + (frame[d + 10] - 48) * 10 + (frame[d + 11] - 48)
            } else c.outOfOrder++
        }
        if ((flags & FIN) !== 0 && ((seq + dlen) >>> 0) === c.rcvNxt) {
            c.rcvNxt = (c.rcvNxt + 1) >>> 0
            c.finReceived = true
        }
        if ((dlen > 0 && c.autoAck) || (flags & FIN) !== 0) this.ack(c)
    }

    private ethernet(dst: Buffer, type: number): void {
        const b = this.buf
        copyBytes(b, 0, dst, 0, 6)
        copyBytes(b, 6, this.mac, 0, 6)
        setU16(b, 12, type)
    }

    private arp(op: number, targetIp: number): void {
        const b = this.buf
        this.ethernet(op === 1 ? Buffer.from("ffffffffffff", "hex") : this.devMac, 0x0806)
        setU16(b, 14, 1)
        setU16(b, 16, 0x0800)
        b[18] = 6
        b[19] = 4
        setU16(b, 20, op)
        copyBytes(b, 22, this.mac, 0, 6)
        setU32(b, 28, this.ip)
        if (op === 1) b.fillAt(32, 6, 0)
        else copyBytes(b, 32, this.devMac, 0, 6)
        setU32(b, 38, targetIp)
        b.fillAt(42, 18, 0)
        this.port.transmit(b, 60)
    }

    private segment(c: PeerConn, flags: number, data: Buffer, off: number, len: number): void {
        const b = this.buf
        const opt = (flags & SYN) !== 0 ? 4 : 0
        const tcpLen = 20 + opt + len
        this.ethernet(this.devMac, 0x0800)
        b[14] = 0x45
        b[15] = 0
        setU16(b, 16, 20 + tcpLen)
        setU16(b, 18, this.ipId)
        this.ipId = (this.ipId + 1) & 0xffff
        setU16(b, 20, 0x4000)
        b[22] = 64
        b[23] = 6
        setU16(b, 24, 0)
        setU32(b, 26, this.ip)
        setU32(b, 30, this.devIp)
        setU16(b, 24, internetChecksum(b, 14, 20))
        setU16(b, TCP, c.localPort)
        setU16(b, TCP + 2, c.remotePort)
        setU32(b, TCP + 4, c.sndNxt)
        setU32(b, TCP + 8, (flags & ACK) !== 0 ? c.rcvNxt : 0)
        b[TCP + 12] = ((20 + opt) >> 2) << 4
        b[TCP + 13] = flags
        setU16(b, TCP + 14, WINDOW)
        setU16(b, TCP + 16, 0)
        setU16(b, TCP + 18, 0)
        if (opt > 0) {
            b[TCP + 20] = 2
            b[TCP + 21] = 4
            setU16(b, TCP + 22, 1460)
        }
        if (len > 0) copyBytes(b, TCP + 20 + opt, data, off, len)
        setU16(b, TCP + 16, finishChecksum(onesSum(b, TCP, tcpLen, pseudoHeaderSum(this.ip, this.devIp, 6, tcpLen))))
        c.sndNxt = (c.sndNxt + len + ((flags & (SYN | FIN)) !== 0 ? 1 : 0)) >>> 0
        let n = TCP + tcpLen
        if (n < 60) {
            b.fillAt(n, 60 - n, 0)
            n = 60
        }
        this.port.transmit(b, n)
    }
}
