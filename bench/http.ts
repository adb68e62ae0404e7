// npm run bench:http (and the second half of npm run bench): the demo device
// (`ds-tcpip serve`, a child process) on a TAP in its own network namespace,
// measured with the kernel's wrk and ab from inside the namespace, side by
// side with Node's own http server (bench/node-http-server.mjs) on the
// kernel's stack in the same namespace. Then the ds-tcpip process idle (RSS,
// CPU seconds in 5 s), and a --cpu-prof of one wrk run, summarised as the top
// self-time functions. Figures, not pass/fail; every load is bounded (wrk -d,
// ab -n) and the namespace goes away at the end, also on failure or Ctrl-C.
//
// Needs root, iproute2, python3, wrk, ab (apache2-utils), curl; says what is
// missing and exits 0 otherwise (the rest of npm run bench does not need them).
import { spawn, spawnSync, ChildProcess } from "node:child_process"
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Netns, interopSkipReason } from "../test/interop/netns.js"
import { runIn, sleep } from "../test/interop/harness.js"
import { parseAb, parseWrk } from "../test/interop/http-tools.js"
import { defaultTapMechanism } from "../src/host/tap.js"

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..")
const DEVICE = "198.18.0.2"
const KERNEL = "198.18.0.1"
const NODE_PORT = 8080
const WRK_SECONDS = Number(process.env["BENCH_WRK_SECONDS"] || 10)
const AB_REQUESTS = Number(process.env["BENCH_AB_REQUESTS"] || 5000)
// BENCH_PROFILE_ONLY=1: only the --cpu-prof run (for working on the hot path),
// BENCH_PROFILE_CONNS=N: wrk's connections in that run (default 16), BENCH_PROFILE_TOP=N: how many functions to list, BENCH_PROFILE_KEEP=FILE: keep the .cpuprofile.
const PROFILE_ONLY = process.env["BENCH_PROFILE_ONLY"] === "1"
const PROFILE_TOP = Number(process.env["BENCH_PROFILE_TOP"] || 10)
const PROFILE_KEEP = process.env["BENCH_PROFILE_KEEP"] || ""
const PROFILE_CONNS = Number(process.env["BENCH_PROFILE_CONNS"] || 16)
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100

const skip = interopSkipReason([
    { name: "wrk", pkg: "wrk" },
    { name: "ab", pkg: "apache2-utils" },
    { name: "curl", pkg: "curl" },
])
if (skip) {
    console.log(`HTTP benchmark skipped: ${skip.replace(/^interop tests/, "it")}`)
    process.exit(0)
}

interface Figures {
    rps1: number
    p99ms1: number
    rps16: number
    p99ms16: number
    connPerSec: number
    abP99ms: number
    bulkMBps: number
    errors: string[]
}

/** CPU seconds (user + system) and RSS (KiB) of a process, from /proc. */
function procUsage(pid: number): { cpuSec: number; rssKiB: number } {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // the command name may hold spaces: fields count from after its ")"
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    const utime = Number(f[11])
    const stime = Number(f[12])
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const rss = /VmRSS:\s+(\d+) kB/.exec(status)
    return { cpuSec: (utime + stime) / CLK_TCK, rssKiB: rss ? Number(rss[1]) : NaN }
}

function childrenOf(pid: number): number[] {
    const out: number[] = []
    try {
        for (const t of readdirSync(`/proc/${pid}/task`)) {
            const c = readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim()
            if (c) out.push(...c.split(/\s+/).map(Number))
        }
    } catch {}
    return out
}

/** Starts `ds-tcpip serve` (the CLI, through tsx) with the TAP inside the namespace; resolves when it serves. */
async function startDevice(ns: Netns, nodeArgs: string[] = []): Promise<ChildProcess> {
    const args = [...nodeArgs, "--import", "tsx", join(ROOT, "src/host/cli.ts"), "serve", "--tap", "dstap0", "--ip", DEVICE + "/24", "--netns", ns.name, "--quiet", "--seed", "5"]
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    child.stdout.on("data", (b) => (out += b))
    child.stderr.on("data", (b) => (out += b))
    const end = performance.now() + 20000
    while (!/ on TAP dstap0/.test(out)) {
        if (child.exitCode !== null || performance.now() > end) {
            stopChild(child)
            throw new Error("ds-tcpip serve did not start: " + out)
        }
        await sleep(50)
    }
    // the kernel resolves the device by ARP on the first request: do that outside the measurements
    const r = await runIn(ns, ["curl", "-sS", "-o", "/dev/null", "--max-time", "5", `http://${DEVICE}/`], { timeoutMs: 8000 })
    if (r.status !== 0) throw new Error("ds-tcpip does not answer: " + r.stderr)
    return child
}

async function stopChild(child: ChildProcess, ms = 5000): Promise<void> {
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const done = new Promise<void>((r) => child.once("exit", () => r()))
    child.kill("SIGTERM")
    const t = setTimeout(() => {
        if (child.exitCode === null) child.kill("SIGKILL")
    }, ms)
    await done
    clearTimeout(t)
}

async function wrk(ns: Netns, threads: number, conns: number, url: string) {
    const r = await runIn(ns, ["wrk", `-t${threads}`, `-c${conns}`, `-d${WRK_SECONDS}s`, "--timeout", "5s", "--latency", url], { timeoutMs: WRK_SECONDS * 1000 + 20000 })
    if (r.status !== 0) throw new Error("wrk failed: " + r.stderr)
    return parseWrk(r.stdout.toString())
}

async function measure(ns: Netns, base: string): Promise<Figures> {
    const errors: string[] = []
    const note = (what: string, w: { errors: Record<string, number>; non2xx3xx: number }) => {
        const e = Object.entries(w.errors).filter(([, v]) => v > 0)
        if (e.length || w.non2xx3xx) errors.push(`${what}: ${e.map(([k, v]) => `${k} ${v}`).join(", ")}${w.non2xx3xx ? ` non-2xx ${w.non2xx3xx}` : ""}`)
    }
    const w1 = await wrk(ns, 1, 1, base + "/bytes/64")
    note("wrk -c1", w1)
    const w16 = await wrk(ns, 2, 16, base + "/bytes/64")
    note("wrk -c16", w16)
    const abRun = await runIn(ns, ["ab", "-q", "-n", String(AB_REQUESTS), "-c", "8", "-s", "10", base + "/bytes/64"], { timeoutMs: 120000 })
    const ab = parseAb(abRun.stdout.toString() + abRun.stderr)
    if (ab.failed || ab.non2xx || ab.complete !== AB_REQUESTS) errors.push(`ab: ${ab.complete} complete, ${ab.failed} failed, ${ab.non2xx} non-2xx`)
    const bulk = await wrk(ns, 1, 1, base + "/bytes/1048576")
    note("wrk bulk", bulk)
    return {
        rps1: w1.requestsPerSec,
        p99ms1: w1.p99,
        rps16: w16.requestsPerSec,
        p99ms16: w16.p99,
        connPerSec: ab.requestsPerSec,
        abP99ms: ab.p99,
        bulkMBps: bulk.bytesPerSec / (1024 * 1024),
        errors,
    }
}

interface ProfileNode {
    id: number
    callFrame: { functionName: string; url: string; lineNumber: number }
    hitCount?: number
}

/**
 * Self time by function from a .cpuprofile (each sample weighted by its time
 * delta), busiest first, without "(idle)" (returned apart). tsx hands V8 its
 * transpiled code, so line numbers would not be the source's: functions are
 * named by name and file.
 */
function selfTime(file: string): { idleMs: number; totalMs: number; top: { name: string; where: string; ms: number; pct: number }[] } {
    const p = JSON.parse(readFileSync(file, "utf8")) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }
    const byId = new Map<number, ProfileNode>()
    for (const node of p.nodes) byId.set(node.id, node)
    const self = new Map<string, { name: string; where: string; us: number }>()
    let total = 0
    let idle = 0
    for (let i = 0; i < p.samples.length; i++) {
        const cf = byId.get(p.samples[i]).callFrame
        const dt = p.timeDeltas[i + 1] ?? 0 // a sample lasts until the next one
        total += dt
        if (cf.functionName === "(idle)") {
            idle += dt
            continue
        }
        const name = cf.functionName || "(anonymous)"
        const where = cf.url.replace("file://" + ROOT + "/", "").replace(/^file:\/\//, "")
        const key = name + "@" + where
        const e = self.get(key) || { name, where, us: 0 }
        e.us += dt
        self.set(key, e)
    }
    const top = [...self.values()].sort((a, b) => b.us - a.us).map((e) => ({ name: e.name, where: e.where, ms: e.us / 1000, pct: (100 * e.us) / (total - idle) }))
    return { idleMs: idle / 1000, totalMs: total / 1000, top }
}

function fmt(v: number, digits = 0): string {
    if (!Number.isFinite(v)) return "n/a"
    return v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
}

async function main(): Promise<void> {
    const ns = new Netns({ tag: "bh" })
    const profDir = mkdtempSync(join(tmpdir(), "ds-tcpip-prof-"))
    let device: ChildProcess = null
    try {
        console.log(`\nHTTP over a TAP (bench/http.ts): wrk and ab inside namespace ${ns.name}; ${WRK_SECONDS} s per wrk run, ab -n ${AB_REQUESTS} -c8 without keep-alive`)
        console.log(`  ds-tcpip: \`ds-tcpip serve\` at ${DEVICE} (a child process; TAP bridge: ${defaultTapMechanism()})`)
        console.log(`  kernel:   Node ${process.version} http server at ${KERNEL}:${NODE_PORT}, same namespace, the kernel's TCP\n`)

        if (!PROFILE_ONLY) await compare(ns)
        // where the time goes: one wrk run under --cpu-prof
        device = await startDevice(ns, ["--cpu-prof", "--cpu-prof-dir", profDir])
        const w = await wrk(ns, PROFILE_CONNS > 1 ? 2 : 1, PROFILE_CONNS, `http://${DEVICE}/bytes/64`)
        await stopChild(device)
        device = null
        const prof = readdirSync(profDir).filter((f) => f.endsWith(".cpuprofile"))
        if (!prof.length) console.log("\n(no .cpuprofile written)")
        else {
            const t = selfTime(join(profDir, prof[0]))
            if (PROFILE_KEEP) copyFileSync(join(profDir, prof[0]), PROFILE_KEEP)
            console.log(`\nds-tcpip under wrk -t${PROFILE_CONNS > 1 ? 2 : 1} -c${PROFILE_CONNS} -d${WRK_SECONDS}s GET /bytes/64 (${fmt(w.requestsPerSec)} req/s), node --cpu-prof:`)
            console.log(`  ${fmt(t.totalMs)} ms profiled, ${fmt((100 * t.idleMs) / t.totalMs, 1)}% idle; top ${PROFILE_TOP} self time (% of the busy time):`)
            for (const e of t.top.slice(0, PROFILE_TOP)) console.log(`  ${fmt(e.pct, 1).padStart(5)}%  ${fmt(e.ms).padStart(6)} ms  ${e.name}${e.where ? "  " + e.where : ""}`)
        }
        console.log(`
Reference figures from the issue (other machines, for context):
  lwIP unix port   ~100,000 keep-alive req/s   27,000 new conn/s   136 MB/s
  Node http         ~30,000 keep-alive req/s    5,000 new conn/s   395 MB/s
  Mongoose           ~8,000 keep-alive req/s    1,900 new conn/s    11 MB/s`)
    } finally {
        if (device) await stopChild(device)
        ns.closeSync()
        rmSync(profDir, { recursive: true, force: true })
    }
}

/** The side-by-side table: the kernel with Node's http first, then ds-tcpip, then ds-tcpip idle. */
async function compare(ns: Netns): Promise<void> {
    let device: ChildProcess = null
    try {
        const server = ns.spawn([process.execPath, join(ROOT, "bench/node-http-server.mjs"), KERNEL, String(NODE_PORT), "300"])
        let up = false
        for (let i = 0; i < 100 && !up; i++) {
            await sleep(50)
            up = (await runIn(ns, ["curl", "-s", "-o", "/dev/null", "--max-time", "2", `http://${KERNEL}:${NODE_PORT}/`], { timeoutMs: 4000 })).status === 0
        }
        if (!up) throw new Error("the reference Node http server did not start")
        const kernel = await measure(ns, `http://${KERNEL}:${NODE_PORT}`)
        const ku = procUsage(server.pid)
        server.kill("SIGTERM")

        device = await startDevice(ns)
        const dev = await measure(ns, `http://${DEVICE}`)

        // idle: 5 s with no traffic (after the keep-alive and TIME-WAIT timers of the runs expired)
        await sleep(3000)
        const helper = childrenOf(device.pid)
        const a0 = procUsage(device.pid)
        const h0 = helper.map(procUsage)
        await sleep(5000)
        const a1 = procUsage(device.pid)
        const h1 = helper.map(procUsage)
        await stopChild(device)
        device = null

        const row = (label: string, d: number, k: number, digits = 0, unit = "") =>
            console.log(label.padEnd(44) + (fmt(d, digits) + unit).padStart(12) + (fmt(k, digits) + unit).padStart(16) + (Number.isFinite(d / k) && k ? (d / k).toFixed(3) : "n/a").padStart(10))
        console.log("".padEnd(44) + "ds-tcpip".padStart(12) + "kernel+Node".padStart(16) + "ratio".padStart(10))
        row("keep-alive req/s, 1 conn (wrk -t1 -c1)", dev.rps1, kernel.rps1)
        row("keep-alive req/s, 16 conns (wrk -t2 -c16)", dev.rps16, kernel.rps16)
        row("new connections/s (ab -c8, no keep-alive)", dev.connPerSec, kernel.connPerSec)
        row("bulk MB/s (wrk -c1 GET /bytes/1048576)", dev.bulkMBps, kernel.bulkMBps, 1)
        row("p99 latency ms, 1 conn", dev.p99ms1, kernel.p99ms1, 2)
        row("p99 latency ms, 16 conns", dev.p99ms16, kernel.p99ms16, 2)
        row("p99 latency ms, ab -c8", dev.abP99ms, kernel.abP99ms, 0)
        for (const e of dev.errors) console.log("  ds-tcpip errors: " + e)
        for (const e of kernel.errors) console.log("  kernel errors: " + e)
        console.log(`\nds-tcpip process idle for 5 s: RSS ${fmt(a1.rssKiB / 1024, 1)} MiB, CPU ${fmt(a1.cpuSec - a0.cpuSec, 2)} s` + (helper.length ? `; TAP helper process: RSS ${fmt(h1[0].rssKiB / 1024, 1)} MiB, CPU ${fmt(h1[0].cpuSec - h0[0].cpuSec, 2)} s` : ""))
        console.log(`ds-tcpip process after the runs: ${fmt(a1.cpuSec, 1)} CPU s in total; reference Node server: RSS ${fmt(ku.rssKiB / 1024, 1)} MiB, ${fmt(ku.cpuSec, 1)} CPU s`)

    } finally {
        if (device) await stopChild(device)
    }
}

await main()
