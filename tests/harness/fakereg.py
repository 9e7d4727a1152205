#!/usr/bin/env python3
"""A registry that only asks for credentials, for the trust tests.

fakereg.py PORT LOG basic          every request: 401, Basic challenge
fakereg.py PORT LOG bearer REALM [N]  every request: 401, Bearer challenge naming
                                   REALM (and a scope of N bytes, when given)
fakereg.py PORT LOG listen         a bare TCP listener (an ftp:// realm's host)

Listens on 127.0.0.1 only. Each request (or connection) is one line in LOG:
the method, the path and whether an Authorization header came, with its
value, so a test can tell whether the device's key was sent.
"""
import http.server
import socket
import sys

port, log, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def record(line):
    with open(log, "a") as f:
        f.write(line + "\n")


if mode == "listen":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(8)
    while True:
        c, _ = s.accept()
        record("connection")
        c.close()


class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        auth = self.headers.get("Authorization")
        record("%s %s auth=%s" % (self.command, self.path, auth or "none"))
        self.send_response(401)
        if mode == "basic":
            self.send_header("WWW-Authenticate", 'Basic realm="fake"')
        else:
            scope = "repository:x:pull"
            if len(sys.argv) > 5:
                scope = "repository:%s:pull" % ("x" * (int(sys.argv[5]) - 16))
            self.send_header("WWW-Authenticate",
                             'Bearer realm="%s",service="fake",scope="%s"' % (sys.argv[4], scope))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET

    def log_message(self, *a):
        pass


http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
