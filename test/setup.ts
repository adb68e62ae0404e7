// Imported first by every test: Node gets DeviceScript's Buffer methods.
import "../src/host/buffer-polyfill.js"
