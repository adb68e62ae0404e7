// What each optional feature costs in the image (npm run bench:features), as
// the README's table says: sizes are deterministic, so the table cannot go stale.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { REPO_ROOT } from "../../src/host/vm/build.js"
import { featureCosts, featureTable } from "../../bench/features.js"

test("the README's feature table is what bench:features measures, and every feature costs bytes", async () => {
    const c = await featureCosts()
    for (const [label, bytes] of c.rows) assert.ok(bytes > 0, `${label}: ${bytes}`)
    const table = featureTable(c)
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8")
    assert.ok(readme.includes(table.join("\n")), "README's feature table differs from npm run bench:features:\n" + table.join("\n"))
    assert.ok(readme.includes(`one route (${c.base.toLocaleString("en-US")}):`), `README: the base's figure is ${c.base.toLocaleString("en-US")}`)
})
