// The ENC28J60 driver against the register-level model of the chip: the
// model throws on any access the datasheet forbids, so every test here also
// checks that the driver never makes one.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { Enc28j60, encHashIndex } from "../../src/drivers/enc28j60.js"
import { Enc28j60Model, hashIndex } from "../../src/host/models/enc28j60.js"
import { SpiBus } from "../../src/drivers/spi.js"
import { parseMac } from "../../src/wire/bytes.js"

const MAC = parseMac("02:00:00:00:00:02")
const PEER = parseMac("02:00:00:00:00:01")
const MDNS = parseMac("01:00:5e:00:00:fb")

function busOf(m: Enc28j60Model): SpiBus {
    return {
        xfer: async (tx: Buffer, rx: Buffer) => m.transfer(tx, rx),
        sleep: async () => {},
    }
}

class Sink {
    frames: Buffer[] = []
    receive(frame: Buffer, now: number, length?: number) {
        this.frames.push(Buffer.from(frame.subarray(0, length ?? frame.length)))
    }
}

/** A frame to `dst` of `length` bytes whose payload encodes `seq`. */
function frame(dst: Buffer, length: number, seq: number): Buffer {
    const f = Buffer.alloc(length)
    dst.copy(f, 0)
    PEER.copy(f, 6)
    f.writeUInt16BE(0x88b5, 12) // local experimental EtherType
    for (let i = 14; i < length; i++) f[i] = (i * 7 + seq) & 0xff
    f.writeUInt16BE(seq, 14)
    return f
}

async function setup(multicast: Buffer[] = []) {
    const model = new Enc28j60Model()
    const sent: Buffer[] = []
    model.onTransmit = (f) => sent.push(f)
    const drv = new Enc28j60(busOf(model), MAC, 4)
    for (const m of multicast) drv.addMulticast(m)
    assert.equal(await drv.init(), true)
    return { model, drv, sent, sink: new Sink() }
}

/** Services the driver until nothing is left to do (bounded). */
async function drain(drv: Enc28j60, model: Enc28j60Model, sink: Sink) {
    for (let i = 0; i < 1000 && (model.packetCount() > 0 || drv.pending() > 0 || model.interrupt()); i++) await drv.service(sink, 0, 4)
    await drv.service(sink, 0, 4)
}

test("init: reset, clock ready, MAC address, filters, full duplex, link, reception on", async () => {
    const { model, drv } = await setup()
    assert.deepEqual(model.errors, [])
    assert.equal(drv.revision, 6)
    assert.deepEqual(model.mac(), MAC)
    assert.equal(drv.link, true)
    assert.ok(drv.counters.spiTransfers > 20 && drv.counters.spiTransfers < 120, `${drv.counters.spiTransfers} transfers`)
    // a frame for us is taken into the ring now
    assert.equal(model.receive(frame(MAC, 60, 1)), true)
})

test("no chip: init says so", async () => {
    const dead: SpiBus = { xfer: async (tx: Buffer, rx: Buffer) => void (rx && rx.fill(0xff)), sleep: async () => {} }
    assert.equal(await new Enc28j60(dead, MAC).init(), false)
})

test("many frames both ways, every size, across the receive ring's wrap", async () => {
    const { model, drv, sent, sink } = await setup()
    const sizes: number[] = []
    for (let i = 0; i < 300; i++) sizes.push(60 + ((i * 397) % (1514 - 60 + 1)))
    sizes.push(1514, 60, 61, 95, 96, 97, 98)
    const expectRx: Buffer[] = []
    const expectTx: Buffer[] = []
    for (let i = 0; i < sizes.length; i++) {
        const f = frame(MAC, sizes[i], i)
        assert.equal(model.receive(f), true, `frame ${i} taken`)
        expectRx.push(f)
        const t = frame(PEER, sizes[sizes.length - 1 - i], 1000 + i)
        drv.transmit(t, t.length)
        expectTx.push(t)
        // two frames in flight each way per turn, so the ring holds several
        if (i % 3 === 2) await drain(drv, model, sink)
    }
    await drain(drv, model, sink)
    assert.deepEqual(model.errors, [])
    assert.equal(sink.frames.length, expectRx.length)
    for (let i = 0; i < expectRx.length; i++) assert.ok(sink.frames[i].equals(expectRx[i]), `rx frame ${i} (${expectRx[i].length} B)`)
    assert.equal(sent.length, expectTx.length)
    for (let i = 0; i < expectTx.length; i++) assert.ok(sent[i].equals(expectTx[i]), `tx frame ${i}`)
    // the ring is 6.5 KB and more than 200 KB went through it
    const total = expectRx.reduce((n, f) => n + f.length, 0)
    assert.ok(total > 30 * 6656, `${total} bytes`)
    assert.equal(drv.counters.rxFrames, expectRx.length)
    assert.equal(drv.counters.txFrames, expectTx.length)
    assert.equal(drv.counters.rxOverflows + drv.counters.rxErrors + drv.counters.rxResets + drv.counters.txQueueFull, 0)
})

test("receive overflow: frames that do not fit are lost, counted, and reception goes on", async () => {
    const { model, drv, sink } = await setup()
    let taken = 0
    for (let i = 0; i < 10; i++) if (model.receive(frame(MAC, 1514, i))) taken++
    assert.ok(taken >= 3 && taken < 10, `${taken} taken`)
    assert.ok(model.stats.rxLost > 0)
    assert.ok(model.interrupt(), "RXERIF raises INT")
    await drain(drv, model, sink)
    assert.equal(drv.counters.rxOverflows, 1)
    assert.equal(sink.frames.length, taken)
    for (let i = 0; i < taken; i++) assert.equal(sink.frames[i].readUInt16BE(14), i)
    // and afterwards everything flows again
    for (let i = 0; i < 20; i++) {
        assert.equal(model.receive(frame(MAC, 800, 100 + i)), true)
        await drv.service(sink, 0, 4)
    }
    assert.equal(sink.frames.length, taken + 20)
    assert.equal(drv.counters.rxOverflows, 1)
    assert.deepEqual(model.errors, [])
})

test("a corrupt next-packet pointer resets the receive logic instead of walking garbage", async () => {
    const { model, drv, sink } = await setup()
    assert.equal(model.receive(frame(MAC, 100, 1)), true)
    model.mem[0] = 0x01 // next pointer of the first frame: odd, which the chip never writes
    await drain(drv, model, sink)
    assert.equal(drv.counters.rxResets, 1)
    assert.equal(sink.frames.length, 0)
    for (let i = 0; i < 5; i++) assert.equal(model.receive(frame(MAC, 300, 10 + i)), true)
    await drain(drv, model, sink)
    assert.deepEqual(
        sink.frames.map((f) => f.readUInt16BE(14)),
        [10, 11, 12, 13, 14],
    )
    assert.deepEqual(model.errors, [])
})

test("link down and up: seen through LINKIF and PHSTAT2, counted; nothing is sent or received while down", async () => {
    const { model, drv, sent, sink } = await setup()
    model.setLink(false)
    assert.ok(model.interrupt())
    await drv.service(sink, 0, 4)
    assert.equal(drv.link, false)
    assert.equal(drv.counters.linkChanges, 1)
    assert.equal(model.receive(frame(MAC, 60, 1)), false)
    const t = frame(PEER, 200, 2)
    drv.transmit(t, t.length)
    await drv.service(sink, 0, 4)
    assert.equal(sent.length, 0, "held while the link is down")
    model.setLink(true)
    await drain(drv, model, sink)
    assert.equal(drv.link, true)
    assert.equal(drv.counters.linkChanges, 2)
    assert.equal(sent.length, 1)
    assert.ok(sent[0].equals(t))
    assert.equal(model.receive(frame(MAC, 60, 3)), true)
    await drain(drv, model, sink)
    assert.equal(sink.frames.length, 1)
    assert.deepEqual(model.errors, [])
})

test("transmit error: counted, the transmit logic reset (errata #12), the next frames go out", async () => {
    const { model, drv, sent, sink } = await setup()
    model.failNextTransmit()
    for (let i = 0; i < 3; i++) {
        const t = frame(PEER, 100 + i, i)
        drv.transmit(t, t.length)
    }
    await drain(drv, model, sink)
    assert.equal(drv.counters.txErrors, 1)
    assert.equal(model.stats.txFailed, 1)
    assert.deepEqual(
        sent.map((f) => f.readUInt16BE(14)),
        [1, 2],
    )
    assert.deepEqual(model.errors, [])
})

test("a full transmit queue drops and counts; oversized frames are refused", async () => {
    const { drv } = await setup()
    const t = frame(PEER, 600, 1)
    for (let i = 0; i < 6; i++) drv.transmit(t, t.length)
    assert.equal(drv.pending(), 4)
    assert.equal(drv.counters.txQueueFull, 2)
    drv.transmit(Buffer.alloc(1600), 1515)
    assert.equal(drv.counters.txTooBig, 1)
})

test("multicast filter: joined groups and broadcast pass, other groups and other unicast do not", async () => {
    const other = parseMac("01:00:5e:00:00:01")
    assert.notEqual(hashIndex(other), hashIndex(MDNS), "test groups must not share a hash bit")
    assert.equal(encHashIndex(MDNS, 0), hashIndex(MDNS), "driver and model agree on the hash")
    const { model, drv, sink } = await setup([MDNS])
    assert.equal(model.receive(frame(MDNS, 80, 1)), true)
    assert.equal(model.receive(frame(Buffer.from("ffffffffffff", "hex"), 80, 2)), true)
    assert.equal(model.receive(frame(other, 80, 3)), false)
    assert.equal(model.receive(frame(parseMac("02:00:00:00:00:09"), 80, 4)), false)
    await drain(drv, model, sink)
    assert.deepEqual(
        sink.frames.map((f) => f.readUInt16BE(14)),
        [1, 2],
    )
    assert.equal(model.stats.rxFiltered, 2)
})

test("the model is strict: forbidden accesses throw and are recorded", () => {
    const m = new Enc28j60Model()
    assert.throws(() => m.transfer(Buffer.from([0x40 | 0x1d, 0]), null), /read-only/) // WCR ESTAT
    assert.throws(() => m.transfer(Buffer.from([0x40 | 0x1f, 1, 2]), null), /one register/) // WCR of two bytes
    m.transfer(Buffer.from([0x80 | 0x1f, 0x02]), null) // BFS ECON1 bank 2
    assert.throws(() => m.transfer(Buffer.from([0x00, 0]), Buffer.alloc(2)), /MAC\/MII/) // RCR MACON1 without the dummy byte
    assert.throws(() => m.transfer(Buffer.from([0x80, 0x01]), null), /BFS\/BFC on MAC/) // BFS MACON1
    m.transfer(Buffer.from([0xa0 | 0x1f, 0x03]), null) // back to bank 0
    m.transfer(Buffer.from([0x40 | 0x0c, 0x10]), null) // ERXRDPTL
    assert.throws(() => m.transfer(Buffer.from([0x40 | 0x0d, 0x00]), null), /even/) // ERXRDPTH -> 0x0010
    assert.throws(() => m.transfer(Buffer.from([0x40 | 0x01, 0x20]), null), /outside/) // ERDPTH 0x20
    assert.throws(() => m.transfer(Buffer.from([0xc0 | 0x06, 0]), null), /not defined/)
    assert.equal(m.errors.length, 7)
})
