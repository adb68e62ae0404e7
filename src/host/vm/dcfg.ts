// The device configuration a DeviceScript program reads with
// ds._dcfgString(key): on a board, the .board.json flashed with the firmware;
// in a program image, a "dcfg" section the compiler writes from
// package.json ("@name", "@version") and from configureHardware({...}).
// The runtime looks a key up in both (jacdac-c/source/jd_dcfg.c).
//
// The VM has no board file, so the harness plays the board: it writes the
// keys a board would carry (the device's "hostname", say) into the image's
// dcfg section before it deploys the image. Nothing in the program changes:
// it reads the same key it reads on a board.
//
// The format (jacdac-c/inc/jd_dcfg.h, and the CLI's serializeDcfg, which
// this follows so the runtime's validation passes):
//   header (88 bytes): magic0, magic1, total_bytes (u32), num_entries (u16),
//     reserved (u16), restart_hash (u64), hash_jump[32] (u16: the index of
//     the first entry whose hash >> 11 is at least i);
//   entries (24 bytes each, sorted by hash): key (15 chars + NUL), hash
//     (u16: fnv1a folded to 16 bits), type | size << 2 (u16), value (u32: the
//     number, or the offset of a string's bytes from the header);
//   a final entry (key "", all else 0xff); then the strings, NUL-terminated.
//
// The image (devs_img_header_t): 32 fixed bytes, then ten {start, length}
// section headers; the dcfg section is the tenth and is laid out last, its
// length a multiple of 4, and the image's length is a multiple of 32.

const MAGIC0 = 0x47464344 // "DCFG"
const MAGIC1 = 0xcab49b0a
const KEY_SIZE = 15
const HEADER_SIZE = 24 + 2 * 32
const ENTRY_SIZE = KEY_SIZE + 1 + 8
const TYPE_I32 = 1
const TYPE_STRING = 2
const TYPE_BLOB = 3
const HASH_SHIFT = 16 - 5

/** A configuration value: a number (i32 or u32), a string, or bytes. */
export type DcfgValue = number | string | Buffer

function fnv1a(data: Buffer): number {
    let h = 0x811c9dc5
    for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i], 0x01000193)
    return h >>> 0
}

function keyHash(key: Buffer): number {
    const h = fnv1a(key)
    return ((h >>> 16) ^ (h & 0xffff)) >>> 0
}

/** Encodes `entries` as a dcfg blob; throws on a key longer than 15 bytes or a number that is not 32-bit. */
export function encodeDcfg(entries: Record<string, DcfgValue>, withHash = true): Buffer {
    const keys = Object.keys(entries)
    let dataOff = HEADER_SIZE + (keys.length + 1) * ENTRY_SIZE
    const data: Buffer[] = []
    const rows = keys.map((k) => {
        const kb = Buffer.from(k, "latin1")
        if (kb.length > KEY_SIZE) throw new Error(`dcfg key too long: "${k}" (at most ${KEY_SIZE} bytes)`)
        const v = entries[k]
        const e = Buffer.alloc(ENTRY_SIZE)
        kb.copy(e, 0)
        e.writeUInt16LE(keyHash(kb), 16)
        if (typeof v === "number") {
            if ((v | 0) === v) {
                e.writeUInt16LE(TYPE_I32, 18)
                e.writeInt32LE(v, 20)
            } else if (v >>> 0 === v) e.writeUInt32LE(v, 20) // type 0: u32
            else throw new Error(`dcfg number must be a 32-bit integer: ${k}=${v}`)
        } else {
            const bytes = typeof v === "string" ? Buffer.from(v, "utf8") : v
            if (bytes.length >= 1 << 14) throw new Error(`dcfg value too long: ${k} (${bytes.length} bytes)`)
            e.writeUInt16LE((typeof v === "string" ? TYPE_STRING : TYPE_BLOB) | (bytes.length << 2), 18)
            e.writeUInt32LE(dataOff, 20)
            data.push(bytes, Buffer.alloc(1))
            dataOff += bytes.length + 1
        }
        return e
    })
    rows.sort((a, b) => a.readUInt16LE(16) - b.readUInt16LE(16))
    const final = Buffer.alloc(ENTRY_SIZE, 0xff)
    final[0] = 0
    rows.push(final)
    const head = Buffer.alloc(HEADER_SIZE)
    head.writeUInt32LE(MAGIC0, 0)
    head.writeUInt32LE(MAGIC1, 4)
    head.writeUInt32LE(dataOff, 8)
    head.writeUInt16LE(keys.length, 12)
    for (let i = 0; i < 32; i++) head.writeUInt16LE(rows.findIndex((e) => e.readUInt16LE(16) >> HASH_SHIFT >= i), 24 + 2 * i)
    if (withHash) {
        // the restart hash covers the entries a restart applies, not "@name"
        // and the like: the runtime compares it with the running one's
        const applied: Record<string, DcfgValue> = {}
        for (const k of keys) if (!k.startsWith("@")) applied[k] = entries[k]
        if (Object.keys(applied).length === 0) head.writeUInt32LE(1, 16)
        else {
            const bare = encodeDcfg(applied, false)
            head.writeUInt32LE(fnv1a(bare), 16)
            head.writeUInt32LE(fnv1a(bare.subarray(4)), 20)
        }
    }
    return Buffer.concat([head, ...rows, ...data])
}

/** The entries of a dcfg blob; throws on one that is not well formed. */
export function decodeDcfg(buf: Buffer): Record<string, DcfgValue> {
    if (buf.length < HEADER_SIZE || buf.readUInt32LE(0) !== MAGIC0 || buf.readUInt32LE(4) !== MAGIC1) throw new Error("dcfg: bad header")
    const total = buf.readUInt32LE(8)
    const n = buf.readUInt16LE(12)
    if (total > buf.length || HEADER_SIZE + (n + 1) * ENTRY_SIZE > total) throw new Error("dcfg: sizes out of range")
    // in the order of their bytes (numbers first), so that encodeDcfg lays
    // the strings out as the CLI did
    const found: { key: string; value: DcfgValue; at: number }[] = []
    for (let i = 0; i < n; i++) {
        const e = HEADER_SIZE + i * ENTRY_SIZE
        const nul = buf.indexOf(0, e)
        if (nul < 0 || nul - e > KEY_SIZE) throw new Error(`dcfg: entry ${i} has no key`)
        const key = buf.toString("latin1", e, nul)
        const typeSize = buf.readUInt16LE(e + 18)
        const value = buf.readUInt32LE(e + 20)
        const type = typeSize & 3
        const size = typeSize >> 2
        if (type === 0) found.push({ key, value, at: 0 })
        else if (type === TYPE_I32) found.push({ key, value: value | 0, at: 0 })
        else {
            if (value + size >= total) throw new Error(`dcfg: "${key}" points outside the blob`)
            const bytes = Buffer.from(buf.subarray(value, value + size))
            found.push({ key, value: type === TYPE_STRING ? bytes.toString("utf8") : bytes, at: value })
        }
    }
    found.sort((a, b) => a.at - b.at)
    const out: Record<string, DcfgValue> = {}
    for (const f of found) out[f.key] = f.value
    return out
}

const DCFG_SECTION = 32 + 9 * 8

/** The configuration carried by a program image (what `devs build` put there). */
export function imageConfig(image: Buffer): Record<string, DcfgValue> {
    const start = image.readUInt32LE(DCFG_SECTION)
    const len = image.readUInt32LE(DCFG_SECTION + 4)
    return len === 0 ? {} : decodeDcfg(image.subarray(start, start + len))
}

/**
 * A copy of `image` whose configuration also has `values` (a value given
 * here replaces the image's own). The program reads them with
 * ds._dcfgString(key), as it reads a board's configuration on a device.
 */
export function withImageConfig(image: Buffer, values: Record<string, DcfgValue>): Buffer {
    const start = image.readUInt32LE(DCFG_SECTION)
    const len = image.readUInt32LE(DCFG_SECTION + 4)
    // nothing may follow the section but the padding to 32 bytes
    if (start + len > image.length || image.length - (start + len) >= 32) throw new Error("image: the dcfg section is not the last one")
    // sections are 4-byte aligned (the verifier checks it)
    const raw = encodeDcfg({ ...imageConfig(image), ...values })
    const dcfg = Buffer.concat([raw, Buffer.alloc(-raw.length & 3)])
    const size = (start + dcfg.length + 31) & ~31
    const out = Buffer.alloc(size)
    image.copy(out, 0, 0, start)
    dcfg.copy(out, start)
    out.writeUInt32LE(dcfg.length, DCFG_SECTION + 4)
    return out
}
