// The services as DeviceScript bytecode in the CLI's WASM VM, on virtual
// time: test/device/services-vm.ts runs the DHCP client and the mDNS
// responder on a Stack that starts without an address, against a peer Stack
// in the same program playing the LAN's DHCP server and an mDNS querier.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { buildDevice, FUNCTIONS_END_LIMIT } from "../../src/host/vm/build.js"
import { DeviceVm, DEVS_MAX_STEPS } from "../../src/host/vm/vm.js"

const build = buildDevice("test/device/services-vm.ts")
build.catch(() => {})

const EXPECTED = [
    "bound 198.18.0.100 offers 1 acks 1",
    "mdns A 198.18.0.100",
    "mdns PTR vmdev._http._tcp.local",
    "renewed 2 bound",
    "drops badDhcp 0 badMdns 0 internal 0 link 0",
    "done",
]

test("DHCP lease, mDNS A and DNS-SD PTR answers, renewal at T1: the device code in the VM", async () => {
    const { bytecode, functionsEnd } = await build
    assert.ok(functionsEnd <= FUNCTIONS_END_LIMIT, `functions end at ${functionsEnd}`)
    const vm = await DeviceVm.create()
    vm.deploy(bytecode)
    // the worst turn while mDNS answers (after the lease), apart from the program's start
    vm.runUntil((v) => v.output.some((l) => l.startsWith("bound ")), { maxVirtualMs: 30_000, wallTimeoutMs: 60_000 })
    const startWorst = vm.maxStepsPerTurn
    vm.resetMaxSteps()
    vm.runUntil((v) => v.output.some((l) => l.startsWith("mdns PTR")), { maxVirtualMs: 30_000, wallTimeoutMs: 60_000 })
    const mdnsWorst = vm.maxStepsPerTurn
    const r = vm.runUntilLine("done", { maxVirtualMs: 120_000, wallTimeoutMs: 60_000 })
    const out = vm.output.join("\n")
    assert.equal(vm.panic, null, `panic ${vm.panic?.name}\n${vm.panic?.report.join("\n")}\n${out}`)
    assert.deepEqual(vm.output.filter((l) => !l.startsWith("dhcp:") && !l.startsWith("mdns:") && !l.startsWith("address")), EXPECTED, out)
    assert.equal(vm.stepCounterError, null)
    assert.ok(vm.maxStepsPerTurn > 0 && vm.maxStepsPerTurn < DEVS_MAX_STEPS / 2, `worst turn ${vm.maxStepsPerTurn} opcodes`)
    assert.ok(mdnsWorst < DEVS_MAX_STEPS / 4, `worst turn while probing, announcing and answering: ${mdnsWorst} opcodes`)
    console.log(`services-vm: ${r.virtualMs} virtual ms; worst turn up to the lease ${startWorst} opcodes (the program's start included), while mDNS probes, announces and answers ${mdnsWorst}, from the lease to the renewal ${vm.maxStepsPerTurn}; heap in use ${vm.heapBytesInUse()} B`)
})

test("the same program under GC stress", async () => {
    const { bytecode } = await build
    const vm = await DeviceVm.create({ gcStress: true })
    vm.deploy(bytecode)
    vm.runUntilLine("done", { maxVirtualMs: 120_000, wallTimeoutMs: 120_000 })
    assert.equal(vm.panic, null, vm.output.join("\n"))
    assert.equal(vm.output[vm.output.length - 1], "done")
})
