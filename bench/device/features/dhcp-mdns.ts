// The starter firmware (with its ENC28J60 driver) plus a DHCP client and an
// mDNS responder announcing NAME.local and _http._tcp: its image minus the
// starter's is what the two services cost. The starter with a driver, DHCP
// and mDNS must end at or below 53,244. (A real firmware would start its
// Stack at address 0; the starter's fixed address is simply replaced by the
// lease here.)
import { stack, net, log } from "../../../src/main-starter.js"
import { ipToString } from "../../../src/wire/bytes.js"
import { startDhcp } from "../../../src/services/dhcp.js"
import { startMdns } from "../../../src/services/mdns.js"

const name = "ds-tcpip"
if (stack) {
    startDhcp(net, { hostName: name, onChange: (bound: boolean) => log(bound ? "address " + ipToString(stack.ip) + ", http://" + name + ".local/" : "address lost") })
    startMdns(stack, { name: name, service: "_http._tcp", port: 80, txt: ["path=/"] }, 0)
}
