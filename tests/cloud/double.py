#!/usr/bin/env python3
"""A local double of the balena cloud API, for tests (the far edge: the one
test double allowed). It follows ../shared/CLOUD-API.md.

usage: double.py API_PORT CONTROL_PORT CERT KEY STATE_DIR

API (HTTPS on 127.0.0.1:API_PORT, the certificate CERT/KEY of a test CA):
  GET   /device/v3/<uuid>/state    Bearer <deviceApiKey>; If-None-Match;
                                   200 + weak ETag, 304 when unchanged (and,
                                   as the real cloud, for an unknown device)
  PATCH /device/v3/state           Bearer; {<uuid>: {...}}: recorded; 200,
                                   400 without a device key, 401 unknown key
  POST  /device/register           Bearer <provisioning key>; 201 or 409
  GET   /v6/device?$filter=uuid eq '<uuid>'   Bearer <deviceApiKey>: {"d": [...]}

Control (plain HTTP on 127.0.0.1:CONTROL_PORT, for the test only):
  PUT  /target/<uuid>              the body becomes the device's target
  POST /device/<uuid>?key=K        the device exists with that key
  GET  /reports/<uuid>             every report received, as a JSON list
  GET  /requests                   every API request, one line each
  GET  /registered                 the register calls received
  POST /fault?kind=K&count=N       the next N API requests: 500, 401,
                                   hang (no answer for 30 s), reset (close
                                   the connection), slow (1 byte a second),
                                   lost (do it, then close without answering)
  POST /provisioning?key=K         the provisioning key register accepts
"""
import http.server
import json
import socket
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

api_port, ctl_port, cert, key, state_dir = (int(sys.argv[1]), int(sys.argv[2]),
                                            sys.argv[3], sys.argv[4], sys.argv[5])
lock = threading.Lock()
devices = {}        # uuid -> deviceApiKey
ids = {}            # uuid -> device id
targets = {}        # uuid -> (etag number, body bytes)
reports = {}        # uuid -> [report, ...]
requests = []       # "METHOD path auth=yes|no status"
registered = []     # register bodies
faults = []         # kinds, consumed one per API request
provisioning = {"key": None}


def drop(conn):
    # FIN now, whatever else holds the socket: a plain close() of the TLS
    # socket could leave the client waiting for its request timeout
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    conn.close()


def log_request(line):
    with lock:
        requests.append(line)


class Api(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status, body=b"", headers=None):
        with lock:
            lost = bool(faults) and faults[0] == "lost"
            if lost:
                faults.pop(0)
        if lost:  # done, but the answer never arrives
            log_request("%s %s lost %d" % (self.command, self.path.split("?")[0], status))
            self.close_connection = True
            drop(self.connection)
            return
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        log_request("%s %s auth=%s %d" % (self.command, self.path.split("?")[0],
                                          "yes" if self.headers.get("Authorization") else "no",
                                          status))

    def bearer(self):
        a = self.headers.get("Authorization") or ""
        return a[7:] if a.startswith("Bearer ") else None

    def fault(self):
        with lock:
            kind = faults[0] if faults else None
            if kind is not None and kind != "lost":
                faults.pop(0)
        if kind is None or kind == "lost":
            return False
        if kind == "hang":
            time.sleep(30)
            self.close_connection = True
            return True
        if kind == "reset":
            self.close_connection = True
            drop(self.connection)
            log_request("%s %s reset" % (self.command, self.path))
            return True
        if kind == "slow":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(1)
            return True
        self.reply(int(kind), b'{"error": "injected"}')
        return True

    def do_GET(self):
        self.body()
        if self.fault():
            return
        parts = self.path.split("?")[0].split("/")
        # /device/v3/<uuid>/state
        if len(parts) == 5 and parts[1] == "device" and parts[2] == "v3" and parts[4] == "state":
            uuid = parts[3]
            with lock:
                known = devices.get(uuid)
                t = targets.get(uuid)
            if known is None or t is None:
                return self.reply(304)  # what the cloud says for an unknown device
            if self.bearer() != known:
                return self.reply(401, b"Unauthorized")
            etag = 'W/"%d"' % t[0]
            if self.headers.get("If-None-Match") == etag:
                return self.reply(304, headers={"ETag": etag})
            return self.reply(200, t[1], {"ETag": etag, "Content-Type": "application/json"})
        if parts[1:3] == ["v6", "device"]:
            q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(self.path).query))
            f = q.get("$filter", "")
            uuid = f[len("uuid eq '"):-1] if f.startswith("uuid eq '") else None
            with lock:
                known = devices.get(uuid)
                did = ids.get(uuid)
            found = known is not None and self.bearer() == known
            body = {"d": [{"id": did, "uuid": uuid}] if found else []}
            return self.reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
        self.reply(404)

    def do_PATCH(self):
        raw = self.body()
        if self.fault():
            return
        if self.path.split("?")[0] != "/device/v3/state":
            return self.reply(404)
        try:
            doc = json.loads(raw)
        except ValueError:
            return self.reply(400, b"bad json")
        if not isinstance(doc, dict) or not doc:
            return self.reply(400, b"no device")
        for uuid, rep in doc.items():
            with lock:
                known = devices.get(uuid)
            if known is None or self.bearer() != known:
                return self.reply(401, b"Unauthorized")
            with lock:
                reports.setdefault(uuid, []).append(rep)
        self.reply(200)

    def do_POST(self):
        raw = self.body()
        if self.fault():
            return
        if self.path.split("?")[0] != "/device/register":
            return self.reply(404)
        if provisioning["key"] is None or self.bearer() != provisioning["key"]:
            return self.reply(401, b"Unauthorized")
        try:
            doc = json.loads(raw)
        except ValueError:
            return self.reply(400, b"bad json")
        with lock:
            registered.append(doc)
            exists = doc.get("uuid") in devices
            if not exists:
                devices[doc["uuid"]] = doc.get("api_key")
                ids[doc["uuid"]] = 1000 + len(devices)
        if exists:
            return self.reply(409, b'"Unique key constraint violated"')
        self.reply(201, json.dumps({"id": ids[doc["uuid"]], "uuid": doc.get("uuid"),
                                    "device_type": doc.get("device_type")}).encode(),
                   {"Content-Type": "application/json"})


class Control(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def out(self, status, obj=None):
        body = json.dumps(obj).encode() if obj is not None else b""
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        parts = self.path.split("/")
        if len(parts) == 3 and parts[1] == "target":
            with lock:
                old = targets.get(parts[2])
                targets[parts[2]] = ((old[0] + 1) if old else 1, body)
            return self.out(200, {"etag": targets[parts[2]][0]})
        self.out(404)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        u = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        parts = u.path.split("/")
        with lock:
            if len(parts) == 3 and parts[1] == "device":
                devices[parts[2]] = q.get("key")
                ids[parts[2]] = 1000 + len(devices)
            elif u.path == "/fault":
                faults.extend([q["kind"]] * int(q.get("count", "1")))
            elif u.path == "/provisioning":
                provisioning["key"] = q.get("key")
            else:
                return self.out(404)
        self.out(200, {})

    def do_GET(self):
        parts = self.path.split("/")
        with lock:
            if len(parts) == 3 and parts[1] == "reports":
                return self.out(200, reports.get(parts[2], []))
            if self.path == "/requests":
                return self.out(200, requests)
            if self.path == "/registered":
                return self.out(200, registered)
        self.out(404)


class Threaded(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


api = Threaded(("127.0.0.1", api_port), Api)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
api.socket = ctx.wrap_socket(api.socket, server_side=True)
threading.Thread(target=api.serve_forever, daemon=True).start()
Threaded(("127.0.0.1", ctl_port), Control).serve_forever()
