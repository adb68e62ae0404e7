// The device's network loop: one fiber that hands received frames to the
// stack and runs its timers, then sleeps until the next deadline or until
// something kicks it (a socket call, a frame queued). Each turn does bounded
// work (a few frames, one poll) and then yields, so no fiber comes near the
// VM's step limit and the application's fibers get to run.
import * as ds from "@devicescript/core"
import { Stack } from "../stack.js"
import { FiberSignal } from "./signal.js"

/** Where received frames come from (MemoryLink; later the SPI MAC drivers). */
export interface FrameSource {
    /** Hands up to max received frames to their stacks; returns how many. */
    deliver(now: number, max: number): number
    /** Frames waiting. */
    pending(): number
}

/** `source` is null when a driver's own fiber hands the frames to the stacks (src/device/board-driver.ts). */
export function runNetwork(stacks: Stack[], source: FrameSource | null, kick: FiberSignal, framesPerTurn: number, log: (line: string) => void): void {
    const loop = async () => {
        for (;;) {
            let next = -1
            try {
                const now = ds.millis()
                if (source) source.deliver(now, framesPerTurn)
                for (const s of stacks) {
                    const d = s.nextDeadline()
                    if (d >= 0 && d <= now) s.poll(now)
                    const d2 = s.nextDeadline()
                    if (d2 >= 0 && (next < 0 || d2 < next)) next = d2
                }
            } catch (e) {
                log("network loop: " + e)
            }
            if (source && source.pending() > 0) {
                // more to do: yield (sleep(0) would starve I/O) and go on
                await ds.sleep(1)
                continue
            }
            const wait = next < 0 ? 1000 : next - ds.millis()
            if (wait > 0) await kick.waitFor(wait)
            else await ds.sleep(1)
        }
    }
    loop.start()
}
