// Regenerates the diagrams of docs/tcp-guide.md (docs/ladders/): from real
// captures of ds-tcpip talking to the Linux kernel and Linux to Linux
// (test/capture/fixtures, made by scripts/capture-fixtures.ts), and from the
// simulator, deterministic (seeded, virtual time), with and without loss.
// test/capture/docs.test.ts checks that the committed files are current.
//
//   node --import tsx scripts/ladder-docs.ts [OUTDIR]     (default docs/ladders)
import "../src/host/buffer-polyfill.js"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { pair, runAsync, parseIp, SERVER_IP, Pair } from "../test/tcp/sim-helpers.js"
import { PcapWriter } from "../src/host/sim/pcap.js"
import { Impairments } from "../src/host/sim/impair.js"
import { analyze } from "../src/host/trace-file.js"
import { ladderHtml, ladderModel, ladderSvg, LadderModel } from "../src/host/ladder.js"
import { startDemo } from "../src/app/demo.js"
import { TcpSocket } from "../src/socket/socket.js"

export interface Figure {
    name: string
    /** What it shows, for the guide. */
    caption: string
    models: LadderModel[]
    /** Also as an HTML page (bands that open on click). */
    html?: boolean
}

const MSL = 1000

/** A capture and when the run that made it ended (TIME-WAITs that ran out by then are drawn). */
interface Run {
    pcap: Buffer
    endMs: number
}

function modelsOf(run: Buffer | Run, pick: (id: number) => boolean, timeWaitMs = 2 * MSL): LadderModel[] {
    const buf = Buffer.isBuffer(run) ? run : run.pcap
    const r = analyze(buf, timeWaitMs)
    if (!Buffer.isBuffer(run)) r.tracker.finish(run.endMs)
    return r.tracker.connections.filter((c) => pick(c.id)).map((c) => ladderModel(r, c))
}

async function readSome(s: TcpSocket): Promise<string> {
    const b = Buffer.alloc(65536)
    const n = await s.read(b, 0, b.length)
    return b.toString("latin1", 0, n)
}

async function readToEnd(s: TcpSocket): Promise<string> {
    let all = ""
    for (let t = await readSome(s); t !== ""; t = await readSome(s)) all += t
    return all
}

/** A client and a server in the simulator, 5 ms apart each way, the client's link captured. */
async function simulate(seed: number, imp: Partial<Impairments>, script: (p: Pair) => Promise<void>): Promise<Run> {
    const p = pair(seed, { delayMs: 5, ...imp }, { tcpMslMs: MSL })
    const cap = new PcapWriter()
    p.sim.capture("client", cap)
    let done = false
    let failure: unknown = null
    script(p)
        .catch((e) => (failure = e))
        .finally(() => (done = true))
    await runAsync(p.sim, () => done, 120000)
    if (failure) throw failure
    // every connection ends: TIME-WAITs run out
    await runAsync(p.sim, () => p.client.tcp.inUseCount() === 0 && p.server.tcp.inUseCount() === 0, 20 * MSL)
    if (!done) throw new Error("scenario did not finish")
    // LADDER_DOCS_PCAPS=DIR keeps the captures, for a look with ds-tcpip trace
    const keep = process.env["LADDER_DOCS_PCAPS"]
    if (keep) cap.writeFile(join(keep, "sim-" + seed + ".pcap"))
    return { pcap: cap.toBuffer(), endMs: p.sim.now }
}

async function http(p: Pair, requests: string[][]): Promise<void> {
    startDemo(p.serverNet, p.server, { eventIntervalMs: 100 })
    for (const writes of requests) {
        const c = await p.clientNet.connect(parseIp(SERVER_IP), 80)
        for (const w of writes) {
            await c.write(Buffer.from(w))
            if (writes.length > 1 && !w.includes("Connection: close")) await readSome(c)
        }
        await readToEnd(c)
        c.close()
    }
}

const GET10 = "GET / HTTP/1.0\r\n\r\n"
const GET11 = "GET /bytes/100 HTTP/1.1\r\nHost: device\r\n\r\n"
const GET11_CLOSE = "GET /bytes/100 HTTP/1.1\r\nHost: device\r\nConnection: close\r\n\r\n"

export async function figures(fixtures = "test/capture/fixtures"): Promise<Figure[]> {
    const out: Figure[] = []
    const dsKernel = readFileSync(join(fixtures, "ds-kernel.pcap"))
    out.push({ name: "http-get-kernel", caption: "curl (Linux) fetches / from ds-tcpip on a TAP: the handshake, the request and response, the client's close, TIME-WAIT", models: modelsOf(dsKernel, (id) => id === 1, 60000) })
    out.push({ name: "half-close-kernel", caption: "Linux to Linux: the client shuts down its sending side; the server still sends three pieces, then closes", models: modelsOf(readFileSync(join(fixtures, "kernel.pcap")), () => true, 60000) })
    out.push({
        name: "refused-and-reset-kernel",
        caption: "Linux to Linux (pcapng from dumpcap): a refused connection (RST to the SYN) and an abortive close (SO_LINGER 0)",
        models: modelsOf(readFileSync(join(fixtures, "kernel.pcapng")), (id) => id >= 2, 60000),
    })
    // delayed ACK: a lone small segment is acknowledged 40 ms later; two in a row at once
    out.push({
        name: "delayed-ack",
        caption: "Delayed ACK (simulator): one small segment waits 40 ms for its ACK; the second of two is acknowledged at once",
        models: modelsOf(
            await simulate(1, {}, async (p) => {
                const l = p.serverNet.listen(7)
                ;(async () => {
                    const s = await l.accept()
                    await readToEnd(s)
                    s.close()
                })()
                const c = await p.clientNet.connect(parseIp(SERVER_IP), 7)
                await c.write(Buffer.from("one"))
                await waitMs(p, 100)
                await c.write(Buffer.from("two"))
                await waitMs(p, 1)
                await c.write(Buffer.from("three"))
                await waitMs(p, 100)
                c.close()
            }),
            () => true,
        ),
    })
    out.push({
        name: "close-time-wait",
        caption: "The four-way close (simulator): the client closes first, the server 50 ms later; the client's TIME-WAIT lasts 2 MSL (here MSL = 1 s)",
        models: modelsOf(
            await simulate(2, {}, async (p) => {
                const l = p.serverNet.listen(7)
                ;(async () => {
                    const s = await l.accept()
                    await readToEnd(s)
                    await waitMs(p, 50)
                    s.close()
                })()
                const c = await p.clientNet.connect(parseIp(SERVER_IP), 7)
                await c.write(Buffer.from("bye"))
                c.close()
            }),
            () => true,
        ),
    })
    out.push({
        name: "retransmission",
        caption: "A loss (simulator, 25% loss on the client's link): the segment is sent again when the retransmission timer fires or three duplicate ACKs arrive",
        models: modelsOf(
            await simulate(6, { loss: 0.25 }, async (p) => {
                const l = p.serverNet.listen(7)
                ;(async () => {
                    const s = await l.accept()
                    await readToEnd(s)
                    s.close()
                })()
                const c = await p.clientNet.connect(parseIp(SERVER_IP), 7)
                for (let i = 0; i < 6; i++) await c.write(Buffer.alloc(1000, 97 + i))
                c.close()
            }),
            () => true,
        ),
    })
    out.push({
        name: "http10",
        caption: "HTTP/1.0 (simulator): one connection per request, each with its handshake and close",
        models: modelsOf(await simulate(3, {}, (p) => http(p, [[GET10], [GET10]])), () => true),
    })
    out.push({
        name: "http11-keepalive",
        caption: "HTTP/1.1 keep-alive (simulator): two requests, one after the other's response, on one connection",
        models: modelsOf(await simulate(3, {}, (p) => http(p, [[GET11, GET11_CLOSE]])), () => true),
    })
    out.push({
        name: "http11-pipelining",
        caption: "HTTP/1.1 pipelining (simulator): both requests in one segment; the responses come back in order",
        models: modelsOf(await simulate(3, {}, (p) => http(p, [[GET11 + GET11_CLOSE]])), () => true),
    })
    out.push({
        name: "sse",
        caption: "Server-Sent Events (simulator): after one request the server pushes an event every 100 ms until the client closes",
        models: modelsOf(
            await simulate(4, {}, async (p) => {
                startDemo(p.serverNet, p.server, { eventIntervalMs: 100 })
                const c = await p.clientNet.connect(parseIp(SERVER_IP), 80)
                await c.write(Buffer.from("GET /events HTTP/1.1\r\nHost: device\r\n\r\n"))
                let got = ""
                while ((got.match(/data:/g) || []).length < 3) got += await readSome(c)
                c.close()
                await readToEnd(c).catch(() => "")
            }),
            () => true,
        ),
    })
    out.push({
        name: "websocket",
        caption: "WebSocket (simulator): the upgrade, then masked client frames and the server's frames both ways on one connection",
        models: modelsOf(
            await simulate(5, {}, async (p) => {
                startDemo(p.serverNet, p.server)
                const c = await p.clientNet.connect(parseIp(SERVER_IP), 80)
                await c.write(Buffer.from("GET /ws HTTP/1.1\r\nHost: device\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
                await readSome(c)
                for (const text of ["hi", "there"]) {
                    const payload = Buffer.from(text)
                    const frame = Buffer.alloc(6 + payload.length)
                    frame[0] = 0x81
                    frame[1] = 0x80 | payload.length
                    for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i] ^ frame[2 + (i & 3)]
                    await c.write(frame)
                    await readSome(c)
                }
                // a close frame (1000), masked with a zero key
                await c.write(Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]))
                await readToEnd(c)
                c.close()
            }),
            () => true,
        ),
    })
    out.push({
        name: "bulk",
        caption: "100 KB from the server (simulator, 2% loss): runs of data segments fold into bands; in the HTML, a click opens one",
        html: true,
        models: modelsOf(await simulate(7, { loss: 0.02 }, (p) => http(p, [["GET /bytes/100000 HTTP/1.1\r\nHost: device\r\nConnection: close\r\n\r\n"]])), () => true),
    })
    return out
}

/** Sleeps in virtual time (a signal nobody raises, with a timeout). */
async function waitMs(p: Pair, ms: number): Promise<void> {
    const h = p.clientNet.host
    await h.waitFor(h.newSignal(), ms)
}

/** The files of the figures: name -> text. */
export function renderFigures(figs: Figure[]): Map<string, string> {
    const files = new Map<string, string>()
    for (const f of figs) {
        files.set(f.name + ".svg", ladderSvg(f.models))
        if (f.html) files.set(f.name + ".html", ladderHtml(f.models, f.caption))
    }
    return files
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
    const dir = process.argv[2] || "docs/ladders"
    mkdirSync(dir, { recursive: true })
    const files = renderFigures(await figures())
    for (const [name, text] of files) writeFileSync(join(dir, name), text)
    console.log("wrote " + [...files.keys()].map((n) => join(dir, n)).join(" "))
}
