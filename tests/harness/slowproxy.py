#!/usr/bin/env python3
"""A proxy on loopback that passes the upstream's answers at a capped
rate, so a pull from a local registry takes seconds, not a blink: a test can
then see it underway and act on it midway. Each connection gets its own
connection upstream; when the upstream goes (the registry killed), the
client's connection is closed, as it would be by the registry itself.
Killed, it takes its connections with it: in front of the Docker socket,
that is the engine going away and coming back, its containers untouched.

usage: slowproxy.py LISTEN UPSTREAM BYTES_PER_SECOND
  LISTEN, UPSTREAM: a TCP port on 127.0.0.1, or a unix socket's path (one
  with a /); BYTES_PER_SECOND 0: no cap
"""
import os
import socket
import sys
import threading
import time


def pipe(src, dst, rate):
    sent, start = 0, time.monotonic()
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
            if rate:
                sent += len(data)
                ahead = sent / rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def connect(where):
    if "/" in where:
        s = socket.socket(socket.AF_UNIX)
        s.connect(where)
        return s
    return socket.create_connection(("127.0.0.1", int(where)))


def serve(client, upstream, rate):
    try:
        up = connect(upstream)
    except OSError:
        client.close()
        return
    threading.Thread(target=pipe, args=(client, up, 0), daemon=True).start()
    pipe(up, client, rate)
    client.close()
    up.close()


def main():
    listen, upstream, rate = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if "/" in listen:
        if os.path.exists(listen):
            os.unlink(listen)
        ls = socket.socket(socket.AF_UNIX)
        ls.bind(listen)
    else:
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", int(listen)))
    ls.listen(64)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c, upstream, rate), daemon=True).start()


if __name__ == "__main__":
    main()
