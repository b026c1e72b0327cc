"""Large payloads by reference: a worker on the broker's host that says so in READY
(BN_READY_REFS) is pointed at the payload's file instead of being sent the bytes, in the memory
store; one that cannot read the file says blob_unreachable and gets the bytes, without that
counting as an attempt; stock workers and small payloads always get bytes. The durable store's
spool files are sealed (docs/STORE.md): there every payload goes as bytes. The worker here is
written from the protocol text (docs/PROTOCOL.md), not with beian's C runtime."""
import json
import os
import sys
import threading
import time

import zmq

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import MdpClient, Stack, check, fnv1a, require_binaries, wait_for  # noqa: E402

require_binaries("beiand", "tw_worker")
ctx = zmq.Context.instance()


def ref_worker(endpoint, service, refs, seen, stop, unreachable_once=False):
    """An MDP worker: records each REQUEST's header and payload frame, reads a referenced
    payload from its file, answers with a beian reply (or blob_unreachable, once)."""
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.connect(endpoint)
    s.send_multipart([b"", b"MDPW01", b"\x01", service.encode()] + ([b"beian:refs"] if refs else []))
    refused = False
    last = time.time()
    while not stop.is_set():
        if s.poll(100):
            m = s.recv_multipart()
            if m[2] == b"\x05":
                break
            if m[2] != b"\x02":
                continue
            token, header, frame = m[3], json.loads(m[5]), m[6]
            ref = (header.get("frame_refs") or [None])[0]
            data = frame
            if ref:
                data = None
                for p in ref["paths"]:
                    try:
                        with open(p, "rb") as f:
                            f.seek(ref["offset"])
                            data = f.read(ref["bytes"])
                        break
                    except OSError:
                        pass
            seen.append({"ref": ref, "frame_len": len(frame), "data": data})
            if unreachable_once and ref and not refused:
                refused = True
                reply = {"ok": False, "error": {"code": "blob_unreachable", "message": "test"}}
            else:
                reply = {"ok": True, "result": {"quality": {"bytes": len(data or b""), "fnv1a": fnv1a(data or b"")},
                                                "flags": []}}
            s.send_multipart([b"", b"MDPW01", b"\x03", token, b"", json.dumps(reply).encode()])
        if time.time() - last > 0.2:
            s.send_multipart([b"", b"MDPW01", b"\x04"])
            last = time.time()
    s.send_multipart([b"", b"MDPW01", b"\x05"])  # DISCONNECT: the broker forgets us at once
    s.close()


big = os.urandom(300 * 1024)
small = os.urandom(2000)


def run(durable):
    mode = "durable" if durable else "memory"
    # One attempt: a counted refusal would fail the job. The durable broker gets a relative
    # --dir: the paths it names must still be absolute (workers run in other directories).
    st = Stack(heartbeat=250, attempts=1, durable=durable, extra=["--dir", "{reldir}"] if durable else None)
    stop = threading.Event()
    seen = []
    try:
        t = threading.Thread(target=ref_worker, args=(st.ep, "beian.quality", True, seen, stop, True))
        t.start()
        st.worker("beian.ocr")  # the C runtime: refs over ipc
        time.sleep(0.3)
        c = MdpClient(st.ep)
        status, ack = c.submit([("passport", "front", big), ("passport", "front", small)])
        check(status == "200", "%s: submitted" % mode)
        status, res = c.result(ack["job"])
        check(status == "200" and res["status"] == "done",
              "%s: the job is done with --max-attempts 1, so the refused attempt did not count" % mode)
        by_ref = [x for x in seen if x["ref"]]
        if durable:
            check(not by_ref and any(x["frame_len"] == len(big) and x["data"] == big for x in seen),
                  "durable: spool files are sealed, so the large payload goes as bytes, not by reference")
            docs = res["documents"]
            check(all(d["quality"]["fnv1a"] == fnv1a(p) for d, p in zip(docs, (big, small))),
                  "durable: both stages saw every payload intact")
            return
        check(len(by_ref) == 1 and by_ref[0]["frame_len"] == 0 and by_ref[0]["data"] == big,
              "%s: the large payload is named by file (empty frame), and the file holds its bytes" % mode)
        check(by_ref[0]["ref"]["bytes"] == len(big) and by_ref[0]["ref"]["offset"] % 4096 == 0,
              "%s: the reference gives size and a page-aligned offset" % mode)
        check(all(os.path.isabs(p) for p in by_ref[0]["ref"]["paths"]), "%s: its paths are absolute" % mode)
        if not durable:
            check(by_ref[0]["ref"]["paths"][0].startswith("/dev/shm/beiand."), "memory: the file is on tmpfs")
        resent = [x for x in seen if not x["ref"] and x["data"] == big]
        check(len(resent) == 1, "%s: after blob_unreachable the same task comes again with the bytes" % mode)
        check(any(not x["ref"] and x["data"] == small for x in seen), "%s: a small payload is sent as bytes" % mode)
        docs = res["documents"]
        check(all(d["quality"]["fnv1a"] == fnv1a(p) for d, p in zip(docs, (big, small))),
              "%s: both stages saw every payload intact (the C worker mapped the large one)" % mode)
        check("cannot read payload files" in st.logtext(), "%s: the fallback is logged" % mode)

        # A stock worker (no READY extension) always gets bytes.
        stop.set()
        t.join()
        stop.clear()
        seen.clear()
        t = threading.Thread(target=ref_worker, args=(st.ep, "beian.quality", False, seen, stop))
        t.start()
        time.sleep(0.3)
        status, ack = c.submit([("passport", "front", big)])
        status, res = c.result(ack["job"])
        check(status == "200" and res["status"] == "done" and seen and not seen[0]["ref"]
              and seen[0]["data"] == big, "%s: a stock worker receives the bytes" % mode)
        if not durable:
            pid = st.broker.pid
            check(wait_for(lambda: any(d.startswith("beiand.%d." % pid) for d in os.listdir("/dev/shm"))),
                  "memory: the broker's payload directory exists while it runs")
    finally:
        stop.set()
        st.close()
    if not durable:
        check(wait_for(lambda: not any(d.startswith("beiand.%d." % pid) for d in os.listdir("/dev/shm"))),
              "memory: and is gone when it stops")


if not os.access("/dev/shm", os.W_OK):
    print("note: no writable /dev/shm: memory-mode references not tested")
else:
    run(durable=False)
run(durable=True)
