// The base (base.ts) plus one HTTP client request: its image minus the
// base's is what the HTTP client costs (npm run bench:device, README).
import { log, net } from "./base.js"
import { request } from "../../../src/http/client.js"

const fetchOnce = async () => {
    const res = await request(net, "http://198.18.0.1/")
    const body = await res.text()
    log("got " + res.status + " " + body.length)
}
fetchOnce.start()
