// Runs in the DeviceScript VM with a chip model on its SPI bus
// (test/vm/eth-vm.test.ts): the demo device on the board's Ethernet, as
// src/main.ts wires it, with a fixed address so the test can reach it.
import * as ds from "@devicescript/core"
import { Stack } from "../../src/stack.js"
import { Xoshiro128 } from "../../src/random.js"
import { parseIp, parseMac } from "../../src/wire/bytes.js"
import { Net } from "../../src/socket/socket.js"
import { startDemo } from "../../src/app/demo.js"
import { deviceSocketHost } from "../../src/device/socket-host.js"
import { runNetwork } from "../../src/device/runner.js"
import { openEthernet, runEthernet } from "../../src/device/board-driver.js"

const log = (line: string) => console.log(line)
const kick = ds.emitter<boolean>()
const eth = await openEthernet(parseMac("02:00:00:00:00:02"), [parseMac("01:00:5e:00:00:fb")], log)
if (eth) {
    const stack = new Stack({ driver: eth, ip: parseIp("198.18.0.2"), netmask: parseIp("255.255.255.0"), random: new Xoshiro128(ds.millis() + 2), limits: { tcpConnections: 2, tcpRecvBuffer: 1460, arpEntries: 4, arpQueueFrames: 1 } })
    const host = deviceSocketHost(kick, log)
    runEthernet(eth, stack, kick, log)
    runNetwork([stack], { deliver: (now: number, max: number) => 0, pending: () => 0 }, kick, 2, log)
    stack.start(ds.millis())
    startDemo(new Net(stack, host), stack, { maxWebSocketMessage: 2048, http: { maxHeaderBytes: 512, maxHeaders: 16 } })
    console.log("ready")
}
