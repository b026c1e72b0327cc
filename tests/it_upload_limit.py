"""Issue #11, bug 3: one upload limit, told up front. An image over broker.max_upload (default
30 MiB, the quality stage's decode cap) is refused by the CLI before anything is sent (exit 1,
upload_too_large, the limit in the message), and by the broker with 400 upload_too_large when
another client sends it — not dropped by the transport, which used to leave a 40 MiB upload
waiting 31 s for "no answer from the broker" (exit 2). The broker's frame cap lies above the
upload limit, and beiand refuses a configuration where it would not."""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import BIN, MdpClient, Stack, check, require_binaries  # noqa: E402

require_binaries("beiand", "beian", "tw_worker")
beian = os.path.join(BIN, "beian")
work = tempfile.mkdtemp(prefix="beian-upload-")
atexit.register(shutil.rmtree, work, True)
DEFAULT_LIMIT = 30 * 1024 * 1024


def sparse(name, size):
    """A file of `size` bytes without writing them (the CLI must judge it by its size)."""
    path = os.path.join(work, name)
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def run(*args, env=None, timeout=10):
    """Fails the test on a hang: before the fix the CLI waited 31 s for the broker."""
    t0 = time.time()
    try:
        r = subprocess.run([beian] + list(args), capture_output=True, timeout=timeout,
                           env=dict(os.environ, **(env or {})))
    except subprocess.TimeoutExpired:
        check(False, "beian %s answered within %d s" % (" ".join(args[:4]), timeout))
    return r, time.time() - t0


big = sparse("big.jpg", 40 * 1024 * 1024)  # the case: between the old 32 MiB frame cap and 64 MiB CLI cap
# Up front: the CLI judges the file before it connects (no broker listens here).
r, took = run("-e", "ipc://%s/nobody.sock" % work, "submit", "--doc", "id-card=" + big)
check(r.returncode == 1 and b"upload_too_large" in r.stderr and took < 5,
      "the CLI refuses a 40 MiB image before it talks to any broker (exit %d after %.1f s)" % (r.returncode, took))
st = Stack(heartbeat=200)
try:
    st.worker("beian.quality")
    st.worker("beian.ocr")
    r, took = run("-e", st.ep, "submit", "--doc", "id-card=" + big, "--wait", "--json")
    err = r.stderr.decode()
    check(r.returncode == 1 and took < 5, "a 40 MiB image: exit 1 (bad input) at once, not a wait for the broker "
          "(exit %d after %.1f s)" % (r.returncode, took))
    check("upload_too_large" in err and str(DEFAULT_LIMIT) in err and "broker.max_upload" in err and r.stdout == b"",
          "stderr names upload_too_large, the limit and its key; nothing on stdout")
    check(os.listdir(os.path.join(st.dir, "spool")) in ([], ["tmp"]),
          "nothing was sent")
    # A batch entry with such a file is bad input, reported with the code; the batch goes on.
    open(os.path.join(work, "ok.jpg"), "wb").write(b"fine bytes")
    with open(os.path.join(work, "apps.jsonl"), "w") as f:
        f.write(json.dumps({"id": "big", "documents": ["id-card=big.jpg"]}) + "\n")
        f.write(json.dumps({"id": "ok", "documents": ["id-card=ok.jpg"]}) + "\n")
    r, took = run("-e", st.ep, "batch", os.path.join(work, "apps.jsonl"), "--out", os.path.join(work, "out"), timeout=30)
    out = os.path.join(work, "out")
    big = json.load(open(os.path.join(out, "big.json")))
    check(r.returncode == 1 and b"big: bad application (upload_too_large)" in r.stderr
          and json.load(open(os.path.join(out, "ok.json")))["status"] == "done"
          and (big["status"], big["error"]["code"]) == ("input_error", "upload_too_large"),
          "batch: the entry is skipped as upload_too_large (an input_error record), the rest runs")

    # The broker says the same to a client that does not check (a stock MDP client): the
    # 40 MiB frame is received (the frame cap lies above the limit) and refused, with the limit.
    c = MdpClient(st.ep)
    t0 = time.time()
    status, body = c.submit([("id-card", "front", b"\0" * (40 * 1024 * 1024))])
    check(status == "400" and body["error"]["code"] == "upload_too_large" and time.time() - t0 < 5,
          "broker: a 40 MiB image from a stock client → 400 upload_too_large at once (got %s)" % status)
    check(str(DEFAULT_LIMIT) in body["error"]["message"] and "broker.max_upload" in body["error"]["message"],
          "broker: the message gives the limit and its key: %s" % body["error"]["message"])
    status, body = c.submit([("id-card", "front", b"ok")])
    check(status == "200", "broker: and keeps serving")
finally:
    st.close()

# One configuration for both: broker.max_upload from the same file (small here, to be fast).
limit = 1 << 20
cfg = os.path.join(work, "beian.json")
json.dump({"broker": {"max_upload": limit}}, open(cfg, "w"))
st = Stack(heartbeat=200, extra=["--config", cfg])
try:
    st.worker("beian.quality")
    st.worker("beian.ocr")
    at = open(os.path.join(work, "at.jpg"), "wb")
    at.write(os.urandom(limit))
    at.close()
    over = sparse("over.jpg", limit + 1)
    r, _ = run("-e", st.ep, "submit", "--doc", "id-card=" + os.path.join(work, "at.jpg"), "--wait", "--json",
               env={"BEIAN_CONFIG": cfg}, timeout=30)
    check(r.returncode == 0 and json.loads(r.stdout)["status"] == "done", "an image of exactly broker.max_upload bytes is accepted")
    r, _ = run("-e", st.ep, "submit", "--doc", "id-card=" + over, env={"BEIAN_CONFIG": cfg})
    check(r.returncode == 1 and b"upload_too_large" in r.stderr and str(limit).encode() in r.stderr,
          "$BEIAN_CONFIG: the CLI applies the configured limit")
    r, _ = run("--config", cfg, "-e", st.ep, "submit", "--doc", "id-card=" + over)
    check(r.returncode == 1 and b"upload_too_large" in r.stderr, "beian --config: the same")
    c = MdpClient(st.ep)
    status, body = c.submit([("id-card", "front", b"x" * 100), ("id-card", "back", b"y" * (limit + 1))])
    check(status == "400" and body["error"]["code"] == "upload_too_large" and body["error"]["message"].startswith("image 2 "),
          "broker: the configured limit, per image, naming the image")
finally:
    st.close()

# beiand will not run with a frame cap at or below the upload limit: such an upload could only
# be dropped unanswered.
r = subprocess.run([os.path.join(BIN, "beiand"), "--dir", os.path.join(work, "var"), "--max-frame", "1000000",
                    "--max-upload", "1000000"], capture_output=True, timeout=10)
check(r.returncode == 1 and b"config_invalid" in r.stderr and b"broker.max_upload" in r.stderr,
      "beiand refuses --max-frame <= --max-upload (config_invalid)")
print("all upload limit checks passed")
