"""Issue #11, the store at rest (docs/STORE.md), through the real broker: after an application
with a form has gone through the stack, neither beian.db, its log nor the spool holds the
applicant's name, ID number or image bytes (all synthetic here); the store key is 0600; a
modified result reads as store_corrupt; and beiand refuses to start, with its own code and a
message that says what to do, on a wrong key (store_key_mismatch), a lost key
(store_key_missing), damaged database pages (store_db_corrupt) and an empty database beside a
spool with files (store_db_empty)."""
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import BIN, MdpClient, Stack, check, require_binaries  # noqa: E402

require_binaries("beiand", "tw_worker")

NAME = "测试甲乙"
IDNO = "110105194912310021"
MARK = b"SYNTHETIC-IMAGE-BYTES-it-7f3a"


def files_holding(d, needles):
    """Paths under d (the key file aside) whose bytes contain one of needles."""
    hits = []
    for root, _, names in os.walk(d):
        for n in names:
            p = os.path.join(root, n)
            if n == "beian.key" or n == "log.txt" or not os.path.isfile(p):
                continue
            data = open(p, "rb").read()
            hits += ["%s (%s)" % (os.path.relpath(p, d), x[:6]) for x in needles if x in data]
    return hits


def start_fails(d, code):
    """beiand on state dir d exits 1 at once, naming code; returns its stderr."""
    r = subprocess.run([os.path.join(BIN, "beiand"), "--dir", d, "--pub", "none"], capture_output=True, timeout=30)
    err = r.stderr.decode(errors="replace")
    return r.returncode == 1 and code in err and not os.path.exists(os.path.join(d, "beiand.sock")), err


st = Stack(heartbeat=200)
try:
    st.all_workers()
    c = MdpClient(st.ep)
    image = os.urandom(20000) + MARK * 100 + os.urandom(20000)
    form = {"name": NAME, "id_number": IDNO}
    status, ack = c.submit([("id-card", "front", image)], form=form)
    check(status == "200", "submitted an application with a form")
    status, res = c.result(ack["job"])
    check(status == "200" and res["status"] == "done", "it went through the stack")
    job = ack["job"]
    # The name as sent (JSON escapes it) and as UTF-8 (as a stage would write it).
    needles = [NAME.encode(), json.dumps(NAME)[1:-1].encode(), IDNO.encode(), MARK]
    st.kill_broker()  # SIGKILL: whatever is in the write-ahead log stays there
    hits = files_holding(st.dir, needles)
    check(not hits, "neither beian.db, its -wal nor the spool holds the name, the ID number or the image bytes %s" % hits)
    key = os.path.join(st.dir, "beian.key")
    check(stat.S_IMODE(os.stat(key).st_mode) == 0o600, "the store key was made at the first start, mode 0600")
    st.start_broker()
    c = MdpClient(st.ep)
    status, res2 = c.result(job)
    check(status == "200" and res2 == res, "after a restart the result reads back as it was")

    # A modified result: never served as the result.
    st.kill_broker()
    db = sqlite3.connect(os.path.join(st.dir, "beian.db"))
    (blob,) = db.execute("SELECT result FROM jobs WHERE id=?", (job,)).fetchone()
    check(isinstance(blob, bytes) and blob[:4] == b"bnr1", "the stored result is a sealed record")
    flipped = bytearray(blob)
    flipped[60] ^= 1
    db.execute("UPDATE jobs SET result=? WHERE id=?", (bytes(flipped), job))
    db.commit()
    db.close()
    st.start_broker()
    c = MdpClient(st.ep)
    status, res3 = c.result(job)
    check(status == "200" and res3.get("error", {}).get("code") == "store_corrupt" and NAME not in str(res3),
          "a modified result reads as store_corrupt (got %s)" % res3.get("error"))
    st.kill_broker()

    # Start errors. Each leaves the state as it found it.
    d = st.dir
    saved = open(key, "rb").read()
    with open(key, "w") as f:
        f.write("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n")
    ok, err = start_fails(d, "store_key_mismatch")
    check(ok and "wrong key file" in err, "another key in beian.key: refuses to start, store_key_mismatch")
    os.unlink(key)
    ok, err = start_fails(d, "store_key_missing")
    check(ok and "restore the key file" in err and not os.path.exists(key),
          "no beian.key but sealed records: refuses to start, store_key_missing, and makes no new key")
    with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
        f.write(saved)

    dbp = os.path.join(d, "beian.db")
    shutil.copy(dbp, dbp + ".bak")
    size = os.path.getsize(dbp)
    check(size >= 3 * 4096, "the database has pages to damage (%d bytes)" % size)
    with open(dbp, "r+b") as f:
        for off in range(4096, size - 4095, 4096):
            f.seek(off)
            f.write(b"\x5a" * 4096)
    ok, err = start_fails(d, "store_db_corrupt")
    check(ok and "quick_check" in err and "restore beian.db from a backup" in err,
          "damaged database pages: refuses to start, store_db_corrupt")
    os.truncate(dbp, 0)
    ok, err = start_fails(d, "store_db_empty")
    check(ok and os.path.join(os.path.realpath(d), "spool") in err and "image files" in err,
          "an empty beian.db beside a spool with files: refuses to start, store_db_empty, naming the spool")
    check(any(len(n) == 64 for n in os.listdir(os.path.join(d, "spool"))), "and the spool is left as it was")
    os.replace(dbp + ".bak", dbp)
    st.start_broker()
    c = MdpClient(st.ep)
    r = c.call("beian.status", [job])
    check(r is not None and r[0] == b"200", "with the database restored the broker starts and knows the job")
finally:
    st.close()
print("all at-rest checks passed")
