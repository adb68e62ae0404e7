// npm run bench:features: what each optional feature costs in the firmware
// image. Each program in bench/device/features/ is the base (base.ts: a Stack,
// the network loop and an HTTP server with one route) plus one feature; its
// functions end minus the base's is the feature's cost in bytes of function
// bytecode (descriptors and prototype set-up included). One build at a time.
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { buildDevice, REPO_ROOT } from "../src/host/vm/build.js"

const dir = join(REPO_ROOT, "bench/device/features")
const what: Record<string, string> = {
    websocket: "WebSocket (RFC 6455: an echo route; SHA-1 and base64 for the handshake)",
    client: "the HTTP client (one request)",
    dns: "the DNS resolver, beside the HTTP client (its cost is this minus the client's)",
    "dhcp-mdns": "DHCP client and mDNS responder with DNS-SD (and the UDP they use)",
    enc28j60: "the ENC28J60 driver, its fiber and the board glue",
    w5500: "the W5500 driver, its fiber and the board glue",
    sse: "Server-Sent Events (one route)",
    cookies: "SYN cookies and out-of-order reassembly",
    status: "/status (the stack's counters as JSON)",
    ping: "sending pings (stack.ping; answering is always in)",
    udp: "the UDP socket API (an echo on port 7)",
}
const base = await buildDevice(join(dir, "base.ts"))
console.log(`base (stack, network loop, HTTP server, one route): functions end at ${base.functionsEnd}`)
const rows: [string, number][] = []
for (const f of readdirSync(dir).filter((f) => f.endsWith(".ts") && f !== "base.ts").sort()) {
    const name = f.slice(0, -3)
    const b = await buildDevice(join(dir, f))
    rows.push([name, b.functionsEnd - base.functionsEnd])
}
rows.sort((a, b) => b[1] - a[1])
console.log("")
console.log("| feature | bytes |")
console.log("| --- | --: |")
for (const [name, bytes] of rows) console.log(`| ${what[name] ?? name} | ${bytes.toLocaleString("en-US")} |`)
