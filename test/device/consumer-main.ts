// The firmware of a person's own DeviceScript project that uses ds-tcpip as
// an installed library (test/lib/package.test.ts copies it into a fresh
// project as src/main.ts). Everything comes from "ds-tcpip": a device serving
// one route, and, in the same program, a second stack that asks for it over
// an in-memory link with a plain socket and prints what came back.
import * as ds from "@devicescript/core"
import {
    Stack,
    Net,
    HttpServer,
    IncomingRequest,
    ServerResponse,
    MemoryLink,
    Xoshiro128,
    parseIp,
    parseMac,
    runNetwork,
    deviceSocketHost,
    FiberSignal,
} from "ds-tcpip"

const log = (line: string) => console.log(line)
const kick = new FiberSignal()
const link = new MemoryLink(2, 1514)
link.onQueued = () => kick.emit(true)
const netmask = parseIp("255.255.255.0")
const limits = { tcpConnections: 1, tcpSendBuffer: 1460, tcpRecvBuffer: 1460, arpEntries: 2, arpQueueFrames: 1 }
const devicePort = link.port(parseMac("02:00:00:00:00:02"), 1500)
const clientPort = link.port(parseMac("02:00:00:00:00:01"), 1500)
const device = new Stack({ driver: devicePort, ip: parseIp("198.18.0.2"), netmask, random: new Xoshiro128(2), limits })
const client = new Stack({ driver: clientPort, ip: parseIp("198.18.0.1"), netmask, random: new Xoshiro128(1), limits })
link.attach(devicePort, device)
link.attach(clientPort, client)
const host = deviceSocketHost(kick, log)
runNetwork([device, client], link, kick, 2, log)
device.start(ds.millis())
client.start(ds.millis())

const server = new HttpServer(new Net(device, host))
server.get("/", async (req: IncomingRequest, res: ServerResponse) => {
    await res.send(200, "hello from my firmware\n")
})
server.listen(80)

host.spawn(async () => {
    const sock = await new Net(client, host).connect(parseIp("198.18.0.2"), 80, 10000)
    await sock.write(Buffer.from("GET / HTTP/1.0\r\n\r\n"))
    const buf = Buffer.alloc(512)
    let n = 0
    for (;;) {
        const k = await sock.read(buf, n, buf.length - n, 10000)
        if (k <= 0) break
        n += k
    }
    sock.close()
    const text = buf.slice(0, n).toString()
    log(text.split("\r\n")[0])
    log("body " + text.slice(text.indexOf("\r\n\r\n") + 4).trim())
    log("done")
})
