// Why a frame was not accepted. Parsers return one of these (Reason.Ok when
// the bytes are well-formed); the interface counts every dropped frame under
// its reason, and /status reports the counts by name (REASON_NAMES).
//
// Append new reasons at the end, before Count, and add their names in the same
// order: the numbers index the counter array.

export const enum Reason {
    Ok = 0,
    // wire: malformed bytes
    Truncated,
    BadEtherType,
    BadArp,
    BadVersion,
    BadHeaderLength,
    BadTotalLength,
    BadChecksum,
    BadLength,
    BadOption,
    BadFlags,
    // net: well-formed, but not taken
    NotForUs,
    UnknownProtocol,
    TtlExpired,
    Fragment,
    ReassemblyTimeout,
    ReassemblyFull,
    Martian,
    NoRoute,
    ArpUnresolved,
    ArpQueueFull,
    NoSocket,
    SocketQueueFull,
    IcmpIgnored,
    TxTooLong,
    TxQueueFull,
    UnknownEtherType,
    BroadcastSource,
    InternalError,
    OutOfWindow,
    // services: malformed messages of the UDP services
    BadDhcp,
    BadDns,
    BadMdns,
    Count,
}

// One string literal, parsed by the VM's native JSON.parse: on the device,
// data costs no code bytes (an array literal is code that pushes each
// element), and String.split would cost an opcode loop per character.
export const REASON_NAMES: string[] = JSON.parse('["ok","truncated","badEtherType","badArp","badVersion","badHeaderLength","badTotalLength","badChecksum","badLength","badOption","badFlags","notForUs","unknownProtocol","ttlExpired","fragment","reassemblyTimeout","reassemblyFull","martian","noRoute","arpUnresolved","arpQueueFull","noSocket","socketQueueFull","icmpIgnored","txTooLong","txQueueFull","unknownEtherType","broadcastSource","internalError","outOfWindow","badDhcp","badDns","badMdns"]')
