// The one TCP socket of @devicescript/net, for a program in DeviceVm: the
// VM's sockOpen/sockWrite/sockClose hooks (runtime/devicescript-vm/
// wasmpre.ts) on a Node socket the harness chooses for the host and port the
// program asked for (the harness plays the network: "ds-tcpip-bridge":7777
// can be any server). Events reach the program one per VM step, as the
// harness notes: an open event and the first data never share a step.
import { Socket } from "node:net"

const EV_OPEN = 1
const EV_CLOSE = 2
const EV_ERROR = 3
const EV_DATA = 4

export type SocketConnector = (host: string, port: number) => Socket | null

export interface SockEm {
    HEAPU8: Uint8Array
    _malloc(n: number): number
    _free(p: number): void
    _jd_em_tcpsock_on_event(ev: number, ptr: number, len: number): void
    sockOpen: (hostptr: number, port: number) => number
    sockWrite: (ptr: number, len: number) => number
    sockClose: () => number
    sockIsAvailable: () => boolean
}

/** Wires the hooks; returns the queue of events the VM's step() delivers (one per step). */
export function installSockets(em: SockEm, connect: SocketConnector): (() => void)[] {
    const queue: (() => void)[] = []
    let current: Socket | null = null
    const deliver = (ev: number, data?: Buffer) => {
        const len = data ? data.length : 0
        const ptr = len ? em._malloc(len) : 0
        if (ptr) em.HEAPU8.set(data, ptr)
        em._jd_em_tcpsock_on_event(ev, ptr, len)
        if (ptr) em._free(ptr)
    }
    em.sockIsAvailable = () => true
    em.sockOpen = (hostptr: number, port: number) => {
        let end = hostptr
        while (em.HEAPU8[end] !== 0 && end - hostptr < 256) end++
        const host = Buffer.from(em.HEAPU8.subarray(hostptr, end)).toString("utf8")
        if (current) current.destroy()
        const s = port > 0 ? connect(host, port) : null
        current = s
        if (!s) return -1
        s.setNoDelay(true)
        s.once("connect", () => s === current && queue.push(() => deliver(EV_OPEN)))
        s.on("data", (b: Buffer) => s === current && queue.push(() => deliver(EV_DATA, Buffer.from(b))))
        s.on("error", (e: Error) => {
            if (s !== current) return
            current = null
            queue.push(() => deliver(EV_ERROR, Buffer.from(`tcp://${host}:${port}: ${e.message}`)))
        })
        s.on("close", () => {
            if (s !== current) return
            current = null
            queue.push(() => deliver(EV_CLOSE))
        })
        return 0
    }
    em.sockWrite = (ptr: number, len: number) => {
        if (!current) return -10
        current.write(Buffer.from(em.HEAPU8.subarray(ptr, ptr + len)))
        return 0
    }
    em.sockClose = () => {
        if (!current) return -10
        current.end()
        current = null
        return 0
    }
    return queue
}
