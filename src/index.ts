// ds-tcpip's public API for DeviceScript firmware: `import { ... } from "ds-tcpip"`.
//
// Re-exports only. The DeviceScript compiler drops every function nothing
// calls and every class nothing instantiates, and all classes here carry
// @devsWhenUsed, so importing from this index costs no more than importing
// from the files themselves: a firmware pays only for what it uses
// (test/lib/package.test.ts builds one and checks). The host side (simulator,
// TAP, the chip models) is `ds-tcpip/host`, for Node.

export * from "./index-core.js"

// running on a device: the network loop and the SocketHost of DeviceScript fibers
export { runNetwork } from "./device/runner.js"
export type { FrameSource } from "./device/runner.js"
export { deviceSocketHost } from "./device/socket-host.js"
export { FiberSignal } from "./device/signal.js"
export { MemoryLink, MemoryPort } from "./drivers/memory-link.js"

// SPI Ethernet and the bridge (src/drivers/, src/device/board-driver.ts: pins by ETH_* label)
export { Enc28j60 } from "./drivers/enc28j60.js"
export { W5500 } from "./drivers/w5500.js"
export { BridgeDriver } from "./drivers/bridge.js"
export { DriverCounters } from "./drivers/spi.js"
export type { SpiBus, FrameSink } from "./drivers/spi.js"
export { boardSpiBus, deviceMac, openEnc28j60, openW5500, openEthernet, runEthernet } from "./device/board-driver.js"
export type { EthDriver } from "./device/board-driver.js"
export { openBridge, runBridge } from "./device/bridge-socket.js"
