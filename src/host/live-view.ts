// The live view of `npm start` (host only): a page on the host, beside the
// device's own, with the table of the device's connections and their states,
// and the ladder diagram of the connection you pick, redrawn as segments
// come. The host serves it from its frame taps and the stack's state events
// (src/host/live-ladder.ts); the device serves none of it.
//
//   GET /            the page (self-contained: the renderer is inlined)
//   GET /state.json  {rows: [...], model: LadderModel | null}; ?conn=N picks the diagram
import { createServer, Server } from "node:http"
import { LiveLadder } from "./live-ladder.js"
import { renderLadder } from "./ladder.js"

function page(): string {
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ds-tcpip live connections</title>
<style>
body{font-family:sans-serif;margin:16px;background:#f6f7f9}
table{border-collapse:collapse;background:#fff;font-size:13px}
td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}
tr.conn{cursor:pointer}tr.conn:hover,tr.sel{background:#e8eef9}
.state{font-weight:600;color:#0a5d2a}
#ladder{margin-top:16px;background:#fff;display:inline-block}
</style></head><body>
<h1>ds-tcpip: the device's connections, live</h1>
<p>Pick a connection to see its ladder diagram; both update as segments come. States in the table are the stack's own; the diagram's are inferred from the segments.</p>
<table><thead><tr><th>#</th><th>client</th><th>device</th><th>state</th><th>segments</th></tr></thead><tbody id="rows"></tbody></table>
<div id="ladder"></div>
<script>
var __name = function (f) { return f; };
var renderLadder = ${renderLadder.toString()};
var chosen = 0, shown = "", model = null, open = {};
function esc(s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;"); }
function poll() {
  fetch("state.json" + (chosen ? "?conn=" + chosen : "")).then(function (r) { return r.json(); }).then(function (s) {
    if (!chosen && s.rows.length) chosen = s.rows[0].id;
    document.getElementById("rows").innerHTML = s.rows.map(function (r) {
      return '<tr class="conn' + (r.id === chosen ? ' sel' : '') + '" data-id="' + r.id + '"><td>' + r.id + '</td><td>' + esc(r.remote) + '</td><td>' + esc(r.local) + '</td><td class="state">' + esc(r.state) + '</td><td>' + r.segments + '</td></tr>';
    }).join("");
    var key = JSON.stringify(s.model);
    if (s.model && key !== shown) {
      shown = key;
      model = s.model;
      draw();
    }
  }).catch(function () {}).then(function () { setTimeout(poll, 500); });
}
function draw() { document.getElementById("ladder").innerHTML = renderLadder(model, open, "live").svg; }
document.getElementById("rows").addEventListener("click", function (e) {
  var tr = e.target.closest("tr");
  if (tr) { chosen = Number(tr.getAttribute("data-id")); shown = ""; open = {}; }
});
document.getElementById("ladder").addEventListener("click", function (e) {
  var b = e.target.closest("[data-band]");
  if (b && model) { var i = b.getAttribute("data-band"); open[i] = !open[i]; draw(); }
});
poll();
</script></body></html>
`
}

/** Serves the live view on 127.0.0.1:port (0: any free port); resolves with the port. */
export function startLiveView(ladder: LiveLadder, port: number): Promise<{ port: number; server: Server }> {
    const html = page()
    const server = createServer((req, res) => {
        const url = new URL(req.url || "/", "http://localhost")
        if (req.method !== "GET") {
            res.writeHead(405, { Allow: "GET" }).end()
        } else if (url.pathname === "/") {
            res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" }).end(html)
        } else if (url.pathname === "/state.json") {
            const rows = ladder.table()
            const n = Number(url.searchParams.get("conn") || (rows.length ? rows[0].id : 0))
            const body = JSON.stringify({ rows: rows.slice(0, 100), model: Number.isInteger(n) && n > 0 ? ladder.modelOf(n) : null })
            res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" }).end(body)
        } else {
            res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n")
        }
    })
    return new Promise((resolve, reject) => {
        server.once("error", reject)
        server.listen(port, "127.0.0.1", () => {
            const a = server.address()
            resolve({ port: typeof a === "object" && a ? a.port : port, server })
        })
    })
}
