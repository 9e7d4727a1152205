#!/usr/bin/env python3
"""flood.py PORT N READY-FILE: hold N TCP connections to 127.0.0.1:PORT that
never send a byte; one the server closes is made again at once, until
killed. Writes N to READY-FILE once all were begun."""
import resource
import selectors
import socket
import sys

port, n, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
if hard != resource.RLIM_INFINITY and hard < n + 64:
    sys.exit("flood: %d descriptors allowed, %d needed" % (hard, n + 64))
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 64, hard))
sel = selectors.DefaultSelector()


def one():
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    sel.register(s, selectors.EVENT_READ)


for _ in range(n):
    one()
with open(ready, "w") as f:
    f.write("%d\n" % n)
while True:
    for key, _ in sel.select(1):
        sel.unregister(key.fileobj)
        key.fileobj.close()
        one()
