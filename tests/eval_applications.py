#!/usr/bin/python3
"""Score whole applications with `beian check`: ID card front + back + selfie + form.

    eval_applications.py --dir DIR [--bin BUILD_DIR_OR_BEIAN] [--min-pass K] [--jobs N]
                         [--raw] [--save] [--json FILE] [-v]

DIR holds one directory per application (made by `specgen.py --set application`: app-NNNN/
with front.jpg, back.jpg, selfie.jpg, form.json, truth.json); every subdirectory with a
front.jpg is an application (selfie.jpg, form.json and truth.json are used when present). Each
runs

    beian check --doc id-card:front=front.jpg --doc id-card:back=back.jpg
                --selfie selfie.jpg --form form.json --json

and the report gives the verdict counts and, for every application that does not pass, its
verdict and the flags behind it: code, severity, document (type:side) or face, field(s),
metric/threshold, and — from truth.json — the true value beside the value read (`--raw` also
asks the OCR stage for the raw text, BEIAN_OCR_DEBUG=""; the data is synthetic).

Exit status 0 (a report), 1 with --min-pass K when fewer than K applications pass, 2 for bad
usage (no applications, no beian binary). --json FILE writes the per-application summary,
--save writes each application's result document to <app>/result.json.

Note: `beian check` judges expiry and age by today's date (it has no --now); generate the set
with `specgen.py --today` near the day it is scored (valid cards have >= 1 year left).
"""
import argparse
import concurrent.futures as cf
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VERDICTS = ["pass", "review", "reshoot", "reject", "error"]


def find_beian(b):
    if b is None:
        b = os.environ.get("BEIAN_BIN") or os.path.join(HERE, "..", "build")
    if os.path.isdir(b):
        b = os.path.join(b, "beian")
    return os.path.abspath(b)              # beian runs in each application's directory


def applications(d):
    out = []
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if os.path.isdir(p) and os.path.isfile(os.path.join(p, "front.jpg")):
            out.append(p)
    return out


def run_check(beian, app, raw, save, timeout):
    cmd = [beian, "check", "--doc", "id-card:front=front.jpg"]
    if os.path.isfile(os.path.join(app, "back.jpg")):
        cmd += ["--doc", "id-card:back=back.jpg"]
    if os.path.isfile(os.path.join(app, "selfie.jpg")):
        cmd += ["--selfie", "selfie.jpg"]
    if os.path.isfile(os.path.join(app, "form.json")):
        cmd += ["--form", "form.json"]
    cmd.append("--json")
    env = dict(os.environ)
    if raw:
        env["BEIAN_OCR_DEBUG"] = ""      # empty: raw text in the fields, no debug images written
    else:
        env.pop("BEIAN_OCR_DEBUG", None)
    try:
        r = subprocess.run(cmd, cwd=app, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return None, "timed out after %d s" % timeout
    except OSError as e:
        return None, "cannot run %s: %s" % (beian, e)
    if r.returncode != 0:
        return None, "beian check exited %d: %s" % (r.returncode, r.stderr.decode(errors="replace").strip()[-500:])
    try:
        res = json.loads(r.stdout)
    except ValueError as e:
        return None, "unparsable JSON: %s" % e
    if save:
        with open(os.path.join(app, "result.json"), "w", encoding="utf-8") as f:
            json.dump(res, f, ensure_ascii=False, indent=1)
    return res, None


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def doc_label(res, i):
    try:
        d = res["documents"][i]
        return "%s:%s" % (d["type"], d.get("side") or "front")
    except (KeyError, IndexError, TypeError):
        return "document %s" % i


def truth_side(truth, side):
    if not truth:
        return {}
    return (truth.get(side) or {}).get("fields") or {}


def read_value(doc, key):
    f = (doc.get("fields") or {}).get(key)
    if not isinstance(f, dict):
        return None
    return f


def show_value(v):
    return "(missing)" if v is None else repr(v)


def field_line(doc, key, truth_fields, form=None):
    """'key: truth 'X', read 'Y' conf 0.93 raw 'Z'' for one field."""
    f = read_value(doc, key) if doc else None
    parts = ["%s:" % key]
    if key in truth_fields:
        parts.append("truth %s," % show_value(truth_fields[key]))
    if f is None:
        parts.append("read (missing)")
    else:
        parts.append("read %s" % show_value(f.get("value")))
        if f.get("confidence") is not None:
            parts.append("conf %.3f" % f["confidence"])
        if "raw" in f:
            parts.append("raw %s" % show_value(f["raw"]))
    if form is not None:
        parts.append("| form %s" % show_value(form))
    return " ".join(parts)


FORM_FIELD = {"form_mismatch_name": "name", "form_mismatch_number": "id_number", "form_mismatch_address": "address"}


def flag_text(res, fl):
    where = "face" if fl.get("stage") == "face" else doc_label(res, fl["document"]) if "document" in fl else "job"
    s = "%s [%s] %s" % (fl.get("code"), fl.get("severity"), where)
    if fl.get("subject"):
        s += " subject=%s" % fl["subject"]
    if fl.get("field"):
        s += " field=%s" % fl["field"]
    if fl.get("fields"):
        s += " fields=%s" % ",".join(fl["fields"])
    for k in ("metric", "threshold"):
        if fl.get(k) is not None:
            s += " %s=%s" % (k, fl[k])
    for k in ("cause", "legible", "related_document", "reason", "error", "detail"):
        if k in fl:
            s += " %s=%s" % (k, fl[k])
    return s


def flag_fields(fl):
    out = list(fl.get("fields") or [])
    if fl.get("field"):
        out.append(fl["field"])
    return [f.split("/")[-1] for f in out]


def summarise(app, res, err):
    """-> dict: name, verdict, per-part verdicts, face score, flags (codes, where, fields)."""
    name = os.path.basename(app)
    if res is None:
        return {"name": name, "verdict": "error", "error": err, "flags": []}
    docs = res.get("documents") or []
    face = res.get("face") or {}
    flags = []
    for fl in res.get("flags") or []:
        where = "face" if fl.get("stage") == "face" else doc_label(res, fl["document"]) if "document" in fl else "job"
        flags.append({"code": fl.get("code"), "severity": fl.get("severity"), "where": where,
                      "fields": flag_fields(fl), "subject": fl.get("subject")})
    parts = {doc_label(res, i): d.get("verdict") for i, d in enumerate(docs)}
    return {"name": name, "verdict": res.get("verdict") or "error", "parts": parts,
            "face_verdict": face.get("verdict"), "face_score": face.get("score"),
            "liveness": (face.get("liveness") or {}).get("score"), "flags": flags}


def details(app, res, truth, form, verbose):
    """Lines explaining one application's result."""
    lines = []
    docs = res.get("documents") or []
    explained = set()
    for fl in res.get("flags") or []:
        lines.append("  " + flag_text(res, fl))
        if "document" in fl and 0 <= fl["document"] < len(docs):
            doc = docs[fl["document"]]
            tf = truth_side(truth, doc.get("side") or "front")
            keys = flag_fields(fl)
            if fl.get("code") in FORM_FIELD and not keys:
                keys = [FORM_FIELD[fl["code"]]]
            for k in keys:
                fv = (form or {}).get(k) if fl.get("code", "").startswith("form_mismatch") else None
                lines.append("      " + field_line(doc, k, tf, fv))
                explained.add((fl["document"], k))
            ch = (doc.get("checks") or {})
            if fl.get("code", "").startswith("form_mismatch") and ch.get("form"):
                lines.append("      checks.form %s" % json.dumps(ch["form"], ensure_ascii=False))
            if fl.get("code") == "validity_span_invalid" and ch.get("validity_span"):
                lines.append("      checks.validity_span %s" % json.dumps(ch["validity_span"], ensure_ascii=False))
        if fl.get("stage") == "face":
            face = res.get("face") or {}
            sub = fl.get("subject") or "selfie"
            fb = face.get("%s_face" % ("document" if sub == "document" else "selfie"))
            lines.append("      face score=%s match=%s liveness=%s %s_face=%s"
                         % (face.get("score"), face.get("match"), (face.get("liveness") or {}).get("score"),
                            sub, json.dumps(fb, ensure_ascii=False)))
    # fields read differently from the truth that no flag named
    for i, doc in enumerate(docs):
        tf = truth_side(truth, doc.get("side") or "front")
        for k, v in tf.items():
            if (i, k) in explained:
                continue
            f = read_value(doc, k)
            got = f.get("value") if f else None
            if got != v or verbose:
                tag = "ok" if got == v else "differs from truth (no flag)" if got is not None else "not read (no flag)"
                lines.append("  %s %s: %s" % (doc_label(res, i), tag, field_line(doc, k, tf)))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True, help="directory of applications (specgen --set application)")
    ap.add_argument("--bin", default=None, help="build directory or beian binary (default $BEIAN_BIN, else ../build)")
    ap.add_argument("--min-pass", type=int, default=None, help="exit 1 when fewer than K applications pass")
    ap.add_argument("--jobs", type=int, default=1, help="applications checked in parallel (default 1)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per beian check (default 300)")
    ap.add_argument("--raw", action="store_true", help="ask the OCR stage for raw text (BEIAN_OCR_DEBUG='')")
    ap.add_argument("--save", action="store_true", help="write each result document to <app>/result.json")
    ap.add_argument("--json", metavar="FILE", help="write the per-application summary as JSON")
    ap.add_argument("-v", "--verbose", action="store_true", help="details of every application, also passes")
    a = ap.parse_args()
    beian = find_beian(a.bin)
    if not os.access(beian, os.X_OK):
        print("eval_applications: no beian binary at %s (--bin)" % beian, file=sys.stderr)
        return 2
    if not os.path.isdir(a.dir):
        print("eval_applications: %s is not a directory" % a.dir, file=sys.stderr)
        return 2
    apps = applications(a.dir)
    if not apps:
        print("eval_applications: no applications (subdirectories with front.jpg) in %s" % a.dir, file=sys.stderr)
        return 2
    with cf.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        results = list(ex.map(lambda p: run_check(beian, p, a.raw, a.save, a.timeout), apps))

    rows = []
    print("eval_applications: %d applications in %s (%s)" % (len(apps), a.dir, beian))
    print()
    print("%-16s %-8s %-8s %-8s %-8s %-6s %-5s  %s" % ("application", "verdict", "front", "back", "face",
                                                       "score", "live", "flags"))
    for app, (res, err) in zip(apps, results):
        s = summarise(app, res, err)
        rows.append(s)
        parts = s.get("parts") or {}
        fs = ", ".join("%s(%s%s)" % (f["code"], f["where"], (" " + ",".join(f["fields"])) if f["fields"] else "")
                       for f in s["flags"]) or ("-" if res else err)
        num = lambda v: "-" if v is None else "%.3f" % v
        print("%-16s %-8s %-8s %-8s %-8s %-6s %-5s  %s" % (
            s["name"], s["verdict"], parts.get("id-card:front") or "-", parts.get("id-card:back") or "-",
            s.get("face_verdict") or "-", num(s.get("face_score")), num(s.get("liveness"))[:5], fs))
    counts = {v: sum(1 for r in rows if r["verdict"] == v) for v in VERDICTS}
    npass = counts["pass"]
    print()
    print("verdicts: " + ", ".join("%s %d" % (v, counts[v]) for v in VERDICTS)
          + "   (pass %d/%d)" % (npass, len(rows)))
    by_code = {}
    for r in rows:
        for f in r["flags"]:
            key = (f["code"], f["severity"], f["where"])
            by_code[key] = by_code.get(key, 0) + 1
    if by_code:
        print("flags: " + ", ".join("%s [%s] %s x%d" % (c, s, w, n) for (c, s, w), n in sorted(by_code.items())))

    shown = False
    for app, (res, err), s in zip(apps, results, rows):
        if s["verdict"] == "pass" and not a.verbose:
            continue
        if not shown:
            print()
            print("Details (non-pass applications%s):" % (", and all with -v" if a.verbose else ""))
            shown = True
        print()
        print("%s: %s" % (s["name"], s["verdict"]))
        if res is None:
            print("  error: %s" % err)
            continue
        truth = load_json(os.path.join(app, "truth.json"))
        form = load_json(os.path.join(app, "form.json"))
        for line in details(app, res, truth, form, a.verbose):
            print(line)

    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump({"dir": a.dir, "applications": rows, "counts": counts}, f, ensure_ascii=False, indent=1)
    if a.min_pass is not None and npass < a.min_pass:
        print("\neval_applications: %d pass, fewer than --min-pass %d" % (npass, a.min_pass))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
