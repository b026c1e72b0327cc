"""Issue #13: `beiand --migrate-to postgres://…` moves a SQLite store into PostgreSQL
(docs/DEPLOY.md "Moving a SQLite store to PostgreSQL"). A store made by a real broker — finished
jobs of two tenants with idempotency keys and result images, two jobs left queued (no workers),
one cancelled, webhook deliveries pending for a receiver that is down — is migrated, and a broker
on PostgreSQL with its own --dir and the same key file then answers through the CLI as the old
one did: every job with its status and result, the tenants' lists, the result images; the keys
still dedupe; the queued jobs are taken over and finish once workers connect; the pending
deliveries reach the receiver once it is up; a damaged record is copied as it was. Refused: while the broker runs
(migrate_broker_running), into a database that holds jobs (migrate_target_not_empty, nothing
changed), from a directory without a store (migrate_source_missing)."""
import http.server
import json
import os
import signal
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bn_pg  # noqa: E402
from beian_it import BIN, MdpClient, Stack, check, free_port, require_binaries, wait_for  # noqa: E402

require_binaries("beiand", "beian", "tw_worker")
bn_pg.require_postgres()

SECRET = "whsec-migrate-0123456789"
hook_port = free_port()
received = []


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def cli(ep, *args, timeout=60):
    r = subprocess.run([os.path.join(BIN, "beian"), "-e", ep] + list(args), capture_output=True, timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def cli_json(ep, *args):
    rc, out, err = cli(ep, *args)
    if rc not in (0, 3):  # 3: a job that failed or was cancelled
        check(False, "beian %s → rc %d %s" % (" ".join(args), rc, err[-300:]))
    return json.loads(out)


def migrate(state, url, cfg):
    r = subprocess.run([os.path.join(BIN, "beiand"), "--migrate-to", url, "-d", state, "-C", cfg],
                       capture_output=True, timeout=300)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def shas(tree):
    """Every blob a result names: {"sha256": …} anywhere in it."""
    if isinstance(tree, dict):
        return ([tree["sha256"]] if isinstance(tree.get("sha256"), str) else []) + \
            [s for v in tree.values() for s in shas(v)]
    if isinstance(tree, list):
        return [s for v in tree for s in shas(v)]
    return []


def blob(ep, job, sha):
    r = MdpClient(ep).call("beian.blob", [job, sha])
    return r[1] if r and r[0] == b"200" else None


st = Stack(heartbeat=200)
pg_broker = None
try:
    cfg = os.path.join(st.dir, "beian.json")
    hooks = {"backoff_ms": 200, "max_backoff_ms": 400, "retry_for_ms": 600000, "timeout_ms": 1000,
             "tenants": {"acme": {"url": "http://127.0.0.1:%d/hook" % hook_port, "secret": SECRET}}}
    json.dump({"webhooks": hooks}, open(cfg, "w"))
    st.kill_broker()
    st.args += ["--config", cfg]
    st.start_broker()
    st.all_workers()
    c = MdpClient(st.ep)

    # Finished jobs: two tenants, idempotency keys, result images (tw_worker echoes the scan).
    images, done = {}, {}
    for i, tenant in enumerate(["acme", "acme", "beta"]):
        img = b"scan-%d-" % i + os.urandom(3000)
        s, ack = c.submit([("id-card", "front", img)], options={"tenant": tenant, "key": "k%d" % i})
        check(s == "200" and not ack["duplicate"], "job %d of %s submitted with key k%d" % (i, tenant, i))
        s, res = c.result(ack["job"])
        check(s == "200" and res["status"] == "done", "job %d done" % i)
        images[ack["job"]] = img
        done[ack["job"]] = (tenant, "k%d" % i, res)
    check(wait_for(lambda: len(cli_json(st.ep, "webhooks", "--json", "--state", "pending")["deliveries"]) == 2
                   and any(d["attempts"] >= 1 for d in cli_json(st.ep, "webhooks", "--json")["deliveries"])),
          "acme's receiver is down: its two deliveries are pending, the first tried (%s)"
          % cli_json(st.ep, "webhooks", "--json"))

    # No workers: queued jobs; one of them cancelled.
    for w in st.workers:
        w.terminate()
        w.wait()
    st.workers = []
    queued = {}
    for i in range(3):
        s, ack = c.submit([("id-card", "front", b"late-%d" % i)], options={"tenant": "beta", "key": "q%d" % i})
        check(s == "200", "queued job %d submitted while no worker runs" % i)
        queued[ack["job"]] = "q%d" % i
    cancelled = list(queued)[2]
    del queued[cancelled]
    rc, out, err = cli(st.ep, "cancel", cancelled)
    check(rc == 0 and cli_json(st.ep, "status", cancelled)["status"] == "cancelled", "one of them cancelled")
    before = {j: cli_json(st.ep, "status", j) for j in list(done) + list(queued) + [cancelled]}
    results_before = {j: cli_json(st.ep, "result", j) for j in list(done) + [cancelled]}
    lists_before = {t: cli_json(st.ep, "list", "--tenant", t, "--json") for t in ("acme", "beta")}
    check(all(before[j]["status"] == "queued" for j in queued), "two jobs are queued")

    with bn_pg.PgCluster() as pg:
        rc, out, err = migrate(st.state, pg.url, cfg)
        check(rc == 1 and "migrate_broker_running" in err, "refused while the broker runs: migrate_broker_running")
        st.kill_broker(signal.SIGTERM)
        empty = os.path.join(st.dir, "nothing-here")
        os.mkdir(empty)
        rc, out, err = migrate(empty, pg.url, cfg)
        check(rc == 1 and "migrate_source_missing" in err, "a --dir without a store: migrate_source_missing")

        # A damaged record (a finished job's task reply, which nothing reads again): copied as it is.
        beta_done = [j for j, (t, _, _) in done.items() if t == "beta"][0]
        db = st.db()
        (reply,) = db.execute("SELECT reply FROM tasks WHERE job=? AND seq=0", (beta_done,)).fetchone()
        damaged = bytearray(reply)
        damaged[60] ^= 1
        db.execute("UPDATE tasks SET reply=? WHERE job=? AND seq=0", (bytes(damaged), beta_done))
        db.commit()
        db.close()

        rc, out, err = migrate(st.state, pg.url, cfg)
        check(rc == 0, "beiand --migrate-to exits 0 (%s)" % err[-600:])
        counts = json.loads(out)
        spool = [n for n in os.listdir(os.path.join(st.state, "spool")) if len(n) == 64]
        db = st.db()
        refs = db.execute("SELECT count(*) FROM blob_refs").fetchone()[0]
        ntasks = db.execute("SELECT count(*) FROM tasks").fetchone()[0]
        rows = db.execute("SELECT id, tenant, key, status, created, updated FROM jobs ORDER BY id").fetchall()
        db.close()
        check(counts["jobs"] == 6 and counts["unfinished"] == 2 and counts["deliveries"] == 2
              and counts["pending_deliveries"] == 2 and counts["blobs"] == len(spool) and counts["refs"] == refs
              and counts["tasks"] == ntasks and counts["damaged"] == 1 and counts["bytes"] > 0,
              "it prints the counts: 6 jobs (2 unfinished), %d blobs, %d refs, %d tasks, 2 deliveries, 1 damaged: %s"
              % (len(spool), refs, ntasks, out.strip()))
        check(pg.psql("SELECT id, tenant, key, status, created, updated FROM jobs ORDER BY id")
              == "\n".join("|".join(str(v) for v in r) for r in rows),
              "every job is there with its tenant, key, status and its created and updated times")
        check(pg.psql("SELECT encode(reply, 'hex') FROM tasks WHERE job = '%s' AND seq = 0" % beta_done)
              == bytes(damaged).hex() and "does not open" in err,
              "the damaged record is copied as it was (it reads as store_corrupt there too), with a warning")
        check(pg.psql("SELECT count(*) FROM jobs WHERE owner IS NOT NULL") == "0",
              "no job has an owner in PostgreSQL yet")
        check(pg.psql("SELECT count(*) FROM blobs b WHERE refs <> (SELECT count(*) FROM blob_refs r"
                      " WHERE r.sha = b.sha)") == "0", "every blob's refs is its number of references")
        check(pg.psql("SELECT count(*) FROM jobs WHERE position(convert_to('\"tenant\"', 'UTF8') in spec) > 0")
              == "0" and pg.psql("SELECT count(*) FROM blobs WHERE position(convert_to('scan-', 'UTF8') in data) > 0")
              == "0",
              "specs and blobs are sealed in PostgreSQL")
        snapshot = pg.psql("SELECT count(*), sum(length(spec)) FROM jobs")
        rc, out, err = migrate(st.state, pg.url, cfg)
        check(rc == 1 and "migrate_target_not_empty" in err and pg.psql("SELECT count(*), sum(length(spec)) FROM jobs")
              == snapshot, "a second run into the same database: migrate_target_not_empty, nothing changed")

        # A broker on PostgreSQL: its own --dir, the same key file.
        pgdir = os.path.join(st.dir, "pg-broker")
        os.mkdir(pgdir, 0o700)
        pgcfg = os.path.join(st.dir, "beian-pg.json")
        json.dump({"webhooks": hooks, "store": {"key_file": os.path.join(st.state, "beian.key")}}, open(pgcfg, "w"))
        ep = "ipc://%s/beiand.sock" % pgdir
        pg_broker = subprocess.Popen([os.path.join(BIN, "beiand"), "--dir", pgdir, "--store", pg.url, "--config",
                                      pgcfg, "--heartbeat", "200"], stdout=st.log, stderr=st.log)
        check(wait_for(lambda: os.path.exists(os.path.join(pgdir, "beiand.sock"))), "the broker on PostgreSQL starts")
        for j, b in before.items():
            if j in queued:
                continue
            now = cli_json(ep, "status", j)
            check(now == b, "job %.8s: the same status (%s)" % (j, now.get("status")))
            check(cli_json(ep, "result", j) == results_before[j], "job %.8s: the same result" % j)
        for t in ("acme", "beta"):
            check(cli_json(ep, "list", "--tenant", t, "--json") == lists_before[t], "%s's list is the same" % t)
        for j, img in images.items():
            names = shas(results_before[j])
            check(names and all(blob(ep, j, s) == img for s in names),
                  "job %.8s: its result images read back, the bytes uploaded" % j)
        c = MdpClient(ep)
        for j, (tenant, key, _) in done.items():
            s, ack = c.submit([("id-card", "front", images[j])], options={"tenant": tenant, "key": key})
            check(s == "200" and ack["duplicate"] is True and ack["job"] == j,
                  "%s's key %s still dedupes: duplicate, the same job" % (tenant, key))
        s, ack = c.submit([("id-card", "front", b"late-0")], options={"tenant": "beta", "key": "q0"})
        check(s == "200" and ack["duplicate"] and ack["job"] in queued, "the key of a queued job dedupes too")

        check(wait_for(lambda: pg.psql("SELECT count(*) FROM jobs j JOIN brokers b ON b.id = j.owner WHERE"
                                       " j.status IN ('queued','running')") == "2", 15),
              "the broker took over the two unfinished jobs")
        st.ep = ep
        st.all_workers()
        for j in queued:
            s, res = c.result(j)
            check(s == "200" and res["status"] == "done", "queued job %.8s finishes once workers connect" % j)
            check(cli_json(ep, "status", j)["status"] == "done", "and the CLI says so")

        server = http.server.HTTPServer(("127.0.0.1", hook_port), Hook)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        acme = sorted(j for j, (t, _, _) in done.items() if t == "acme")
        check(wait_for(lambda: sorted(b.get("job") for b in received) == acme, 20),
              "the two pending deliveries reach acme's receiver once it is up (%s)" % [b.get("job") for b in received])
        ds = cli_json(ep, "webhooks", "--json", "--tenant", "acme")["deliveries"]
        check(len(ds) == 2 and all(d["state"] == "delivered" for d in ds), "and are delivered in the outbox")
        server.shutdown()
        pg_broker.terminate()
        pg_broker.wait(10)
finally:
    if pg_broker and pg_broker.poll() is None:
        pg_broker.kill()
    st.close()
print("PASS")
