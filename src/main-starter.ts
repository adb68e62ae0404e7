// The starter firmware: the smallest useful device a person begins their own
// project from. A Stack, the network loop, and an HTTP server with one page
// and one Server-Sent Events stream; nothing else is imported, so nothing
// else is in the image (npm run build:device prints what each module costs).
//
// Until the SPI MAC drivers land, the stack sits on an in-memory link, as the
// demo's self-test does: the image holds everything a device on a wire runs
// but the driver.
import * as ds from "@devicescript/core"
import { Stack } from "./stack.js"
import { MemoryLink } from "./drivers/memory-link.js"
import { Xoshiro128 } from "./random.js"
import { parseIp, parseMac } from "./wire/bytes.js"
import { Net } from "./socket/socket.js"
import { HttpServer, IncomingRequest } from "./http/server.js"
import { ServerResponse } from "./http/response.js"
import { EventStream } from "./http/sse.js"
import { deviceSocketHost } from "./device/socket-host.js"
import { runNetwork } from "./device/runner.js"

// exported so that measuring programs (bench/device/features/) can add one feature each
export const log = (line: string) => console.log(line)
const kick = ds.emitter<boolean>()
const link = new MemoryLink(2, 1514)
link.onQueued = () => kick.emit(true)
const port = link.port(parseMac("02:00:00:00:00:02"), 1500)
export const stack = new Stack({ driver: port, ip: parseIp("198.18.0.2"), netmask: parseIp("255.255.255.0"), random: new Xoshiro128(ds.millis()) })
link.attach(port, stack)
export const host = deviceSocketHost(kick, log)
runNetwork([stack], link, kick, 2, log)
stack.start(ds.millis())

export const net = new Net(stack, host)
export const server = new HttpServer(net)
server.get("/", async (req: IncomingRequest, res: ServerResponse) => {
    await res.send(200, "hello from ds-tcpip\n")
})
// one event a second until the client goes away
server.get("/events", async (req: IncomingRequest, res: ServerResponse) => {
    const stream = await EventStream.open(res)
    const tick = host.newSignal()
    for (let n = 1; !req.socket.ended(); n++) {
        await stream.send("" + n)
        await host.wait(tick, 1000)
    }
    await stream.close()
})
server.listen(80)
log("listening on port 80")
