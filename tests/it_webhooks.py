"""Signed webhooks from the outbox (docs/WEBHOOKS.md): a receiver written with the standard
library that is down while jobs finish — and while the broker is killed and restarted — still
gets every finished job once it is up, signed (HMAC-SHA256 over timestamp.body), in the tenant's
order; a receiver that never answers ends `failed` after webhooks.retry_for_ms, and `beian
webhooks` shows both."""
import hashlib
import hmac
import http.server
import json
import os
import subprocess
import sys
import threading
import time

import jsonschema
import yaml

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import BIN, SRC, MdpClient, Stack, check, free_port, require_binaries, wait_for  # noqa: E402

require_binaries("beiand", "beian", "tw_worker")
SECRET = "whsec-0123456789abcdef"
api = yaml.safe_load(open(os.path.join(SRC, "docs", "openapi.yaml")))  # its webhooks section
resolver = jsonschema.RefResolver.from_schema(api)
port, dead = free_port(), free_port()
received = []  # (headers, body) as they arrive
answers = [500]  # the receiver's first answer is an error: that is retried too


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        code = answers.pop(0) if answers else 200
        if code == 200:
            received.append((dict(self.headers), body))
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def webhooks(st, *args):
    r = subprocess.run([os.path.join(BIN, "beian"), "-e", st.ep, "webhooks", "--json"] + list(args),
                       capture_output=True, timeout=30)
    check(r.returncode == 0, "beian webhooks %s: rc %d %s" % (" ".join(args), r.returncode, r.stderr.decode()[-200:]))
    return json.loads(r.stdout)["deliveries"]


st = Stack(heartbeat=300)
server = None
try:
    cfg = os.path.join(st.dir, "beian.json")
    json.dump({"webhooks": {"backoff_ms": 200, "max_backoff_ms": 800, "retry_for_ms": 6000, "timeout_ms": 2000,
                            "tenants": {"acme": {"url": "http://127.0.0.1:%d/hook" % port, "secret": SECRET},
                                        "beta": {"url": "http://127.0.0.1:%d/" % dead, "secret": SECRET}}}},
              open(cfg, "w"))
    st.kill_broker()
    st.args += ["--config", cfg]
    st.start_broker()
    st.all_workers()
    cl = MdpClient(st.ep)
    jobs = []
    for i in range(3):
        s, a = cl.submit([("id-card", "front", b"card-%d" % i)], options={"tenant": "acme"})
        check(s == "200", "acme job %d submitted" % i)
        jobs.append(a["job"])
        s, r = cl.result(a["job"])
        check(s == "200" and r["status"] == "done", "acme job %d done" % i)
    s, b = cl.submit([("id-card", "front", b"beta")], options={"tenant": "beta"})
    beta_job = b["job"]
    s, b = cl.submit([("id-card", "front", b"nohook")], options={"tenant": "gamma"})
    gamma_job = b["job"]
    cl.result(beta_job)
    cl.result(gamma_job)
    check(wait_for(lambda: any(d["attempts"] >= 2 for d in webhooks(st, "--tenant", "acme")), 10),
          "the receiver is down: acme's first delivery is being retried")
    pend = webhooks(st, "--state", "pending")
    first = min((d for d in pend if d["tenant"] == "acme"), key=lambda d: d["delivery"])
    check(sorted(d["job"] for d in pend if d["tenant"] == "acme") == sorted(jobs) and first["job"] == jobs[0]
          and "connect" in first["last_error"], "all three acme deliveries pending; the first with its last error")
    check(all(d["attempts"] == 0 for d in pend if d["tenant"] == "acme" and d is not first),
          "the later ones wait behind it (one at a time per tenant, in order)")
    check(not any(d["job"] == gamma_job for d in webhooks(st)), "a tenant without a webhook gets no delivery")

    # The broker dies while the receiver is down: the outbox is in the store.
    st.kill_broker()
    st.start_broker()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    check(wait_for(lambda: len(received) >= 3, 15), "after the restart the receiver, now up, gets every job")
    got = []
    for h, body in received:
        ts, sig = h["Beian-Timestamp"], h["Beian-Signature"]
        want = "sha256=" + hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        check(hmac.compare_digest(sig, want) and abs(time.time() - int(ts)) < 60,
              "delivery %s: the signature verifies, the timestamp is fresh" % h["Beian-Delivery"])
        ev = json.loads(body)
        hook = api["webhooks"]["jobFinished"]["post"]
        jsonschema.Draft202012Validator(hook["requestBody"]["content"]["application/json"]["schema"],
                                        resolver=resolver).validate(ev)
        for prm in hook["parameters"]:
            jsonschema.Draft202012Validator(prm["schema"]).validate(h[prm["name"]])
        check(ev["tenant"] == "acme" and ev["status"] == "done",
              "the body (as docs/openapi.yaml's webhook) names the job, its tenant and outcome")
        got.append((int(h["Beian-Delivery"]), ev["job"]))
    check([j for _, j in got[:3]] == jobs and [d for d, _ in got] == sorted(d for d, _ in got),
          "delivered in the order the jobs finished")
    check(wait_for(lambda: all(d["state"] == "delivered" for d in webhooks(st, "--tenant", "acme")), 5),
          "beian webhooks: acme's deliveries are delivered")
    acme = sorted(webhooks(st, "--tenant", "acme"), key=lambda d: d["delivery"])
    check(acme[0]["attempts"] >= 3 and all("done_ms" in d for d in acme),
          "the first took its refused attempts, the 500 and the success (%d)" % acme[0]["attempts"])

    # beta's receiver never answers: failed once retry_for_ms has passed
    check(wait_for(lambda: [d["job"] for d in webhooks(st, "--failed")] == [beta_job], 15),
          "a receiver that never answers: the delivery ends failed after webhooks.retry_for_ms")
    r = subprocess.run([os.path.join(BIN, "beian"), "-e", st.ep, "webhooks", "--failed"], capture_output=True, timeout=30)
    check(b"failed" in r.stderr and b"connect" in r.stderr, "beian webhooks shows the failure and its last error")
    r = subprocess.run([os.path.join(BIN, "beian"), "-e", st.ep, "webhooks", "--state", "bogus"], capture_output=True)
    check(r.returncode == 1 and b"bad_request" in r.stderr, "an unknown state: bad_request, exit 1")
    n = len(received)
    time.sleep(1.5)
    check(len(received) == n, "nothing is delivered twice once acknowledged")
    check(SECRET not in st.logtext(), "the secret is not logged")

    # Retention takes settled deliveries with the jobs (--retention-hours 0.0003: about 1 s)
    st.kill_broker()
    st.args += ["--retention-hours", "0.0003"]
    st.start_broker()
    check(wait_for(lambda: webhooks(st) == [], 10), "settled deliveries are deleted with their jobs (retention)")

    # Webhooks need the durable store; a memory store answers the outbox and list calls 501
    st.kill_broker()
    r = subprocess.run([os.path.join(BIN, "beiand")] + st.args + ["--store", "memory"], capture_output=True, timeout=30)
    check(r.returncode != 0 and b"durable store" in r.stderr, "webhooks with --store memory: refused at start")
    mem = Stack(durable=False)
    try:
        mc = MdpClient(mem.ep)
        for svc in ("beian.webhooks", "beian.list"):
            r = mc.call(svc, ["{}"])
            check(r and r[0] == b"501" and json.loads(r[1])["error"]["code"] == "not_implemented",
                  "%s on a memory store: 501 not_implemented" % svc)
    finally:
        mem.close()

    # A bad webhook configuration stops the start
    json.dump({"webhooks": {"tenants": {"acme": {"url": "https://example.com/", "secret": SECRET}}}}, open(cfg, "w"))
    st.kill_broker()
    r = subprocess.run([os.path.join(BIN, "beiand")] + st.args, capture_output=True, timeout=30)
    check(r.returncode != 0 and b"webhooks.tenants.acme.url" in r.stderr, "an https URL is refused at start, named")
finally:
    if server:
        server.shutdown()
    st.close()
print("webhook checks passed")
