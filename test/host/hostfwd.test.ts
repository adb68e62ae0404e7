// hostfwd: Node's http client on a real loopback port, through a simulated
// gateway, over simulated TCP paced to the wall clock, to a device Stack
// serving HTTP on port 80 (a small server written on Net.listen here).
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import * as http from "node:http"
import { createHash } from "node:crypto"
import { Simulator } from "../../src/host/sim/network.js"
import { addStackHost } from "../../src/host/sim/stack-host.js"
import { RealTimePacer, RealTimeSimSocketHost } from "../../src/host/sim/realtime.js"
import { HostFwd } from "../../src/host/hostfwd.js"
import { Net, TcpSocket } from "../../src/socket/socket.js"

const LIMITS = { tcpConnections: 8, tcpSendBuffer: 8192, tcpRecvBuffer: 8192, tcpMslMs: 50 }

function pattern(n: number): Buffer {
    const b = Buffer.alloc(n)
    for (let i = 0; i < n; i++) b[i] = i & 0xff
    return b
}

/** The device's HTTP/1.0-style server: GET /bytes/N, POST /sha (SHA-256 of the body), then close. */
function serveHttp(net: Net): () => void {
    const server = net.listen(80, 8)
    const host = net.host
    const handle = async (s: TcpSocket) => {
        const buf = Buffer.alloc(4096)
        let head = Buffer.alloc(0)
        let split = -1
        while (split < 0) {
            const n = await s.read(buf, 0, buf.length, 10000)
            if (n === 0) return
            head = Buffer.concat([head, buf.subarray(0, n)])
            split = head.indexOf("\r\n\r\n")
        }
        const text = head.subarray(0, split).toString("latin1")
        const [method, path] = text.split(" ")
        let body: Buffer
        if (method === "GET" && path.startsWith("/bytes/")) body = pattern(Number(path.slice(7)))
        else if (method === "POST" && path === "/sha") {
            const len = Number(/content-length: *(\d+)/i.exec(text)?.[1] ?? "0")
            const h = createHash("sha256")
            let got = head.length - split - 4
            h.update(head.subarray(split + 4))
            while (got < len) {
                const n = await s.read(buf, 0, buf.length, 10000)
                if (n === 0) break
                h.update(buf.subarray(0, n))
                got += n
            }
            body = Buffer.from(h.digest("hex"))
        } else body = Buffer.from("hello from 198.18.0.2\n")
        await s.write(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`))
        await s.write(body)
        s.close()
    }
    host.spawn(async () => {
        for (;;) {
            const s = await server.accept()
            if (!s) return
            host.spawn(async () => {
                try {
                    await handle(s)
                } finally {
                    s.close()
                }
            })
        }
    })
    return () => server.close()
}

function request(port: number, method: string, path: string, body?: Buffer): Promise<{ status: number; body: Buffer }> {
    return new Promise((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, method, path, agent: false, timeout: 15000 }, (res) => {
            const parts: Buffer[] = []
            res.on("data", (b: Buffer) => parts.push(b))
            res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(parts) }))
            res.on("error", reject)
        })
        req.on("timeout", () => req.destroy(new Error("timeout")))
        req.on("error", reject)
        if (body) req.setHeader("Content-Length", body.length)
        req.end(body)
    })
}

test("hostfwd relays real HTTP clients to a simulated device, both ways, with back-pressure", { timeout: 30000 }, async () => {
    const sim = new Simulator({ seed: 3 })
    const gw = addStackHost(sim, "gw", { ip: "198.18.0.1", mac: "02:00:00:00:00:01", limits: LIMITS, impairments: { delayMs: 0.25 } })
    const dev = addStackHost(sim, "dev", { ip: "198.18.0.2", mac: "02:00:00:00:00:02", limits: LIMITS, impairments: { delayMs: 0.25 } })
    const pacer = new RealTimePacer(sim)
    const host = new RealTimeSimSocketHost(pacer)
    const gwNet = new Net(gw.endpoint, host)
    const devNet = new Net(dev.endpoint, host)
    gw.endpoint.start(sim.now)
    dev.endpoint.start(sim.now)
    pacer.start()
    const stopServer = serveHttp(devNet)
    const fwd = new HostFwd({ gateway: gwNet, targetIp: "198.18.0.2", targetPort: 80 })
    const port = await fwd.listen()
    try {
        const t0 = performance.now()
        const hello = await request(port, "GET", "/")
        assert.equal(hello.status, 200)
        assert.equal(hello.body.toString(), "hello from 198.18.0.2\n")

        // bigger than every ring and socket buffer on the way: exercises back-pressure device -> client
        const big = await request(port, "GET", "/bytes/300000")
        assert.equal(big.body.length, 300000)
        assert.ok(big.body.equals(pattern(300000)), "pattern")

        // client -> device, and three at once
        const up = pattern(200000)
        const sha = createHash("sha256").update(up).digest("hex")
        const many = await Promise.all([0, 1, 2].map(() => request(port, "POST", "/sha", up)))
        for (const r of many) assert.equal(r.body.toString(), sha)
        const wall = performance.now() - t0

        // virtual time kept pace with the wall clock (neither ran ahead nor fell far behind)
        assert.ok(pacer.wallVirtual() - sim.now < 1000, `virtual ${sim.now} vs wall ${pacer.wallVirtual()}`)
        assert.ok(wall < 20000, `took ${wall} ms`)
        assert.equal(fwd.stats.connected, 5)
        assert.equal(fwd.stats.failed, 0)
        // every connection closes; TIME-WAIT (2 × 50 ms) passes in real time
        const end = performance.now() + 3000
        while ((gw.endpoint.tcp.inUseCount() > 0 || dev.endpoint.tcp.inUseCount() > 0) && performance.now() < end) await new Promise((r) => setTimeout(r, 20))
        assert.equal(gw.endpoint.tcp.inUseCount(), 0, JSON.stringify(gw.endpoint.status().tcp.byState))
        assert.equal(dev.endpoint.tcp.inUseCount(), 0, JSON.stringify(dev.endpoint.status().tcp.byState))
        // the only drop allowed: the other host's gratuitous ARP at start (an announcement
        // for an address we had no entry for is counted under notForUs)
        for (const h of [gw, dev]) {
            const d = h.endpoint.counters.dropsByName()
            assert.ok(Object.keys(d).every((k) => k === "notForUs") && (d.notForUs ?? 0) <= 1, h.name + ": " + JSON.stringify(d))
        }
        assert.deepEqual(host.errors.map(String), [])
    } finally {
        stopServer()
        await fwd.close()
        pacer.stop()
    }
})
