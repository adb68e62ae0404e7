// The base (base.ts) plus a UDP echo on port 7: its image minus the
// base's is what the UDP socket API costs.
import { stack } from "./base.js"

stack.udpBind(7, (src: number, srcPort: number, dstPort: number, buf: Buffer, off: number, len: number, now: number) => {
    stack.udpSend(dstPort, src, srcPort, buf, off, len, now)
})
