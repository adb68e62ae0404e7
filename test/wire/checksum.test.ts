// The Internet checksum (RFC 1071) and its incremental update (RFC 1624) on real headers.
import "../setup.js"
import { test } from "node:test"
import assert from "node:assert/strict"
import { adjustChecksum, finishChecksum, internetChecksum, onesSum, portableOnesSum, pseudoHeaderSum } from "../../src/wire/checksum.js"
import { fastOnesSum, FAST_ONES_SUM_OK } from "../../src/host/fast-checksum.js"
import { Xoshiro128 } from "../../src/random.js"
import { getU16, setU16 } from "../../src/wire/bytes.js"
import { A_IP, B_IP, DNS_QUERY_FRAME, ECHO_REQUEST_FRAME, SYN_FRAME, hex } from "./capture.js"

/** Reference: RFC 1071 §4.1, big-endian 16-bit words, odd byte padded with zero. */
function reference(b: Buffer, off: number, len: number): number {
    let sum = 0
    for (let i = 0; i < len; i += 2) sum += (b[off + i] << 8) | (i + 1 < len ? b[off + i + 1] : 0)
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
    return ~sum & 0xffff
}

test("IPv4 header checksum of a real header", () => {
    // 4500 0054 4bcb 4000 4001 [62b6] c612 0001 c612 0002 (ping 198.18.0.1 -> .2)
    const h = hex("450000544bcb40004001 0000 c6120001c6120002")
    assert.equal(internetChecksum(h, 0, 20), 0x62b6)
    setU16(h, 10, 0x62b6)
    assert.equal(internetChecksum(h, 0, 20), 0, "a header with its checksum sums to 0xffff")
    assert.equal(internetChecksum(ECHO_REQUEST_FRAME, 14, 20), 0)
})

test("RFC 1071 §3 example bytes", () => {
    // 00 01 f2 03 f4 f5 f6 f7: sum ddf2, checksum 220d
    const b = hex("0001f203f4f5f6f7")
    assert.equal(internetChecksum(b, 0, 8), 0x220d)
})

test("checksum over odd lengths and odd offsets matches the reference", () => {
    const b = Buffer.alloc(301)
    let x = 12345
    for (let i = 0; i < b.length; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0
        b[i] = x >>> 24
    }
    for (const off of [0, 1, 2, 3]) {
        for (const len of [0, 1, 2, 3, 7, 8, 63, 64, 255, 297]) {
            assert.equal(internetChecksum(b, off, len), reference(b, off, len), "off " + off + " len " + len)
        }
    }
    assert.equal(internetChecksum(Buffer.from([0xff]), 0, 1), 0x00ff)
    assert.equal(internetChecksum(Buffer.alloc(0), 0, 0), 0xffff)
})

test("split sums (even first range) equal one sum", () => {
    const b = DNS_QUERY_FRAME
    const whole = onesSum(b, 14, 57, 0)
    const split = onesSum(b, 14 + 20, 37, onesSum(b, 14, 20, 0))
    assert.equal(finishChecksum(split), finishChecksum(whole))
})

test("pseudo-header sum verifies a real UDP datagram of odd length and a real TCP SYN", () => {
    // UDP: 37 bytes (8 + 29)
    assert.equal(finishChecksum(onesSum(DNS_QUERY_FRAME, 34, 37, pseudoHeaderSum(A_IP, B_IP, 17, 37))), 0)
    assert.equal(finishChecksum(onesSum(SYN_FRAME, 34, 40, pseudoHeaderSum(A_IP, B_IP, 6, 40))), 0)
    // the wrong destination address breaks it
    assert.notEqual(finishChecksum(onesSum(SYN_FRAME, 34, 40, pseudoHeaderSum(A_IP, B_IP + 1, 6, 40))), 0)
})

test("adjustChecksum (RFC 1624) equals recomputation", () => {
    const h = Buffer.from(ECHO_REQUEST_FRAME.subarray(14, 34))
    // decrement the TTL: word 8..9 is ttl<<8 | protocol
    for (let ttl = 64; ttl > 0; ttl--) {
        const old = getU16(h, 8)
        const nw = ((ttl - 1) << 8) | h[9]
        const adjusted = adjustChecksum(getU16(h, 10), old, nw)
        h[8] = ttl - 1
        setU16(h, 10, 0)
        const full = internetChecksum(h, 0, 20)
        assert.equal(adjusted, full, "ttl " + (ttl - 1))
        setU16(h, 10, full)
    }
    // rewrite a whole address word by word (NAT-style)
    const old1 = getU16(h, 12)
    const old2 = getU16(h, 14)
    let c = adjustChecksum(getU16(h, 10), old1, 0x0a00)
    c = adjustChecksum(c, old2, 0x0001)
    setU16(h, 12, 0x0a00)
    setU16(h, 14, 0x0001)
    setU16(h, 10, 0)
    assert.equal(c, internetChecksum(h, 0, 20))
})

test("adjustChecksum keeps working when the sum goes through 0xffff (RFC 1624 §3)", () => {
    // a header whose data sums to 0xffff..., exercised through every value of one word
    const h = hex("450000544bcb40004001 0000 c6120001c6120002")
    setU16(h, 10, internetChecksum(h, 0, 20))
    for (let v = 0; v <= 0xffff; v += 97) {
        const c = adjustChecksum(getU16(h, 10), getU16(h, 4), v)
        setU16(h, 4, v)
        setU16(h, 10, c)
        assert.equal(internetChecksum(h, 0, 20), 0, "id " + v)
    }
})

test("Node's accelerated onesSum agrees with the portable loop and RFC 1071's reference (any offset, length, view)", () => {
    assert.ok(FAST_ONES_SUM_OK, "this machine is little-endian")
    const rnd = new Xoshiro128(20261121)
    const big = Buffer.alloc(5000)
    for (let i = 0; i < big.length; i++) big[i] = rnd.nextU32() & 0xff
    // worst cases for the folding: all ones
    const ones = Buffer.alloc(3000, 0xff)
    for (let k = 0; k < 3000; k++) {
        const src = k % 10 === 0 ? ones : big
        // a view at an odd or even byteOffset, like a frame inside the TAP slab
        const view = src.subarray(rnd.nextU32() % 7, src.length)
        const len = k < 100 ? k : rnd.nextU32() % 2900
        const off = rnd.nextU32() % (view.length - len)
        const acc = k % 3 === 0 ? pseudoHeaderSum(A_IP, B_IP, 6, len) : 0
        const fast = fastOnesSum(view, off, len, acc)
        const slow = portableOnesSum(view, off, len, acc)
        assert.equal(finishChecksum(fast), finishChecksum(slow), `k=${k} off=${off} len=${len}`)
        if (acc === 0) assert.equal(finishChecksum(fast), reference(view, off, len), `k=${k} against the reference`)
        // a partial sum goes on into the next range the same way
        assert.equal(finishChecksum(fastOnesSum(view, off, len & ~1, fast)), finishChecksum(portableOnesSum(view, off, len & ~1, slow)))
    }
    // onesSum() goes through the accelerator here (the polyfill installed it)
    assert.equal(onesSum(big, 10, 1460, 0), fastOnesSum(big, 10, 1460, 0))
})
