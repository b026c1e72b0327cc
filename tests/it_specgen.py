#!/usr/bin/python3
"""Integration test of the synthetic specimen generator (tests/specgen/specgen.py).

Runs the generator twice with the same seed into temporary directories and checks:
  * byte-identical output files;
  * every ID number, credit code and MRZ in the ground truth passes its check digits
    (checksums implemented here again, independently of the generator);
  * printed values agree with each other (ID number vs birth date and sex, MRZ vs fields),
    validity dates agree with the declared variant;
  * the truth corners lie on the document: the flat document warped onto the corners correlates
    with the image, and clearly better than with the corners shifted;
  * every degradation kind is present and its ground truth is consistent (area, corners outside,
    resolution, grey, EXIF, ...).
Exit 0 pass, 1 fail.
"""
import datetime as dt
import filecmp
import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "specgen", "specgen.py")
SEED = 4242
COUNT = "0.1"
TODAY = dt.date(2026, 11, 28)

KINDS = ["blur", "glare", "cut_corner", "grey", "photocopy", "dark", "overexposed", "tiny", "low_resolution",
         "screen", "rotated", "skewed", "exif_photoshop", "no_document", "expired", "expiring"]
EXPECT = {"blur": {"blurry"}, "glare": {"glare"}, "cut_corner": {"border_incomplete"}, "grey": {"not_color"},
          "photocopy": {"photocopy", "not_color"}, "dark": {"too_dark"}, "overexposed": {"overexposed"},
          "tiny": {"document_too_small"}, "low_resolution": {"resolution_too_low"},
          "screen": {"screen_recapture"}, "rotated": {"rotated"}, "skewed": {"skewed"},
          "exif_photoshop": {"edited_suspect"}, "no_document": {"no_document_found"},
          "expired": {"expired"}, "expiring": {"expires_within_90_days"}}

failures = []


def fail(msg):
    failures.append(msg)


# ---- independent checksum implementations -----------------------------------------------------

def cd(s):
    vals = {str(i): i for i in range(10)}
    vals.update({chr(65 + i): 10 + i for i in range(26)})
    vals["<"] = 0
    return str(sum(vals[c] * (7, 3, 1)[i % 3] for i, c in enumerate(s)) % 10)


def gb11643_ok(n):
    if len(n) != 18 or not n[:17].isdigit():
        return False
    w = [2 ** (17 - i) % 11 for i in range(17)]
    return "10X98765432"[sum(int(c) * k for c, k in zip(n[:17], w)) % 11] == n[17]


USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc_ok(c):
    if len(c) != 18 or any(ch not in USCC for ch in c):
        return False
    w = [3 ** i % 31 for i in range(17)]
    if USCC[(31 - sum(USCC.index(a) * k for a, k in zip(c, w)) % 31) % 31] != c[17]:
        return False
    org = c[8:16]
    s = sum((int(a) if a.isdigit() else ord(a) - 55) * k for a, k in zip(org, [3, 7, 9, 10, 5, 8, 4, 2]))
    r = 11 - s % 11
    return c[16] == ("X" if r == 10 else "0" if r == 11 else str(r))


def yymmdd(iso):
    return iso[2:4] + iso[5:7] + iso[8:10]


def add_years(d, n):
    try:
        return d.replace(year=d.year + n)
    except ValueError:
        return d.replace(year=d.year + n, day=28)


# ---- checks -----------------------------------------------------------------------------------

def check_fields(t, kind):
    f = t["fields"]
    name = t["name"]
    if t["type"] in ("id-card", "residence-permit") and t["side"] == "front":
        n = f["id_number"]
        if not gb11643_ok(n):
            fail("%s: ID number check char invalid" % name)
        if n[6:14] != f["birth_date"].replace("-", ""):
            fail("%s: ID number birth date != printed" % name)
        if (int(n[16]) % 2 == 1) != (f["sex"] == "男"):
            fail("%s: ID number sex digit != printed sex" % name)
        if t["type"] == "residence-permit" and n[:6] not in ("810000", "820000", "830000"):
            fail("%s: residence permit prefix" % name)
    if t["type"] == "business-license" and not uscc_ok(f["credit_code"]):
        fail("%s: USCC %s fails mod-31 or GB 11714" % (name, f["credit_code"]))
    mrz = t["mrz"]
    if t["type"] == "passport":
        l1, l2 = mrz
        ok = len(l1) == 44 and len(l2) == 44 and l1.startswith("POCHN")
        ok = ok and cd(l2[0:9]) == l2[9] and cd(l2[13:19]) == l2[19] and cd(l2[21:27]) == l2[27]
        ok = ok and cd(l2[28:42]) == l2[42] and cd(l2[0:10] + l2[13:20] + l2[21:43]) == l2[43]
        ok = ok and l2[0:9].rstrip("<") == f["document_number"] and l2[13:19] == yymmdd(f["birth_date"])
        ok = ok and l2[21:27] == yymmdd(f["expiry_date"]) and l2[20] == f["sex"]
        ok = ok and l1[5:].split("<<")[0] == f["surname"] and f["mrz"] == mrz
        if not ok:
            fail("%s: passport MRZ invalid or inconsistent: %s" % (name, mrz))
    if t["type"] in ("hk-macao-permit", "taiwan-permit") and t["side"] == "back":
        l1, l2, l3 = mrz
        code = "CR" if t["type"] == "hk-macao-permit" else "CT"
        ok = all(len(x) == 30 for x in mrz) and l1.startswith(code)
        ok = ok and cd(l1[2:11]) == l1[11] and cd(l1[12:14]) == l1[14] and cd(l1[15:21]) == l1[21]
        ok = ok and cd(l1[23:29]) == l1[29] and cd(l1[2:22] + l1[23:30] + l2[19:29]) == l2[29]
        ok = ok and l1[22] in "MF"
        if code == "CR":
            ok = ok and l1[2] in "HM" and l1[3:11].isdigit()
        else:
            ok = ok and l1[2:10].isdigit() and l1[10] == "<"
        if not ok:
            fail("%s: permit MRZ invalid: %s" % (name, mrz))
    if t["type"] in ("hk-macao-permit", "taiwan-permit") and t["side"] == "front":
        num = f["document_number"]
        good = (num[0] in "HM" and num[1:].isdigit() and len(num) == 9) if t["type"] == "hk-macao-permit" \
            else (num.isdigit() and len(num) == 8)
        if not good:
            fail("%s: permit number format %s" % (name, num))
    # validity
    until = f.get("valid_until") or f.get("expiry_date")
    if until is not None:
        if until == "long-term":
            days = None
        else:
            days = (dt.date.fromisoformat(until) - TODAY).days
        if kind == "expired" and not (days is not None and days < 0):
            fail("%s: expired sample not expired (%s)" % (name, until))
        elif kind == "expiring" and not (days is not None and 0 <= days <= 30):
            fail("%s: expiring sample not within 30 days (%s)" % (name, until))
        elif kind not in ("expired", "expiring") and days is not None and days < 365:
            fail("%s: valid document expires too soon (%s)" % (name, until))
    if t["type"] == "id-card" and t["side"] == "back" and f["valid_until"] != "long-term":
        a, b = dt.date.fromisoformat(f["valid_from"]), dt.date.fromisoformat(f["valid_until"])
        if not any(add_years(a, n) == b for n in (5, 10, 20)):
            fail("%s: ID validity span %s..%s not 5/10/20 years" % (name, a, b))


def corr(a, b, m):
    a, b = a[m].astype(np.float64), b[m].astype(np.float64)
    if a.size < 500 or a.std() < 1e-6 or b.std() < 1e-6:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def check_geometry(d, t, kind):
    name = t["name"]
    img = cv2.imread(os.path.join(d, t["image"]), cv2.IMREAD_COLOR)
    if img is None:
        fail("%s: image unreadable" % name)
        return
    H, W = img.shape[:2]
    if [W, H] != t["image_size"]:
        fail("%s: image_size mismatch" % name)
    if t["corners"] is None:
        if kind != "no_document":
            fail("%s: no corners" % name)
        return
    q = np.array(t["corners"], np.float64)
    x, y = q[:, 0], q[:, 1]
    area = 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / (W * H)
    if abs(area - t["area_fraction"]) > 0.002 + 0.01 * area:
        fail("%s: area_fraction %.4f != corners %.4f" % (name, t["area_fraction"], area))
    inside = [(0 <= px < W and 0 <= py < H) for px, py in q]
    if kind == "cut_corner":
        if all(inside):
            fail("%s: cut_corner with all corners inside" % name)
    elif not all(inside):
        fail("%s: corner outside the image" % name)
    if kind == "tiny" and not area < 0.08:
        fail("%s: tiny document fills %.3f" % (name, area))
    if (t["clean"] or t["mild"]) and not 0.2 <= area <= 0.75:
        fail("%s: clean document fills %.3f" % (name, area))
    if kind == "low_resolution" and max(W, H) > 400:
        fail("%s: low resolution image is %dx%d" % (name, W, H))
    if kind != "low_resolution" and max(W, H) < 1000:
        fail("%s: image too small %dx%d" % (name, W, H))
    if kind == "skewed" and not 5 <= abs(t["skew_deg"]) <= 15:
        fail("%s: skew %.1f" % (name, t["skew_deg"]))
    if kind == "rotated" and t["rotation"] not in (90, 180, 270):
        fail("%s: rotation %s" % (name, t["rotation"]))
    if kind != "rotated" and (t["rotation"] != 0 or (abs(t["skew_deg"]) > 3 and kind != "skewed")):
        fail("%s: unexpected rotation/skew" % name)
    if kind in ("grey", "photocopy"):
        b, g, r = [img[..., i].astype(int) for i in range(3)]
        if max(np.abs(b - g).mean(), np.abs(g - r).mean()) > 2.0:
            fail("%s: grey sample has colour" % name)
    # Corner accuracy: the flat document warped onto the truth corners must match the image
    # content there, and clearly better than the same warp with corners shifted.
    flat = cv2.imread(os.path.join(d, t["flat"]), cv2.IMREAD_GRAYSCALE)
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    fh, fw = flat.shape
    s = min(1.0, 2.0 * np.linalg.norm(q[1] - q[0]) / fw)
    flat_s = cv2.resize(flat, (max(8, int(fw * s)), max(8, int(fh * s))), interpolation=cv2.INTER_AREA)
    sh, sw = flat_s.shape
    src = np.float32([[0, 0], [sw, 0], [sw, sh], [0, sh]])

    def score(quad):
        M = cv2.getPerspectiveTransform(src, np.float32(quad))
        warped = cv2.warpPerspective(flat_s, M, (W, H), flags=cv2.INTER_AREA)
        m = cv2.warpPerspective(np.full((sh, sw), 255, np.uint8), M, (W, H), flags=cv2.INTER_NEAREST)
        m = cv2.erode(m, np.ones((5, 5), np.uint8)) > 0
        return corr(cv2.GaussianBlur(warped, (0, 0), 1.5), cv2.GaussianBlur(gray, (0, 0), 1.5), m)
    if kind in ("dark", "overexposed", "glare", "screen", "blur"):
        return                                      # content deliberately damaged
    good = score(q)
    dw = np.linalg.norm(q[1] - q[0])
    shifted = score(q + [0.06 * dw, 0.04 * dw])
    if good < 0.5 or good < shifted + 0.1:
        fail("%s: corners do not match the document (corr %.2f, shifted %.2f)" % (name, good, shifted))
    return good


def exif_software(path):
    data = open(path, "rb").read(65536)
    i = data.find(b"Exif\0\0")
    return data[i:i + 4000] if i >= 0 else b""


def self_test():
    """The checkers themselves against the published vectors (shared notes), so that a broken
    checker cannot pass broken specimens."""
    for n in ("11010519491231002X", "440524188001010014", "11010120000229123X", "810000199001010019"):
        if not gb11643_ok(n):
            fail("checker rejects valid ID %s" % n)
    for n in ("110101197608056896", "511324199612163557", "110105194912310021"):
        if gb11643_ok(n):
            fail("checker accepts invalid ID %s" % n)
    for c in ("91350100M000100Y43", "91440300708461136T", "12440600MB2C07549J", "92141127MA0KD1Y64A"):
        if not uscc_ok(c):
            fail("checker rejects valid USCC %s" % c)
    for c in ("91350100M000100Y44", "91350100MOOO100Y43", "123456789012345678", "362322198709086409"):
        if uscc_ok(c):
            fail("checker accepts invalid USCC %s" % c)
    l2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
    if cd(l2[0:9]) != "6" or cd(l2[0:10] + l2[13:20] + l2[21:43]) != "0" or cd("520727") != "3":
        fail("ICAO check digit checker broken")
    l1 = "CRH1234567830132906070M9001011"
    if cd(l1[2:11]) != l1[11] or cd(l1[15:21]) != l1[21] or cd(l1[23:29]) != l1[29]:
        fail("CR check digit checker broken")


def main():
    self_test()
    tmp = tempfile.mkdtemp(prefix="it_specgen_")
    dirs = [os.path.join(tmp, "a"), os.path.join(tmp, "b")]
    if len(sys.argv) == 3 and sys.argv[1] == "--dir":    # validate an existing set, e.g. --count 1
        dirs = [sys.argv[2]] * 2
        os.rmdir(tmp)
    for d in (dirs if dirs[0] != dirs[1] else []):
        r = subprocess.run([sys.executable, GEN, "--out", d, "--seed", str(SEED), "--count", COUNT,
                            "--today", TODAY.isoformat()], capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            print(r.stderr)
            print("FAIL: generator exited %d" % r.returncode)
            return 1
    # determinism
    files_a, files_b = sorted(os.listdir(dirs[0])), sorted(os.listdir(dirs[1]))
    if files_a != files_b:
        fail("file lists differ between runs")
    match, mismatch, errors = filecmp.cmpfiles(dirs[0], dirs[1], files_a, shallow=False)
    if mismatch or errors:
        fail("files differ between runs with the same seed: %s" % (mismatch + errors)[:10])
    d = dirs[0]
    index = json.load(open(os.path.join(d, "index.json"), encoding="utf-8"))
    seen = {}
    corrs = []
    for s in index["samples"]:
        t = json.load(open(os.path.join(d, s["name"] + ".json"), encoding="utf-8"))
        kind = t["degradations"][0] if t["degradations"] else ("mild" if t["mild"] else "clean")
        seen[kind] = seen.get(kind, 0) + 1
        want = EXPECT.get(kind, set())
        if set(t["expected_flags"]) != want:
            fail("%s: expected_flags %s, want %s" % (t["name"], t["expected_flags"], sorted(want)))
        if t["clean"] and (t["degradations"] or t["mild"] or t["expected_flags"]):
            fail("%s: clean sample has degradations" % t["name"])
        if kind != "no_document":
            check_fields(t, kind)
        if t.get("derived_from"):
            o = json.load(open(os.path.join(d, t["derived_from"] + ".json"), encoding="utf-8"))
            if not o["clean"] or o["flat"] != t["flat"] or (kind != "no_document" and o["fields"] != t["fields"]):
                fail("%s: derived_from %s is not its clean origin" % (t["name"], t["derived_from"]))
        c = check_geometry(d, t, kind)
        if c is not None:
            corrs.append(c)
        sw = exif_software(os.path.join(d, t["image"])) if t["image"].endswith(".jpg") else b""
        if (b"Photoshop" in sw) != (kind == "exif_photoshop"):
            fail("%s: Photoshop EXIF presence wrong" % t["name"])
    for k in (KINDS + ["clean", "mild"] if index["set"] == "all" else []):
        if not seen.get(k):
            fail("degradation kind %s missing" % k)
    print("it_specgen: %d samples, kinds %s, corner correlation min %.2f median %.2f"
          % (len(index["samples"]), dict(sorted(seen.items())), min(corrs), float(np.median(corrs))))
    if failures:
        for f in failures[:50]:
            print("FAIL:", f)
        print("it_specgen: %d failures (output in %s)" % (len(failures), os.path.dirname(dirs[0])))
        return 1
    if dirs[0] != dirs[1]:
        subprocess.run(["rm", "-rf", tmp])
    print("it_specgen: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
