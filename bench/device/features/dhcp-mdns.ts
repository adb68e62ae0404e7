// The base (base.ts) plus a DHCP client and an mDNS responder announcing
// NAME.local and _http._tcp: its image minus the base's is what the two
// services cost (the UDP they use included).
import { stack, net, log } from "./base.js"
import { ipToString } from "../../../src/wire/bytes.js"
import { startDhcp } from "../../../src/services/dhcp.js"
import { startMdns } from "../../../src/services/mdns.js"

startDhcp(net, { hostName: "ds-tcpip", onChange: (bound: boolean) => log(bound ? "address " + ipToString(stack.ip) : "address lost") })
startMdns(stack, { name: "ds-tcpip", service: "_http._tcp", port: 80, txt: ["path=/"] }, 0)
