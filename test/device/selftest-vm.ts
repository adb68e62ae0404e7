// Runs in the DeviceScript VM (test/vm/vm.test.ts): the demo device — stack,
// HTTP server and the demo routes — and a self-test client that talks to it
// over an in-memory Ethernet link and prints what it finds. (It was the
// firmware's power-on self-test until src/main.ts got the board's Ethernet.)
import * as ds from "@devicescript/core"
import { Stack } from "../../src/stack.js"
import { MemoryLink } from "../../src/drivers/memory-link.js"
import { Xoshiro128 } from "../../src/random.js"
import { parseIp, parseMac } from "../../src/wire/bytes.js"
import { Net } from "../../src/socket/socket.js"
import { startDemo } from "../../src/app/demo.js"
import { selfTest } from "../../src/app/selftest.js"
import { deviceSocketHost } from "../../src/device/socket-host.js"
import { runNetwork } from "../../src/device/runner.js"
import { FiberSignal } from "../../src/device/signal.js"

const log = (line: string) => console.log(line)
const kick = new FiberSignal()
const link = new MemoryLink(2, 1514)
link.onQueued = () => kick.emit(true)
const netmask = parseIp("255.255.255.0")
// the heap is 64 KiB for everything: small pools for the two ends of the self-test
const devicePort = link.port(parseMac("02:00:00:00:00:02"), 1500)
const testerPort = link.port(parseMac("02:00:00:00:00:01"), 1500)
const device = new Stack({
    driver: devicePort,
    ip: parseIp("198.18.0.2"),
    netmask,
    random: new Xoshiro128(ds.millis() + 2),
    limits: { tcpConnections: 2, tcpSendBuffer: 1460, tcpRecvBuffer: 1460, arpEntries: 2, arpQueueFrames: 1, tcpMslMs: 100 },
})
const tester = new Stack({
    driver: testerPort,
    ip: parseIp("198.18.0.1"),
    netmask,
    random: new Xoshiro128(ds.millis() + 1),
    // a receive window below the device's MSS: the sender's small-window rules run on the device too
    limits: { tcpConnections: 1, tcpSendBuffer: 536, tcpRecvBuffer: 1024, arpEntries: 2, arpQueueFrames: 1, tcpMslMs: 100 },
})
link.attach(devicePort, device)
link.attach(testerPort, tester)
const host = deviceSocketHost(kick, log)
runNetwork([device, tester], link, kick, 2, log)
device.start(ds.millis())
tester.start(ds.millis())
startDemo(new Net(device, host), device, { maxWebSocketMessage: 2048, http: { maxHeaderBytes: 512, maxHeaders: 16 } })
host.spawn(async () => {
    const ok = await selfTest(new Net(tester, host), parseIp("198.18.0.2"), 80, log)
    console.log("self-test " + (ok ? "passed" : "FAILED"))
    console.log("done")
})
