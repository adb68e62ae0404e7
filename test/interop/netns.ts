// Network namespaces for the interop tests and the TAP benchmark: each user
// makes its own namespace (a unique name) with a persistent TAP inside,
// 198.18.0.1/24 on the kernel's side, IPv6 off (no router solicitations or
// MLD reports to count as drops), and removes both on close, on process exit
// and on SIGINT/SIGTERM. Only addresses from 198.18.0.0/15 are used.
import { spawnSync, spawn, SpawnOptions } from "node:child_process"

export interface Tool {
    name: string
    /** The Debian package that provides it. */
    pkg: string
}

/** Why interop tests cannot run here, or null when they can. */
export function interopSkipReason(tools: Tool[] = []): string | null {
    if (process.platform !== "linux") return "interop tests need Linux (network namespaces and TAP devices)"
    if (typeof process.getuid === "function" && process.getuid() !== 0) return "interop tests need root (network namespaces and TAP devices); run as root to include them"
    const all: Tool[] = [{ name: "ip", pkg: "iproute2" }, { name: "python3", pkg: "python3" }, ...tools]
    const missing: string[] = []
    for (const t of all) {
        const r = spawnSync("sh", ["-c", `command -v ${t.name}`], { stdio: "ignore" })
        if (r.status !== 0) missing.push(`${t.name} (Debian package ${t.pkg})`)
    }
    if (missing.length) return "interop tests need " + missing.join(", ")
    const r = spawnSync("sh", ["-c", "test -c /dev/net/tun"], { stdio: "ignore" })
    if (r.status !== 0) return "interop tests need /dev/net/tun (the tun module)"
    return null
}

function run(args: string[], check = true): { status: number; stdout: string; stderr: string } {
    const r = spawnSync(args[0], args.slice(1), { encoding: "utf8", timeout: 10000 })
    const out = { status: r.status ?? -1, stdout: r.stdout || "", stderr: r.stderr || "" }
    if (check && out.status !== 0) throw new Error(`${args.join(" ")} failed (${out.status}): ${out.stderr.trim()}`)
    return out
}

const live = new Set<Netns>()
let hooked = false
function hookExit(): void {
    if (hooked) return
    hooked = true
    process.on("exit", () => {
        for (const n of [...live]) n.closeSync()
    })
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
        process.once(sig, () => {
            for (const n of [...live]) n.closeSync()
            process.exit(130)
        })
    }
}

export interface NetnsOptions {
    /** Short tag in the namespace's name (ds<tag><pid>). */
    tag: string
    /** TAP interfaces to create (default one, "dstap0"). */
    taps?: string[]
    /** Address of the kernel side on the first TAP (default 198.18.0.1/24; "" for none). */
    kernelAddress?: string
}

export class Netns {
    readonly name: string
    readonly taps: string[]
    private children: { pid: number }[] = []
    private closed = false

    constructor(o: NetnsOptions) {
        hookExit()
        this.name = `ds${o.tag}${process.pid}`.slice(0, 15)
        this.taps = o.taps ?? ["dstap0"]
        // a leftover from a killed run of the same pid would be ours: start clean
        run(["ip", "netns", "del", this.name], false)
        run(["ip", "netns", "add", this.name])
        live.add(this)
        try {
            this.exec(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"], false)
            this.exec(["ip", "link", "set", "lo", "up"])
            for (const t of this.taps) {
                this.exec(["ip", "tuntap", "add", "dev", t, "mode", "tap"])
                this.exec(["ip", "link", "set", t, "up"])
            }
            const a = o.kernelAddress ?? "198.18.0.1/24"
            if (a && this.taps.length) this.exec(["ip", "addr", "add", a, "dev", this.taps[0]])
        } catch (e) {
            this.closeSync()
            throw e
        }
    }

    /** Runs a command inside the namespace, synchronously. */
    exec(args: string[], check = true): { status: number; stdout: string; stderr: string } {
        return run(["ip", "netns", "exec", this.name, ...args], check)
    }

    /** Argument vector that runs `args` inside the namespace. */
    argv(args: string[]): string[] {
        return ["ip", "netns", "exec", this.name, ...args]
    }

    /** Starts a long-running command inside the namespace; it is killed (by pid) on close. */
    spawn(args: string[], opts: SpawnOptions = {}) {
        const a = this.argv(args)
        const c = spawn(a[0], a.slice(1), { stdio: "ignore", ...opts })
        if (c.pid) this.children.push({ pid: c.pid })
        return c
    }

    /** Kills what spawn() started and deletes the namespace (its TAPs go with it). */
    closeSync(): void {
        if (this.closed) return
        this.closed = true
        live.delete(this)
        for (const c of this.children) {
            try {
                process.kill(c.pid, "SIGKILL")
            } catch {}
        }
        for (const t of this.taps) run(["ip", "-n", this.name, "link", "del", t], false)
        run(["ip", "netns", "del", this.name], false)
    }
}
