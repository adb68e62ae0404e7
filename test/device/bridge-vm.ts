// Runs in the DeviceScript VM (test/interop/bridge.test.ts): the demo device
// on the bridge driver, its frames through the program's one TCP socket to
// `ds-tcpip bridge` (the harness points "ds-tcpip-bridge":7777 at it).
import * as ds from "@devicescript/core"
import { Stack } from "../../src/stack.js"
import { Xoshiro128 } from "../../src/random.js"
import { parseIp, parseMac } from "../../src/wire/bytes.js"
import { Net } from "../../src/socket/socket.js"
import { startDemo } from "../../src/app/demo.js"
import { deviceSocketHost } from "../../src/device/socket-host.js"
import { runNetwork } from "../../src/device/runner.js"
import { openBridge, runBridge } from "../../src/device/bridge-socket.js"
import { FiberSignal } from "../../src/device/signal.js"

const log = (line: string) => console.log(line)
const kick = new FiberSignal()
const b = await openBridge("ds-tcpip-bridge", 7777, parseMac("02:00:00:00:00:02"), log)
if (b) {
    const stack = new Stack({
        driver: b.driver,
        ip: parseIp("198.18.0.2"),
        netmask: parseIp("255.255.255.0"),
        random: new Xoshiro128(ds.millis() + 2),
        limits: { tcpConnections: 2, tcpRecvBuffer: 1460, arpEntries: 4, arpQueueFrames: 1 },
    })
    const host = deviceSocketHost(kick, log)
    runBridge(b, stack, kick, log)
    runNetwork([stack], null, kick, 2, log)
    stack.start(ds.millis())
    startDemo(new Net(stack, host), stack, { maxWebSocketMessage: 2048, http: { maxHeaderBytes: 512, maxHeaders: 16 }, status: (s: any) => (s.driver = b.driver.counters) })
    log("ready")
}
