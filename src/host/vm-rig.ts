// The firmware's bytecode in the DeviceScript VM driving a chip model on its
// SPI bus, with a Node Stack (198.18.0.1) on the other end of the model's
// wire, all on the VM's virtual time: what test/vm/eth-vm.test.ts and
// bench/device-eth.ts drive. The firmware takes its address from DHCP:
// create(..., lease) makes the peer a DHCP server that offers that address,
// and lease() runs until the firmware says it has it.
import { DeviceVm } from "./vm/vm.js"
import { Chip, ChipModel, newModel } from "./device-runner.js"
import { Stack } from "../stack.js"
import { Net, SocketHost, Signal } from "../socket/socket.js"
import { request } from "../http/client.js"
import { Xoshiro128 } from "../random.js"
import { parseIp, parseMac } from "../wire/bytes.js"
import { TestDhcpServer } from "./dhcp-server.js"

interface Sig extends Signal {
    waiters: (() => void)[]
}

/** The VM, the chip model, and a Node Stack on the model's wire, on one virtual clock. */
export class VmRig {
    vm: DeviceVm
    model: ChipModel
    peer: Stack
    net: Net
    toPeer: Buffer[] = []
    timers: { at: number; fn: () => void }[] = []
    errors: unknown[] = []
    /** The peer's DHCP server, when create() was given an address to lease. */
    dhcp: TestDhcpServer | null = null

    /** The VM running bytecode on a model of chip; with `lease` (e.g. "198.18.0.2"), the peer offers that address by DHCP. */
    static async create(chip: Chip, bytecode: Buffer, lease?: string): Promise<VmRig> {
        const r = new VmRig(newModel(chip))
        r.vm = await DeviceVm.create({ spi: r.model })
        r.vm.deploy(bytecode)
        if (lease) {
            const ip = parseIp(lease)
            r.dhcp = new TestDhcpServer(r.peer, { first: ip, last: ip, netmask: parseIp("255.255.255.0"), router: r.peer.ip })
        }
        return r
    }

    /**
     * Runs until the firmware prints "address A: ..." (DHCP bound, RFC 5227
     * probes done: a few virtual seconds); returns that line. Throws if it
     * does not come in 30 virtual seconds.
     */
    async lease(): Promise<string> {
        const line = () => this.vm.output.find((l) => l.startsWith("address "))
        if (!(await this.run(() => !!line(), 30_000))) throw new Error("the firmware did not print its address:\n" + this.vm.output.join("\n"))
        return line()
    }

    constructor(model: ChipModel) {
        this.model = model
        this.model.onTransmit = (f) => this.toPeer.push(f)
        const self = this
        this.peer = new Stack({
            driver: { mac: parseMac("02:00:00:00:00:01"), mtu: 1500, transmit: (f: Buffer, n: number) => void self.model.receive(Buffer.from(f.subarray(0, n))) },
            ip: parseIp("198.18.0.1"),
            netmask: parseIp("255.255.255.0"),
            random: new Xoshiro128(99),
        })
        const host: SocketHost = {
            now: () => self.vm.nowMs(),
            newSignal: (): Signal => ({ waiters: [] }) as Sig,
            waitFor: (signal: Signal, timeoutMs: number) =>
                new Promise<boolean>((resolve) => {
                    let settled = false
                    const fin = (v: boolean) => {
                        if (!settled) resolve(v)
                        settled = true
                    }
                    ;(signal as Sig).waiters.push(() => fin(true))
                    if (timeoutMs > 0) self.timers.push({ at: self.vm.nowMs() + timeoutMs, fn: () => fin(false) })
                }),
            raise: (signal: Signal) => {
                const s = signal as Sig
                const w = s.waiters
                s.waiters = []
                for (const f of w) f()
            },
            kick: () => {},
            spawn: (task: () => Promise<void>) => void task().catch((e) => self.errors.push(e)),
        }
        this.net = new Net(this.peer, host)
    }

    /** Steps the VM and the peer (at most 2 virtual ms at a time) until done() or maxMs. */
    async run(done: () => boolean, maxMs: number): Promise<boolean> {
        const limit = this.vm.nowMs() + maxMs
        const wall = performance.now()
        while (!done()) {
            if (this.vm.panic) throw new Error(`VM panic ${this.vm.panic.name}\n${this.vm.panic.report.join("\n")}\n${this.vm.output.join("\n")}`)
            if (this.vm.spiErrors.length) throw this.vm.spiErrors[0]
            if (this.vm.nowMs() >= limit || performance.now() - wall > 60_000) return false
            const us = this.vm.step()
            this.vm.advance(Math.min(Math.max(us / 1000, 0), 2))
            const now = this.vm.nowMs()
            while (this.toPeer.length) this.peer.receive(this.toPeer.shift(), now)
            const d = this.peer.nextDeadline()
            if (d >= 0 && d <= now) this.peer.poll(now)
            const due = this.timers.filter((t) => t.at <= now)
            this.timers = this.timers.filter((t) => t.at > now)
            for (const t of due) t.fn()
            await new Promise((r) => setImmediate(r))
        }
        return true
    }

    /** GET path (POST when a body is given) through the peer; throws unless 200. */
    async get(path: string, body?: Buffer, host = "198.18.0.2"): Promise<Buffer> {
        let result: Buffer = null
        let failure: unknown = null
        const p = (async () => {
            const res = await request(this.net, { host, path, method: body ? "POST" : "GET", body }, { maxBodyBytes: 1 << 20 })
            if (res.status !== 200) throw new Error(`${path}: status ${res.status}`)
            result = await res.body()
        })().catch((e) => (failure = e))
        const ok = await this.run(() => result !== null || failure !== null, 30_000)
        await p
        if (failure) throw failure
        if (!ok) throw new Error(`${path}: no answer in 30 virtual s`)
        return result
    }
}
