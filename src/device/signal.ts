// What the device's fibers wait on (DeviceScript only): the network loop's
// kick, the driver's wake-up, every socket's signal.
//
// ds.emitter() and ds.wait() would do, but at a price the network path pays
// many times per request: each wait subscribes a handler (three closures and
// an array entry, removed again after), and each emit starts a new fiber per
// subscribed handler, which then resumes the waiter. Here a signal is the
// list of fibers suspended on it: waitFor() suspends the calling fiber
// (ds.suspend) with itself on the list, emit() takes the list and resumes
// each. A fiber is on a list only while it is suspended in waitFor(): it takes
// itself off as soon as it runs again, before it can suspend on anything
// else, so emit() never resumes a fiber that waits for something other than
// this signal. (Not named wait(): a method of that name would bring the
// runtime's ds.wait code into the image; docs/devicescript.md.)
import * as ds from "@devicescript/core"

/** @devsWhenUsed */
export class FiberSignal {
    private waiters: ds.Fiber[] = []

    /**
     * Suspends the calling fiber until emit() or for at most ms (no limit
     * when ms is 0 or less). True when emit() woke it.
     */
    async waitFor(ms: number): Promise<boolean> {
        const self = ds.Fiber.self()
        this.waiters.push(self)
        const v = await ds.suspend<boolean>(ms > 0 ? ms : undefined)
        const i = this.waiters.indexOf(self)
        if (i >= 0) this.waiters.insert(i, -1)
        return v === true
    }

    /** Wakes every fiber waiting now (ds.Emitter's name: a kick reads the same). */
    emit(v?: boolean): void {
        const w = this.waiters
        if (w.length === 0) return
        this.waiters = []
        for (const f of w) f.resume(true)
    }
}
