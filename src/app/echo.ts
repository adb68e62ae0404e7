// A TCP echo service (RFC 862's, on any port): every connection gets back
// what it sends, and is closed after the peer's FIN. For `nc` tests and
// demos; each connection runs as its own task.
import { Net, TcpServer, TcpSocket } from "../socket/socket.js"

async function echoConnection(s: TcpSocket): Promise<void> {
    const buf = Buffer.alloc(1024)
    try {
        for (;;) {
            const n = await s.read(buf, 0, buf.length)
            if (n === 0) break
            await s.write(buf, 0, n)
        }
    } finally {
        s.close()
    }
}

/** Spawns one task per connection (outside the accept loop: no closure over a loop variable). */
function spawnEcho(net: Net, s: TcpSocket): void {
    net.host.spawn(async () => {
        await echoConnection(s)
    })
}

export function startEcho(net: Net, port: number, backlog?: number): TcpServer {
    const server = net.listen(port, backlog || 8)
    net.host.spawn(async () => {
        for (;;) {
            const s = await server.accept()
            if (!s) return
            spawnEcho(net, s)
        }
    })
    return server
}
