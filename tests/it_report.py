"""The agency report of `beian batch` (issue #14, part 3; docs/REPORT.md) on 50 applications.

48 applications are built from the cached specimen set ($BEIAN_SPECIMENS: one of each kind of
specimen — clean, blurred, photocopied, expired, … — and one two-sided ID card), 2 have bad
input (a missing file, a document that is a folder). They go through the real stack (beiand,
beian-quality, beian-ocr) with `beian batch --out DIR`, then:
  * a record per application: DIR/<id>.json with application_id (input_error with its code for
    the bad two), the images under DIR/<id>/, files 0600 and folders 0700;
  * report.csv: BOM, RFC 4180 quoting (ids with a comma, a quote, a leading '='), one row each;
  * report.html: structure by Python's HTML parser (a row per application, its verdict, zh and
    en flag texts, a data: thumbnail per document, no http(s) src/href); then in headless
    Chromium: it renders (screenshot), the verdict filter (#verdict=…) hides exactly the other
    rows, and the net log shows no request from the page (checked to catch one on a control page);
  * a rerun skips the finished ones and its report still counts all 50; a corrected image under
    a finished id is refused (application_changed), and an id twice in a manifest is an error row;
  * no applicant's name or number on stdout/stderr.
Chromium missing: the Chromium part skips with a message, the rest still runs.
"""
import csv
import html.parser
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from beian_it import BIN, Stack, check, require_binaries  # noqa: E402

require_binaries("beiand", "beian", "beian-quality", "beian-ocr")
SPEC = os.environ.get("BEIAN_SPECIMENS", "")
if not os.path.isfile(os.path.join(SPEC, "index.json")):
    print("SKIP: the specimen set ($BEIAN_SPECIMENS) is missing")
    sys.exit(77)
CHROMIUM = shutil.which("chromium")
work = tempfile.mkdtemp(prefix="beian-report-")
man = os.path.join(work, "agency")
os.makedirs(man)

# ---- 50 applications ------------------------------------------------------------------------
index = json.load(open(os.path.join(SPEC, "index.json"), encoding="utf-8"))
kinds, truths = {}, []
for s in index["samples"]:
    kinds.setdefault((s["type"], s["side"], tuple(s["expected_flags"])), s)
picked = list(kinds.values())[:47]
rows = []
for k, s in enumerate(picked):
    name = "%02d-%s" % (k, s["image"])  # a file of its own: app-00's is "corrected" below
    shutil.copy(os.path.join(SPEC, s["image"]), os.path.join(man, name))
    rows.append({"id": "app-%02d" % k, "documents": ["%s:%s=%s" % (s["type"], s["side"], name)]})
front, back = "0000-id-card-front-clean.jpg", "0001-id-card-back-clean.jpg"
for f in (front, back):
    shutil.copy(os.path.join(SPEC, f), man)
# a form with another ID number: an OCR flag (form_mismatch_number) about a field with a box
rows.append({"id": "app-47", "documents": ["id-card:front=" + front, "id-card:back=" + back],
             "form": {"id_number": "110105194912310029"}})
os.makedirs(os.path.join(man, "folder.jpg"))
rows.append({"id": "=bad,\"one\"", "documents": ["id-card:front=missing.jpg"]})
rows.append({"id": "bad two", "documents": ["passport=folder.jpg"]})
check(len(rows) == 50, "50 applications")
for f in os.listdir(SPEC):
    if f.endswith(".json") and f != "index.json":
        t = json.load(open(os.path.join(SPEC, f), encoding="utf-8")).get("fields", {})
        truths += [v for k, v in t.items() if k in ("name", "id_number", "passport_number") and len(v) >= 2]


def manifest(extra=()):
    path = os.path.join(man, "apps.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for r in rows + list(extra):
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


beian = os.path.join(BIN, "beian")
out = os.path.join(work, "out")


def batch(path):
    t0 = time.monotonic()
    r = subprocess.run([beian, "-e", st.ep, "-t", "120000", "batch", path, "--out", out, "--window", "4"],
                       capture_output=True, timeout=1200)
    text = (r.stdout + r.stderr).decode()
    check(not any(v in text for v in truths), "no applicant's name or number on stdout/stderr")
    return r, text, time.monotonic() - t0


class Report(html.parser.HTMLParser):
    """Rows (data-verdict, hidden, flag codes, zh texts, image sources) and every src/href."""

    def __init__(self, text):
        super().__init__()
        self.rows, self.urls, self.b = [], [], None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]
        if tag == "tr" and "app" in (a.get("class") or "").split():
            self.rows.append({"verdict": a.get("data-verdict"), "hidden": "hidden" in a, "codes": [],
                              "imgs": [], "zh": "", "text": ""})
        elif self.rows and tag == "li" and "data-code" in a:
            self.rows[-1]["codes"].append(a["data-code"])
        elif self.rows and tag == "img":
            self.rows[-1]["imgs"].append(a.get("src", ""))
        self.b = tag if tag == "b" and a.get("lang") == "zh" else self.b

    def handle_endtag(self, tag):
        self.b = None if tag == "b" else self.b

    def handle_data(self, data):
        if self.rows:
            self.rows[-1]["text"] += data
            if self.b:
                self.rows[-1]["zh"] += data


def chromium(url, *extra):
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--disable-background-networking", "--host-resolver-rules=MAP * ~NOTFOUND", "--user-data-dir=" +
            os.path.join(work, "chromium-profile")] + list(extra) + [url]
    return subprocess.run(args, capture_output=True, timeout=120)


def page_requests(url):
    """URLs the page itself asked the network for, from Chromium's net log (the browser's own
    background requests have no page initiator)."""
    log = os.path.join(work, "net.json")
    chromium(url, "--log-net-log=" + log, "--dump-dom")
    d = json.load(open(log))
    names = {v: k for k, v in d["constants"]["logEventTypes"].items()}
    return [e["params"]["url"] for e in d["events"] if names.get(e["type"]) == "URL_REQUEST_START_JOB"
            and (e["params"].get("initiator") == "null" or "file://" in str(e["params"].get("site_for_cookies")))]


st = Stack(heartbeat=500)
try:
    for w in ("quality", "ocr"):
        st.worker("beian." + w, binary="beian-" + w, supervise=True)
    r, err, took = batch(manifest())
    print("beian batch: 50 applications (%d documents) in %.1f s" % (sum(len(x["documents"]) for x in rows), took))
    check(r.returncode == 1 and re.search(r"bad input\s+2\n", err), "batch → 1 with 2 bad inputs (rc %d)" % r.returncode)
    results = {x["id"]: json.load(open(os.path.join(out, x["id"] + ".json"), encoding="utf-8")) for x in rows}
    check(all(v["application_id"] == k for k, v in results.items()), "a JSON per application, each with its id")
    check(results['=bad,"one"']["status"] == "input_error" and results['=bad,"one"']["error"]["code"] == "file_unreadable"
          and results["bad two"]["status"] == "input_error", "bad input → input_error records with the code")
    done = [k for k, v in results.items() if v["status"] == "done"]
    check(len(done) == 48, "48 applications checked (%d)" % len(done))
    check(all(os.path.isfile(os.path.join(out, k, "d%d.review.jpg" % i)) and
              os.path.isfile(os.path.join(out, k, "d%d.prepared.jpg" % i))
              for k in done for i in range(len(results[k]["documents"]))),
          "prepared and review images under DIR/<id>/ for every document")
    modes = [stat.S_IMODE(os.stat(os.path.join(dp, n)).st_mode) for dp, ds, fs in os.walk(out) for n in fs]
    dmodes = [stat.S_IMODE(os.stat(dp).st_mode) for dp, ds, fs in os.walk(out)]
    check(set(modes) == {0o600} and set(dmodes) == {0o700}, "files 0600, folders 0700 (%s %s)" % (
        sorted(map(oct, set(modes))), sorted(map(oct, set(dmodes)))))

    def verdict(v):
        return v["status"] if v["status"] in ("input_error", "failed", "cancelled") else v["verdict"]
    want = {k: verdict(v) for k, v in results.items()}
    counts = {}
    for v in want.values():
        counts[v] = counts.get(v, 0) + 1
    print("verdicts:", counts)
    check(len(counts) >= 3, "the set spans several verdicts")

    # ---- the review image marks the OCR flag in its field's box --------------------------------
    import cv2
    import numpy as np
    a47 = results["app-47"]
    flag = [f for f in a47["flags"] if f["code"] == "form_mismatch_number"]
    box = a47["documents"][0]["fields"]["id_number"].get("box")
    check(flag and flag[0].get("field") == "id_number" and box, "app-47: form_mismatch_number about id_number, with a box")
    base = os.path.join(work, "base")
    subprocess.run([beian, "check", "--doc", "id-card:front=" + os.path.join(man, front), "--out", base],
                   capture_output=True, timeout=300)
    marked, plain = (cv2.imread(p).astype(int) for p in (os.path.join(out, "app-47", "d0.review.jpg"),
                                                          os.path.join(base, "d0.review.jpg")))
    check(marked.shape == plain.shape, "review images of the same photo, with and without the form")
    k = marked.shape[1] / cv2.imread(os.path.join(man, front)).shape[1]
    x, y, w, h = (int(v * k) for v in box)
    diff = np.abs(marked - plain).sum(axis=2) > 120
    diff[:int(60 * max(0.5, marked.shape[1] / 1400))] = False  # the list of labels at the top
    inside = diff[max(0, y - 30):y + h + 8, max(0, x - 8):x + w + 8].sum()
    check(inside > 200 and inside >= 0.9 * diff.sum(),
          "the review image marks the OCR flag in its field's box (%d of %d changed pixels there)" % (inside, diff.sum()))

    # ---- CSV ------------------------------------------------------------------------------
    raw = open(os.path.join(out, "report.csv"), "rb").read()
    check(raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw, "report.csv: UTF-8 with BOM, CRLF rows")
    table = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    check([t["application_id"] for t in table] == [x["id"] if x["id"][0] != "=" else "'" + x["id"] for x in rows],
          "report.csv: a row per application in manifest order; a comma and quotes survive, '=' is not a formula")
    check(all(t["verdict"] == want[t["application_id"].lstrip("'")] and t["job"] == (results[
        t["application_id"].lstrip("'")]["job"] or "") for t in table), "report.csv: job and verdict of each")
    check(all(t["flags"].split(";") == [f["code"] for f in results[t["application_id"]]["flags"]]
              for t in table if t["application_id"] in done and results[t["application_id"]]["flags"]),
          "report.csv: the flag codes of each")
    check(table[-1]["error"] == "bad_document" or table[-1]["error"] == "file_unreadable",
          "report.csv: the error code of a bad input (%s)" % table[-1]["error"])

    # ---- HTML, parsed -----------------------------------------------------------------------
    page = os.path.join(out, "report.html")
    text = open(page, encoding="utf-8").read()
    rep = Report(text)
    check(len(rep.rows) == 50 and [x["verdict"] for x in rep.rows] == [want[x["id"]] for x in rows],
          "report.html: a row per application with its verdict")
    check(not [u for u in rep.urls if not u.startswith("data:")] and not re.search(r"(?i)(src|href|url)\s*[=(]\s*['\"]?https?:", text),
          "report.html: every src/href is a data: URI, nothing names http(s)")
    check(all(len(x["imgs"]) == len(results[k]["documents"]) and all(s.startswith("data:image/jpeg;base64,") for s in x["imgs"])
              for x, k in zip(rep.rows, [x["id"] for x in rows]) if k in done), "report.html: a thumbnail per document")
    flagged = [(x, results[k]) for x, k in zip(rep.rows, [x["id"] for x in rows]) if results[k].get("flags")]
    check(flagged and all(x["codes"] == [f["code"] for f in res["flags"]] and all(f["message_zh"] in x["zh"] for f in res["flags"])
                          and all(f["message_en"] in x["text"] for f in res["flags"]) for x, res in flagged),
          "report.html: each flag in zh and en (%d flagged applications)" % len(flagged))
    with_field = [(x, f) for x, res in flagged for f in res["flags"] if f.get("field")]
    check(all(f["field"] in x["text"] for x, f in with_field), "report.html: the field to fix (%d flags with one)" % len(with_field))
    check("file_unreadable" in rep.rows[48]["text"], "report.html: the input error's code in its row")

    # ---- HTML in Chromium -------------------------------------------------------------------
    if not CHROMIUM:
        print("SKIP (Chromium part): no chromium on PATH (Debian's `chromium` package, scripts/debian-packages.txt)")
    else:
        t0 = time.monotonic()
        shot = os.path.join(work, "shot.png")
        c = chromium("file://" + page, "--screenshot=" + shot, "--window-size=1280,2000")
        check(c.returncode == 0 and open(shot, "rb").read(8) == b"\x89PNG\r\n\x1a\n" and os.path.getsize(shot) > 20000,
              "Chromium renders the report (screenshot %d bytes)" % (os.path.getsize(shot) if os.path.exists(shot) else 0))
        for v in sorted(counts) + ["all"]:
            dom = Report(chromium("file://" + page + "#verdict=" + v, "--dump-dom").stdout.decode())
            shown = [x["verdict"] for x in dom.rows if not x["hidden"]]
            check(len(dom.rows) == 50 and shown == ([x["verdict"] for x in dom.rows] if v == "all" else [v] * counts[v]),
                  "Chromium: filter %s shows exactly its %d rows" % (v, len(shown)))
        control = os.path.join(work, "control.html")
        open(control, "w").write('<img src="http://example.invalid/x.png">')
        check(page_requests("file://" + control) == ["http://example.invalid/x.png"],
              "the net log check sees a page's external request (control page)")
        reqs = page_requests("file://" + page)
        check(reqs == [], "Chromium: the report makes no network request (%s)" % reqs[:3])
        print("chromium checks: %.1f s" % (time.monotonic() - t0))

    # ---- a rerun, a corrected image, an id twice ----------------------------------------------
    before = open(os.path.join(out, "app-00.json"), "rb").read()
    shutil.copy(os.path.join(SPEC, back), os.path.join(man, "00-" + picked[0]["image"]))  # app-00 "corrected"
    r, err, took = batch(manifest([{"id": "app-05", "documents": ["id-card:front=" + front]}]))
    check(re.search(r"applications\s+51\n", err) and re.search(r"skipped\s+47 ", err) and re.search(r"finished\s+0 ", err),
          "rerun: the 47 unchanged ones are skipped, nothing resubmitted (%s)" % err[-400:])
    table = list(csv.DictReader(io.StringIO(open(os.path.join(out, "report.csv"), encoding="utf-8-sig").read(), newline="")))
    check(len(table) == 51 and [t["verdict"] for t in table[:50]] == ["input_error"] + [want[x["id"]] for x in rows[1:]],
          "rerun: the report still counts every application of the manifest")
    check(table[0]["error"] == "application_changed" and open(os.path.join(out, "app-00.json"), "rb").read() == before,
          "a corrected image under a finished id: application_changed, the old result kept, never returned as its result")
    check(table[50]["application_id"] == "app-05" and table[50]["error"] == "duplicate_application_id"
          and table[5]["verdict"] == want["app-05"], "an id twice in a manifest: the second row is duplicate_application_id")
    rep = Report(open(page, encoding="utf-8").read())
    check(len(rep.rows) == 51 and "application_changed" in rep.rows[0]["text"], "the HTML report shows them too")
    os.unlink(os.path.join(out, "app-00.json"))
    r, err, took = batch(manifest())
    res = json.load(open(os.path.join(out, "app-00.json"), encoding="utf-8"))
    check(re.search(r"finished\s+1 ", err) and res["job"] != results["app-00"]["job"],
          "its result removed, the corrected one is a new job (never the old job through the idempotency key)")
finally:
    st.close()
shutil.rmtree(work, ignore_errors=True)
print("report checks passed")
