// The firmware's bytecode in the DeviceScript VM driving a model of either
// chip on its SPI bus (ds.spiXfer reaches the model through
// src/host/vm/spi-hook.ts), with a Node Stack on the other end of the model's
// wire, all on the VM's virtual time: ARP, ping, HTTP GET and POST, link down
// and up. Without "ethChip" in its configuration the firmware finds the chip
// by asking; with it, it opens that chip only.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { createHash } from "node:crypto"
import { buildDevice } from "../../src/host/vm/build.js"
import { withImageConfig } from "../../src/host/vm/dcfg.js"
import { CHIPS, FIRMWARE_ENTRY } from "../../src/host/device-runner.js"
import { VmRig } from "../../src/host/vm-rig.js"
import { macToString, parseIp } from "../../src/wire/bytes.js"

// one firmware for both chips
const firmware = buildDevice(FIRMWARE_ENTRY)
firmware.catch(() => {})

for (const chip of CHIPS) {
test(`the firmware in the VM, on the ${chip} model: ARP, ping, GET /, /bytes/100000, POST /echo, link down and up`, async () => {
    const rig = await VmRig.create(chip, (await firmware).bytecode, "198.18.0.2")
    // the firmware leases its address from the peer's DHCP server, then says where it is
    assert.equal(await rig.lease(), "address 198.18.0.2: http://ds-tcpip.local/")
    assert.match(rig.vm.output.join("\n"), chip === "w5500" ? /eth: W5500, link up/ : /eth: ENC28J60 rev 6, link up/)
    // the chip got the MAC address the firmware announces
    const hello = rig.vm.output.find((l) => l.startsWith("mac "))
    assert.ok(hello, rig.vm.output.join("\n"))
    assert.equal(hello.slice(4, 21), macToString(rig.model.mac(), 0))
    assert.equal(rig.dhcp.received[0].mac, macToString(rig.model.mac(), 0))

    // ping (the peer resolves the device by ARP first)
    const replies: number[] = []
    rig.peer.onEchoReply = (src, id, seq) => void replies.push(seq)
    for (let seq = 1; seq <= 3; seq++) {
        rig.peer.ping(parseIp("198.18.0.2"), 7, seq, 56, rig.vm.nowMs())
        await rig.run(() => replies.length >= seq, 2_000)
    }
    assert.deepEqual(replies, [1, 2, 3])

    const page = await rig.get("/")
    assert.match(page.toString(), /ds-tcpip/i)
    const bytes = await rig.get("/bytes/100000")
    const expect = Buffer.alloc(100000)
    for (let i = 0; i < expect.length; i++) expect[i] = i & 0xff
    assert.equal(createHash("sha256").update(bytes).digest("hex"), createHash("sha256").update(expect).digest("hex"))
    const post = Buffer.alloc(50 * 1024)
    for (let i = 0; i < post.length; i++) post[i] = (i * 31 + 7) & 0xff
    const echoed = await rig.get("/echo", post)
    assert.ok(echoed.equals(post), "POST /echo of 50 KB comes back")

    // link down for a second, then up: the driver sees both, the device serves again
    rig.model.setLink(false)
    await rig.run(() => false, 1_000)
    rig.model.setLink(true)
    const after = await rig.get("/status")
    const status = JSON.parse(after.toString())
    assert.equal(status.link, true)
    assert.equal(status.driver.linkChanges, 2)
    assert.ok(status.driver.rxFrames > 100 && status.driver.txFrames > 100, JSON.stringify(status.driver))

    console.log(
        `eth-vm ${chip}: worst fiber turn ${rig.vm.maxStepsPerTurn} opcodes; model: ${rig.model.stats.transfers} SPI transfers, ${rig.model.stats.rxFrames} frames in, ${rig.model.stats.txFrames} out, ${rig.model.stats.rxLost} lost on a full ring`,
    )
    // a full collection between steps leaves the live objects: well below the heap
    const raw = rig.vm.heapStats().usedBytes
    assert.equal(rig.vm.collectGarbage(), true)
    const live = rig.vm.heapStats()
    assert.ok(live.usedBytes <= raw && live.usedBytes > 10_000, `live ${live.usedBytes} of ${live.totalBytes} (before GC ${raw})`)
    console.log(`eth-vm ${chip}: live heap after GC ${live.usedBytes} B of ${live.totalBytes}`)
    await rig.run(() => rig.vm.output.length > 1000, 200) // the program goes on after a collection
    assert.equal(rig.vm.panic, null)
    assert.deepEqual(rig.model.errors, [])
    assert.deepEqual(rig.errors, [])
    assert.ok(rig.vm.maxStepsPerTurn < 65536, `worst turn ${rig.vm.maxStepsPerTurn}`)
})
}

test("the chip the configuration names is the only one opened; without it the firmware finds the chip", async () => {
    const { bytecode } = await firmware
    const boot = async (chip: "enc28j60" | "w5500", ethChip?: string) => {
        const rig = await VmRig.create(chip, ethChip === undefined ? bytecode : withImageConfig(bytecode, { ethChip }))
        await rig.run(() => rig.vm.output.some((l) => l.startsWith("mac ")), 3_000)
        assert.equal(rig.vm.panic, null)
        assert.deepEqual(rig.model.errors, [])
        return rig.vm.output.filter((l) => l.startsWith("eth: "))
    }
    // named: that chip only, not a word to the other
    assert.deepEqual(await boot("enc28j60", "enc28j60"), ["eth: ENC28J60 rev 6, link up"])
    assert.deepEqual(await boot("w5500", "w5500"), ["eth: W5500, link up"])
    // unnamed (or an unknown name): the W5500 is asked first, which to an ENC28J60 is a harmless read
    assert.deepEqual(await boot("enc28j60"), ["eth: no W5500 answers on the board's SPI pins", "eth: ENC28J60 rev 6, link up"])
    assert.deepEqual(await boot("w5500", "w5501"), ["eth: W5500, link up"])
    // named wrong: the firmware says so and starts nothing (the model saw no ENC28J60 set-up)
    assert.deepEqual(await boot("enc28j60", "w5500"), ["eth: no W5500 answers on the board's SPI pins"])
})
