// The base (base.ts) plus an echo request now and then: its image minus the
// base's is what sending pings costs (answering them is always in).
import * as ds from "@devicescript/core"
import { stack } from "./base.js"
import { parseIp } from "../../../src/wire/bytes.js"

let seq = 0
setInterval(() => {
    stack.ping(parseIp("198.18.0.1"), 1, seq++, 56, ds.millis())
}, 1000)
