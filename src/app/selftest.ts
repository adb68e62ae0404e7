// A client that checks the demo device over the network, the way a test
// would: GET / (the page), GET /bytes/100000 (every byte of the pattern), and
// a pipelined pair in one segment (answers in order). Portable: the device
// runs it at power-on against its own demo server, tests run it anywhere.
import { Net, TcpSocket } from "../socket/socket.js"

/** @devsWhenUsed */
class Reader {
    buf = Buffer.alloc(768)
    start = 0
    end = 0
    sock: TcpSocket
    constructor(sock: TcpSocket) {
        this.sock = sock
    }
    async more(): Promise<boolean> {
        if (this.start > 0) {
            this.buf.blitAt(0, this.buf, this.start, this.end - this.start)
            this.end -= this.start
            this.start = 0
        }
        if (this.end === this.buf.length) return false
        const n = await this.sock.read(this.buf, this.end, this.buf.length - this.end, 10000)
        this.end += n
        return n > 0
    }
}

/** Reads one response head: returns [status, content-length] or null. */
async function readHead(r: Reader): Promise<number[]> {
    for (;;) {
        for (let i = r.start; i + 3 < r.end; i++) {
            if (r.buf[i] === 13 && r.buf[i + 1] === 10 && r.buf[i + 2] === 13 && r.buf[i + 3] === 10) {
                const head = r.buf.slice(r.start, i).toString()
                r.start = i + 4
                const status = parseInt(head.slice(9, 12))
                let length = -1
                for (const line of head.split("\r\n")) {
                    if (line.toLowerCase().startsWith("content-length:")) length = parseInt(line.slice(15).trim())
                }
                return [status, length]
            }
        }
        if (!(await r.more())) return null
    }
}

/**
 * Reads a body of n bytes. With `pattern`, checks byte i = i mod 256 and
 * returns "" or "mismatch"; otherwise returns the first 256 bytes as text.
 * Returns null when the body ends early.
 */
async function readBody(r: Reader, n: number, pattern: boolean): Promise<string> {
    let i = 0
    let head = ""
    while (i < n) {
        if (r.start === r.end && !(await r.more())) return null
        let k = r.end - r.start
        if (k > n - i) k = n - i
        if (pattern) {
            const buf = r.buf
            const base = r.start
            for (let j = 0; j < k; j++) if (buf[base + j] !== ((i + j) & 0xff)) return "mismatch"
        } else if (head.length < 256) {
            // a small piece at a time: the device heap is small and fragmented
            const m = k < 256 - head.length ? k : 256 - head.length
            head += r.buf.slice(r.start, r.start + m).toString()
        }
        r.start += k
        i += k
    }
    return pattern ? "" : head
}

export async function selfTest(net: Net, serverIp: number, port: number, log: (line: string) => void): Promise<boolean> {
    let ok = true
    // 1. the page
    let sock = await net.connect(serverIp, port, 10000)
    let r = new Reader(sock)
    await sock.write(Buffer.from("GET / HTTP/1.1\r\nHost: device\r\nConnection: close\r\n\r\n"))
    let h = await readHead(r)
    const page = h !== null && h[0] === 200 && h[1] > 0 ? await readBody(r, h[1], false) : null
    const isPage = page !== null && page.indexOf("ds-tcpip") >= 0
    log("GET / " + (h ? h[0] + " " + h[1] : "no answer") + (isPage ? " ok" : " FAILED"))
    ok = ok && isPage
    sock.close()
    // 2. a large body, every byte checked
    sock = await net.connect(serverIp, port, 10000)
    r = new Reader(sock)
    await sock.write(Buffer.from("GET /bytes/100000 HTTP/1.1\r\nHost: device\r\nConnection: close\r\n\r\n"))
    h = await readHead(r)
    const bytesOk = h !== null && h[0] === 200 && h[1] === 100000 && (await readBody(r, 100000, true)) === ""
    log("GET /bytes/100000 " + (bytesOk ? "ok" : "FAILED"))
    ok = ok && bytesOk
    sock.close()
    // 3. two pipelined requests in one write, answered in order
    sock = await net.connect(serverIp, port, 10000)
    r = new Reader(sock)
    await sock.write(Buffer.from("GET /bytes/3 HTTP/1.1\r\nHost: device\r\n\r\nGET /bytes/5 HTTP/1.1\r\nHost: device\r\nConnection: close\r\n\r\n"))
    const h1 = await readHead(r)
    const b1 = h1 !== null && h1[1] === 3 && (await readBody(r, 3, true)) === ""
    const h2 = await readHead(r)
    const b2 = h2 !== null && h2[1] === 5 && (await readBody(r, 5, true)) === ""
    const pipeOk = b1 && b2 && h1[0] === 200 && h2[0] === 200
    log("pipelined pair " + (pipeOk ? "ok" : "FAILED"))
    ok = ok && pipeOk
    sock.close()
    return ok
}
