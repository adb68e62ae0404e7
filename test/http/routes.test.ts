// Route patterns: the server matches a path part by part without splitting
// it (String.split is a bytecode loop on the device); the meaning is the one
// a split on "/" gives, written here as the reference.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { HttpServer, matchRoute, Route } from "../../src/http/server.js"

function bySplit(pattern: string, path: string): any {
    const a = pattern.split("/")
    const b = path.split("/")
    if (a.length !== b.length) return null
    const out: any = {}
    for (let i = 0; i < a.length; i++) {
        if (a[i].startsWith(":")) {
            if (b[i] === "") return null
            out[a[i].slice(1)] = b[i]
        } else if (a[i] !== b[i]) return null
    }
    return out
}

test("a path matches a pattern part by part; a :name part takes any non-empty part", () => {
    const patterns = ["/", "/bytes/:n", "/:a/:b", ":x", "/a/:x/c", "/a:b", "", "/:", "/x/", "/x/:y/", "/:a/:a", "::", "/b/:n/:m"]
    const paths = ["/", "/bytes/10", "/bytes/", "/bytes", "/a/b", "/a/b/c", "abc", "", "/a:b", "/x/", "/x/1/", "/x/1", "//", "/a/1/c", "/a//c", ":", "/b/1/2", "/b/1/", "/b//2"]
    const server = new HttpServer({ host: { spawn: () => {} } } as any)
    for (const pattern of patterns) {
        server.get(pattern, () => {})
        const routes = (server as any).routes as Route[]
        const r = routes[routes.length - 1]
        for (const path of paths) assert.deepEqual(matchRoute(r, path), bySplit(pattern, path), `${pattern} ${path}`)
    }
})

test("dispatch: the first route registered that matches wins, whether it has parameters or not; HEAD falls back to GET", async () => {
    const server = new HttpServer({ host: { spawn: () => {} } } as any)
    const took: string[] = []
    const route = (pattern: string, name: string, method = "GET") => server.route(method, pattern, async (req: any) => void took.push(name + " " + JSON.stringify(req.params)))
    route("/a/:x", "param-first")
    route("/a/b", "static-after")
    route("/c/d", "static-first")
    route("/c/:x", "param-after")
    route("/c/d", "static-again")
    route("/p", "post", "POST")
    const dispatch = async (method: string, path: string) => {
        const res = { send: async (status: number): Promise<void> => void took.push("status " + status), setHeader: (): void => {} }
        await (server as any).dispatch({ method, path }, res)
        return took.pop()
    }
    assert.equal(await dispatch("GET", "/a/b"), 'param-first {"x":"b"}')
    assert.equal(await dispatch("GET", "/c/d"), "static-first {}")
    assert.equal(await dispatch("GET", "/c/e"), 'param-after {"x":"e"}')
    assert.equal(await dispatch("HEAD", "/c/d"), "static-first {}")
    assert.equal(await dispatch("POST", "/p"), "post {}")
    assert.equal(await dispatch("GET", "/p"), "status 405")
    assert.equal(await dispatch("GET", "/nothing"), "status 404")
})
