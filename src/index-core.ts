// ds-tcpip's portable public API: everything but the device-only runner, so
// that both entries share it (src/index.ts for DeviceScript, src/host/index.ts
// for Node). Re-exports only; see src/index.ts.

// the stack and its configuration
export { Stack } from "./stack.js"
export type { StackConfig, UdpHandler, EchoReplyHandler } from "./stack.js"
export { defaultLimits, checkLimits } from "./config.js"
export type { Limits } from "./config.js"
export type { NetDriver } from "./driver.js"
export { Xoshiro128, runtimeRandom } from "./random.js"
export type { RandomSource } from "./random.js"
export { parseIp, ipToString, parseMac, macToString } from "./wire/bytes.js"
export { TcpState, TCP_STATE_NAMES } from "./tcp/state.js"

// the socket API
export { Net, TcpServer, TcpSocket, SocketError } from "./socket/socket.js"
export type { SocketHost, Signal } from "./socket/socket.js"

// HTTP: server, router, responses, Server-Sent Events, WebSocket, client
export { HttpServer, IncomingRequest } from "./http/server.js"
export type { HttpServerOptions, Handler, HttpStats } from "./http/server.js"
export { ServerResponse } from "./http/response.js"
export { EventStream } from "./http/sse.js"
export { acceptWebSocket, WebSocket } from "./http/websocket.js"
export type { WebSocketOptions, WebSocketMessage } from "./http/websocket.js"
export { request, ClientResponse, HttpClientError } from "./http/client.js"
export type { RequestOptions } from "./http/client.js"

// services on the LAN: DHCP client, mDNS responder with DNS-SD, DNS resolver
export { startDhcp, DhcpClient, DhcpState } from "./services/dhcp.js"
export type { DhcpOptions } from "./services/dhcp.js"
export { startMdns, MdnsResponder, MdnsState } from "./services/mdns.js"
export type { MdnsOptions } from "./services/mdns.js"
export { DnsResolver, DnsError } from "./services/dns.js"
export type { ResolverOptions } from "./services/dns.js"
