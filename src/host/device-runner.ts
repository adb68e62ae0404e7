// The firmware on the host: DeviceScript bytecode (src/main.ts as `devs
// build` makes it) in the WASM VM on real time, a chip model on its SPI bus
// (src/host/vm/spi-hook.ts), and the model's wire joined to a frame link (a
// TAP). Nothing in the bytecode knows it is not on a board.
import { DeviceVm } from "./vm/vm.js"
import { buildDevice } from "./vm/build.js"
import { DcfgValue, withImageConfig } from "./vm/dcfg.js"
import { Enc28j60Model } from "./models/enc28j60.js"
import { W5500Model } from "./models/w5500.js"
import { FrameLink } from "./runner.js"
import { SocketConnector } from "./vm/sockets.js"
import { WireDhcpServer } from "./wire-dhcp.js"

export type Chip = "enc28j60" | "w5500"
export const CHIPS: Chip[] = ["enc28j60", "w5500"]

/** What the runner and the tests use of either chip model. */
export interface ChipModel {
    readonly errors: string[]
    readonly stats: { transfers: number; bytes: number; rxFrames: number; txFrames: number; rxLost: number }
    onTransmit: (frame: Buffer) => void
    transfer(tx: Buffer, rx: Buffer | null): void
    receive(frame: Buffer, length?: number): boolean
    setLink(up: boolean): void
    mac(): Buffer
}

export function newModel(chip: Chip): ChipModel {
    return chip === "w5500" ? new W5500Model() : new Enc28j60Model()
}

/**
 * The demo firmware, for either chip: it carries both drivers and opens the
 * chip its configuration names ("ethChip", which VmDevice.start() gives it
 * as a board file would), else whichever answers.
 */
export const FIRMWARE_ENTRY = "src/main.ts"

export interface VmDeviceOptions {
    /** Firmware entry to build (default src/main.ts), or prebuilt bytecode. */
    entry?: string
    bytecode?: Buffer
    /** The chip model on the SPI bus (default enc28j60); null: none (a bridge program). */
    chip?: Chip | null
    /** Where the program's @devicescript/net socket connects (the bridge). */
    connect?: SocketConnector
    /** Copy the program's console to stdout. */
    echo?: boolean
    /** Called with each line the program prints. */
    onLine?: (line: string) => void
    /**
     * What a board's .board.json would carry for the firmware to read with
     * ds._dcfgString(key), such as { hostname: "kitchen" }: written into the
     * image's configuration (vm/dcfg.ts). "ethChip" is the chip's by default.
     */
    config?: Record<string, DcfgValue>
}

export class VmDevice {
    readonly vm: DeviceVm
    readonly model: ChipModel
    /** Why the VM stopped (a panic, a strict model's error), or null while running. */
    stopped: Error | null = null
    onStop: ((err: Error) => void) | null = null
    private timer: NodeJS.Timeout | null = null
    private immediate: NodeJS.Immediate | null = null
    private lastWall = 0
    private lines = 0
    private readonly onLine: ((line: string) => void) | null
    private wireDhcp: WireDhcpServer | null = null

    private constructor(vm: DeviceVm, model: ChipModel, onLine: ((line: string) => void) | null) {
        this.vm = vm
        this.model = model
        this.onLine = onLine
    }

    static async start(o: VmDeviceOptions = {}): Promise<VmDevice> {
        const chip = o.chip === undefined ? "enc28j60" : o.chip
        if (chip !== null && CHIPS.indexOf(chip) < 0) throw new Error(`no model of chip "${chip}" (have: ${CHIPS.join(", ")})`)
        let bytecode = o.bytecode ?? (await buildDevice(o.entry ?? FIRMWARE_ENTRY)).bytecode
        // what a board file for this chip would say: its "ethChip" (the firmware opens that chip only)
        const config = chip ? { ethChip: chip, ...o.config } : o.config
        if (config) bytecode = withImageConfig(bytecode, config)
        const model = chip ? newModel(chip) : null
        const vm = await DeviceVm.create({ spi: model ?? undefined, echo: o.echo, connect: o.connect })
        vm.deploy(bytecode)
        const d = new VmDevice(vm, model, o.onLine ?? null)
        d.lastWall = performance.now()
        d.schedule(0)
        return d
    }

    /** Joins the chip's wire to a link (a TapDevice): frames both ways, copied. */
    attach(link: FrameLink): void {
        this.model.onTransmit = (f) => (!this.wireDhcp || this.wireDhcp.fromDevice(f) ? link.send(f, f.length) : undefined)
        link.onFrame = (f) => void this.model.receive(Buffer.from(f))
    }

    /**
     * Puts a DHCP server on the chip's wire that offers the device `ip` (see
     * wire-dhcp.ts): for a firmware that takes its address from DHCP, on a
     * link (a TAP) with no DHCP server of its own. Call before attach().
     */
    serveDhcp(ip: number, netmask: number, router = 0): WireDhcpServer {
        this.wireDhcp = new WireDhcpServer(ip, netmask, router, (f) => void this.model.receive(f))
        return this.wireDhcp
    }

    /** Runs until a line matching `pred` was printed (or the VM stopped, or ms passed). */
    waitForLine(pred: (line: string) => boolean, ms: number): Promise<string> {
        return new Promise((resolve, reject) => {
            const t0 = performance.now()
            const check = () => {
                const l = this.vm.output.find(pred)
                if (l) return resolve(l)
                if (this.stopped) return reject(this.stopped)
                if (performance.now() - t0 > ms) return reject(new Error(`no such line from the device in ${ms} ms:\n${this.vm.output.join("\n")}`))
                setTimeout(check, 5)
            }
            check()
        })
    }

    stop(): void {
        if (this.timer) clearTimeout(this.timer)
        if (this.immediate) clearImmediate(this.immediate)
        this.timer = null
        this.immediate = null
        if (!this.stopped) this.stopped = new Error("stopped")
    }

    private schedule(us: number) {
        if (this.stopped) return
        // the VM's sleeps are short while the driver polls (2 ms); a busy VM steps again at once
        if (us <= 0) this.immediate = setImmediate(() => this.tick())
        else this.timer = setTimeout(() => this.tick(), Math.min(us / 1000, 2))
    }

    private tick() {
        this.timer = null
        this.immediate = null
        const vm = this.vm
        // the VM's clock follows the wall clock
        const now = performance.now()
        vm.advance(now - this.lastWall)
        this.lastWall = now
        let us = 0
        try {
            for (let i = 0; i < 32; i++) {
                us = vm.step()
                if (us > 0 || vm.panic) break
            }
        } catch (e) {
            return this.fail(e as Error)
        }
        while (this.lines < vm.output.length) if (this.onLine) this.onLine(vm.output[this.lines++])
        else this.lines++
        if (vm.panic) return this.fail(new Error(`the firmware panicked: ${vm.panic.name}\n${vm.panic.report.join("\n")}`))
        if (vm.spiErrors.length) return this.fail(vm.spiErrors[0])
        this.schedule(us)
    }

    private fail(e: Error) {
        this.stopped = e
        if (this.onStop) this.onStop(e)
    }

    /** The VM's GC heap after a full collection (the runtime's devs_gc, between steps). */
    heapAfterGc(): { used: number; size: number } {
        if (!this.vm.collectGarbage()) throw new Error("no garbage collection in this VM")
        const s = this.vm.heapStats()
        return { used: s.usedBytes, size: s.totalBytes }
    }
}
