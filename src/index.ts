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
export { MemoryLink, MemoryPort } from "./drivers/memory-link.js"
