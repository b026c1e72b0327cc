"""Issue #11, bug 1: broker memory held by plain MDP requests and refused submits.

(a) Plain requests for a service with no worker count against broker.max_queued_bytes: the
    overflow is answered 503 busy at once and the broker's memory stays bounded. Before, they
    were queued uncounted and held forever (twenty 30 MiB requests: 624 MB after the client left).
(b) A plain request no worker takes within broker.request_timeout_ms is dropped and answered
    504 request_expired, and its bytes return to the budget.
(c) A submit that is refused writes nothing to the spool: frames the spec does not reference
    are refused before any blob is stored (before, they were written: 570 MB for nothing).
Small limits from a configuration file keep this fast and small (a few MiB)."""
import json
import os
import sys
import tempfile
import time

import zmq

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import MdpClient, Stack, check, require_binaries  # noqa: E402

require_binaries("beiand")
# Under AddressSanitizer freed memory waits in its quarantine (256 MB by default) instead of
# going back: the broker's RSS would measure ASan, not the budget. No quarantine for this test.
if "ASAN_OPTIONS" in os.environ:
    os.environ["ASAN_OPTIONS"] += ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
MIB = 1 << 20


def status_kb(pid, field):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def config(**broker):
    fd, path = tempfile.mkstemp(prefix="beian-budget-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump({"broker": broker}, f)
    return path


def replies(c, n, timeout):
    """Up to n replies within timeout seconds: [(status, json body, seconds after start)]."""
    out, t0 = [], time.time()
    while len(out) < n and time.time() - t0 < timeout:
        r = c.recv(int(max(1, (timeout - (time.time() - t0)) * 1000)))
        if r is None:
            break
        out.append((r[0].decode(), json.loads(r[1]) if len(r) > 1 else None,
                    time.time() - t0))
    return out


def spool_files(st):
    root = os.path.join(st.dir, "spool")
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


# --- (a) the budget, and (c) refused submits, on a broker that never expires within the test
cfg = config(max_queued_bytes=8 * MIB, request_timeout_ms=600000)
st = Stack(heartbeat=200, extra=["--config", cfg])
try:
    pid = st.broker.pid
    c = MdpClient(st.ep)
    check(c.call("mmi.service", ["nobody.echo"]) == [b"404"], "nobody serves nobody.echo")
    time.sleep(0.3)
    rss0 = status_kb(pid, "VmRSS")
    n, body = 64, os.urandom(MIB)
    for i in range(n):
        c.send("nobody.echo", [b"%d" % i, body])
    got = replies(c, n, 5)
    time.sleep(0.5)
    rss1, hwm = status_kb(pid, "VmRSS"), status_kb(pid, "VmHWM")
    print("# broker VmRSS %d -> %d KiB, VmHWM %d KiB" % (rss0, rss1, hwm))
    check(rss1 - rss0 < 32 * 1024, "broker RSS bounded: grew %d KiB for 64 MiB sent (budget 8 MiB)" % (rss1 - rss0))
    busy = [r for r in got if r[0] == "503"]
    check(len(busy) >= n - 8 and all(b and b["error"]["code"] == "busy" for _, b, _ in busy),
          "64 x 1 MiB plain requests, no worker, an 8 MiB budget: the overflow is answered 503 busy "
          "(%d of %d answered, %d busy)" % (len(got), n, len(busy)))
    check(busy and max(t for _, _, t in busy) < 3, "promptly (last refusal after %.2f s)" % max([0] + [t for _, _, t in busy]))
    c.sock.close()
    # The client is gone; its queued requests stay within the budget, and the broker serves others.
    c = MdpClient(st.ep)
    r = c.call("nobody.echo", ["x", os.urandom(4 * MIB)], timeout=3000)
    check(r is not None and r[0] == b"503", "the budget still holds after the client left: a 4 MiB request is refused")

    # (c) a refused submit costs no disk
    before = spool_files(st)
    extra = [os.urandom(256 * 1024) for _ in range(4)]
    spec = {"documents": [{"type": "id-card", "side": "front", "blob": 1}]}
    r = c.call("beian.submit", [json.dumps(spec)] + extra, timeout=5000)
    check(r is not None and r[0] == b"400" and json.loads(r[1])["error"]["code"] == "bad_request"
          and "frame 2" in json.loads(r[1])["error"]["message"],
          "a submit with frames the spec does not reference is refused 400 bad_request, naming the frame (%s)"
          % (r[:2] if r else None))
    time.sleep(0.3)  # past the turn's commit, when staged blobs would have been renamed into spool/
    check(spool_files(st) == before, "and left no file in the spool (before %d, after %d)"
          % (len(before), len(spool_files(st))))
    r = c.call("beian.submit", [json.dumps({"documents": {}})] + extra, timeout=5000)
    time.sleep(0.3)
    check(r is not None and r[0] == b"400" and spool_files(st) == before, "an invalid spec: 400, nothing in the spool")
    r = c.call("beian.submit", [json.dumps(spec), extra[0]], timeout=5000)
    check(r is not None and r[0] == b"200", "a submit that references its one frame is accepted")
finally:
    st.close()
    os.unlink(cfg)

# --- (b) queued plain requests expire
cfg = config(max_queued_bytes=4 * MIB, request_timeout_ms=1000)
st = Stack(heartbeat=200, extra=["--config", cfg])
try:
    c = MdpClient(st.ep)
    for i in range(3):
        c.send("nobody.echo", [b"%d" % i, os.urandom(MIB)])
    got = replies(c, 3, 6)
    check(len(got) == 3 and all(s == "504" and b["error"]["code"] == "request_expired" for s, b, _ in got),
          "3 requests no worker takes are answered 504 request_expired (%s)" % [(s, b) for s, b, _ in got])
    check(all(0.9 <= t < 4 for _, _, t in got), "after broker.request_timeout_ms (1000): %s s"
          % ["%.2f" % t for _, _, t in got])
    for i in range(3):
        c.send("nobody.echo", [b"%d" % i, os.urandom(MIB)])
    got = replies(c, 3, 0.6)
    check(got == [], "their bytes went back to the budget (4 MiB): 3 x 1 MiB more are queued, none refused (%s)"
          % [s for s, _, _ in got])
    check("expired a request for nobody.echo" in st.logtext(), "the broker logs the expiry")
finally:
    st.close()
    os.unlink(cfg)
