// The bridge driver on DeviceScript's one TCP socket (@devicescript/net):
// connects to `ds-tcpip bridge` and runs the fiber that reads the stream.
import * as ds from "@devicescript/core"
import { connect, Socket } from "@devicescript/net"
import { BridgeDriver } from "../drivers/bridge.js"
import { FrameSink } from "../drivers/spi.js"
import { FiberSignal } from "./signal.js"

type DsSockets = typeof ds & { _socketWrite(buf: Buffer): number }

/** Connects to the bridge at host:port; null when it cannot. */
export async function openBridge(host: string, port: number, mac: Buffer, log: (line: string) => void): Promise<{ driver: BridgeDriver; socket: Socket }> {
    let socket: Socket
    try {
        socket = await connect({ host, port, proto: "tcp", timeout: 10000 })
    } catch (e) {
        log("bridge: cannot connect to " + host + ":" + port + ": " + e)
        return null
    }
    const driver = new BridgeDriver(mac)
    // the runtime's write does not suspend: transmit() stays synchronous for the stack
    driver.out = (b: Buffer) => (ds as DsSockets)._socketWrite(b) === 0
    log("bridge: connected to " + host + ":" + port)
    return { driver, socket }
}

/** The reading fiber: frames to sink as they complete; kicks the network loop. */
export function runBridge(b: { driver: BridgeDriver; socket: Socket }, sink: FrameSink, kick: FiberSignal, log: (line: string) => void): void {
    const loop = async () => {
        for (;;) {
            let data: Buffer = null
            try {
                data = await b.socket.recv()
            } catch (e) {
                log("bridge: " + e)
            }
            if (!data) break
            if (!b.driver.input(data, sink, ds.millis())) {
                log("bridge: bad frame length, closing")
                await b.socket.close()
                break
            }
            kick.emit(true)
        }
        log("bridge: closed")
    }
    loop.start()
}
