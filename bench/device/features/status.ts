// The base (base.ts) plus a /status route (the stack's counters as JSON):
// its image minus the base's is what /status costs.
import { server, stack } from "./base.js"
import { IncomingRequest } from "../../../src/http/server.js"
import { ServerResponse } from "../../../src/http/response.js"

server.get("/status", async (req: IncomingRequest, res: ServerResponse) => {
    const s = stack.status()
    s.http = server.stats
    await res.json(s)
})
