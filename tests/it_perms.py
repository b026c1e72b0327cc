"""Data at rest (issue #11, permissions): whatever the umask, beiand keeps its state directory
0700 (tightening a pre-existing looser one, with a log line), beian.db, -wal, -shm and the spool
files 0600; the CLI's --out results and prepared images are 0600 in a 0700 directory."""
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import BIN, _procs, check, fail, require_binaries, wait_for  # noqa: E402

require_binaries("beiand", "beian", "tw_worker")
os.umask(0o022)  # a typical login umask: without explicit modes, files come out 0644
work = tempfile.mkdtemp(prefix="beian-perms-")
state = os.path.join(work, "var")
os.mkdir(state, 0o755)  # an operator-made --dir, group- and world-readable
os.chmod(state, 0o755)
log_path = os.path.join(work, "log.txt")
log = open(log_path, "ab")
ep = "ipc://%s/beiand.sock" % state


def mode(p):
    return stat.S_IMODE(os.lstat(p).st_mode)


def start_broker():
    p = subprocess.Popen([os.path.join(BIN, "beiand"), "--dir", state, "--heartbeat", "200"],
                         stdout=log, stderr=log)
    _procs.append(p)
    if not wait_for(lambda: os.path.exists(os.path.join(state, "beiand.sock"))):
        fail("beiand did not start: " + open(log_path).read()[-2000:])
    return p


def stop(p):
    p.terminate()
    p.wait(10)


def private_tree(root, what):
    """Every directory under root 0700 and every file 0600 (sockets: no group/other bits)."""
    bad = []
    for d, dirs, files in os.walk(root):
        if mode(d) != 0o700:
            bad.append("%s %04o" % (d, mode(d)))
        for f in files:
            p = os.path.join(d, f)
            m = mode(p)
            if (stat.S_ISSOCK(os.lstat(p).st_mode) and m & 0o077) or (not stat.S_ISSOCK(os.lstat(p).st_mode) and m != 0o600):
                bad.append("%s %04o" % (p, m))
    check(not bad, "%s: directories 0700, files 0600%s" % (what, (" — not: " + ", ".join(bad)) if bad else ""))


broker = start_broker()
workers = []
try:
    for s in ("beian.quality", "beian.ocr", "beian.face"):
        w = subprocess.Popen([os.path.join(BIN, "tw_worker"), "--connect", ep, "--service", s,
                              "--heartbeat", "200", "--no-supervise"], stdout=log, stderr=log)
        _procs.append(w)
        workers.append(w)
    check(mode(state) == 0o700, "a pre-existing 0755 --dir is tightened to 0700 (got %04o)" % mode(state))
    check(b"changed to 0700" in open(log_path, "rb").read(), "the broker logs that it tightened --dir")

    img = os.path.join(work, "card.jpg")
    open(img, "wb").write(b"card bytes for the spool")
    out = os.path.join(work, "out")
    r = subprocess.run([os.path.join(BIN, "beian"), "-e", ep, "submit", "--doc", "id-card=" + img,
                        "--wait", "--out", out, "--json"], capture_output=True, timeout=120)
    check(r.returncode == 0, "submit --wait --out → 0 (%r)" % r.stderr[-300:])
    db = os.path.join(state, "beian.db")
    for f in ("beian.db", "beian.db-wal", "beian.db-shm"):
        p = os.path.join(state, f)
        check(os.path.exists(p) and mode(p) == 0o600, "%s is 0600 (got %s)" % (f, "%04o" % mode(p) if os.path.exists(p) else "missing"))
    spooled = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(state, "spool")) for f in fs]
    check(spooled, "the submission left files in the spool")
    private_tree(state, "--dir")

    names = sorted(os.listdir(out))
    check("result.json" in names and any(n.endswith(".jpg") for n in names),
          "--out holds result.json and a prepared image (%s)" % names)
    private_tree(out, "--out")
    # batch writes into its --out through the same path, and creates its own directory.
    open(os.path.join(work, "apps.jsonl"), "w").write('{"id": "b1", "documents": ["id-card=card.jpg"]}\n')
    bout = os.path.join(work, "bout")
    r = subprocess.run([os.path.join(BIN, "beian"), "-e", ep, "batch", os.path.join(work, "apps.jsonl"),
                        "--out", bout], capture_output=True, timeout=120)
    check(r.returncode == 0 and os.listdir(bout), "batch --out → 0 with a result (%r)" % r.stderr[-300:])
    private_tree(bout, "batch --out")

    # A state directory left loose by an older version (or by hand) is tightened on restart,
    # database included, before SQLite opens it (its -wal/-shm take the database's mode).
    stop(broker)
    os.chmod(state, 0o755)
    os.chmod(db, 0o644)
    os.chmod(os.path.join(state, "spool"), 0o755)
    broker = start_broker()
    time.sleep(0.3)
    check(mode(state) == 0o700 and mode(db) == 0o600 and mode(os.path.join(state, "spool")) == 0o700,
          "on restart a loosened --dir, beian.db and spool/ are tightened again")
    for f in ("beian.db-wal", "beian.db-shm"):
        p = os.path.join(state, f)
        if os.path.exists(p):
            check(mode(p) == 0o600, "%s is 0600 after the restart" % f)
finally:
    for p in workers + [broker]:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
    shutil.rmtree(work, ignore_errors=True)
