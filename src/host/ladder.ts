// Ladder diagrams (placeholder until the renderer lands in the next commit).
import { CaptureError } from "./capture.js"
export function ladderCommand(_a: { file: string; conn?: number; timeWaitMs?: number; html: boolean }): string {
    throw new CaptureError("ladder is not built yet")
}
