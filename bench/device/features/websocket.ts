// The base (base.ts) plus a WebSocket echo route: its image minus the
// base's is what WebSocket costs (npm run bench:device, README).
import { host, server } from "./base.js"
import { IncomingRequest } from "../../../src/http/server.js"
import { ServerResponse } from "../../../src/http/response.js"
import { acceptWebSocket } from "../../../src/http/websocket.js"

server.get("/ws", async (req: IncomingRequest, res: ServerResponse) => {
    const ws = await acceptWebSocket(req, res, { maxMessageBytes: 2048, host: host })
    if (!ws) return
    for (;;) {
        const m = await ws.receive()
        if (!m || !(await ws.send(m.data, m.type === "binary"))) break
    }
})
