// Async application code (sockets, HTTP) on the simulator's virtual time.
//
// The simulator is synchronous; socket calls resolve promises. runAsync()
// runs one event at a time and lets every promise continuation that the event
// made ready run before the next event (a setImmediate turn drains the
// microtask queue), so the app sees the network exactly as a device would,
// and a run with the same seed is the same run.
import { SocketHost, Signal } from "../../socket/socket.js"
import { Simulator } from "./network.js"

class SimSignal implements Signal {
    waiters: (() => void)[] = []
}

/** SocketHost on virtual time: timeouts are simulator events. */
export class SimSocketHost implements SocketHost {
    constructor(private readonly sim: Simulator) {}

    now = (): number => this.sim.now

    newSignal = (): Signal => new SimSignal()

    waitFor = (signal: Signal, timeoutMs: number): Promise<boolean> => {
        const s = signal as SimSignal
        return new Promise<boolean>((resolve) => {
            let settled = false
            const timer = timeoutMs > 0 ? this.sim.after(timeoutMs, () => finish(false)) : null
            const finish = (raised: boolean) => {
                if (settled) return
                settled = true
                if (timer) this.sim.cancel(timer)
                resolve(raised)
            }
            s.waiters.push(() => finish(true))
        })
    }

    raise = (signal: Signal): void => {
        const s = signal as SimSignal
        const w = s.waiters
        s.waiters = []
        for (const f of w) f()
    }

    kick = (): void => this.sim.kick()

    /** Errors escaping a task are kept, not thrown into the simulator. */
    errors: unknown[] = []

    spawn = (task: () => Promise<void>): void => {
        task().catch((e) => this.errors.push(e))
    }
}

function settle(): Promise<void> {
    return new Promise<void>((resolve) => setImmediate(resolve))
}

/**
 * Runs the simulation until done() is true or maxMs of virtual time have
 * passed, letting async code run between events. Returns done().
 */
export async function runAsync(sim: Simulator, done: () => boolean, maxMs: number): Promise<boolean> {
    const limit = sim.now + maxMs
    for (;;) {
        await settle()
        if (done()) return true
        sim.kick()
        if (!sim.clock.step(limit)) {
            await settle()
            if (done()) return true
            sim.clock.advanceTo(limit)
            return done()
        }
    }
}
