// npm run bench:features: what each optional feature costs in the firmware
// image. Each program in bench/device/features/ is the base (base.ts: a Stack,
// the network loop and an HTTP server with one route) plus one feature; its
// functions end minus the base's is the feature's cost in bytes of function
// bytecode (descriptors and prototype set-up included). One build at a time.
// The README's table is this output, and test/vm/features.test.ts checks it.
import { readdirSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { buildDevice, REPO_ROOT } from "../src/host/vm/build.js"

const DIR = join(REPO_ROOT, "bench/device/features")
const LABELS: Record<string, string> = {
    websocket: "WebSocket (an echo route; SHA-1 and base64 for the handshake)",
    client: "the HTTP client (one request)",
    dns: "the DNS resolver (on top of the HTTP client)",
    "dhcp-mdns": "DHCP client and mDNS responder with DNS-SD (and the UDP they use)",
    enc28j60: "the ENC28J60 driver, its fiber and the board glue",
    w5500: "the W5500 driver, its fiber and the board glue",
    sse: "Server-Sent Events (one route)",
    cookies: "SYN cookies and out-of-order reassembly",
    status: "`/status` (the stack's counters as JSON)",
    ping: "sending pings (`stack.ping`; answering is always in)",
    udp: "the UDP socket API (an echo on port 7)",
}

export interface FeatureCosts {
    base: number
    /** [label, bytes], largest first. */
    rows: [string, number][]
}

export async function featureCosts(): Promise<FeatureCosts> {
    const base = (await buildDevice(join(DIR, "base.ts"))).functionsEnd
    const ends: Record<string, number> = {}
    for (const f of readdirSync(DIR).filter((f) => f.endsWith(".ts") && f !== "base.ts").sort()) {
        ends[f.slice(0, -3)] = (await buildDevice(join(DIR, f))).functionsEnd
    }
    const rows: [string, number][] = []
    for (const [name, end] of Object.entries(ends)) {
        // the resolver's program also holds the HTTP client: its own cost is the difference
        const cost = name === "dns" && ends["client"] ? end - ends["client"] : end - base
        rows.push([LABELS[name] ?? name, cost])
    }
    rows.sort((a, b) => b[1] - a[1])
    return { base, rows }
}

export function featureTable(c: FeatureCosts): string[] {
    return ["| feature | bytes |", "| --- | --: |", ...c.rows.map(([label, bytes]) => `| ${label} | ${bytes.toLocaleString("en-US")} |`)]
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
    const c = await featureCosts()
    console.log(`base (stack, network loop, HTTP server, one route): functions end at ${c.base}`)
    console.log("")
    for (const l of featureTable(c)) console.log(l)
}
