// A ds-tcpip Stack as a simulated host: the glue every simulation, test,
// demo and benchmark uses.
import { Stack } from "../../stack.js"
import { Limits } from "../../config.js"
import { Xoshiro128 } from "../../random.js"
import { parseIp, parseMac } from "../../wire/bytes.js"
import { Simulator, SimHost } from "./network.js"
import { Impairments } from "./impair.js"

export interface StackHostOptions {
    ip: string
    mac: string
    netmask?: string
    gateway?: string
    seed?: number
    limits?: Partial<Limits>
    impairments?: Partial<Impairments>
    /** SYN cookies (default on; a firmware like the starter runs without them). */
    synCookies?: boolean
    /** Log lines of the stack (state changes, ARP events), with the virtual time. */
    log?: (line: string) => void
}

export function addStackHost(sim: Simulator, name: string, o: StackHostOptions): SimHost<Stack> {
    const mac = parseMac(o.mac)
    if (!mac) throw new Error("addStackHost: bad MAC " + o.mac)
    const ip = parseIp(o.ip)
    if (ip < 0) throw new Error("addStackHost: bad IP " + o.ip)
    const host = sim.addHost(
        name,
        mac,
        (driver) => {
            const stack = new Stack({
                driver,
                ip,
                netmask: parseIp(o.netmask ?? "255.255.255.0"),
                gateway: o.gateway ? parseIp(o.gateway) : 0,
                random: new Xoshiro128(o.seed ?? name.length * 7919 + ip),
                log: o.log,
                limits: o.limits,
            })
            if (o.synCookies !== false) stack.tcp.enableSynCookies()
            stack.tcp.enableOutOfOrder()
            stack.enableUdp()
            return stack
        },
        { impairments: o.impairments },
    )
    return host
}
