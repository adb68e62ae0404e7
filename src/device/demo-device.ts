// The demo device on a board's Ethernet driver (DeviceScript): a Stack at the
// demo's fixed address, the network loop, SYN cookies and out-of-order
// reassembly, and the demo routes with the driver's counters and the link in
// /status. The firmware entries differ only in the driver they open
// (src/main.ts: the ENC28J60; test/device/main-w5500.ts: the W5500).
import * as ds from "@devicescript/core"
import { Stack } from "../stack.js"
import { runtimeRandom } from "../random.js"
import { parseIp, macToString } from "../wire/bytes.js"
import { Net } from "../socket/socket.js"
import { startDemo } from "../app/demo.js"
import { deviceSocketHost } from "./socket-host.js"
import { runNetwork } from "./runner.js"
import { EthDriver, runEthernet } from "./board-driver.js"
import { FiberSignal } from "./signal.js"

export function startDemoDevice(eth: EthDriver, mac: Buffer, kick: FiberSignal, log: (line: string) => void): void {
    const stack = new Stack({
        driver: eth,
        ip: parseIp("198.18.0.2"),
        netmask: parseIp("255.255.255.0"),
        gateway: parseIp("198.18.0.1"),
        random: runtimeRandom(),
        // the 64 KiB heap also holds the driver's frame buffers (about 5 KB)
        limits: { tcpConnections: 2, tcpRecvBuffer: 1460, arpEntries: 4, arpQueueFrames: 1 },
    })
    // what a device on a LAN wants: SYN cookies, out-of-order reassembly
    stack.tcp.enableSynCookies()
    stack.tcp.enableOutOfOrder()
    const host = deviceSocketHost(kick, log)
    runEthernet(eth, stack, kick, log)
    runNetwork([stack], null, kick, 2, log)
    stack.start(ds.millis())
    startDemo(new Net(stack, host), stack, {
        maxWebSocketMessage: 2048,
        http: { maxHeaderBytes: 512, maxHeaders: 16 },
        status: (s: any) => {
            s.driver = eth.counters
            s.link = eth.link
        },
    })
    log("ready: http://198.18.0.2/ (mac " + macToString(mac, 0) + ")")
}
