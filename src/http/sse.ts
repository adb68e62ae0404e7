// Server-Sent Events (HTML Living Standard §9.2): a text/event-stream
// response that stays open; each event is "event:"/"id:"/"data:" lines and a
// blank line. Works over HTTP/1.1 (chunked) and HTTP/1.0 (close-delimited).
import { ServerResponse } from "./response.js"

/** @devsWhenUsed */
export class EventStream {
    private readonly res: ServerResponse

    private constructor(res: ServerResponse) {
        this.res = res
    }

    /** Sends the head of an event stream. retryMs tells the browser how soon to reconnect. */
    static async open(res: ServerResponse, retryMs?: number): Promise<EventStream> {
        res.setHeader("Content-Type", "text/event-stream")
        res.setHeader("Cache-Control", "no-cache")
        await res.writeHead(200)
        const s = new EventStream(res)
        if (retryMs) await res.write("retry: " + retryMs + "\n\n")
        else await res.flushHeaders()
        return s
    }

    /** One event; data may have several lines (each becomes a data: line). */
    async send(data: string, event?: string, id?: string): Promise<void> {
        let s = ""
        if (event) s += "event: " + event + "\n"
        if (id) s += "id: " + id + "\n"
        // a data: line per line (indexOf, not split(): that would bring its
        // library code into a device's image)
        let from = 0
        for (;;) {
            const nl = data.indexOf("\n", from)
            if (nl < 0) break
            s += "data: " + data.slice(from, nl) + "\n"
            from = nl + 1
        }
        await this.res.write(s + "data: " + data.slice(from) + "\n\n")
    }

    /** A comment line: keeps idle proxies from closing the stream. */
    async ping(): Promise<void> {
        await this.res.write(":\n\n")
    }

    async close(): Promise<void> {
        await this.res.end()
    }
}
