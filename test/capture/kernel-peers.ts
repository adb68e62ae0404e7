// The kernel's side of the real captures: a TCP server and client in
// python3, so Linux's TCP does the talking (scripts/capture-fixtures.ts and
// test/interop/trace-capture.test.ts).
//   SERVER ADDR PORT MODE COUNT   MODE halfclose: answer, read to the client's FIN, send
//                                 three pieces, close; plain: answer, read to the FIN, close
//   CLIENT ADDR PORT MODE BIND    MODE halfclose: send, shut down, read to the end;
//                                 reset: close with SO_LINGER 0; plain: close
export const SERVER = `
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(4)
mode = sys.argv[3]
for _ in range(int(sys.argv[4])):
    c, _a = s.accept()
    data = c.recv(100)
    if mode == "halfclose":
        c.sendall(b"got " + data)
        while c.recv(100): pass          # the client shut down its side: read to its FIN
        for i in range(3): c.sendall(b"after your FIN %d\\n" % i)
        c.close()
    else:
        c.sendall(b"re: " + data)
        while c.recv(100): pass
        c.close()
`
export const CLIENT = `
import socket, sys, struct, time
mode = sys.argv[3]
c = socket.socket(); c.bind((sys.argv[4], 0))
try:
    c.connect((sys.argv[1], int(sys.argv[2])))
except ConnectionRefusedError:
    print("refused"); sys.exit(0)
c.sendall(b"hello")
print(c.recv(100))
if mode == "halfclose":
    c.shutdown(socket.SHUT_WR)
    while True:
        d = c.recv(100)
        if not d: break
    c.close()
elif mode == "reset":
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
else:
    c.close()
time.sleep(0.2)
`

