// The base the feature programs beside this file measure against: a Stack on
// an in-memory link, the network loop, and an HTTP server with one route,
// nothing else. Each feature program imports it and adds one feature; its
// image minus this one's is what the feature costs (npm run bench:features).
import * as ds from "@devicescript/core"
import { Stack } from "../../../src/stack.js"
import { MemoryLink } from "../../../src/drivers/memory-link.js"
import { Xoshiro128 } from "../../../src/random.js"
import { parseIp, parseMac } from "../../../src/wire/bytes.js"
import { Net } from "../../../src/socket/socket.js"
import { HttpServer, IncomingRequest } from "../../../src/http/server.js"
import { ServerResponse } from "../../../src/http/response.js"
import { deviceSocketHost } from "../../../src/device/socket-host.js"
import { runNetwork } from "../../../src/device/runner.js"
import { FiberSignal } from "../../../src/device/signal.js"

export const log = (line: string) => console.log(line)
const kick = new FiberSignal()
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
    await res.send(200, "hello\n")
})
server.listen(80)
