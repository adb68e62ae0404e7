// The base (base.ts) plus the DNS resolver and the HTTP client taking host
// names: its image minus the client feature's is what the resolver costs.
import { net, log } from "./base.js"
import { parseIp } from "../../../src/wire/bytes.js"
import { request } from "../../../src/http/client.js"
import { DnsResolver } from "../../../src/services/dns.js"

const resolver = new DnsResolver(net, [parseIp("198.18.0.1")])
net.host.spawn(async () => {
    const res = await request(net, "http://example.test/", { resolve: async (h: string) => await resolver.resolve(h) })
    log("status " + res.status)
})
