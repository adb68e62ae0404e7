// Errors of the TAP bridge, in sentences a user can act on.

export class TapError extends Error {
    /** The errno name from the kernel (EPERM, EBUSY, ENOENT...), or a short code of ours. */
    readonly code: string
    constructor(code: string, message: string) {
        super(message)
        this.code = code
    }
}

/** Explains a failure to open or attach a TAP (TUNSETIFF and friends). */
export function explainTapError(code: string, name: string, detail: string, netns?: string): string {
    const where = netns ? ` in namespace ${netns}` : ""
    switch (code) {
        case "EPERM":
        case "EACCES":
            return `cannot open TAP ${name}${where}: permission denied (run as root, or give CAP_NET_ADMIN)`
        case "EBUSY":
            return `TAP ${name}${where} is busy: another process has it open (or it exists with other flags, e.g. as a TUN)`
        case "ENOENT":
        case "ENODEV":
            return `cannot open /dev/net/tun${where}: the tun module is missing (modprobe tun)`
        case "EINVAL":
            return `cannot attach TAP ${name}${where}: ${detail} (a non-TAP interface of that name exists?)`
        default:
            return `cannot open TAP ${name}${where}: ${code} ${detail}`
    }
}
