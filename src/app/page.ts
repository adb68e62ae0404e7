// The demo device's page: live readings over Server-Sent Events and the
// stack's /status counters, in one small self-contained HTML document.
export const INDEX_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>ds-tcpip device</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px system-ui,sans-serif;margin:2em;max-width:48em}h1{font-size:1.4em}
#reading{font-size:2.5em;font-variant-numeric:tabular-nums}pre{background:#f4f4f4;padding:1em;overflow:auto;font-size:12px}</style>
</head><body>
<h1>ds-tcpip demo device</h1>
<p>Served by a TCP/IP stack written in TypeScript for microcontrollers.</p>
<p>Live counter (Server-Sent Events from <code>/events</code>): <span id="reading">…</span></p>
<p>Stack status (<code>/status</code>, refreshed every 2 s):</p>
<pre id="status">…</pre>
<script>
var es = new EventSource("/events");
es.addEventListener("tick", function (e) { document.getElementById("reading").textContent = e.data; });
function refresh() {
  fetch("/status").then(function (r) { return r.json(); }).then(function (j) {
    document.getElementById("status").textContent = JSON.stringify(j, null, 2);
  }).catch(function () {});
}
refresh(); setInterval(refresh, 2000);
</script>
</body></html>
`
