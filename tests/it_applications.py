#!/usr/bin/python3
"""Whole applications through `beian check` (issue 10: good specimen applications pass).

Generates a small set of good ID-card applications (front + back + selfie + form, specgen
`--set application --count 0.25` = 5 applications) and scores them with
tests/eval_applications.py: all but at most one must pass. Then deliberately broken copies of a
good application must NOT pass, each for the reason it was broken:
  * the form's name is another applicant's        -> form_mismatch_name
  * the form's ID number is another applicant's   -> form_mismatch_number
  * the selfie is another person (tests/data/astronaut.png, when present) -> face_mismatch
Skips (77) when beian is not built. Without Debian's facedetect example photo the cards carry a
silhouette and the applications have no selfie (the face check is then not part of the test).

The set is generated with --today = today: `beian check` judges expiry and age by the clock.
"""
import datetime as dt
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from beian_it import BIN, SRC, check, fail, require_binaries  # noqa: E402

require_binaries("beian")
PORTRAIT = "/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg"
ASTRONAUT = os.path.join(SRC, "tests", "data", "astronaut.png")
GEN = os.path.join(SRC, "tests", "specgen", "specgen.py")
EVAL = os.path.join(SRC, "tests", "eval_applications.py")
work = tempfile.mkdtemp(prefix="beian-apps-")


def add_years(d, n):
    try:
        return d.replace(year=d.year + n)
    except ValueError:
        return d.replace(year=d.year + n, day=28)


def good_card(f):
    """The truth describes a card that should pass (checked independently of the generator)."""
    n = f["id_number"]
    w = [2 ** (17 - i) % 11 for i in range(17)]
    if len(n) != 18 or not n[:17].isdigit() or "10X98765432"[sum(int(c) * k for c, k in zip(n, w)) % 11] != n[17]:
        return False
    birth = dt.date.fromisoformat(f["birth_date"])
    if n[6:14] != birth.strftime("%Y%m%d") or (int(n[16]) % 2 == 1) != (f["sex"] == "男"):
        return False
    today = dt.date.today()
    if add_years(birth, 18) > today:
        return False
    issue = dt.date.fromisoformat(f["valid_from"])
    age = issue.year - birth.year - ((issue.month, issue.day) < (birth.month, birth.day))
    span = 5 if age < 16 else 10 if age < 26 else 20 if age < 46 else None
    if span is None:
        return f["valid_until"] == "long-term"
    until = dt.date.fromisoformat(f["valid_until"])
    return until == add_years(issue, span) and (until - today).days >= 365


def score(d, extra=()):
    summary = os.path.join(work, "summary-%s.json" % os.path.basename(d))
    r = subprocess.run(["/usr/bin/python3", EVAL, "--dir", d, "--bin", BIN, "--json", summary] + list(extra),
                       capture_output=True, text=True, timeout=900)
    print(r.stdout)
    if r.returncode not in (0, 1) or not os.path.exists(summary):
        fail("eval_applications exited %d: %s" % (r.returncode, r.stderr[-2000:]))
    return r.returncode, json.load(open(summary, encoding="utf-8"))


try:
    apps = os.path.join(work, "apps")
    args = ["/usr/bin/python3", GEN, "--out", apps, "--seed", "10", "--set", "application", "--count", "0.25",
            "--today", dt.date.today().isoformat()]
    have_face = os.path.isfile(PORTRAIT)
    if have_face:
        args += ["--portraits", PORTRAIT]
    else:
        print("note: %s missing: applications without selfies" % PORTRAIT)
    for out in (apps, apps + "2"):
        g = subprocess.run(args[:3] + [out] + args[4:], capture_output=True, text=True, timeout=600)
        if g.returncode != 0:
            fail("specgen --set application: " + g.stderr[-2000:])
    names = sorted(n for n in os.listdir(apps) if n.startswith("app-"))
    check(len(names) == 5, "--count 0.25 makes 5 applications")
    same = all(filecmp.cmpfiles(os.path.join(apps, n), os.path.join(apps + "2", n),
                                sorted(os.listdir(os.path.join(apps, n))), shallow=False)[1:] == ([], [])
               for n in names) and filecmp.cmp(os.path.join(apps, "index.json"), os.path.join(apps + "2", "index.json"),
                                               shallow=False)
    check(same, "same seed and arguments: byte-identical applications")
    for n in names:
        files = set(os.listdir(os.path.join(apps, n)))
        want = {"front.jpg", "back.jpg", "form.json", "truth.json"} | ({"selfie.jpg"} if have_face else set())
        check(files == want, "%s holds %s" % (n, ", ".join(sorted(want))))
        t = json.load(open(os.path.join(apps, n, "truth.json"), encoding="utf-8"))
        form = json.load(open(os.path.join(apps, n, "form.json"), encoding="utf-8"))
        f = t["fields"]
        check(form == {"name": f["name"], "id_number": f["id_number"]} and t["front"]["side"] == "front"
              and t["back"]["side"] == "back" and {"issuing_authority", "valid_from", "valid_until"} <= set(f),
              "%s: form and truth agree (name, ID number, both sides' fields)" % n)
        check(good_card(f), "%s: a valid card: GB 11643 number = birth date and sex, lawful span, "
                            ">= 1 year left, adult" % n)

    # ---- the good applications: all but at most one pass ---------------------------------
    rc, s = score(apps, ["--min-pass", str(len(names) - 1)])
    npass = s["counts"]["pass"]
    check(rc == 0 and npass >= len(names) - 1,
          "%d/%d good applications pass (at least %d)" % (npass, len(names), len(names) - 1))

    # ---- broken applications must not pass ------------------------------------------------
    broken = os.path.join(work, "broken")
    os.makedirs(broken)
    good = s["applications"]
    base = next((a["name"] for a in good if a["verdict"] == "pass"), names[0])
    other = next(n for n in names if n != base)
    other_form = json.load(open(os.path.join(apps, other, "form.json"), encoding="utf-8"))
    expect = {}

    def copy(name, why):
        d = os.path.join(broken, name)
        shutil.copytree(os.path.join(apps, base), d)
        expect[name] = why
        return d

    d = copy("name-mismatch", "form_mismatch_name")
    form = json.load(open(os.path.join(d, "form.json"), encoding="utf-8"))
    form["name"] = other_form["name"] if other_form["name"] != form["name"] else form["name"] + "华"
    json.dump(form, open(os.path.join(d, "form.json"), "w", encoding="utf-8"), ensure_ascii=False)
    d = copy("number-mismatch", "form_mismatch_number")
    form = json.load(open(os.path.join(d, "form.json"), encoding="utf-8"))
    form["id_number"] = other_form["id_number"]
    json.dump(form, open(os.path.join(d, "form.json"), "w", encoding="utf-8"), ensure_ascii=False)
    if have_face and os.path.isfile(ASTRONAUT):
        d = copy("other-face", "face_mismatch")
        import cv2
        cv2.imwrite(os.path.join(d, "selfie.jpg"), cv2.imread(ASTRONAUT), [cv2.IMWRITE_JPEG_QUALITY, 92])
    else:
        print("note: no second face (tests/data/astronaut.png, scripts/fetch-testdata.sh): face case skipped")
    rc, s = score(broken)
    for a in s["applications"]:
        codes = [f["code"] for f in a["flags"]]
        check(a["verdict"] != "pass", "broken application %s does not pass (%s)" % (a["name"], a["verdict"]))
        check(expect[a["name"]] in codes, "%s raises %s (flags: %s)" % (a["name"], expect[a["name"]], codes))
    check(len(s["applications"]) == len(expect), "every broken application was scored")
finally:
    shutil.rmtree(work, ignore_errors=True)
print("it_applications: all passed")
