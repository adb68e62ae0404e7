// The python3 helper behind the TAP bridge when the addon is not built
// (src/host/tap.ts explains the choice): a small Python program, run with
// `python3 -c` (under `ip netns exec NS` for a namespace), opens
// /dev/net/tun, does TUNSETIFF with fcntl.ioctl and relays frames between the
// TAP and its stdin/stdout, each frame prefixed with its length (2 bytes,
// big-endian). The price is a copy through a pipe each way and a Python loop
// per frame, and a third process on the CPU.
//
// send() copies the frame synchronously into the pipe; frames written in one
// event-loop turn are corked into one write. If the helper falls behind by
// more than maxQueueBytes, frames are dropped (like a full transmit ring)
// rather than buffered without bound.
import { spawn, spawnSync, ChildProcess } from "node:child_process"
import { existsSync } from "node:fs"
import type { TapIo, TapSink } from "./tap.js"
import { TapError, explainTapError } from "./tap-error.js"

const HELPER = String.raw`
import os, sys, fcntl, struct, select, errno
TUNSETIFF = 0x400454ca
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
name = sys.argv[1].encode()
try:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name, IFF_TAP | IFF_NO_PI))
except OSError as e:
    sys.stderr.write("ERR %s %s\n" % (errno.errorcode.get(e.errno, str(e.errno)), e.strerror))
    sys.exit(2)
fl = fcntl.fcntl(fd, fcntl.F_GETFL)
fcntl.fcntl(fd, fcntl.F_SETFL, fl | os.O_NONBLOCK)
out = sys.stdout.fileno()
inp = sys.stdin.fileno()
def write_all(b):
    v = memoryview(b)
    while len(v):
        n = os.write(out, v)
        v = v[n:]
write_all(b"\x00\x00")  # ready: an empty record
pending = b""
while True:
    r, _, _ = select.select([fd, inp], [], [])
    if fd in r:
        parts = []
        for _ in range(64):
            try:
                f = os.read(fd, 65536)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EINTR):
                    break
                raise
            parts.append(struct.pack(">H", len(f)))
            parts.append(f)
        if parts:
            write_all(b"".join(parts))
    if inp in r:
        chunk = os.read(inp, 262144)
        if not chunk:
            sys.exit(0)
        pending = pending + chunk if pending else chunk
        off = 0
        n = len(pending)
        while n - off >= 2:
            ln = (pending[off] << 8) | pending[off + 1]
            if n - off - 2 < ln:
                break
            try:
                os.write(fd, pending[off + 2:off + 2 + ln])
            except OSError:
                pass  # interface down or frame refused: a lost frame, as on a wire
            off += 2 + ln
        pending = pending[off:]
`


function findPython(given?: string): string {
    if (given) return given
    if (existsSync("/usr/bin/python3")) return "/usr/bin/python3"
    return "python3"
}

/** True when this machine can run the helper (python3 found). */
export function havePython(python?: string): boolean {
    const r = spawnSync(findPython(python), ["-c", "import fcntl"], { stdio: "ignore", timeout: 10000 })
    return !r.error && r.status === 0
}

export interface HelperOptions {
    netns?: string
    python?: string
    maxQueueBytes: number
    openTimeoutMs: number
}

export class HelperTapIo implements TapIo {
    private pending: Buffer | null = null
    private corked = false
    private closed = false
    private readonly exited: Promise<void>

    private constructor(
        private readonly child: ChildProcess,
        private readonly sink: TapSink,
        private readonly maxQueue: number,
    ) {
        this.exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
    }

    /** Starts the helper; resolves once the kernel attached the TAP. */
    static open(name: string, sink: TapSink, o: HelperOptions): Promise<HelperTapIo> {
        const python = findPython(o.python)
        const argv = [python, "-u", "-c", HELPER, name]
        const cmd = o.netns ? ["ip", "netns", "exec", o.netns, ...argv] : argv
        const child = spawn(cmd[0], cmd.slice(1), { stdio: ["pipe", "pipe", "pipe"] })
        const io = new HelperTapIo(child, sink, o.maxQueueBytes)
        return new Promise<HelperTapIo>((resolve, reject) => {
            let ready = false
            let stderr = ""
            const timer = setTimeout(() => {
                if (ready) return
                child.kill("SIGKILL")
                reject(new TapError("ETIMEDOUT", `TAP helper for ${name} did not start within ${o.openTimeoutMs} ms`))
            }, o.openTimeoutMs)
            child.stderr.setEncoding("utf8")
            child.stderr.on("data", (s: string) => {
                if (stderr.length < 4096) stderr += s
            })
            child.on("error", (e: NodeJS.ErrnoException) => {
                clearTimeout(timer)
                if (!ready) {
                    const what = e.code === "ENOENT" ? `${cmd[0]} not found (the TAP helper needs python3${o.netns ? " and ip (iproute2)" : ""})` : String(e)
                    reject(new TapError(e.code || "ESPAWN", what))
                }
            })
            child.on("exit", (code, signal) => {
                clearTimeout(timer)
                if (!ready) {
                    const m = /^ERR (\S+) (.*)$/m.exec(stderr)
                    if (m) reject(new TapError(m[1], explainTapError(m[1], name, m[2], o.netns)))
                    else reject(new TapError("EHELPER", `TAP helper for ${name} exited (${signal || code}): ${stderr.trim() || "no message"}`))
                    return
                }
                const err = io.closed ? null : new Error(`TAP helper for ${name} exited (${signal || code}): ${stderr.trim()}`)
                io.closed = true
                sink.stopped(err)
            })
            child.stdin.on("error", () => {}) // EPIPE when the helper died: reported by "exit"
            child.stdout.on("data", (chunk: Buffer) => {
                io.input(chunk, () => {
                    if (ready) return
                    ready = true
                    clearTimeout(timer)
                    resolve(io)
                })
            })
        })
    }

    send(frame: Buffer, length: number): boolean {
        if (this.closed) return false
        const stdin = this.child.stdin
        if (stdin.writableLength > this.maxQueue) return false
        const rec = Buffer.allocUnsafe(2 + length)
        rec[0] = length >> 8
        rec[1] = length & 0xff
        frame.copy(rec, 2, 0, length)
        if (!this.corked) {
            this.corked = true
            stdin.cork()
            process.nextTick(() => {
                this.corked = false
                stdin.uncork()
            })
        }
        stdin.write(rec)
        return true
    }

    queuedBytes(): number {
        return this.closed ? 0 : this.child.stdin.writableLength
    }

    async close(): Promise<void> {
        if (!this.closed) {
            this.closed = true
            this.child.stdin.end()
            const t = setTimeout(() => this.child.kill("SIGKILL"), 2000)
            await this.exited
            clearTimeout(t)
        }
        await this.exited
    }

    private input(chunk: Buffer, onReady: () => void): void {
        const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk
        let off = 0
        while (buf.length - off >= 2) {
            const len = (buf[off] << 8) | buf[off + 1]
            if (buf.length - off - 2 < len) break
            if (len === 0) onReady()
            else if (!this.closed) this.sink.received(buf.subarray(off + 2, off + 2 + len))
            off += 2 + len
        }
        this.pending = off < buf.length ? Buffer.from(buf.subarray(off)) : null
    }
}
