// The W5500 driver (socket 0 in MACRAW) against the register-level model of
// the chip, which throws on any access the datasheet forbids.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { W5500 } from "../../src/drivers/w5500.js"
import { W5500Model } from "../../src/host/models/w5500.js"
import { SpiBus } from "../../src/drivers/spi.js"
import { parseMac } from "../../src/wire/bytes.js"

const MAC = parseMac("02:00:00:00:00:02")
const PEER = parseMac("02:00:00:00:00:01")
const MDNS = parseMac("01:00:5e:00:00:fb")

function busOf(m: W5500Model): SpiBus {
    return { xfer: async (tx: Buffer, rx: Buffer) => m.transfer(tx, rx), sleep: async () => {} }
}

class Sink {
    frames: Buffer[] = []
    receive(frame: Buffer, now: number, length?: number) {
        this.frames.push(Buffer.from(frame.subarray(0, length ?? frame.length)))
    }
}

function frame(dst: Buffer, length: number, seq: number): Buffer {
    const f = Buffer.alloc(length)
    dst.copy(f, 0)
    PEER.copy(f, 6)
    f.writeUInt16BE(0x88b5, 12)
    for (let i = 14; i < length; i++) f[i] = (i * 13 + seq) & 0xff
    f.writeUInt16BE(seq, 14)
    return f
}

async function setup(multicast: Buffer[] = []) {
    const model = new W5500Model()
    const sent: Buffer[] = []
    model.onTransmit = (f) => sent.push(f)
    const drv = new W5500(busOf(model), MAC, 4)
    for (const m of multicast) drv.addMulticast(m)
    assert.equal(await drv.init(), true)
    return { model, drv, sent, sink: new Sink() }
}

async function drain(drv: W5500, model: W5500Model, sink: Sink) {
    for (let i = 0; i < 1000 && (model.received() > 0 || drv.pending() > 0); i++) await drv.service(sink, 0, 4)
    await drv.service(sink, 0, 4)
}

test("init: reset, version, MAC, 16 KB buffers to socket 0, MACRAW open, link", async () => {
    const { model, drv } = await setup()
    assert.deepEqual(model.errors, [])
    assert.deepEqual(model.mac(), MAC)
    assert.equal(drv.link, true)
    assert.ok(drv.counters.spiTransfers < 40, `${drv.counters.spiTransfers} transfers`)
})

test("no chip: init says so", async () => {
    const dead: SpiBus = { xfer: async (tx: Buffer, rx: Buffer) => void (rx && rx.fill(0xff)), sleep: async () => {} }
    assert.equal(await new W5500(dead, MAC).init(), false)
})

test("many frames both ways, every size, across the 16 KB buffers' wrap and the 16-bit pointers' wrap", async () => {
    const { model, drv, sent, sink } = await setup()
    const expectRx: Buffer[] = []
    const expectTx: Buffer[] = []
    for (let i = 0; i < 400; i++) {
        const f = frame(MAC, 60 + ((i * 397) % 1455), i)
        assert.equal(model.receive(f), true, `frame ${i}`)
        expectRx.push(f)
        const t = frame(PEER, 60 + ((i * 211) % 1455), 1000 + i)
        drv.transmit(t, t.length)
        expectTx.push(t)
        if (i % 4 === 3) await drain(drv, model, sink)
    }
    await drain(drv, model, sink)
    assert.deepEqual(model.errors, [])
    assert.equal(drv.counters.rxResets, 0, JSON.stringify(drv.counters))
    assert.equal(sink.frames.length, expectRx.length)
    for (let i = 0; i < expectRx.length; i++) assert.ok(sink.frames[i].equals(expectRx[i]), `rx frame ${i}`)
    assert.equal(sent.length, expectTx.length)
    for (let i = 0; i < expectTx.length; i++) assert.ok(sent[i].equals(expectTx[i]), `tx frame ${i}`)
    // > 64 KB each way: the 16-bit pointers wrapped too
    assert.ok(expectRx.reduce((n, f) => n + f.length, 0) > 65536 * 3)
    assert.equal(drv.counters.rxResets + drv.counters.txQueueFull, 0)
})

test("receive buffer full: frames are lost on the chip, and reception goes on once read", async () => {
    const { model, drv, sink } = await setup()
    let taken = 0
    for (let i = 0; i < 20; i++) if (model.receive(frame(MAC, 1514, i))) taken++
    assert.ok(taken >= 10 && taken < 20, `${taken} taken`)
    assert.ok(model.stats.rxLost > 0)
    await drain(drv, model, sink)
    assert.equal(sink.frames.length, taken)
    for (let i = 0; i < 20; i++) {
        assert.equal(model.receive(frame(MAC, 900, 100 + i)), true)
        await drv.service(sink, 0, 4)
    }
    await drain(drv, model, sink)
    assert.equal(sink.frames.length, taken + 20)
    assert.deepEqual(model.errors, [])
})

test("link down and up: PHYCFGR.LNK, counted; nothing sent while down", async () => {
    const { model, drv, sent, sink } = await setup()
    model.setLink(false)
    for (let i = 0; i < 70; i++) await drv.service(sink, 0, 4)
    assert.equal(drv.link, false)
    assert.equal(drv.counters.linkChanges, 1)
    const t = frame(PEER, 200, 2)
    drv.transmit(t, t.length)
    await drv.service(sink, 0, 4)
    assert.equal(sent.length, 0)
    model.setLink(true)
    for (let i = 0; i < 70; i++) await drv.service(sink, 0, 4)
    assert.equal(drv.link, true)
    assert.equal(drv.counters.linkChanges, 2)
    assert.equal(sent.length, 1)
    assert.deepEqual(model.errors, [])
})

test("MAC filter: unicast to us and broadcast pass; multicast only once a group is joined; other unicast never", async () => {
    const none = await setup()
    assert.equal(none.model.receive(frame(MDNS, 80, 1)), false)
    assert.equal(none.model.receive(frame(Buffer.from("ffffffffffff", "hex"), 80, 2)), true)
    assert.equal(none.model.receive(frame(parseMac("02:00:00:00:00:09"), 80, 3)), false)
    const joined = await setup([MDNS])
    assert.equal(joined.model.receive(frame(MDNS, 80, 4)), true)
    assert.equal(joined.model.receive(frame(parseMac("33:33:00:00:00:01"), 80, 5)), false, "IPv6 multicast stays blocked")
    await drain(joined.drv, joined.model, joined.sink)
    assert.deepEqual(
        joined.sink.frames.map((f) => f.readUInt16BE(14)),
        [4],
    )
})

test("the model is strict: forbidden accesses throw and are recorded", () => {
    const m = new W5500Model()
    assert.throws(() => m.transfer(Buffer.from([0, 0x39]), null), /control phase/)
    assert.throws(() => m.transfer(Buffer.from([0, 0x39, 0x04, 5]), null), /read-only VERSIONR/)
    assert.throws(() => m.transfer(Buffer.from([0, 0x00, 0x20, 0]), null), /reserved block/)
    assert.throws(() => m.transfer(Buffer.from([0, 0x00, 0x01, 0, 0]), null), /fixed-length/)
    assert.throws(() => m.transfer(Buffer.from([0, 0x1e, 0x0c, 16]), null), /add up/) // socket 0 RX 16 KB while the others have 2
    assert.throws(() => m.transfer(Buffer.from([0, 0x01, 0x0c, 0x20]), null), /not open/) // SEND on a closed socket
    assert.equal(m.errors.length, 6)
})
