// The HTTP demo on a Linux TAP in its own namespace against the kernel's
// curl, nc, wrk, ab and a python3 WebSocket client, on a clean link: no drops,
// no retransmissions. Skipped (with the reason) when not root or a tool is
// missing (see test/interop/http-suite.ts).
import { httpSuite } from "./http-suite.js"

httpSuite({ tag: "http", getBytes: 10_000_000, postBytes: 5 * 1024 * 1024, wrkSeconds: 5, abRequests: 2000 })
