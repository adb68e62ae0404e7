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

// One string literal, parsed by the VM's native JSON.parse: on the device,
// data costs no code bytes (an array literal is code that pushes each
// element), and String.split would cost an opcode loop per character.
export const TCP_STATE_NAMES: string[] = JSON.parse('["CLOSED","LISTEN","SYN-SENT","SYN-RECEIVED","ESTABLISHED","FIN-WAIT-1","FIN-WAIT-2","CLOSE-WAIT","CLOSING","LAST-ACK","TIME-WAIT"]')

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
    /** Our address went away (DHCP lease lost or changed). */
    AddressLost,
}

export const TCP_ERROR_NAMES: string[] = JSON.parse('["","ECONNREFUSED","ECONNRESET","ETIMEDOUT","ECONNABORTED","EADDRNOTAVAIL"]')
