#!/usr/bin/env node
// The `ds-tcpip` command: runs src/host/cli.ts through tsx (no build step).
// tsx is an optional peer dependency: a firmware project that only imports
// the library does not need it, the CLI and `ds-tcpip/host` do.
let register
try {
    ;({ register } = await import("tsx/esm/api"))
} catch {
    console.error("ds-tcpip: the CLI runs its TypeScript sources through tsx: install it with `npm install --save-dev tsx`")
    process.exit(69)
}
register()
await import("../src/host/cli.ts")
