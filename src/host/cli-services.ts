// The CLI's use of the services (src/services/): `serve --dhcp --hostname
// NAME` and `ds-tcpip get URL`, kept out of cli.ts behind two calls so the
// CLI's option parsing can change around them.
//
//   ds-tcpip get URL --tap IF (--dhcp | --ip A/P [--gateway G] [--dns D])
//                [--netns NS] [--mac M] [--hostname NAME] [--timeout S] [--verbose]
//       Fetches URL through ds-tcpip's own stack on a TAP: a DHCP lease (or
//       the given address), DNS through the lease's servers (or --dns), an
//       active open, the HTTP client. The body goes to stdout, errors to
//       stderr (one line); the exit code is 0 for a 2xx/3xx response, 22 for
//       an HTTP error status (as curl -f), 1 for anything else that failed, 64 for bad
//       arguments.
import "./buffer-polyfill.js"
import { parseArgs } from "node:util"
import { existsSync } from "node:fs"
import { TapDevice, TapError } from "./tap.js"
import { RealTimeRunner } from "./runner.js"
import { DhcpClient, startDhcp } from "../services/dhcp.js"
import { MdnsResponder, startMdns, validHostname } from "../services/mdns.js"
import { DnsResolver } from "../services/dns.js"
import { request } from "../http/client.js"
import { ipToString, parseIp } from "../wire/bytes.js"

export interface ServicesOptions {
    /** Take the address from DHCP (the runner starts with 0.0.0.0). */
    dhcp: boolean
    /** NAME.local over mDNS, with _http._tcp on port 80; also DHCP's option 12. */
    hostname?: string
    log: (line: string) => void
}

/**
 * Starts DHCP and/or mDNS for `serve` on a started runner; prints the leased
 * address and the URLs when they are known.
 */
export function startServices(runner: RealTimeRunner, o: ServicesOptions): { dhcp: DhcpClient; mdns: MdnsResponder } {
    const stack = runner.stack
    let mdns: MdnsResponder = null
    const url = () => {
        const ip = ipToString(stack.ip)
        return o.hostname && mdns ? `http://${ip}/ and http://${mdns.name}.local/` : `http://${ip}/`
    }
    if (o.hostname) {
        mdns = startMdns(stack, { name: o.hostname, service: "_http._tcp", port: 80, txt: ["path=/"], onName: (n) => o.log(`mDNS: ${n}.local answers at ${ipToString(stack.ip)}`) }, runner.host.now())
    }
    let dhcp: DhcpClient = null
    if (o.dhcp) {
        dhcp = startDhcp(runner.net, {
            hostName: o.hostname,
            onChange: (bound) => {
                if (bound) o.log(`DHCP: leased ${ipToString(stack.ip)}/${prefixOf(stack.netmask)} for ${dhcp.leaseTime} s from ${ipToString(dhcp.server)}; ${url()}`)
                else o.log("DHCP: the lease is gone; asking again")
            },
        })
    }
    return { dhcp, mdns }
}

function prefixOf(mask: number): number {
    let n = 0
    for (let b = 31; b >= 0 && (mask >>> b) & 1; b--) n++
    return n
}

class GetError extends Error {
    constructor(
        message: string,
        readonly exitCode: number,
    ) {
        super(message)
    }
}

/** `ds-tcpip get ...`: returns the exit code. */
export async function getCommand(argv: string[]): Promise<number> {
    let opts: any
    let url: string
    try {
        const parsed = parseArgs({
            args: argv,
            allowPositionals: true,
            strict: true,
            options: {
                tap: { type: "string" },
                dhcp: { type: "boolean" },
                ip: { type: "string" },
                gateway: { type: "string" },
                dns: { type: "string" },
                netns: { type: "string" },
                mac: { type: "string" },
                hostname: { type: "string" },
                timeout: { type: "string" },
                verbose: { type: "boolean" },
            },
        })
        opts = parsed.values
        if (parsed.positionals.length !== 1) throw new GetError("get needs exactly one URL", 64)
        url = parsed.positionals[0]
        if (!opts.tap) throw new GetError("get needs --tap IF", 64)
        if (!opts.dhcp === !opts.ip) throw new GetError("get needs either --dhcp or --ip ADDR/PREFIX", 64)
        if (opts.dns && parseIp(opts.dns) < 0) throw new GetError(`--dns: bad address "${opts.dns}"`, 64)
        if (opts.gateway && parseIp(opts.gateway) < 0) throw new GetError(`--gateway: bad address "${opts.gateway}"`, 64)
        if (opts.hostname && !validHostname(opts.hostname)) throw new GetError(`--hostname: "${opts.hostname}" is not a host name (letters, digits, '-')`, 64)
    } catch (e) {
        const msg = e instanceof GetError ? e.message : (e as Error).message
        process.stderr.write(`ds-tcpip: ${msg} (ds-tcpip get --help)\n`)
        return 64
    }
    const timeoutMs = opts.timeout ? Number(opts.timeout) * 1000 : 30_000
    if (!(timeoutMs > 0 && timeoutMs <= 3_600_000)) {
        process.stderr.write(`ds-tcpip: --timeout must be 1..3600 seconds\n`)
        return 64
    }
    if (typeof process.getuid === "function" && process.getuid() !== 0) {
        process.stderr.write("ds-tcpip: get opens a TAP device and needs root\n")
        return 77
    }
    if (!existsSync("/dev/net/tun")) {
        process.stderr.write("ds-tcpip: /dev/net/tun is missing: load the tun module (modprobe tun)\n")
        return 1
    }
    const verbose = (line: string) => {
        if (opts.verbose) process.stderr.write(line + "\n")
    }
    let tap: TapDevice = null
    let runner: RealTimeRunner = null
    const deadline = performance.now() + timeoutMs
    const left = () => Math.max(1, Math.round(deadline - performance.now()))
    try {
        try {
            tap = await TapDevice.open(opts.tap, { netns: opts.netns })
        } catch (e) {
            throw new GetError(e instanceof TapError ? e.message : String(e), 1)
        }
        runner = new RealTimeRunner({
            link: tap,
            mac: opts.mac,
            ip: opts.dhcp ? "0.0.0.0" : opts.ip,
            gateway: opts.gateway,
            limits: { tcpConnections: 4, tcpSendBuffer: 16384, tcpRecvBuffer: 16384 },
            log: (line) => verbose(line),
        })
        runner.start()
        let servers: number[] = opts.dns ? [parseIp(opts.dns)] : []
        if (opts.dhcp) {
            const dhcp = startDhcp(runner.net, { hostName: opts.hostname })
            if (!(await dhcp.configured(left()))) throw new GetError(`no DHCP lease within ${timeoutMs / 1000} s`, 1)
            verbose(`leased ${ipToString(runner.stack.ip)} from ${ipToString(dhcp.server)}`)
            if (!servers.length) servers = dhcp.dns.slice(0, dhcp.dnsCount)
        }
        const resolver = servers.length ? new DnsResolver(runner.net, servers) : null
        const res = await request(runner.net, url, {
            timeoutMs: left(),
            resolve: resolver ? async (h: string) => await resolver.resolve(h) : undefined,
        })
        verbose(`HTTP ${res.status} ${res.statusText}`)
        const buf = Buffer.alloc(16384)
        for (;;) {
            const n = await res.read(buf, 0, buf.length)
            if (n === 0) break
            await new Promise<void>((resolve, reject) => process.stdout.write(buf.subarray(0, n), (e) => (e ? reject(e) : resolve())))
        }
        if (res.status >= 400) throw new GetError(`HTTP ${res.status} ${res.statusText}`, 22)
        return 0
    } catch (e) {
        const code = e instanceof GetError ? e.exitCode : 1
        const err = e as any
        process.stderr.write(`ds-tcpip: ${url}: ${err && err.message ? err.message : String(e)}\n`)
        return code
    } finally {
        if (runner) runner.stop()
        if (tap) await tap.close()
    }
}
