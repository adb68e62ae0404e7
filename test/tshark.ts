// Runs tshark over a capture: every frame decoded, no malformed packets, and
// the expert infos it reports (for tests that allow some, e.g. retransmissions).
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export function haveTshark(): boolean {
    const r = spawnSync("tshark", ["-v"], { encoding: "utf8" })
    return !r.error && r.status === 0
}

export interface TsharkReport {
    status: number
    frames: number
    /** One line per frame (tshark's summary). */
    lines: string[]
    malformed: number
    /** The text of `-z expert` (empty when tshark reported none). */
    expert: string
    stderr: string
}

export function tsharkRead(pcap: Buffer): TsharkReport {
    const dir = mkdtempSync(join(tmpdir(), "ds-tcpip-tshark-"))
    try {
        const file = join(dir, "capture.pcap")
        writeFileSync(file, pcap)
        const r = spawnSync("tshark", ["-r", file, "-z", "expert,note"], { encoding: "utf8", timeout: 60000 })
        const out = r.stdout || ""
        const split = out.indexOf("=====")
        const summary = split >= 0 ? out.slice(0, split) : out
        const lines = summary.split("\n").filter((l) => l.trim().length > 0)
        return {
            status: r.status ?? -1,
            frames: lines.length,
            lines,
            malformed: (out.match(/Malformed/g) || []).length,
            expert: split >= 0 ? out.slice(split) : "",
            stderr: r.stderr || "",
        }
    } finally {
        rmSync(dir, { recursive: true, force: true })
    }
}
