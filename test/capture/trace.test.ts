// `ds-tcpip trace` on known captures, line by line: the seed example,
// a Linux-to-Linux capture made with tcpdump in a namespace (with options and
// a half-close), a pcapng written by dumpcap (a client-first close, a refused
// connection, a reset), and ds-tcpip against the kernel with the stack's own
// state events beside it. The segment lines are also checked against
// tcpdump's own output when tcpdump is installed. Then the reader's formats
// (both pcap byte orders, micro- and nanoseconds, pcapng big-endian with
// simple packet blocks) and what bad input gets.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs"
import { spawnSync } from "node:child_process"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { tcpFrame, pcapOf } from "./frames.js"
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from "../../src/wire/tcp.js"
import { readCapture, CaptureError } from "../../src/host/capture.js"
import { traceCommand, analyze, traceLines } from "../../src/host/trace-file.js"
import { runCaptureCommand } from "../../src/host/capture-cli.js"
import { compareStates } from "../../src/host/state-events.js"

const FIX = "test/capture/fixtures"
const haveTcpdump = spawnSync("sh", ["-c", "command -v tcpdump"]).status === 0

const A = { src: "192.168.1.116", sport: 3337, dst: "192.168.1.123", dport: 7788 }
const B = { src: "192.168.1.123", sport: 7788, dst: "192.168.1.116", dport: 3337 }
const SEED = [
    tcpFrame({ ...A, flags: TCP_SYN, seq: 3626544836 }),
    tcpFrame({ ...B, flags: TCP_SYN | TCP_ACK, seq: 1739326486, ack: 3626544837 }),
    tcpFrame({ ...A, flags: TCP_ACK, seq: 3626544837, ack: 1739326487 }),
]

function tmp(): string {
    return mkdtempSync(join(tmpdir(), "ds-trace-"))
}

function traceOf(buf: Buffer, o: { relative?: boolean; conn?: number } = {}): string[] {
    const dir = tmp()
    try {
        writeFileSync(join(dir, "c.pcap"), buf)
        return traceCommand({ file: join(dir, "c.pcap"), ...o }).trimEnd().split("\n")
    } finally {
        rmSync(dir, { recursive: true })
    }
}

test("the seed example comes out exactly, with both endpoints' states", () => {
    assert.deepEqual(traceOf(pcapOf(SEED)), [
        "connection 1: 192.168.1.116.3337 > 192.168.1.123.7788",
        "192.168.1.116.3337: CLOSED -> SYN-SENT",
        "IP 192.168.1.116.3337 > 192.168.1.123.7788: Flags [S], seq 3626544836, win 65535, length 0",
        "192.168.1.123.7788: LISTEN -> SYN-RECEIVED",
        "IP 192.168.1.123.7788 > 192.168.1.116.3337: Flags [S.], seq 1739326486, ack 3626544837, win 65535, length 0",
        "192.168.1.116.3337: SYN-SENT -> ESTABLISHED",
        "IP 192.168.1.116.3337 > 192.168.1.123.7788: Flags [.], ack 1739326487, win 65535, length 0",
        "192.168.1.123.7788: SYN-RECEIVED -> ESTABLISHED",
        "end of capture: 192.168.1.116.3337 ESTABLISHED, 192.168.1.123.7788 ESTABLISHED",
    ])
})

/** The segment lines of a trace (what tcpdump prints), without remarks. */
function segmentLines(lines: string[]): string[] {
    return lines.filter((l) => l.startsWith("IP ")).map((l) => l.replace(/ {2}\(.*\)$/, ""))
}

function tcpdumpLines(file: string, relative: boolean): string[] {
    const r = spawnSync("tcpdump", ["-nn", "-t", ...(relative ? [] : ["-S"]), "-r", file, "tcp"], { encoding: "utf8" })
    assert.equal(r.status, 0, r.stderr)
    // without tcpdump's application-layer decoding (": HTTP: GET / HTTP/1.1" on port 80), which trace leaves out
    return r.stdout
        .trimEnd()
        .split("\n")
        .map((l) => l.replace(/(, length \d+).*$/, "$1"))
}

for (const name of ["kernel.pcap", "kernel.pcapng", "ds-kernel.pcap"]) {
    test(`trace ${name} matches its expected output line by line`, () => {
        const file = join(FIX, name)
        const got = traceCommand({ file }).split("\n")
        const want = readFileSync(file + ".txt", "utf8").split("\n")
        for (let i = 0; i < Math.max(got.length, want.length); i++) assert.equal(got[i], want[i], `line ${i + 1}`)
    })

    test(`trace ${name}: segment lines are tcpdump's, absolute and relative`, { skip: !haveTcpdump && "tcpdump not installed (apt-get install tcpdump)" }, () => {
        const file = join(FIX, name)
        // grouping by connection reorders segments; compare each connection's lines in order
        for (const relative of [false, true]) {
            const text = traceCommand({ file, relative })
            const theirs = tcpdumpLines(file, relative)
            assert.deepEqual(segmentLines(text.split("\n")).sort(), [...theirs].sort())
            // and each connection's segments in tcpdump's order
            for (const block of text.split("\n\n")) {
                const [a, b] = /^connection \d+: (\S+) > (\S+)/.exec(block).slice(1)
                const mine = (l: string) => l.startsWith("IP " + a + " > " + b + ":") || l.startsWith("IP " + b + " > " + a + ":")
                assert.deepEqual(segmentLines(block.split("\n")), theirs.filter(mine))
            }
        }
    })
}

test("the kernel captures show the shapes: options, half-close, FIN with the ACK of the other FIN, refused, reset", () => {
    const k = readFileSync(join(FIX, "kernel.pcap.txt"), "utf8")
    assert.match(k, /options \[mss 65495,sackOK,TS val \d+ ecr 0,nop,wscale 10\]/)
    // half-close: data after the client's FIN, the client in FIN-WAIT-2 all along
    const afterFin = k.slice(k.indexOf("ESTABLISHED -> CLOSE-WAIT"), k.indexOf("CLOSE-WAIT -> LAST-ACK"))
    assert.equal((afterFin.match(/length 17/g) || []).length, 3)
    const ng = readFileSync(join(FIX, "kernel.pcapng.txt"), "utf8")
    assert.match(ng, /198\.18\.1\.1\.\d+: FIN-WAIT-1 -> TIME-WAIT/)
    assert.match(ng, /Flags \[R\.\], seq 0, ack \d+, win 0, length 0\n198\.18\.1\.1\.\d+: SYN-SENT -> CLOSED/)
    assert.match(ng, /198\.18\.1\.2\.8081: ESTABLISHED -> CLOSED/)
    const ds = readFileSync(join(FIX, "ds-kernel.pcap.txt"), "utf8")
    assert.match(ds, /the inference agrees with the stack on 2 connection\(s\)/)
})

test("trace says where inference and the stack's events disagree", () => {
    const dir = tmp()
    try {
        const states = readFileSync(join(FIX, "ds-kernel.pcap.states"), "utf8").replace("ESTABLISHED -> CLOSE-WAIT", "ESTABLISHED -> FIN-WAIT-1")
        writeFileSync(join(dir, "s"), states)
        const out = traceCommand({ file: join(FIX, "ds-kernel.pcap"), states: join(dir, "s") })
        assert.match(out, /! 198\.18\.0\.2\.80: the stack went ESTABLISHED -> FIN-WAIT-1, the capture suggests ESTABLISHED -> CLOSE-WAIT/)
        assert.match(out, /1 disagreement\(s\)/)
    } finally {
        rmSync(dir, { recursive: true })
    }
})

/** The same records as another pcap flavour: big-endian and/or nanoseconds. */
function repack(le: Buffer, bigEndian: boolean, nano: boolean): Buffer {
    const out = Buffer.from(le)
    const w = (v: number, o: number) => (bigEndian ? out.writeUInt32BE(v, o) : out.writeUInt32LE(v, o))
    const w16 = (v: number, o: number) => (bigEndian ? out.writeUInt16BE(v, o) : out.writeUInt16LE(v, o))
    w(nano ? 0xa1b23c4d : 0xa1b2c3d4, 0)
    w16(2, 4)
    w16(4, 6)
    for (const o of [8, 12, 16, 20]) w(le.readUInt32LE(o), o)
    for (let o = 24; o < le.length; ) {
        const incl = le.readUInt32LE(o + 8)
        w(le.readUInt32LE(o), o)
        w(le.readUInt32LE(o + 4) * (nano ? 1000 : 1), o + 4)
        w(incl, o + 8)
        w(le.readUInt32LE(o + 12), o + 12)
        o += 16 + incl
    }
    return out
}

test("pcap in both byte orders, micro- and nanoseconds, reads the same", () => {
    const base = pcapOf(SEED, 1.5)
    const want = readCapture(base)
    for (const be of [false, true]) {
        for (const nano of [false, true]) {
            const c = readCapture(repack(base, be, nano))
            assert.equal(c.packets.length, 3)
            c.packets.forEach((p, i) => {
                assert.ok(Math.abs(p.timeMs - want.packets[i].timeMs) < 1e-6, `${be} ${nano} time ${p.timeMs}`)
                assert.deepEqual(p.data, want.packets[i].data)
            })
            assert.deepEqual(traceOf(repack(base, be, nano)), traceOf(base))
        }
    }
})

/** A pcapng block: type, length, body, length. */
function block(be: boolean, type: number, body: Buffer): Buffer {
    const pad = (4 - (body.length % 4)) % 4
    const b = Buffer.alloc(12 + body.length + pad)
    const w = (v: number, o: number) => (be ? b.writeUInt32BE(v, o) : b.writeUInt32LE(v, o))
    w(type, 0)
    w(b.length, 4)
    body.copy(b, 8)
    w(b.length, b.length - 4)
    return b
}

test("pcapng: big-endian sections, nanosecond if_tsresol, enhanced and simple packet blocks, unknown blocks skipped", () => {
    const be = true
    const u32 = (v: number) => {
        const b = Buffer.alloc(4)
        b.writeUInt32BE(v)
        return b
    }
    const shb = block(be, 0x0a0d0d0a, Buffer.concat([u32(0x1a2b3c4d), Buffer.from([0, 1, 0, 0]), Buffer.alloc(8, 0xff)]))
    // IDB: linktype 1, snaplen 0, if_tsresol = 9 (nanoseconds), end of options
    const idb = block(be, 1, Buffer.concat([Buffer.from([0, 1, 0, 0]), u32(0), Buffer.from([0, 9, 0, 1, 9, 0, 0, 0]), u32(0)]))
    const epb = (ns: bigint, f: Buffer) => block(be, 6, Buffer.concat([u32(0), u32(Number(ns >> 32n)), u32(Number(ns & 0xffffffffn)), u32(f.length), u32(f.length), f]))
    const nrb = block(be, 4, Buffer.alloc(8))
    const spb = block(be, 3, Buffer.concat([u32(SEED[2].length), SEED[2]]))
    const t0 = 1700000000123456789n
    const file = Buffer.concat([shb, idb, epb(t0, SEED[0]), nrb, epb(t0 + 2500000n, SEED[1]), spb])
    const c = readCapture(file)
    assert.equal(c.format, "pcapng")
    assert.deepEqual(c.warnings, [])
    assert.equal(c.packets.length, 3)
    assert.equal(c.packets[1].timeMs - c.packets[0].timeMs, 2.5)
    assert.ok(Number.isNaN(c.packets[2].timeMs), "a simple packet block has no time")
    assert.deepEqual(traceOf(file), traceOf(pcapOf(SEED)))
    // cut short: the packets before the cut, and a warning
    const cut = readCapture(file.subarray(0, file.length - 10))
    assert.equal(cut.packets.length, 2)
    assert.match(cut.warnings[0], /cut short/)
})

test("bad input: a one-line error or a warning, never an exception from the reader", async () => {
    assert.throws(() => readCapture(Buffer.alloc(0)), CaptureError)
    assert.throws(() => readCapture(Buffer.from("GET / HTTP/1.1\r\n\r\n")), /not a pcap or pcapng file/)
    const base = pcapOf(SEED)
    const cut = readCapture(base.subarray(0, base.length - 5))
    assert.equal(cut.packets.length, 2)
    assert.match(cut.warnings[0], /cut short in packet 3/)
    // every prefix and random damage: read or refused, nothing else
    for (let n = 0; n <= base.length; n++) {
        try {
            analyze(base.subarray(0, n))
        } catch (e) {
            assert.ok(e instanceof CaptureError, String(e))
        }
    }
    for (let i = 0; i < 300; i++) {
        const b = Buffer.from(base)
        for (let k = 0; k < 4; k++) b[24 + ((i * 7919 + k * 104729) % (b.length - 24))] ^= 1 << ((i + k) % 8)
        try {
            traceLines(analyze(b))
        } catch (e) {
            assert.ok(e instanceof CaptureError, String(e))
        }
    }
    // the command: status 1 and one line on stderr
    const errs: string[] = []
    const write = process.stderr.write
    process.stderr.write = ((s: string) => (errs.push(s), true)) as typeof process.stderr.write
    try {
        assert.equal(await runCaptureCommand(["trace", "/nonexistent.pcap"], () => {}), 1)
        assert.equal(await runCaptureCommand(["trace", join(FIX, "kernel.pcap"), "--conn", "9"], () => {}), 1)
        assert.equal(await runCaptureCommand(["trace", join(FIX, "kernel.pcap"), "--bogus"], () => {}), 1)
    } finally {
        process.stderr.write = write
    }
    assert.deepEqual(
        errs.map((e) => e.split("\n").length),
        [2, 2, 2],
    )
    assert.match(errs[1], /there is no connection 9 \(the capture has 1\)/)
})

test("--conn picks one connection, --json carries the same states", () => {
    const file = join(FIX, "kernel.pcapng")
    const two = traceCommand({ file, conn: 2 }).trimEnd().split("\n")
    assert.equal(two[0].startsWith("connection 2: "), true)
    assert.ok(!two.some((l) => l.startsWith("connection 1")))
    const j = JSON.parse(traceCommand({ file, json: true })) as { connections: { changes: { from: string; to: string }[]; final: string[] }[] }
    assert.equal(j.connections.length, 3)
    assert.deepEqual(j.connections[1].final, ["CLOSED", "CLOSED"])
    assert.deepEqual(
        j.connections[1].changes.map((c) => c.to),
        ["SYN-SENT", "CLOSED"],
    )
})

test("the tracker's shapes: simultaneous close, a capture starting mid-connection, a reset outside the window", () => {
    const C = { src: "198.18.0.1", sport: 40000, dst: "198.18.0.2", dport: 80 }
    const S = { src: "198.18.0.2", sport: 80, dst: "198.18.0.1", dport: 40000 }
    // simultaneous close: both FINs cross, each side goes through CLOSING
    const simul = [
        tcpFrame({ ...C, flags: TCP_SYN, seq: 100 }),
        tcpFrame({ ...S, flags: TCP_SYN | TCP_ACK, seq: 500, ack: 101 }),
        tcpFrame({ ...C, flags: TCP_ACK, seq: 101, ack: 501 }),
        tcpFrame({ ...C, flags: TCP_FIN | TCP_ACK, seq: 101, ack: 501 }),
        tcpFrame({ ...S, flags: TCP_FIN | TCP_ACK, seq: 501, ack: 101 }),
        tcpFrame({ ...C, flags: TCP_ACK, seq: 102, ack: 502 }),
        tcpFrame({ ...S, flags: TCP_ACK, seq: 502, ack: 102 }),
        // a duplicate of the FIN: no state change
        tcpFrame({ ...S, flags: TCP_FIN | TCP_ACK, seq: 501, ack: 102 }),
    ]
    const lines = traceOf(pcapOf(simul))
    const states = lines.filter((l) => /: [A-Z0-9-]+ -> [A-Z0-9-]+/.test(l))
    assert.deepEqual(states.slice(4), [
        "198.18.0.1.40000: ESTABLISHED -> FIN-WAIT-1",
        "198.18.0.2.80: ESTABLISHED -> FIN-WAIT-1",
        "198.18.0.1.40000: FIN-WAIT-1 -> CLOSING",
        "198.18.0.2.80: FIN-WAIT-1 -> CLOSING",
        "198.18.0.2.80: CLOSING -> TIME-WAIT",
        "198.18.0.1.40000: CLOSING -> TIME-WAIT",
    ])
    assert.match(lines[lines.length - 2], /\(retransmission\)$/)

    // mid-connection: unknown until a FIN says more; a reset outside the window is ignored
    const mid = [
        tcpFrame({ ...C, flags: TCP_ACK, seq: 1000, ack: 9000, data: 100 }),
        tcpFrame({ ...S, flags: TCP_ACK, seq: 9000, ack: 1100 }),
        tcpFrame({ ...S, flags: TCP_RST, seq: 500000 }),
        tcpFrame({ ...S, flags: TCP_FIN | TCP_ACK, seq: 9000, ack: 1100 }),
        tcpFrame({ ...C, flags: TCP_ACK, seq: 1100, ack: 9001 }),
        tcpFrame({ ...C, flags: TCP_RST | TCP_ACK, seq: 1100, ack: 9001 }),
    ]
    const m = traceOf(pcapOf(mid))
    assert.match(m[0], /state unknown: the capture starts mid-connection/)
    assert.deepEqual(
        m.filter((l) => l.includes(" -> ")),
        ["198.18.0.2.80: unknown -> FIN-WAIT-1", "198.18.0.1.40000: unknown -> CLOSE-WAIT", "198.18.0.2.80: FIN-WAIT-1 -> FIN-WAIT-2", "198.18.0.1.40000: CLOSE-WAIT -> CLOSED", "198.18.0.2.80: FIN-WAIT-2 -> CLOSED"],
    )
    assert.ok(m.some((l) => l.includes("Flags [R], seq 500000") && l.endsWith("(reset ignored by the receiver)")))
})

test("random segments: the tracker never throws, and each endpoint's changes chain (every from is the last to)", () => {
    let x = 12345
    const rnd = (n: number) => {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0
        return x % n
    }
    const FLAGS = [TCP_SYN, TCP_SYN | TCP_ACK, TCP_ACK, TCP_FIN | TCP_ACK, TCP_RST, TCP_RST | TCP_ACK, TCP_ACK, TCP_ACK]
    let changes = 0
    for (let round = 0; round < 20; round++) {
        const frames: Buffer[] = []
        const base = [1000, 5000]
        for (let i = 0; i < 200; i++) {
            const port = 40000 + rnd(3)
            const fromClient = rnd(2) === 0
            const side = fromClient ? 0 : 1
            const flags = FLAGS[rnd(FLAGS.length)]
            const seq = (base[side] + rnd(4) * 100 - (rnd(5) === 0 ? 300 : 0)) >>> 0
            const ack = (base[1 - side] + rnd(4) * 100) >>> 0
            const data = rnd(3) === 0 ? 100 : 0
            if (rnd(4) === 0) base[side] += 100
            const a = { src: "198.18.0.1", sport: port, dst: "198.18.0.2", dport: 80 }
            const b = { src: "198.18.0.2", sport: 80, dst: "198.18.0.1", dport: port }
            frames.push(tcpFrame({ ...(fromClient ? a : b), flags, seq, ack, data, win: rnd(4) === 0 ? 0 : 1000 }))
        }
        const r = analyze(pcapOf(frames, 7))
        for (const c of r.tracker.connections) {
            for (const ep of [0, 1] as const) {
                let state = c.initial[ep]
                for (const ch of c.changes.filter((h) => h.endpoint === ep)) {
                    // LISTEN is implicit: a passive endpoint is CLOSED until it answers a SYN
                    assert.ok(ch.from === state || (ch.from === "LISTEN" && state === "CLOSED"), `connection ${c.id} endpoint ${ep}: ${state} then ${ch.from} -> ${ch.to}`)
                    state = ch.to
                    changes++
                }
                assert.equal(state, c.state(ep))
            }
        }
        traceLines(r)
    }
    assert.ok(changes > 200, changes + " changes checked")
})

test("link types: raw IP, Linux cooked v1 and v2 (tcpdump -i any), BSD loopback, 802.1Q read the same", () => {
    const ip = SEED.map((f) => f.subarray(14))
    const wrap = (linktype: number, head: (i: number) => Buffer) => {
        const w = Buffer.alloc(24)
        w.writeUInt32LE(0xa1b2c3d4, 0)
        w.writeUInt16LE(2, 4)
        w.writeUInt16LE(4, 6)
        w.writeUInt32LE(65535, 16)
        w.writeUInt32LE(linktype, 20)
        const recs = ip.map((p, i) => {
            const d = Buffer.concat([head(i), p])
            const r = Buffer.alloc(16)
            r.writeUInt32LE(1700000000 + i, 0)
            r.writeUInt32LE(d.length, 8)
            r.writeUInt32LE(d.length, 12)
            return Buffer.concat([r, d])
        })
        return Buffer.concat([w, ...recs])
    }
    const sll = () => {
        const h = Buffer.alloc(16)
        h.writeUInt16BE(4, 0) // sent by us
        h.writeUInt16BE(1, 2)
        h.writeUInt16BE(6, 4)
        h.writeUInt16BE(0x0800, 14)
        return h
    }
    const sll2 = () => {
        const h = Buffer.alloc(20)
        h.writeUInt16BE(0x0800, 0)
        h.writeUInt32BE(1, 4)
        h.writeUInt16BE(1, 8)
        h[11] = 6
        return h
    }
    const vlan = (i: number) => Buffer.concat([SEED[i].subarray(0, 12), Buffer.from([0x81, 0x00, 0x00, 0x2a, 0x08, 0x00])])
    const want = traceOf(pcapOf(SEED))
    for (const [name, file] of [
        ["raw", wrap(101, () => Buffer.alloc(0))],
        ["sll", wrap(113, sll)],
        ["sll2", wrap(276, sll2)],
        ["null", wrap(0, () => Buffer.from([2, 0, 0, 0]))],
        ["vlan", wrap(1, vlan)],
    ] as [string, Buffer][]) {
        assert.deepEqual(traceOf(file), want, name)
    }
})

test("ladder: the command writes SVG or HTML of one connection, and refuses what it cannot do in one line", async () => {
    const dir = tmp()
    const errs: string[] = []
    const write = process.stderr.write
    try {
        const out: string[] = []
        assert.equal(await runCaptureCommand(["ladder", join(FIX, "kernel.pcapng"), "--conn", "2", "-o", join(dir, "c.svg")], (s) => out.push(s)), 0)
        const svg = readFileSync(join(dir, "c.svg"), "utf8")
        assert.match(svg, /^<\?xml/)
        assert.match(svg, /connection 2: 198\.18\.1\.1\.\d+ &gt; 198\.18\.1\.2\.8082/)
        assert.match(svg, /RST,ACK seq=0 ack=378476784  \[reset\]/)
        assert.equal(await runCaptureCommand(["ladder", join(FIX, "kernel.pcap"), "-o", join(dir, "c.html")], () => {}), 0)
        assert.match(readFileSync(join(dir, "c.html"), "utf8"), /^<!doctype html>[^]*<script>[^]*renderLadder/)
        process.stderr.write = ((s: string) => (errs.push(s), true)) as typeof process.stderr.write
        assert.equal(await runCaptureCommand(["ladder", join(FIX, "kernel.pcap"), "-o", join(dir, "c.png")], () => {}), 1)
        assert.equal(await runCaptureCommand(["ladder", join(FIX, "kernel.pcap")], () => {}), 1)
        assert.equal(await runCaptureCommand(["ladder", join(FIX, "kernel.pcap"), "-o", join(dir, "no", "such", "x.svg")], () => {}), 1)
    } finally {
        process.stderr.write = write
        rmSync(dir, { recursive: true })
    }
    assert.deepEqual(errs.slice(0, 2), ["ds-tcpip ladder: ladder needs -o OUT.html or -o OUT.svg\n", "ds-tcpip ladder: ladder needs -o OUT.html or -o OUT.svg\n"])
    assert.match(errs[2], /^ds-tcpip ladder: cannot write .*x\.svg: ENOENT\n$/)
})

test("compareStates: the same steps in the stack's terms agree (a SYN cookie, FIN-WAIT-2 skipped), others do not", () => {
    const r = analyze(pcapOf(SEED))
    const server = "192.168.1.123.7788"
    const client = "192.168.1.116.3337"
    const ev = (from: string, to: string) => ({ timeMs: 0, local: server, remote: client, from, to })
    assert.deepEqual(compareStates(r.tracker.connections, [ev("CLOSED", "SYN-RECEIVED"), ev("SYN-RECEIVED", "ESTABLISHED")]), [])
    assert.deepEqual(compareStates(r.tracker.connections, [ev("CLOSED", "ESTABLISHED")]), [], "a connection made from a SYN cookie")
    const d = compareStates(r.tracker.connections, [ev("CLOSED", "SYN-RECEIVED"), ev("SYN-RECEIVED", "CLOSED")])
    assert.equal(d.length, 1)
    assert.deepEqual([d[0].real, d[0].inferred, d[0].step], ["SYN-RECEIVED -> CLOSED", "SYN-RECEIVED -> ESTABLISHED", 1])
})
