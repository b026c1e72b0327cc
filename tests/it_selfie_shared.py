"""The selfie leaves the spool when its job ends (face data, PIPL; docs/STORE.md) — but a spool
file is content-addressed, so the selfie's file may also be a document's: the same bytes sent
as a document and as the selfie (a portal that sends the card photo twice), or another job's
document. blob_refs holds one row per (file, job), so releasing the selfie's reference would
release the document's too, and the commit would unlink the document's image (the broker's
s_discard_selfie keeps it). Checked here after the job ends, after a kill -9 and the restart's
spool sweep (bd_store_sweep), through beian.blob and the spool itself:
  A: a job whose selfie is the same bytes as its own front document;
  B: a job whose selfie is the same bytes as job A's back document;
  C: a control, a selfie no document shares: its file does go."""
import hashlib
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import MdpClient, Stack, check, require_binaries, wait_for  # noqa: E402

require_binaries("beiand", "tw_worker")
FRONT, BACK, PASSPORT, OWN = (b"SLOW:1 %s %s" % (w, os.urandom(32).hex().encode())
                              for w in (b"front", b"back", b"passport", b"selfie"))


def sha(b):
    return hashlib.sha256(b).hexdigest()


st = Stack(heartbeat=200)
try:
    st.all_workers()
    c = MdpClient(st.ep)
    spool = os.path.join(st.state, "spool")
    subs = {"A": ([("id-card", "front", FRONT), ("id-card", "back", BACK)], FRONT),
            "B": ([("passport", "front", PASSPORT)], BACK),
            "C": ([("passport", "front", PASSPORT)], OWN)}
    jobs, results = {}, {}
    for name, (docs, selfie) in subs.items():
        s, ack = c.submit(docs, selfie=selfie)
        check(s == "200", "%s: submitted (%s)" % (name, s))
        jobs[name] = ack["job"]
        s, results[name] = c.result(ack["job"])
        check(s == "200" and results[name]["status"] == "done" and "face" in results[name],
              "%s: done, with a face block (the selfie was used)" % name)
    check(wait_for(lambda: not os.path.exists(os.path.join(spool, sha(OWN))), 3),
          "C: a selfie no document shares leaves the spool when its job ends")

    def kept(when):
        """Every document's image is in the spool, referenced by its job, and served."""
        refs = set(st.db().execute("select sha, job from blob_refs").fetchall())
        for name, (docs, _) in subs.items():
            for i, (_, side, data) in enumerate(docs):
                what = "%s %s: %s" % (name, side, when)
                prepared = results[name]["documents"][i]["blobs"]["prepared"]["sha256"]
                check(os.path.exists(os.path.join(spool, sha(data))) and (sha(data), jobs[name]) in refs,
                      "%s, the document's spool file and its reference are there" % what)
                r = c.call("beian.blob", [jobs[name], prepared])
                check(prepared == sha(data) and r is not None and r[0] == b"200" and r[1] == data,
                      "%s, beian.blob serves its image, the bytes submitted" % what)
        check((sha(BACK), jobs["B"]) not in refs and (sha(OWN), jobs["C"]) not in refs,
              "%s: B's and C's selfie references are gone (only A's document holds BACK)" % when)

    kept("after the jobs ended")
    st.kill_broker(signal.SIGKILL)
    st.start_broker()
    c = MdpClient(st.ep)
    check(wait_for(lambda: c.call("beian.status", [jobs["A"]], timeout=1000) is not None, 5), "the broker restarted")
    kept("after a kill -9 and the restart's spool sweep")
    check("FATAL" not in st.logtext(), "no fatal error in the broker's log")
finally:
    st.close()
print("all shared-selfie checks passed")
