// A DHCP server on the device's own wire, for `ds-tcpip serve --device --ip A/P`.
//
// The firmware takes its address from DHCP, as it does on a LAN. A TAP on the
// host has no DHCP server behind it, so when the user names the address, the
// runner puts one on the wire between the chip model and the TAP: a small
// ds-tcpip Stack of its own (a MAC and an address of the subnet nobody else
// uses) running TestDhcpServer with a pool of exactly that address. Frames
// the device sends to this server's MAC go to it alone; broadcasts (DISCOVER,
// REQUEST, ARP) go to it and to the TAP; everything else only to the TAP. The
// kernel never sees the server.
import { Stack } from "../stack.js"
import { Xoshiro128 } from "../random.js"
import { TestDhcpServer } from "./dhcp-server.js"

/** Frames of the server to the device: delivered to the chip model's receive side. */
export type ToDevice = (frame: Buffer) => void

export class WireDhcpServer {
    readonly stack: Stack
    readonly server: TestDhcpServer
    private readonly mac = Buffer.from([0x02, 0x00, 0xd5, 0xc0, 0xde, 0x67])
    private readonly t0 = performance.now()

    /**
     * Offers `deviceIp` (with `netmask`, and `router` when not 0) to whatever
     * client asks, for `leaseSeconds`. The server's own address is the
     * subnet's last host address, or the one below it when that is the device's.
     */
    constructor(deviceIp: number, netmask: number, router: number, toDevice: ToDevice, leaseSeconds = 3600) {
        const net = (deviceIp & netmask) >>> 0
        const last = (net | (~netmask >>> 0)) >>> 0
        let self = last - 1
        if (self === deviceIp || self === router) self--
        if (self === deviceIp || self === router) self--
        if (self <= net) throw new Error("the subnet has no room for a DHCP server beside the device")
        this.stack = new Stack({
            driver: { mac: this.mac, mtu: 1500, transmit: (f: Buffer, n: number) => toDevice(Buffer.from(f.subarray(0, n))) },
            ip: self,
            netmask,
            random: new Xoshiro128(deviceIp ^ 0x5eed),
        })
        this.stack.start(performance.now() - this.t0)
        this.server = new TestDhcpServer(this.stack, { first: deviceIp, last: deviceIp, netmask, router: router || undefined, leaseTime: leaseSeconds })
    }

    /**
     * A frame the device sent. Returns false when it is for this server alone
     * (the TAP must not see it), true when the TAP takes it too.
     */
    fromDevice(frame: Buffer): boolean {
        if (frame.length < 14) return true
        const toUs = frame.compare(this.mac, 0, 6, 0, 6) === 0
        const group = (frame[0] & 1) === 1
        if (toUs || group) this.stack.receive(frame, performance.now() - this.t0)
        return !toUs
    }
}
