// A DeviceScript program for test/vm/dcfg.test.ts: it carries configuration
// of its own (configureHardware: compile-time, into the image's dcfg
// section) and prints what ds._dcfgString reads for a few keys, so the test
// can compare devs's encoding with src/host/vm/dcfg.ts's and see what the
// runtime reads from an image that dcfg.ts rewrote.
import * as ds from "@devicescript/core"
import { configureHardware } from "@devicescript/servers"

configureHardware({ hostname: "probe", ethChip: "w5500", ethSpiHz: 8000000 } as any)

const config = ds as typeof ds & { _dcfgString(key: string): any }
for (const key of ["hostname", "ethChip", "extra", "absent"]) console.log(key + "=" + config._dcfgString(key))
console.log("done")
