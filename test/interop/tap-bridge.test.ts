// The TAP bridge itself (src/host/tap.ts), both mechanisms: two TAPs on a
// Linux bridge in a namespace of the test's own, frames sent on one arrive on
// the other unchanged and in order, and the errors a user meets (busy, no
// such namespace, a bad name, the interface deleted under us) come out as
// TapErrors or an onClose(err), never as an exception or a spinning loop.
import { describe, it, before, after } from "node:test"
import assert from "node:assert/strict"
import { TapDevice, TapError, TapMechanism, tapAddon, tapAddonError } from "../../src/host/tap.js"
import { Netns, interopSkipReason } from "./netns.js"

const skip = interopSkipReason()
const MAC_A = [2, 0, 0, 0, 0, 0x11]
const MAC_B = [2, 0, 0, 0, 0, 0x22]
const ETHERTYPE = 0x88b5 // IEEE local experimental: nothing in the kernel takes it

/** A test frame: dst, src, our ethertype, then a sequence number and a pattern. */
function frame(dst: number[], src: number[], seq: number, size: number): Buffer {
    const f = Buffer.alloc(size)
    Buffer.from(dst).copy(f, 0)
    Buffer.from(src).copy(f, 6)
    f.writeUInt16BE(ETHERTYPE, 12)
    f.writeUInt32BE(seq, 14)
    for (let i = 18; i < size; i++) f[i] = (seq + i) & 0xff
    return f
}

function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
    const end = performance.now() + ms
    return new Promise((resolve, reject) => {
        const tick = () => {
            if (cond()) resolve()
            else if (performance.now() > end) reject(new Error("timed out waiting for " + what))
            else setTimeout(tick, 5)
        }
        tick()
    })
}

/** Sends `count` frames from `from` and checks they arrive at `to` whole and in order (at most 64 in flight). */
async function exchange(from: TapDevice, to: TapDevice, dst: number[], src: number[], count: number): Promise<void> {
    const got: Buffer[] = []
    to.onFrame = (f) => {
        if (f.length >= 18 && f.readUInt16BE(12) === ETHERTYPE && f[6] === src[0] && f[11] === src[5]) got.push(Buffer.from(f))
    }
    let sent = 0
    while (sent < count) {
        const burst = Math.min(64, count - sent)
        for (let i = 0; i < burst; i++, sent++) from.send(frame(dst, src, sent, 60 + ((sent * 97) % 1455)))
        await waitFor(() => got.length >= sent, 5000, `${sent} frames (got ${got.length})`)
    }
    to.onFrame = null
    for (let i = 0; i < count; i++) assert.deepEqual(got[i], frame(dst, src, i, 60 + ((i * 97) % 1455)), `frame ${i}`)
}

const mechanisms: { m: TapMechanism; skip: string | false }[] = [
    { m: "addon", skip: tapAddon() ? false : "the TAP addon is not built: " + tapAddonError() },
    { m: "helper", skip: false },
]

for (const { m, skip: mskip } of mechanisms) {
    describe(`TAP bridge (${m})`, { skip: skip ?? mskip, timeout: 60000 }, () => {
        let ns: Netns
        let a: TapDevice
        let b: TapDevice

        before(async () => {
            ns = new Netns({ tag: "tb" + m[0], taps: ["dstb0", "dstb1"], kernelAddress: "" })
            ns.exec(["ip", "link", "add", "dstbbr", "type", "bridge", "forward_delay", "0", "stp_state", "0"])
            for (const t of ns.taps) ns.exec(["ip", "link", "set", t, "master", "dstbbr"])
            ns.exec(["ip", "link", "set", "dstbbr", "up"])
            a = await TapDevice.open("dstb0", { netns: ns.name, mechanism: m })
            b = await TapDevice.open("dstb1", { netns: ns.name, mechanism: m })
            assert.equal(a.mechanism, m)
            // a bridge port forwards once it is up and out of its listening state
            await waitFor(() => ns.exec(["cat", "/sys/class/net/dstb1/brport/state"]).stdout.trim() === "3", 5000, "bridge port forwarding")
        })

        after(async () => {
            if (a) await a.close()
            if (b) await b.close()
            if (ns) ns.closeSync()
        })

        it("carries 1,000 frames of 60..1514 bytes each way, whole and in order", async () => {
            await exchange(a, b, MAC_B, MAC_A, 1000)
            await exchange(b, a, MAC_A, MAC_B, 1000)
            assert.ok(a.stats.txFrames >= 1000 && b.stats.txFrames >= 1000)
            assert.ok(b.stats.rxFrames >= 1000 && a.stats.rxFrames >= 1000)
            assert.equal(a.stats.txDropped + b.stats.txDropped, 0)
        })

        it("counts a frame it cannot send (shorter than a header, longer than the buffer) instead of throwing", () => {
            const before = a.stats.txDropped
            a.send(Buffer.alloc(10))
            a.send(Buffer.alloc(100), 200)
            assert.equal(a.stats.txDropped, before + 2)
        })

        it("says a TAP is busy when another opener has it", async () => {
            await assert.rejects(TapDevice.open("dstb0", { netns: ns.name, mechanism: m }), (e: TapError) => {
                assert.ok(e instanceof TapError)
                assert.equal(e.code, "EBUSY")
                assert.match(e.message, /busy/)
                return true
            })
        })

        it("rejects a bad interface name and a namespace that does not exist", async () => {
            await assert.rejects(TapDevice.open("has space", { mechanism: m }), (e: TapError) => e.code === "EINVAL")
            await assert.rejects(TapDevice.open("x".repeat(16), { mechanism: m }), (e: TapError) => e.code === "EINVAL")
            await assert.rejects(TapDevice.open("dstb9", { netns: "dsnosuchns" + process.pid, mechanism: m }), (e: Error) => e instanceof TapError)
        })

        it("opens and closes 50 times, with frames arriving, and leaves no fd open", async () => {
            const { readdirSync } = await import("node:fs")
            const fds = () => readdirSync("/proc/self/fd").length
            await b.close()
            const before = fds()
            for (let i = 0; i < 50; i++) {
                const t = await TapDevice.open("dstb1", { netns: ns.name, mechanism: m })
                let got = 0
                t.onFrame = () => got++
                for (let k = 0; k < 5; k++) a.send(frame(MAC_B, MAC_A, k, 100))
                if (i % 10 === 0) await waitFor(() => got >= 5, 2000, "frames on a reopened TAP")
                await t.close()
                await t.close() // twice is harmless
            }
            // the helper's pipes close a little after its exit
            await waitFor(() => fds() <= before, 2000, `fds back to ${before} (now ${fds()})`)
            b = await TapDevice.open("dstb1", { netns: ns.name, mechanism: m })
        })

        it("reports the interface deleted under it through onClose(err), once, and stops reading", async () => {
            const errors: (Error | null)[] = []
            b.onClose = (e) => errors.push(e)
            ns.exec(["ip", "link", "del", "dstb1"])
            // the kernel detaches the fd; something must wake the reader: a frame toward it is lost, the poll says so
            a.send(frame(MAC_B, MAC_A, 0, 60))
            await waitFor(() => errors.length > 0, 5000, "onClose")
            await new Promise((r) => setTimeout(r, 100))
            assert.equal(errors.length, 1)
            assert.ok(errors[0] instanceof Error, "an error, not a close by us")
            const rx = b.stats.rxFrames
            b.send(frame(MAC_A, MAC_B, 0, 60)) // after the close: not sent, not thrown
            assert.equal(b.stats.rxFrames, rx)
            ns.taps.splice(1, 1) // gone already
        })
    })
}
