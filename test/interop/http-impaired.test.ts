// The HTTP interop suite with impairments between the TAP and the stack, in
// both directions: 5% loss, 10% reordering, 5 ms delay; smaller transfers and
// shorter loads than the clean run.
import { httpSuite } from "./http-suite.js"

httpSuite({
    tag: "himp",
    impairments: { loss: 0.05, reorder: 0.1, delayMs: 5, seed: 42 },
    getBytes: 1024 * 1024,
    postBytes: 1024 * 1024,
    wrkSeconds: 3,
    abRequests: 200,
    // retransmitted segments we already have are "outOfWindow" (old duplicates, re-ACKed),
    // and one that arrives after its connection is gone is "noSocket"
    allowedDrops: ["outOfWindow", "noSocket"],
})
