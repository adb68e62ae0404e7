// The device entry (DeviceScript): the demo device — stack, HTTP server and
// the demo routes (src/device/demo-device.ts) — on the board's Ethernet
// chip, an ENC28J60 or a W5500: the one the board's configuration names
// ("ethChip"), else whichever answers on the board's ETH_* pins
// (src/device/board-driver.ts). In the DeviceScript VM the same bytecode
// drives a model of either chip (ds-tcpip serve --device [--chip w5500]).
import { deviceMac, openEthernet } from "./device/board-driver.js"
import { startDemoDevice } from "./device/demo-device.js"
import { FiberSignal } from "./device/signal.js"

const log = (line: string) => console.log(line)
const mac = deviceMac()
// mDNS's group (01:00:5e:00:00:fb, RFC 1112 §6.4 for 224.0.0.251) passes the chip's filter
const eth = await openEthernet(mac, [Buffer.from("01005e0000fb", "hex")], log)
if (eth) startDemoDevice(eth, mac, new FiberSignal(), log)
