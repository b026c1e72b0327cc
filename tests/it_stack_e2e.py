"""The real stack end to end: beiand with beian-quality, beian-ocr and beian-face on a generated
ID card; the daemon's result equals `beian check`'s for the same images, and the prepared images
come back through beian.blob."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import BIN, Stack, check, require_binaries  # noqa: E402

require_binaries("beiand", "beian", "beian-quality", "beian-ocr", "beian-face")
spec_dir = os.environ.get("BEIAN_SPECIMENS", "")
front = os.path.join(spec_dir, "0000-id-card-front-clean.jpg")
back = os.path.join(spec_dir, "0001-id-card-back-clean.jpg")
selfie = "/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg"
if not (os.path.exists(front) and os.path.exists(back) and os.path.exists(selfie)):
    print("SKIP: generated specimens (BEIAN_SPECIMENS) or the facedetect sample are missing")
    sys.exit(77)
truth = json.load(open(front[:-4] + ".json"))
beian = os.path.join(BIN, "beian")
args = ["--doc", "id-card:front=" + front, "--doc", "id-card:back=" + back, "--selfie", selfie, "--json"]

st = Stack(heartbeat=500)
try:
    for w in ("quality", "ocr", "face"):
        st.worker("beian." + w, binary="beian-" + w, supervise=True)
    out = os.path.join(st.dir, "out")
    r = subprocess.run([beian, "-e", st.ep, "submit"] + args + ["--wait", "--out", out], capture_output=True, timeout=300)
    check(r.returncode == 0, "submit --wait through the daemon: rc %d %s" % (r.returncode, r.stderr.decode()[-300:]))
    daemon = json.loads(r.stdout)
    check(daemon["status"] == "done" and daemon["verdict"] in ("pass", "review", "reshoot", "reject"), "job done with a verdict")
    check(daemon["documents"][0]["fields"].get("id_number", {}).get("value") == truth["fields"]["id_number"],
          "the ID number read through the daemon matches the ground truth")
    check("face" in daemon and "score" in daemon["face"], "the face block is present")
    prepared = os.path.join(out, "d0.prepared.jpg")
    check(os.path.exists(prepared) and open(prepared, "rb").read(3) == b"\xff\xd8\xff", "prepared JPEG fetched by beian.blob")
    r2 = subprocess.run([beian, "check"] + args, capture_output=True, timeout=300)
    check(r2.returncode == 0, "beian check runs in-process")
    local = json.loads(r2.stdout)

    def strip(res):
        """Everything but the job id and the stages' own timings must agree."""
        if isinstance(res, dict):
            return {k: strip(v) for k, v in res.items() if k not in ("job", "timing_ms")}
        if isinstance(res, list):
            return [strip(v) for v in res]
        return res
    check(strip(daemon) == strip(local), "daemon and beian check give the same result document")
    log = st.logtext()
    check(truth["fields"]["id_number"] not in log and truth["fields"]["name"] not in log,
          "no full ID number or name in the logs")
finally:
    st.close()
print("end-to-end checks passed")
