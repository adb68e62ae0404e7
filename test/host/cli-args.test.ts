// The command-line conventions every ds-tcpip command follows (src/host/cli-args.ts).
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { CommandSpec, EXIT, Program, runProgram, numberOption, commandHelp } from "../../src/host/cli-args.js"

function program(runs: unknown[]): { p: Program; out: string[]; err: string[] } {
    const out: string[] = []
    const err: string[] = []
    const serve: CommandSpec = {
        name: "serve",
        summary: "serve things",
        usage: "--tap IF [--loss PCT] [--trace]",
        options: [
            { name: "tap", value: "IF", help: "the TAP interface" },
            { name: "loss", value: "PCT", default: "0", help: "drop this % of frames (0..100)" },
            { name: "trace", flag: true, help: "print every segment" },
        ],
        run: (a) => {
            runs.push(a)
            if (a.values["tap"] === "boom") throw new Error("kaboom\n    at somewhere (file.ts:1:1)")
            return numberOption(a, "loss", 0, 0, 100) > 50 ? EXIT.failure : EXIT.ok
        },
    }
    const trace: CommandSpec = { name: "trace", summary: "read a capture", usage: "FILE", options: [], positionals: [{ name: "FILE", required: true }], run: (a) => void runs.push(a) }
    return { p: { name: "ds-tcpip", version: "1.2.3", summary: "a stack", commands: [serve, trace], out: (t) => out.push(t), err: (t) => err.push(t) }, out, err }
}

test("--version and -V print the version", async () => {
    for (const v of ["--version", "-V"]) {
        const { p, out } = program([])
        assert.equal(await runProgram(p, [v]), EXIT.ok)
        assert.deepEqual(out, ["ds-tcpip 1.2.3"])
    }
})

test("help, help COMMAND, COMMAND --help and -h describe every option with its default and unit", async () => {
    const { p, out } = program([])
    assert.equal(await runProgram(p, ["help"]), EXIT.ok)
    assert.match(out[0], /commands:\n  serve +serve things\n  trace +read a capture/)
    assert.match(out[0], /exit codes:[\s\S]*64 +usage/)
    for (const argv of [["help", "serve"], ["serve", "--help"], ["serve", "-h"]]) {
        const r = program([])
        assert.equal(await runProgram(r.p, argv), EXIT.ok, argv.join(" "))
        assert.match(r.out[0], /^usage: ds-tcpip serve --tap IF/)
        assert.match(r.out[0], /--loss PCT +drop this % of frames \(0\.\.100\) \(default: 0\)/)
        assert.match(r.out[0], /--trace +print every segment/)
        assert.match(r.out[0], /-h, --help/)
    }
})

test("unknown commands, unknown options and stray arguments are usage errors naming the culprit, on one line", async () => {
    const cases: [string[], RegExp][] = [
        [["bogus"], /^ds-tcpip: unknown command "bogus" \(commands: serve, trace;/],
        [["serve", "--bogus", "1"], /^ds-tcpip: serve: unknown option "--bogus"$/],
        [["serve", "--prot", "9000"], /unknown option "--prot"/],
        [["serve", "--tap"], /^ds-tcpip: serve: --tap needs a value/],
        [["serve", "stray"], /^ds-tcpip: serve: unexpected argument "stray"/],
        [["serve", "--trace=1"], /^ds-tcpip: serve: Option '--trace' does not take an argument$/],
        [["serve", "--loss", "150"], /^ds-tcpip: --loss must be a number from 0 to 100, got "150"$/],
        [["trace"], /^ds-tcpip: trace: FILE is missing$/],
        [["trace", "a", "b"], /^ds-tcpip: trace: unexpected argument "b"$/],
        [["help", "nope"], /^ds-tcpip: no command "nope"/],
    ]
    for (const [argv, re] of cases) {
        const runs: unknown[] = []
        const { p, err } = program(runs)
        assert.equal(await runProgram(p, argv), EXIT.usage, argv.join(" "))
        assert.equal(err.length, 1, argv.join(" "))
        assert.match(err[0], re)
        assert.ok(!err[0].includes("\n"), "one line")
    }
})

test("options reach the command; an unexpected exception is one line, never a stack trace", async () => {
    const runs: any[] = []
    const { p, err } = program(runs)
    assert.equal(await runProgram(p, ["serve", "--tap", "tap0", "--loss", "5%", "--trace"]), EXIT.ok)
    assert.equal(runs[0].values["tap"], "tap0")
    assert.equal(runs[0].values["trace"], true)
    assert.equal(await runProgram(p, ["serve", "--tap", "tap0", "--loss", "60"]), EXIT.failure)
    assert.equal(await runProgram(p, ["serve", "--tap", "boom"]), EXIT.software)
    assert.deepEqual(err, ["ds-tcpip: internal error: kaboom"])
    assert.equal(await runProgram(p, ["trace", "x.pcap"]), EXIT.ok)
    assert.deepEqual(runs[runs.length - 1].positionals, ["x.pcap"])
})

test("no command prints the overview and is a usage error", async () => {
    const { p, out } = program([])
    assert.equal(await runProgram(p, []), EXIT.usage)
    assert.match(out[0], /^usage: ds-tcpip COMMAND/)
    assert.ok(commandHelp("x", { name: "c", summary: "s", options: [], run: () => {} }).includes("usage: x c"))
})
