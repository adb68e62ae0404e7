// Device entry (DeviceScript). Grows into the demo device; for now it runs
// the portable core's checksum so `npm run build:device` has real code to compile.
import { internetChecksum } from "./wire/checksum.js"
import { getU32 } from "./wire/bytes.js"

const b = Buffer.alloc(20)
b[0] = 0x45
console.log("checksum " + internetChecksum(b, 0, 20) + " " + getU32(b, 0))
