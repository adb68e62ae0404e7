// The starter firmware with what a board on a real LAN needs: the enc28j60
// driver (mDNS's multicast MAC in its filter), a DHCP client and the mDNS
// responder with _http._tcp. Its functions must end at or below 53,244 (the
// starter's budget leaves 12 KiB for the application).
import { log, net, stack } from "../../../src/main-starter.js"
import { ipToString, parseMac } from "../../../src/wire/bytes.js"
import * as ds from "@devicescript/core"
import { deviceMac, openEnc28j60, runEthernet } from "../../../src/device/board-driver.js"
import { startDhcp } from "../../../src/services/dhcp.js"
import { startMdns } from "../../../src/services/mdns.js"

const kick = ds.emitter<boolean>()
const eth = await openEnc28j60(deviceMac(), [parseMac("01:00:5e:00:00:fb")], log)
if (eth) runEthernet(eth, stack, kick, log)
const name = "ds-tcpip"
startDhcp(net, { hostName: name, onChange: (bound: boolean) => log(bound ? "http://" + ipToString(stack.ip) + "/ http://" + name + ".local/" : "no address") })
startMdns(stack, { name: name, service: "_http._tcp", port: 80, txt: ["path=/"] }, ds.millis())
