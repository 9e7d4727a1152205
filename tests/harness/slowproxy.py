#!/usr/bin/env python3
"""A TCP proxy on loopback that passes the upstream's answers at a capped
rate, so a pull from a local registry takes seconds, not a blink: a test can
then see it underway and act on it midway. Each connection gets its own
connection upstream; when the upstream goes (the registry killed), the
client's connection is closed, as it would be by the registry itself.

usage: slowproxy.py LISTEN_PORT UPSTREAM_PORT BYTES_PER_SECOND
"""
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


def serve(client, upstream_port, rate):
    try:
        up = socket.create_connection(("127.0.0.1", upstream_port))
    except OSError:
        client.close()
        return
    threading.Thread(target=pipe, args=(client, up, 0), daemon=True).start()
    pipe(up, client, rate)
    client.close()
    up.close()


def main():
    listen_port, upstream_port, rate = (int(a) for a in sys.argv[1:4])
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", listen_port))
    ls.listen(64)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c, upstream_port, rate), daemon=True).start()


if __name__ == "__main__":
    main()
