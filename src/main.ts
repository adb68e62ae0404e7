// The device entry (DeviceScript): the demo device — stack, HTTP server and
// the demo routes — on the board's Ethernet chip (pins from the board's
// configuration: src/device/board-driver.ts). In the DeviceScript VM the same
// bytecode drives a model of the chip (ds-tcpip serve --device).
import * as ds from "@devicescript/core"
import { Stack } from "./stack.js"
import { Xoshiro128 } from "./random.js"
import { parseIp, parseMac, macToString } from "./wire/bytes.js"
import { Net } from "./socket/socket.js"
import { startDemo } from "./app/demo.js"
import { deviceSocketHost } from "./device/socket-host.js"
import { runNetwork } from "./device/runner.js"
import { deviceMac, openEnc28j60, runEthernet } from "./device/board-driver.js"

const log = (line: string) => console.log(line)
const kick = ds.emitter<boolean>()
const mac = deviceMac()
// mDNS's group (01:00:5e:00:00:fb) passes the chip's filter for the responder
const eth = await openEnc28j60(mac, [parseMac("01:00:5e:00:00:fb")], log)
if (eth) {
    const stack = new Stack({
        driver: eth,
        ip: parseIp("198.18.0.2"),
        netmask: parseIp("255.255.255.0"),
        gateway: parseIp("198.18.0.1"),
        random: new Xoshiro128(ds.millis() + mac[5]),
        // the 64 KiB heap also holds the driver's frame buffers (about 5 KB)
        limits: { tcpConnections: 2, tcpRecvBuffer: 1460, arpEntries: 4, arpQueueFrames: 1 },
    })
    // the demo turns on what a device on a LAN wants: SYN cookies, out-of-order reassembly
    stack.tcp.enableSynCookies()
    stack.tcp.enableOutOfOrder()
    const host = deviceSocketHost(kick, log)
    runEthernet(eth, stack, kick, log)
    runNetwork([stack], { deliver: (now: number, max: number) => 0, pending: () => 0 }, kick, 2, log)
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
