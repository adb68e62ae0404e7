// The starter firmware plus a /status route (the stack's counters as JSON):
// its image minus the starter's is what /status costs.
import { server, stack } from "../../../src/main-starter.js"
import { IncomingRequest } from "../../../src/http/server.js"
import { ServerResponse } from "../../../src/http/response.js"

server.get("/status", async (req: IncomingRequest, res: ServerResponse) => {
    const s = stack.status()
    s.http = server.stats
    await res.json(s)
})
