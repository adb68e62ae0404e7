// `serve --device --ip A/P` on a TAP with no DHCP server: the runner's own
// DHCP server on the chip's wire (src/host/wire-dhcp.ts) hands the firmware
// exactly that address. Here the firmware that takes its address from DHCP
// (the starter) runs in the VM on real time, on the ENC28J60 model, and the
// "TAP" is a frame list: the server's traffic never reaches it, the device's
// broadcasts do.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { VmDevice } from "../../src/host/device-runner.js"
import { DhcpType } from "../../src/wire/dhcp.js"
import { parseIp } from "../../src/wire/bytes.js"
import { WireDhcpServer } from "../../src/host/wire-dhcp.js"

test("the wire's DHCP server leases the named address to the firmware; the link sees the device's broadcasts, not the server", { timeout: 120_000 }, async () => {
    const dev = await VmDevice.start({ entry: "src/main-starter.ts" })
    try {
        const dhcp = dev.serveDhcp(parseIp("198.18.0.2"), parseIp("255.255.255.0"), parseIp("198.18.0.1"))
        const seen: Buffer[] = []
        dev.attach({ send: (f: Buffer, n: number) => void seen.push(Buffer.from(f.subarray(0, n))), onFrame: null })
        const line = await dev.waitForLine((l) => l.startsWith("address "), 60_000)
        assert.equal(line, "address 198.18.0.2: http://ds-tcpip.local/")
        assert.deepEqual(dhcp.server.received.map((m) => m.type).slice(0, 2), [DhcpType.Discover, DhcpType.Request])
        assert.equal(dhcp.server.received[0].hostName, "ds-tcpip")
        // the server answers as the subnet's last free host address
        assert.equal(dhcp.stack.ip, parseIp("198.18.0.254"))
        const serverMac = dhcp.stack.mac
        assert.ok(seen.length > 0, "the link saw nothing")
        assert.ok(!seen.some((f) => f.compare(serverMac, 0, 6, 0, 6) === 0), "a frame to the wire's DHCP server reached the link")
        // the DISCOVER is a broadcast: the LAN (the TAP) sees it as well
        assert.ok(seen.some((f) => f.readUInt32BE(0) === 0xffffffff && f.readUInt16BE(36) === 67), "the link did not see the DISCOVER")
    } finally {
        dev.stop()
    }
})

test("the wire's DHCP server picks an address of the subnet that is neither the device's nor the router's", () => {
    const s = new WireDhcpServer(parseIp("198.18.0.254"), parseIp("255.255.255.0"), parseIp("198.18.0.253"), () => {})
    assert.equal(s.stack.ip, parseIp("198.18.0.252"))
    assert.throws(() => new WireDhcpServer(parseIp("198.18.0.1"), parseIp("255.255.255.252"), parseIp("198.18.0.2"), () => {}), /no room/)
})
