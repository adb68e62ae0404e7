// A Linux TAP device for Node: whole Ethernet frames in and out of the kernel
// through /dev/net/tun opened with IFF_TAP | IFF_NO_PI.
//
// The mechanism, and why: Node has no ioctl(), and TUNSETIFF is an ioctl. The
// options were (1) a native addon built by node-gyp at `npm install`, (2) an
// npm package wrapping one, (3) a small helper process. We use (3): a ~60-line
// Python program (below, run with `python3 -c`, nothing to build or install
// beyond Debian's python3) opens /dev/net/tun, does TUNSETIFF with
// fcntl.ioctl and then relays frames between the TAP and its stdin/stdout,
// each frame prefixed with its length (2 bytes, big-endian). Reasons:
//   - The namespace rule. A tun file is bound to the network namespace of the
//     process that *opens* it (tun_chr_open takes current's net_ns), so the
//     open must happen inside the namespace. A helper is simply started with
//     `ip netns exec NS`, while the stack (and the tests driving it) stay in
//     the caller's process. An addon would need setns() and a thread dance.
//   - No blocking reads in Node: fs.read() on the tun fd would park a libuv
//     threadpool thread until the next frame and cannot be woken to close;
//     Node cannot poll an arbitrary character device (net.Socket refuses it).
//     The pipe to the helper is an ordinary stream: close = end stdin.
//   - Nothing to compile: no g++/node-gyp step that can fail in `npm ci` for
//     everyone else, and no prebuilt binaries (which could not be fetched).
//   - Idle costs nothing: the helper sleeps in select(), Node in its event loop.
// The price is one extra copy through a pipe and a Python loop per frame.
// Measured with scripts/tap-bench.ts (`npm run bench:tap`: two TapDevices on a
// Linux bridge inside a namespace, frames written to one and read back from
// the other with up to 512 in flight, so every frame crosses both relays and
// the kernel; Node 20, Python 3.11, 2 vCPUs; four runs):
//     64-byte frames:   190,000-350,000 frames/s  (3-5 µs per frame)
//     1514-byte frames:  95,000-140,000 frames/s  (7-11 µs per frame, 140-210 MB/s)
// That is throughput with batching (the helper passes up to 64 frames per
// pipe write), not the latency of a lone frame (two process wake-ups per
// crossing; a cold `ping` of `ds-tcpip serve`, four crossings plus the stack,
// measured 0.9-2.9 ms). Far above what the stack itself does per frame, so
// the bridge is not the bottleneck of `ds-tcpip serve` or the tests.
// Idle, neither process wakes up: the helper sleeps in select(), Node in epoll
// (measured: 3 epoll wake-ups in 5 s for an idle `ds-tcpip serve`).
//
// send() copies the frame synchronously (the NetDriver contract) into the
// pipe; frames written in one event-loop turn are corked into one write. If
// the helper falls behind by more than maxQueueBytes, frames are dropped and
// counted (like a full transmit ring) rather than buffered without bound.
import { spawn, spawnSync, ChildProcess } from "node:child_process"
import { existsSync } from "node:fs"

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

export interface TapOptions {
    /** Open the TAP inside this network namespace (the helper runs under `ip netns exec`). */
    netns?: string
    /** The Python interpreter (default /usr/bin/python3 when present, else python3 on PATH). */
    python?: string
    /** Most bytes queued toward the helper before frames are dropped (default 4 MiB). */
    maxQueueBytes?: number
    /** How long open() waits for the helper (default 10 s). */
    openTimeoutMs?: number
}

export interface TapStats {
    rxFrames: number
    rxBytes: number
    txFrames: number
    txBytes: number
    /** Frames dropped because the helper was too far behind. */
    txDropped: number
}

export class TapError extends Error {
    /** The errno name from the kernel (EPERM, EBUSY, ENOENT...), or a short code of ours. */
    readonly code: string
    constructor(code: string, message: string) {
        super(message)
        this.code = code
    }
}

/** Explains a TUNSETIFF failure in a sentence a user can act on. */
function explain(code: string, name: string, detail: string, netns?: string): string {
    const where = netns ? ` in namespace ${netns}` : ""
    switch (code) {
        case "EPERM":
        case "EACCES":
            return `cannot open TAP ${name}${where}: permission denied (run as root, or give CAP_NET_ADMIN)`
        case "EBUSY":
            return `TAP ${name}${where} is busy: another process has it open (or it exists with other flags, e.g. as a TUN)`
        case "ENOENT":
        case "ENODEV":
            return `cannot open /dev/net/tun${where}: the tun module is missing (modprobe tun)`
        case "EINVAL":
            return `cannot attach TAP ${name}${where}: ${detail} (a non-TAP interface of that name exists?)`
        default:
            return `cannot open TAP ${name}${where}: ${code} ${detail}`
    }
}

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

export class TapDevice {
    readonly name: string
    readonly stats: TapStats = { rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, txDropped: 0 }
    /** Called with each received frame (a fresh Buffer the callee may keep). */
    onFrame: ((frame: Buffer) => void) | null = null
    /** Called once when the helper goes away (null error: closed by us). */
    onClose: ((err: Error | null) => void) | null = null

    private readonly child: ChildProcess
    private readonly maxQueue: number
    private pending: Buffer | null = null
    private corked = false
    private closed = false
    private exited: Promise<void>

    private constructor(name: string, child: ChildProcess, maxQueue: number) {
        this.name = name
        this.child = child
        this.maxQueue = maxQueue
        this.exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
    }

    /**
     * Opens (creating if needed) the TAP interface `name`. Resolves once the
     * kernel attached it; rejects with a TapError that says what is wrong.
     */
    static open(name: string, opts: TapOptions = {}): Promise<TapDevice> {
        if (!name || name.length > 15 || /[\s/]/.test(name)) {
            return Promise.reject(new TapError("EINVAL", `bad interface name "${name}" (1..15 characters, no spaces or /)`))
        }
        const python = findPython(opts.python)
        const argv = [python, "-u", "-c", HELPER, name]
        const cmd = opts.netns ? ["ip", "netns", "exec", opts.netns, ...argv] : argv
        const child = spawn(cmd[0], cmd.slice(1), { stdio: ["pipe", "pipe", "pipe"] })
        const dev = new TapDevice(name, child, opts.maxQueueBytes ?? 4 * 1024 * 1024)
        return new Promise<TapDevice>((resolve, reject) => {
            let ready = false
            let stderr = ""
            const timer = setTimeout(() => {
                if (ready) return
                child.kill("SIGKILL")
                reject(new TapError("ETIMEDOUT", `TAP helper for ${name} did not start within ${opts.openTimeoutMs ?? 10000} ms`))
            }, opts.openTimeoutMs ?? 10000)
            child.stderr.setEncoding("utf8")
            child.stderr.on("data", (s: string) => {
                if (stderr.length < 4096) stderr += s
            })
            child.on("error", (e: NodeJS.ErrnoException) => {
                clearTimeout(timer)
                if (!ready) {
                    const what = e.code === "ENOENT" ? `${cmd[0]} not found (the TAP helper needs python3${opts.netns ? " and ip (iproute2)" : ""})` : String(e)
                    reject(new TapError(e.code || "ESPAWN", what))
                }
            })
            child.on("exit", (code, signal) => {
                clearTimeout(timer)
                if (!ready) {
                    const m = /^ERR (\S+) (.*)$/m.exec(stderr)
                    if (m) reject(new TapError(m[1], explain(m[1], name, m[2], opts.netns)))
                    else reject(new TapError("EHELPER", `TAP helper for ${name} exited (${signal || code}): ${stderr.trim() || "no message"}`))
                    return
                }
                const err = dev.closed ? null : new Error(`TAP helper for ${name} exited (${signal || code}): ${stderr.trim()}`)
                dev.closed = true
                if (dev.onClose) dev.onClose(err)
            })
            child.stdin.on("error", () => {}) // EPIPE when the helper died: reported by "exit"
            child.stdout.on("data", (chunk: Buffer) => {
                dev.input(chunk, () => {
                    if (ready) return
                    ready = true
                    clearTimeout(timer)
                    resolve(dev)
                })
            })
        })
    }

    /** Sends frame[0, length) to the kernel. Copies before returning; never throws. */
    send(frame: Buffer, length: number = frame.length): void {
        if (this.closed) return
        const stdin = this.child.stdin
        if (length > 65535 || length < 14 || stdin.writableLength > this.maxQueue) {
            this.stats.txDropped++
            return
        }
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
        this.stats.txFrames++
        this.stats.txBytes += length
    }

    /** Bytes written but not yet taken by the helper. */
    queuedBytes(): number {
        return this.closed ? 0 : this.child.stdin.writableLength
    }

    /** Closes the helper (and with it the TAP fd; a non-persistent TAP disappears). */
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

    /** The helper's process id (it holds the TAP fd). */
    get pid(): number {
        return this.child.pid
    }

    private input(chunk: Buffer, onReady: () => void): void {
        let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk
        let off = 0
        while (buf.length - off >= 2) {
            const len = (buf[off] << 8) | buf[off + 1]
            if (buf.length - off - 2 < len) break
            if (len === 0) onReady()
            else {
                // a copy: the chunk is shared by the frames in it, and callers may keep frames
                const f = Buffer.from(buf.subarray(off + 2, off + 2 + len))
                this.stats.rxFrames++
                this.stats.rxBytes += len
                if (this.onFrame && !this.closed) this.onFrame(f)
            }
            off += 2 + len
        }
        this.pending = off < buf.length ? Buffer.from(buf.subarray(off)) : null
        buf = null
    }
}
