"""Domain certificates (issue #12 parts 1 and 4), end to end: generated certificates in the field
tests' styles (tests/specgen `--set domain`: 阿里云-style Chinese, 新网-style bilingual, English)
read their fields through `beian check` as a PNG and as a PDF, and through beiand and its
workers; every planted problem raises its flag on the certificate (domain_expired,
domain_expires_soon, tld_not_filable, registrar_not_mainland with the form's province,
form_mismatch_domain with the form's domain) and a good certificate raises none. The held-out
styles are left to `beian eval ocr` (docs/OCR.md). All certificates are synthetic."""
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import BIN, SRC, Stack, check, require_binaries  # noqa: E402

require_binaries("beiand", "beian", "beian-quality", "beian-ocr")
beian = os.path.join(BIN, "beian")
work = tempfile.mkdtemp(prefix="beian-domain-")
# beian check and beiand judge dates by the real clock: the certificates are drawn around today
TODAY = dt.datetime.now(dt.timezone.utc).date().isoformat()
r = subprocess.run(["/usr/bin/python3", os.path.join(SRC, "tests", "specgen", "specgen.py"), "--out", work, "--seed", "1",
                    "--set", "domain", "--today", TODAY], capture_output=True, timeout=300)
check(r.returncode == 0, "specgen --set domain: %s" % r.stderr.decode()[-300:])
samples = json.load(open(os.path.join(work, "index.json")))["samples"]
check({s["style"] for s in samples} == {"aliyun", "xinnet", "english_sans"}, "the field tests' styles only")
truths = {s["name"]: json.load(open(os.path.join(work, s["name"] + ".json"))) for s in samples}
KEYS = ("domain", "holder", "holder_en", "registrar", "registered_on", "expires_on", "certificate_no")


def form_file(t, form=None):
    p = os.path.join(work, t["name"] + ".form.json")
    json.dump(form if form is not None else t["form"], open(p, "w"), ensure_ascii=False)
    return p


def run_check(t, form=None):
    r = subprocess.run([beian, "check", "--doc", "domain-certificate=" + os.path.join(work, t["image"]), "--form",
                        form_file(t, form), "--json"], capture_output=True, timeout=300)
    check(r.returncode == 0, "beian check %s: rc %d %s" % (t["image"], r.returncode, r.stderr.decode()[-300:]))
    return json.loads(r.stdout)


def fields(res):
    f = res["documents"][0].get("fields", {})
    return {k: (f.get(k) or {}).get("value") for k in KEYS if k in f}


def codes(res, stage=None):
    return [f["code"] for f in res["documents"][0].get("flags", [])
            if stage is None or f.get("stage") == stage]


def first(pred):
    return next(t for t in truths.values() if pred(t))


# 1. Good certificates, a PNG download (新网 style: bilingual, holder_en) and a PDF: every printed
#    field read exactly, no flag of the ocr stage, the document passes; the face stage is not run.
for t in (first(lambda t: t["variant"] == "ok" and t["kind"] == "download" and t["style"] == "xinnet"),
          first(lambda t: t["variant"] == "ok" and t["kind"] == "pdf")):
    res = run_check(t)
    got = fields(res)
    check(got == t["fields"], "%s (%s, %s): fields %s" % (t["image"], t["style"], t["kind"],
                                                          {k: got.get(k) == v for k, v in t["fields"].items()}))
    check(codes(res, "ocr") == [] and res["documents"][0].get("verdict") == "pass",
          "%s: no flag, verdict pass (%s)" % (t["image"], codes(res)))
    check(json.loads(json.dumps(res)).get("face") in (None, {}), "no face stage for a certificate")
    if t["style"] == "xinnet":
        # a portrait page, black print with a red frame and seal on white: upright as it is (no
        # quarter turn from the outline's long side), prepared portrait, and no photocopy
        p = res["documents"][0].get("prepared", {})
        check("rotated" not in codes(res) and "photocopy" not in codes(res) and p.get("height", 0) > p.get("width", 0),
              "portrait certificate: not rotated, prepared %sx%s, no photocopy (%s)" % (p.get("width"), p.get("height"),
                                                                                      codes(res)))
    dom = res["documents"][0]["checks"]["domain"]
    check(dom["tld_filable"] is True and dom["days_left"] > 90, "checks.domain: filable TLD, days left")

# 2. Each planted problem raises its flag, on the field it is about.
WANT = {"expired": ("domain_expired", "expires_on"), "expiring": ("domain_expires_soon", "expires_on"),
        "tld": ("tld_not_filable", "domain"), "registrar": ("registrar_not_mainland", "registrar"),
        "form_domain": ("form_mismatch_domain", "domain")}
for variant, (code, field) in WANT.items():
    t = first(lambda t: t["variant"] == variant)
    form = dict(t["form"], province="11") if variant == "registrar" else None
    res = run_check(t, form)
    f = [x for x in res["documents"][0].get("flags", []) if x["code"] == code]
    check(f and f[0].get("field") == field and f[0].get("document") == 0 and f[0]["severity"] == "reject",
          "%s (%s): %s on %s, got %s" % (variant, t["image"], code, field, codes(res)))
    check(code in t["expected_flags"], "the truth names %s" % code)
# the same foreign registrar with no province on the form: not judged
t = first(lambda t: t["variant"] == "registrar")
check("registrar_not_mainland" not in codes(run_check(t, {"domain": t["form"]["domain"]})),
      "no province: the registrar rule is not judged")

# 3. Through the daemon: a PNG and a PDF with their forms, and an expired one.
st = Stack(heartbeat=500)
try:
    st.start_broker()
    for w in ("quality", "ocr"):
        st.worker("beian." + w, binary="beian-" + w, supervise=True)
    for t in (first(lambda t: t["variant"] == "ok" and t["kind"] == "download" and t["style"] == "aliyun"),
              first(lambda t: t["variant"] == "ok" and t["kind"] == "pdf"),
              first(lambda t: t["variant"] == "expired")):
        r = subprocess.run([beian, "-e", st.ep, "submit", "--doc", "domain-certificate=" + os.path.join(work, t["image"]),
                            "--form", form_file(t), "--wait", "--json"], capture_output=True, timeout=300)
        check(r.returncode == 0, "submit --wait %s: rc %d %s" % (t["image"], r.returncode, r.stderr.decode()[-300:]))
        res = json.loads(r.stdout)
        check(fields(res) == t["fields"], "beiand reads %s as printed" % t["image"])
        want = [c for c in t["expected_flags"]]
        check(codes(res, "ocr") == want, "beiand: flags %s, want %s" % (codes(res, "ocr"), want))
    log = st.logtext()
    check(t["fields"]["holder"] not in log and t["fields"]["domain"] not in log, "no holder or domain in the logs")
finally:
    st.close()
print("domain certificate checks done")
