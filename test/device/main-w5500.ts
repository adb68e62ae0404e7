// The demo firmware on a W5500 (the image has room for one driver beside the
// demo): src/main.ts with openW5500 in place of openEnc28j60.
import { parseMac } from "../../src/wire/bytes.js"
import { deviceMac, openW5500 } from "../../src/device/board-driver.js"
import { startDemoDevice } from "../../src/device/demo-device.js"
import { FiberSignal } from "../../src/device/signal.js"

const log = (line: string) => console.log(line)
const mac = deviceMac()
const eth = await openW5500(mac, [parseMac("01:00:5e:00:00:fb")], log)
if (eth) startDemoDevice(eth, mac, new FiberSignal(), log)
