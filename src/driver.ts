// The boundary between the stack and a network interface.
//
// `transmit` is synchronous for the core: the stack reuses its transmit
// buffer, so a driver copies the frame (or sends it) before returning. A driver
// whose bus is asynchronous (SPI on DeviceScript) queues a copy in a small
// bounded queue and counts what it has to drop. Received frames reach the
// stack by the runner calling `stack.receive(frame, now)`.
export interface NetDriver {
    /** Our MAC address, 6 bytes. */
    readonly mac: Buffer
    /** Largest IP packet an Ethernet frame carries, usually 1500. */
    readonly mtu: number
    /** Send frame[0, length): a whole Ethernet frame without FCS. */
    transmit(frame: Buffer, length: number): void
}
