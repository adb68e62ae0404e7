// SocketHost for DeviceScript: a signal is a FiberSignal (src/device/signal.ts:
// waiting suspends the fiber), and spawn() starts a fiber (Function.start),
// since an async call alone runs on the caller's fiber.
import * as ds from "@devicescript/core"
import { SocketHost, Signal } from "../socket/socket.js"
import { FiberSignal } from "./signal.js"

export function deviceSocketHost(kick: FiberSignal, log: (line: string) => void): SocketHost {
    return {
        now: ds.millis,
        newSignal: (): Signal => new FiberSignal(),
        waitFor: async (signal: Signal, timeoutMs: number) => await (signal as FiberSignal).waitFor(timeoutMs),
        raise: (signal: Signal) => (signal as FiberSignal).emit(true),
        kick: () => kick.emit(true),
        spawn: (task: () => Promise<void>) => {
            const run = async () => {
                // an exception escaping a fiber stops the whole program: catch it here
                try {
                    await task()
                } catch (e) {
                    log("task failed: " + e)
                    // DeviceScript's Error.print() logs the stack
                    const err = e as any
                    if (err && err.print) err.print()
                }
            }
            run.start()
        },
    }
}
