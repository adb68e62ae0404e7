// The demo device's page: a small dashboard served by the device itself (a
// string literal: it costs the image no function bytes, and the heap only
// while a request sends it). Live counters and the connection table from
// /status every 2 s, the Server-Sent Events counter from /events, a WebSocket
// echo box on /ws, the uptime, and the heap where the runner reports one.
export const INDEX_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>ds-tcpip device</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px system-ui,sans-serif;margin:1.5em auto;max-width:52em;padding:0 1em;color:#222}
h1{font-size:1.4em;margin:0}.sub{color:#666;margin:.2em 0 1em}
.cards{display:flex;flex-wrap:wrap;gap:.6em}.card{border:1px solid #ddd;border-radius:8px;padding:.6em .9em;min-width:8em}
.card b{display:block;font-size:1.6em;font-variant-numeric:tabular-nums}.card span{color:#666;font-size:.85em}
table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:.9em}td,th{border-bottom:1px solid #eee;padding:.3em .5em;text-align:left}
.st{font-family:monospace;color:#0a5d2a}pre{background:#f4f4f4;padding:1em;overflow:auto;font-size:12px}
#log{font-family:monospace;font-size:.85em;height:6em;overflow:auto;background:#f8f8f8;padding:.4em}</style>
</head><body>
<h1>ds-tcpip demo device</h1>
<p class="sub">A TCP/IP stack in TypeScript on a microcontroller. <span id="where"></span></p>
<div class="cards">
<div class="card"><b id="reading">...</b><span>live counter (SSE)</span></div>
<div class="card"><b id="uptime">...</b><span>uptime</span></div>
<div class="card"><b id="rx">...</b><span>frames in</span></div>
<div class="card"><b id="tx">...</b><span>frames out</span></div>
<div class="card"><b id="drops">...</b><span>frames dropped</span></div>
<div class="card"><b id="reqs">...</b><span>HTTP requests</span></div>
<div class="card"><b id="heap">n/a</b><span>heap in use</span></div>
</div>
<h2>Connections</h2>
<table><thead><tr><th>#</th><th>state</th><th>local</th><th>remote</th></tr></thead><tbody id="conns"></tbody></table>
<h2>WebSocket echo</h2>
<p><input id="msg" value="hello, device" size="30"> <button id="send">send</button></p>
<div id="log"></div>
<details><summary>/status</summary><pre id="status">...</pre></details>
<script>
function $(id) { return document.getElementById(id); }
function cell(tr, text, cls) { var td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); }
var es = new EventSource("/events");
es.addEventListener("tick", function (e) { $("reading").textContent = e.data; });
function refresh() {
  fetch("/status").then(function (r) { return r.json(); }).then(function (j) {
    $("status").textContent = JSON.stringify(j, null, 2);
    $("where").textContent = j.ip + " (" + j.mac + ")";
    var s = Math.floor((j.uptimeMs || 0) / 1000);
    $("uptime").textContent = Math.floor(s / 3600) + "h " + Math.floor(s / 60) % 60 + "m " + s % 60 + "s";
    $("rx").textContent = j.counters.rxFrames; $("tx").textContent = j.counters.txFrames;
    var d = 0; for (var k in j.counters.drops) d += j.counters.drops[k]; $("drops").textContent = d;
    $("reqs").textContent = j.http ? j.http.requests : "...";
    if (j.heap) $("heap").textContent = Math.round(j.heap.used / 1024) + " / " + Math.round(j.heap.size / 1024) + " KB";
    var tb = $("conns"); tb.textContent = "";
    j.tcp.connections.forEach(function (c) { var tr = document.createElement("tr"); cell(tr, c.id); cell(tr, c.state, "st"); cell(tr, c.local); cell(tr, c.remote); tb.appendChild(tr); });
  }).catch(function () {});
}
refresh(); setInterval(refresh, 2000);
var ws = null;
function say(t) { var p = document.createElement("div"); p.textContent = t; $("log").appendChild(p); $("log").scrollTop = 1e9; }
$("send").onclick = function () {
  var m = $("msg").value;
  if (ws && ws.readyState === 1) { ws.send(m); say("> " + m); return; }
  ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  ws.onopen = function () { ws.send(m); say("> " + m); };
  ws.onmessage = function (e) { say("< " + e.data); };
  ws.onclose = function () { say("(closed)"); };
};
</script>
</body></html>
`
