#!/usr/bin/env node
// The `ds-tcpip` command: runs src/host/cli.ts through tsx (no build step).
import { register } from "tsx/esm/api"

register()
await import("../src/host/cli.ts")
