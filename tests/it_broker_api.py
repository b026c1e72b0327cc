"""beiand's application API end to end: submit, result, status, cancel, blobs, idempotency,
priorities, tenant fairness, bounded queue, PUB announcements, memory store."""
import json
import os
import sys
import time

import zmq

sys.path.insert(0, __import__("os").path.dirname(__file__))
from beian_it import MdpClient, Stack, check, require_binaries, wait_for  # noqa: E402

require_binaries("beiand", "tw_worker")

st = Stack()
try:
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.connect("ipc://%s/events.sock" % st.dir)
    sub.setsockopt(zmq.SUBSCRIBE, b"acme")
    st.all_workers()
    c = MdpClient(st.ep)

    # --- a two-sided ID card with a selfie
    s, ack = c.submit([("id-card", "front", b"front-bytes"), ("id-card", "back", b"back")],
                      selfie=b"selfie", options={"tenant": "acme"})
    check(s == "200" and len(ack["job"]) == 32 and ack["duplicate"] is False, "submit acknowledged with a job id")
    s, res = c.result(ack["job"])
    check(s == "200" and res["status"] == "done" and res["verdict"] == "pass", "result done, verdict pass")
    check([d["type"] + ":" + d["side"] for d in res["documents"]] == ["id-card:front", "id-card:back"],
          "documents in order with type and side")
    check(res["documents"][0]["quality"]["bytes"] == len(b"front-bytes"), "stage result merged into its document")
    import datetime
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    check(res["documents"][0].get("now") == today, "stages judge by the submission date (options.now stamped)")
    # The date age and expiry are judged by is the operator's (issue #11): options.now of
    # 0000-01-01 would switch the under_18 check off.
    for key in ("now", "today"):
        s, body = c.submit([("id-card", "front", b"x")], options={key: "0000-01-01"})
        check(s == "400" and body["error"]["code"] == "option_not_allowed" and ("options." + key) in body["error"]["message"],
              "a submitter's options.%s is refused (400 option_not_allowed) by default" % key)
    check("face" in res and res["face"]["verdict"] == "pass", "a face block when a selfie is sent")
    blob = res["documents"][0]["blobs"]["prepared"]
    r = c.call("beian.blob", [ack["job"], blob["sha256"]])
    check(r[0] == b"200" and r[1] == b"front-bytes", "prepared blob fetched by job and hash")
    r = c.call("beian.blob", [ack["job"], "0" * 64])
    check(r[0] == b"404", "a blob the result does not name is refused")
    check(sub.poll(3000) and json.loads(sub.recv_multipart()[1])["job"] == ack["job"],
          "PUB announced the finished job under its tenant")

    # --- status of a finished job
    r = c.call("beian.status", [ack["job"]])
    st_body = json.loads(r[1])
    check(r[0] == b"200" and st_body["status"] == "done" and st_body["verdict"] == "pass", "status of a finished job")
    r = c.call("beian.status", ["f" * 32])
    check(r[0] == b"404", "status of an unknown job is 404")

    # --- flags decide the verdict
    s, ack = c.submit([("passport", "front", b"FLAG this")])
    s, res = c.result(ack["job"])
    check(res["verdict"] == "reshoot" and res["flags"][0]["code"] == "border_incomplete" and res["flags"][0]["document"] == 0,
          "a reshoot flag makes the verdict reshoot and is tagged with its document")
    check(res["flags"][0]["message_zh"] and res["flags"][0]["message_en"], "flags carry zh and en messages")

    # --- a stage answering not_implemented is visible, never a silent pass
    s, ack = c.submit([("business-license", "front", b"FAIL")])
    s, res = c.result(ack["job"])
    codes = [f["code"] for f in res["flags"]]
    check(res["status"] == "done" and res["verdict"] == "review" and "stage_not_implemented" in codes,
          "not_implemented stage → review with stage_not_implemented")

    # --- idempotency
    s1, a1 = c.submit([("id-card", "front", b"x")], options={"key": "app-7"})
    s2, a2 = c.submit([("id-card", "front", b"x")], options={"key": "app-7"})
    check(a1["job"] == a2["job"] and a2["duplicate"] is True, "same idempotency key → same job")
    s3, a3 = c.submit([("id-card", "front", b"x")], options={"key": "app-7", "tenant": "other"})
    check(a3["job"] != a1["job"], "keys are per tenant")

    # --- bad input
    r = c.call("beian.submit", [b"{not json", b"x"])
    check(r[0] == b"400" and json.loads(r[1])["error"]["code"] == "bad_request", "malformed spec → 400 bad_request")
    s, body = c.submit([("drivers-license", "front", b"x")])
    check(s == "400" and "type" in body["error"]["message"], "unknown document type → 400 naming the field")
    r = c.call("beian.submit", [json.dumps({"documents": [{"type": "id-card", "blob": 3}]}).encode(), b"x"])
    check(r[0] == b"400", "a blob reference past the attached frames → 400")

    # --- cancel
    s, ack = c.submit([("id-card", "front", b"SLOW:3000")])
    time.sleep(0.2)
    r = c.call("beian.cancel", [ack["job"]])
    check(r[0] == b"200", "cancel a running job")
    s, res = c.result(ack["job"], wait=False)
    check(res["status"] == "cancelled", "cancelled job reports cancelled")
    r = c.call("beian.cancel", [ack["job"]])
    check(r[0] == b"409", "cancelling a finished job → 409")
finally:
    st.close()

# --- an operator who allows it (job.allow_client_clock, e.g. for test portals) gets options.now honoured
cfg_dir = __import__("tempfile").mkdtemp(prefix="beian-cfg-")
cfg = os.path.join(cfg_dir, "beian.json")
json.dump({"job": {"allow_client_clock": True}}, open(cfg, "w"))
st = Stack(extra=["--config", cfg])
try:
    st.all_workers()
    c = MdpClient(st.ep)
    s, ack = c.submit([("id-card", "front", b"x")], options={"now": "2030-01-02"})
    check(s == "200" and c.result(ack["job"])[1]["documents"][0].get("now") == "2030-01-02",
          "with job.allow_client_clock the submitter's options.now is kept")
    s, ack = c.submit([("id-card", "front", b"x")], options={"today": "2030-01-03"})
    check(s == "200" and c.result(ack["job"])[1]["documents"][0].get("now") is None,
          "options.today (the ocr stage's alias) is not overridden by a stamped options.now")
    s, body = c.submit([("id-card", "front", b"x")], options={"now": "someday"})
    check(s == "400" and body["error"]["code"] == "bad_request", "an allowed date must still be a date")
finally:
    st.close()

# --- priorities and tenant fairness with one worker per stage
st = Stack()
try:
    st.worker("beian.quality")
    st.worker("beian.ocr")
    c = MdpClient(st.ep)
    s, blocker = c.submit([("id-card", "front", b"SLOW:600")], options={"priority": "batch", "tenant": "a"})
    time.sleep(0.2)  # the blocker occupies the quality worker
    batch = [c.submit([("id-card", "front", b"SLOW:50")], options={"priority": "batch", "tenant": "a"})[1]["job"]
             for _ in range(6)]
    other = [c.submit([("id-card", "front", b"SLOW:50")], options={"priority": "batch", "tenant": "b"})[1]["job"]
             for _ in range(2)]
    urgent = c.submit([("id-card", "front", b"SLOW:50")], options={"priority": "interactive", "tenant": "a"})[1]["job"]
    order = []
    events = {}
    db_done = lambda: st.db().execute("select count(*) from jobs where status='done'").fetchone()[0] == 10  # noqa
    check(wait_for(db_done, 30), "all ten jobs finish")
    rows = st.db().execute("select id, updated from jobs").fetchall()
    # updated is second-granular; use the task completion order from the tasks table rowid instead
    seq = [r[0] for r in st.db().execute("select job from tasks where seq=0 order by rowid").fetchall()]
    pos = {j: i for i, j in enumerate(seq)}
    check(pos[urgent] <= 1, "interactive job overtakes the queued batch jobs (position %d)" % pos[urgent])
    check(max(pos[j] for j in other) < max(pos[j] for j in batch),
          "tenant b's batch jobs are not starved behind tenant a's")
finally:
    st.close()

# --- bounded queue answers busy
st = Stack(extra=["--max-jobs", "3"])
try:
    c = MdpClient(st.ep)
    for _ in range(3):
        s, _ = c.submit([("id-card", "front", b"x")])
    s, body = c.submit([("id-card", "front", b"x")])
    check(s == "503" and body["error"]["code"] == "busy" and body["retry_after_ms"] > 0,
          "a full queue answers 503 busy with a retry hint")
    st.worker("beian.quality")
    st.worker("beian.ocr")
    check(wait_for(lambda: c.submit([("id-card", "front", b"x")])[0] == "200", 10),
          "submissions are accepted again once the queue drains")
finally:
    st.close()

# --- privacy: the selfie leaves the spool when its job ends; retention deletes old results
st = Stack(extra=["--retention-hours", "0.0005"])  # 1.8 s
try:
    st.all_workers()
    c = MdpClient(st.ep)
    s, ack = c.submit([("id-card", "front", b"document image")], selfie=b"a selfie image")
    s, res = c.result(ack["job"])
    import hashlib
    spool = os.path.join(st.dir, "spool")
    doc_sha = hashlib.sha256(b"document image").hexdigest()
    selfie_sha = hashlib.sha256(b"a selfie image").hexdigest()
    check(os.path.exists(os.path.join(spool, doc_sha)), "the document image is kept with the result")
    check(wait_for(lambda: not os.path.exists(os.path.join(spool, selfie_sha)), 3),
          "the selfie is deleted from the spool when the job ends")
    check(wait_for(lambda: c.call("beian.status", [ack["job"]])[0] == b"404", 10),
          "after the retention period the job is gone")
    check(not os.path.exists(os.path.join(spool, doc_sha)), "and so are its images")
finally:
    st.close()

# --- the in-memory store serves the same API
st = Stack(durable=False)
try:
    st.all_workers()
    c = MdpClient(st.ep)
    s, ack = c.submit([("id-card", "front", b"m")], selfie=b"s")
    s, res = c.result(ack["job"])
    check(res["status"] == "done" and "face" in res, "memory store: job runs to done")
    s, again = c.result(ack["job"], wait=False)
    check(s == "200" and again == res, "memory store: a finished result is served again, the same")
    s, a1 = c.submit([("id-card", "front", b"SLOW:300")], options={"key": "m-1"})
    s, a2 = c.submit([("id-card", "front", b"SLOW:300")], options={"key": "m-1"})
    check(a1["job"] == a2["job"] and a2["duplicate"], "memory store: idempotency key while the job runs")
    c.result(a1["job"])
    s, a3 = c.submit([("id-card", "front", b"SLOW:300")], options={"key": "m-1"})
    check(a3["job"] == a1["job"] and a3["duplicate"], "memory store: idempotency key after the job finished")
    r = c.call("beian.status", [a1["job"]])
    check(r[0] == b"200" and json.loads(r[1])["status"] == "done", "memory store: status of a finished job")

    # Workers yield the CPU to the broker (worker.nice, default 10), every thread of them;
    # --nice 0 keeps the caller's niceness. Field 19 of /proc/PID/task/TID/stat is the nice value.
    def nices(p):
        tasks = os.path.join("/proc", str(p.pid), "task")
        return [int(open(os.path.join(tasks, t, "stat")).read().rsplit(")", 1)[1].split()[16])
                for t in os.listdir(tasks)]
    own = os.nice(0)
    plain = st.worker("beian.quality", extra=["--nice", "0"])
    check(wait_for(lambda: len(nices(plain)) > 1, 5), "a worker runs its threads")
    check(set(nices(st.workers[0])) == {max(own, 10)}, "a worker and all its threads run at nice 10 by default")
    check(set(nices(plain)) == {own}, "--nice 0 keeps the caller's niceness")
finally:
    st.close()
print("all broker API checks passed")
