// The interop tests' device: a ds-tcpip Stack in this process, on a TAP inside
// the test's own namespace (src/host/tap.ts + src/host/runner.ts), with a TCP
// echo on port 7; and kernel clients run inside the namespace, asynchronously
// (the stack runs on this process's event loop, so nothing here may block it).
import "../../src/host/buffer-polyfill.js"
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { openSync, closeSync } from "node:fs"
import { TapDevice } from "../../src/host/tap.js"
import { RealTimeRunner, PcapSink } from "../../src/host/runner.js"
import { PcapWriter } from "../../src/host/sim/pcap.js"
import { Impairments } from "../../src/host/sim/impair.js"
import { Limits } from "../../src/config.js"
import { TcpServer } from "../../src/socket/socket.js"
import { startEcho as startEchoOn } from "../../src/app/echo.js"
import { startDemo, DemoOptions } from "../../src/app/demo.js"
import { HttpServer } from "../../src/http/server.js"
import { Netns } from "./netns.js"

export const KERNEL_IP = "198.18.0.1"
export const DEVICE_IP = "198.18.0.2"

export const TEST_LIMITS: Partial<Limits> = {
    tcpConnections: 8,
    tcpSendBuffer: 16384,
    tcpRecvBuffer: 16384,
    tcpMslMs: 250,
    tcpOutOfOrderRanges: 8,
}

export interface Device<P extends PcapSink = PcapWriter> {
    ns: Netns
    tap: TapDevice
    runner: RealTimeRunner
    pcap: P
    logs: string[]
    /** The demo app, when asked for. */
    http: HttpServer
    stop(): Promise<void>
}

export interface DeviceOptions<P extends PcapSink> {
    pcap: P
    limits?: Partial<Limits>
    seed?: number
    impairments?: Partial<Impairments>
    /** Start the demo app on port 80 with these options (null: only the TCP echo on 7). */
    demo?: DemoOptions
}

/**
 * The device under test: a namespace of its own with a TAP, the stack at
 * DEVICE_IP on it (in this process, on the wall clock), a TCP echo on port 7
 * and optionally the demo app. stop() takes everything down again.
 */
export async function startDevice<P extends PcapSink>(tag: string, o: DeviceOptions<P>): Promise<Device<P>> {
    const ns = new Netns({ tag })
    let tap: TapDevice = null
    try {
        tap = await TapDevice.open("dstap0", { netns: ns.name })
        const logs: string[] = []
        const pcap = o.pcap
        const runner = new RealTimeRunner({
            link: tap,
            mac: "02:00:00:00:00:02",
            ip: DEVICE_IP + "/24",
            gateway: KERNEL_IP,
            limits: o.limits ?? TEST_LIMITS,
            seed: o.seed ?? 7,
            impairments: o.impairments,
            pcap,
            log: (line, now) => {
                if (logs.length < 20000) logs.push((now / 1000).toFixed(6) + " " + line)
            },
        })
        runner.start()
        const http = o.demo ? startDemo(runner.net, runner.stack, o.demo) : null
        const echo = startEcho(runner, 7)
        return {
            ns,
            tap,
            runner,
            pcap,
            logs,
            http,
            async stop() {
                if (http) http.close()
                echo.close()
                runner.stop()
                const closable = pcap as unknown as { close?: () => void }
                if (closable.close) closable.close()
                await tap.close()
                ns.closeSync()
            },
        }
    } catch (e) {
        if (tap) await tap.close()
        ns.closeSync()
        throw e
    }
}

/** The TCP echo of src/app/echo.ts on the runner's sockets. */
export function startEcho(runner: RealTimeRunner, port: number): TcpServer {
    return startEchoOn(runner.net, port)
}

export interface Ran {
    status: number
    stdout: Buffer
    stderr: string
    ms: number
}

/** Runs a command inside the namespace without blocking the event loop; killed after timeoutMs. */
export function runIn(ns: Netns, args: string[], o: { stdinFile?: string; input?: Buffer; timeoutMs?: number } = {}): Promise<Ran> {
    const t0 = performance.now()
    const a = ns.argv(args)
    const fd = o.stdinFile ? openSync(o.stdinFile, "r") : -1
    const child = spawn(a[0], a.slice(1), { stdio: [fd >= 0 ? fd : "pipe", "pipe", "pipe"] })
    if (fd >= 0) closeSync(fd)
    const out: Buffer[] = []
    let err = ""
    child.stdout.on("data", (b: Buffer) => out.push(b))
    child.stderr.on("data", (b: Buffer) => (err += b.toString()))
    if (fd < 0) {
        child.stdin.on("error", () => {})
        child.stdin.end(o.input ?? Buffer.alloc(0))
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 20000)
    return new Promise<Ran>((resolve) => {
        child.on("close", (code, signal) => {
            clearTimeout(timer)
            resolve({ status: code ?? (signal ? 128 : -1), stdout: Buffer.concat(out), stderr: err, ms: performance.now() - t0 })
        })
    })
}

export function sha256(b: Buffer): string {
    return createHash("sha256").update(b).digest("hex")
}

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms))
}

/** Waits (without blocking) until cond() holds, up to ms; returns cond(). */
export async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
    const end = performance.now() + ms
    while (!cond()) {
        if (performance.now() > end) return false
        await sleep(20)
    }
    return true
}
