// The starter firmware: the smallest useful device a person begins their own
// project from. The board's Ethernet chip (an ENC28J60 on the pins of the
// board's configuration: src/device/board-driver.ts), a Stack that takes its
// address from DHCP and answers to NAME.local (mDNS, with _http._tcp for
// service browsers), and an HTTP server with one page and one Server-Sent
// Events stream. Nothing else is imported, so nothing else is in the image
// (npm run build:device prints what each module costs,
// bench/device/features/ what each optional feature adds).
import * as ds from "@devicescript/core"
import { Stack } from "./stack.js"
import { runtimeRandom } from "./random.js"
import { ipToString } from "./wire/bytes.js"
import { Net } from "./socket/socket.js"
import { HttpServer, IncomingRequest } from "./http/server.js"
import { ServerResponse } from "./http/response.js"
import { EventStream } from "./http/sse.js"
import { deviceSocketHost } from "./device/socket-host.js"
import { runNetwork } from "./device/runner.js"
import { boardHostname, deviceMac, openEnc28j60, runEthernet } from "./device/board-driver.js"
import { startDhcp } from "./services/dhcp.js"
import { startMdns } from "./services/mdns.js"
import { FiberSignal } from "./device/signal.js"

/**
 * The device's name on the LAN, http://NAME.local/ (letters, digits and '-'),
 * unless the board's .board.json has a "hostname"; NAME-2 if it is taken.
 */
const NAME = "ds-tcpip"

const log = (line: string) => console.log(line)
const kick = new FiberSignal()
const mac = deviceMac()
// mDNS's group (01:00:5e:00:00:fb, RFC 1112 §6.4 for 224.0.0.251) passes the chip's filter
const eth = await openEnc28j60(mac, [Buffer.from("01005e0000fb", "hex")], log)
// without a chip that answers, the device has no network: openEnc28j60 says so, and nothing starts
if (eth) {
    // no address until DHCP leases one; the 64 KiB heap also holds the driver's
    // frame buffers (about 4.5 KB), so three connections of the default 2 + 2 KB
    const stack = new Stack({ driver: eth, ip: 0, netmask: 0, random: runtimeRandom(), limits: { tcpConnections: 3 } })
    const host = deviceSocketHost(kick, log)
    const net = new Net(stack, host)
    const server = new HttpServer(net)
    runEthernet(eth, stack, kick, log)
    runNetwork([stack], null, kick, 2, log)
    stack.start(ds.millis())

    server.get("/", async (req: IncomingRequest, res: ServerResponse) => {
        await res.send(200, "hello from ds-tcpip\n")
    })
    // one event a second until the client goes away
    server.get("/events", async (req: IncomingRequest, res: ServerResponse) => {
        const stream = await EventStream.open(res)
        const tick = host.newSignal()
        for (let n = 1; !req.socket.ended(); n++) {
            await stream.send("" + n)
            await host.waitFor(tick, 1000)
        }
        await stream.close()
    })
    server.listen(80)

    // the name in use once probed: the name, or NAME-2 ... if another device has it
    const name = boardHostname(NAME, log)
    const mdns = startMdns(stack, { name, service: "_http._tcp", port: 80, txt: ["path=/"] }, ds.millis())
    startDhcp(net, {
        hostName: name,
        onChange: (bound: boolean) => log(bound ? "address " + ipToString(stack.ip) + ": http://" + mdns.name + ".local/" : "address lost"),
    })
}
