// pcap files: a round trip through our reader, and tshark reading a capture
// the simulator wrote of hand-made Ethernet/IPv4/ICMP frames.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PcapWriter, readPcap, readPcapFile, LINKTYPE_ETHERNET } from "../../src/host/sim/pcap.js"
import { Simulator, SimEndpoint } from "../../src/host/sim/network.js"
import { NetDriver } from "../../src/driver.js"
import { internetChecksum } from "../../src/wire/checksum.js"
import { mac } from "./fakes.js"

test("pcap round trip: header, microsecond timestamps, bytes, snaplen", () => {
    const w = new PcapWriter()
    const f1 = Buffer.from("00112233445566778899aabb0800", "hex")
    const f2 = Buffer.alloc(1514, 7)
    w.write(0, f1)
    w.write(1234.5678, f2)
    w.write(3_600_000.001, f2, 100)
    const buf = w.toBuffer()
    assert.equal(buf.readUInt32LE(0), 0xa1b2c3d4)
    assert.equal(buf.readUInt16LE(4), 2)
    assert.equal(buf.readUInt16LE(6), 4)
    assert.equal(buf.readUInt32LE(16), 65535)
    assert.equal(buf.readUInt32LE(20), LINKTYPE_ETHERNET)
    const file = readPcapFile(buf)
    assert.equal(file.linktype, 1)
    assert.equal(file.snaplen, 65535)
    const rs = readPcap(buf)
    assert.equal(rs.length, 3)
    assert.equal(w.count, 3)
    assert.deepEqual(rs[0].frame, f1)
    assert.equal(rs[0].timeMs, 0)
    assert.equal(rs[1].timeMs, 1234.568) // microsecond resolution
    assert.deepEqual(rs[1].frame, f2)
    assert.equal(rs[2].timeMs, 3_600_000.001)
    assert.equal(rs[2].frame.length, 100)
    // seconds and microseconds fields
    const o = 24 + 16 + f1.length
    assert.equal(buf.readUInt32LE(o), 1)
    assert.equal(buf.readUInt32LE(o + 4), 234568)

    const small = new PcapWriter({ snaplen: 64, epochMs: 1_700_000_000_000 })
    small.write(1.5, f2)
    const [r] = readPcap(small.toBuffer())
    assert.equal(r.frame.length, 64)
    assert.equal(r.origLength, 1514)
    assert.equal(r.timeMs, 1_700_000_000_001.5)
    assert.throws(() => readPcap(Buffer.alloc(24)), /magic/)
})

// ---- hand-made ICMP echo over the simulator, opened by tshark ----

const MA = mac("02:00:00:00:00:01")
const MB = mac("02:00:00:00:00:02")
const IPA = [198, 18, 0, 1]
const IPB = [198, 18, 0, 2]

function icmpEcho(dstMac: Buffer, srcMac: Buffer, src: number[], dst: number[], type: number, id: number, seq: number, payload: Buffer): Buffer {
    const f = Buffer.alloc(14 + 20 + 8 + payload.length)
    dstMac.copy(f, 0)
    srcMac.copy(f, 6)
    f.writeUInt16BE(0x0800, 12)
    const ip = 14
    f[ip] = 0x45
    f.writeUInt16BE(20 + 8 + payload.length, ip + 2)
    f.writeUInt16BE(id ^ seq, ip + 4)
    f.writeUInt16BE(0x4000, ip + 6) // DF
    f[ip + 8] = 64
    f[ip + 9] = 1
    Buffer.from(src).copy(f, ip + 12)
    Buffer.from(dst).copy(f, ip + 16)
    f.writeUInt16BE(internetChecksum(f, ip, 20), ip + 10)
    const ic = ip + 20
    f[ic] = type
    f.writeUInt16BE(id, ic + 4)
    f.writeUInt16BE(seq, ic + 6)
    payload.copy(f, ic + 8)
    f.writeUInt16BE(internetChecksum(f, ic, 8 + payload.length), ic + 2)
    return f
}

/** Answers ICMP echo requests addressed to it; pings its peer on a timer. */
class Pinger implements SimEndpoint {
    replies = 0
    private next = -1
    private seq = 0
    constructor(
        readonly driver: NetDriver,
        readonly ip: number[],
        readonly peerMac: Buffer,
        readonly peerIp: number[],
        pings: number,
    ) {
        if (pings > 0) this.next = 0
        this.left = pings
    }
    private left: number
    receive(f: Buffer, now: number): void {
        if (f.readUInt16BE(12) !== 0x0800 || f[23] !== 1) return
        const len = f.readUInt16BE(16) - 28
        const payload = f.subarray(42, 42 + len)
        if (f[34] === 8) {
            const r = icmpEcho(f.subarray(6, 12), this.driver.mac, this.ip, [...f.subarray(26, 30)], 0, f.readUInt16BE(38), f.readUInt16BE(40), payload)
            this.driver.transmit(r, r.length)
        } else if (f[34] === 0) this.replies++
    }
    poll(now: number): void {
        if (this.next >= 0 && now >= this.next) {
            const p = Buffer.alloc(32)
            for (let i = 0; i < 32; i++) p[i] = 0x61 + (i % 23)
            const r = icmpEcho(this.peerMac, this.driver.mac, this.ip, this.peerIp, 8, 0x1234, this.seq++, p)
            this.driver.transmit(r, r.length)
            this.left--
            this.next = this.left > 0 ? now + 1000 : -1
        }
    }
    nextDeadline(): number {
        return this.next
    }
}

function haveTshark(): boolean {
    const r = spawnSync("tshark", ["-v"], { encoding: "utf8" })
    return !r.error && r.status === 0
}

test("tshark reads a simulator capture of ICMP echo without complaint", (t) => {
    if (!haveTshark()) {
        t.skip("tshark not installed (apt-get install -y tshark)")
        return
    }
    const sim = new Simulator()
    const a = sim.addHost("a", MA, (d) => new Pinger(d, IPA, MB, IPB, 3), { impairments: { delayMs: 0.25 } })
    sim.addHost("b", MB, (d) => new Pinger(d, IPB, MA, IPA, 0), { impairments: { delayMs: 0.25 } })
    const w = new PcapWriter({ epochMs: Date.UTC(2024, 0, 1) })
    sim.capture("a", w)
    sim.runUntilIdle(10_000)
    assert.equal(a.endpoint.replies, 3)
    assert.equal(w.count, 6)

    const dir = mkdtempSync(join(tmpdir(), "ds-tcpip-pcap-"))
    try {
        const path = join(dir, "icmp.pcap")
        w.writeFile(path)
        assert.deepEqual(readFileSync(path), w.toBuffer())
        const v = spawnSync("tshark", ["-r", path, "-V", "-o", "ip.check_checksum:TRUE"], { encoding: "utf8" })
        assert.equal(v.status, 0, v.stderr)
        assert.doesNotMatch(v.stdout, /Malformed/i)
        assert.doesNotMatch(v.stdout, /incorrect|Bad checksum/i)
        assert.match(v.stdout, /Echo \(ping\) request/)
        assert.match(v.stdout, /Echo \(ping\) reply/)
        assert.match(v.stdout, /198\.18\.0\.2/)
        const s = spawnSync("tshark", ["-r", path, "-q", "-z", "expert"], { encoding: "utf8" })
        assert.equal(s.status, 0, s.stderr)
        assert.doesNotMatch(s.stdout, /Malformed|Error/i)
        const summary = spawnSync("tshark", ["-r", path], { encoding: "utf8" })
        assert.equal(summary.stdout.trim().split("\n").length, 6)
        assert.doesNotMatch(summary.stdout, /no response found/)
    } finally {
        rmSync(dir, { recursive: true, force: true })
    }
})
