// The guide's diagrams (docs/ladders, made by scripts/ladder-docs.ts from the
// real captures in test/capture/fixtures and from the simulator) are current:
// regenerated, they are byte for byte what is committed, and the guide shows
// every one of them.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { readFileSync, readdirSync } from "node:fs"
import { figures, renderFigures } from "../../scripts/ladder-docs.js"

test("docs/ladders is what scripts/ladder-docs.ts makes (run it after changing the tracker or the diagrams)", { timeout: 120000 }, async () => {
    const files = renderFigures(await figures())
    const committed = readdirSync("docs/ladders").filter((n) => n.endsWith(".svg") || n.endsWith(".html"))
    assert.deepEqual([...files.keys()].sort(), committed.sort())
    for (const [name, text] of files) assert.ok(readFileSync("docs/ladders/" + name, "utf8") === text, name + " is out of date: node --import tsx scripts/ladder-docs.ts")
    const guide = readFileSync("docs/tcp-guide.md", "utf8")
    for (const name of files.keys()) if (name.endsWith(".svg")) assert.ok(guide.includes("ladders/" + name), "the guide shows " + name)
    assert.ok(guide.includes("ladders/handshake.png"))
})
