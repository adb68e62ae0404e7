// Rules of the portable core that `devs build` does not enforce: code that
// compiles for DeviceScript but means something else there. Checked over the
// source of everything outside src/host/.
//   - Math.min / Math.max take exactly two arguments on DeviceScript: a third
//     is silently ignored (Math.min(5, 3, 1) is 3 in the VM). That once made
//     the device send a full MSS into a smaller window.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const ROOT = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..")

function portableSources(dir = join(ROOT, "src")): string[] {
    const out: string[] = []
    for (const name of readdirSync(dir)) {
        const p = join(dir, name)
        if (statSync(p).isDirectory()) {
            if (relative(ROOT, p) !== join("src", "host")) out.push(...portableSources(p))
        } else if (name.endsWith(".ts")) out.push(p)
    }
    return out
}

/** Calls of Math.min/Math.max with more than two arguments (commas at the call's own depth). */
export function wideMinMax(source: string): { line: number; text: string }[] {
    const found: { line: number; text: string }[] = []
    const re = /Math\.(min|max)\(/g
    let m: RegExpExecArray | null
    while ((m = re.exec(source))) {
        let depth = 1
        let commas = 0
        let i = m.index + m[0].length
        for (; i < source.length && depth > 0; i++) {
            const ch = source[i]
            if (ch === "(" || ch === "[" || ch === "{") depth++
            else if (ch === ")" || ch === "]" || ch === "}") depth--
            else if (ch === "," && depth === 1) commas++
        }
        if (commas >= 2) found.push({ line: source.slice(0, m.index).split("\n").length, text: source.slice(m.index, i) })
    }
    return found
}

test("the checker finds a three-argument Math.min and passes nested two-argument ones", () => {
    assert.equal(wideMinMax("const a = Math.min(x, f(y, z), w)").length, 1)
    assert.equal(wideMinMax("const a = Math.max(Math.max(x, y), g(1, 2, 3))").length, 0)
})

test("portable code calls Math.min / Math.max with two arguments only", () => {
    const files = portableSources()
    assert.ok(files.length > 30, "found the portable sources")
    const bad: string[] = []
    for (const f of files) for (const b of wideMinMax(readFileSync(f, "utf8"))) bad.push(`${relative(ROOT, f)}:${b.line}: ${b.text}`)
    assert.deepEqual(bad, [], "DeviceScript ignores the third argument: nest two-argument calls")
})
