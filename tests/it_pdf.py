"""PDF uploads (issue #12 part 3): a licence specimen converted to PDF reads the same fields as
the image under `beian check`; the page option (FILE#page=N, documents[i].page) picks the page,
also through the daemon and its workers; encrypted, active-content and over-long PDFs are
refused with their stable codes as a format_unsupported flag. PDFs are made here with PIL from
the synthetic specimens (tests/specgen), nothing else."""
import json
import os
import subprocess
import sys
import tempfile

from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from beian_it import BIN, Stack, check, require_binaries  # noqa: E402

require_binaries("beiand", "beian", "beian-quality", "beian-ocr")
spec_dir = os.environ.get("BEIAN_SPECIMENS", "")
index = os.path.join(spec_dir, "index.json")
if not os.path.exists(index):
    print("SKIP: generated specimens (BEIAN_SPECIMENS) are missing")
    sys.exit(77)
# A clean licence: its flat 300-dpi rendering is what a scanner's PDF holds.
lic = [s for s in json.load(open(index))["samples"] if s["type"] == "business-license" and s.get("clean")]
if not lic:
    print("SKIP: no clean business-license specimen")
    sys.exit(77)
truth = json.load(open(os.path.join(spec_dir, lic[0]["name"] + ".json")))
flat = os.path.join(spec_dir, truth["flat"])
beian = os.path.join(BIN, "beian")
work = tempfile.mkdtemp(prefix="beian-pdf-")

page_img = Image.open(flat).convert("RGB")
png = os.path.join(work, "licence.png")
page_img.save(png)


def pdf(path, pages, dpi=300):
    pages[0].save(path, "PDF", resolution=dpi, save_all=True, append_images=pages[1:])
    return path


one = pdf(os.path.join(work, "licence.pdf"), [page_img])
blank = Image.new("RGB", page_img.size, "white")
two = pdf(os.path.join(work, "two.pdf"), [blank, page_img])
many = pdf(os.path.join(work, "many.pdf"), [Image.new("RGB", (200, 280), "white")] * 60 + [page_img])
raw = open(one, "rb").read()
check(raw.startswith(b"%PDF-"), "PIL wrote a PDF")
js = os.path.join(work, "js.pdf")
open(js, "wb").write(raw.replace(b"/Type /Catalog", b"/Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >>", 1))
check(b"/JavaScript" in open(js, "rb").read(), "the JavaScript action was put in the catalog")
enc = os.path.join(work, "enc.pdf")
open(enc, "wb").write(raw.replace(b"trailer\n<<", b"trailer\n<< /Encrypt << /Filter /Standard /V 1 /R 2 /O <00> /U <00> /P -4 >>", 1))


def run_check(doc, timeout=300):
    r = subprocess.run([beian, "check", "--doc", "business-license=" + doc, "--json"], capture_output=True, timeout=timeout)
    check(r.returncode == 0, "beian check %s: rc %d %s" % (os.path.basename(doc), r.returncode, r.stderr.decode()[-300:]))
    return json.loads(r.stdout) if r.returncode == 0 else {"documents": [{}]}


def fields(res):
    f = res["documents"][0].get("fields", {})
    return {k: (f.get(k) or {}).get("value") for k in ("credit_code", "name")}


def flag(res, code):
    return [f for f in res["documents"][0].get("flags", []) if f.get("code") == code]


# 1. The same licence as an image and as a one-page PDF: the same fields, those of the truth.
from_png = run_check(png)
from_pdf = run_check(one)
fp, fd = fields(from_png), fields(from_pdf)
print("image fields read: %s; PDF fields read: %s" % (
    {k: v is not None for k, v in fp.items()}, {k: v is not None for k, v in fd.items()}))
check(fp["credit_code"] == truth["fields"]["credit_code"], "the image's credit code is read (the baseline)")
check(fd["credit_code"] == fp["credit_code"] and fd["name"] == fp["name"] and fd["name"] is not None,
      "the PDF reads the same credit code and name as the image")
q = from_pdf["documents"][0].get("quality", {})
check(q.get("format") == "pdf" and q.get("pdf_pages") == 1 and q.get("pdf_page") == 1 and q.get("pdf_dpi") == 200,
      "quality reports the PDF, its page and dpi: %s" % {k: q.get(k) for k in ("format", "pdf_pages", "pdf_page", "pdf_dpi")})
check(not flag(from_pdf, "format_unsupported"), "a PDF is a supported format")

# 2. The page option: page 1 of two.pdf is blank, page 2 the licence.
first = run_check(two)
check(fields(first)["credit_code"] is None, "without #page the first (blank) page is read")
second = run_check(two + "#page=2")
check(fields(second) == fd, "#page=2 reads the licence: %s" % (fields(second) == fd))
check(second["documents"][0].get("quality", {}).get("pdf_page") == 2, "quality says page 2")
r = subprocess.run([beian, "check", "--doc", "business-license=" + two + "#page=0", "--json"], capture_output=True)
check(r.returncode == 1 and b"page" in r.stderr, "#page=0 is bad input (exit 1)")
missing = run_check(two + "#page=3")
f = flag(missing, "format_unsupported")
check(f and f[0].get("error") == "pdf_page_missing", "page 3 of 2: pdf_page_missing")

# 3. Refusals, each a format_unsupported flag (reject) naming the stable code.
for path, code in ((js, "pdf_active_content"), (enc, "pdf_encrypted"), (many, "pdf_too_many_pages")):
    res = run_check(path)
    f = flag(res, "format_unsupported")
    check(f and f[0].get("error") == code and res["documents"][0].get("verdict") == "reject",
          "%s: %s, got %s" % (os.path.basename(path), code, f[0].get("error") if f else None))
    check(res["documents"][0].get("quality", {}).get("decode_error") == code, "quality.decode_error is %s" % code)

# 4. Through the daemon: documents[0].page travels in the spec and the task header to the
#    quality and ocr workers.
st = Stack(heartbeat=500)
try:
    for w in ("quality", "ocr"):
        st.worker("beian." + w, binary="beian-" + w, supervise=True)
    r = subprocess.run([beian, "-e", st.ep, "submit", "--doc", "business-license=" + two + "#page=2", "--wait", "--json"],
                       capture_output=True, timeout=300)
    check(r.returncode == 0, "submit --wait: rc %d %s" % (r.returncode, r.stderr.decode()[-300:]))
    daemon = json.loads(r.stdout) if r.returncode == 0 else {"documents": [{}]}
    check(fields(daemon) == fd, "the daemon reads page 2 as beian check does")
    check(daemon["documents"][0].get("quality", {}).get("pdf_page") == 2, "the quality worker rendered page 2")
    log = st.logtext()
    check(truth["fields"]["credit_code"] not in log, "no credit code in the logs")
finally:
    st.close()
print("PDF checks done")
