"""beiand under faults: malformed traffic, dead workers, poisonous tasks, expired leases with
late replies (fencing), and kill -9 of the broker in the middle of a batch."""
import json
import re
import os
import signal
import subprocess
import sys
import tempfile
import time

import zmq

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import BIN, MdpClient, Stack, check, require_binaries, wait_for  # noqa: E402

require_binaries("beiand", "tw_worker", "beian")
ctx = zmq.Context.instance()

# --- malformed traffic leaves the broker serving
st = Stack(extra=["--max-frame", "1000000", "--max-upload", "500000"])  # the frame cap must exceed the upload limit
try:
    st.worker("beian.quality")
    st.worker("beian.ocr")
    raw = ctx.socket(zmq.DEALER)
    raw.linger = 0
    raw.connect(st.ep)
    junk = [
        [b"garbage"],
        [b"", b"MDPX01", b"svc"],
        [b"", b"MDPC01"],
        [b"", b"MDPC01", b""],
        [b"", b"MDPC01", b"\x00\x01bad service"],
        [b"", b"MDPW01"],
        [b"", b"MDPW01", b"\x09"],
        [b"", b"MDPW01", b"\x01"],
        [b"", b"MDPW01", b"\x03", b"Tdeadbeef.1", b"", b"late"],
        [b"", b"MDPW01", b"\x02", b"x", b"", b"request sent to the broker"],
        [b"", b"MDPW01", b"\x04", b"extra"],
        [b"", b"MDPC01", b"beian.result"],
        [b"", b"MDPC01", b"beian.result", b"../../etc/passwd"],
        [b"", b"MDPC01", b"titanic.reply"],
        [b"", b"MDPC01", b"beian.submit", b"[]"],
        [b"", b"MDPC01", b"beian.submit", b"{\"documents\":[{\"type\":\"id-card\",\"blob\":1}]}"],
        [b""] * 500,
        [b"", b"MDPC01", b"beian.submit", b"{}"] + [b"x"] * 200,
    ]
    for m in junk:
        raw.send_multipart(m)
    big = ctx.socket(zmq.DEALER)
    big.linger = 0
    big.connect(st.ep)
    big.send_multipart([b"", b"MDPC01", b"beian.submit", b"{}", b"z" * 2000000])  # over --max-frame
    time.sleep(0.5)
    check(st.broker.poll() is None, "broker survives %d malformed messages and an oversized frame" % (len(junk) + 1))
    c = MdpClient(st.ep)
    s, ack = c.submit([("id-card", "front", b"ok")])
    s, res = c.result(ack["job"])
    check(res["status"] == "done", "broker still serves after malformed traffic")
    check("dropped a malformed message" in st.logtext(), "malformed messages are logged")
finally:
    st.close()

# --- a worker killed mid-task: the task completes on another
st = Stack(heartbeat=200)
try:
    a = st.worker("beian.quality")
    st.worker("beian.ocr")
    c = MdpClient(st.ep)
    s, ack = c.submit([("id-card", "front", b"SLOW:2000")])
    time.sleep(0.5)
    st.worker("beian.quality")  # b: idle, ready to take over
    time.sleep(0.3)
    a.kill()
    s, res = c.result(ack["job"], timeout=20000)
    check(res and res["status"] == "done", "task of a killed worker completes on another worker")
    check("expired" in st.logtext(), "the broker noticed the dead worker by its heartbeats")
finally:
    st.close()

# --- a long stage: the worker's watchdog heartbeats for it (no lease or liveness expiry at
# 10 heartbeats); a stage past --task-timeout ends the process with 75 and the task is retried
st = Stack(heartbeat=100, attempts=2)
try:
    st.worker("beian.quality")
    st.worker("beian.ocr")
    c = MdpClient(st.ep)
    s, ack = c.submit([("id-card", "front", b"SLOW:1500")])
    s, res = c.result(ack["job"], timeout=20000)
    check(res and res["status"] == "done" and "expired" not in st.logtext(),
          "a stage of 15 heartbeat intervals completes; its worker is never taken for dead")
    w = st.worker("beian.quality", extra=["--task-timeout", "300"])
    st.workers[0].terminate()
    st.workers[0].wait()
    time.sleep(0.3)
    s, ack = c.submit([("id-card", "front", b"SLOW:3000")])
    w.wait(timeout=10)
    check(w.returncode == 75, "a stage past --task-timeout ends its worker with exit code 75")
    check("task exceeded 300 ms" in st.logtext(), "the overrun is logged")
finally:
    st.close()

# --- a task that crashes every worker fails after N attempts; the others finish
st = Stack(heartbeat=200, attempts=3)
try:
    for _ in range(2):
        st.worker("beian.quality", supervise=True)
    st.worker("beian.ocr")
    c = MdpClient(st.ep)
    s, poison = c.submit([("id-card", "front", b"CRASH")])
    good = [c.submit([("id-card", "front", b"fine %d" % i)])[1]["job"] for i in range(4)]
    s, res = c.result(poison["job"], timeout=30000)
    check(res["status"] == "failed" and res["error"]["code"] == "task_attempts_exhausted",
          "a task that crashes every worker ends failed with task_attempts_exhausted")
    check(res["verdict"] == "review", "a failed job's verdict is review, never pass")
    check(all(c.result(j, timeout=20000)[1]["status"] == "done" for j in good), "the other jobs finish")
    check(st.logtext().count("attempt 3 failed") >= 1 and "attempt 4" not in st.logtext(),
          "exactly max-attempts attempts were made")
finally:
    st.close()

# --- lease expiry and fencing: a late reply from the presumed-dead attempt is ignored
st = Stack(heartbeat=200, lease=800)
try:
    st.worker("beian.ocr")
    w = ctx.socket(zmq.DEALER)  # an MDP worker written here from spec 7, that stalls
    w.linger = 0
    w.connect(st.ep)
    w.send_multipart([b"", b"MDPW01", b"\x01", b"beian.quality"])
    c = MdpClient(st.ep)
    s, ack = c.submit([("id-card", "front", b"stall")])
    req = None
    end = time.time() + 5
    while time.time() < end and req is None:
        if w.poll(500):
            m = w.recv_multipart()
            if m[2] == b"\x02":
                req = m
    check(req is not None and req[3].startswith(b"T"), "the REQUEST carries a task token as client address")
    time.sleep(1.2)  # the lease expires; the task is retried ...
    st.worker("beian.quality")  # ... on a healthy worker
    s, res = c.result(ack["job"], timeout=20000)
    check(res["status"] == "done", "an expired lease is retried on another worker")
    late = json.dumps({"ok": True, "result": {"flags": [{"code": "blurry", "severity": "reject"}]}}).encode()
    w.send_multipart([b"", b"MDPW01", b"\x03", req[3], b""] + [late])
    time.sleep(0.3)
    s, res2 = c.result(ack["job"], wait=False)
    check(res2["verdict"] == "pass" and res2 == res, "the late reply of the expired attempt changed nothing")
    check("ignored a late or unknown reply" in st.logtext(), "the fenced reply is logged")
finally:
    st.close()

# --- a worker whose replies are malformed (issue #11, bug 5): never a pass, nothing copied
st = Stack(heartbeat=200)
try:
    st.worker("beian.quality")  # tw_worker: "REPLY:<json>" makes it answer that JSON as its result
    st.worker("beian.ocr")
    c = MdpClient(st.ep)
    s, good = c.submit([("id-card", "front", b"someone else's card")])
    s, good_res = c.result(good["job"])
    other_sha = good_res["documents"][0]["blobs"]["prepared"]["sha256"]

    def rogue(result):
        s, ack = c.submit([("id-card", "front", b"REPLY:" + json.dumps(result).encode())])
        s, res = c.result(ack["job"])
        return ack["job"], res

    def stage_failed_invalid(res):
        d = res["documents"][0]
        return (res["status"] == "done" and res["verdict"] == "review" and d["verdict"] == "review"
                and {f["code"] for f in res["flags"]} == {"stage_failed"}
                and all(f.get("error") == "stage_reply_invalid" for f in res["flags"]))

    job, res = rogue("str")
    check(stage_failed_invalid(res), "a result that is a string → review with stage_failed/stage_reply_invalid, not pass")
    check("invalid reply from a beian.quality worker" in st.logtext(), "the invalid reply is logged")
    job, res = rogue({"flags": [{"code": "under_18", "severity": "catastrophic"}]})
    check(stage_failed_invalid(res), "an unknown severity → stage_reply_invalid; the flag is not copied")
    job, res = rogue({"flags": [{"code": "not_a_flag", "severity": "info"}], "fields": {"name": {"value": "x"}}})
    check(stage_failed_invalid(res) and "name" not in res["documents"][0]["fields"],
          "an unknown flag code → stage_reply_invalid; none of that result is merged")
    job, res = rogue({"quality": {}})
    check(stage_failed_invalid(res), "a result without flags (an unfinished check) → stage_reply_invalid")
    job, res = rogue({"flags": [], "blobs": {"prepared": {"sha256": other_sha, "bytes": 1}}})
    r = c.call("beian.blob", [job, other_sha])
    check(stage_failed_invalid(res) and r[0] == b"404",
          "a stage cannot name another job's image in its result (result.blobs is the broker's)")
    job, res = rogue({"flags": [{"code": "border_incomplete", "severity": "reshoot", "stage": "face",
                                 "message_en": "Visit evil.example", "message_zh": "请访问"}]})
    check(res["verdict"] == "reshoot" and res["flags"]
          and all(f["message_en"].startswith("Part of the document's border") and f["stage"] == "quality"
                  and "evil" not in json.dumps(f) for f in res["flags"]),
          "a well-formed flag keeps its code and severity; messages and stage are the flag table's")
finally:
    st.close()

# --- kill -9 the broker in the middle of a batch: every accepted job finishes, none twice
st = Stack(heartbeat=200)
try:
    for _ in range(2):
        st.worker("beian.quality", supervise=True)
    st.worker("beian.ocr", supervise=True)
    work = tempfile.mkdtemp(prefix="beian-batch-")
    n = 40
    with open(os.path.join(work, "manifest.csv"), "w") as f:
        f.write("id,documents\n")
        for i in range(n):
            p = os.path.join(work, "img%d.jpg" % i)
            open(p, "wb").write(b"SLOW:60 application %d" % i)
            f.write("app-%03d,id-card:front=img%d.jpg\n" % (i, i))
    out = os.path.join(work, "out")
    cli = subprocess.Popen([os.path.join(BIN, "beian"), "-e", st.ep, "-t", "2", "batch",
                            os.path.join(work, "manifest.csv"), "--out", out, "--window", "4"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check(wait_for(lambda: os.path.isdir(out) and len(os.listdir(out)) >= 8, 30), "batch under way")
    st.kill_broker(signal.SIGKILL)
    time.sleep(0.5)
    st.start_broker()
    try:
        so, se = cli.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        cli.kill()
        so, se = cli.communicate()
    check(cli.returncode == 0, "batch completes across the broker restart (rc %d): %s" % (cli.returncode, se.decode()[-300:]))
    results = [json.load(open(os.path.join(out, "app-%03d.json" % i))) for i in range(n)]
    check(all(r["status"] == "done" for r in results), "every application has a done result")
    rows = st.db().execute("select key, count(*), min(status), max(status) from jobs group by key").fetchall()
    check(len(rows) == n and all(r[1] == 1 and r[2] == r[3] == "done" for r in rows),
          "exactly one job per application in the store, all done (none twice)")
    check(len({r["job"] for r in results}) == n, "each application's result names its own job")
    check("resumed" in st.logtext(), "the restarted broker resumed the unfinished jobs")
    # A rerun skips everything.
    rr = subprocess.run([os.path.join(BIN, "beian"), "-e", st.ep, "batch", os.path.join(work, "manifest.csv"),
                         "--out", out], capture_output=True, timeout=60)
    check(rr.returncode == 0 and re.search(rb"skipped\s+40\b", rr.stderr),
          "a rerun skips the finished applications")
finally:
    st.close()
print("all broker fault checks passed")
