// The demo device on a board's Ethernet driver (DeviceScript): a Stack that
// takes its address from DHCP and answers to NAME.local (mDNS, with
// _http._tcp for service browsers), the network loop, SYN cookies, and the
// demo routes with the driver's counters and the link in /status.
// src/main.ts opens the board's chip and starts it here.
import * as ds from "@devicescript/core"
import { Stack } from "../stack.js"
import { runtimeRandom } from "../random.js"
import { ipToString, macToString } from "../wire/bytes.js"
import { Net } from "../socket/socket.js"
import { startDemo } from "../app/demo.js"
import { deviceSocketHost } from "./socket-host.js"
import { runNetwork } from "./runner.js"
import { EthDriver, boardHostname, runEthernet } from "./board-driver.js"
import { FiberSignal } from "./signal.js"
import { startDhcp } from "../services/dhcp.js"
import { startMdns } from "../services/mdns.js"

/**
 * The device's name on the LAN, http://NAME.local/, unless the board's
 * configuration has a "hostname" (boardHostname); NAME-2 if it is taken.
 */
export const DEVICE_NAME = "ds-tcpip"

export function startDemoDevice(eth: EthDriver, mac: Buffer, kick: FiberSignal, log: (line: string) => void): void {
    const stack = new Stack({
        driver: eth,
        // no address until DHCP leases one
        ip: 0,
        netmask: 0,
        random: runtimeRandom(),
        // the 64 KiB heap also holds the driver's frame buffers (about 5 KB)
        limits: { tcpConnections: 2, tcpRecvBuffer: 1460, arpEntries: 4, arpQueueFrames: 1 },
    })
    // SYN cookies: a flood of SYNs does not lock out clients (RFC 4987 §3.6).
    // No out-of-order reassembly (enableOutOfOrder): a receive window of one
    // 1460-byte segment leaves a sender nothing to reorder, and its 0.9 KB of
    // code is better spent on the second driver
    stack.tcp.enableSynCookies()
    const host = deviceSocketHost(kick, log)
    runEthernet(eth, stack, kick, log)
    runNetwork([stack], null, kick, 2, log)
    stack.start(ds.millis())
    const net = new Net(stack, host)
    startDemo(net, stack, {
        maxWebSocketMessage: 2048,
        http: { maxHeaderBytes: 512, maxHeaders: 16 },
        status: (s: any) => {
            s.driver = eth.counters
            s.link = eth.link
        },
    })
    log("mac " + macToString(mac, 0) + ", asking DHCP for an address")
    // the name in use once probed: the name, or NAME-2 ... if another device has it
    const name = boardHostname(DEVICE_NAME, log)
    const mdns = startMdns(stack, { name, service: "_http._tcp", port: 80, txt: ["path=/"] }, ds.millis())
    startDhcp(net, {
        hostName: name,
        onChange: (bound: boolean) => log(bound ? "address " + ipToString(stack.ip) + ": http://" + mdns.name + ".local/" : "address lost"),
    })
}
