// The socket API: async/await over the synchronous TCP engine, the same on
// the device and on Node. Nothing here blocks by itself: a call that cannot
// finish yet (no data, no room, not connected) waits on a Signal that the
// engine raises through the connection's onEvent, and tries again.
//
// What waiting means is the host's business (SocketHost): on DeviceScript a
// signal is a FiberSignal and waitFor() suspends the fiber; on Node it is a promise; in
// the simulator timeouts run on virtual time.
//
// Handles are safe: a TcpSocket remembers its connection's generation, and
// once the slot is freed and reused every call on the old handle fails with
// EBADF instead of touching someone else's connection.

import { Stack } from "../stack.js"
import { TcpConnection } from "../tcp/connection.js"
import { Tcp, TcpListener } from "../tcp/tcp.js"
import { TcpError, TcpState, TCP_ERROR_NAMES, TCP_STATE_NAMES } from "../tcp/state.js"
import { ipToString } from "../wire/bytes.js"

/** Something a task can wait on and another can raise. */
export interface Signal {}

export interface SocketHost {
    /** The time the stack runs on (ms). */
    now: () => number
    newSignal: () => Signal
    /** Resolves after the signal is raised, or after timeoutMs (0: no timeout). True if raised. */
    waitFor: (signal: Signal, timeoutMs: number) => Promise<boolean>
    raise: (signal: Signal) => void
    /** The stack's timers may have changed: the runner should look at nextDeadline() again. */
    kick: () => void
    /**
     * Runs a task concurrently with the caller (a server's per-connection
     * loop). On DeviceScript an async call runs on the caller's fiber, so this
     * starts a new fiber; on Node it just calls the task.
     */
    spawn: (task: () => Promise<void>) => void
}

/** @devsWhenUsed */
export class SocketError extends Error {
    /** ECONNREFUSED, ECONNRESET, ETIMEDOUT, ECONNABORTED, EPIPE, EBADF, EADDRINUSE, ENOBUFS */
    readonly code: string
    constructor(code: string, what: string) {
        super(code + ": " + what)
        this.code = code
    }
}

/** @devsWhenUsed */
export class Net {
    readonly stack: Stack
    readonly host: SocketHost
    /** Raised when a connection slot is freed. */
    private readonly slotFreed: Signal

    constructor(stack: Stack, host: SocketHost) {
        this.stack = stack
        this.host = host
        const signal = host.newSignal()
        this.slotFreed = signal
        stack.tcp.onSlotFreed = () => host.raise(signal)
    }

    /** Listens on port. Throws EADDRINUSE when taken, ENOBUFS when no listener slot is free. */
    listen(port: number, backlog?: number): TcpServer {
        const tcp = this.stack.tcp
        for (const l of tcp.listeners) if (l.inUse && l.port === port) throw new SocketError("EADDRINUSE", "port " + port)
        const l = tcp.listen(port, backlog || 0)
        if (!l) throw new SocketError("ENOBUFS", "no free listener slot (limits.tcpListeners)")
        return new TcpServer(this, l)
    }

    /**
     * Opens a connection; resolves once ESTABLISHED. When every connection
     * slot is busy (closing ones included) it waits for one to free up, within
     * the timeout. Throws ECONNREFUSED, ETIMEDOUT, or ENOBUFS when no slot
     * freed in time.
     */
    async connect(ip: number, port: number, timeoutMs?: number): Promise<TcpSocket> {
        const host = this.host
        const deadline = timeoutMs ? host.now() + timeoutMs : 0
        let conn = this.stack.tcp.connect(ip, port, host.now())
        while (!conn) {
            const left = deadline ? deadline - host.now() : 0
            if (deadline && left <= 0) throw new SocketError("ENOBUFS", "no free connection (limits.tcpConnections)")
            await host.waitFor(this.slotFreed, left)
            conn = this.stack.tcp.connect(ip, port, host.now())
        }
        host.kick()
        const sock = new TcpSocket(this, conn)
        for (;;) {
            const s = conn.state
            if (s === TcpState.SynSent || s === TcpState.SynReceived) {
                const left = deadline ? deadline - host.now() : 0
                if (deadline && left <= 0) {
                    sock.abort()
                    throw new SocketError("ETIMEDOUT", "connect to " + ipToString(ip) + ":" + port)
                }
                await host.waitFor(sock.signal, left)
                continue
            }
            if (s === TcpState.Closed) {
                const err = conn.error
                sock.close()
                throw new SocketError(TCP_ERROR_NAMES[err === TcpError.None ? TcpError.ConnectionRefused : err], "connect to " + ipToString(ip) + ":" + port)
            }
            return sock
        }
    }
}

/** @devsWhenUsed */
export class TcpServer {
    readonly port: number
    private readonly net: Net
    private readonly listener: TcpListener
    private readonly signal: Signal
    private closed = false

    constructor(net: Net, listener: TcpListener) {
        this.net = net
        this.listener = listener
        this.port = listener.port
        const signal = net.host.newSignal()
        this.signal = signal
        const host = net.host
        listener.onEvent = () => host.raise(signal)
    }

    /** The next connection; null once the server is closed or when timeoutMs passes. */
    async accept(timeoutMs?: number): Promise<TcpSocket> {
        const host = this.net.host
        const deadline = timeoutMs ? host.now() + timeoutMs : 0
        while (!this.closed) {
            const conn = this.net.stack.tcp.accept(this.listener)
            if (conn) return new TcpSocket(this.net, conn)
            const left = deadline ? deadline - host.now() : 0
            if (deadline && left <= 0) return null
            await host.waitFor(this.signal, left)
        }
        return null
    }

    /** Stops listening; connections not yet accepted are reset. */
    close(): void {
        if (this.closed) return
        this.closed = true
        this.net.stack.tcp.unlisten(this.listener, this.net.host.now())
        this.net.host.raise(this.signal)
        this.net.host.kick()
    }
}

/** @devsWhenUsed */
export class TcpSocket {
    readonly signal: Signal
    /** How this socket waits (for code layered on it: WebSocket, HTTP). */
    readonly host: SocketHost
    readonly remoteAddress: string
    readonly remotePort: number
    readonly localPort: number
    private readonly tcp: Tcp
    private readonly conn: TcpConnection
    private readonly generation: number

    constructor(net: Net, conn: TcpConnection) {
        this.tcp = net.stack.tcp
        this.conn = conn
        this.generation = conn.generation
        this.remoteAddress = ipToString(conn.remoteIp)
        this.remotePort = conn.remotePort
        this.localPort = conn.localPort
        const signal = net.host.newSignal()
        this.signal = signal
        const host = net.host
        this.host = host
        conn.onEvent = () => host.raise(signal)
    }

    /** The connection's state name ("ESTABLISHED", ...), or "FREED" once closed and reused. */
    state(): string {
        return this.valid() ? TCP_STATE_NAMES[this.conn.state] : "FREED"
    }

    /** True when no more data will come: the peer's FIN was read, or the connection is gone. */
    ended(): boolean {
        if (!this.valid()) return true
        const c = this.conn
        return (c.finReceived && c.readable() === 0) || c.state === TcpState.Closed
    }

    /** Bytes that can be read without waiting. */
    readable(): number {
        return this.valid() ? this.conn.readable() : 0
    }

    /**
     * Reads up to len bytes into buf[off]; waits until at least one is there.
     * Returns 0 at the end of the stream (the peer's FIN), or when timeoutMs
     * passes with nothing to read (check readable()/state() to tell which).
     * Throws the connection's error (ECONNRESET, ETIMEDOUT...). With buf
     * null it reads nothing: it waits the same way and returns the bytes that
     * can be read.
     */
    async read(buf: Buffer, off: number, len: number, timeoutMs?: number): Promise<number> {
        const host = this.host
        // the clock is read only when there is something to wait for
        let deadline = 0
        for (;;) {
            const c = this.live()
            const n = buf ? this.tcp.recv(c, buf, off, len, host.now()) : c.readable()
            if (n > 0) {
                if (buf) host.kick()
                return n
            }
            if (c.finReceived) return 0
            if (c.state === TcpState.Closed) {
                if (c.error !== TcpError.None) throw this.failure(c.error)
                return 0
            }
            const now = host.now()
            if (timeoutMs && deadline === 0) deadline = now + timeoutMs
            const left = deadline ? deadline - now : 0
            if (deadline && left <= 0) return 0
            await host.waitFor(this.signal, left)
        }
    }

    /**
     * Writes all of buf[off, off+len), waiting for room in the send ring as
     * the peer acknowledges (back-pressure). Throws EPIPE after shutdown, or
     * the connection's error.
     */
    async write(buf: Buffer, off?: number, len?: number): Promise<void> {
        const host = this.host
        let at = off || 0
        const end = at + (len === undefined ? buf.length - at : len)
        while (at < end) {
            const c = this.live()
            if (c.error !== TcpError.None) throw this.failure(c.error)
            if (!this.tcp.canSend(c)) throw new SocketError("EPIPE", "sending is shut down")
            const n = this.tcp.send(c, buf, at, end - at, host.now())
            host.kick()
            at += n
            if (at < end) await host.waitFor(this.signal, 0)
        }
    }

    /** Waits until everything written has been acknowledged (or the connection failed). */
    async drain(timeoutMs?: number): Promise<boolean> {
        const host = this.host
        const deadline = timeoutMs ? host.now() + timeoutMs : 0
        for (;;) {
            if (!this.valid()) return false
            const c = this.conn
            if (c.sendRing.length === 0) return true
            if (c.state === TcpState.Closed) return false
            const left = deadline ? deadline - host.now() : 0
            if (deadline && left <= 0) return false
            await host.waitFor(this.signal, left)
        }
    }

    /** No more writes: a FIN follows the queued data. Reading goes on. */
    shutdown(): void {
        if (!this.valid()) return
        this.tcp.shutdown(this.conn, this.host.now())
        this.host.kick()
    }

    /** Done with the socket: a graceful close (a reset if unread data is left). The handle is dead afterwards. */
    close(): void {
        if (!this.valid()) return
        this.tcp.close(this.conn, this.host.now())
        // a task blocked in read() or write() on this handle wakes and sees EBADF
        this.host.raise(this.signal)
        this.host.kick()
    }

    /** Resets the connection and releases the handle. */
    abort(): void {
        if (!this.valid()) return
        const tcp = this.tcp
        tcp.abort(this.conn, this.host.now())
        tcp.close(this.conn, this.host.now())
        this.host.raise(this.signal)
        this.host.kick()
    }

    /** Holds small writes back until uncork(), which sends them at once (Linux's TCP_CORK). */
    cork(): void {
        if (this.valid()) this.tcp.cork(this.conn)
    }

    uncork(): void {
        if (!this.valid()) return
        this.tcp.uncork(this.conn, this.host.now())
        this.host.kick()
    }

    /** Nagle off (true) or on (false); RFC 896. */
    setNoDelay(noDelay: boolean): void {
        if (this.valid()) this.conn.nagle = !noDelay
    }

    /** Keep-alive probes after idleMs without traffic (RFC 1122 §4.2.3.6). */
    setKeepAlive(on: boolean, idleMs?: number, intervalMs?: number, count?: number): void {
        if (!this.valid()) return
        const c = this.conn
        c.keepAlive = on
        if (idleMs) c.keepIdleMs = idleMs
        if (intervalMs) c.keepIntervalMs = intervalMs
        if (count) c.keepCount = count
        this.tcp.armKeepAlive(c, this.host.now())
        this.host.kick()
    }

    /**
     * Lets the stack reset this connection to make room for a new client when
     * its pool is full, from time `at` on (the host's clock; -1: never). A
     * server offers a connection while it waits for a request.
     */
    setReclaimable(at: number): void {
        if (this.valid()) this.tcp.reclaimAt[this.conn.id] = at
    }

    /** Resets the connection after ms without data either way (0: never). */
    setIdleTimeout(ms: number): void {
        if (!this.valid()) return
        this.conn.idleTimeoutMs = ms
        this.tcp.armKeepAlive(this.conn, this.host.now())
        this.host.kick()
    }

    /** The handle still names its connection: the user holds it (so it is in use) and it was not freed since. */
    private valid(): boolean {
        const c = this.conn
        if (!c.userOwned) return false
        return c.generation === this.generation
    }

    private live(): TcpConnection {
        const c = this.conn
        if (c.userOwned) {
            if (c.generation === this.generation) return c
        }
        throw new SocketError("EBADF", "socket is closed")
    }

    private failure(err: TcpError): SocketError {
        return new SocketError(TCP_ERROR_NAMES[err], "connection to " + this.remoteAddress + ":" + this.remotePort)
    }
}
