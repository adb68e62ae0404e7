// The interop suite again with impairments between the TAP and the stack, in
// both directions: 5% loss, 10% reordering, 5 ms delay.
import { interopSuite } from "./suite.js"

interopSuite({
    tag: "timp",
    impairments: { loss: 0.05, reorder: 0.1, delayMs: 5, seed: 42 },
    bulkBytes: 256 * 1024,
    connections: 20,
    // under loss, retransmitted segments we already have are "outOfWindow" (old duplicates, re-ACKed),
    // and one that arrives after its connection is gone is "noSocket"
    allowedDrops: ["outOfWindow", "noSocket"],
})
