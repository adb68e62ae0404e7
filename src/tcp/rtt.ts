// The retransmission timeout, RFC 6298: SRTT and RTTVAR from samples taken
// only on segments that were not retransmitted (Karn's rule, §3), doubled on
// every expiry (§5.5) and clamped to [minRto, maxRto].

/** @devsWhenUsed */
export class RttEstimator {
    /** Smoothed RTT (ms); 0 until the first sample. */
    srtt = 0
    rttvar = 0
    /** The current timeout (ms), backoff included. */
    rto: number
    private readonly minRto: number
    private readonly maxRto: number
    /** Clock granularity G of §2 (ms). */
    private readonly granularity: number

    constructor(initialRto: number, minRto: number, maxRto: number, granularity: number) {
        this.rto = initialRto
        this.minRto = minRto
        this.maxRto = maxRto
        this.granularity = granularity
    }

    /** A round-trip sample r (ms), §2.2 and §2.3. */
    sample(r: number): void {
        if (r < 0) return
        if (this.srtt === 0) {
            this.srtt = r
            this.rttvar = r / 2
        } else {
            const d = this.srtt > r ? this.srtt - r : r - this.srtt
            this.rttvar = (3 * this.rttvar) / 4 + d / 4
            this.srtt = (7 * this.srtt) / 8 + r / 8
        }
        this.update()
    }

    /** §5.5: the timer expired, back off (the RTO is at least minRto already). */
    backoff(): void {
        const v = this.rto * 2
        this.rto = v > this.maxRto ? this.maxRto : v
    }

    /** The timeout without backoff, after new data is acknowledged (§5.7 keeps backoff until then). */
    reset(): void {
        if (this.srtt > 0) this.update()
    }

    /** RTO = SRTT + max(G, 4 * RTTVAR), §2.2-2.4, within [minRto, maxRto]. */
    private update(): void {
        const k = 4 * this.rttvar
        const v = this.srtt + (k > this.granularity ? k : this.granularity)
        if (v < this.minRto) this.rto = this.minRto
        else if (v > this.maxRto) this.rto = this.maxRto
        else this.rto = Math.ceil(v)
    }
}
