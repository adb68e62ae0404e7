// The ARP cache (RFC 826, RFC 1122 §2.3.2): a fixed table of neighbours.
//
// An entry is Free, Incomplete (a request is out; retried every arpRetryMs up
// to arpRetries times) or Reachable (until arpMaxAgeMs after it was learned).
// When the table is full a new resolution takes the Reachable entry that
// expires first; Incomplete entries are never evicted, so a flood of unknown
// addresses cannot stop a resolution that is under way, it just fails to start.
//
// An entry is an index into parallel tables (a byte of state, six of MAC
// address, an address and a time), not an object: an object per entry took
// 255 bytes of the device's heap, the tables about 40.

import { Limits } from "../config.js"

export const enum ArpState {
    Free = 0,
    Incomplete = 1,
    Reachable = 2,
    /** Or'ed onto Reachable: a refresh request was sent for this lifetime already. */
    Refreshed = 4,
}

/** @devsWhenUsed */
export class ArpCache {
    /** Per entry: its ArpState (Reachable may carry Refreshed). */
    readonly state: Buffer
    /** Per entry: six bytes of MAC address at 6 * index. */
    readonly macs: Buffer
    /** Incomplete: requests still to send. */
    readonly retries: Buffer
    readonly ips: number[] = []
    /** Reachable: when the entry stops being valid. Incomplete: when to send the next request (or give up). */
    readonly times: number[] = []
    private readonly limits: Limits

    constructor(limits: Limits) {
        this.limits = limits
        const n = limits.arpEntries
        this.state = Buffer.alloc(n)
        this.retries = Buffer.alloc(n)
        this.macs = Buffer.alloc(6 * n)
        for (let i = 0; i < n; i++) {
            this.ips.push(0)
            this.times.push(0)
        }
    }

    /** The entry for ip in any state but Free, or -1. An expired entry is freed first. */
    find(ip: number, now: number): number {
        const st = this.state
        for (let i = 0; i < st.length; i++) {
            if (st[i] === ArpState.Free || this.ips[i] !== ip) continue
            if (st[i] !== ArpState.Incomplete && now >= this.times[i]) {
                st[i] = ArpState.Free
                return -1
            }
            return i
        }
        return -1
    }

    /**
     * RFC 826 "merge": if ip is in the table, take the new MAC and make it
     * Reachable. With `create`, also add it (done when the packet was for us).
     * Returns the entry, or -1 when there is none and none was made.
     */
    learn(ip: number, mac: Buffer, macOff: number, now: number, create: boolean): number {
        let i = this.find(ip, now)
        if (i < 0) {
            if (!create) return -1
            i = this.startResolve(ip, now)
            if (i < 0) return -1
        }
        this.macs.blitAt(6 * i, mac, macOff, 6)
        this.state[i] = ArpState.Reachable
        this.times[i] = now + this.limits.arpMaxAgeMs
        return i
    }

    /**
     * A new Incomplete entry for ip (the caller sends the first request):
     * a free one, or the Reachable entry that expires first; -1 when the
     * table is full of resolutions.
     */
    startResolve(ip: number, now: number): number {
        const st = this.state
        let i = -1
        for (let k = 0; k < st.length; k++) {
            if (st[k] === ArpState.Incomplete) continue
            if (st[k] === ArpState.Free || now >= this.times[k]) {
                i = k
                break
            }
            if (i < 0 || this.times[k] < this.times[i]) i = k
        }
        if (i < 0) return -1
        this.ips[i] = ip
        st[i] = ArpState.Incomplete
        this.retries[i] = this.limits.arpRetries - 1
        this.times[i] = now + this.limits.arpRetryMs
        return i
    }

    /** The earliest retry among Incomplete entries, or -1. */
    nextDeadline(): number {
        let t = -1
        const st = this.state
        for (let i = 0; i < st.length; i++) if (st[i] === ArpState.Incomplete && (t < 0 || this.times[i] < t)) t = this.times[i]
        return t
    }

    /** Entries in a state (Reachable counts refreshed ones too), for /status. */
    count(state: ArpState): number {
        let n = 0
        const st = this.state
        for (let i = 0; i < st.length; i++) if ((st[i] & 3) === state) n++
        return n
    }
}
