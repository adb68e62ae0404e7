// Captures made now, in a namespace of the test's own (root only; skipped
// with a message otherwise):
// - Linux to Linux on lo, captured by tcpdump, with Linux's options and a
//   half-close: `trace` prints tcpdump's own lines and the textbook states;
// - `ds-tcpip serve --pcap FILE --ladder DIR` on a TAP, fetched by curl:
//   the stack's state events land beside the pcap, `trace` finds the
//   inference agrees with them, and DIR holds the connection's diagram.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Netns, interopSkipReason } from "./netns.js"
import { runIn } from "./harness.js"
import { SERVER, CLIENT } from "../capture/kernel-peers.js"
import { traceCommand } from "../../src/host/trace-file.js"

const skip = interopSkipReason([
    { name: "tcpdump", pkg: "tcpdump" },
    { name: "curl", pkg: "curl" },
])
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

test("a Linux-to-Linux capture made with tcpdump in a namespace: tcpdump's lines, the textbook states", { skip: skip ?? false, timeout: 60000 }, async () => {
    const ns = new Netns({ tag: "trk", taps: [], kernelAddress: "" })
    const dir = mkdtempSync(join(tmpdir(), "ds-trace-"))
    try {
        ns.exec(["ip", "addr", "add", "198.18.1.1/32", "dev", "lo"])
        ns.exec(["ip", "addr", "add", "198.18.1.2/32", "dev", "lo"])
        const file = join(dir, "k.pcap")
        const cap = ns.spawn(["tcpdump", "-i", "lo", "-U", "--immediate-mode", "-Z", "root", "-w", file, "tcp port 8090"], { stdio: ["ignore", "ignore", "pipe"] })
        let err = ""
        cap.stderr?.on("data", (b: Buffer) => (err += b.toString()))
        for (let i = 0; i < 50 && !err.includes("listening"); i++) await sleep(100)
        const server = runIn(ns, ["python3", "-c", SERVER, "198.18.1.2", "8090", "halfclose", "1"], { timeoutMs: 10000 })
        await sleep(300)
        const c = await runIn(ns, ["python3", "-c", CLIENT, "198.18.1.2", "8090", "halfclose", "198.18.1.1"], { timeoutMs: 10000 })
        assert.equal(c.status, 0, c.stderr)
        assert.equal((await server).status, 0)
        await sleep(300)
        process.kill(cap.pid, "SIGINT")
        await new Promise((r) => cap.on("exit", r))
        assert.ok(existsSync(file) && statSync(file).size > 24, "tcpdump wrote " + err)
        const text = traceCommand({ file })
        const ours = text.split("\n").filter((l) => l.startsWith("IP ")).map((l) => l.replace(/ {2}\(.*\)$/, ""))
        const r = spawnSync("tcpdump", ["-nn", "-S", "-t", "-r", file], { encoding: "utf8" })
        const theirs = r.stdout.trimEnd().split("\n").map((l) => l.replace(/(, length \d+).*$/, "$1"))
        assert.deepEqual(ours, theirs)
        assert.match(ours[0], /Flags \[S\], seq \d+, win \d+, options \[mss \d+,sackOK,TS val \d+ ecr 0,nop,wscale \d+\], length 0/)
        const states = text.split("\n").filter((l) => / -> /.test(l)).map((l) => l.replace(/^198\.18\.1\.1\.\d+/, "client").replace(/^198\.18\.1\.2\.8090/, "server"))
        assert.deepEqual(states, [
            "client: CLOSED -> SYN-SENT",
            "server: LISTEN -> SYN-RECEIVED",
            "client: SYN-SENT -> ESTABLISHED",
            "server: SYN-RECEIVED -> ESTABLISHED",
            "client: ESTABLISHED -> FIN-WAIT-1",
            "server: ESTABLISHED -> CLOSE-WAIT",
            "client: FIN-WAIT-1 -> FIN-WAIT-2",
            "server: CLOSE-WAIT -> LAST-ACK",
            "client: FIN-WAIT-2 -> TIME-WAIT",
            "server: LAST-ACK -> CLOSED",
        ])
    } finally {
        ns.closeSync()
        rmSync(dir, { recursive: true })
    }
})

test("ds-tcpip serve --pcap writes its state events beside the capture, --ladder DIR a diagram; trace agrees", { skip: skip ?? false, timeout: 60000 }, async () => {
    const ns = new Netns({ tag: "trs" })
    const dir = mkdtempSync(join(tmpdir(), "ds-serve-"))
    const file = join(dir, "s.pcap")
    const serve = spawn(process.execPath, ["scripts/ds-tcpip.mjs", "serve", "--tap", "dstap0", "--netns", ns.name, "--ip", "198.18.0.2/24", "--gateway", "198.18.0.1", "--pcap", file, "--ladder", join(dir, "lad"), "--quiet"], {
        stdio: ["ignore", "pipe", "pipe"],
    })
    try {
        let out = ""
        serve.stdout.on("data", (b: Buffer) => (out += b.toString()))
        serve.stderr.on("data", (b: Buffer) => (out += b.toString()))
        for (let i = 0; i < 100 && !out.includes("on TAP"); i++) await sleep(100)
        assert.match(out, /on TAP dstap0/)
        const curl = await runIn(ns, ["curl", "-s", "--max-time", "5", "http://198.18.0.2/"], { timeoutMs: 10000 })
        assert.equal(curl.status, 0, curl.stderr)
        await sleep(300)
        serve.kill("SIGTERM")
        await new Promise((r) => serve.on("exit", r))
        const text = traceCommand({ file })
        if (process.env["TRACE_DEBUG"]) console.log(text, readFileSync(file + ".states", "utf8"))
        assert.match(text, /state events \(.*s\.pcap\.states\): the inference agrees with the stack on 1 connection\(s\)/)
        assert.match(readFileSync(file + ".states", "utf8"), /198\.18\.0\.2\.80 198\.18\.0\.1\.\d+ CLOSED -> SYN-RECEIVED/)
        const ladders = readdirSync(join(dir, "lad"))
        assert.equal(ladders.length, 1)
        assert.match(readFileSync(join(dir, "lad", ladders[0]), "utf8"), />LAST-ACK</)
    } finally {
        if (serve.exitCode === null && serve.pid) serve.kill("SIGKILL")
        ns.closeSync()
        rmSync(dir, { recursive: true })
    }
})
