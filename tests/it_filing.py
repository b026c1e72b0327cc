#!/usr/bin/python3
"""A whole ICP filing through the CLI (issue 12, "Done when"): `beian submit --doc
business-license=lic.pdf --doc domain-certificate=cert.png --doc id-card:front=... --doc
id-card:back=... --selfie me.jpg --form app.json --wait` against beiand with the real quality, ocr
and face workers returns one result whose verdict and flags name each problem and its document.

  * good: an enterprise's licence (a PDF of a clean specimen), a certificate whose holder is the
    licence's 名称, the person's ID front and back, the matching selfie -> pass, no reject flag
  * the certificate expired and held by another company -> domain_expired on the certificate,
    domain_holder_mismatch on it naming the licence (related_document)
  * the certificate expiring, its TLD not filable, a foreign registrar with Beijing as province
    -> domain_expires_soon, tld_not_filable, registrar_not_mainland on the certificate
  * the enterprise sends only the ID card -> certificate_type_mismatch on the ID front
  * a minor's number on the form with the card's back -> under_18 naming the back
Certificates are drawn here with tests/specgen/domaincert.py in the aliyun style (a field-test
style), the ID card application with specgen --set application. beiand judges dates by the real
clock, so everything is generated around today. All data are synthetic. Skips (77) without the
binaries or the specimens (BEIAN_SPECIMENS, for the licence).
"""
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from beian_it import BIN, SRC, Stack, check, fail, require_binaries  # noqa: E402

sys.path.insert(0, os.path.join(SRC, "tests", "specgen"))
import domaincert as DC  # noqa: E402

require_binaries("beiand", "beian", "beian-quality", "beian-ocr", "beian-face")
PORTRAIT = "/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg"
spec_dir = os.environ.get("BEIAN_SPECIMENS", "")
index = os.path.join(spec_dir, "index.json")
lic = [s for s in json.load(open(index))["samples"] if s["type"] == "business-license" and s.get("clean")] \
    if os.path.exists(index) else []
if not lic:
    print("SKIP: no clean business-license specimen (BEIAN_SPECIMENS)")
    sys.exit(77)
lic_json = json.load(open(os.path.join(spec_dir, lic[0]["name"] + ".json"), encoding="utf-8"))
lic_truth = lic_json["fields"]
beian = os.path.join(BIN, "beian")
today = dt.datetime.now(dt.timezone.utc).date()
t0 = time.monotonic()
work = tempfile.mkdtemp(prefix="beian-filing-")
st = None
try:
    portraits = ["--portraits", PORTRAIT] if os.path.isfile(PORTRAIT) else []
    g = subprocess.run(["/usr/bin/python3", os.path.join(SRC, "tests", "specgen", "specgen.py"), "--out", work,
                        "--seed", "12", "--set", "application", "--count", "0.05", "--today", today.isoformat()]
                       + portraits, capture_output=True, text=True, timeout=600)
    if g.returncode != 0:
        fail("specgen --set application: " + g.stderr[-2000:])
    app = os.path.join(work, "app-0000")
    person = json.load(open(os.path.join(app, "form.json"), encoding="utf-8"))
    selfie = os.path.join(app, "selfie.jpg")
    selfie = ["--selfie", selfie] if os.path.exists(selfie) else []
    front = "id-card:front=" + os.path.join(app, "front.jpg")
    back = "id-card:back=" + os.path.join(app, "back.jpg")

    licence = os.path.join(work, "lic.pdf")  # the flat licence as a scanner's one-page PDF
    Image.open(os.path.join(spec_dir, lic_json["flat"])).convert("RGB").save(licence, "PDF", resolution=300.0)
    lic_doc = "business-license=" + licence

    def cert(name, holder, **over):
        """A good aliyun-style certificate held by holder, with fields overridden (the problem)."""
        rng = random.Random("filing/" + name)
        f, extra = DC.make_values(rng, today, "aliyun")
        f.update(holder=holder, **over)
        p = os.path.join(work, name + ".png")
        Image.fromarray(DC.draw("aliyun", f, extra, rng)).save(p)
        return "domain-certificate=" + p, f["domain"]

    def submit(docs, **form):
        p = os.path.join(work, "app.json")
        form = dict({"entity_type": "有限责任公司", "company_name": lic_truth["name"],
                     "credit_code": lic_truth["credit_code"], "province": "11"}, **dict(person, **form))
        json.dump(form, open(p, "w"), ensure_ascii=False)
        args = [beian, "-e", st.ep, "submit"] + [a for d in docs for a in ("--doc", d)] + selfie \
            + ["--form", p, "--wait", "--json"]
        r = subprocess.run(args, capture_output=True, timeout=600)
        try:
            return json.loads(r.stdout)
        except ValueError:
            fail("submit --wait: rc %d %s" % (r.returncode, r.stderr.decode()[-300:]))

    def flag(res, code):
        return next((f for f in res["flags"] if f["code"] == code), None)

    def names(res):
        return sorted({f["code"] for f in res["flags"]})

    def on(res, code, doc, related=None, rtype=None):
        """code raised (reject) on document doc, naming the related document when given."""
        f = flag(res, code)
        check(f is not None and f["document"] == doc and f["severity"] == "reject" and f["message_zh"]
              and (related is None or (f.get("related_document") == related and f.get("related_type") == rtype)),
              "%s on document %d (%s)%s: %s" % (code, doc, res["documents"][doc]["type"],
                                               "" if related is None else " naming %d (%s)" % (related, rtype),
                                               json.dumps(f, ensure_ascii=False) if f else names(res)))
        check(res["documents"][doc]["verdict"] == "reject", "document %d rejected" % doc)

    st = Stack(heartbeat=500)
    for w in ("quality", "ocr", "face"):
        st.worker("beian." + w, binary="beian-" + w, supervise=True)
    t1 = time.monotonic()

    # (a) the good application
    good, good_domain = cert("good", lic_truth["name"])
    res = submit([lic_doc, good, front, back], domain=good_domain)
    check([d["type"] for d in res["documents"]] == ["business-license", "domain-certificate", "id-card", "id-card"],
          "one result, the four documents in order")
    # info flags only (a 200-dpi PNG of the tinted page is over the profile's bytes: file_too_large, info)
    check(res["verdict"] == "pass" and all(f["severity"] == "info" for f in res["flags"]),
          "the good application passes (verdict %s, flags %s)"
          % (res["verdict"], [(f["code"], f["severity"], f["document"]) for f in res["flags"]]))
    if selfie:
        check(res.get("face", {}).get("verdict", "pass") == "pass" and not flag(res, "face_mismatch"),
              "the selfie matches the ID front")

    # (b) planted problems, each flag on its document
    bad, domain = cert("expired", "上海博远数据服务有限公司", expires_on=today - dt.timedelta(days=30))
    res = submit([lic_doc, bad, front, back], domain=domain)
    on(res, "domain_expired", 1)
    on(res, "domain_holder_mismatch", 1, related=0, rtype="business-license")
    check(res["verdict"] == "reject", "expired, another holder: verdict reject")

    bad, domain = cert("tld", lic_truth["name"], domain="filing-test.io", registrar=DC.FOREIGN[0],
                       expires_on=today + dt.timedelta(days=30))
    res = submit([lic_doc, bad, front, back], domain=domain)
    for code in ("domain_expires_soon", "tld_not_filable", "registrar_not_mainland"):
        on(res, code, 1)
    check(not flag(res, "domain_holder_mismatch"), "the licence's company holds it: no holder flag")
    check(res["verdict"] == "reject", "expiring, .io, foreign registrar in Beijing: verdict reject")

    res = submit([front, back], domain=good_domain)
    on(res, "certificate_type_mismatch", 0, related=0, rtype="id-card")
    check(res["verdict"] == "reject", "an enterprise with an ID card only: verdict reject")

    birth = today.replace(year=today.year - 16, month=1, day=15)
    d17 = "110101" + birth.strftime("%Y%m%d") + "123"
    minor = d17 + "10X98765432"[sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(d17)) % 11]
    res = submit([lic_doc, good, back], domain=good_domain, id_number=minor)
    on(res, "under_18", 2, related=2, rtype="id-card")
    check(flag(res, "under_18").get("field") == "form.id_number", "under_18 from the form's number")
    check(res["verdict"] == "reject", "a minor in charge: verdict reject")

    log = st.logtext()
    check(person["id_number"] not in log and lic_truth["credit_code"] not in log and good_domain not in log,
          "no ID number, credit code or domain in the logs")
    print("timing: generation %.1fs, five submissions %.1fs" % (t1 - t0, time.monotonic() - t1))
finally:
    if st:
        st.close()
    shutil.rmtree(work, ignore_errors=True)
print("it_filing: all passed")
