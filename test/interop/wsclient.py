# A WebSocket client (RFC 6455) with Python's standard library only, for the
# interop tests: opens ws://HOST:PORT/PATH, checks the handshake
# (Sec-WebSocket-Accept), sends text and binary messages of several sizes
# (every payload-length encoding: 7-bit, 16-bit, 64-bit), masked with
# os.urandom keys, some of them fragmented, with a ping between fragments,
# and checks that each comes back unchanged as the same type; then closes
# with 1000 and expects the close echoed. Prints one JSON line with what it
# did; exits 0 when everything matched, 1 otherwise. Bounded by a socket
# timeout (default 20 s per operation).
#   python3 wsclient.py HOST PORT [PATH] [--big N] [--timeout S]
import base64, hashlib, json, os, socket, struct, sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def recv_exact(s, n):
    b = bytearray()
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("connection closed after %d of %d bytes" % (len(b), n))
        b += c
    return bytes(b)


def send_frame(s, opcode, payload, fin=True):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", b0, 0x80 | 127, n)
    key = os.urandom(4)
    masked = bytes(payload[i] ^ key[i & 3] for i in range(n)) if n < 4096 else mask_fast(payload, key)
    s.sendall(head + key + masked)


def mask_fast(payload, key):
    k = int.from_bytes(key * ((len(payload) + 3) // 4), "big")
    p = int.from_bytes(payload + b"\0" * ((4 - len(payload) % 4) % 4), "big")
    out = (p ^ k).to_bytes((len(payload) + 3) // 4 * 4, "big")
    return out[: len(payload)]


def recv_frame(s):
    b0, b1 = recv_exact(s, 2)
    if b1 & 0x80:
        raise ValueError("the server masked a frame")
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", recv_exact(s, 2))
    elif n == 127:
        (n,) = struct.unpack("!Q", recv_exact(s, 8))
    return bool(b0 & 0x80), b0 & 0x0F, recv_exact(s, n)


def recv_message(s, pongs):
    """A whole data message (fragments joined); pongs are collected."""
    parts, kind = [], None
    while True:
        fin, op, data = recv_frame(s)
        if op == 0xA:
            pongs.append(data)
            continue
        if op == 0x9:
            raise ValueError("unexpected ping from the server")
        if op == 0x8:
            return "close", data
        if op in (1, 2):
            if kind is not None:
                raise ValueError("a new message inside a fragmented one")
            kind = "text" if op == 1 else "binary"
        elif op != 0 or kind is None:
            raise ValueError("bad opcode %d" % op)
        parts.append(data)
        if fin:
            return kind, b"".join(parts)


def main():
    args = sys.argv[1:]
    big, timeout = 70000, 20.0
    if "--big" in args:
        i = args.index("--big")
        big = int(args[i + 1])
        del args[i : i + 2]
    if "--timeout" in args:
        i = args.index("--timeout")
        timeout = float(args[i + 1])
        del args[i : i + 2]
    host, port = args[0], int(args[1])
    path = args[2] if len(args) > 2 else "/ws"
    s = socket.create_connection((host, port), timeout=timeout)
    s.settimeout(timeout)
    key = base64.b64encode(os.urandom(16))
    s.sendall(
        b"GET " + path.encode() + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        c = s.recv(1)
        if not c:
            raise EOFError("closed during the handshake: %r" % head)
        head += c
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1.1 101"):
        raise ValueError("handshake answered %r" % lines[0])
    fields = {}
    for l in lines[1:]:
        if ":" in l:
            k, v = l.split(":", 1)
            fields[k.strip().lower()] = v.strip()
    want = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
    if fields.get("sec-websocket-accept") != want:
        raise ValueError("Sec-WebSocket-Accept %r, expected %r" % (fields.get("sec-websocket-accept"), want))

    msgs = [
        ("text", "hello, ds-tcpip".encode()),
        ("text", ("héllo wörld ✓ " * 20).encode()),  # UTF-8, 16-bit length
        ("binary", b""),
        ("binary", os.urandom(125)),
        ("binary", os.urandom(126)),
        ("binary", os.urandom(65535)),
        ("binary", os.urandom(big)),  # 64-bit length
        ("text", "x" * 5000),
    ]
    msgs = [(k, v.encode() if isinstance(v, str) else v) for k, v in msgs]
    pongs, checked = [], []
    for kind, data in msgs:
        send_frame(s, 1 if kind == "text" else 2, data)
        got_kind, got = recv_message(s, pongs)
        ok = got_kind == kind and got == data
        checked.append({"type": kind, "bytes": len(data), "ok": ok})
        if not ok:
            print(json.dumps({"ok": False, "checked": checked, "got": got_kind, "gotBytes": len(got)}))
            sys.exit(1)
    # a fragmented binary message with a ping between its fragments
    frag = os.urandom(3000)
    send_frame(s, 2, frag[:1000], fin=False)
    send_frame(s, 0x9, b"ping!")
    send_frame(s, 0, frag[1000:2000], fin=False)
    send_frame(s, 0, frag[2000:], fin=True)
    got_kind, got = recv_message(s, pongs)
    ok = got_kind == "binary" and got == frag
    checked.append({"type": "fragmented binary", "bytes": len(frag), "ok": ok})
    if pongs != [b"ping!"]:
        ok = False
    # close
    send_frame(s, 0x8, struct.pack("!H", 1000) + b"bye")
    kind, data = recv_message(s, pongs)
    code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
    closed_ok = kind == "close" and code == 1000
    # the server closes the TCP connection after its close frame
    rest = s.recv(1)
    s.close()
    result = {"ok": ok and closed_ok and rest == b"", "checked": checked, "pongs": len(pongs), "closeCode": code, "eofAfterClose": rest == b""}
    print(json.dumps(result))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one JSON line either way
        print(json.dumps({"ok": False, "error": "%s: %s" % (type(e).__name__, e)}))
        sys.exit(1)
