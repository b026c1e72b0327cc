"""Issue #14, done when: "a portal written with nothing but an HTTP client submits, polls, receives
a signed webhook, and verifies the signature; a webhook receiver that is down for a minute still
gets every result, once the outbox retries." The portal here is the standard library only: urllib
against beian-gateway, http.server for its webhook endpoint, hmac to check the signature. Its
receiver is down for a full minute (61 s) while both its applications finish; it then gets each
result once, signed, in order, with the status and verdict the gateway reports."""
import hashlib
import hmac
import http.server
import json
import os
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import (Stack, check, free_port, gateway_token, multipart, require_binaries,  # noqa: E402
                      start_gateway, wait_for)

require_binaries("beiand", "beian-gateway", "tw_worker")
SECRET = "whsec-portal-0123456789"
DOWN_S = 61
received = []  # (headers, body)


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        received.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def call(base, token, method, path, data=None, ctype=None):
    h = {"Authorization": "Bearer " + token}
    if ctype:
        h["Content-Type"] = ctype
    with urllib.request.urlopen(urllib.request.Request(base + path, data=data, method=method, headers=h), timeout=30) as r:
        return r.status, json.loads(r.read())


hook_port = free_port()
st = Stack(heartbeat=300)
server = None
try:
    cfg = os.path.join(st.dir, "beian.json")
    # retries every 1-4 s for 3 minutes: a minute's outage is well inside it
    json.dump({"webhooks": {"backoff_ms": 1000, "max_backoff_ms": 4000, "retry_for_ms": 180000, "timeout_ms": 2000,
                            "tenants": {"portal": {"url": "http://127.0.0.1:%d/beian" % hook_port, "secret": SECRET}}}},
              open(cfg, "w"))
    st.kill_broker()
    st.args += ["--config", cfg]
    st.start_broker()
    st.all_workers()
    tokens = os.path.join(st.dir, "gateway.tokens")
    token = gateway_token(tokens, "portal")
    gw, base = start_gateway(st, tokens, cfg)

    # submit two applications and poll them to the end, over HTTP only; the receiver is down
    down_since = time.time()
    jobs = []
    for i in range(2):
        body, ctype = multipart([("id-card:front", b"portal-card-%d" % i), ("form", b'{"name": "X"}')])
        s, b = call(base, token, "POST", "/v1/applications", body, ctype)
        check(s == 202 and b.get("job"), "POST /v1/applications %d: %d" % (i, s))
        jobs.append(b["job"])
    done = {}
    for j in jobs:
        check(wait_for(lambda: call(base, token, "GET", "/v1/applications/" + j)[1]["status"] == "done", 30),
              "GET /v1/applications/%s: done" % j)
        done[j] = call(base, token, "GET", "/v1/applications/" + j)[1]
    check(received == [], "the receiver is down: nothing delivered yet")

    # a minute later the receiver comes up
    time.sleep(max(0, DOWN_S - (time.time() - down_since)))
    server = http.server.HTTPServer(("127.0.0.1", hook_port), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    check(wait_for(lambda: len(received) >= 2, 30), "after %d s down, both results arrive (%d)" % (DOWN_S, len(received)))
    time.sleep(2)  # nothing more comes: each result once
    check(len(received) == 2, "each result delivered once (%d deliveries)" % len(received))
    for (h, body), j in zip(received, jobs):
        ts, sig = h["Beian-Timestamp"], h["Beian-Signature"]
        want = "sha256=" + hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        check(hmac.compare_digest(sig, want), "the signature verifies (HMAC-SHA256 over timestamp.body)")
        check(hmac.compare_digest(sig, "sha256=" + hmac.new(b"wrong", ts.encode() + b"." + body,
                                                             hashlib.sha256).hexdigest()) is False,
              "and would not under another secret")
        ev = json.loads(body)
        got = json.dumps(ev, sort_keys=True)
        check(j in got and done[j]["status"] in got, "delivery for %s, in submission order, with its status" % j)
    print("portal checks passed (receiver down %d s)" % DOWN_S)
finally:
    if server:
        server.shutdown()
    st.close()
