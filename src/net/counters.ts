import { Reason, REASON_NAMES } from "../wire/reason.js"

/**
 * What the interface saw and did. Every frame that is not taken is counted
 * once, under the reason it was dropped (Reason); /status reports them by name.
 * @devsWhenUsed
 */
export class Counters {
    rxFrames = 0
    rxBytes = 0
    txFrames = 0
    txBytes = 0
    arpRequestsSent = 0
    arpRepliesSent = 0
    icmpEchoRepliesSent = 0
    icmpErrorsSent = 0
    udpDelivered = 0
    drops: number[] = []

    constructor() {
        for (let i = 0; i < Reason.Count; i++) this.drops.push(0)
    }

    drop(reason: Reason): void {
        this.drops[reason]++
    }

    /** Sum of all drops. */
    totalDrops(): number {
        let n = 0
        for (let i = 1; i < Reason.Count; i++) n += this.drops[i]
        return n
    }

    /** The drop counts that are not zero, by name. */
    dropsByName(): any {
        const out: any = {}
        for (let i = 1; i < Reason.Count; i++) if (this.drops[i] > 0) out[REASON_NAMES[i]] = this.drops[i]
        return out
    }

    toJSON(): any {
        return {
            rxFrames: this.rxFrames,
            rxBytes: this.rxBytes,
            txFrames: this.txFrames,
            txBytes: this.txBytes,
            arpRequestsSent: this.arpRequestsSent,
            arpRepliesSent: this.arpRepliesSent,
            icmpEchoRepliesSent: this.icmpEchoRepliesSent,
            icmpErrorsSent: this.icmpErrorsSent,
            udpDelivered: this.udpDelivered,
            drops: this.dropsByName(),
        }
    }
}
