// Test helpers: a driver that records frames, and builders of real frames
// from the wire emitters (so every frame a test feeds is byte-correct unless
// the test breaks it on purpose).
import { NetDriver } from "../src/driver.js"
import { Stack } from "../src/stack.js"
import { Xoshiro128 } from "../src/random.js"
import { Limits } from "../src/config.js"
import { parseIp, parseMac, copyBytes } from "../src/wire/bytes.js"
import { EthernetHeader, ETH_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, emitEthernet } from "../src/wire/ethernet.js"
import { ArpPacket, ARP_LEN, emitArp } from "../src/wire/arp.js"
import { Ipv4Header, IPV4_HEADER_LEN, emitIpv4 } from "../src/wire/ipv4.js"
import { IcmpHeader, emitIcmp } from "../src/wire/icmp.js"
import { UdpHeader, UDP_HEADER_LEN, emitUdp } from "../src/wire/udp.js"
import { TcpHeader, emitTcp, tcpHeaderLength } from "../src/wire/tcp.js"

export const ip = parseIp
export const mac = parseMac

export class CaptureDriver implements NetDriver {
    readonly mac: Buffer
    readonly mtu: number
    frames: Buffer[] = []
    constructor(macText: string, mtu = 1500) {
        this.mac = parseMac(macText)
        this.mtu = mtu
    }
    transmit(frame: Buffer, length: number): void {
        this.frames.push(Buffer.from(frame.subarray(0, length)))
    }
    take(): Buffer[] {
        const f = this.frames
        this.frames = []
        return f
    }
}

export const A_MAC = "02:00:00:00:00:01"
export const B_MAC = "02:00:00:00:00:02"
export const GW_MAC = "02:00:00:00:00:fe"
export const A_IP = "198.18.0.1"
export const B_IP = "198.18.0.2"
export const GW_IP = "198.18.0.254"

/** A stack at B_IP/24 on a capture driver, gateway GW_IP. */
export function stackB(limits?: Partial<Limits>, seed = 1): { stack: Stack; driver: CaptureDriver; logs: string[] } {
    const driver = new CaptureDriver(B_MAC)
    const logs: string[] = []
    const stack = new Stack({
        driver,
        ip: ip(B_IP),
        netmask: ip("255.255.255.0"),
        gateway: ip(GW_IP),
        random: new Xoshiro128(seed),
        log: (l) => logs.push(l),
        limits,
    })
    stack.tcp.enableSynCookies()
    stack.tcp.enableOutOfOrder()
    stack.enableUdp()
    return { stack, driver, logs }
}

export function ethFrame(dstMac: string, srcMac: string, etherType: number, payload: Buffer): Buffer {
    const h = new EthernetHeader()
    copyBytes(h.dst, 0, parseMac(dstMac), 0, 6)
    copyBytes(h.src, 0, parseMac(srcMac), 0, 6)
    h.etherType = etherType
    const f = Buffer.alloc(ETH_HEADER_LEN + payload.length)
    emitEthernet(h, f, 0)
    payload.copy(f, ETH_HEADER_LEN)
    return f
}

export function arpFrame(op: number, sha: string, spa: string, tha: string, tpa: string, dstMac = "ff:ff:ff:ff:ff:ff"): Buffer {
    const p = new ArpPacket()
    p.op = op
    copyBytes(p.sha, 0, parseMac(sha), 0, 6)
    p.spa = ip(spa)
    copyBytes(p.tha, 0, parseMac(tha), 0, 6)
    p.tpa = ip(tpa)
    const body = Buffer.alloc(ARP_LEN)
    emitArp(p, body, 0)
    return ethFrame(dstMac, sha, ETHERTYPE_ARP, body)
}

export interface IpOpts {
    protocol: number
    src: string
    dst: string
    id?: number
    ttl?: number
    moreFragments?: boolean
    fragmentOffset?: number
}

/** An IPv4 packet (20-byte header) around payload. */
export function ipPacket(o: IpOpts, payload: Buffer): Buffer {
    const h = new Ipv4Header()
    h.headerLength = IPV4_HEADER_LEN
    h.tos = 0
    h.totalLength = IPV4_HEADER_LEN + payload.length
    h.id = o.id ?? 1
    h.dontFragment = false
    h.moreFragments = o.moreFragments ?? false
    h.fragmentOffset = o.fragmentOffset ?? 0
    h.ttl = o.ttl ?? 64
    h.protocol = o.protocol
    h.src = ip(o.src)
    h.dst = ip(o.dst)
    const b = Buffer.alloc(h.totalLength)
    payload.copy(b, IPV4_HEADER_LEN)
    emitIpv4(h, b, 0)
    return b
}

export function icmpMessage(type: number, code: number, id: number, seq: number, payload: Buffer): Buffer {
    const h = new IcmpHeader()
    h.type = type
    h.code = code
    h.id = id
    h.seq = seq
    const b = Buffer.alloc(8 + payload.length)
    payload.copy(b, 8)
    emitIcmp(h, b, 0, payload.length)
    return b
}

export function udpDatagram(src: string, dst: string, srcPort: number, dstPort: number, payload: Buffer): Buffer {
    const h = new UdpHeader()
    h.srcPort = srcPort
    h.dstPort = dstPort
    h.length = UDP_HEADER_LEN + payload.length
    const b = Buffer.alloc(h.length)
    payload.copy(b, UDP_HEADER_LEN)
    emitUdp(h, b, 0, ip(src), ip(dst))
    return b
}

export interface TcpFields {
    sport: number
    dport: number
    seq: number
    ack: number
    flags: number
    window: number
    /** 0: no MSS option */
    mss: number
    payload: Buffer
}

/** A TCP segment (header, MSS option if any, payload) with its checksum for src -> dst. */
export function tcpSegment(src: string, dst: string, o: TcpFields): Buffer {
    const h = new TcpHeader()
    h.srcPort = o.sport
    h.dstPort = o.dport
    h.seq = o.seq >>> 0
    h.ack = o.ack >>> 0
    h.flags = o.flags
    h.window = o.window
    h.mss = o.mss
    const hl = tcpHeaderLength(h)
    const b = Buffer.alloc(hl + o.payload.length)
    o.payload.copy(b, hl)
    emitTcp(h, b, 0, ip(src), ip(dst), o.payload.length)
    return b
}

export function ipFrame(dstMac: string, srcMac: string, o: IpOpts, l4: Buffer): Buffer {
    return ethFrame(dstMac, srcMac, ETHERTYPE_IPV4, ipPacket(o, l4))
}

export function pattern(n: number): Buffer {
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i++) b[i] = i & 0xff
    return b
}
