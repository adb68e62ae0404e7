// ds-tcpip on a Linux TAP in its own namespace, against the kernel's ping,
// nc, python3 sockets and http.server, on a clean link: no drops at all.
// Skipped (with the reason) when not root or a tool is missing.
import { interopSuite } from "./suite.js"

interopSuite({ tag: "tap", bulkBytes: 1024 * 1024, connections: 200 })
