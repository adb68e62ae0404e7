// A Linux TAP device for Node: whole Ethernet frames in and out of the kernel
// through /dev/net/tun opened with IFF_TAP | IFF_NO_PI.
//
// The mechanism, and why. Node has no ioctl() (TUNSETIFF is one) and cannot
// poll a character device (net.Socket refuses it; fs.read() would park a
// threadpool thread per read), so something native has to hold the fd. Two
// mechanisms, chosen per open():
//   - "addon" (the default when built): native/tap.c, a small Node-API
//     addon in C that `npm install` compiles with the system compiler against
//     Node's own headers (scripts/build-native.mjs; no node-gyp, nothing
//     downloaded, nothing linked). libuv polls the fd; on readable the addon
//     reads every frame that is ready into one slab and calls JS once per
//     batch with views into it; send() is one write() with no copy. A tun fd
//     belongs to the namespace it was opened in, so for --netns the addon
//     enters the namespace with setns() on the calling thread just for the
//     open and returns at once.
//   - "helper" (the fallback without a C compiler): a small python3 program
//     holds the fd and relays frames over a pipe (src/host/tap-helper.ts).
//     Nothing to build, but every frame is copied through the pipe and a
//     Python loop, and the helper is a third process wanting a CPU.
// No npm package was a fit: the TUN/TAP wrappers there are unmaintained or
// bring a build of their own (node-gyp and headers from the network).
//
// Measured with scripts/tap-bench.ts (`npm run bench:tap`): see the README.
//
// Received frames are views into a buffer that is reused: valid only during
// the onFrame call (the Stack's receive() contract already says so). send()
// never throws; frames the kernel does not take are counted in txDropped.
import { TapError, explainTapError } from "./tap-error.js"
import { AddonTapIo, tapAddon, tapAddonError } from "./tap-addon.js"
import { HelperTapIo, havePython } from "./tap-helper.js"

export { TapError, explainTapError, tapAddon, tapAddonError, havePython }

export type TapMechanism = "addon" | "helper"

export interface TapOptions {
    /** Open the TAP inside this network namespace (by name, as `ip netns` knows it). */
    netns?: string
    /** "addon" or "helper"; default: the addon when it is built, else the helper. Env DS_TCPIP_TAP overrides the default. */
    mechanism?: TapMechanism
    /** Helper only: the Python interpreter (default /usr/bin/python3 when present, else python3 on PATH). */
    python?: string
    /** Helper only: most bytes queued toward the helper before frames are dropped (default 4 MiB). */
    maxQueueBytes?: number
    /** Helper only: how long open() waits for the helper (default 10 s). */
    openTimeoutMs?: number
}

export interface TapStats {
    rxFrames: number
    rxBytes: number
    txFrames: number
    txBytes: number
    /** Frames not sent: too short or long, the kernel refused them, or the helper was too far behind. */
    txDropped: number
}

/** What a mechanism reports to its TapDevice. */
export interface TapSink {
    /** A received frame: a view valid only during the call. */
    received(frame: Buffer): void
    /** The mechanism stopped: null when closed by us, else what went wrong. */
    stopped(err: Error | null): void
}

/** A mechanism: moves frames, and nothing else (TapDevice counts and checks). */
export interface TapIo {
    /** Hands frame[0, length) to the kernel, copying it; false if it was not taken. */
    send(frame: Buffer, length: number): boolean
    /** Bytes accepted but not yet handed to the kernel. */
    queuedBytes(): number
    close(): Promise<void>
}

/** The mechanism open() picks when none is given. */
export function defaultTapMechanism(): TapMechanism {
    const env = process.env["DS_TCPIP_TAP"]
    if (env === "addon" || env === "helper") return env
    return tapAddon() ? "addon" : "helper"
}

export class TapDevice implements TapSink {
    readonly name: string
    readonly mechanism: TapMechanism
    readonly stats: TapStats = { rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, txDropped: 0 }
    /** Called with each received frame: a view valid only during the call (copy to keep). */
    onFrame: ((frame: Buffer) => void) | null = null
    /** Called once when the device stops (null error: closed by us). */
    onClose: ((err: Error | null) => void) | null = null

    private io: TapIo | null = null
    private closed = false

    private constructor(name: string, mechanism: TapMechanism) {
        this.name = name
        this.mechanism = mechanism
    }

    /**
     * Opens (creating if needed) the TAP interface `name`. Resolves once the
     * kernel attached it; rejects with a TapError that says what is wrong.
     */
    static async open(name: string, opts: TapOptions = {}): Promise<TapDevice> {
        if (!name || name.length > 15 || /[\s/]/.test(name)) {
            throw new TapError("EINVAL", `bad interface name "${name}" (1..15 characters, no spaces or /)`)
        }
        const mechanism = opts.mechanism ?? defaultTapMechanism()
        const dev = new TapDevice(name, mechanism)
        if (mechanism === "addon") dev.io = AddonTapIo.open(name, dev, opts.netns)
        else {
            dev.io = await HelperTapIo.open(name, dev, {
                netns: opts.netns,
                python: opts.python,
                maxQueueBytes: opts.maxQueueBytes ?? 4 * 1024 * 1024,
                openTimeoutMs: opts.openTimeoutMs ?? 10000,
            })
        }
        return dev
    }

    /** Sends frame[0, length) to the kernel. Copies before returning; never throws. */
    send(frame: Buffer, length: number = frame.length): void {
        if (this.closed) return
        if (length > 65535 || length < 14 || length > frame.length || !this.io.send(frame, length)) {
            this.stats.txDropped++
            return
        }
        this.stats.txFrames++
        this.stats.txBytes += length
    }

    /** Bytes written but not yet taken by the kernel (only the helper queues). */
    queuedBytes(): number {
        return this.closed ? 0 : this.io.queuedBytes()
    }

    /** Closes the TAP fd (a non-persistent TAP disappears). */
    async close(): Promise<void> {
        if (this.io) await this.io.close()
        this.closed = true
    }

    /** TapSink: a frame from the mechanism. */
    received(f: Buffer): void {
        if (this.closed) return
        this.stats.rxFrames++
        this.stats.rxBytes += f.length
        if (this.onFrame) this.onFrame(f)
    }

    /** TapSink: the mechanism stopped. */
    stopped(err: Error | null): void {
        if (this.closed) return
        this.closed = true
        if (this.onClose) this.onClose(err)
    }
}
