"""Issue #11, disk full (docs/STORE.md): a store without room no longer makes the broker exit
(and die again at the first worker reply after its restart). It refuses new work with
503 store_full (retry_after_ms), keeps answering status, results and images, and accepts work
again by itself when there is room. Four ways in:
  A. free space below store.min_free_bytes (statvfs): a 2 GiB file fills the disk past the
     configured floor, and removing it brings the store back;
  B. a spool write that fails (here: EFBIG under a file size limit, as ENOSPC would);
  C. a commit whose write-ahead log cannot grow: the turn is rolled back, its acknowledgement
     never sent, the broker reloads its jobs from the store and goes on;
  D. a filesystem truly full (a private tmpfs, beian_it.private_tmpfs; skipped with a note where
     it is not allowed): beiand stopped cleanly with queued jobs, then every byte taken. A start
     is refused as store_full — SQLite cannot make its WAL index, beian.db-shm; it was refused as
     store_db_corrupt, "restore beian.db from a backup", which would lose the work since — then
     with 128 KiB free it starts, full; cancels (writes) are answered until the log cannot grow
     and the turn is rolled back: a cancel answered 200 is durable (after a kill -9 and a start
     on the full disk), one not answered did not happen; freed, the broker writes again by itself.
The test runs inside the namespace D needs (the others do not care)."""
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import (BIN, MdpClient, Stack, check, enospc, fill, private_tmpfs, require_binaries,  # noqa: E402
                      wait_for)

require_binaries("beiand", "tw_worker")
mnt = private_tmpfs(256)
GiB = 1 << 30


def is_store_full(status, body):
    return (status == "503" and body["error"]["code"] == "store_full" and body.get("retry_after_ms", 0) > 0)


def reads_work(c, job):
    r = c.call("beian.status", [job])
    status, res = c.result(job)
    return r is not None and r[0] == b"200" and status == "200" and res["status"] == "done"


# --- A: below store.min_free_bytes, and back --------------------------------------------------
probe = tempfile.mkdtemp(prefix="beian-it-")
vfs = os.statvfs(probe)
free = vfs.f_bavail * vfs.f_frsize
if free < 6 * GiB:
    print("note: %d bytes free, less than 6 GiB: the min_free_bytes part is not run" % free)
else:
    cfg = os.path.join(probe, "beian.json")
    with open(cfg, "w") as f:
        json.dump({"store": {"min_free_bytes": free - GiB}}, f)
    st = Stack(heartbeat=200, extra=["--config", cfg])
    ballast = os.path.join(st.dir, "ballast")
    try:
        st.all_workers()
        c = MdpClient(st.ep)
        status, ack = c.submit([("passport", "front", os.urandom(30000))])
        check(status == "200" and reads_work(c, ack["job"]), "A: with room, a job goes through")
        done = ack["job"]
        fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o600)
        os.posix_fallocate(fd, 0, 2 * GiB)
        os.close(fd)
        check(wait_for(lambda: "store full" in st.logtext(), 5), "A: the broker notices free space below the floor")
        status, body = c.submit([("passport", "front", os.urandom(30000))])
        check(is_store_full(status, body), "A: a submission is refused with 503 store_full (got %s %s)" % (status, body))
        check(reads_work(c, done), "A: status and result are still served")
        res = c.result(done)[1]
        prepared = res["documents"][0]["blobs"]["prepared"]["sha256"]
        r = c.call("beian.blob", [done, prepared])
        check(r is not None and r[0] == b"200", "A: and images")
        check(st.broker.poll() is None, "A: the broker is still running")
        os.unlink(ballast)
        check(wait_for(lambda: "has room again" in st.logtext(), 5), "A: with the file gone the store has room again")
        status, ack = c.submit([("passport", "front", os.urandom(30000))])
        check(status == "200" and reads_work(c, ack["job"]), "A: by itself, it accepts and finishes work again")
    finally:
        if os.path.exists(ballast):
            os.unlink(ballast)
        st.close()
shutil.rmtree(probe, ignore_errors=True)


def file_limit(limit):
    """The broker's files may not grow past limit: writes beyond it fail with EFBIG."""
    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre


# --- B: a spool write that finds no room ------------------------------------------------------
st = Stack(heartbeat=200, preexec=file_limit(1 << 20))
try:
    st.all_workers()
    c = MdpClient(st.ep)
    status, ack = c.submit([("passport", "front", os.urandom(30000))])
    check(status == "200" and reads_work(c, ack["job"]), "B: a small job goes through")
    status, body = c.submit([("passport", "front", os.urandom(2 << 20))])
    check(is_store_full(status, body), "B: an image the spool cannot take: 503 store_full (got %s %s)" % (status, body))
    check(st.broker.poll() is None and reads_work(c, ack["job"]), "B: the broker runs on and serves results")
    status, body = c.submit([("passport", "front", os.urandom(3000))])
    check(is_store_full(status, body), "B: and refuses new work until there is more room")
finally:
    st.close()

# --- C: a commit that finds no room -------------------------------------------------------------
st = Stack(heartbeat=200, preexec=file_limit(1 << 20))
try:
    c = MdpClient(st.ep)
    acked, last = [], None
    for i in range(2000):  # no workers: each submission adds rows to the log until it cannot grow
        last = c.submit([("passport", "front", os.urandom(2000))], options={"key": "k%d" % i}, timeout=1500)
        if last[0] != "200":
            break
        acked.append(last[1]["job"])
    check(acked and last[0] != "200", "C: after %d submissions the log cannot grow" % len(acked))
    check(st.broker.poll() is None, "C: the broker did not stop")
    check(wait_for(lambda: "reloading unfinished jobs" in st.logtext(), 5),
          "C: the turn was rolled back and the jobs reloaded from the store")
    status, body = c.submit([("passport", "front", os.urandom(2000))])
    check(is_store_full(status, body), "C: the next submission: 503 store_full (got %s %s)" % (status, body))
    r1, r2 = c.call("beian.status", [acked[0]]), c.call("beian.status", [acked[-1]])
    check(r1 and r1[0] == b"200" and r2 and r2[0] == b"200", "C: every acknowledged job is still known")
finally:
    st.close()

# --- D: a filesystem truly full -------------------------------------------------------------------
def statuses(st):
    return dict(st.db().execute("select id, status from jobs").fetchall())


if not mnt:
    print("note: D (a filesystem truly full) is not run")
else:
    st = Stack(heartbeat=200, state=mnt)
    ballast = os.path.join(mnt, "ballast")
    try:
        c = MdpClient(st.ep)
        jobs = [c.submit([("passport", "front", os.urandom(2000))], options={"key": "d%d" % i})[1]["job"]
                for i in range(100)]  # no workers: they stay queued
        st.kill_broker(signal.SIGTERM)  # a clean stop: SQLite removes beian.db-wal and -shm
        fd = os.open(ballast, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        fill(fd, mnt)
        check(enospc(mnt), "D: 100 jobs queued, beiand stopped, then the tmpfs is full: a write fails ENOSPC")
        r = subprocess.run([os.path.join(BIN, "beiand")] + st.args, capture_output=True, text=True, timeout=30)
        check(r.returncode != 0 and "cannot start: store_full" in r.stderr and "no room in " + mnt in r.stderr
              and "store_db_corrupt" not in r.stderr and "Sanitizer" not in r.stderr,
              "D: a start on the full disk (SQLite cannot make beian.db-shm) is refused as store_full, not as a "
              "damaged database to restore from a backup (rc %d: %s)" % (r.returncode, r.stderr.strip()[-300:]))
        # 128 KiB free: room for SQLite's index and a few dozen pages of log, below the floor.
        os.ftruncate(fd, os.fstat(fd).st_size - (128 << 10))
        st.start_broker()
        c = MdpClient(st.ep)
        status, body = c.submit([("passport", "front", os.urandom(2000))])
        check(is_store_full(status, body), "D: with 128 KiB free it starts, and answers 503 store_full")
        r = c.call("beian.status", [jobs[0]])
        check(r is not None and r[0] == b"200", "D: and serves status")
        # Cancels write (a status each): one at a time until the log cannot grow.
        answered, unanswered = [], []
        for j in jobs:
            r = c.call("beian.cancel", [j], timeout=1500)
            (answered if r is not None and r[0] == b"200" else unanswered).append(j)
            if len(unanswered) == 2:
                break
        rolled = st.logtext().count("the commit failed for want of space")
        check(st.broker.poll() is None and answered and unanswered and rolled >= 1,
              "D: %d cancels answered, then %d turns rolled back for want of room (their cancels not answered); "
              "the broker runs on" % (len(answered), rolled))
        st.kill_broker(signal.SIGKILL)
        st.start_broker()
        c = MdpClient(st.ep)
        got = statuses(st)
        check(all(got[j] == ("cancelled" if j in answered else "queued") for j in jobs),
              "D: after a kill -9 and a start on the still full disk, each answered cancel is durable and no "
              "unanswered one happened")
        os.close(fd)
        os.unlink(ballast)
        check(wait_for(lambda: "has room again" in st.logtext(), 5), "D: with the ballast gone, room again")
        rest = [c.call("beian.cancel", [j]) for j in jobs if j not in answered]
        check(all(r is not None and r[0] == b"200" for r in rest) and set(statuses(st).values()) == {"cancelled"},
              "D: by itself it writes again: the other %d cancels are answered, every job cancelled" % len(rest))
        status, ack = c.submit([("passport", "front", os.urandom(2000))])
        check(status == "200", "D: and new work is accepted")
        check("FATAL" not in st.logtext(), "D: no fatal store error in the log")
    finally:
        if os.path.exists(ballast):
            os.unlink(ballast)
        st.close()
print("all store_full checks passed")
