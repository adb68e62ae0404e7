// npm run bench: figures, not pass/fail. Simulated TCP throughput and the
// wall time it costs, heap per connection on Node and in the DeviceScript VM,
// and the device bytecode size.
import "../src/host/buffer-polyfill.js"
import { buildDevice } from "../src/host/vm/build.js"
import { DeviceVm } from "../src/host/vm/vm.js"
import { Stack } from "../src/stack.js"
import { Xoshiro128 } from "../src/random.js"
import { parseIp, parseMac } from "../src/wire/bytes.js"
import { pair, randomBytes, readAll, runAsync, SERVER_IP } from "../test/tcp/sim-helpers.js"
import { Impairments } from "../src/host/sim/impair.js"
import { Limits } from "../src/config.js"

const MB = 1024 * 1024

function row(label: string, value: string) {
    console.log(label.padEnd(58) + value)
}

async function simTransfer(sizeMb: number, imp: Partial<Impairments>, limits: Partial<Limits>) {
    const p = pair(1, imp, limits)
    const data = randomBytes(sizeMb * MB, 7)
    const server = p.serverNet.listen(80)
    let bytes = -1
    ;(async () => {
        const s = await server.accept()
        bytes = (await readAll(s)).bytes
        s.close()
    })()
    ;(async () => {
        const s = await p.clientNet.connect(parseIp(SERVER_IP), 80)
        await s.write(data)
        s.close()
    })()
    const t0 = performance.now()
    const v0 = p.sim.now
    await runAsync(p.sim, () => bytes >= 0, 36e5)
    const wall = performance.now() - t0
    const virtual = p.sim.now - v0
    if (bytes !== data.length) throw new Error("transfer incomplete")
    return { virtualMBps: sizeMb / (virtual / 1000), wallMsPerMB: wall / sizeMb, retransmits: p.client.tcp.counters.retransmits }
}

function nodeHeapPerConnection(): { stackBytes: number; perConnection: number } {
    const gc = (globalThis as any).gc as () => void
    if (!gc) return null
    const driver = { mac: parseMac("02:00:00:00:00:01"), mtu: 1500, transmit() {} }
    const mk = (n: number) => new Stack({ driver, ip: parseIp("198.18.0.1"), netmask: parseIp("255.255.255.0"), random: new Xoshiro128(1), limits: { tcpConnections: n } })
    const keep: Stack[] = []
    // Buffers live outside the V8 heap (arrayBuffers): count both
    const used = () => {
        gc()
        const m = process.memoryUsage()
        return m.heapUsed + m.arrayBuffers
    }
    const n = 64
    const h0 = used()
    for (let i = 0; i < n; i++) keep.push(mk(0))
    const h1 = used()
    for (let i = 0; i < n; i++) keep.push(mk(8))
    const h2 = used()
    const stackBytes = (h1 - h0) / n
    return { stackBytes, perConnection: (h2 - h1 - n * stackBytes) / (n * 8) }
}

async function vmHeap() {
    const b = await buildDevice("bench/device/heap-vm.ts")
    const vm = await DeviceVm.create({ gcStress: true })
    vm.deploy(b.bytecode)
    const at: Record<string, number> = {}
    for (const line of ["base", "stack0", "stack4", "done"]) {
        vm.runUntilLine(line, { maxVirtualMs: 60000 })
        at[line] = vm.heapBytesInUse()
    }
    const stack = at["stack0"] - at["base"]
    return { stack, perConnection: (at["stack4"] - at["stack0"] - stack) / 4, total: at["done"], heapSize: vm.heapStats().totalBytes }
}

console.log("ds-tcpip benchmarks (figures, not tests)\n")
const node = nodeHeapPerConnection()
if (node) {
    row("Node: one Stack without TCP (V8 heap + buffers)", `${Math.round(node.stackBytes)} B`)
    row("Node: per TCP connection (default 2 KB + 2 KB rings)", `${Math.round(node.perConnection)} B`)
} else row("Node heap per connection", "run with node --expose-gc (npm run bench does)")

const device = await buildDevice("src/main.ts")
row("device functions end in the image at (limit 65536)", `${device.functionsEnd} B (${((100 * device.functionsEnd) / 65536).toFixed(1)}%)`)
row("device image", `${device.imageBytes} B`)

const big = { tcpSendBuffer: 65535, tcpRecvBuffer: 65535 }
const small = { tcpSendBuffer: 2048, tcpRecvBuffer: 2048 }
for (const [label, imp, limits] of [
    ["sim bulk 10 MB, 64 KB windows, 0.5 ms links", { delayMs: 0.5 }, big],
    ["sim bulk 10 MB, 2 KB windows (device), 0.5 ms links", { delayMs: 0.5 }, small],
    ["sim bulk 10 MB, 64 KB windows, 5% loss", { delayMs: 0.5, loss: 0.05 }, big],
] as [string, Partial<Impairments>, Partial<Limits>][]) {
    const r = await simTransfer(10, imp, limits)
    row(label, `${r.virtualMBps.toFixed(1)} MB/s simulated, ${r.wallMsPerMB.toFixed(1)} ms wall per MB, ${r.retransmits} retransmissions`)
}

const vm = await vmHeap()
row("DeviceScript VM: one Stack without TCP", `${vm.stack} B`)
row("DeviceScript VM: per TCP connection (2 KB + 2 KB rings)", `${Math.round(vm.perConnection)} B`)
row("DeviceScript VM: heap used with both stacks", `${vm.total} B of ${vm.heapSize}`)
