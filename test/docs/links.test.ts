// The docs a user reads: every relative link in README.md and docs/*.md
// leads to a file of the repository, and nothing points outside it.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { REPO_ROOT } from "../../src/host/vm/build.js"

const files = ["README.md", ...readdirSync(join(REPO_ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => "docs/" + f)]

test("every relative link in the README and docs/ leads to a file of the repository", () => {
    const broken: string[] = []
    for (const f of files) {
        const text = readFileSync(join(REPO_ROOT, f), "utf8")
        for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
            const target = m[1]
            if (/^[a-z]+:/.test(target)) continue // a URL
            const abs = resolve(dirname(join(REPO_ROOT, f)), target)
            if (relative(REPO_ROOT, abs).startsWith("..")) broken.push(`${f}: ${target} points outside the repository`)
            else if (!existsSync(abs)) broken.push(`${f}: ${target} does not exist`)
        }
    }
    assert.deepEqual(broken, [])
})

test("nothing in the repository's docs or sources refers to ../shared", () => {
    const found: string[] = []
    const walk = (dir: string) => {
        for (const e of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
            const p = dir ? dir + "/" + e.name : e.name
            if (e.isDirectory()) {
                if (!/^(node_modules|\.git|build|\.devicescript|\.scratch)$/.test(e.name)) walk(p)
            } else if (/\.(md|ts|mjs|json)$/.test(e.name) && !p.endsWith("test/docs/links.test.ts")) {
                if (readFileSync(join(REPO_ROOT, p), "utf8").includes("../shared")) found.push(p)
            }
        }
    }
    walk("")
    assert.deepEqual(found, [])
})
