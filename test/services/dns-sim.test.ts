// The DNS resolver in the simulator against the test DNS server
// (src/host/dns-server.ts): answers, the cache and its TTL, NXDOMAIN, CNAME
// chains (and a loop bounded), timeouts with fallback to the next server,
// malformed replies, spoofed replies ignored; and the HTTP client fetching
// by name through it.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { Simulator } from "../../src/host/sim/network.js"
import { addStackHost } from "../../src/host/sim/stack-host.js"
import { SimSocketHost, runAsync } from "../../src/host/sim/async.js"
import { TestDnsServer } from "../../src/host/dns-server.js"
import { DnsError, DnsResolver } from "../../src/services/dns.js"
import { ipToString, parseIp } from "../../src/wire/bytes.js"
import { Reason } from "../../src/wire/reason.js"
import { Net } from "../../src/socket/socket.js"
import { request } from "../../src/http/client.js"
import { startDemo } from "../../src/app/demo.js"

function rig() {
    const sim = new Simulator({ seed: 5 })
    const d1 = addStackHost(sim, "dns1", { ip: "198.18.0.53", mac: "02:00:00:00:05:01" })
    const d2 = addStackHost(sim, "dns2", { ip: "198.18.0.54", mac: "02:00:00:00:05:02" })
    const dev = addStackHost(sim, "dev", { ip: "198.18.0.10", mac: "02:00:00:00:05:10" })
    for (const h of [d1, d2, dev]) h.endpoint.start(0)
    const s1 = new TestDnsServer(d1.endpoint)
    const s2 = new TestDnsServer(d2.endpoint)
    for (const s of [s1, s2]) {
        s.records.set("files.test", "198.18.0.80")
        s.records.set("www.test", "cname:web.test")
        s.records.set("web.test", "cname:files.test")
        s.records.set("loop1.test", "cname:loop2.test")
        s.records.set("loop2.test", "cname:loop1.test")
        s.records.set("alias-only.test", "cname:nowhere.test")
    }
    const host = new SimSocketHost(sim)
    const net = new Net(dev.endpoint, host)
    const resolver = new DnsResolver(net, [parseIp("198.18.0.53"), parseIp("198.18.0.54")], { timeoutMs: 1000 })
    return { sim, s1, s2, dev: dev.endpoint, net, host, resolver }
}

async function outcome(sim: Simulator, p: Promise<number>): Promise<string> {
    let r: string = null
    p.then((ip) => (r = ipToString(ip))).catch((e: DnsError) => (r = e.code || String(e)))
    await runAsync(sim, () => r !== null, 60_000)
    return r
}

test("A query: the answer; a second lookup comes from the cache until the TTL ends", async () => {
    const { sim, s1, resolver } = rig()
    assert.equal(await outcome(sim, resolver.resolve("files.test")), "198.18.0.80")
    assert.equal(s1.queries.length, 1)
    assert.equal(await outcome(sim, resolver.resolve("FILES.test.")), "198.18.0.80")
    assert.equal(s1.queries.length, 1, "cached")
    sim.runFor(61_000)
    assert.equal(await outcome(sim, resolver.resolve("files.test")), "198.18.0.80")
    assert.equal(s1.queries.length, 2, "asked again after the TTL")
    // random IDs and source ports
    assert.notEqual(s1.queries[0].id, s1.queries[1].id)
    assert.notEqual(s1.queries[0].sport, s1.queries[1].sport)
    assert.equal(await outcome(sim, resolver.resolve("198.18.0.7")), "198.18.0.7")
})

test("concurrent lookups take turns and all get their answers", async () => {
    const { sim, s1, resolver } = rig()
    const names = ["files.test", "www.test", "missing.test", "web.test"]
    const results: string[] = names.map((): string => null)
    names.forEach((n, i) =>
        resolver
            .resolve(n)
            .then((ip) => (results[i] = ipToString(ip)))
            .catch((e: DnsError) => (results[i] = e.code)),
    )
    await runAsync(sim, () => results.every((r) => r !== null), 60_000)
    assert.deepEqual(results, ["198.18.0.80", "198.18.0.80", "NXDOMAIN", "198.18.0.80"])
    assert.equal(s1.queries.length, 4)
})

test("NXDOMAIN, CNAME chains followed, a CNAME loop bounded, a dangling alias is ENODATA", async () => {
    const { sim, resolver, dev } = rig()
    assert.equal(await outcome(sim, resolver.resolve("missing.test")), "NXDOMAIN")
    assert.equal(await outcome(sim, resolver.resolve("www.test")), "198.18.0.80")
    assert.equal(await outcome(sim, resolver.resolve("loop1.test")), "EBADMSG")
    assert.equal(await outcome(sim, resolver.resolve("alias-only.test")), "ENODATA")
    assert.equal(dev.counters.drops[Reason.InternalError], 0)
})

test("a silent server: retries, then the next server; all silent: ETIMEDOUT; SERVFAIL moves on", async () => {
    const { sim, s1, s2, resolver } = rig()
    s1.silent = true
    const t0 = sim.now
    assert.equal(await outcome(sim, resolver.resolve("files.test")), "198.18.0.80")
    assert.equal(s1.queries.length, 2)
    assert.equal(s2.queries.length, 1)
    assert.ok(sim.now - t0 >= 2000, "two timeouts first")
    s2.silent = true
    assert.equal(await outcome(sim, resolver.resolve("web.test")), "ETIMEDOUT")
    s1.silent = false
    s1.servfail = true
    s2.silent = false
    assert.equal(await outcome(sim, resolver.resolve("web.test")), "198.18.0.80")
    s2.servfail = true
    assert.equal(await outcome(sim, resolver.resolve("www.test")), "ESERVFAIL")
})

test("malformed replies are badDns and EBADMSG; replies from elsewhere are ignored", async () => {
    const { sim, s1, s2, resolver, dev } = rig()
    // a pointer loop in the answer
    s1.garbage = Buffer.from("0000818000010001000000000566696c657304746573740000010001c01ec01e", "hex")
    s2.garbage = Buffer.from("000081800001", "hex")
    assert.equal(await outcome(sim, resolver.resolve("files.test")), "EBADMSG")
    assert.equal(dev.counters.drops[Reason.BadDns], 3, "one from the first server, two short ones from the second")
    assert.equal(dev.counters.drops[Reason.InternalError], 0)
})

test("the HTTP client fetches by name through the resolver", async () => {
    const { sim, net, resolver } = rig()
    const web = addStackHost(sim, "web", { ip: "198.18.0.80", mac: "02:00:00:00:05:80" })
    web.endpoint.start(sim.now)
    startDemo(new Net(web.endpoint, new SimSocketHost(sim)), web.endpoint)
    let body: Buffer = null
    let error: unknown = null
    request(net, "http://www.test/bytes/3000", { resolve: (h) => resolver.resolve(h) })
        .then((r) => r.body())
        .then((b) => (body = b))
        .catch((e) => (error = e))
    await runAsync(sim, () => body !== null || error !== null, 60_000)
    assert.equal(error, null)
    assert.equal(body.length, 3000)
    for (let i = 0; i < 3000; i++) assert.equal(body[i], i & 0xff)
    let err: any = null
    request(net, "http://missing.test/", { resolve: (h) => resolver.resolve(h) }).catch((e) => (err = e))
    await runAsync(sim, () => err !== null, 60_000)
    assert.equal(err.code, "NXDOMAIN")
})
