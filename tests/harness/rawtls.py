#!/usr/bin/env python3
"""A raw client of the logger's remote tail (nng's REQ over TLS, by hand),
for what our own client never does.

usage: rawtls.py HOST PORT CA_PEM CLIENT_PEM ping
         send a PING (not a LOG_QUERY), print the reply's error text
       rawtls.py HOST PORT CA_PEM CLIENT_PEM hog N SECONDS
         send N LOG_QUERYs at once, then read nothing for SECONDS
         (prints "sent N" once they are written)

The wire: TLS, then nng's SP header (REQ v0: 0x30) each way; then each
message as an 8-byte big-endian length and its body, which for REQ is a
4-byte request id (high bit set) and the payload, our msgpack message.
"""
import socket
import ssl
import struct
import sys
import time


def mp_str(s):
    b = s.encode()
    return bytes([0xa0 | len(b)]) + b


def message(mtype, mid, body):
    """{v: 1, t: mtype, id: mid, b: body} (small ints, a small map)"""
    out = bytes([0x84]) + mp_str("v") + b"\x01" + mp_str("t") + bytes([mtype])
    out += mp_str("id") + bytes([mid]) + mp_str("b") + bytes([0x80 | len(body)])
    for k, v in body.items():
        out += mp_str(k) + bytes([v])
    return out


def frame(reqid, payload):
    body = struct.pack(">I", 0x80000000 | reqid) + payload
    return struct.pack(">Q", len(body)) + body


def connect(host, port, ca, cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert)
    ctx.check_hostname = False
    s = ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=10))
    s.sendall(b"\x00SP\x00\x00\x30\x00\x00")
    hdr = b""
    while len(hdr) < 8:
        got = s.recv(8 - len(hdr))
        if not got:
            raise SystemExit("rawtls: the logger closed the connection")
        hdr += got
    return s


def read_exact(s, n):
    out = b""
    while len(out) < n:
        got = s.recv(n - len(out))
        if not got:
            raise SystemExit("rawtls: the logger closed the connection")
        out += got
    return out


def main():
    host, port, ca, cert, mode = sys.argv[1:6]
    s = connect(host, port, ca, cert)
    if mode == "ping":
        s.sendall(frame(1, message(1, 7, {})))
        n = struct.unpack(">Q", read_exact(s, 8))[0]
        body = read_exact(s, n)
        text = body[4:]
        i = text.find(b"the remote tail")
        print("REPLY %s" % (text[i:i + 60].decode(errors="replace") if i >= 0 else text.hex()))
    elif mode == "hog":
        count, secs = int(sys.argv[6]), float(sys.argv[7])
        for i in range(count):
            s.sendall(frame(i + 1, message(32, (i % 100) + 1, {"after_seq": 0})))
        print("sent %d" % count, flush=True)
        time.sleep(secs)
    else:
        raise SystemExit("rawtls: mode ping or hog")


if __name__ == "__main__":
    main()
