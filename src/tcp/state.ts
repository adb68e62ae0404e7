// The eleven states of RFC 9293 §3.3.2.
export const enum TcpState {
    Closed = 0,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

// One string literal split at start: on the device, data costs no code bytes
// (an array literal is code that pushes each element).
export const TCP_STATE_NAMES: string[] = "CLOSED,LISTEN,SYN-SENT,SYN-RECEIVED,ESTABLISHED,FIN-WAIT-1,FIN-WAIT-2,CLOSE-WAIT,CLOSING,LAST-ACK,TIME-WAIT".split(",")

/** Errors a connection reports to its user (the names sockets use). */
export const enum TcpError {
    None = 0,
    /** RST in answer to our SYN, or an ICMP port unreachable. */
    ConnectionRefused,
    /** The peer reset an established connection. */
    ConnectionReset,
    /** Retransmissions, keep-alive probes or the idle timeout ran out. */
    TimedOut,
    /** The local user aborted. */
    Aborted,
}

export const TCP_ERROR_NAMES: string[] = ",ECONNREFUSED,ECONNRESET,ETIMEDOUT,ECONNABORTED".split(",")
