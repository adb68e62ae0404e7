// The ARP cache (RFC 826, RFC 1122 §2.3.2): a fixed table of neighbours.
//
// An entry is Free, Incomplete (a request is out; retried every arpRetryMs up
// to arpRetries times) or Reachable (until arpMaxAgeMs after it was learned).
// When the table is full a new resolution takes the Reachable entry that
// expires first; Incomplete entries are never evicted, so a flood of unknown
// addresses cannot stop a resolution that is under way, it just fails to start.

import { Limits } from "../config.js"
import { copyBytes } from "../wire/bytes.js"

export const enum ArpState {
    Free = 0,
    Incomplete = 1,
    Reachable = 2,
}

/** @devsWhenUsed */
export class ArpEntry {
    state = ArpState.Free
    ip = 0
    mac = Buffer.alloc(6)
    /** Reachable: when the entry stops being valid. */
    expires = 0
    /** Incomplete: when to send the next request (or give up). */
    nextRetry = 0
    /** Incomplete: requests still to send. */
    retriesLeft = 0
    /** Reachable: a refresh request was sent for this lifetime already. */
    refreshSent = false
}

/** @devsWhenUsed */
export class ArpCache {
    readonly entries: ArpEntry[] = []
    private readonly limits: Limits

    constructor(limits: Limits) {
        this.limits = limits
        for (let i = 0; i < limits.arpEntries; i++) this.entries.push(new ArpEntry())
    }

    /** The entry for ip in any state but Free, or null. Expired entries are freed first. */
    find(ip: number, now: number): ArpEntry {
        for (const e of this.entries) {
            if (e.state === ArpState.Free || e.ip !== ip) continue
            if (e.state === ArpState.Reachable && now >= e.expires) {
                e.state = ArpState.Free
                return null
            }
            return e
        }
        return null
    }

    /**
     * RFC 826 "merge": if ip is in the table, take the new MAC and make it
     * Reachable. With `create`, also add it (done when the packet was for us).
     * Returns the entry, or null when there is none and none was made.
     */
    learn(ip: number, mac: Buffer, macOff: number, now: number, create: boolean): ArpEntry {
        let e = this.find(ip, now)
        if (!e) {
            if (!create) return null
            e = this.allocate(now)
            if (!e) return null
            e.ip = ip
        }
        copyBytes(e.mac, 0, mac, macOff, 6)
        e.state = ArpState.Reachable
        e.expires = now + this.limits.arpMaxAgeMs
        e.refreshSent = false
        return e
    }

    /** A new Incomplete entry for ip (the caller sends the first request), or null when the table is full of resolutions. */
    startResolve(ip: number, now: number): ArpEntry {
        const e = this.allocate(now)
        if (!e) return null
        e.ip = ip
        e.state = ArpState.Incomplete
        e.retriesLeft = this.limits.arpRetries - 1
        e.nextRetry = now + this.limits.arpRetryMs
        return e
    }

    /** A free entry, or the Reachable entry that expires first, or null. */
    private allocate(now: number): ArpEntry {
        let victim: ArpEntry = null
        for (const e of this.entries) {
            if (e.state === ArpState.Free || (e.state === ArpState.Reachable && now >= e.expires)) {
                e.state = ArpState.Free
                return e
            }
            if (e.state === ArpState.Reachable && (!victim || e.expires < victim.expires)) victim = e
        }
        if (victim) victim.state = ArpState.Free
        return victim
    }

    /** The earliest retry among Incomplete entries, or -1. */
    nextDeadline(): number {
        let t = -1
        for (const e of this.entries) if (e.state === ArpState.Incomplete && (t < 0 || e.nextRetry < t)) t = e.nextRetry
        return t
    }

    /** Entries in a state, for /status. */
    count(state: ArpState): number {
        let n = 0
        for (const e of this.entries) if (e.state === state) n++
        return n
    }
}
