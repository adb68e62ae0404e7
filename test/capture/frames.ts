// Frames for capture tests, built with the wire emitters (real checksums).
import { EthernetHeader, ETHERTYPE_IPV4, ETH_HEADER_LEN, emitEthernet } from "../../src/wire/ethernet.js"
import { Ipv4Header, emitIpv4, IP_PROTO_TCP } from "../../src/wire/ipv4.js"
import { TcpHeader, emitTcp, tcpHeaderLength } from "../../src/wire/tcp.js"
import { parseIp } from "../../src/wire/bytes.js"
import { PcapWriter } from "../../src/host/sim/pcap.js"

export interface SegSpec {
    src: string
    sport: number
    dst: string
    dport: number
    flags: number
    seq: number
    ack?: number
    win?: number
    data?: number
    mss?: number
}

/** One Ethernet frame holding the segment (payload bytes are zeros). */
export function tcpFrame(s: SegSpec): Buffer {
    const h = new TcpHeader()
    h.srcPort = s.sport
    h.dstPort = s.dport
    h.seq = s.seq >>> 0
    h.ack = (s.ack ?? 0) >>> 0
    h.flags = s.flags
    h.window = s.win ?? 65535
    h.mss = s.mss ?? 0
    const hl = tcpHeaderLength(h)
    const data = s.data ?? 0
    const frame = Buffer.alloc(ETH_HEADER_LEN + 20 + hl + data)
    const eth = new EthernetHeader()
    eth.dst = Buffer.from([2, 0, 0, 0, 0, 2])
    eth.src = Buffer.from([2, 0, 0, 0, 0, 1])
    eth.etherType = ETHERTYPE_IPV4
    emitEthernet(eth, frame, 0)
    const ip = new Ipv4Header()
    ip.totalLength = 20 + hl + data
    ip.protocol = IP_PROTO_TCP
    ip.dontFragment = true
    ip.src = parseIp(s.src)
    ip.dst = parseIp(s.dst)
    emitTcp(h, frame, ETH_HEADER_LEN + 20, ip.src, ip.dst, data)
    emitIpv4(ip, frame, ETH_HEADER_LEN)
    return frame
}

/** A pcap (microseconds, little-endian) of the frames, `stepMs` apart. */
export function pcapOf(frames: Buffer[], stepMs = 1, epochMs = 1700000000000): Buffer {
    const w = new PcapWriter({ epochMs })
    frames.forEach((f, i) => w.write(i * stepMs, f))
    return w.toBuffer()
}
