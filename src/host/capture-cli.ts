// The capture commands of `ds-tcpip` (host only), kept apart from cli.ts's
// option parsing:
//
//   ds-tcpip trace FILE [--conn N] [--relative] [--time] [--json] [--states EVENTS] [--msl MS]
//       Every TCP segment of a pcap/pcapng file in tcpdump's notation, grouped
//       by connection, with each endpoint's inferred RFC 9293 state changes.
//       With the stack's state events (EVENTS, default FILE.states when it
//       exists), says where the inference and the stack disagree.
//   ds-tcpip ladder FILE -o OUT.html|OUT.svg [--conn N] [--msl MS]
//       The ladder diagram of one or all connections.
import { writeFileSync } from "node:fs"
import { CaptureError } from "./capture.js"
import { traceCommand } from "./trace-file.js"

export const CAPTURE_USAGE = `  ds-tcpip trace FILE [--conn N] [--relative] [--time] [--json] [--states EVENTS] [--msl MS]
  ds-tcpip ladder FILE -o OUT.html|OUT.svg [--conn N] [--msl MS]`

const FLAGS = ["relative", "time", "json"]
const VALUES = ["conn", "states", "msl", "o", "output"]

interface Parsed {
    file: string
    flags: Set<string>
    values: Map<string, string>
}

function parse(argv: string[]): Parsed {
    const flags = new Set<string>()
    const values = new Map<string, string>()
    let file = ""
    for (let i = 1; i < argv.length; i++) {
        const a = argv[i]
        const name = a.replace(/^--?/, "")
        if (a.startsWith("-") && FLAGS.includes(name)) flags.add(name)
        else if (a.startsWith("-") && VALUES.includes(name)) {
            if (i + 1 >= argv.length) throw new CaptureError(a + " needs a value")
            values.set(name === "output" ? "o" : name, argv[++i])
        } else if (a.startsWith("-")) throw new CaptureError("unknown option " + a)
        else if (file) throw new CaptureError("one capture file at a time (got " + file + " and " + a + ")")
        else file = a
    }
    if (!file) throw new CaptureError(argv[0] + " needs a capture file")
    return { file, flags, values }
}

function positiveInt(p: Parsed, name: string): number | undefined {
    const v = p.values.get(name)
    if (v === undefined) return undefined
    const n = Number(v)
    if (!Number.isInteger(n) || n < 1) throw new CaptureError("--" + name + " must be a positive integer, got " + JSON.stringify(v))
    return n
}

/** Runs `trace` or `ladder`; returns the exit status (errors are one line on stderr). */
export async function runCaptureCommand(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
    try {
        const p = parse(argv)
        const conn = positiveInt(p, "conn")
        const msl = positiveInt(p, "msl")
        const timeWaitMs = msl === undefined ? undefined : 2 * msl
        if (argv[0] === "trace") {
            out(traceCommand({ file: p.file, conn, relative: p.flags.has("relative"), time: p.flags.has("time"), json: p.flags.has("json"), states: p.values.get("states"), timeWaitMs }))
            return 0
        }
        const o = p.values.get("o")
        if (!o || !/\.(html|svg)$/.test(o)) throw new CaptureError("ladder needs -o OUT.html or -o OUT.svg")
        const { ladderCommand } = await import("./ladder.js")
        const text = ladderCommand({ file: p.file, conn, timeWaitMs, html: o.endsWith(".html") })
        try {
            writeFileSync(o, text)
        } catch (e) {
            throw new CaptureError("cannot write " + o + ": " + (e as NodeJS.ErrnoException).code)
        }
        out("wrote " + o + "\n")
        return 0
    } catch (e) {
        if (e instanceof CaptureError) {
            process.stderr.write("ds-tcpip " + argv[0] + ": " + e.message + "\n")
            return 1
        }
        throw e
    }
}
