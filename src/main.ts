// The device entry (DeviceScript): the demo device — stack, HTTP server and
// the demo routes (src/device/demo-device.ts) — on the board's ENC28J60 (pins
// from the board's configuration: src/device/board-driver.ts). In the
// DeviceScript VM the same bytecode drives a model of the chip
// (ds-tcpip serve --device).
import { parseMac } from "./wire/bytes.js"
import { deviceMac, openEnc28j60 } from "./device/board-driver.js"
import { startDemoDevice } from "./device/demo-device.js"
import { FiberSignal } from "./device/signal.js"

const log = (line: string) => console.log(line)
const mac = deviceMac()
// mDNS's group (01:00:5e:00:00:fb) passes the chip's filter
const eth = await openEnc28j60(mac, [parseMac("01:00:5e:00:00:fb")], log)
if (eth) startDemoDevice(eth, mac, new FiberSignal(), log)
