"""Issue #11, bug 4: spool files are sealed (docs/STORE.md) and checked against their content
address. A spool file that was bit-flipped (fails authentication), truncated (fails
authentication) or swapped for another (authenticates, but does not match its name) after its
submission was acknowledged ends the job with the documented error store_corrupt (status
failed, verdict review) — never a verdict on bytes that are not the applicant's — when the
broker reads it from the spool (after a restart). A damaged result image is not downloaded
either (beian.blob answers 500 store_corrupt). The event is logged with the file name's prefix
only, and the same image uploaded again is stored afresh."""
import hashlib
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import zmq  # noqa: E402

from beian_it import MdpClient, Stack, check, require_binaries  # noqa: E402

require_binaries("beiand", "tw_worker")


def flip(path, at=100):
    with open(path, "r+b") as f:
        f.seek(at)
        b = f.read(1)
        f.seek(at)
        f.write(bytes([b[0] ^ 0x01]))


def sha(b):
    return hashlib.sha256(b).hexdigest()


def is_store_corrupt(res):
    return (res is not None and res["status"] == "failed" and res.get("error", {}).get("code") == "store_corrupt"
            and res["verdict"] == "review" and all(d["verdict"] == "review" for d in res["documents"]))


# Payloads of 64 KiB: above the broker's 8 KiB threshold, so a local worker is sent a reference.
docs = {k: os.urandom(64 * 1024) for k in ("flip", "swap_a", "swap_b", "fine")}
st = Stack(heartbeat=200, attempts=2)
try:
    spool = os.path.join(st.dir, "spool")
    c = MdpClient(st.ep)
    jobs = {}
    for k, data in docs.items():
        status, ack = c.submit([("passport", "front", data)])
        jobs[k] = ack["job"]
    check(all(os.path.exists(os.path.join(spool, sha(d))) for d in docs.values()),
          "acknowledged uploads are in the spool under their sha256")
    # Damage the spool after the acknowledgement, before any stage ran: one bit, and a swap.
    # The broker stops first: a running broker still holds the uploads it received and sends
    # those; after a restart it reads them from the spool.
    st.kill_broker()
    flip(os.path.join(spool, sha(docs["flip"])))
    a, b = os.path.join(spool, sha(docs["swap_a"])), os.path.join(spool, sha(docs["swap_b"]))
    os.rename(a, a + ".tmp")
    os.rename(b, a)
    os.rename(a + ".tmp", b)
    st.start_broker()
    c = MdpClient(st.ep)
    st.worker("beian.quality")
    st.worker("beian.ocr")
    results = {k: c.result(j)[1] for k, j in jobs.items()}
    check(is_store_corrupt(results["flip"]),
          "a bit-flipped spool file: the job fails store_corrupt with verdict review (got %s / %s)"
          % (results["flip"]["status"], results["flip"].get("error")))
    check(is_store_corrupt(results["swap_a"]) and is_store_corrupt(results["swap_b"]),
          "two swapped spool files: both jobs fail store_corrupt")
    check(results["fine"]["status"] == "done" and results["fine"]["verdict"] == "pass",
          "an intact upload in the same spool is processed as usual")
    log = st.logtext()
    check("does not match its content address" in log, "the damage is logged")
    check(sha(docs["flip"]) not in log and sha(docs["flip"])[:12] in log,
          "by the file name's prefix only")
    check(not os.path.exists(os.path.join(spool, sha(docs["flip"])))
          and os.path.exists(os.path.join(spool, sha(docs["flip"]) + ".corrupt")),
          "the damaged file is moved aside as <sha>.corrupt")
    status, ack = c.submit([("passport", "front", docs["flip"])])
    status, res = c.result(ack["job"])
    check(res["status"] == "done" and res["verdict"] == "pass", "the same image uploaded again is stored afresh and processed")

    # A result image (the test worker's "prepared" copy) damaged after the job: not downloaded.
    fine = results["fine"]
    prepared = fine["documents"][0]["blobs"]["prepared"]["sha256"]
    r = c.call("beian.blob", [jobs["fine"], prepared])
    check(r[0] == b"200" and sha(r[1]) == prepared, "beian.blob serves an intact result image")
    flip(os.path.join(spool, prepared))
    r = c.call("beian.blob", [jobs["fine"], prepared])
    check(r[0] == b"500" and json.loads(r[1])["error"]["code"] == "store_corrupt",
          "beian.blob of a damaged result image: 500 store_corrupt, not the damaged bytes")
finally:
    st.close()

# --- a truncated file after a restart: the broker maps it from the spool and sends it as bytes
st = Stack(heartbeat=200, attempts=2)
try:
    spool = os.path.join(st.dir, "spool")
    c = MdpClient(st.ep)
    data = os.urandom(64 * 1024)
    status, ack = c.submit([("passport", "front", data)])
    st.kill_broker()
    path = os.path.join(spool, sha(data))
    os.truncate(path, len(data) // 2)
    st.start_broker()
    os.environ["BEIAN_WORKER_NO_REFS"] = "1"  # a worker that takes bytes
    try:
        st.worker("beian.quality")
        st.worker("beian.ocr")
    finally:
        del os.environ["BEIAN_WORKER_NO_REFS"]
    c = MdpClient(st.ep)
    status, res = c.result(ack["job"])
    check(is_store_corrupt(res), "a spool file truncated across a restart, sent as bytes: store_corrupt (got %s / %s)"
          % (res["status"], res.get("error")))
finally:
    st.close()

# --- a worker's word alone does not fail a job: the broker checks the file itself. Payloads go
# by reference to files in the memory store only (spool files are sealed), so it runs there.
ctx = zmq.Context.instance()


def lying_worker(endpoint, stop, seen):
    """An MDP worker that takes references and claims store_corrupt for every one of them."""
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.connect(endpoint)
    s.send_multipart([b"", b"MDPW01", b"\x01", b"beian.quality", b"beian:refs"])
    last = time.time()
    while not stop.is_set():
        if s.poll(100):
            m = s.recv_multipart()
            if m[2] == b"\x02":
                token, header, frame = m[3], json.loads(m[5]), m[6]
                ref = (header.get("frame_refs") or [None])[0]
                seen.append(ref)
                if ref:
                    reply = {"ok": False, "error": {"code": "store_corrupt", "message": "says the worker"}}
                else:
                    reply = {"ok": True, "result": {"quality": {"bytes": len(frame)}, "flags": []}}
                s.send_multipart([b"", b"MDPW01", b"\x03", token, b"", json.dumps(reply).encode()])
        if time.time() - last > 0.2:
            s.send_multipart([b"", b"MDPW01", b"\x04"])
            last = time.time()
    s.send_multipart([b"", b"MDPW01", b"\x05"])
    s.close()


if not os.access("/dev/shm", os.W_OK):
    print("note: no writable /dev/shm: the memory store sends no references; the false-claim check is not run")
else:
    st = Stack(heartbeat=250, attempts=1, durable=False)
    stop = threading.Event()
    try:
        seen = []
        t = threading.Thread(target=lying_worker, args=(st.ep, stop, seen))
        t.start()
        st.worker("beian.ocr")
        time.sleep(0.3)
        c = MdpClient(st.ep)
        data = os.urandom(64 * 1024)
        status, ack = c.submit([("passport", "front", data)])
        status, res = c.result(ack["job"])
        check(seen and seen[0], "the worker was sent a reference")
        check(res["status"] == "done", "a worker that claims store_corrupt for an intact file: the broker checks, "
              "sends it the bytes, and the job completes (with --max-attempts 1: the claim cost no attempt)")
        check("reported a damaged payload file that is intact" in st.logtext(), "the false claim is logged")
    finally:
        stop.set()
        st.close()
print("all store_corrupt checks passed")
