// The services against real peers, in the test's own namespace (root;
// 198.18.0.0/15 only): the device takes its address from dnsmasq's DHCP
// server and serves HTTP there; the kernel's dig finds NAME.local and the
// _http._tcp service over mDNS (legacy unicast, RFC 6762 §6.7); the
// device's resolver asks dnsmasq's DNS for a name and the HTTP client
// fetches a file from the kernel's python3 http.server by that name,
// hash-checked. dnsmasq runs in the foreground with its own configuration
// (no system config, no resolv.conf, no /etc/hosts), bound to the TAP, and
// is killed by PID. Skipped with the reason when not root or a tool is missing.
import "../../src/host/buffer-polyfill.js"
import { describe, it, before, after } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, rmSync, writeFileSync, chmodSync, readFileSync } from "node:fs"
import { randomBytes } from "node:crypto"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { TapDevice } from "../../src/host/tap.js"
import { RealTimeRunner } from "../../src/host/runner.js"
import { startDemo } from "../../src/app/demo.js"
import { HttpServer } from "../../src/http/server.js"
import { request } from "../../src/http/client.js"
import { DhcpClient, startDhcp } from "../../src/services/dhcp.js"
import { MdnsResponder, startMdns } from "../../src/services/mdns.js"
import { DnsResolver } from "../../src/services/dns.js"
import { ipToString } from "../../src/wire/bytes.js"
import { PcapWriter, readPcap } from "../../src/host/sim/pcap.js"
import { interopSkipReason, Netns } from "./netns.js"
import { runIn, sha256, waitFor } from "./harness.js"
import { spawn, ChildProcess } from "node:child_process"

const TOOLS = [
    { name: "dnsmasq", pkg: "dnsmasq-base" },
    { name: "dig", pkg: "bind9-dnsutils" },
    { name: "curl", pkg: "curl" },
]
const KERNEL = "198.18.0.1"
const NAME = "dsdev"

function dnsmasqSkip(): string | null {
    // dnsmasq lives in /usr/sbin, which a non-login PATH may lack
    if (!process.env["PATH"].split(":").includes("/usr/sbin")) process.env["PATH"] += ":/usr/sbin"
    return interopSkipReason(TOOLS)
}

/** dnsmasq (DHCP + DNS for .test) and python3's http.server on the kernel's side of the namespace's TAP; killed by PID with the namespace. */
function startLanServices(ns: Netns, dir: string): void {
    ns.spawn(
        [
            "dnsmasq",
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--no-poll",
            "--interface=dstap0",
            "--bind-interfaces",
            "--except-interface=lo",
            "--user=root",
            "--group=root",
            "--pid-file=" + join(dir, "dnsmasq.pid"),
            "--dhcp-leasefile=" + join(dir, "leases"),
            "--dhcp-range=198.18.0.100,198.18.0.150,255.255.255.0,2m",
            "--dhcp-option=option:router," + KERNEL,
            "--dhcp-option=option:dns-server," + KERNEL,
            "--dhcp-authoritative",
            "--host-record=files.test," + KERNEL,
            // names under .test are answered here (NXDOMAIN when unknown), never forwarded
            "--local=/test/",
            "--log-facility=" + join(dir, "dnsmasq.log"),
            "--log-dhcp",
        ],
        { stdio: "ignore" },
    )
    ns.spawn(["python3", "-m", "http.server", "8080", "--bind", KERNEL, "--directory", dir])
}

describe("interop: DHCP from dnsmasq, mDNS to dig, DNS through dnsmasq", { skip: dnsmasqSkip() ?? false, timeout: 120_000 }, () => {
    let ns: Netns
    let tap: TapDevice
    let runner: RealTimeRunner
    let dir: string
    let dhcp: DhcpClient
    let mdns: MdnsResponder
    let http: HttpServer
    let data: Buffer
    const pcap = new PcapWriter({ epochMs: performance.timeOrigin })
    const logs: string[] = []

    before(async () => {
        dir = mkdtempSync(join(tmpdir(), "ds-tcpip-services-"))
        chmodSync(dir, 0o755)
        data = randomBytes(200_000)
        writeFileSync(join(dir, "data.bin"), data)
        ns = new Netns({ tag: "svc" })
        // multicast from the kernel's dig leaves through the TAP
        ns.exec(["ip", "route", "add", "224.0.0.0/4", "dev", "dstap0"])
        startLanServices(ns, dir)
        tap = await TapDevice.open("dstap0", { netns: ns.name })
        runner = new RealTimeRunner({
            link: tap,
            mac: "02:00:00:00:11:02",
            ip: "0.0.0.0",
            seed: 11,
            pcap,
            limits: { tcpConnections: 8, tcpSendBuffer: 16384, tcpRecvBuffer: 16384, tcpMslMs: 250 },
            log: (line, now) => {
                if (logs.length < 5000) logs.push((now / 1000).toFixed(3) + " " + line)
            },
        })
        runner.start()
        http = startDemo(runner.net, runner.stack)
        mdns = startMdns(runner.stack, { name: NAME, service: "_http._tcp", port: 80, txt: ["path=/"] }, runner.host.now())
        dhcp = startDhcp(runner.net, { hostName: NAME })
    })

    after(async () => {
        if (mdns && runner) mdns.stop(runner.host.now())
        if (http) http.close()
        if (runner) runner.stop()
        if (tap) await tap.close()
        if (ns) ns.closeSync()
        if (process.env["SERVICES_PCAP"]) writeFileSync(process.env["SERVICES_PCAP"], pcap.toBuffer())
        if (dir) rmSync(dir, { recursive: true, force: true })
    })

    it("gets its address from dnsmasq and serves HTTP there", async () => {
        const ok = await dhcp.configured(30_000)
        assert.ok(ok, "no lease in 30 s:\n" + logs.slice(-30).join("\n"))
        const ip = ipToString(runner.stack.ip)
        assert.match(ip, /^198\.18\.0\.(1[0-4]\d|150)$/)
        assert.equal(ipToString(dhcp.router), KERNEL)
        assert.equal(ipToString(dhcp.dns[0]), KERNEL)
        assert.equal(dhcp.leaseTime, 120)
        const r = await runIn(ns, ["curl", "-sS", "--max-time", "10", `http://${ip}/bytes/5000`], { timeoutMs: 15_000 })
        assert.equal(r.status, 0, r.stderr)
        assert.equal(r.stdout.length, 5000)
        for (let i = 0; i < 5000; i++) if (r.stdout[i] !== (i & 0xff)) assert.fail("byte " + i)
    })

    // Debian's dig (BIND 9.18) connects its UDP socket to the server it asks, so
    // a reply to a query sent to 224.0.0.251 from the responder's own address
    // (as RFC 6762 §6.7 has it) is refused by the kernel with a port
    // unreachable. dig therefore asks the device's port 5353 directly (the
    // same legacy unicast path), and python3 with an unconnected socket asks
    // the group.
    it(`a legacy unicast query to 224.0.0.251:5353 for ${NAME}.local gets the leased address (python3 socket)`, async () => {
        assert.ok(await waitFor(() => mdns.state === 3, 10_000), "mDNS running")
        const script = [
            "import socket, struct, sys",
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
            "s.settimeout(2)",
            "q = struct.pack('>HHHHHH', 0x4d44, 0, 1, 0, 0, 0) + b'\\x05" + NAME + "\\x05local\\x00' + struct.pack('>HH', 1, 1)",
            "for _ in range(3):",
            "    s.sendto(q, ('224.0.0.251', 5353))",
            "    try:",
            "        d, a = s.recvfrom(1500)",
            "    except socket.timeout:",
            "        continue",
            "    print(a[0], a[1], struct.unpack('>H', d[:2])[0], socket.inet_ntoa(d[-4:]))",
            "    sys.exit(0)",
            "sys.exit(1)",
        ].join("\n")
        const r = await runIn(ns, ["python3", "-c", script], { timeoutMs: 15_000 })
        const ip = ipToString(runner.stack.ip)
        assert.equal(r.stdout.toString().trim(), `${ip} 5353 ${0x4d44} ${ip}`, r.stderr)
    })

    it(`dig -p 5353 @224.0.0.251 ${NAME}.local: the device answers dig's port with dig's ID (the capture), and the kernel refuses it`, async () => {
        const ip = runner.stack.ip
        const before = readPcap(pcap.toBuffer()).length
        const r = await runIn(ns, ["dig", "-p", "5353", "@224.0.0.251", NAME + ".local", "+time=1", "+tries=1"], { timeoutMs: 10_000 })
        const frames = readPcap(pcap.toBuffer()).slice(before).map((p) => p.frame)
        const udp = (f: Buffer) => f.readUInt16BE(12) === 0x0800 && f[23] === 17
        const query = frames.find((f) => udp(f) && f.readUInt32BE(30) === 0xe00000fb && f.readUInt16BE(36) === 5353)
        assert.ok(query, "dig's query reached the device: " + r.stdout.toString())
        const digPort = query.readUInt16BE(34)
        const id = query.readUInt16BE(42)
        const reply = frames.find((f) => udp(f) && f.readUInt32BE(26) === ip && f.readUInt16BE(34) === 5353 && f.readUInt16BE(36) === digPort)
        assert.ok(reply, "a unicast reply to dig's port")
        assert.equal(reply.readUInt16BE(42), id, "with the query's ID")
        assert.equal(reply.readUInt32BE(reply.length - 4) >>> 0, ip, "the last record is our A record")
        // dig 9.18 has connected its socket to 224.0.0.251: the kernel answers our reply with port unreachable
        const refused = frames.some((f) => f.readUInt16BE(12) === 0x0800 && f[23] === 1 && f[34] === 3 && f[35] === 3)
        assert.ok(refused || r.stdout.toString().includes(ipToString(ip)), "refused by the kernel (or accepted by a dig that does not connect)")
    })

    it(`dig -p 5353 @DEVICE ${NAME}.local returns the leased address`, async () => {
        const ip = ipToString(runner.stack.ip)
        const r = await runIn(ns, ["dig", "-p", "5353", "@" + ip, NAME + ".local", "+short", "+time=2", "+tries=3"], { timeoutMs: 15_000 })
        assert.equal(r.stdout.toString().trim(), ip, r.stderr)
    })

    it("dig ... _http._tcp.local PTR lists the device, with SRV and TXT", async () => {
        const ip = ipToString(runner.stack.ip)
        const r = await runIn(ns, ["dig", "-p", "5353", "@" + ip, "_http._tcp.local", "PTR", "+time=2", "+tries=3"], { timeoutMs: 15_000 })
        const text = r.stdout.toString()
        assert.match(text, new RegExp(`_http\\._tcp\\.local\\.\\s+10\\s+IN\\s+PTR\\s+${NAME}\\._http\\._tcp\\.local\\.`), text)
        assert.match(text, new RegExp(`${NAME}\\._http\\._tcp\\.local\\.\\s+10\\s+IN\\s+SRV\\s+0 0 80 ${NAME}\\.local\\.`), text)
        assert.match(text, /IN\s+TXT\s+"path=\/"/, text)
    })

    it("resolves files.test through dnsmasq and fetches a file by name (SHA-256)", async () => {
        const resolver = new DnsResolver(runner.net, dhcp.dns.slice(0, dhcp.dnsCount))
        assert.equal(ipToString(await resolver.resolve("files.test")), KERNEL)
        await assert.rejects(resolver.resolve("nothing-here.test"), (e: any) => e.code === "NXDOMAIN")
        let body: Buffer = null
        for (let i = 0; i < 20 && !body; i++) {
            try {
                const res = await request(runner.net, "http://files.test:8080/data.bin", { resolve: (h) => resolver.resolve(h), maxBodyBytes: 300_000, timeoutMs: 10_000 })
                body = await res.body()
            } catch (e) {
                // python3 may still be starting
                if (i === 19) throw e
                await new Promise((r) => setTimeout(r, 250))
            }
        }
        assert.equal(sha256(body), sha256(data))
        assert.equal(runner.stack.counters.drops[0] ?? 0, 0)
    })
})

describe("interop: the CLI: serve --dhcp --hostname, and get URL by name", { skip: dnsmasqSkip() ?? false, timeout: 120_000 }, () => {
    let ns: Netns
    let dir: string
    let data: Buffer
    const children: ChildProcess[] = []

    before(() => {
        dir = mkdtempSync(join(tmpdir(), "ds-tcpip-cli-"))
        chmodSync(dir, 0o755)
        data = randomBytes(300_000)
        writeFileSync(join(dir, "data.bin"), data)
        ns = new Netns({ tag: "cli" })
        ns.exec(["ip", "route", "add", "224.0.0.0/4", "dev", "dstap0"])
        startLanServices(ns, dir)
    })

    after(() => {
        for (const c of children) if (c.exitCode === null && c.pid) process.kill(c.pid, "SIGKILL")
        if (ns) ns.closeSync()
        if (dir) rmSync(dir, { recursive: true, force: true })
    })

    it("serve --dhcp --hostname prints the leased address; curl and dig reach it; SIGTERM stops it", async () => {
        const c = spawn(process.execPath, ["scripts/ds-tcpip.mjs", "serve", "--tap", "dstap0", "--netns", ns.name, "--dhcp", "--hostname", "clidev", "--quiet"], { stdio: ["ignore", "pipe", "pipe"] })
        children.push(c)
        let out = ""
        c.stdout.on("data", (b: Buffer) => (out += b.toString()))
        c.stderr.on("data", (b: Buffer) => (out += b.toString()))
        assert.ok(await waitFor(() => /DHCP: leased 198\.18\.0\.\d+/.test(out) && /mDNS: clidev\.local answers/.test(out), 40_000), "no lease line:\n" + out)
        const ip = /DHCP: leased (198\.18\.0\.\d+)/.exec(out)[1]
        assert.match(out, new RegExp(`http://${ip.replace(/\./g, "\\.")}/ and http://clidev\\.local/`))
        const r = await runIn(ns, ["curl", "-sS", "--max-time", "10", `http://${ip}/`], { timeoutMs: 15_000 })
        assert.equal(r.status, 0, r.stderr)
        const d = await runIn(ns, ["dig", "-p", "5353", "@" + ip, "clidev.local", "+short", "+time=2", "+tries=3"], { timeoutMs: 15_000 })
        assert.equal(d.stdout.toString().trim(), ip)
        c.kill("SIGTERM")
        assert.ok(await waitFor(() => c.exitCode !== null, 10_000), "serve stopped")
    })

    // the demo is named the way a board's configuration names it (--hostname); the starter keeps its default
    for (const [entry, name] of [["src/main.ts", "garden"], ["src/main-starter.ts", "ds-tcpip"]])
    it(`serve --device --dhcp --entry ${entry}: the firmware's bytecode in the VM leases from dnsmasq through the ENC28J60 model and answers ${name}.local`, async () => {
        const named = name === "ds-tcpip" ? [] : ["--hostname", name]
        const c = spawn(process.execPath, ["scripts/ds-tcpip.mjs", "serve", "--device", "--dhcp", "--entry", entry, ...named, "--tap", "dstap0", "--netns", ns.name], { stdio: ["ignore", "pipe", "pipe"] })
        children.push(c)
        let out = ""
        c.stdout.on("data", (b: Buffer) => (out += b.toString()))
        c.stderr.on("data", (b: Buffer) => (out += b.toString()))
        assert.ok(await waitFor(() => new RegExp(`\\[device\\] address 198\\.18\\.0\\.\\d+: http://${name}\\.local/`).test(out), 90_000), "no lease line:\n" + out)
        const ip = /\[device\] address (198\.18\.0\.\d+)/.exec(out)[1]
        // the firmware gave dnsmasq its name too (DHCP option 12): the lease records it
        assert.match(readFileSync(join(dir, "leases"), "utf8"), new RegExp(` ${ip.replace(/\./g, "\\.")} ${name} `))
        const r = await runIn(ns, ["curl", "-sS", "--max-time", "10", `http://${ip}/`], { timeoutMs: 15_000 })
        if (entry === "src/main-starter.ts") assert.equal(r.stdout.toString(), "hello from ds-tcpip\n", r.stderr)
        else assert.match(r.stdout.toString(), /<title>ds-tcpip/, r.stderr)
        // the name is answered once probing is over (about a second)
        let answer = ""
        for (let i = 0; i < 10 && answer !== ip; i++) {
            const d = await runIn(ns, ["dig", "-p", "5353", "@" + ip, name + ".local", "+short", "+time=2", "+tries=1"], { timeoutMs: 10_000 })
            answer = d.stdout.toString().trim()
        }
        assert.equal(answer, ip)
        c.kill("SIGTERM")
        assert.ok(await waitFor(() => c.exitCode !== null, 10_000), "serve stopped")
    })

    it("get fetches a file by a name dnsmasq resolves (DHCP lease, DNS, HTTP), hash-checked; errors exit non-zero", async () => {
        const get = (args: string[]) =>
            new Promise<{ code: number; stdout: Buffer; stderr: string }>((resolve) => {
                const c = spawn(process.execPath, ["scripts/ds-tcpip.mjs", "get", ...args, "--tap", "dstap0", "--netns", ns.name], { stdio: ["ignore", "pipe", "pipe"] })
                children.push(c)
                const out: Buffer[] = []
                let err = ""
                c.stdout.on("data", (b: Buffer) => out.push(b))
                c.stderr.on("data", (b: Buffer) => (err += b.toString()))
                const timer = setTimeout(() => c.kill("SIGKILL"), 60_000)
                c.on("close", (code) => {
                    clearTimeout(timer)
                    resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err })
                })
            })
        const ok = await get(["http://files.test:8080/data.bin", "--dhcp", "--timeout", "40"])
        assert.equal(ok.code, 0, ok.stderr)
        assert.equal(ok.stdout.length, data.length)
        assert.equal(sha256(ok.stdout), sha256(data))
        // a fixed address and the DNS server given by hand; a name that does not exist
        const nx = await get(["http://nothing.test:8080/", "--ip", "198.18.0.9/24", "--dns", KERNEL, "--timeout", "20"])
        assert.equal(nx.code, 1)
        assert.match(nx.stderr, /NXDOMAIN/)
        const missing = await get(["http://files.test:8080/missing.bin", "--ip", "198.18.0.9/24", "--dns", KERNEL, "--timeout", "20"])
        assert.equal(missing.code, 22, missing.stderr)
        assert.match(missing.stderr, /HTTP 404/)
        const usage = await get(["http://files.test/"])
        assert.equal(usage.code, 64)
        assert.match(usage.stderr, /--dhcp or --ip/)
    })
})
