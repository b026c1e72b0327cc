"""Issue #13: two brokers over one PostgreSQL store (daemon/bd_pgstore.c, docs/STORE.md
"PostgreSQL"), on a private cluster this test starts and stops (tests/bn_pg.py).

  1. The same idempotency key submitted to both brokers at the same moment, 20 times: each time
     both answers name one job, and the database holds one row per key.
  2. A batch of 300 keyed jobs, submitted to the two brokers in turn, while brokers are killed -9
     six times (and started again, as a new broker) and PostgreSQL is restarted once (an
     immediate shutdown: a crash, then WAL replay). The client resubmits a job whose answer a
     kill swallowed, or that got 503, to the other broker with the same key. At the end every
     acknowledged job is in the store once and done; its webhook delivery was written once
     (one outbox row per job: the announcement is made once) and reached the receiver; the
     jobs of killed brokers were taken over by the others (leases reclaimed).
  3. A long-poll at one broker for a job another broker runs is answered when it ends (LISTEN/
     NOTIFY), and a cancel at one broker ends a job the other runs.
  4. A portal's view, through the CLI with both endpoints (`beian -e A,B`) and workers serving
     both brokers (`--connect A,B`): broker A is killed -9 while it runs a job; the result of
     that job is asked for at A,B — B answers once it has taken the job over — and new
     submissions go through B meanwhile. A selfie (face data, PIPL) leaves the database when its
     job ends, the document stays until retention.
The test workers (tests/tw_worker) sleep in each stage (SLOW:<ms>), so kills land on jobs in
flight."""
import hashlib
import http.server
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import bn_pg  # noqa: E402
from beian_it import BIN, MdpClient, Stack, _procs, check, fail, require_binaries, wait_for  # noqa: E402

require_binaries("beiand", "beian", "tw_worker")
bn_pg.require_postgres()
N_JOBS = 300
N_KILLS = 6
STAGE_MS = 20
LEASE_MS = 2000   # store.broker_lease_ms: a killed broker's jobs move after this
seed = int(os.environ.get("BEIAN_FAULT_SEED", str(int(time.time()))))
rnd = random.Random(seed)
print("seed %d" % seed)

# --- a webhook receiver: counts deliveries per job ------------------------------------------
deliveries = {}
lock = threading.Lock()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with lock:
            deliveries[body["job"]] = deliveries.get(body["job"], 0) + 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=httpd.serve_forever, daemon=True).start()

with bn_pg.PgCluster() as pg:
    tmp = tempfile.mkdtemp(prefix="beian-pgb-")
    cfg = os.path.join(tmp, "beian.json")
    with open(cfg, "w") as f:
        json.dump({"store": {"key_file": os.path.join(tmp, "beian.key"), "broker_lease_ms": LEASE_MS},
                   "webhooks": {"tenants": {"default": {"url": "http://127.0.0.1:%d/hook" % httpd.server_port,
                                                        "secret": "s" * 32}},
                                "backoff_ms": 200, "max_backoff_ms": 1000}}, f)
    extra = ["--store", pg.url, "-C", cfg, "--pub", "none"]
    brokers = [Stack(heartbeat=200, lease=5000, extra=extra), Stack(heartbeat=200, lease=5000, extra=extra)]
    for b in brokers:
        for _ in range(2):
            b.worker("beian.quality")
            b.worker("beian.ocr")

    def doc(tag):
        return b"SLOW:%d %s %s" % (STAGE_MS, tag.encode(), os.urandom(6).hex().encode())

    def metrics(b):
        r = MdpClient(b.ep).call("beian.metrics", [], 5000)
        return dict(line.rsplit(" ", 1) for line in (r[1].decode() if r and r[0] == b"200" else "").split("\n")
                    if line and not line.startswith("#"))

    m = metrics(brokers[0])
    check(m.get("beian_store_up") == "1" and m.get("beian_store_brokers") == "2",
          "metrics: the store is up, two brokers registered (%s, %s)" % (m.get("beian_store_up"),
                                                                      m.get("beian_store_brokers")))

    # --- 1. one key at both brokers at once -----------------------------------------------
    def race(key, answers, i, barrier):
        c = MdpClient(brokers[i].ep)
        barrier.wait()
        answers[i] = c.submit([("id-card", "front", doc(key))], options={"key": key}, timeout=10000)

    same = 0
    for r in range(20):
        key = "race-%02d" % r
        answers, barrier = [None, None], threading.Barrier(2)
        ts = [threading.Thread(target=race, args=(key, answers, i, barrier)) for i in (0, 1)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        ok = all(a and a[0] == "200" for a in answers) and answers[0][1]["job"] == answers[1][1]["job"]
        same += ok
        if not ok:
            print("race %s: %s" % (key, answers))
    check(same == 20, "the same key at both brokers at once: one job each time (%d/20)" % same)
    rows = pg.psql("SELECT count(*), count(DISTINCT key) FROM jobs WHERE key LIKE 'race-%'").strip()
    check(rows == "20|20", "one row per raced key in the store (%s)" % rows)

    # --- 2. the batch, with broker kills and a PostgreSQL restart ---------------------------
    acked = {}            # key -> job id
    refused = {"503": 0, "timeout": 0}
    progress = threading.Event()

    def submitter():
        clients = [MdpClient(b.ep) for b in brokers]
        for i in range(N_JOBS):
            key = "batch-%03d" % i
            data, which, tries = doc(key), i % 2, 0
            while True:
                tries += 1
                if tries > 200:
                    fail("job %s never acknowledged" % key)
                st, body = clients[which].submit([("id-card", "front", data)], options={"key": key}, timeout=3000)
                if st == "200":
                    if key in acked and acked[key] != body["job"]:
                        fail("key %s acknowledged as two jobs" % key)
                    acked[key] = body["job"]
                    break
                refused["timeout" if st is None else st] = refused.get("timeout" if st is None else st, 0) + 1
                if st is None:  # the broker may be dead: a fresh socket to the other one
                    clients[which] = MdpClient(brokers[which].ep)
                which = 1 - which
                time.sleep(0.05)
            progress.set()

    th = threading.Thread(target=submitter)
    t0 = time.time()
    th.start()
    kills, pg_restarted, pg_at = 0, False, 0.0
    points = sorted(rnd.sample(range(20, N_JOBS - 20), N_KILLS))
    pg_point = N_JOBS // 2

    def reconnect_seen():  # after the restart no broker is killed before one has reconnected (5 s at most)
        return not pg_restarted or time.time() - pg_at > 5 or \
            any("connection back" in b.logtext() for b in brokers)

    # kills left when the batch is all in land on the jobs still running
    while th.is_alive() or kills < N_KILLS or not pg_restarted:
        n = len(acked)
        if kills < N_KILLS and (n >= points[kills] or not th.is_alive()) and reconnect_seen():
            b = brokers[kills % 2]
            b.kill_broker()
            time.sleep(rnd.uniform(0.1, 0.6))
            b.start_broker()
            kills += 1
        elif not pg_restarted and n >= pg_point:
            pg.restart()
            pg_restarted, pg_at = True, time.time()
        time.sleep(0.02)
    th.join()
    print("acknowledged %d jobs in %.1f s; refusals %s" % (len(acked), time.time() - t0, refused))
    check(len(acked) == N_JOBS and kills == N_KILLS and pg_restarted,
          "all %d submissions acknowledged through %d broker kills and a PostgreSQL restart" % (N_JOBS, kills))

    def open_jobs():
        return int(pg.psql("SELECT count(*) FROM jobs WHERE status IN ('queued','running')").strip() or -1)

    wait_for(lambda: open_jobs() == 0, timeout=90, step=0.5)
    check(open_jobs() == 0, "every job ended (none left queued or running)")
    rows = pg.psql("SELECT key, id, status FROM jobs WHERE key LIKE 'batch-%'")
    stored = {k: (i, s) for k, i, s in (line.split("|") for line in rows.split("\n") if line)}
    check(len(stored) == N_JOBS, "one row per key: %d rows for %d keys" % (len(stored), N_JOBS))
    lost = [k for k, j in acked.items() if stored.get(k, ("", ""))[0] != j]
    check(not lost, "every acknowledged job is in the store under its id (lost: %d)" % len(lost))
    notdone = sorted({s for _, s in stored.values()} - {"done"})
    check(not notdone, "every job done (other states: %s)" % notdone)
    # one announcement per job: the outbox row is written in the transaction that ends the job,
    # by its owner only (a broker that lost the job to another writes nothing)
    dup = pg.psql("SELECT job FROM outbox GROUP BY job HAVING count(*) > 1").strip()
    n_out = int(pg.psql("SELECT count(*) FROM outbox").strip())
    check(not dup and n_out == N_JOBS + 20, "one webhook delivery written per job (%d rows, %d twice)"
          % (n_out, len(dup.split()) if dup else 0))
    wait_for(lambda: len(deliveries) >= N_JOBS + 20, timeout=60, step=0.5)
    with lock:
        missing = [j for j in acked.values() if j not in deliveries]
    check(not missing, "the receiver heard of every job (%d missing, %d redelivered after a kill)"
          % (len(missing), sum(1 for v in deliveries.values() if v > 1)))
    logs = brokers[0].logtext() + brokers[1].logtext()
    check("taking over its jobs" in logs and "took over" in logs,
          "a killed broker's unfinished jobs were taken over by another (leases reclaimed)")
    check("connection back" in logs, "the brokers reconnected after the PostgreSQL restart")
    # results readable at either broker (sealed rows, content-addressed blobs in the database)
    c = [MdpClient(b.ep) for b in brokers]
    bad = 0
    for i, (k, j) in enumerate(sorted(acked.items())[:40]):
        st, body = c[i % 2].result(j, wait=False)
        bad += not (st == "200" and body.get("status") == "done")
    check(bad == 0, "results served by both brokers, whichever ran the job (%d bad of 40)" % bad)

    # --- 3. across brokers: a long-poll, and a cancel ---------------------------------------
    st, body = c[0].submit([("id-card", "front", b"SLOW:800 across")], options={"key": "across"})
    check(st == "200", "a slow job at broker A")
    t1 = time.time()
    st, res = c[1].result(body["job"], wait=True, timeout=15000)
    check(st == "200" and res.get("status") == "done",
          "a long-poll at broker B is answered when A's job ends (%.1f s)" % (time.time() - t1))
    for b in brokers:  # no workers: the next job waits at its broker
        for w in b.workers:
            w.kill()
            w.wait()
    st, body = c[0].submit([("id-card", "front", doc("cancel"))], options={"key": "cancel"})
    st, res = c[1].call("beian.cancel", [body["job"]]), None
    check(st and st[0] == b"200", "a cancel at broker B of a job A holds")
    row = pg.psql("SELECT status FROM jobs WHERE id = '%s'" % body["job"]).strip()
    check(row == "cancelled", "the job is cancelled in the store (%s)" % row)
    ok = wait_for(lambda: "cancelled at another broker" in brokers[0].logtext(), timeout=5)
    check(ok, "broker A dropped the job at once")

    # --- 4. a portal with both endpoints, and broker A killed mid-job -----------------------
    both = "%s,%s" % (brokers[0].ep, brokers[1].ep)
    for s in ("beian.quality", "beian.ocr", "beian.face"):
        w = subprocess.Popen([os.path.join(BIN, "tw_worker"), "--connect", both, "--service", s, "--heartbeat", "200",
                              "--no-supervise"], stdout=brokers[1].log, stderr=brokers[1].log)
        _procs.append(w)
        brokers[1].workers.append(w)
    img = os.path.join(tmp, "slow.jpg")

    def cli(*args):
        r = subprocess.run([os.path.join(BIN, "beian"), "-e", both, "-t", "30"] + list(args), capture_output=True,
                           timeout=120, env={k: v for k, v in os.environ.items() if k != "BEIAN_ENDPOINT"})
        return r.returncode, r.stdout.decode(errors="replace")

    open(img, "wb").write(b"SLOW:1500 portal job")
    rc, out = cli("submit", "--doc", "id-card=" + img, "--json")
    job = json.loads(out)["job"] if rc == 0 else fail("submit through A,B: %s" % out)
    row = pg.psql("SELECT owner IS NOT NULL FROM jobs WHERE id = '%s'" % job).strip()
    check(row == "t", "a job at A (the list's first endpoint), running")
    time.sleep(0.5)  # its first stage is under way at A
    brokers[0].kill_broker()
    t1 = time.time()
    open(img, "wb").write(b"SLOW:10 while A is down")
    rc, out = cli("submit", "--doc", "id-card=" + img, "--json")
    check(rc == 0 and json.loads(out).get("job"), "with A dead, a submission through A,B is acknowledged by B "
          "(%.2f s)" % (time.time() - t1))
    rc, out = cli("result", job, "--wait")
    res = json.loads(out) if rc == 0 else {}
    check(res.get("status") == "done", "the result of A's job, asked at A,B, comes from B once it took the job over "
          "(%.1f s after the kill; lease %d ms)" % (time.time() - t1, LEASE_MS))
    rows = pg.psql("SELECT count(*) FROM outbox WHERE job = '%s'" % job).strip()
    check(rows == "1", "and it ended once (%s webhook delivery rows)" % rows)
    card, face = b"SLOW:10 card with a selfie " + os.urandom(8), b"selfie " + os.urandom(16)
    st, body = MdpClient(brokers[1].ep).submit([("id-card", "front", card)], selfie=face)
    st, res = MdpClient(brokers[1].ep).result(body["job"], wait=True, timeout=15000)
    held = pg.psql("SELECT sha FROM blobs WHERE sha IN ('%s', '%s')" % (hashlib.sha256(card).hexdigest(),
                                                                     hashlib.sha256(face).hexdigest())).split()
    check(res.get("status") == "done" and held == [hashlib.sha256(card).hexdigest()],
          "the selfie is deleted from the database when its job ends; the document stays (%d of 2 kept)" % len(held))
    # Stopped in order (SIGTERM): under the sanitizer build a report of any process is in a log.
    for b in brokers:
        for p in b.workers + [b.broker]:
            if p.poll() is None:
                p.terminate()
                p.wait(20)
    logs = brokers[0].logtext() + brokers[1].logtext()
    check("Sanitizer" not in logs and "runtime error:" not in logs,
          "no AddressSanitizer, LeakSanitizer or UBSan report from the brokers or workers")
    for b in brokers:
        b.close()
print("it_pg_brokers: ok")
