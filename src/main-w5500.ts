// The demo firmware for a board with a W5500 (boards/esp32_c3_w5500.board.json):
// src/main.ts with openW5500 in place of openEnc28j60 (an image has room for
// one driver beside the demo). Flash this entry on such a board.
import { parseMac } from "./wire/bytes.js"
import { deviceMac, openW5500 } from "./device/board-driver.js"
import { startDemoDevice } from "./device/demo-device.js"
import { FiberSignal } from "./device/signal.js"

const log = (line: string) => console.log(line)
const mac = deviceMac()
const eth = await openW5500(mac, [parseMac("01:00:5e:00:00:fb")], log)
if (eth) startDemoDevice(eth, mac, new FiberSignal(), log)
