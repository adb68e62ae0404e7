// The ds-tcpip command line, by the conventions of the tools its users know
// (curl, tcpdump, devs): commands declared as data, options parsed by
// node:util's parseArgs in strict mode, help generated from the declarations
// (every option with its value, default and unit), every error one line on
// stderr, and exit codes as sysexits(3) has them.
import { parseArgs } from "node:util"
import { accessSync, constants, existsSync, statSync } from "node:fs"
import { dirname, resolve } from "node:path"

/** Exit codes (sysexits.h), documented in `ds-tcpip help`. */
export const EXIT = {
    ok: 0,
    /** Something failed at run time (a request, a transfer). */
    failure: 1,
    /** EX_USAGE: a wrong command, option or argument. */
    usage: 64,
    /** EX_DATAERR: the input file is not what it should be (not a capture, say). */
    dataErr: 65,
    /** EX_NOINPUT: an input file does not exist or cannot be read. */
    noInput: 66,
    /** EX_NOHOST: a host name could not be resolved. */
    noHost: 68,
    /** EX_UNAVAILABLE: a tool or service it needs is missing (tsx, a TAP, /dev/net/tun). */
    unavailable: 69,
    /** EX_SOFTWARE: an internal error (a bug: please report it). */
    software: 70,
    /** EX_OSERR: the system refused (an interface that is not a TAP, a namespace). */
    osErr: 71,
    /** EX_CANTCREAT: an output file cannot be written. */
    cantCreate: 73,
    /** EX_IOERR: an I/O error on the network or a device. */
    ioErr: 74,
    /** EX_TEMPFAIL: it timed out; trying again may work. */
    tempFail: 75,
    /** EX_NOPERM: it needs root. */
    noPerm: 77,
}

/** An error to report on one line and exit with `code`. */
export class CliError extends Error {
    readonly code: number
    constructor(message: string, code: number = EXIT.failure) {
        super(message)
        this.code = code
    }
}

export interface OptionSpec {
    /** The long name, without "--". */
    name: string
    /** A one-letter alias, without "-". */
    short?: string
    /** A flag takes no value. */
    flag?: boolean
    /** The value's placeholder in help: "IF", "ADDR/PREFIX", "PCT". */
    value?: string
    /** The default as help shows it (the command applies it). */
    default?: string
    /** What it does, with its unit: "drop this % of frames (0..100)". */
    help: string
}

export interface CommandSpec {
    name: string
    /** One line for the list of commands. */
    summary: string
    /** The arguments after the command name, for the usage line: "FILE [-o OUT]". */
    usage?: string
    /** Paragraphs after the usage line. */
    description?: string
    options: OptionSpec[]
    /** Names of the positional arguments it takes, in order (none: stray arguments are rejected). */
    positionals?: { name: string; required: boolean }[]
    run: (args: ParsedArgs) => Promise<number | void> | number | void
}

export interface ParsedArgs {
    /** Option values by long name: a string, true for a flag, or undefined when absent. */
    values: Record<string, string | boolean | undefined>
    positionals: string[]
}

const HELP_OPTION: OptionSpec = { name: "help", short: "h", flag: true, help: "show this help and exit" }

/** Parses argv (the words after the command) against spec, strictly; throws CliError(usage). */
export function parseCommand(spec: CommandSpec, argv: string[]): ParsedArgs {
    const options: Record<string, { type: "string" | "boolean"; short?: string }> = {}
    for (const o of [...spec.options, HELP_OPTION]) options[o.name] = o.short ? { type: o.flag ? "boolean" : "string", short: o.short } : { type: o.flag ? "boolean" : "string" }
    let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] }
    try {
        parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true }) as any
    } catch (e) {
        throw new CliError(`${spec.name}: ${oneLine(e)}`, EXIT.usage)
    }
    if (parsed.values["help"]) return parsed
    const allowed = spec.positionals ?? []
    if (parsed.positionals.length > allowed.length) {
        const stray = parsed.positionals[allowed.length]
        throw new CliError(`${spec.name}: unexpected argument "${stray}"${stray.startsWith("-") ? "" : allowed.length ? "" : " (this command takes options only)"}`, EXIT.usage)
    }
    for (let i = 0; i < allowed.length; i++) {
        if (allowed[i].required && parsed.positionals.length <= i) throw new CliError(`${spec.name}: ${allowed[i].name} is missing`, EXIT.usage)
    }
    return parsed
}

/** parseArgs's messages, made one line and without its advice paragraph. */
function oneLine(e: unknown): string {
    const m = (e as Error).message || String(e)
    const first = m.split("\n")[0]
    const code = (e as { code?: string }).code
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return first.replace(/^Unknown option '([^']+)'.*$/, 'unknown option "$1"')
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") return first.replace(/^Unexpected argument '([^']+)'.*$/, 'unexpected argument "$1"')
    if (/argument is ambiguous/.test(first)) return first.replace(/^Option '([^']+)' argument is ambiguous\.?$/, "$1 needs a value (write $1=-VALUE for a value that starts with a dash)")
    if (/argument missing/.test(first)) return first.replace(/^Option '(--[a-z-]+)(?: <value>)?' argument missing$/, "$1 needs a value")
    return first
}

/** The help of one command: usage, description, and every option with its value, default and unit. */
export function commandHelp(program: string, spec: CommandSpec): string {
    const lines = [`usage: ${program} ${spec.name}${spec.usage ? " " + spec.usage : ""}`, "", spec.summary]
    if (spec.description) lines.push("", spec.description)
    lines.push("", "options:")
    const opts = [...spec.options, HELP_OPTION]
    const left = opts.map((o) => `  ${o.short ? "-" + o.short + ", " : "    "}--${o.name}${o.flag ? "" : " " + (o.value ?? "VALUE")}`)
    const width = Math.max(...left.map((l) => l.length)) + 2
    opts.forEach((o, i) => lines.push(left[i].padEnd(width) + o.help + (o.default !== undefined ? ` (default: ${o.default})` : "")))
    return lines.join("\n")
}

/** The overall help: commands, global options, exit codes. */
export function programHelp(program: string, summary: string, commands: CommandSpec[]): string {
    const width = Math.max(14, ...commands.map((c) => c.name.length)) + 4
    const codes = [
        ["0", "success"],
        ["1", "a run-time failure (a request that failed, a transfer cut short)"],
        ["64", "usage: an unknown command or option, a bad value"],
        ["65", "data: an input file that is not what it should be"],
        ["66", "no input: an input file that cannot be read"],
        ["68", "no host: a name that does not resolve"],
        ["69", "unavailable: a tool or device it needs is missing"],
        ["70", "internal error (a bug: please report it)"],
        ["71", "the system refused (a namespace, an interface of the wrong kind)"],
        ["73", "cannot create an output file"],
        ["74", "I/O error on the network or a device"],
        ["75", "timed out"],
        ["77", "needs root"],
    ]
    return [
        `usage: ${program} COMMAND [OPTIONS]`,
        "",
        summary,
        "",
        "commands:",
        ...commands.map((c) => "  " + c.name.padEnd(width) + c.summary),
        "  " + "help".padEnd(width) + `${program} help COMMAND shows a command's options (also: COMMAND --help)`,
        "",
        "options:",
        "  -V, --version".padEnd(width + 2) + "print the version and exit",
        "  -h, --help".padEnd(width + 2) + "show this help and exit",
        "",
        "exit codes:",
        ...codes.map(([c, t]) => "  " + c.padEnd(4) + t),
    ].join("\n")
}

export interface Program {
    name: string
    version: string
    summary: string
    commands: CommandSpec[]
    /** Where output goes (tests capture it). */
    out?: (text: string) => void
    err?: (text: string) => void
}

/**
 * Runs the command named by argv[0] and returns the exit code. Errors are one
 * line on stderr: a CliError's message; anything else as an internal error
 * (70) with its message only, never a stack trace.
 */
export async function runProgram(p: Program, argv: string[]): Promise<number> {
    const out = p.out ?? ((t: string) => process.stdout.write(t + "\n"))
    const err = p.err ?? ((t: string) => process.stderr.write(t + "\n"))
    const first = argv[0]
    if (first === "-V" || first === "--version") {
        out(`${p.name} ${p.version}`)
        return EXIT.ok
    }
    if (first === undefined || first === "-h" || first === "--help") {
        out(programHelp(p.name, p.summary, p.commands))
        return first === undefined ? EXIT.usage : EXIT.ok
    }
    if (first === "help") {
        const topic = argv[1]
        if (!topic) {
            out(programHelp(p.name, p.summary, p.commands))
            return EXIT.ok
        }
        const c = p.commands.find((x) => x.name === topic)
        if (!c) {
            err(`${p.name}: no command "${topic}" (commands: ${p.commands.map((x) => x.name).join(", ")})`)
            return EXIT.usage
        }
        out(commandHelp(p.name, c))
        return EXIT.ok
    }
    const spec = p.commands.find((x) => x.name === first)
    if (!spec) {
        err(`${p.name}: unknown command "${first}" (commands: ${p.commands.map((x) => x.name).join(", ")}; ${p.name} --help)`)
        return EXIT.usage
    }
    try {
        const args = parseCommand(spec, argv.slice(1))
        if (args.values["help"]) {
            out(commandHelp(p.name, spec))
            return EXIT.ok
        }
        const code = await spec.run(args)
        return typeof code === "number" ? code : EXIT.ok
    } catch (e) {
        if (e instanceof CliError) {
            err(`${p.name}: ${e.message}`)
            return e.code
        }
        const m = (e as Error)?.message ?? String(e)
        err(`${p.name}: internal error: ${m.split("\n")[0]}`)
        return EXIT.software
    }
}

/** A number option within [min, max], or the default; a CliError(usage) naming the option otherwise. */
export function numberOption(args: ParsedArgs, name: string, fallback: number, min: number, max: number, integer = false): number {
    const v = args.values[name]
    if (v === undefined) return fallback
    const text = String(v).replace(/%$/, "")
    const n = text.trim() === "" ? NaN : Number(text)
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
        throw new CliError(`--${name} must be ${integer ? "an integer" : "a number"} from ${min} to ${max}, got "${v}"`, EXIT.usage)
    }
    return n
}

/** A file an option names must be writable before anything starts: a CliError (EX_CANTCREAT) naming it, not a stack trace later. */
export function checkWritable(option: string, path: string): void {
    try {
        const dir = dirname(resolve(path))
        if (!statSync(dir).isDirectory()) throw new Error(`${dir} is not a folder`)
        accessSync(dir, constants.W_OK)
        if (existsSync(path) && statSync(path).isDirectory()) throw new Error("it is a folder")
    } catch (e) {
        const err = e as NodeJS.ErrnoException
        throw new CliError(`--${option} ${path}: cannot write there (${err.code ?? err.message})`, EXIT.cantCreate)
    }
}
