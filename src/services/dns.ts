// DNS stub resolver (RFC 1035 §7): A queries over UDP to the configured
// servers, each from a random source port with a random ID (RFC 5452 §9.2),
// `tries` attempts per server with `timeoutMs` each, then the next server.
// A reply counts only from the server's address and port 53 with our ID and
// our question; CNAME chains are followed inside the reply up to 8 links.
// Answers are kept in a small cache for their TTL (at most maxTtl).
// Errors are DnsErrors: NXDOMAIN, ETIMEDOUT (no server answered), EBADMSG
// (malformed or unusable replies), ESERVFAIL, ENODATA (the name has no A).
//
// The resolver is a socket-API task: it waits on the SocketHost, not on the
// stack's clock, and parses each reply inside the UDP handler (the frame is
// valid only there).
import { Net, Signal } from "../socket/socket.js"
import { UdpHandler } from "../stack.js"
import { parseIp, setU16 } from "../wire/bytes.js"
import { DnsRecord, DNS_CLASS_IN, DNS_HEADER_LEN, DNS_TYPE_A, DNS_TYPE_CNAME, parseRecord, readName, writeHeader, writeName } from "../wire/dns.js"
import { getU16, getU32 } from "../wire/bytes.js"
import { Reason } from "../wire/reason.js"

export class DnsError extends Error {
    /** NXDOMAIN, ETIMEDOUT, EBADMSG, ESERVFAIL, ENODATA, EINVAL */
    readonly code: string
    constructor(code: string, name: string) {
        super(code + ": " + name)
        this.code = code
    }
}

export interface ResolverOptions {
    /** Per attempt (ms, default 2000). */
    timeoutMs?: number
    /** Attempts per server (default 2). */
    tries?: number
    /** Cache entries (default 4) and the longest time one is kept (s, default 300). */
    cacheEntries?: number
    maxTtl?: number
}

/** Outcome codes of one exchange, set by the UDP handler. */
const enum Got {
    Nothing,
    Address,
    NxDomain,
    ServFail,
    NoData,
    Bad,
}

/** @devsWhenUsed */
export class DnsResolver {
    /** Server addresses, tried in order (a DHCP lease's DNS servers). */
    servers: number[]
    readonly net: Net
    private readonly opts: ResolverOptions
    private readonly names: string[] = []
    private readonly addrs: number[] = []
    private readonly expires: number[] = []
    private readonly buf = Buffer.alloc(300)
    private readonly rec = new DnsRecord()
    private readonly signal: Signal
    private readonly handler: UdpHandler
    private next = 0
    // the exchange in flight
    private got = Got.Nothing
    private address = 0
    private ttl = 0
    private id = 0
    private server = 0
    private name = ""

    constructor(net: Net, servers: number[], opts?: ResolverOptions) {
        this.net = net
        this.servers = servers
        this.opts = opts || {}
        this.signal = net.host.newSignal()
        const self = this
        // a reply to the query in flight (parsed here: the frame is valid only during the call); anything else is dropped and counted
        this.handler = (src, sport, dport, b, off, len, at) => {
            const me = self
            const counters = net.stack.counters
            if (me.got !== Got.Nothing || src !== me.server || sport !== 53) return counters.drop(Reason.NotForUs)
            if (len < DNS_HEADER_LEN || getU16(b, off) !== me.id) return counters.drop(len < DNS_HEADER_LEN ? Reason.BadDns : Reason.NotForUs)
            const got = me.parse(b, off, off + len)
            me.got = got
            if (got === Got.Bad) counters.drop(Reason.BadDns)
            net.host.raise(me.signal)
        }
        for (let i = 0; i < (this.opts.cacheEntries || 4); i++) {
            this.names.push(null)
            this.addrs.push(0)
            this.expires.push(0)
        }
    }

    /** The IPv4 address of name (a dotted quad is returned as is). Throws DnsError. */
    async resolve(name: string): Promise<number> {
        const direct = parseIp(name)
        if (direct >= 0) return direct
        let n = name.toLowerCase()
        if (n.endsWith(".")) n = n.slice(0, n.length - 1)
        if (n.length === 0 || n.length > 253) throw new DnsError("EINVAL", name)
        const host = this.net.host
        // one exchange at a time (its state is in the resolver): later callers wait their turn
        while (this.name !== "") await host.waitFor(this.signal, 1000)
        const now = host.now()
        for (let i = 0; i < this.names.length; i++) if (this.names[i] === n && this.expires[i] > now) return this.addrs[i]
        const stack = this.net.stack
        const random = stack.random
        const tries = this.opts.tries || 2
        let failure = "ETIMEDOUT"
        this.name = n
        try {
            for (const server of this.servers) {
                for (let t = 0; t < tries; t++) {
                    const port = 49152 + ((random.nextU32() >>> 8) % 16384)
                    if (!stack.udpBind(port, this.handler)) continue
                    this.got = Got.Nothing
                    this.id = random.nextU32() & 0xffff
                    this.server = server
                    const q = this.buf
                    writeHeader(q, 0, this.id, 0x0100, 1, 0, 0, 0) // RD: recursion desired
                    const at = writeName(q, DNS_HEADER_LEN, n)
                    setU16(q, at, DNS_TYPE_A)
                    setU16(q, at + 2, DNS_CLASS_IN)
                    stack.udpSend(port, server, 53, q, 0, at + 4, host.now())
                    host.kick()
                    const until = host.now() + (this.opts.timeoutMs || 2000)
                    while (this.got === Got.Nothing && host.now() < until) await host.waitFor(this.signal, until - host.now())
                    stack.udpUnbind(port)
                    const got = this.got as Got
                    if (got === Got.Address) {
                        // into the cache, oldest entry first, for the TTL (at most maxTtl)
                        const i = this.next
                        this.next = (i + 1) % this.names.length
                        this.names[i] = n
                        this.addrs[i] = this.address
                        this.expires[i] = host.now() + Math.min(this.ttl, this.opts.maxTtl || 300) * 1000
                        return this.address
                    }
                    if (got === Got.NxDomain) throw new DnsError("NXDOMAIN", name)
                    if (got === Got.NoData) throw new DnsError("ENODATA", name)
                    if (got === Got.Nothing) continue
                    // SERVFAIL or a malformed reply: the next server
                    failure = got === Got.ServFail ? "ESERVFAIL" : "EBADMSG"
                    break
                }
            }
        } finally {
            this.name = ""
            host.raise(this.signal)
        }
        throw new DnsError(failure, name)
    }

    private parse(b: Buffer, off: number, end: number): Got {
        const flags = getU16(b, off + 2)
        const rcode = flags & 15
        // a response (QR) to our one question
        if ((flags & 0x8000) === 0 || getU16(b, off + 4) !== 1) return Got.Bad
        const r = this.rec
        let at = parseRecord(b, off + DNS_HEADER_LEN, end, true, r)
        const qtype: number = at < 0 ? 0 : r.type
        if (at < 0 || readName(b, off, r.name, end) !== this.name || qtype !== DNS_TYPE_A) return Got.Bad
        if (rcode === 3) return Got.NxDomain
        if (rcode !== 0) return Got.ServFail
        const an = getU16(b, off + 6)
        // follow the CNAME chain: each pass looks for the current name's A or CNAME
        let target = this.name
        for (let hop = 0; hop < 8; hop++) {
            let p = at
            let alias: string = null
            for (let i = 0; i < an; i++) {
                p = parseRecord(b, p, end, false, r)
                if (p < 0) return Got.Bad
                const owner = readName(b, off, r.name, end)
                if (owner === null) return Got.Bad
                if (owner !== target || (r.cls & 0x7fff) !== DNS_CLASS_IN) continue
                if (r.type === DNS_TYPE_A && r.rdLength === 4) {
                    this.address = getU32(b, r.rdata)
                    this.ttl = r.ttl
                    return Got.Address
                }
                if (r.type === DNS_TYPE_CNAME && alias === null) {
                    alias = readName(b, off, r.rdata, end)
                    if (alias === null) return Got.Bad
                }
            }
            if (alias === null) return Got.NoData
            target = alias
        }
        return Got.Bad
    }
}
