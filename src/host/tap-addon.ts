// The TAP bridge through the native addon (native/tap.c, built by
// scripts/build-native.mjs at npm install): the TAP's fd lives in this
// process; libuv polls it, the addon reads every frame that is ready into one
// slab and calls back once per batch; send() is one write() on the fd.
import { createRequire } from "node:module"
import { existsSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type { TapIo, TapSink } from "./tap.js"
import { TapError, explainTapError } from "./tap-error.js"

/** What native/tap.c exports. */
interface TapAddon {
    /** Opens /dev/net/tun and attaches it to TAP `name` (in the namespace at nsPath); returns the fd. */
    open(name: string, nsPath: string | null): number
    attach(fd: number): unknown
    start(handle: unknown, slab: Buffer, lengths: Uint32Array, onFrames: (count: number) => void): void
    /** Bytes written, or -errno. */
    write(handle: unknown, frame: Buffer, length: number): number
    close(handle: unknown): void
    stats(handle: unknown): { batches: number; readErrors: number }
}

export const TAP_ADDON_PATH = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "build", "native", "tap.node")

let addon: TapAddon | null | undefined
let addonError = ""

/** The addon, or null when it is not built or does not load (tapAddonError() says why). */
export function tapAddon(): TapAddon | null {
    if (addon !== undefined) return addon
    addon = null
    if (!existsSync(TAP_ADDON_PATH)) {
        addonError = `${TAP_ADDON_PATH} is not built (npm install builds it; or: node scripts/build-native.mjs)`
    } else {
        try {
            addon = createRequire(import.meta.url)(TAP_ADDON_PATH) as TapAddon
        } catch (e) {
            addonError = `cannot load ${TAP_ADDON_PATH}: ${(e as Error).message}`
        }
    }
    return addon
}

/** Why tapAddon() returned null ("" when it loaded). */
export function tapAddonError(): string {
    tapAddon()
    return addonError
}

/** Slab for one batch of received frames: the addon reads while >= 64 KiB is left. */
const SLAB_BYTES = 1 << 20
const MAX_BATCH = 256

const errnoNames: Record<number, string> = { 5: "EIO", 9: "EBADF", 77: "EBADFD", 19: "ENODEV", 100: "ENETDOWN" }

export class AddonTapIo implements TapIo {
    private handle: unknown
    private readonly slab = Buffer.allocUnsafeSlow(SLAB_BYTES)
    private readonly lengths = new Uint32Array(MAX_BATCH)
    private closed = false

    private constructor(
        private readonly a: TapAddon,
        fd: number,
        private readonly sink: TapSink,
        private readonly name: string,
    ) {
        this.handle = a.attach(fd)
        const self = this
        a.start(this.handle, this.slab, this.lengths, (count: number) => self.batch(count))
    }

    /** Opens the TAP (inside the namespace `netns`, when given). Throws a TapError. */
    static open(name: string, sink: TapSink, netns?: string): AddonTapIo {
        const a = tapAddon()
        if (!a) throw new TapError("ENOADDON", tapAddonError())
        let nsPath: string | null = null
        if (netns) {
            nsPath = `/run/netns/${netns}`
            if (!existsSync(nsPath)) throw new TapError("ENOENT", `there is no network namespace ${netns} (${nsPath} is missing)`)
        }
        let fd: number
        try {
            fd = a.open(name, nsPath)
        } catch (e) {
            const err = e as Error & { code?: string }
            const code = err.code || "EIO"
            throw new TapError(code, explainTapError(code, name, err.message, netns))
        }
        return new AddonTapIo(a, fd, sink, name)
    }

    send(frame: Buffer, length: number): boolean {
        if (this.closed) return false
        // -EAGAIN/-ENOBUFS: the kernel would not take it (a lost frame, as on a wire)
        return this.a.write(this.handle, frame, length) === length
    }

    queuedBytes(): number {
        return 0 // write() hands each frame to the kernel at once
    }

    async close(): Promise<void> {
        if (this.closed) return
        this.closed = true
        this.a.close(this.handle)
        this.sink.stopped(null)
    }

    /** Batches read and read errors, from the addon. */
    addonStats(): { batches: number; readErrors: number } {
        return this.a.stats(this.handle)
    }

    private batch(count: number): void {
        if (this.closed) return
        if (count < 0) {
            // the fd failed (the interface or its namespace went away): polling has stopped
            const code = errnoNames[-count] || `errno ${-count}`
            this.closed = true
            this.a.close(this.handle)
            this.sink.stopped(new Error(`TAP ${this.name}: read failed (${code}); the interface is gone?`))
            return
        }
        const slab = this.slab
        const lengths = this.lengths
        let off = 0
        for (let i = 0; i < count && !this.closed; i++) {
            const len = lengths[i]
            this.sink.received(slab.subarray(off, off + len))
            off = (off + len + 3) & ~3 // the addon starts each frame on a 4-byte boundary
        }
    }
}
