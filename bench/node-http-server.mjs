// The kernel-stack reference for bench/http.ts: Node's own http server with the
// demo's routes that the benchmark uses, implemented the same way:
//   GET /          a short text body
//   GET /bytes/N   exactly N bytes, byte i = i mod 256, Content-Length, written in 1024-byte pieces
// Usage: node bench/node-http-server.mjs ADDR PORT [MAX_SECONDS]
// It exits by itself after MAX_SECONDS (default 600), so a forgotten one cannot linger.
import http from "node:http"

const [addr, portText, maxText] = process.argv.slice(2)
const PIECE = 1024
const pattern = Buffer.alloc(PIECE)
for (let i = 0; i < PIECE; i++) pattern[i] = i & 0xff
const page = Buffer.from("ds-tcpip benchmark reference: Node http on the kernel's stack\n")

const server = http.createServer((req, res) => {
    const m = /^\/bytes\/(\d+)$/.exec(req.url)
    if (req.method === "GET" && req.url === "/") {
        res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": page.length })
        res.end(page)
        return
    }
    if (req.method !== "GET" || !m) {
        res.writeHead(404, { "Content-Length": 0 })
        res.end()
        return
    }
    const n = Number(m[1])
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": n })
    let left = n
    const pump = () => {
        while (left > 0) {
            const k = Math.min(left, PIECE)
            left -= k
            if (!res.write(k === PIECE ? pattern : pattern.subarray(0, k))) {
                res.once("drain", pump)
                return
            }
        }
        res.end()
    }
    pump()
})
server.keepAliveTimeout = 5000
server.listen(Number(portText), addr, () => console.log(`listening on ${addr}:${portText}`))
setTimeout(() => process.exit(0), Number(maxText || 600) * 1000).unref()
process.on("SIGTERM", () => process.exit(0))
