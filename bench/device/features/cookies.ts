// The base (base.ts) plus SYN cookies and out-of-order reassembly, as the
// demo turns them on: its image minus the base's is what they cost.
import { stack } from "./base.js"

stack.tcp.enableSynCookies()
stack.tcp.enableOutOfOrder()
