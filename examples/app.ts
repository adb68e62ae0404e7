// A person's own firmware code: the routes of their device. It imports only
// from "ds-tcpip", so the same file goes into the firmware (DeviceScript
// resolves the package's device entry) and into tests on Node (the portable
// one), where app.test.ts runs it on a simulated network.
import { HttpServer, IncomingRequest, Net, ServerResponse } from "ds-tcpip"

/** What the device measures; on the board a sensor driver fills it in. */
export interface Readings {
    celsius: number
}

export function startApp(net: Net, readings: Readings): HttpServer {
    const server = new HttpServer(net)
    server.get("/", async (req: IncomingRequest, res: ServerResponse) => {
        await res.send(200, "thermometer\n")
    })
    server.get("/temperature", async (req: IncomingRequest, res: ServerResponse) => {
        await res.json({ celsius: readings.celsius })
    })
    server.post("/calibrate/:offset", async (req: IncomingRequest, res: ServerResponse) => {
        // whole degrees (DeviceScript has parseInt, not Number())
        const offset = parseInt(req.params["offset"])
        if (!(offset >= -10 && offset <= 10)) {
            await res.send(400, "offset must be -10..10\n")
            return
        }
        readings.celsius += offset
        await res.json({ celsius: readings.celsius })
    })
    server.listen(80)
    return server
}
