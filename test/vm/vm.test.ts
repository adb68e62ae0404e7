// DeviceScript bytecode in the CLI's WASM VM, on virtual time: the portable
// core compiled with `devs build` must compute what it computes on Node.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { buildDevice, DeviceBuild, FUNCTIONS_END_LIMIT } from "../../src/host/vm/build.js"
import { DeviceVm, DEVS_MAX_STEPS } from "../../src/host/vm/vm.js"
import { finishChecksum, internetChecksum, onesSum, pseudoHeaderSum } from "../../src/wire/checksum.js"
import { parseIp } from "../../src/wire/bytes.js"

// build everything at once: each `devs build` takes ~2 s of wall clock
const builds = new Map<string, Promise<DeviceBuild>>()
function build(entry: string): Promise<DeviceBuild> {
    let b = builds.get(entry)
    if (!b) {
        b = buildDevice(entry)
        b.catch(() => {}) // reported by the test that awaits it
        builds.set(entry, b)
    }
    return b
}
for (const e of ["test/device/checksum-vm.ts", "test/device/panic-loop-vm.ts", "test/device/ping-vm.ts", "test/device/tcp-vm.ts", "test/device/selftest-vm.ts"]) build(e)

function hex16(v: number): string {
    return v.toString(16).padStart(4, "0")
}

/** RFC 1071 §4.1's reference: big-endian 16-bit words, an odd byte padded with zero. */
function reference(b: Buffer, off: number, len: number): number {
    let sum = 0
    for (let i = 0; i < len; i += 2) sum += (b[off + i] << 8) | (i + 1 < len ? b[off + i + 1] : 0)
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
    return ~sum & 0xffff
}

/** checksum-vm.ts's sweep over offsets and lengths, by the reference. */
function sweep(big: Buffer, ones: Buffer): number {
    let h = 0
    for (let off = 0; off < 4; off++) {
        for (let len = 0; len <= 160; len++) h = (h * 31 + reference(big, off, len) + 7 * reference(ones, off, len)) % 1000003
        for (let len = 1459; len <= 1462; len++) h = (h * 31 + reference(big, off, len) + 7 * reference(ones, off, len - 3)) % 1000003
    }
    return h
}

function nodeChecksums(): string[] {
    const header = Buffer.from("450000730000400040110000c0a80001c0a800c7", "hex")
    const odd5 = Buffer.from("0102030405", "hex")
    const big = Buffer.alloc(1501)
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff
    const acc = pseudoHeaderSum(parseIp("192.168.0.1"), parseIp("192.168.0.199"), 17, 8 + 13)
    return [
        "checksum " + hex16(internetChecksum(header, 0, header.length)),
        "odd5 " + hex16(internetChecksum(odd5, 0, odd5.length)),
        "odd1501 " + hex16(internetChecksum(big, 0, big.length)),
        "offset3len11 " + hex16(internetChecksum(big, 3, 11)),
        "offset7len1460 " + hex16(internetChecksum(big, 7, 1460)),
        "ones1472 " + hex16(finishChecksum(onesSum(Buffer.alloc(1472, 0xff), 0, 1472, pseudoHeaderSum(0xffffffff, 0xffffffff, 17, 0xffff)))),
        "udp " + hex16(finishChecksum(onesSum(big, 100, 13, onesSum(big, 0, 8, acc)))),
        "sweep " + sweep(big, Buffer.alloc(1472, 0xff)),
        "done",
    ]
}

test("checksums computed in the VM equal Node's", async () => {
    const { bytecode, functionBytes } = await build("test/device/checksum-vm.ts")
    assert.ok(functionBytes > 0 && functionBytes < 64 * 1024, `function bytecode ${functionBytes}`)
    const vm = await DeviceVm.create()
    vm.deploy(bytecode)
    const r = vm.runUntilLine("done", { maxVirtualMs: 5_000 })
    assert.equal(vm.panic, null)
    assert.ok(r.virtualMs <= 5_000)
    assert.ok(vm.output.includes("checksum b861"), vm.output.join("\n"))
    assert.deepEqual(vm.output, nodeChecksums())
})

test("the same program under GC stress (a full GC at every allocation)", async () => {
    const { bytecode } = await build("test/device/checksum-vm.ts")
    const vm = await DeviceVm.create({ gcStress: true })
    vm.deploy(bytecode)
    vm.runUntilLine("done", { maxVirtualMs: 5_000 })
    assert.equal(vm.panic, null)
    assert.deepEqual(vm.output, nodeChecksums())
})

test("the GC heap reading is plausible", async () => {
    const { bytecode } = await build("test/device/checksum-vm.ts")
    const vm = await DeviceVm.create()
    assert.equal(vm.heapStats(), null, "no program heap before a deploy")
    vm.deploy(bytecode)
    vm.runUntilLine("done")
    const used = vm.heapBytesInUse()
    assert.ok(used > 0 && used < 64 * 1024, `heap in use ${used}`)
    const s = vm.heapStats()
    assert.equal(s.usedBytes + s.freeBytes, s.totalBytes)
    assert.ok(s.totalBytes > 60 * 1024 && s.totalBytes <= 64 * 1024, `heap size ${s.totalBytes}`)
    assert.ok(s.objects > 0 && s.largestFreeBytes <= s.freeBytes)
})

test("a program that never yields panics with InfiniteLoop instead of hanging", async () => {
    const { bytecode } = await build("test/device/panic-loop-vm.ts")
    const vm = await DeviceVm.create()
    vm.deploy(bytecode)
    const r = vm.runUntil(() => false, { maxVirtualMs: 10_000, wallTimeoutMs: 5_000 })
    assert.equal(r.reason, "panic")
    assert.ok(vm.panic)
    assert.equal(vm.panic.name, "InfiniteLoop")
    assert.equal(vm.panic.code, 60001)
    assert.deepEqual(vm.output, ["looping"])
    assert.ok(vm.panic.report.some((l) => l.includes("InfiniteLoop")))
    // the opcode counter added to the .wasm sees the whole budget spent
    assert.equal(vm.stepCounterError, null)
    assert.equal(vm.maxStepsPerTurn, DEVS_MAX_STEPS - 1)
    assert.ok(vm.opcodes >= DEVS_MAX_STEPS - 1)
})

test("VMs in one process are independent, each on its own clock", async () => {
    const [sum, loop] = await Promise.all([build("test/device/checksum-vm.ts"), build("test/device/panic-loop-vm.ts")])
    const a = await DeviceVm.create()
    const b = await DeviceVm.create({ seed: 7 })
    a.deploy(sum.bytecode)
    b.deploy(loop.bytecode)
    b.advance(1_000)
    // the checksum program yields about 25 times (its sweep)
    for (let i = 0; i < 40 && !a.output.includes("done"); i++) {
        a.advance(a.step() / 1000)
        b.step()
    }
    assert.deepEqual(a.output, nodeChecksums())
    assert.equal(a.panic, null)
    assert.equal(b.panic?.name, "InfiniteLoop")
    assert.deepEqual(b.output, ["looping"])
    assert.ok(b.panic.atMs >= 1_000)
    assert.ok(a.nowMs() < 1_000)
})

test("ARP and ICMP echo between two Stacks inside one VM", async () => {
    const { bytecode, functionBytes } = await build("test/device/ping-vm.ts")
    assert.ok(functionBytes < 64 * 1024, `function bytecode ${functionBytes}`)
    const vm = await DeviceVm.create()
    vm.deploy(bytecode)
    vm.runUntilLine("done", { maxVirtualMs: 10_000 })
    assert.equal(vm.panic, null)
    const replies = vm.output.filter((l) => l.startsWith("reply "))
    assert.deepEqual(replies, ["reply 1 56", "reply 2 56", "reply 3 56", "reply 4 56", "reply 5 56"])
    assert.ok(vm.output.includes("dropped 0"), vm.output.join("\n"))
    const used = vm.heapBytesInUse()
    assert.ok(used > 0 && used < 64 * 1024, `heap in use ${used}`)
})

// The lines tcp-vm.ts prints when everything went well.
const TCP_LINES = [
    "conn1 established at",
    "a2b 65536 ok",
    "b2a 65536 ok",
    "client-first first: FIN-WAIT-1 FIN-WAIT-2 TIME-WAIT CLOSED",
    "client-first second: CLOSE-WAIT LAST-ACK CLOSED",
    "closed client-first",
    "server-first first: FIN-WAIT-1 FIN-WAIT-2 TIME-WAIT CLOSED",
    "server-first second: CLOSE-WAIT LAST-ACK CLOSED",
    "closed server-first",
    "pool a 0 b 0",
]

function checkTcpOutput(vm: DeviceVm) {
    const out = vm.output.join("\n")
    assert.equal(vm.panic, null, `panic ${vm.panic?.name}\n${vm.panic?.report.join("\n")}\n${out}`)
    for (const l of TCP_LINES) assert.ok(vm.output.some((o) => o.startsWith(l)), `no line "${l}":\n${out}`)
    assert.equal(vm.output[vm.output.length - 1], "done")
    const work = vm.output.find((l) => l.startsWith("work "))
    assert.match(work, / dropped 0$/, out)
    // no line saying something went wrong
    assert.ok(!vm.output.some((l) => /stalled|bad byte|failed|unexpected|exception|did not/.test(l)), out)
}

test("TCP between two Stacks in one VM: 64 KiB each way, checked; client-first and server-first close", async () => {
    const { bytecode, functionBytes, imageBytes } = await build("test/device/tcp-vm.ts")
    assert.ok(functionBytes > 0 && functionBytes < 64 * 1024, `function bytecode ${functionBytes}`)
    const vm = await DeviceVm.create()
    vm.deploy(bytecode)
    const r = vm.runUntilLine("done", { maxVirtualMs: 120_000, maxSteps: 2_000_000, wallTimeoutMs: 60_000 })
    checkTcpOutput(vm)
    // each turn of the program (deliver <= 2 frames, due timers, <= 512 bytes
    // written and read) stays well inside the VM's step budget
    assert.equal(vm.stepCounterError, null)
    assert.ok(vm.maxStepsPerTurn > 0 && vm.maxStepsPerTurn < DEVS_MAX_STEPS / 2, `worst turn ${vm.maxStepsPerTurn} opcodes`)
    console.log(
        `tcp-vm: function bytecode ${functionBytes} B (image ${imageBytes} B); ${Math.round(r.wallMs)} ms wall, ` +
            `${r.virtualMs} virtual ms, ${r.steps} VM steps; worst turn ${vm.maxStepsPerTurn} opcodes ` +
            `(at ${vm.maxStepsAtMs} virtual ms; budget ${DEVS_MAX_STEPS - 1}), ${vm.opcodes} opcodes in all; ` +
            `${vm.output.find((l) => l.startsWith("work "))}`,
    )
})

test("the TCP program's live heap under GC stress (a full GC at every allocation)", async () => {
    const { bytecode } = await build("test/device/tcp-vm.ts")
    const vm = await DeviceVm.create({ gcStress: true })
    vm.deploy(bytecode)
    // step by hand to read the heap after every step: with a GC at every
    // allocation, bytes in use are the live objects (plus at most the last allocation)
    const wall0 = performance.now()
    let peak = 0
    let peakAt = 0
    while (vm.output.indexOf("done") < 0 && !vm.panic && vm.nowMs() < 120_000 && performance.now() - wall0 < 60_000) {
        vm.advance(vm.step() / 1000)
        const h = vm.heapStats()
        if (h && h.usedBytes > peak) {
            peak = h.usedBytes
            peakAt = vm.nowMs()
        }
    }
    checkTcpOutput(vm)
    const total = vm.heapStats().totalBytes
    assert.ok(peak > 0 && peak < 60 * 1024, `peak live heap ${peak} of ${total}`)
    console.log(`tcp-vm under GC stress: peak live heap ${peak} of ${total} B (at ${peakAt} virtual ms), ${Math.round(performance.now() - wall0)} ms wall`)
})

test("the demo device (stack + HTTP + demo routes) serves GET /, GET /bytes/100000 and a pipelined pair to a client in the same VM", async () => {
    const { bytecode, functionBytes, functionsEnd } = await build("test/device/selftest-vm.ts")
    console.log(`device build: ${functionBytes} bytes of functions, ending at ${functionsEnd} of ${FUNCTIONS_END_LIMIT} in the image`)
    assert.ok(functionsEnd <= FUNCTIONS_END_LIMIT, "all function bytecode ends within 64 KiB")
    const vm = await DeviceVm.create()
    vm.deploy(bytecode)
    const r = vm.runUntil(() => vm.output.includes("done") || vm.panic !== null, { maxVirtualMs: 120000, wallTimeoutMs: 60000 })
    assert.equal(vm.panic, null, JSON.stringify(vm.panic))
    assert.equal(r.reason, "predicate", vm.output.join("\n"))
    assert.deepEqual(vm.output, ["GET / 200 3846 ok", "GET /bytes/100000 ok", "pipelined pair ok", "self-test passed", "done"])
    console.log(`device self-test: worst turn ${vm.maxStepsPerTurn} opcodes of 131071, ${r.virtualMs} virtual ms, ${Math.round(r.wallMs)} ms wall`)
    // virtual time, not wall time: 100 KB through a 1 KB window takes a few hundred ms
    // unless a timer paces it (a window ignored on the device cost 22 s of RTOs)
    assert.ok(r.virtualMs < 5000, `the self-test took ${r.virtualMs} virtual ms`)
    assert.ok(vm.maxStepsPerTurn < 65536, "no fiber turn near the step limit: " + vm.maxStepsPerTurn)
})
