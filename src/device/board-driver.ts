// The board's Ethernet (DeviceScript only): the SPI bus and pins from the
// board's configuration, the chip found on them, and the driver's fiber.
//
// Pins come by label from the board's "pins" (boards/*.board.json):
// ETH_SCK, ETH_MISO, ETH_MOSI, ETH_CS (chip select), and optionally ETH_RST
// (reset) and ETH_INT (the chip's interrupt line, polled: DeviceScript has
// no GPIO interrupts; when it is wired an idle loop costs no SPI transfer).
// A label the board does not have reads as undefined: without ETH_CS the
// bus frames each transfer by itself (the DeviceScript VM's SPI hook does).
import * as ds from "@devicescript/core"
import { Enc28j60 } from "../drivers/enc28j60.js"
import { W5500 } from "../drivers/w5500.js"
import { DriverCounters, FrameSink, SpiBus } from "../drivers/spi.js"
import { NetDriver } from "../driver.js"
import { FiberSignal } from "./signal.js"
import { validHostname } from "../services/mdns.js"

/**
 * The runtime's GPIO object: the board's pins by label.
 * @devsNative GPIO
 */
declare const boardPins: any

type DsSpi = typeof ds & {
    spiConfigure(miso: number, mosi: number, sck: number, mode: number, hz: number): void
    spiXfer(tx: Buffer, rx: Buffer): Promise<void>
}

// GPIO modes (GPIOMode in the Jacdac spec); setMode is the native call
const OUTPUT_HIGH = 0x12
const OUTPUT_LOW = 0x22

function gpioOf(p: any): number {
    return p ? p.gpio : -1
}

/** The SPI bus of the board's Ethernet chip, at hz (both chips run SPI mode 0). */
export function boardSpiBus(hz: number): SpiBus {
    const cs = boardPins.ETH_CS
    const rst = boardPins.ETH_RST
    const spi = ds as DsSpi
    spi.spiConfigure(gpioOf(boardPins.ETH_MISO), gpioOf(boardPins.ETH_MOSI), gpioOf(boardPins.ETH_SCK), 0, hz)
    if (cs) cs.setMode(OUTPUT_HIGH)
    return {
        xfer: async (tx: Buffer, rx: Buffer) => {
            if (cs) cs.setMode(OUTPUT_LOW)
            await spi.spiXfer(tx, rx)
            if (cs) cs.setMode(OUTPUT_HIGH)
        },
        sleep: ds.sleep,
        hardReset: rst
            ? async () => {
                  rst.setMode(OUTPUT_LOW)
                  await ds.sleep(1)
                  rst.setMode(OUTPUT_HIGH)
                  await ds.sleep(2)
              }
            : null,
    }
}

/** ds._dcfgString takes any key; its typings list only the runtime's own. */
type DsConfig = typeof ds & { _dcfgString(key: string): any }

/**
 * The device's name on the LAN (NAME.local, and DHCP's host name): the
 * "hostname" of the device's configuration, which is a top-level key of the
 * board's .board.json (flashed with the firmware) or a
 * configureHardware({ hostname }) in the program; else `fallback`. A name
 * validHostname() refuses is logged and not used.
 */
export function boardHostname(fallback: string, log: (line: string) => void): string {
    const name = (ds as DsConfig)._dcfgString("hostname")
    if (typeof name !== "string") return fallback
    if (validHostname(name)) return name
    log('hostname "' + name + '" of the configuration is not a host name (letters, digits, \'-\'): using ' + fallback)
    return fallback
}

/** A locally administered MAC address from the device's 64-bit identifier. */
export function deviceMac(): Buffer {
    const id = Buffer.from(ds.deviceIdentifier("self"), "hex")
    const mac = Buffer.alloc(6)
    mac[0] = 0x02
    mac.blitAt(1, id, id.length - 5, 5)
    return mac
}

/** What the firmware needs of either chip's driver. */
export interface EthDriver extends NetDriver {
    /** The chip, for the log ("W5500"; the ENC28J60's with its revision once init() read it). */
    name: string
    counters: DriverCounters
    link: boolean
    addMulticast(mac: Buffer): void
    init(): Promise<boolean>
    onQueued: () => void
    pending(): number
    service(sink: FrameSink, now: number, maxFrames: number): Promise<number>
}

// ENC28J60: 20 MHz at most (DS39662E Table 16-6; errata #1: revisions
// B1-B4 need 8 MHz or more); W5500: 33 MHz guaranteed (DS §5.5). 8 MHz suits
// both and the wires of a breadboard.
const SPI_HZ = 8000000

/** The chip's driver initialised (with the multicast groups to let through), or null when the chip does not answer. */
async function openChip(drv: EthDriver, multicast: Buffer[], log: (line: string) => void): Promise<EthDriver> {
    for (const m of multicast) drv.addMulticast(m)
    if (await drv.init()) {
        log("eth: " + drv.name + (drv.link ? ", link up" : ", link down"))
        return drv
    }
    log("eth: no " + drv.name + " answers on the board's SPI pins")
    return null
}

/** The ENC28J60 on the board's SPI pins, initialised; null when it does not answer. */
export async function openEnc28j60(mac: Buffer, multicast: Buffer[], log: (line: string) => void): Promise<EthDriver> {
    return await openChip(new Enc28j60(boardSpiBus(SPI_HZ), mac, 2), multicast, log)
}

/** The W5500 on the board's SPI pins, initialised; null when it does not answer. */
export async function openW5500(mac: Buffer, multicast: Buffer[], log: (line: string) => void): Promise<EthDriver> {
    return await openChip(new W5500(boardSpiBus(SPI_HZ), mac, 2), multicast, log)
}

/**
 * The board's chip, initialised; null when it does not answer. The chip the
 * board's configuration names ("ethChip": "enc28j60" or "w5500" in its
 * .board.json) is the only one tried; without that key (or with another
 * value) both are: the W5500 first (its VERSIONR read is, to an ENC28J60, a
 * harmless register read), then the ENC28J60. A firmware that knows its chip
 * calls openEnc28j60 or openW5500 and carries one driver (2.5 KB less).
 */
export async function openEthernet(mac: Buffer, multicast: Buffer[], log: (line: string) => void): Promise<EthDriver> {
    const chip = (ds as DsConfig)._dcfgString("ethChip")
    // openChip directly rather than through openW5500 and openEnc28j60: the
    // demo, with little room left, would carry both wrappers too (88 bytes)
    if (chip !== "enc28j60") {
        const w = await openChip(new W5500(boardSpiBus(SPI_HZ), mac, 2), multicast, log)
        if (w) return w
        if (chip === "w5500") return null
    }
    return await openChip(new Enc28j60(boardSpiBus(SPI_HZ), mac, 2), multicast, log)
}

/**
 * The driver's fiber: services the chip (bounded work per turn: at most
 * `framesPerTurn` frames, one transmission), kicks the network loop when
 * frames arrived (their timers may now be due sooner), and when idle waits
 * for a queued frame or the poll interval.
 */
export function runEthernet(drv: EthDriver, sink: FrameSink, kick: FiberSignal, log: (line: string) => void): void {
    const wake = new FiberSignal()
    drv.onQueued = () => wake.emit(true)
    const irq = boardPins.ETH_INT
    const loop = async () => {
        // polls that found nothing in a row: after 16 (32 ms) the loop polls
        // every 10 ms instead of 2 (an idle poll costs a few hundred opcodes
        // and 1-3 SPI transfers); a frame to send wakes it at once
        let quiet = 0
        for (;;) {
            let got = 0
            try {
                // the INT line is active low: high and nothing to send means nothing to do
                if (!irq || irq.value === 0 || drv.pending() > 0) got = await drv.service(sink, ds.millis(), 4)
            } catch (e) {
                log("eth: " + e)
            }
            if (got > 0) {
                quiet = 0
                kick.emit(true)
            } else if (drv.pending() === 0) await wake.waitFor(quiet++ < 16 ? 2 : 10)
            else await ds.sleep(1)
        }
    }
    loop.start()
}
