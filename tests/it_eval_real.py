"""`beian eval real DIR...` end to end on a tiny synthetic DIR: a GROUND_TRUTH.json (the real-photo
format of ../shared/data/real) over three specgen images. The report's numbers must be the ones
`beian check --doc TYPE:SIDE=FILE --json` gives for the same images, scored in Python here;
values never appear in the output (even -v -v); usage errors exit 1. No ../shared needed."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import BIN, SRC, check, fail, require_binaries  # noqa: E402

require_binaries("beian")
beian = os.path.join(BIN, "beian")
work = tempfile.mkdtemp(prefix="beian-evalreal-")
TODAY = "2026-11-28"


def run(*args, timeout=600):
    return subprocess.run([beian] + list(args), capture_output=True, timeout=timeout)


try:
    spec = os.path.join(work, "spec")
    g = subprocess.run(["/usr/bin/python3", os.path.join(SRC, "tests", "specgen", "specgen.py"), "--out", spec,
                        "--seed", "3", "--set", "ocr", "--count", "0.1", "--types", "id-card,business-license"],
                       capture_output=True, timeout=600)
    if g.returncode != 0:
        fail("specgen: " + g.stderr.decode(errors="replace")[-2000:])
    samples = json.load(open(os.path.join(spec, "index.json")))["samples"]

    def pick(type_, side, kinds):
        for s in samples:
            if s["type"] == type_ and s["side"] == side and any(s["name"].endswith(k) for k in kinds):
                return s
        fail("no %s %s sample in the generated set" % (type_, side))

    front, back = pick("id-card", "front", ["-clean"]), pick("id-card", "back", ["-clean"])
    lic = pick("business-license", "front", ["-expired", "-clean", "-mild"])
    d = os.path.join(work, "real")
    os.makedirs(os.path.join(d, "images"))
    truth = {s["name"]: json.load(open(os.path.join(spec, s["name"] + ".json"))) for s in (front, back, lic)}
    ff, bf, lf = (truth[s["name"]]["fields"] for s in (front, back, lic))
    # file names as real sets have them: one carries an ID number (must be masked in the report)
    files = {front["name"]: "images/TestData_%s.jpg" % ff["id_number"], back["name"]: "images/back.jpg",
             lic["name"]: "images/licence.jpg"}
    for s in (front, back, lic):
        shutil.copy(os.path.join(spec, s["image"]), os.path.join(d, files[s["name"]]))

    def cn(date):
        y, m, dd = date.split("-")
        return "%s年%s月%s日" % (y, m, dd)

    def dots(date):
        return "长期" if date == "long-term" else date.replace("-", ".")

    gt = [
        {"file": files[front["name"]], "type": "id-card", "side": "front",
         "fields": dict(ff, nickname="x"),
         "checks": {"id_check_digit_valid": True, "id_birth_matches_printed": True},
         "acceptable": True, "reasons": []},
        {"file": files[back["name"]], "type": "id-card", "side": "back",
         "fields": {"authority": bf["issuing_authority"],
                    "validity": dots(bf["valid_from"]) + "-" + dots(bf["valid_until"])},
         "checks": {}, "acceptable": True, "reasons": []},
        {"file": files[lic["name"]], "type": "business-license",
         "fields": {"credit_code": lf["credit_code"], "name": lf["name"], "type": lf["type"],
                    "legal_representative": lf["legal_representative"],
                    "registered_capital": lf["registered_capital"], "address": lf["address"],
                    "date_of_establishment": lf["established_date"],
                    "business_term": cn(lf["established_date"]) + "至" +
                    ("长期" if lf["valid_until"] == "long-term" else cn(lf["valid_until"])),
                    "issue_date": "unreadable", "registration_number": "not_printed"},
         "credit_code_check": {"standard": "GB 32100", "validates": True},
         "acceptable": False, "reasons": ["photocopy"]},
        # the same front again, marked as a bad check digit and unacceptable
        {"file": files[front["name"]], "type": "id-card", "side": "front",
         "fields": {"name": "unreadable", "id_number": ff["id_number"]},
         "checks": {"id_check_digit_valid": False, "id_birth_matches_printed": None},
         "acceptable": False, "reasons": ["glare", "blurry"]},
        {"file": "images/missing.jpg", "type": "id-card", "side": "front", "fields": {"name": "x"},
         "acceptable": True, "reasons": []},
    ]
    json.dump(gt, open(os.path.join(d, "GROUND_TRUTH.json"), "w"), ensure_ascii=False)

    # ---- usage -----------------------------------------------------------------------------
    r = run("eval", "real")
    check(r.returncode == 1 and b"usage" in r.stderr, "eval real without DIR → 1 with usage")
    r = run("eval", "real", work)
    check(r.returncode == 1 and b"GROUND_TRUTH.json" in r.stderr, "DIR without GROUND_TRUTH.json → 1, named")
    r = run("eval", "real", "--today", "28.11.2026", d)
    check(r.returncode == 1 and b"--today" in r.stderr, "bad --today → 1")
    r = run("eval", "real", "--help")
    check(r.returncode == 0 and b"usage" in r.stdout, "eval real --help")

    # ---- the reference: beian check on each image, scored here -----------------------------------
    ref = {}
    for s in (front, back, lic):
        side = s["side"]
        r = run("check", "--doc", "%s:%s=%s" % (s["type"], side, os.path.join(d, files[s["name"]])), "--json")
        if r.returncode != 0:
            fail("beian check: " + r.stderr.decode(errors="replace"))
        ref[files[s["name"]]] = json.loads(r.stdout)

    def norm(v, upper=False):
        v = "".join(chr(ord(c) - 0xFEE0) if 0xFF01 <= ord(c) <= 0xFF5E else c for c in v)
        v = re.sub(r"[\s\u3000\u00a0]", "", v)
        v = re.sub("[\u2012-\u2015\u2212]", "-", v)
        return v.upper() if upper else v

    def ours(doc, key):
        v = (doc["fields"].get(key) or {}).get("value")
        return v if isinstance(v, str) and v else None

    OURS = {"authority": "issuing_authority", "date_of_establishment": "established_date"}

    def score(e, doc):
        """ok per scored GT key, as bn_real_eval documents it"""
        out = {}
        for k, v in e["fields"].items():
            if k == "nickname" or v in ("unreadable", "not_printed"):
                continue
            if k == "validity":
                f, u = v.split("-", 1)
                want_u = "long-term" if u == "长期" else u.replace(".", "-")
                out[k] = ours(doc, "valid_from") == f.replace(".", "-") and ours(doc, "valid_until") == want_u
            elif k == "business_term" and ours(doc, "business_term"):
                out[k] = norm(ours(doc, "business_term")) == norm(v)
            elif k == "business_term":
                end = v.split("至")[1]
                want = "long-term" if end == "长期" else "%s-%s-%s" % tuple(re.findall(r"\d+", end))
                out[k] = ours(doc, "valid_until") == want
            else:
                o = ours(doc, OURS.get(k, k))
                up = k in ("id_number", "credit_code", "registration_number")
                out[k] = o is not None and norm(o, up) == norm(v, up)
        return out

    # ---- the eval, --json -v -------------------------------------------------------------
    r = run("eval", "real", "--json", "-v", "--today", TODAY, d)
    check(r.returncode == 0, "eval real --json → 0 (with one missing image)")
    s = json.loads(r.stdout)
    per = s["per_image"]
    check(s["images"] == 5 and s["errors"] == 1 and len(per) == 5, "5 images, 1 error (the missing file)")
    n_all = ok_all = 0
    for e, rec in zip(gt, per):
        if e["file"] not in ref:
            check("error" in rec and rec["fields"] == [], "the missing image is an error and not scored")
            continue
        res = ref[e["file"]]
        doc = res["documents"][0]
        want = score(e, doc)
        got = {x["key"]: x["ok"] for x in rec["fields"]}
        check(got == want, "%s: fields ok/miss as beian check's result gives (%d fields)" % (rec["label"], len(want)))
        check(rec["verdict"] == res["verdict"], "%s: verdict %s as beian check" % (rec["label"], res["verdict"]))
        check(sorted(f["code"] for f in rec["flags"]) == sorted(f["code"] for f in doc["flags"]),
              "%s: the document's flags" % rec["label"])
        n_all += len(want)
        ok_all += sum(want.values())
    f = s["fields"]
    check(f["all"]["n"] == n_all and f["all"]["exact"] == ok_all,
          "all fields: %d/%d, the sum of the scored fields" % (ok_all, n_all))
    check(sum(k["n"] for k in f["keys"]) == n_all and sum(k["n"] for k in f["kinds"].values()) == n_all,
          "per-key and per-kind counts add up")
    check(f["unreadable"] == 1 + 1 and f["not_printed"]["n"] == 1, "unreadable and not_printed are not scored")
    check(f["unmapped"] == {"id-card.nickname": 1}, "a ground-truth key without a mapping is reported")
    q = s["quality"]
    check(q["acceptable"] == 2 and q["unacceptable"] == 2, "acceptable / unacceptable counts (errors excluded)")
    check(q["caught_by_reason"]["glare"]["n"] == 1 and q["caught_by_reason"]["photocopy"]["n"] == 1,
          "per-reason counts")
    vt = s["verdicts"]
    check(sum(vt["acceptable"].values()) == 2 and sum(vt["unacceptable"].values()) == 2, "verdict table sums")
    rules = {x["rule"]: x for x in s["validation"]}
    check(rules["id_check_digit"]["expected"] == 1 and rules["id_check_digit"]["negatives"] == 1,
          "check-digit expectation from checks.id_check_digit_valid")
    lic_expired = lf["valid_until"] != "long-term" and lf["valid_until"] < TODAY
    lic_doc = ref[files[lic["name"]]]["documents"][0]
    x = rules["business_term_ended"]
    check(x["expected"] == int(lic_expired) and x["raised"] == int(lic_expired and any(
        fl["code"] == "expired" for fl in lic_doc["flags"])), "business-term expiry expectation (--today)")
    check(s["today"] == TODAY and s["time"]["cpu_per_image_s"] > 0, "today and time reported")

    # ---- text, -v -v: masked only ------------------------------------------------------------
    r = run("eval", "real", "-v", "-v", "--today", TODAY, d)
    out = r.stdout.decode()
    check(r.returncode == 0 and "Fields" in out and "Verdicts" in out and "Time:" in out, "text report")
    leaked = [k for e in gt for k, v in e["fields"].items()
              if isinstance(v, str) and len(v) >= 2 and v not in ("unreadable", "not_printed") and v in out]
    check(not leaked, "no field value in the -v -v report (leaked keys: %s)" % leaked)
    check(ff["id_number"] not in out + r.stderr.decode() and "TestData_999999999999999999.jpg" in out,
          "an ID number in a file name is masked")
    check("truth '" in out and "字" in out, "masked values shown with -v -v")

    # ---- filters ---------------------------------------------------------------------------
    r = run("eval", "real", "--json", "--only", "licence", d)
    s = json.loads(r.stdout)
    check(s["images"] == 1 and s["types"] == {"business-license": 1}, "--only SUBSTRING filters files")
    r = run("eval", "real", "--json", "--limit", "2", d, d)
    check(json.loads(r.stdout)["images"] == 2, "--limit N over several DIRs")
finally:
    shutil.rmtree(work, ignore_errors=True)
print("it_eval_real: all passed")
