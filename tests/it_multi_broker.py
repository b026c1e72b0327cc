"""Issue #13, several brokers: the client side. `beian -e A,B` fails over from a broker that is
down (killed with its socket file left behind, or its socket gone) or silent to the next one,
and gives a submission without --key an automatic idempotency key so that the resend cannot
make a second job; one worker process (`--connect A,B`) serves both brokers, keeps serving B
while A is dead and serves A again once it is back. The brokers here each have their own
store (the failover itself does not need a shared one); the shared PostgreSQL store is tested
with the broker."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import zmq

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import BIN, Stack, _procs, check, require_binaries, wait_for  # noqa: E402

require_binaries("beiand", "beian", "tw_worker")
beian = os.path.join(BIN, "beian")
work = tempfile.mkdtemp(prefix="beian-multi-")
img = os.path.join(work, "card.jpg")
open(img, "wb").write(b"card bytes")


def run(*args, timeout=120):
    return subprocess.run([beian] + list(args), capture_output=True, timeout=timeout,
                          env={k: v for k, v in os.environ.items() if k != "BEIAN_ENDPOINT"})


def submit(eps, *extra, timeout_s=30):
    r = run("-e", eps, "-t", str(timeout_s), "submit", "--doc", "id-card=" + img, "--json", *extra)
    ack = json.loads(r.stdout) if r.returncode == 0 else {}
    return r, ack.get("job")


def result(eps, job):
    r = run("-e", eps, "result", job, "--wait")
    return json.loads(r.stdout).get("status") if r.returncode == 0 else None


def keys_of(stack):
    """The idempotency keys a broker's store holds."""
    db = stack.db()
    try:
        return {row[0]: row[1] for row in db.execute("SELECT id, key FROM jobs")}
    finally:
        db.close()


class SilentBroker:
    """A ROUTER on an ipc endpoint that takes requests and never answers: a hung broker. It
    keeps what it received, so the test can see what the client sent."""

    def __init__(self, path):
        self.ep = "ipc://" + path
        self.sock = zmq.Context.instance().socket(zmq.ROUTER)
        self.sock.linger = 0
        self.sock.bind(self.ep)
        self.got = []
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            if self.sock.poll(100):
                self.got.append(self.sock.recv_multipart())

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


a = Stack(heartbeat=300)
b = Stack(heartbeat=300)
both = a.ep + "," + b.ep
workers = []
try:
    r = run("--help")
    check(b"EP[,EP...]" in r.stdout and b"comma-separated list" in r.stdout, "beian --help documents the endpoint list")
    r = subprocess.run([os.path.join(BIN, "tw_worker"), "--help"], capture_output=True, timeout=30)
    check(b"EP[,EP..]" in r.stdout, "workers' --help documents --connect EP,EP")
    r = run("-e", a.ep + ",," + b.ep, "status", "0" * 32)
    check(r.returncode == 1 and b"empty endpoint" in r.stderr, "an empty item in the list → 1, said on stderr")
    r = subprocess.run([os.path.join(BIN, "tw_worker"), "--connect", both + ","], capture_output=True, timeout=30)
    check(r.returncode == 1 and b"empty endpoint" in r.stderr, "a worker given a bad list exits 1 (no restart loop)")

    # One worker process per service, each serving both brokers.
    for s in ("beian.quality", "beian.ocr", "beian.face"):
        p = subprocess.Popen([os.path.join(BIN, "tw_worker"), "--connect", both, "--service", s, "--heartbeat", "300",
                              "--no-supervise"], stdout=a.log, stderr=a.log)
        _procs.append(p)
        workers.append(p)
    r, job_a = submit(both)
    check(r.returncode == 0 and job_a, "submit -e A,B → accepted (%r)" % r.stderr[-200:])
    check(job_a in keys_of(a) and job_a not in keys_of(b), "… by A, the first endpoint")
    check(keys_of(a)[job_a].startswith("auto-") and len(keys_of(a)[job_a]) == 37,
          "a submission without --key got an automatic idempotency key (%r)" % keys_of(a)[job_a])
    check(result(both, job_a) == "done", "the job at A is done: the worker serves A")
    r, job_b = submit(b.ep + "," + a.ep, "--key", "mine-1")
    check(r.returncode == 0 and job_b in keys_of(b) and keys_of(b)[job_b] == "mine-1",
          "submit -e B,A --key mine-1 → accepted by B, with the caller's key")
    check(result(b.ep + "," + a.ep, job_b) == "done", "the job at B is done: the same worker process serves B")
    r, job_1 = submit(a.ep)
    check(r.returncode == 0 and keys_of(a)[job_1] is None, "a single endpoint: no automatic key, as before")

    # A broker that takes the request and never answers: after the timeout the submission goes
    # to the next endpoint with the same key (the brokers of a list share a store: one job).
    silent = SilentBroker(os.path.join(work, "silent.sock"))
    r, job_s = submit(silent.ep + "," + b.ep, timeout_s=2)
    spec = json.loads(silent.got[0][4]) if silent.got and len(silent.got[0]) > 4 else {}
    key = spec.get("options", {}).get("key")
    check(r.returncode == 0 and job_s in keys_of(b), "silent broker first: the submission is answered by B (%r)" % r.stderr[-200:])
    check(key and key.startswith("auto-") and keys_of(b)[job_s] == key,
          "… with the key the silent broker was sent (%r, %r)" % (key, keys_of(b).get(job_s)))
    r = run("-e", silent.ep + "," + b.ep, "-t", "2", "status", job_s)
    check(r.returncode == 0 and json.loads(r.stdout)["job"] == job_s, "status -e SILENT,B → B's answer")
    silent.close()

    # kill -9 A: its socket file stays behind, nobody listens; the client moves on at once.
    a.broker.send_signal(signal.SIGKILL)
    a.broker.wait()
    check(os.path.exists(os.path.join(a.state, "beiand.sock")), "A killed, its socket file left behind")
    t0 = time.time()
    r, job_k = submit(both)
    took = time.time() - t0
    check(r.returncode == 0 and job_k in keys_of(b), "A dead: submit -e A,B → accepted by B (%.2f s)" % took)
    r = run("-e", both, "status", job_k)
    check(r.returncode == 0 and json.loads(r.stdout)["job"] == job_k, "A dead: status -e A,B → B's answer")
    check(result(both, job_k) == "done", "A dead: the worker keeps serving B")
    check(all(p.poll() is None for p in workers), "the workers are still running")
    with open(os.path.join(work, "apps.jsonl"), "w") as f:
        for i in (1, 2):
            f.write(json.dumps({"id": "a%d" % i, "documents": ["id-card:front=card.jpg"]}) + "\n")
    out = os.path.join(work, "out")
    r = run("-e", both, "batch", os.path.join(work, "apps.jsonl"), "--out", out, "--window", "2")
    done = [json.load(open(os.path.join(out, "a%d.json" % i))).get("status") if os.path.exists(os.path.join(out, "a%d.json" % i))
            else None for i in (1, 2)]
    check(r.returncode == 0 and done == ["done", "done"], "A dead: beian -e A,B batch → every application done via B (%r)" % done)
    # Once the workers have given A up (its heartbeats stopped), they still serve B.
    check(wait_for(lambda: ("broker %s silent" % a.ep) in a.logtext(), 30), "the workers noticed that A is gone")
    r, job_g = submit(both)
    check(r.returncode == 0 and result(both, job_g) == "done", "… and B's next job is done all the same")
    os.unlink(os.path.join(a.state, "beiand.sock"))
    r, job_m = submit(both)
    check(r.returncode == 0 and job_m in keys_of(b), "A's socket file gone: submit -e A,B → B")
    r = run("-e", a.ep, "status", job_m)
    check(r.returncode == 2 and b"endpoint_missing" in r.stderr, "a single endpoint still reports endpoint_missing")

    # A restarted: the worker registers there again and serves its jobs.
    a.start_broker()
    r, job_r = submit(both)
    check(r.returncode == 0 and job_r in keys_of(a), "A back: submit -e A,B → A again")
    check(result(a.ep, job_r) == "done", "A back: the worker serves A again")
    check(result(b.ep, job_k) == "done", "… and still B")
except BaseException:
    print("--- A's log (and the workers') ---\n" + a.logtext()[-6000:] + "\n--- B's log ---\n" + b.logtext()[-4000:])
    raise
finally:
    for p in workers:
        p.terminate()
        p.wait()
    a.close()
    b.close()
