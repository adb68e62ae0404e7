// serve --netns checks what it is given as it does without one (root, own
// namespace, 198.18.0.0/15 only): a mistyped TAP name is an error, not a new
// unconfigured TAP, and an address outside the TAP's subnet is refused.
import "../setup.js"
import { describe, it, before, after } from "node:test"
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { join } from "node:path"
import { Netns, interopSkipReason } from "./netns.js"
import { REPO_ROOT } from "../../src/host/vm/build.js"

function cli(...args: string[]): { code: number; err: string } {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, "scripts/ds-tcpip.mjs"), ...args], { encoding: "utf8", timeout: 60_000 })
    return { code: r.status, err: r.stderr }
}

describe("interop: serve --netns checks the TAP and the subnet", { skip: interopSkipReason() ?? false, timeout: 120_000 }, () => {
    let ns: Netns
    before(() => {
        ns = new Netns({ tag: "cli" })
    })
    after(() => {
        if (ns) ns.closeSync()
    })

    it("a TAP name that is not in the namespace is an error (69), and no interface is created", () => {
        const r = cli("serve", "--tap", "dstapX", "--netns", ns.name, "--ip", "198.18.0.2/24")
        assert.equal(r.code, 69, r.err)
        assert.match(r.err, new RegExp(`^ds-tcpip: there is no interface dstapX in namespace ${ns.name} \\(create it: ip -n ${ns.name} tuntap add`))
        assert.equal(r.err.trim().split("\n").length, 1)
        const link = spawnSync("ip", ["-n", ns.name, "link", "show", "dev", "dstapX"], { encoding: "utf8" })
        assert.notEqual(link.status, 0, "serve created dstapX")
    })

    it("an address outside the TAP's subnet in the namespace is refused (64)", () => {
        const r = cli("serve", "--tap", "dstap0", "--netns", ns.name, "--ip", "198.19.7.2/24")
        assert.equal(r.code, 64, r.err)
        assert.match(r.err, /198\.19\.7\.2\/24 is outside the subnet of dstap0 in namespace .* \(198\.18\.0\.1\/24\)/)
        const own = cli("serve", "--tap", "dstap0", "--netns", ns.name, "--ip", "198.18.0.1/24")
        assert.equal(own.code, 64, own.err)
        assert.match(own.err, /198\.18\.0\.1 is the kernel's own address on dstap0/)
    })
})
