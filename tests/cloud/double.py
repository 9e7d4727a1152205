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
  POST  /device/v2/<uuid>/log-stream   Bearer; Content-Type application/x-ndjson
                                   (else 415), gzip or not, chunked, kept open:
                                   each line is recorded as it arrives; 201
                                   only when the body ends; 401 unknown device
  GET   /auth/v1/token?service=S&scope=...   Basic d_<uuid>:<deviceApiKey>:
                                   {"token": T} (a delta token), else 401
  GET   /api/v3/delta?src=A&dest=B       Bearer T: the answer set for (A, B)
                                   with POST /delta, else 400

Control (plain HTTP on 127.0.0.1:CONTROL_PORT, for the test only):
  PUT  /target/<uuid>              the body becomes the device's target
  POST /device/<uuid>?key=K        the device exists with that key
  GET  /reports/<uuid>             every report received, as a JSON list
  GET  /requests                   every API request, one line each
  GET  /timeline                   the same, each as [seconds since the epoch, line]
  GET  /registered                 the register calls received
  POST /fault?kind=K&count=N[&method=M]
                                   the next N API requests (of method M
                                   only, if given): an HTTP status (500,
                                   401, 429...), STATUS+S (that status with
                                   Retry-After: S), hang (no answer for 30
                                   s), reset (close the connection), slow (1
                                   byte a second), lost (do it, then close
                                   without answering), redirect (302 to
                                   /elsewhere on the same API)
  POST /provisioning?key=K         the provisioning key register accepts
  GET  /logs/<uuid>                every log line received, as a JSON list
  GET  /logstreams/<uuid>          {"opened": N, "ended": N, "cut": N}
  POST /delta                      {"src", "dest", "status", "body"?, "location"?}:
                                   how /api/v3/delta answers for (src, dest)
  GET  /tokens                     the tokens handed out
  GET  /logstats/<uuid>            {"n", "first_at", "last_at", "last"}: the
                                   containers' lines counted, when the first
                                   and the last came (s), the last's message
  POST /keeplogs?on=0|1            keep each line (default) or only count
                                   (benchmarks); the counts start again
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
import base64
import zlib

api_port, ctl_port, cert, key, state_dir = (int(sys.argv[1]), int(sys.argv[2]),
                                            sys.argv[3], sys.argv[4], sys.argv[5])
lock = threading.Lock()
devices = {}        # uuid -> deviceApiKey
ids = {}            # uuid -> device id
targets = {}        # uuid -> (etag number, body bytes)
reports = {}        # uuid -> [report, ...]
requests = []       # "METHOD path auth=yes|no status"
request_times = []  # when each came (time.time())
registered = []     # register bodies
faults = []         # [kind, method or None], consumed one per API request
provisioning = {"key": None}
logs = {}           # uuid -> [log line, ...]
logstreams = {}     # uuid -> {"opened": N, "ended": N, "cut": N}
logstats = {}       # uuid -> {"n", "first_at", "last_at", "last"}: lines counted
keep_logs = {"on": True}
tokens = {}         # token -> uuid
deltas = {}         # (src, dest) -> {"status", "body", "location"}


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
        request_times.append(time.time())


def take_fault(method, lost):
    """The first fault for a request of method (under lock): with lost, only
    a "lost" one is taken; without, any other. None when there is none."""
    for i, (kind, m) in enumerate(faults):
        if m is None or m == method:
            if (kind == "lost") == lost:
                faults.pop(i)
                return kind
            return None
    return None


class Api(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status, body=b"", headers=None):
        with lock:
            lost = take_fault(self.command, True) is not None
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
            kind = take_fault(self.command, False)
        if kind is None:
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
        if kind == "redirect":
            self.reply(302, b"", {"Location": "https://127.0.0.1:%d/elsewhere%s"
                                  % (api_port, self.path)})
            return True
        status, _, after = kind.partition("+")
        self.reply(int(status), b'{"error": "injected"}',
                   {"Retry-After": after} if after else None)
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
        if parts[1:] == ["auth", "v1", "token"]:
            return self.token()
        if parts[1:] == ["api", "v3", "delta"]:
            return self.delta()
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

    def token(self):
        a = self.headers.get("Authorization") or ""
        try:
            user, _, pw = base64.b64decode(a[6:]).decode().partition(":") \
                if a.startswith("Basic ") else ("", "", "")
        except ValueError:
            user = pw = ""
        uuid = user[2:] if user.startswith("d_") else None
        with lock:
            known = devices.get(uuid)
        if known is None or pw != known:
            return self.reply(401, b"Unauthorized")
        t = "tok-%s-%d" % (uuid[:8], len(tokens) + 1)
        with lock:
            tokens[t] = uuid
        self.reply(200, json.dumps({"token": t}).encode(), {"Content-Type": "application/json"})

    def delta(self):
        # the names come as they are, not URL-encoded (the supervisor's way)
        q = dict(p.split("=", 1) for p in urllib.parse.urlparse(self.path).query.split("&")
                 if "=" in p)
        with lock:
            ok = self.bearer() in tokens
            d = deltas.get((q.get("src"), q.get("dest")))
        if not ok:
            return self.reply(401, b"Unauthorized")
        if d is None:
            return self.reply(400, b'{"error": "no such delta"}')
        h = {"Location": d["location"]} if d.get("location") else {}
        body = json.dumps(d["body"]).encode() if d.get("body") is not None else b""
        if body:
            h["Content-Type"] = "application/json"
        self.reply(int(d["status"]), body, h)

    def chunks(self):
        """The request body as it comes: chunked, or Content-Length."""
        if (self.headers.get("Transfer-Encoding") or "").lower() != "chunked":
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                yield self.rfile.read(n)
            return
        while True:
            line = self.rfile.readline(1024)
            if not line.endswith(b"\n"):
                raise EOFError("cut in a chunk size")
            n = int(line.split(b";")[0].strip(), 16)
            if n == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return
            data = self.rfile.read(n)
            if len(data) != n or self.rfile.readline(4) not in (b"\r\n", b"\n"):
                raise EOFError("cut in a chunk")
            yield data

    def log_stream(self, uuid):
        with lock:
            known = devices.get(uuid)
        if known is None or self.bearer() != known:
            self.close_connection = True
            return self.reply(401, b"Unauthorized")
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/x-ndjson":
            self.close_connection = True
            return self.reply(415, b"Unsupported Media Type")
        gz = "gzip" in (self.headers.get("Content-Encoding") or "")
        dec = zlib.decompressobj(16 + zlib.MAX_WBITS) if gz else None
        with lock:
            st = logstreams.setdefault(uuid, {"opened": 0, "ended": 0, "cut": 0})
            st["opened"] += 1
        pending = b""
        try:
            for data in self.chunks():
                pending += dec.decompress(data) if dec else data
                cut = pending.rfind(b"\n")
                if cut < 0:
                    continue
                whole, pending = pending[:cut + 1], pending[cut + 1:]
                now = time.time()
                if keep_logs["on"]:
                    recs = [json.loads(l) for l in whole.split(b"\n") if l.strip()]
                    apps = [r for r in recs if not r.get("isSystem")]
                    n, last = len(apps), apps[-1] if apps else None
                else:  # counting only (benchmarks): bytes counted, the last line parsed
                    recs = []
                    n = whole.count(b"\n") - whole.count(b'"isSystem":true')
                    last = json.loads(whole[whole.rfind(b"\n", 0, cut) + 1:]) if n else None
                    if last is not None and last.get("isSystem"):
                        last = None
                with lock:
                    if keep_logs["on"]:
                        logs.setdefault(uuid, []).extend(recs)
                    if n:  # the containers' lines (system messages aside)
                        ls = logstats.setdefault(uuid, {"n": 0, "first_at": now})
                        ls["n"] += n
                        ls["last_at"] = now
                        if last is not None:
                            ls["last"] = last.get("message")
        except (EOFError, OSError, ValueError, zlib.error) as e:
            with lock:
                st["cut"] += 1
            log_request("POST /device/v2/%s/log-stream cut (%s)" % (uuid, e))
            self.close_connection = True
            return
        with lock:
            st["ended"] += 1
        self.close_connection = True
        self.reply(201)

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
        parts = self.path.split("?")[0].split("/")
        if len(parts) == 5 and parts[1:3] == ["device", "v2"] and parts[4] == "log-stream":
            if self.fault():
                return
            return self.log_stream(parts[3])
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
                # ETags of a new double never repeat an old one's
                targets[parts[2]] = ((old[0] + 1) if old else int(time.time() * 1000), body)
            return self.out(200, {"etag": targets[parts[2]][0]})
        self.out(404)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        u = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        parts = u.path.split("/")
        with lock:
            if len(parts) == 3 and parts[1] == "device":
                devices[parts[2]] = q.get("key")
                ids[parts[2]] = 1000 + len(devices)
            elif u.path == "/fault":
                faults.extend([[q["kind"], q.get("method")]
                               for _ in range(int(q.get("count", "1")))])
            elif u.path == "/provisioning":
                provisioning["key"] = q.get("key")
            elif u.path == "/keeplogs":  # and the counts start again
                keep_logs["on"] = q.get("on", "1") == "1"
                logstats.clear()
            elif u.path == "/delta":
                d = json.loads(raw)
                deltas[(d["src"], d["dest"])] = d
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
            if self.path == "/timeline":
                return self.out(200, list(zip(request_times, requests)))
            if self.path == "/registered":
                return self.out(200, registered)
            if len(parts) == 3 and parts[1] == "logs":
                return self.out(200, logs.get(parts[2], []))
            if len(parts) == 3 and parts[1] == "logstats":
                return self.out(200, logstats.get(parts[2], {"n": 0}))
            if len(parts) == 3 and parts[1] == "logstreams":
                return self.out(200, logstreams.get(parts[2], {"opened": 0, "ended": 0, "cut": 0}))
            if self.path == "/tokens":
                return self.out(200, list(tokens))
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
