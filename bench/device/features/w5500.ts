// The base (base.ts) plus the w5500 driver on the board's SPI pins: its
// image minus the base's is what the driver, its fiber and the board glue
// cost.
import { log, stack } from "./base.js"
import { parseMac } from "../../../src/wire/bytes.js"
import * as ds from "@devicescript/core"
import { deviceMac, openW5500, runEthernet } from "../../../src/device/board-driver.js"
import { FiberSignal } from "../../../src/device/signal.js"

const kick = new FiberSignal()
const eth = await openW5500(deviceMac(), [parseMac("01:00:5e:00:00:fb")], log)
if (eth) runEthernet(eth, stack, kick, log)
