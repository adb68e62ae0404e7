// A packet-level rig for the TCP engine (smoltcp style): stack B at
// 198.18.0.2 on a capture driver, a scripted peer A at 198.18.0.1 that the
// test plays by hand, and explicit time at every step.
import assert from "node:assert/strict"
import { Stack } from "../../src/stack.js"
import { Limits } from "../../src/config.js"
import { Reason } from "../../src/wire/reason.js"
import { TcpHeader, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, parseTcp } from "../../src/wire/tcp.js"
import { Ipv4Header, IP_PROTO_TCP, parseIpv4 } from "../../src/wire/ipv4.js"
import { TcpConnection } from "../../src/tcp/connection.js"
import { TcpState, TCP_STATE_NAMES } from "../../src/tcp/state.js"
import { ARP_REQUEST } from "../../src/wire/arp.js"
import { A_IP, A_MAC, B_IP, B_MAC, arpFrame, ipFrame, stackB, tcpSegment, CaptureDriver } from "../helpers.js"

export interface SegOut {
    flags: string
    seq: number
    ack: number
    window: number
    mss: number
    data: Buffer
    sport: number
    dport: number
}

export interface SegIn {
    sport?: number
    dport?: number
    seq: number
    ack?: number
    flags: string
    window?: number
    mss?: number
    data?: Buffer | string
}

const FLAG_CHARS: [string, number][] = [
    ["S", TCP_SYN],
    ["F", TCP_FIN],
    ["R", TCP_RST],
    ["P", TCP_PSH],
    [".", TCP_ACK],
]

/** tcpdump's letters: "S", "S.", ".", "P.", "F.", "R", "R." */
export function flagText(f: number): string {
    let s = ""
    for (const [c, bit] of FLAG_CHARS) if (f & bit) s += c
    return s
}

function flagBits(s: string): number {
    let f = 0
    for (const [c, bit] of FLAG_CHARS) if (s.includes(c)) f |= bit
    return f
}

export const PEER_PORT = 40000

export class Rig {
    readonly stack: Stack
    readonly driver: CaptureDriver
    readonly logs: string[]
    now = 0

    constructor(limits?: Partial<Limits>) {
        const b = stackB(limits)
        this.stack = b.stack
        this.driver = b.driver
        this.logs = b.logs
        // B learns A's MAC from A's ARP request, so TCP output is not held for ARP
        this.stack.receive(arpFrame(ARP_REQUEST, A_MAC, A_IP, "00:00:00:00:00:00", B_IP), 0)
        this.driver.take()
    }

    get tcp() {
        return this.stack.tcp
    }

    at(t: number): this {
        this.now = t
        this.stack.poll(t)
        return this
    }

    /** Feeds a segment from A. */
    send(o: SegIn): void {
        const payload = typeof o.data === "string" ? Buffer.from(o.data) : o.data || Buffer.alloc(0)
        const seg = tcpSegment(A_IP, B_IP, {
            sport: o.sport ?? PEER_PORT,
            dport: o.dport ?? 80,
            seq: o.seq,
            ack: o.ack ?? 0,
            flags: flagBits(o.flags),
            window: o.window ?? 65535,
            mss: o.mss ?? 0,
            payload,
        })
        this.stack.receive(ipFrame(B_MAC, A_MAC, { protocol: IP_PROTO_TCP, src: A_IP, dst: B_IP }, seg), this.now)
    }

    /** Segments B sent since the last call. */
    recv(): SegOut[] {
        const out: SegOut[] = []
        for (const f of this.driver.take()) {
            const iph = new Ipv4Header()
            assert.equal(parseIpv4(f, 14, f.length - 14, iph), Reason.Ok)
            assert.equal(iph.protocol, IP_PROTO_TCP, "only TCP expected")
            const t = new TcpHeader()
            const len = iph.totalLength - iph.headerLength
            assert.equal(parseTcp(f, 34, len, iph.src, iph.dst, t), Reason.Ok, "B's segment must parse with a valid checksum")
            out.push({
                flags: flagText(t.flags),
                seq: t.seq,
                ack: t.ack,
                window: t.window,
                mss: t.mss,
                data: Buffer.from(f.subarray(34 + t.headerLength, 34 + len)),
                sport: t.srcPort,
                dport: t.dstPort,
            })
        }
        return out
    }

    /** Exactly one segment, with the fields given. */
    expect(want: Partial<Omit<SegOut, "data">> & { data?: string | Buffer }): SegOut {
        const segs = this.recv()
        assert.equal(segs.length, 1, "one segment expected, got " + JSON.stringify(segs.map((s) => s.flags + " " + s.seq + ":" + s.ack + " len " + s.data.length)))
        const s = segs[0]
        for (const k of Object.keys(want) as (keyof SegOut)[]) {
            if (k === "data") assert.equal(s.data.toString("latin1"), Buffer.from(want.data as any).toString("latin1"), "data")
            else assert.equal(s[k], (want as any)[k], k)
        }
        return s
    }

    expectNothing(): void {
        const segs = this.recv()
        assert.equal(segs.length, 0, "nothing expected, got " + JSON.stringify(segs.map((s) => s.flags + " " + s.seq + ":" + s.ack)))
    }

    state(c: TcpConnection): string {
        return TCP_STATE_NAMES[c.state]
    }

    /** Every test ends here: no connection may be left allocated (lwIP's leak check). */
    assertPoolEmpty(): void {
        assert.equal(this.tcp.inUseCount(), 0, "connections still in use: " + JSON.stringify(this.tcp.countByState()))
        assert.equal(this.stack.counters.drops[Reason.InternalError], 0)
    }
}

export const ISS_B = 1739326486
export const ISS_A = 3626544836

/** A listener on 80 and an ESTABLISHED, accepted connection from A (ISS_A) with B's ISS fixed to ISS_B. */
export function established(limits?: Partial<Limits>, peerMss = 1460, iss = ISS_B): { rig: Rig; conn: TcpConnection } {
    const rig = new Rig(limits)
    rig.tcp.isn = () => iss
    const l = rig.tcp.listen(80, 0)
    rig.send({ seq: ISS_A, flags: "S", mss: peerMss })
    rig.expect({ flags: "S.", seq: iss, ack: ISS_A + 1 })
    rig.send({ seq: ISS_A + 1, ack: iss + 1, flags: "." })
    rig.expectNothing()
    const conn = rig.tcp.accept(l)
    assert.ok(conn)
    assert.equal(conn.state, TcpState.Established)
    return { rig, conn }
}
