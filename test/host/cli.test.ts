// The ds-tcpip command and npm start as a person meets them: --version, help,
// unknown options and stray arguments named, a bad path refused up front,
// one-line errors, sysexits codes (nothing here needs root or a TAP).
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { REPO_ROOT } from "../../src/host/vm/build.js"

function cli(...args: string[]): { code: number; out: string; err: string } {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, "scripts/ds-tcpip.mjs"), ...args], { encoding: "utf8", timeout: 60_000 })
    return { code: r.status, out: r.stdout, err: r.stderr }
}
function start(...args: string[]): { code: number; out: string; err: string } {
    const r = spawnSync(process.execPath, ["--import", "tsx", join(REPO_ROOT, "src/host/start.ts"), ...args], { encoding: "utf8", timeout: 60_000, cwd: REPO_ROOT })
    return { code: r.status, out: r.stdout, err: r.stderr }
}
function oneLine(err: string): void {
    assert.equal(err.trim().split("\n").length, 1, "one line: " + err)
    assert.ok(!/\n\s+at /.test(err), "no stack trace: " + err)
}

test("--version and -V", () => {
    const version = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).version
    for (const v of ["--version", "-V"]) {
        const r = cli(v)
        assert.equal(r.code, 0)
        assert.equal(r.out.trim(), "ds-tcpip " + version)
    }
})

test("help, help COMMAND, COMMAND --help and -h: every option with its value, default and unit", () => {
    const all = cli("--help")
    assert.equal(all.code, 0)
    for (const c of ["serve", "netns-demo", "trace", "ladder", "get", "bridge"]) assert.match(all.out, new RegExp(`\\n  ${c} +\\S`), c)
    assert.match(all.out, /exit codes:[\s\S]*64 +usage[\s\S]*77 +needs root/)
    for (const argv of [["help", "serve"], ["serve", "--help"], ["serve", "-h"]]) {
        const r = cli(...argv)
        assert.equal(r.code, 0, argv.join(" "))
        assert.match(r.out, /--loss PCT +drop this percentage of frames, each way \(0\.\.100\) \(default: 0\)/)
        assert.match(r.out, /--delay MS +one-way delay in milliseconds/)
        assert.match(r.out, /--tap IF/)
    }
    assert.match(cli("help", "ladder").out, /-o, --output OUT/)
    const s = start("--help")
    assert.equal(s.code, 0)
    assert.match(s.out, /--port N +the loopback port to forward \(0: any free one\) \(default: 8080\)/)
})

test("unknown options, stray arguments and bad values are usage errors (64) naming the culprit, on one line", () => {
    const cases: [string[], RegExp][] = [
        [["serve", "--bogus", "1"], /unknown option "--bogus"/],
        [["serve", "--tap", "t0", "stray"], /unexpected argument "stray"/],
        [["serve", "--tap", "t0", "--ip", "198.18.0.2/24", "--loss", "150"], /--loss must be a percentage 0\.\.100, got "150"/],
        [["serve", "--tap", "t0", "--chip", "w5500"], /--chip goes with --device/],
        [["serve", "--device", "--tap", "t0", "--ip", "198.18.0.300/24"], /--ip 198\.18\.0\.300\/24: want ADDR\/PREFIX/],
        [["serve", "--device", "--tap", "t0", "--ip", "198.18.0.2"], /--ip 198\.18\.0\.2: want ADDR\/PREFIX/],
        [["serve", "--device", "--tap", "t0", "--ip", "198.18.0.2/24", "--gateway", "nowhere"], /--gateway nowhere: not an IPv4 address/],
        [["serve", "--device", "--tap", "t0", "--dhcp", "--ip", "198.18.0.2/24"], /give --ip \(and --gateway\) or --dhcp, not both/],
        [["serve", "--device", "--tap", "t0", "--hostname", "my.device"], /--hostname: "my\.device" is not a host name/],
        [["nonsense"], /unknown command "nonsense"/],
        [["trace"], /FILE is missing/],
        [["get", "http://x/", "--tap", "t0"], /--dhcp or --ip/],
        [["bridge", "--tap"], /--tap needs a value/],
    ]
    for (const [argv, re] of cases) {
        const r = cli(...argv)
        assert.equal(r.code, 64, argv.join(" ") + ": " + r.err)
        assert.match(r.err, re)
        oneLine(r.err)
    }
    const s = start("--prot", "9000")
    assert.equal(s.code, 64)
    assert.match(s.err, /unknown option "--prot"/)
    oneLine(s.err)
})

test("a --pcap path that cannot be written is refused before anything starts (73), as one line", () => {
    const r = cli("serve", "--tap", "t0", "--ip", "198.18.0.2/24", "--pcap", "/nonexistent-dir/x.pcap")
    assert.equal(r.code, 73)
    assert.match(r.err, /^ds-tcpip: --pcap \/nonexistent-dir\/x\.pcap: cannot write there \(ENOENT\)$/m)
    oneLine(r.err)
    const s = start("--pcap", "/nonexistent-dir/x.pcap")
    assert.equal(s.code, 73)
    oneLine(s.err)
})

test("a capture that is not one: one line, no stack trace", () => {
    const r = cli("trace", join(REPO_ROOT, "package.json"))
    assert.notEqual(r.code, 0)
    oneLine(r.err)
})
