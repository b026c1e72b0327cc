"""Shared harness for the integration tests (tests/it_*.py): start a real beiand and workers
in a temporary directory, talk to them over ZeroMQ with an MDP client written here from the
spec (independent of beian's C codec), and clean up every process on exit."""
import atexit
import errno
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import zmq

BIN = os.environ.get("BEIAN_BIN", os.path.join(os.path.dirname(__file__), "..", "build"))
SRC = os.environ.get("BEIAN_SRC", os.path.join(os.path.dirname(__file__), ".."))

_procs = []


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(_cleanup)


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok -", msg)


class Stack:
    """A broker (and workers) in a fresh state directory."""

    def __init__(self, heartbeat=300, lease=20000, attempts=3, extra=None, durable=True, preexec=None, state=None):
        """state: the broker's --dir when it must live elsewhere (a small filesystem of its own);
        by default self.dir, which holds the log in any case (a full state dir cannot take it)."""
        self.dir = tempfile.mkdtemp(prefix="beian-it-")
        self.state = state or self.dir
        self.ep = "ipc://%s/beiand.sock" % self.state
        self.args = ["--dir", self.state, "--heartbeat", str(heartbeat), "--lease", str(lease),
                     "--max-attempts", str(attempts)] + [a.replace("{dir}", self.state).replace("{reldir}", os.path.relpath(self.state))
                                                         for a in (extra or [])]
        if not durable:
            self.args += ["--store", "memory"]
        self.broker = None
        self.workers = []
        self.log = open(os.path.join(self.dir, "log.txt"), "ab")
        self.heartbeat = heartbeat
        self.preexec = preexec  # run in the broker's process before exec (e.g. a resource limit)
        self.start_broker()

    def start_broker(self):
        self.broker = subprocess.Popen([os.path.join(BIN, "beiand")] + self.args,
                                       stdout=self.log, stderr=self.log, preexec_fn=self.preexec)
        _procs.append(self.broker)
        sock = os.path.join(self.state, "beiand.sock")
        for _ in range(100):
            if os.path.exists(sock):
                return
            time.sleep(0.05)
        fail("beiand did not start: " + open(os.path.join(self.dir, "log.txt")).read()[-2000:])

    def kill_broker(self, sig=signal.SIGKILL):
        self.broker.send_signal(sig)
        self.broker.wait()
        try:
            os.unlink(os.path.join(self.state, "beiand.sock"))
        except FileNotFoundError:
            pass

    def worker(self, service="beian.quality", binary="tw_worker", supervise=False, extra=None):
        args = [os.path.join(BIN, binary), "--connect", self.ep, "--service", service,
                "--heartbeat", str(self.heartbeat)] + (extra or [])
        if not supervise:
            args.append("--no-supervise")
        p = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        _procs.append(p)
        self.workers.append(p)
        return p

    def all_workers(self, n=1):
        for _ in range(n):
            for s in ("beian.quality", "beian.ocr", "beian.face"):
                self.worker(s)

    def db(self):
        return sqlite3.connect(os.path.join(self.state, "beian.db"))

    def logtext(self):
        self.log.flush()
        return open(os.path.join(self.dir, "log.txt"), errors="replace").read()

    def close(self):
        for p in self.workers + [self.broker]:
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class MdpClient:
    """A Majordomo client following rfc.zeromq.org spec 7 (MDPC01), over DEALER."""

    def __init__(self, endpoint, ctx=None):
        self.ctx = ctx or zmq.Context.instance()
        self.endpoint = endpoint
        self.connect()

    def connect(self):
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        self.sock.connect(self.endpoint)

    def send(self, service, frames):
        self.sock.send_multipart([b"", b"MDPC01", service.encode()] +
                                 [f if isinstance(f, bytes) else f.encode() for f in frames])

    def recv(self, timeout=5000):
        if not self.sock.poll(timeout):
            return None
        msg = self.sock.recv_multipart()
        assert msg[0] == b"" and msg[1] == b"MDPC01", msg[:3]
        return msg[3:]

    def call(self, service, frames, timeout=5000):
        self.send(service, frames)
        r = self.recv(timeout)
        if r is None:  # Lazy Pirate: abandon the socket so a late reply cannot confuse us
            self.sock.close()
            self.connect()
        return r

    def submit(self, docs, selfie=None, options=None, form=None, timeout=5000):
        """docs: list of (type, side, bytes). Returns (status, body)."""
        spec = {"documents": [], "options": options or {}}
        frames = []
        for t, side, data in docs:
            frames.append(data)
            spec["documents"].append({"type": t, "side": side, "blob": len(frames)})
        if selfie is not None:
            frames.append(selfie)
            spec["selfie"] = len(frames)
        if form:
            spec["form"] = form
        r = self.call("beian.submit", [json.dumps(spec).encode()] + frames, timeout)
        if r is None:
            return None, None
        return r[0].decode(), json.loads(r[1])

    def result(self, job, wait=True, timeout=20000):
        r = self.call("beian.result", [job, "wait"] if wait else [job], timeout)
        if r is None:
            return None, None
        return r[0].decode(), json.loads(r[1])


def wait_for(pred, timeout=10.0, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def keygen(keys, name, *args):
    """`beian keygen NAME --dir KEYS ARGS...`: the pair is written to KEYS; returns the public key."""
    out = subprocess.run([os.path.join(BIN, "beian"), "keygen", name, "--dir", keys] + list(args),
                         capture_output=True, check=True).stdout
    return json.loads(out)["public"]


def fnv1a(b):
    """FNV-1a 64 of bytes as 16 hex digits: what tw_worker answers for a payload."""
    h = 14695981039346656037
    for x in b:
        h = ((h ^ x) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def private_tmpfs(size_mb):
    """A small filesystem of the test's own, for a disk that can truly be full: the test runs
    again inside a private mount namespace (`unshare -rm`: root of a user namespace of its own)
    where a tmpfs of size_mb is mounted; every broker restart and worker of that run sees it,
    and it goes with the namespace. Returns its path, or None (after a note) where namespaces
    or the mount are not allowed."""
    mnt = os.environ.get("BEIAN_IT_TMPFS")
    if mnt:  # the run inside the namespace
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0700" % size_mb, "tmpfs", mnt],
                           capture_output=True, text=True)
        if r.returncode == 0:
            return mnt
        why = r.stderr.strip()
    else:
        mnt = tempfile.mkdtemp(prefix="beian-tmpfs-")
        try:
            r = subprocess.run(["unshare", "-rm", "true"], capture_output=True, text=True)
            if r.returncode == 0:
                sys.exit(subprocess.run(["unshare", "-rm", sys.executable] + sys.argv,
                                        env=dict(os.environ, BEIAN_IT_TMPFS=mnt)).returncode)
            why = r.stderr.strip()
        except OSError as e:  # no unshare(1)
            why = str(e)
        finally:
            os.rmdir(mnt)
    print("note: no private tmpfs (%s)" % why)
    return None


def free_bytes(path):
    v = os.statvfs(path)
    return v.f_bavail * v.f_frsize


def fill(fd, path, leave=0):
    """Grows the ballast file fd until path's filesystem has at most `leave` bytes free
    (0: a write of one more block fails ENOSPC)."""
    while free_bytes(path) > leave:
        try:
            os.posix_fallocate(fd, os.fstat(fd).st_size, free_bytes(path) - leave)
        except OSError as e:  # somebody else took some meanwhile
            if e.errno != errno.ENOSPC:
                raise


def enospc(path):
    """Whether a 4 KiB write to a new file in path fails for want of space (a full filesystem)."""
    probe = os.path.join(path, "enospc-probe")
    try:
        with open(probe, "wb") as f:
            f.write(b"x" * 4096)
            f.flush()
        return False
    except OSError as e:
        return e.errno == errno.ENOSPC
    finally:
        if os.path.exists(probe):
            os.unlink(probe)



def gateway_token(tokens, tenant):
    """A bearer token for tenant, added to the gateway's tokens file (printed once)."""
    r = subprocess.run([os.path.join(BIN, "beian-gateway"), "--tokens", tokens, "--add-token", "--tenant", tenant],
                       capture_output=True, check=True)
    return r.stdout.decode().strip()


def start_gateway(st, tokens, cfg=None):
    """beian-gateway in front of st's broker on a free port; returns its base URL once it answers."""
    port = free_port()
    args = [os.path.join(BIN, "beian-gateway"), "--endpoint", st.ep, "--tokens", tokens, "--listen", "127.0.0.1:%d" % port]
    gw = subprocess.Popen(args + (["--config", cfg] if cfg else []), stdout=st.log, stderr=st.log)
    _procs.append(gw)
    base = "http://127.0.0.1:%d" % port
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/v1/applications", timeout=1)
        except urllib.error.HTTPError:
            break
        except OSError:
            time.sleep(0.05)
    return gw, base


def multipart(parts):
    """parts: [(name, bytes)] -> (body, content type) of a multipart/form-data request."""
    boundary = uuid.uuid4().hex
    out = b""
    for name, data in parts:
        out += (b"--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                b"Content-Type: application/octet-stream\r\n\r\n" % (boundary.encode(), name.encode(), name.encode()))
        out += data + b"\r\n"
    out += b"--%s--\r\n" % boundary.encode()
    return out, "multipart/form-data; boundary=" + boundary

def require_binaries(*names):
    for n in names:
        if not os.path.exists(os.path.join(BIN, n)):
            print("SKIP: %s not built in %s" % (n, BIN))
            sys.exit(77)
