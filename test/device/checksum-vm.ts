// Runs in the DeviceScript VM (test/vm/vm.test.ts): the Internet checksum of
// known data, printed as hex so the test can compare it with Node's result.
import * as ds from "@devicescript/core"
import { finishChecksum, internetChecksum, onesSum, pseudoHeaderSum } from "../../src/wire/checksum.js"
import { parseIp } from "../../src/wire/bytes.js"

const HEX = "0123456789abcdef"
function hex16(v: number): string {
    return HEX[(v >> 12) & 15] + HEX[(v >> 8) & 15] + HEX[(v >> 4) & 15] + HEX[v & 15]
}

// RFC 1071-style example: a 20-byte IPv4 header with its checksum field zeroed
const header = Buffer.from("450000730000400040110000c0a80001c0a800c7", "hex")
console.log("checksum " + hex16(internetChecksum(header, 0, header.length)))

// odd lengths: the last byte is summed alone
const odd5 = Buffer.from("0102030405", "hex")
console.log("odd5 " + hex16(internetChecksum(odd5, 0, odd5.length)))

const big = Buffer.alloc(1501)
for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff
console.log("odd1501 " + hex16(internetChecksum(big, 0, big.length)))
console.log("offset3len11 " + hex16(internetChecksum(big, 3, 11)))
// the 32-byte turns of the loop at an odd offset, and words of all ones (the sum passes 2^32)
console.log("offset7len1460 " + hex16(internetChecksum(big, 7, 1460)))
const ones = Buffer.alloc(1472)
ones.fillAt(0, ones.length, 0xff)
console.log("ones1472 " + hex16(finishChecksum(onesSum(ones, 0, ones.length, pseudoHeaderSum(0xffffffff, 0xffffffff, 17, 0xffff)))))

// a UDP-style sum: pseudo-header, then two ranges (the first of even length)
const acc = pseudoHeaderSum(parseIp("192.168.0.1"), parseIp("192.168.0.199"), 17, 8 + 13)
console.log("udp " + hex16(finishChecksum(onesSum(big, 100, 13, onesSum(big, 0, 8, acc)))))

// every offset 0..3 with every length to 160 (each way through the loop's 64-,
// 16-, 4-, 2- and 1-byte steps) and a few frame lengths, over the pattern and
// over all-ones words (the sum past 2^32): one hash, which the test compares
// with RFC 1071's reference computed on Node (yielding: the VM's step limit)
let h = 0
for (let off = 0; off < 4; off++) {
    for (let len = 0; len <= 160; len++) {
        h = (h * 31 + internetChecksum(big, off, len) + 7 * internetChecksum(ones, off, len)) % 1000003
        if (len % 40 === 0) await ds.sleep(1)
    }
    for (let len = 1459; len <= 1462; len++) h = (h * 31 + internetChecksum(big, off, len) + 7 * internetChecksum(ones, off, len - 3)) % 1000003
    await ds.sleep(1)
}
console.log("sweep " + h)

console.log("done")
