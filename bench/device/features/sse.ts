// The base (base.ts) plus a Server-Sent Events route: its image minus the
// base's is what SSE costs.
import { host, server } from "./base.js"
import { IncomingRequest } from "../../../src/http/server.js"
import { ServerResponse } from "../../../src/http/response.js"
import { EventStream } from "../../../src/http/sse.js"

server.get("/events", async (req: IncomingRequest, res: ServerResponse) => {
    const stream = await EventStream.open(res)
    const tick = host.newSignal()
    for (let n = 1; !req.socket.ended(); n++) {
        await stream.send("" + n)
        await host.waitFor(tick, 1000)
    }
    await stream.close()
})
