// The device configuration (src/host/vm/dcfg.ts): the blob devs writes into
// an image is decoded and re-encoded byte for byte, a rewritten image still
// deploys, and the runtime reads the keys the harness put there with
// ds._dcfgString, as a program on a board reads its .board.json. Also the
// host-name rule the firmware applies to a configured name.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import fc from "fast-check"
import { buildDevice } from "../../src/host/vm/build.js"
import { DeviceVm } from "../../src/host/vm/vm.js"
import { decodeDcfg, encodeDcfg, imageConfig, withImageConfig } from "../../src/host/vm/dcfg.js"
import { validHostname } from "../../src/services/mdns.js"

const probe = buildDevice("test/device/config-vm.ts")

async function run(image: Buffer): Promise<string[]> {
    const vm = await DeviceVm.create({})
    vm.deploy(image)
    vm.runUntil((v) => v.output.includes("done"), { maxVirtualMs: 5_000 })
    assert.equal(vm.panic, null)
    return vm.output
}

test("devs's configuration section decodes, and encodes again to the same bytes", async () => {
    const { bytecode } = await probe
    const cfg = imageConfig(bytecode)
    assert.equal(cfg["hostname"], "probe")
    assert.equal(cfg["ethChip"], "w5500")
    assert.equal(cfg["ethSpiHz"], 8000000)
    assert.equal(typeof cfg["@name"], "string")
    const start = bytecode.readUInt32LE(32 + 9 * 8)
    const len = bytecode.readUInt32LE(32 + 9 * 8 + 4)
    const mine = encodeDcfg(cfg)
    assert.ok(bytecode.subarray(start, start + len).equals(Buffer.concat([mine, Buffer.alloc(-mine.length & 3)])))
})

test("the runtime reads what withImageConfig wrote, and the image's own keys stay", async () => {
    const { bytecode } = await probe
    assert.deepEqual((await run(bytecode)).slice(0, 4), ["hostname=probe", "ethChip=w5500", "extra=undefined", "absent=undefined"])
    const image = withImageConfig(bytecode, { hostname: "kitchen", extra: "a longer value, with UTF-8: é" })
    assert.equal(image.length % 32, 0)
    assert.deepEqual((await run(image)).slice(0, 4), ["hostname=kitchen", "ethChip=w5500", "extra=a longer value, with UTF-8: é", "absent=undefined"])
    // the program is the same: only the configuration changed
    const codeEnd = bytecode.readUInt32LE(32 + 9 * 8)
    assert.ok(image.subarray(32 + 10 * 8, codeEnd).equals(bytecode.subarray(32 + 10 * 8, codeEnd)))
})

test("malformed configuration is refused with an error, not misread", () => {
    const good = encodeDcfg({ hostname: "x", n: -1, u: 0xffffffff, b: Buffer.from([1, 2, 3]) })
    assert.deepEqual(decodeDcfg(good), { n: -1, u: 0xffffffff, hostname: "x", b: Buffer.from([1, 2, 3]) })
    const badMagic = Buffer.from(good)
    badMagic[0] ^= 1
    assert.throws(() => decodeDcfg(badMagic), /bad header/)
    assert.throws(() => decodeDcfg(good.subarray(0, 40)), /bad header/)
    assert.throws(() => decodeDcfg(good.subarray(0, good.length - 4)), /out of range/)
    const outside = Buffer.from(good)
    // the first string entry's value: point it past the end
    for (let i = 0; i < 4; i++) {
        const e = 88 + i * 24
        if ((outside.readUInt16LE(e + 18) & 3) >= 2) outside.writeUInt32LE(outside.length, e + 20)
    }
    assert.throws(() => decodeDcfg(outside), /outside/)
    assert.throws(() => encodeDcfg({ "a-key-of-16-chars": 1 }), /too long/)
    assert.throws(() => encodeDcfg({ n: 1.5 }), /32-bit/)
    assert.throws(() => encodeDcfg({ n: 2 ** 32 }), /32-bit/)
})

test("a damaged or cut configuration blob decodes or fails with a dcfg error, never anything else", () => {
    const good = encodeDcfg({ hostname: "kitchen", ethChip: "w5500", n: 5, "@name": "x" })
    fc.assert(
        fc.property(fc.array(fc.tuple(fc.nat(good.length - 1), fc.nat(255)), { maxLength: 8 }), fc.nat(good.length), (muts, cut) => {
            const b = Buffer.from(good.subarray(0, cut))
            for (const [i, v] of muts) if (i < b.length) b[i] = v
            try {
                decodeDcfg(b)
            } catch (e) {
                assert.match((e as Error).message, /^dcfg: /)
            }
        }),
        { numRuns: 3000 },
    )
})

test("validHostname: letters, digits and '-', 1 to 40 long, no '-' at either end", () => {
    for (const ok of ["ds-tcpip", "a", "Kitchen-2", "0", "a-b-c", "x".repeat(40), "ABCxyz019"]) assert.equal(validHostname(ok), true, ok)
    for (const bad of ["", "-a", "a-", "-", "a.b", "a b", "a_b", "x".repeat(41), "é", "a\u0000", "a\r", "a\u0010", "[", "`", "{", "@", "/", ":"]) {
        assert.equal(validHostname(bad), false, JSON.stringify(bad))
    }
})
