"""beian keygen creates the secret key file owner-only from its first instant (issue #11): under
umask 022 the file used to be created 0644 (CZMQ's fopen) and chmod'ed to 0600 only after the key
was written. The mode a file is created with is an argument of the open() that creates it, so
the test reads it from a syscall trace (strace): no window of time to race against."""
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import BIN, check, require_binaries  # noqa: E402

require_binaries("beian")
beian = os.path.join(BIN, "beian")
strace = shutil.which("strace")
if not strace or subprocess.run([strace, "-o", os.devnull, "true"], capture_output=True).returncode != 0:
    print("SKIP: strace is missing or cannot trace here")
    sys.exit(77)

os.umask(0o022)  # a typical login umask: a file created 0666 comes out 0644
keys = tempfile.mkdtemp(prefix="beian-keygen-")
try:
    trace = os.path.join(keys, "trace.txt")
    # LeakSanitizer cannot run under ptrace (an ASan build); the run without strace below has it.
    env = dict(os.environ, ASAN_OPTIONS=(os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":"))
    r = subprocess.run([strace, "-f", "-o", trace, "-e", "trace=open,openat,creat", beian, "keygen", "alice",
                        "--dir", keys], capture_output=True, timeout=60, env=env)
    check(r.returncode == 0, "keygen alice under umask 022 (%r)" % r.stderr[-200:])
    secret = json.loads(r.stdout)["secret_file"]
    check(secret.endswith("alice.key_secret") and os.path.exists(secret), "it names the secret file it wrote")
    # The first open with O_CREAT creates the file: its mode argument is the file's mode (a
    # later O_CREAT open of the existing file, e.g. CZMQ's fopen, ignores its own).
    creations = [line for line in open(trace) if "alice.key_secret" in line and "O_CREAT" in line]
    check(creations, "the trace shows the secret file's creation")
    m = re.search(r"O_CREAT[^,]*,\s*(0[0-7]+)", creations[0])
    created = int(m.group(1), 8) & ~0o022 if m else 0o777
    check(created & 0o077 == 0, "created without group/world bits: %s (%s)"
          % ("%04o" % created if m else "no mode", creations[0].strip()[-90:]))
    check(stat.S_IMODE(os.stat(secret).st_mode) == 0o600, "the secret file ends 0600")
    check(os.path.exists(os.path.join(keys, "alice.key")), "the public file is written too")
    r = subprocess.run([beian, "keygen", "bob", "--dir", keys], capture_output=True, timeout=60)
    check(r.returncode == 0 and stat.S_IMODE(os.stat(os.path.join(keys, "bob.key_secret")).st_mode) == 0o600,
          "keygen without strace: 0600 too (%r)" % r.stderr[-200:])

    # An existing secret key is never replaced (it would keep its old mode through a truncating
    # open; and a key pair is not something to overwrite silently).
    before = open(secret, "rb").read()
    r = subprocess.run([beian, "keygen", "alice", "--dir", keys], capture_output=True, timeout=60)
    check(r.returncode == 1 and b"key_exists" in r.stderr and open(secret, "rb").read() == before,
          "keygen refuses to overwrite an existing secret key (exit 1, key_exists)")
finally:
    shutil.rmtree(keys, ignore_errors=True)
print("all keygen checks passed")
