"""Security baseline: tcp endpoints only with CURVE and a running ZAP authenticator, an
allow-list of keys, and workers limited to the services their certificates name."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import BIN, Stack, _procs, check, free_port, keygen, require_binaries, wait_for  # noqa: E402

require_binaries("beiand", "beian", "tw_worker")
beian = os.path.join(BIN, "beian")


keys = tempfile.mkdtemp(prefix="beian-keys-")
allow = os.path.join(keys, "allow")
os.mkdir(allow)
pub = {}
for name, services in [("broker", None), ("client", None), ("worker", "beian.quality,beian.ocr,beian.face"),
                       ("rogue", "beian.ocr"), ("stranger", None)]:
    pub[name] = keygen(keys, name, *(["--services", services] if services else []))
check(all(len(k) == 40 for k in pub.values()), "keygen writes Z85 key pairs")
check(oct(os.stat(os.path.join(keys, "client.key_secret")).st_mode & 0o777) == "0o600", "secret files are 0600")
for name in ("client", "worker", "rogue"):
    shutil.copy(os.path.join(keys, name + ".key"), allow)

# Plain TCP is refused outright.
d = tempfile.mkdtemp()
r = subprocess.run([os.path.join(BIN, "beiand"), "--dir", d, "--bind", "tcp://127.0.0.1:%d" % free_port()],
                   capture_output=True, timeout=10)
check(r.returncode != 0 and b"tcp_requires_curve" in r.stderr, "beiand refuses a tcp endpoint without CURVE")

port = free_port()
ep = "tcp://127.0.0.1:%d" % port
st = Stack(heartbeat=300, extra=["--bind", ep, "--curve-cert", os.path.join(keys, "broker.key_secret"),
                                 "--allow", allow, "--bind", "ipc://{dir}/beiand.sock"])
# (the ipc bind keeps Stack's readiness probe simple; the checks below use tcp only)
try:
    def worker(service, cert):
        p = subprocess.Popen([os.path.join(BIN, "tw_worker"), "--connect", ep, "--service", service,
                              "--server-key", pub["broker"], "--cert", os.path.join(keys, cert + ".key_secret"),
                              "--heartbeat", "300", "--no-supervise"], stdout=st.log, stderr=st.log)
        _procs.append(p)
        st.workers.append(p)

    worker("beian.quality", "worker")
    worker("beian.ocr", "worker")
    worker("beian.quality", "rogue")  # its certificate names only beian.ocr
    check(wait_for(lambda: "certificate does not name this service" in st.logtext(), 10),
          "a worker may register only for the services its certificate names")
    img = os.path.join(keys, "card.jpg")
    open(img, "wb").write(b"card")
    r = subprocess.run([beian, "-e", ep, "--server-key", pub["broker"], "--cert", os.path.join(keys, "client.key_secret"),
                        "-t", "10", "submit", "--doc", "id-card=" + img, "--wait", "--json"], capture_output=True, timeout=60)
    check(r.returncode == 0 and json.loads(r.stdout)["status"] == "done", "an allowed client submits over CURVE")
    # Issue #11: a refused handshake is reported at once, with a stable code, not after the
    # timeout as "no answer".
    t0 = time.time()
    r = subprocess.run([beian, "-e", ep, "--server-key", pub["broker"], "--cert", os.path.join(keys, "stranger.key_secret"),
                        "-t", "30", "submit", "--doc", "id-card=" + img], capture_output=True, timeout=60)
    check(r.returncode == 2 and b"auth_refused" in r.stderr and b"--allow" in r.stderr and time.time() - t0 < 10,
          "a client whose key is not allowed: exit 2, auth_refused naming --allow, in %.1f s (%r)"
          % (time.time() - t0, r.stderr[-200:]))
    check("not in the allow list" in st.logtext(), "the refusal is logged")
    for cmd in (["status", "0" * 32], ["result", "0" * 32, "--wait"]):
        r = subprocess.run([beian, "-e", ep, "--server-key", pub["broker"], "--cert",
                            os.path.join(keys, "stranger.key_secret"), "-t", "30"] + cmd, capture_output=True, timeout=60)
        check(r.returncode == 2 and b"auth_refused" in r.stderr, "beian %s with a refused key: auth_refused" % cmd[0])
    t0 = time.time()
    r = subprocess.run([beian, "-e", ep, "--server-key", pub["stranger"], "--cert", os.path.join(keys, "client.key_secret"),
                        "-t", "30", "submit", "--doc", "id-card=" + img], capture_output=True, timeout=60)
    check(r.returncode == 2 and b"handshake_failed" in r.stderr and b"--server-key" in r.stderr and time.time() - t0 < 10,
          "a wrong --server-key: exit 2, handshake_failed naming --server-key, in %.1f s (%r)"
          % (time.time() - t0, r.stderr[-200:]))
    r = subprocess.run([beian, "-e", ep, "-t", "2", "submit", "--doc", "id-card=" + img], capture_output=True, timeout=60)
    check(r.returncode == 2 and b"tcp_requires_curve" in r.stderr, "a client without CURVE keys cannot use a tcp endpoint")
finally:
    st.close()
    shutil.rmtree(keys, ignore_errors=True)
print("all CURVE checks passed")
