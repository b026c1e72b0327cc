"""Issue #11, "prove it": a fault loop. One batch of synthetic jobs goes through a durable
beiand (SQLite store, ipc only) and test workers (tw_worker, a short SLOW stage) while a chaos
thread, driven by the batch's progress:
  * kills -9 the broker 20 times (restarted on the same state dir each time, the jobs resume);
  * kills -9 a random worker 20 times (a fresh one takes its place);
  * fills the disk once, for real: the test runs in a private mount namespace (`unshare -rm`)
    where the broker's --dir is a tmpfs of its own (TMPFS_MB). A ballast file first leaves room
    for the batch's small jobs but not for a submission of 72 MiB of images, whose spool write
    fails ENOSPC (503 store_full); then it takes every byte left (a write of the test's own
    fails ENOSPC, free space is below store.min_free_bytes), the broker is killed -9 and
    restarted on the full disk, the batch's submissions get 503 store_full and the client retries them; the ballast
    goes and the broker takes work again by itself, without a restart (docs/STORE.md,
    "Disk full"). Where no namespace or tmpfs is allowed, a note says so and the disk is
    "filled" as before: the broker restarted with a store.min_free_bytes no disk has, then
    with the default;
  * flips a byte in the spool file of one job's selfie while the broker is down, before any
    face worker ran it: that job must end failed/store_corrupt;
  * runs a rogue MDP worker (written here, from spec 7) between broker restarts, registered
    for beian.ocr or beian.quality, answering every task with a malformed or pass-claiming
    reply: no job it answered may end with verdict pass.
The client submits every job with an idempotency key and resubmits on a timeout or a 503, so
a submission whose acknowledgement a broker kill swallowed maps to the same job.
At the end: every acknowledged job has exactly one final result (done, or failed for the
damaged one), one row per key in the store, one job id per key, no announcement twice, the
same result again after one more kill -9, and the untouched jobs passed with their bytes intact
(the test worker's FNV-1a of the image it was sent).
The same counts run under ASan (about 15 s there): there, and here, the broker's and workers'
logs must hold no sanitizer report when they are stopped at the end."""
import collections
import hashlib
import json
import os
import queue
import random
import signal
import sys
import threading
import time
import traceback

import zmq

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import (MdpClient, Stack, check, enospc, fail, fill, fnv1a, private_tmpfs,  # noqa: E402
                      require_binaries, wait_for)

require_binaries("beiand", "tw_worker")
MiB = 1 << 20
TMPFS_MB = 256
MIN_FREE = 64 * MiB  # store.min_free_bytes' default (docs/CONFIG.md)
mnt = private_tmpfs(TMPFS_MB)
if not mnt:
    print("note: the disk is filled by a store.min_free_bytes no disk has instead")
T0 = time.time()
N_JOBS = 300
N_BROKER_KILLS = 20
N_WORKER_KILLS = 20
WINDOW = 12          # acknowledged, unfinished jobs the client lets pile up before it waits
STAGE_MS = 25        # each stage sleeps this long: faults land on tasks in flight
HEARTBEAT = 200
seed = int(os.environ.get("BEIAN_FAULT_SEED", str(int(time.time()))))
rnd = random.Random(seed)
print("seed %d (BEIAN_FAULT_SEED=%d reproduces the schedule; timing still varies)" % (seed, seed))
ctx = zmq.Context.instance()


# --- the batch: job 0 carries a selfie (its face task waits for the first face worker, which
# starts only after its spool file was damaged); the others are one ID-card front each.
KEYS = ["loop-%03d" % i for i in range(N_JOBS)]
DOCS = [b"SLOW:%d fault loop job %d %s" % (STAGE_MS, i, os.urandom(8).hex().encode()) for i in range(N_JOBS)]
SELFIE = os.urandom(4096)
CORRUPT_KEY = KEYS[0]

# --- the rogue worker's replies: each is either malformed or claims ok for nothing checkable.
ROGUE = [
    ("result_is_string", [json.dumps({"ok": True, "result": "str"}).encode()]),
    ("unknown_severity", [json.dumps({"ok": True, "result": {"flags": [
        {"code": "border_incomplete", "severity": "catastrophic"}]}}).encode()]),
    ("not_json", [b"{\"ok\": true, \"result\": {\"flags\": []"]),
    ("no_flags", [json.dumps({"ok": True, "result": {"quality": {}}}).encode()]),
    ("unknown_code", [json.dumps({"ok": True, "result": {"flags": [
        {"code": "all_good", "severity": "info"}]}}).encode()]),
    ("no_result", [json.dumps({"ok": True}).encode()]),
    ("ok_not_boolean", [json.dumps({"ok": "true", "result": {"flags": []}}).encode()]),
    ("flags_not_list", [json.dumps({"ok": True, "result": {"flags": "none"}}).encode()]),
    ("names_blobs", [json.dumps({"ok": True, "result": {"flags": [], "blobs": {
        "prepared": {"sha256": "0" * 64, "bytes": 1}}}}).encode()]),
    ("empty_body", []),
    ("job_flag", [json.dumps({"ok": True, "result": {"flags": [
        {"code": "stage_failed", "severity": "info"}]}}).encode()]),
    ("bad_error", [json.dumps({"ok": False, "error": {"code": "Not A Code!"}}).encode()]),
    ("stage_error", [json.dumps({"ok": False, "error": {"code": "ocr_failed", "message": "rogue"}}).encode()]),
]


class Rogue(threading.Thread):
    """A stock MDP worker that answers every REQUEST at once with the next reply of ROGUE.
    Started after a broker start and stopped (DISCONNECT) before every broker kill, so each
    of its replies reached a broker that lived on to commit it: what it answered must show."""

    def __init__(self, ep):
        super().__init__(daemon=True)
        self.ep, self.cmds, self.replies, self.n = ep, queue.Queue(), [], 0
        self.window_jobs = set()

    def run(self):
        sock, last = None, 0.0
        while True:
            try:
                cmd, arg = self.cmds.get_nowait()
                if cmd == "start":
                    sock = ctx.socket(zmq.DEALER)
                    sock.linger = 0
                    sock.connect(self.ep)
                    self.service = arg
                    sock.send_multipart([b"", b"MDPW01", b"\x01", arg.encode()])
                    self.window_jobs = set()
                elif cmd in ("stop", "quit"):
                    if sock is not None:
                        sock.send_multipart([b"", b"MDPW01", b"\x05"])
                        time.sleep(0.05)  # let the DISCONNECT leave (linger 0)
                        sock.close()
                        sock = None
                    arg.set()
                    if cmd == "quit":
                        return
            except queue.Empty:
                pass
            if sock is None:
                time.sleep(0.02)
                continue
            if sock.poll(20):
                m = sock.recv_multipart()
                if m[2] == b"\x02":
                    token, header = m[3], json.loads(m[5])
                    name, body = ROGUE[self.n % len(ROGUE)]
                    self.n += 1
                    time.sleep(STAGE_MS / 1000)  # as long as a healthy stage: a fair share of tasks
                    sock.send_multipart([b"", b"MDPW01", b"\x03", token, b""] + body)
                    self.replies.append((header["job"], header["task"], self.service, name))
                    self.window_jobs.add(header["job"])
                elif m[2] == b"\x05":  # the broker forgot us: register again, as MDP says
                    sock.send_multipart([b"", b"MDPW01", b"\x01", self.service.encode()])
            if time.time() - last > HEARTBEAT / 1000:
                sock.send_multipart([b"", b"MDPW01", b"\x04"])
                last = time.time()

    def ask(self, cmd, arg=None):
        ev = threading.Event()
        self.cmds.put((cmd, arg if cmd == "start" else ev))
        if cmd != "start" and not ev.wait(5):
            raise RuntimeError("rogue worker did not stop")


class Announcements(threading.Thread):
    """Counts the PUB announcements of finished jobs (lost while a broker is down: PUB is
    at-most-once; a job announced twice would have finished twice)."""

    def __init__(self, ep):
        super().__init__(daemon=True)
        self.ep, self.seen, self.stop = ep, collections.Counter(), threading.Event()

    def run(self):
        s = ctx.socket(zmq.SUB)
        s.linger = 0
        s.setsockopt(zmq.SUBSCRIBE, b"")
        s.connect(self.ep)
        while not self.stop.is_set():
            if s.poll(50):
                m = s.recv_multipart()
                self.seen[json.loads(m[-1])["job"]] += 1
        s.close()


stats = collections.Counter()
ids = collections.defaultdict(set)   # key -> every job id an acknowledgement named
accepted = {}                        # key -> job id
progress = [0]                       # submissions acknowledged so far (the chaos clock)
done_submitting = threading.Event()
chaos_error = []
full_period = []                     # wall times around the broker that had no room

st = Stack(heartbeat=HEARTBEAT, attempts=8, state=mnt)
try:
    spool = os.path.join(st.state, "spool")
    full_cfg = os.path.join(st.dir, "full.json")
    with open(full_cfg, "w") as f:  # a floor above any disk: the store is full at once
        json.dump({"store": {"min_free_bytes": 1 << 60}}, f)
    base_args = list(st.args)
    workers = {}                     # Popen -> service

    def add_worker(service):
        workers[st.worker(service)] = service

    for svc in ("beian.quality", "beian.quality", "beian.ocr", "beian.ocr"):
        add_worker(svc)
    pub = Announcements("ipc://%s/events.sock" % st.state)
    pub.start()
    rogue = Rogue(st.ep)
    rogue.start()
    rogue_services = ["beian.ocr", "beian.quality"]
    rogue.ask("start", rogue_services[0])

    # ---- the chaos thread ----------------------------------------------------------------
    def quiesce_rogue(cc):
        """Stop the rogue, then wait until every job it answered in this broker's life is
        finished: its replies are then committed and the coming kill cannot undo them."""
        rogue.ask("stop")
        pending = set(rogue.window_jobs) - {accepted.get(CORRUPT_KEY)}
        end = time.time() + 60
        while pending and time.time() < end:
            for j in list(pending):
                r = cc.call("beian.status", [j], timeout=2000)
                if r and r[0] == b"200" and json.loads(r[1])["status"] in ("done", "failed"):
                    pending.discard(j)
            time.sleep(0.02)
        if pending:
            raise RuntimeError("jobs the rogue answered did not finish: %s" % sorted(pending))

    def kill_broker(cc, args=None, before_start=None, rogue_after=True):
        if st.broker.poll() is not None:
            raise RuntimeError("beiand exited by itself (rc %s)" % st.broker.returncode)
        st.kill_broker(signal.SIGKILL)
        stats["broker_kills"] += 1
        if before_start:
            before_start()
        st.args = args or base_args
        st.start_broker()
        if rogue_after:
            rogue.ask("start", rogue_services[stats["broker_kills"] % 2])
            stats["rogue_windows"] += 1

    def corrupt_selfie():
        path = os.path.join(spool, hashlib.sha256(SELFIE).hexdigest())
        with open(path, "r+b") as f:
            f.seek(100)
            b = f.read(1)
            f.seek(100)
            f.write(bytes([b[0] ^ 0x01]))
        stats["spool_files_flipped"] += 1

    def kill_worker():
        live = [p for p in workers if p.poll() is None]
        p = rnd.choice(live)
        svc = workers.pop(p)
        p.kill()
        p.wait()
        stats["worker_kills"] += 1
        add_worker(svc)

    def wait_stat(name, n, what):
        if not wait_for(lambda: stats[name] >= n, 20):
            raise RuntimeError("no %s" % what)

    def fill_by_floor(cc):
        """No tmpfs: the broker is restarted with a floor above any disk, then without it."""
        full_period.append(time.time())  # from the kill of the broker with room ...
        kill_broker(cc, args=base_args + ["--config", full_cfg], rogue_after=False)
        wait_stat("503_store_full", stats["503_store_full"] + 3, "503 store_full while the store was full")
        full_period.append(time.time())  # ... to the kill of the full one
        kill_broker(cc)  # the disk is "freed": the default floor again

    def fill_tmpfs(cc):
        """The tmpfs truly full, once, and freed (see the docstring at the top)."""
        ballast = os.path.join(mnt, "ballast")
        roomy = st.logtext().count("has room again")
        fd = os.open(ballast, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            # Above the floor, with room for the batch's jobs (a few hundred bytes each) but not
            # for three 24 MiB images: the third one's spool write fails ENOSPC.
            fill(fd, mnt, MIN_FREE + 2 * MiB)
            big = [(t, side, os.urandom(24 * MiB)) for t, side in
                   (("id-card", "front"), ("id-card", "back"), ("passport", "front"))]
            s, body = cc.submit(big, timeout=20000)
            if s != "503" or body["error"]["code"] != "store_full":
                raise RuntimeError("images larger than the free space were answered %s %s" % (s, body))
            stats["enospc_image_refused"] += 1
            full_period.append(time.time())  # from the first refusal ...
            fill(fd, mnt)  # every byte left
            if not enospc(mnt):
                raise RuntimeError("a write succeeded on the full tmpfs")
            stats["enospc_test_write"] += 1
            # A kill -9 and a start on the full disk (it used to die again at the first worker reply).
            kill_broker(cc, rogue_after=False)
            wait_stat("503_store_full", stats["503_store_full"] + 3, "503 store_full from a broker started on a full disk")
            r = cc.call("beian.status", [accepted[KEYS[1]]], timeout=2000)
            if not r or r[0] != b"200":
                raise RuntimeError("status not served on a full disk: %s" % r)
            full_period.append(time.time())  # ... to the ballast's removal
        finally:
            os.close(fd)
            os.unlink(ballast)
        if not wait_for(lambda: st.logtext().count("has room again") > roomy, 10):
            raise RuntimeError("the broker did not find room again by itself")
        rogue.ask("start", rogue_services[stats["broker_kills"] % 2])
        stats["rogue_windows"] += 1

    # Faults at points of the batch's progress (acknowledged submissions), in its first 90 %.
    # The disk-full episode takes one broker kill on a tmpfs (a start on the full disk), two
    # without (into full, out of it).
    span = N_JOBS * 0.9
    events = [((k + 0.3) * span / N_WORKER_KILLS, "worker") for k in range(N_WORKER_KILLS)]
    nb = N_BROKER_KILLS - (0 if mnt else 1)
    events += [((k + 0.8) * span / nb, "full" if k == nb // 2 else "corrupt" if k == 0 else "broker")
               for k in range(nb)]
    events.sort()

    def chaos():
        cc = MdpClient(st.ep)
        try:
            for at, kind in events:
                while progress[0] < at and not done_submitting.is_set():
                    time.sleep(0.01)
                time.sleep(rnd.uniform(0, 0.15))  # not at a submission boundary
                if kind == "worker":
                    kill_worker()
                    continue
                quiesce_rogue(cc)
                if kind == "corrupt":
                    # Job 0's selfie is in the spool (acknowledged) and no face worker ran it:
                    # damage it while the broker is down, then give the face stage a worker.
                    kill_broker(cc, before_start=corrupt_selfie)
                    add_worker("beian.face")
                elif kind == "full":
                    (fill_tmpfs if mnt else fill_by_floor)(cc)
                else:
                    kill_broker(cc)
        except BaseException as e:  # noqa: B902 (fail() in Stack raises SystemExit)
            chaos_error.append("%s\n%s" % (e, traceback.format_exc()))

    chaos_t = threading.Thread(target=chaos, daemon=True)
    chaos_t.start()

    # ---- the client ------------------------------------------------------------------------
    c = MdpClient(st.ep)

    def submit(i, client=None, once=False):
        key = KEYS[i]
        selfie = SELFIE if key == CORRUPT_KEY else None
        while True:
            s, body = (client or c).submit([("id-card", "front", DOCS[i])], selfie=selfie,
                                           options={"key": key}, timeout=2000)
            if s is None:
                stats["submit_timeouts"] += 1  # broker down: resend, the key makes it safe
            elif s == "503":
                stats["503_" + body["error"]["code"]] += 1
                # The broker asks for retry_after_ms (5 s for store_full); capped so the test
                # stays short: it retries more often than a real portal should.
                time.sleep(min(body.get("retry_after_ms", 1000), 200) / 1000)
            elif s == "200":
                ids[key].add(body["job"])
                if body.get("duplicate"):
                    stats["duplicate_acks"] += 1
                return body["job"]
            else:
                fail("submission %s answered %s %s" % (key, s, body))
            if once:
                return None
            if chaos_error:
                fail("chaos thread: " + chaos_error[0])

    def finished(job):
        r = c.call("beian.status", [job], timeout=1000)
        return r is not None and r[0] == b"200" and json.loads(r[1])["status"] in ("done", "failed")

    unread = []  # (job index, acknowledged id, broker kills so far)

    def resubmit_unread(at_end=False):
        for u in list(unread):
            i, first, kills = u
            if stats["broker_kills"] > kills or at_end:
                again = submit(i)
                if again != first:
                    fail("resubmission of %s after a lost ack named %s, not %s" % (KEYS[i], again, first))
                stats["lost_acks_after_kill" if stats["broker_kills"] > kills else "lost_acks_no_kill"] += 1
                unread.remove(u)

    for i in range(N_JOBS):
        if i >= WINDOW:
            # Back-pressure like `beian batch --window`, bounded to 1 s so the batch goes on
            # while the store is full or the broker down (nothing finishes then).
            end = time.time() + 1.0
            while time.time() < end and not finished(accepted[KEYS[i - WINDOW]]):
                time.sleep(0.01)
        resubmit_unread()
        if i % 25 == 12:
            # An acknowledgement the client never reads (as when the connection drops just
            # then): it resubmits after the next broker kill, so the key is looked up by a
            # broker that learnt the job from the store (resumed, or finished and only in
            # beian.db); it must name the same job.
            lost = MdpClient(st.ep)
            first = submit(i, client=lost, once=True)
            lost.sock.close()
            if first is not None:
                accepted[KEYS[i]] = first
                unread.append((i, first, stats["broker_kills"]))
                progress[0] = i + 1
                continue
        accepted[KEYS[i]] = submit(i)
        progress[0] = i + 1
    done_submitting.set()
    chaos_t.join(120)
    if chaos_t.is_alive() or chaos_error:
        fail("chaos thread: %s" % (chaos_error[0] if chaos_error else "did not finish"))
    resubmit_unread(at_end=True)
    t_submitted = time.time() - T0

    # ---- every acknowledged job ends, exactly once -----------------------------------------
    def all_results(wait):
        out = {}
        for key, job in accepted.items():
            deadline = time.time() + 120
            while True:
                s, res = c.result(job, wait=wait, timeout=5000)
                if s == "200":
                    out[key] = res
                    break
                if time.time() > deadline:
                    fail("no result for %s (%s): %s %s" % (key, job, s, res))
                time.sleep(0.05)
        return out

    results = all_results(True)
    t_finished = time.time() - T0
    rogue.ask("quit")
    # One more kill -9 after the end: the results read back are the same documents.
    st.kill_broker(signal.SIGKILL)
    st.start_broker()
    c = MdpClient(st.ep)
    again = all_results(False)
    pub.stop.set()
    pub.join(2)

    check(stats["broker_kills"] == N_BROKER_KILLS and stats["worker_kills"] == N_WORKER_KILLS,
          "%d kill -9 of beiand and %d of workers during the batch" % (stats["broker_kills"], stats["worker_kills"]))
    check(len(accepted) == N_JOBS and all(len(ids[k]) == 1 for k in KEYS),
          "every submission was acknowledged, each key with one job id however often it was sent")
    check(len(set(accepted.values())) == N_JOBS, "no two keys share a job")
    check(all(results[k]["job"] == accepted[k] and results[k]["status"] in ("done", "failed") for k in KEYS),
          "every acknowledged job has a final result (done or failed)")
    check(again == results, "after one more kill -9 every result reads back unchanged (final, not re-run)")
    rows = st.db().execute("select key, count(*), min(status), max(status), min(id), max(id) "
                           "from jobs group by key").fetchall()
    check(len(rows) == N_JOBS and all(r[1] == 1 and r[2] == r[3] and r[2] in ("done", "failed") for r in rows),
          "the store holds exactly one job per key, each finished (%d rows)" % len(rows))
    check(all(accepted[r[0]] == r[4] for r in rows), "the stored job of each key is the acknowledged one")
    # A kill -9 lands anywhere in a commit: between the spool renames and the COMMIT, or
    # between the COMMIT and the unlinking of released files (the selfie of job 0). Whatever
    # the spool holds must still be referenced by a job: a file nothing names is an image
    # (personal information) that retention would never delete.
    refs = {r[0] for r in st.db().execute("select sha from blob_refs")}
    files = [f for f in os.listdir(spool) if f != "tmp"]
    orphans = [f for f in files if f.split(".")[0] not in refs]
    check(not orphans, "every file in the spool belongs to a job: %d files, %d orphaned by the kills (%s)"
          % (len(files), len(orphans), [f[:12] for f in orphans[:4]]))
    twice = [j for j, n in pub.seen.items() if n > 1]
    check(not twice and set(pub.seen) <= set(accepted.values()),
          "no job announced twice (%d announcements heard; PUB drops those of a broker that died)"
          % sum(pub.seen.values()))

    cres = results[CORRUPT_KEY]
    check(stats["spool_files_flipped"] == 1 and cres["status"] == "failed"
          and cres.get("error", {}).get("code") == "store_corrupt" and cres["verdict"] == "review",
          "the job whose selfie's spool file was flipped ended failed/store_corrupt (got %s %s)"
          % (cres["status"], cres.get("error")))
    made = st.db().execute("select count(*) from jobs where created between ? and ?",
                           (int(full_period[0] * 1000), int(full_period[1] * 1000))).fetchone()[0]
    check(stats["503_store_full"] >= 3 and made == 0,
          "%d submissions refused 503 store_full while the disk was full (%.1f s, %s), retried; none stored then"
          % (stats["503_store_full"], full_period[1] - full_period[0],
             "a %d MiB tmpfs" % TMPFS_MB if mnt else "store.min_free_bytes above the disk"))
    check(stats["lost_acks_after_kill"] >= 1,
          "%d unread acknowledgements resubmitted after a broker kill (%d without one): each named the same job"
          % (stats["lost_acks_after_kill"], stats["lost_acks_no_kill"]))

    by_job = {j: k for k, j in accepted.items()}
    rogue_jobs = {j for j, _, _, _ in rogue.replies}
    kinds = collections.Counter(name for _, _, _, name in rogue.replies)
    check(len(rogue.replies) >= len(ROGUE), "the rogue worker answered %d tasks (%d jobs), every kind of reply: %s"
          % (len(rogue.replies), len(rogue_jobs), dict(kinds)))

    def shows_rogue(res):
        # The damaged job ends store_corrupt whatever its stages said; the others are done with
        # the rogue's answer kept as a stage_failed flag (verdict review).
        if res["verdict"] == "pass":
            return False
        return res["job"] == accepted[CORRUPT_KEY] or any(f["code"] == "stage_failed" for f in res["flags"])

    bad = [j for j in rogue_jobs if not shows_rogue(results[by_job[j]])]
    check(not bad, "no job the rogue answered passed; each carries stage_failed (bad: %s)" % bad[:5])
    clean = [k for k in KEYS if k != CORRUPT_KEY and accepted[k] not in rogue_jobs]
    wrong = [k for k in clean if not (results[k]["status"] == "done" and results[k]["verdict"] == "pass"
                                      and results[k]["documents"][0]["quality"].get("fnv1a") == fnv1a(DOCS[KEYS.index(k)]))]
    check(not wrong, "the %d jobs no fault was aimed at passed, each stage given the submitted bytes (bad: %s)"
          % (len(clean), wrong[:5]))
    log = st.logtext()
    check("store full" in log and "invalid reply from a" in log and "resumed" in log,
          "the log tells of the full store, the invalid replies and the resumed jobs")
    # How the broker found its store full: a write that failed, free space below the floor; and
    # the turns it rolled back for want of room.
    by_write, by_floor = log.count("failed for want of space ("), log.count("below store.min_free_bytes")
    rolled_back = log.count("reloading unfinished jobs")
    if mnt:
        check(stats["enospc_image_refused"] == 1 and stats["enospc_test_write"] == 1 and by_write >= 1
              and by_floor >= 1 and "has room again" in log,
              "the tmpfs was truly full: a 72 MiB submission's spool write failed ENOSPC (503 store_full), so did "
              "a write of the test's own; the broker found its store full %d times by a failed write, %d by free "
              "space below the floor, rolled %d turns back, found room again by itself"
              % (by_write, by_floor, rolled_back))
    # Stopped in order (SIGTERM): a sanitizer report of any process of the run is in the log.
    for p in st.workers + [st.broker]:
        if p.poll() is None:
            p.terminate()
            p.wait(20)
    log = st.logtext()
    check("Sanitizer" not in log and "runtime error:" not in log,
          "no AddressSanitizer, LeakSanitizer or UBSan report from the broker or any worker")
    print("fault loop: %d jobs accepted (%d done, %d failed), %d broker kills, %d worker kills, "
          "%d rogue replies to %d jobs, %d x 503 store_full (disk: %s, %.1f s full; full by a failed write "
          "%d times, by the floor %d times; %d turns rolled back), %d x 503 busy, %d submit timeouts, "
          "%d duplicate acks (%d unread on purpose), %d store_corrupt, %d announcements; "
          "submitted in %.1f s, all finished at %.1f s, wall %.1f s"
          % (len(accepted), sum(r["status"] == "done" for r in results.values()),
             sum(r["status"] == "failed" for r in results.values()), stats["broker_kills"], stats["worker_kills"],
             len(rogue.replies), len(rogue_jobs), stats["503_store_full"],
             "%d MiB tmpfs" % TMPFS_MB if mnt else "min_free_bytes", full_period[1] - full_period[0],
             by_write, by_floor, rolled_back, stats["503_busy"],
             stats["submit_timeouts"], stats["duplicate_acks"], stats["lost_acks_after_kill"] + stats["lost_acks_no_kill"],
             sum(r.get("error", {}).get("code") == "store_corrupt" for r in results.values()),
             sum(pub.seen.values()), t_submitted, t_finished, time.time() - T0))
finally:
    st.close()
print("fault loop passed")
