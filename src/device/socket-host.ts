// SocketHost for DeviceScript: a signal is an emitter, waiting is ds.wait()
// (which suspends the fiber), and spawn() starts a fiber with setTimeout,
// since an async call alone runs on the caller's fiber.
import * as ds from "@devicescript/core"
import { SocketHost, Signal } from "../socket/socket.js"

export function deviceSocketHost(kick: ds.Emitter<boolean>, log: (line: string) => void): SocketHost {
    return {
        now: ds.millis,
        newSignal: (): Signal => ds.emitter<boolean>(),
        wait: async (signal: Signal, timeoutMs: number) => {
            const v = await ds.wait(signal as ds.Emitter<boolean>, timeoutMs > 0 ? timeoutMs : undefined)
            return v === true
        },
        raise: (signal: Signal) => (signal as ds.Emitter<boolean>).emit(true),
        kick: () => kick.emit(true),
        spawn: (task: () => Promise<void>) => {
            setTimeout(async () => {
                // an exception escaping a fiber stops the whole program: catch it here
                try {
                    await task()
                } catch (e) {
                    log("task failed: " + e)
                    // DeviceScript's Error.print() logs the stack
                    const err = e as any
                    if (err && err.print) err.print()
                }
            }, 0)
        },
    }
}
