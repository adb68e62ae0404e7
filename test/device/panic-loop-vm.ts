// Runs in the DeviceScript VM (test/vm/vm.test.ts): an endless loop without a
// suspension, which the VM stops with an InfiniteLoop panic.
console.log("looping")
let n = 0
while (n >= 0) n = (n + 1) & 0xffff
console.log("unreachable")
