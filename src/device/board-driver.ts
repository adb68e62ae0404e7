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
import { FrameSink, SpiBus } from "../drivers/spi.js"

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
        sleep: async (ms: number) => {
            await ds.sleep(ms)
        },
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

/** A locally administered MAC address from the device's 64-bit identifier. */
export function deviceMac(): Buffer {
    const id = Buffer.from(ds.deviceIdentifier("self"), "hex")
    const mac = Buffer.alloc(6)
    mac[0] = 0x02
    mac.blitAt(1, id, id.length - 5, 5)
    return mac
}

/**
 * Finds the board's Ethernet chip and initialises it; null when none
 * answers. `multicast`: group MACs the chip must pass (mDNS).
 */
export async function openEthernet(mac: Buffer, multicast: Buffer[], log: (line: string) => void): Promise<Enc28j60> {
    const bus = boardSpiBus(8000000)
    const enc = new Enc28j60(bus, mac, 2)
    for (const m of multicast) enc.addMulticast(m)
    if (await enc.init()) {
        log("eth: ENC28J60 rev " + enc.revision + (enc.link ? ", link up" : ", link down"))
        return enc
    }
    log("eth: no Ethernet chip answers on the board's SPI pins")
    return null
}

/**
 * The driver's fiber: services the chip (bounded work per turn: at most
 * `framesPerTurn` frames, one transmission), kicks the network loop when
 * frames arrived (their timers may now be due sooner), and when idle waits
 * for a queued frame or the poll interval.
 */
export function runEthernet(drv: Enc28j60, sink: FrameSink, kick: ds.Emitter<boolean>, log: (line: string) => void): void {
    const wake = ds.emitter<boolean>()
    drv.onQueued = () => wake.emit(true)
    const irq = boardPins.ETH_INT
    setTimeout(async () => {
        for (;;) {
            let got = 0
            try {
                // the INT line is active low: high and nothing to send means nothing to do
                if (!irq || irq.value === 0 || drv.pending() > 0) got = await drv.service(sink, ds.millis(), 4)
            } catch (e) {
                log("eth: " + e)
            }
            if (got > 0) kick.emit(true)
            else if (drv.pending() === 0) await ds.wait(wake, 2)
            else await ds.sleep(1)
        }
    }, 0)
}
