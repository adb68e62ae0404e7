// ds-tcpip's host side for Node, `import { ... } from "ds-tcpip/host"`: the
// simulator a person tests their own firmware's network code with (a virtual
// clock, a switch, impaired links, a pcap and a tcpdump-style trace), the
// real-time runner on a Linux TAP, and the same public API as the device
// (Stack, sockets, HTTP) so the code under test is the code that ships.
// Run it under tsx (`node --import tsx --test`): the sources are TypeScript.

// DeviceScript's native Buffer methods for Node: first, before anything uses them
import "./buffer-polyfill.js"

export * from "../index-core.js"

// the simulator: virtual time, hosts on a switch, impairments, captures
export { Simulator } from "./sim/network.js"
export type { SimulatorOptions, SimHost, SimEndpoint, FrameTap, Direction } from "./sim/network.js"
export { addStackHost } from "./sim/stack-host.js"
export type { StackHostOptions } from "./sim/stack-host.js"
export { SimSocketHost, runAsync } from "./sim/async.js"
export type { Impairments, FaultStats } from "./sim/impair.js"
export { PcapWriter, readPcap, readPcapFile } from "./sim/pcap.js"
export type { PcapRecord } from "./sim/pcap.js"
export { formatFrame, TraceContext } from "./trace.js"

// real time: a Stack on a Linux TAP interface, reachable by the kernel's tools
export { RealTimeRunner, RealTimeSocketHost, parseCidr, randomMac } from "./runner.js"
export type { RunnerOptions } from "./runner.js"
export { TapDevice, TapError } from "./tap.js"
// test servers for a device's services
export { TestDhcpServer } from "./dhcp-server.js"
export { TestDnsServer } from "./dns-server.js"

// register-level models of the SPI Ethernet chips, for testing drivers
export { Enc28j60Model } from "./models/enc28j60.js"
export { W5500Model } from "./models/w5500.js"
