"""Tenant isolation over CURVE (issue #11): each allowed client key is bound to a tenant (the
certificate's "tenant" metadata, `beian keygen --tenant`), and everything a client does is scoped
to it — submit, idempotency keys, status, result, cancel, blob, Titanic and PUB announcements.
A client never sees another tenant's job (the answer is the one for a job that does not exist)
and naming another tenant is refused with tenant_mismatch. Plain local ipc keeps naming tenants
freely (dev mode)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import zmq
import zmq.auth

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import BIN, MdpClient, Stack, _procs, check, free_port, keygen, require_binaries  # noqa: E402

require_binaries("beiand", "beian", "tw_worker")
beian = os.path.join(BIN, "beian")


keys = tempfile.mkdtemp(prefix="beian-tenant-")
allow = os.path.join(keys, "allow")
os.mkdir(allow)
pub = {}
# alice and alice2's tenants are one a prefix of the other: PUB matches topics by prefix.
for name, args in [("broker", []), ("worker", ["--services", "beian.quality,beian.ocr,beian.face"]),
                   ("alice", ["--tenant", "acme"]), ("alice2", ["--tenant", "acme2"]),
                   ("bob", ["--tenant", "beta"]), ("carol", [])]:
    pub[name] = keygen(keys, name, *args)
    if name != "broker":
        shutil.copy(os.path.join(keys, name + ".key"), allow)
check("tenant" in open(os.path.join(keys, "alice.key")).read(), "keygen --tenant writes the tenant into the certificate")
r = subprocess.run([beian, "keygen", "x", "--dir", keys, "--tenant", "a b"], capture_output=True)
check(r.returncode == 1 and b"--tenant" in r.stderr, "keygen refuses a tenant outside A-Z a-z 0-9 . _ -")

ctx = zmq.Context.instance()
broker_pub, _ = zmq.auth.load_certificate(os.path.join(keys, "broker.key_secret"))


class CurveClient(MdpClient):
    def __init__(self, endpoint, name):
        self.name = name
        MdpClient.__init__(self, endpoint, ctx)

    def connect(self):
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        p, s = zmq.auth.load_certificate(os.path.join(keys, self.name + ".key_secret"))
        self.sock.curve_publickey, self.sock.curve_secretkey, self.sock.curve_serverkey = p, s, broker_pub
        self.sock.connect(self.endpoint)


def error_of(r):
    """(status, error code or None) of a reply, (None, None) when there was none."""
    if not r:
        return None, None
    body = json.loads(r[1]) if len(r) > 1 and r[1][:1] == b"{" else {}
    return r[0].decode(), (body.get("error") or {}).get("code")


port, pport = free_port(), free_port()
ep, pep = "tcp://127.0.0.1:%d" % port, "tcp://127.0.0.1:%d" % pport
st = Stack(heartbeat=300, extra=["--bind", ep, "--curve-cert", os.path.join(keys, "broker.key_secret"),
                                 "--allow", allow, "--bind", "ipc://{dir}/beiand.sock", "--pub", pep])
try:
    for s in ("beian.quality", "beian.ocr", "beian.face"):
        p = subprocess.Popen([os.path.join(BIN, "tw_worker"), "--connect", ep, "--service", s, "--server-key",
                              pub["broker"], "--cert", os.path.join(keys, "worker.key_secret"), "--heartbeat", "300",
                              "--no-supervise"], stdout=st.log, stderr=st.log)
        _procs.append(p)
        st.workers.append(p)

    # Subscribers: alice asks for everything, bob for alice's tenant, alice2 for hers.
    subs = {}
    for name, topic in [("alice", b""), ("bob", b"acme"), ("alice2", b"acme2")]:
        sub = ctx.socket(zmq.SUB)
        p, s = zmq.auth.load_certificate(os.path.join(keys, name + ".key_secret"))
        sub.curve_publickey, sub.curve_secretkey, sub.curve_serverkey = p, s, broker_pub
        sub.setsockopt(zmq.SUBSCRIBE, topic)
        sub.connect(pep)
        subs[name] = sub
    time.sleep(1.0)  # let the subscriptions reach the broker (PUB drops what nobody has asked for yet)

    alice, alice2, bob, carol = (CurveClient(ep, n) for n in ("alice", "alice2", "bob", "carol"))
    doc = [("id-card", "front", b"card")]
    s, a = alice.submit(doc, options={"tenant": "acme", "key": "app-0042"})
    check(s == "200" and a["duplicate"] is False, "alice (tenant acme) submits with key app-0042")
    job_a = a["job"]
    s, res = alice.result(job_a)
    check(s == "200" and res["status"] == "done", "alice reads her result")

    # Naming another tenant: refused, never answered with that tenant's job.
    s, b = bob.submit(doc, options={"tenant": "acme", "key": "app-0042"})
    check(s == "400" and b["error"]["code"] == "tenant_mismatch" and "job" not in b,
          "bob (tenant beta) naming tenant acme gets 400 tenant_mismatch, not alice's job (%s %s)" % (s, b))
    s, b = carol.submit(doc, options={"tenant": "acme"})
    check(s == "400" and b["error"]["code"] == "tenant_mismatch",
          "a key without a tenant is bound to 'default': naming acme is tenant_mismatch")
    s, b = alice.submit(doc, options={"tenant": 5})
    check(s == "400" and b["error"]["code"] == "tenant_mismatch", "a tenant of another type is a mismatch too")

    # Another tenant's job answers exactly like a job that does not exist.
    unknown = "0123456789abcdef0123456789abcdef"
    for svc in ("beian.status", "beian.result", "beian.cancel"):
        mine = error_of(bob.call(svc, [job_a]))
        none = error_of(bob.call(svc, [unknown]))
        check(mine == none == ("404", "unknown_job"), "bob's %s of alice's job: %s, as for an unknown job" % (svc, mine))
    sha = res["documents"][0]["blobs"]["prepared"]["sha256"]
    r = bob.call("beian.blob", [job_a, sha])
    check(error_of(r) == ("404", "unknown_job"), "bob cannot fetch alice's images (%s)" % (error_of(r),))
    r = alice.call("beian.blob", [job_a, sha])
    check(r and r[0] == b"200" and r[1] == b"card", "alice fetches her own image")
    # The scope frame (docs/PROTOCOL.md) narrows, never widens: bob naming alice's tenant still
    # finds nothing; alice naming another tenant neither.
    check(error_of(bob.call("beian.status", [job_a, "tenant=acme"])) == ("404", "unknown_job"),
          "bob's scope frame tenant=acme does not open alice's job")
    check(error_of(alice.call("beian.status", [job_a, "tenant=beta"])) == ("404", "unknown_job"),
          "alice scoped to another tenant does not find her own job")
    r = alice.call("beian.status", [job_a, "tenant=acme"])
    check(r and r[0] == b"200", "alice scoped to her own tenant finds it")
    # beian.list: the certificate's tenant; naming another is tenant_mismatch
    r = alice.call("beian.list", ["{}"])
    check(r and r[0] == b"200" and [j["job"] for j in json.loads(r[1])["jobs"]] == [job_a], "alice lists her job")
    r = bob.call("beian.list", ["{}"])
    check(r and r[0] == b"200" and json.loads(r[1])["jobs"] == [], "bob lists none of alice's")
    check(error_of(bob.call("beian.list", ['{"tenant": "acme"}'])) == ("400", "tenant_mismatch"),
          "bob listing tenant acme: 400 tenant_mismatch")
    check(error_of(alice.call("beian.list", ['{"sort": "asc"}'])) == ("400", "bad_request"),
          "an unknown query key: 400 bad_request")
    r = bob.call("titanic.reply", [job_a])
    check(r and r[0] == b"400", "bob's titanic.reply for alice's job: 400 unknown request")
    bob.call("titanic.close", [job_a])
    s, res = alice.result(job_a, wait=False)
    check(s == "200" and res["job"] == job_a, "bob's titanic.close did not delete alice's job")

    # The same idempotency key in two tenants: two jobs; a resubmission within a tenant: the same.
    s, a1 = alice.submit(doc, options={"key": "k-same"})
    s2, b1 = bob.submit(doc, options={"key": "k-same"})
    s3, a2 = alice.submit(doc, options={"key": "k-same"})
    check(s == s2 == s3 == "200" and a1["job"] != b1["job"] and b1["duplicate"] is False,
          "the same key under tenants acme and beta gives two jobs")
    check(a2["job"] == a1["job"] and a2["duplicate"] is True, "alice resubmitting her key gets her job back")

    # Cancel: bob cannot cancel alice's running job; alice can.
    s, slow = alice.submit([("id-card", "front", b"SLOW:1500")])
    r = bob.call("beian.cancel", [slow["job"]])
    check(error_of(r) == ("404", "unknown_job"), "bob cannot cancel alice's running job")
    s, res = alice.result(slow["job"])
    check(s == "200" and res["status"] == "done", "alice's job ran to the end (%s)" % (res or {}).get("status"))
    s, slow2 = alice.submit([("id-card", "front", b"SLOW:3000")])
    r = alice.call("beian.cancel", [slow2["job"]])
    check(r and r[0] == b"200", "alice cancels her own job")

    # A finished alice2 (acme2) job: alice (acme) must not hear of it.
    s, c2 = alice2.submit(doc)
    s, b2 = bob.submit(doc)
    alice2.result(c2["job"])
    bob.result(b1["job"])
    bob.result(b2["job"])

    def heard(name):
        got = []
        while subs[name].poll(1500):
            topic, body = subs[name].recv_multipart()
            got.append((topic, json.loads(body)["job"]))
        return got

    ha, hb, h2 = heard("alice"), heard("bob"), heard("alice2")
    check(ha and all(t == b"acme\0" for t, _ in ha) and job_a in [j for _, j in ha],
          "alice's subscription to everything receives her own announcements only (%d, topics %s)"
          % (len(ha), sorted(set(t for t, _ in ha))))
    check(not hb, "bob's subscription to tenant acme receives nothing (%d announcements)" % len(hb))
    check(h2 and all(t == b"acme2\0" for t, _ in h2) and c2["job"] in [j for _, j in h2],
          "alice2 (acme2) hears her own job, alice (acme) does not hear it")
    check("refused a subscription to another tenant's announcements" in st.logtext(), "the refusal is logged")

    # Without CURVE (local ipc, dev mode) a client still names its tenant.
    local = MdpClient(st.ep)
    s, res = local.result(job_a, wait=False)
    check(s == "200" and res["job"] == job_a, "a local ipc client sees tenant acme's job (no CURVE: no binding)")
    s, b = local.submit(doc, options={"tenant": "acme", "key": "app-0042"})
    check(s == "200" and b["job"] == job_a and b["duplicate"], "and names tenant acme's idempotency key as before")

    # A restart keeps the binding of an unfinished job submitted without options.tenant.
    s, r1 = alice.submit([("id-card", "front", b"SLOW:2000")], options={"key": "k-restart"})
    time.sleep(0.3)
    st.kill_broker()
    st.start_broker()
    time.sleep(0.5)
    for c in (alice, bob, carol):  # the broker forgot the connections: start afresh
        c.sock.close()
        c.connect()
    s, again = alice.submit([("id-card", "front", b"SLOW:2000")], options={"key": "k-restart"})
    check(s == "200" and again["job"] == r1["job"] and again["duplicate"],
          "after a restart alice's resubmission finds her resumed job (%s)" % again)
    check(error_of(carol.call("beian.status", [r1["job"]])) == ("404", "unknown_job"),
          "after a restart the resumed job is still not tenant default's")
    s, res = alice.result(r1["job"])
    check(s == "200" and res["status"] == "done", "the resumed job finishes")
finally:
    st.close()
    shutil.rmtree(keys, ignore_errors=True)
print("all tenant checks passed")
