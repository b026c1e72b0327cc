#!/usr/bin/python3
"""Deterministic synthetic specimen generator for beian's stage tests and evaluations.

    specgen.py --out DIR --seed N [--set quality|ocr|face|all|application|domain|domain-eval] [--count X]
               [--types t1,t2] [--portraits DIR] [--today YYYY-MM-DD]

Renders flat 300-dpi documents from data/layouts.json with random valid fields, composes them
into phone-photo or flat-scan scenes and derives degraded samples, each with a ground-truth JSON
(schema: tests/specgen/README.md). Same arguments -> byte-identical files: every random draw
comes from generators seeded by (seed, sample index), nothing reads the clock.
"""
import argparse
import datetime as dt
import json
import math
import os
import random
import re
import struct
import sys

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import domaincert as DC  # noqa: E402
import fields as F  # noqa: E402
import render as R  # noqa: E402

cv2.setNumThreads(1)        # results must not depend on thread scheduling
LAYOUTS = os.path.join(HERE, "..", "..", "data", "layouts.json")

TYPES = ["id-card", "passport", "hk-macao-permit", "taiwan-permit", "residence-permit", "business-license"]
# slots the ordinary samples cycle through (ID cards are what most filings upload)
SLOTS = ["id-card:front", "id-card:back", "passport:front", "id-card:front", "hk-macao-permit:front",
         "business-license:front", "id-card:back", "taiwan-permit:front", "residence-permit:front",
         "passport:front", "hk-macao-permit:back", "id-card:front", "residence-permit:back",
         "taiwan-permit:back", "id-card:back"]
EXPIRY_SLOTS = ["id-card:back", "passport:front", "hk-macao-permit:front", "business-license:front",
                "taiwan-permit:front", "residence-permit:back", "id-card:back", "passport:front"]
PORTRAIT_SLOTS = ["id-card:front", "passport:front", "hk-macao-permit:front", "taiwan-permit:front",
                  "residence-permit:front"]

# degradation kind -> flags it must trigger
FLAGS = {
    "blur": ["blurry"], "glare": ["glare"], "cut_corner": ["border_incomplete"], "grey": ["not_color"],
    "photocopy": ["photocopy", "not_color"], "dark": ["too_dark"], "overexposed": ["overexposed"],
    "tiny": ["document_too_small"], "low_resolution": ["resolution_too_low"],
    "screen": ["screen_recapture"], "rotated": ["rotated"], "skewed": ["skewed"],
    "exif_photoshop": ["edited_suspect"], "no_document": ["no_document_found"],
    "expired": ["expired"], "expiring": ["expires_within_90_days"],
}
QUALITY_KINDS = ["blur", "glare", "cut_corner", "grey", "photocopy", "dark", "overexposed", "tiny",
                 "low_resolution", "screen", "rotated", "skewed", "exif_photoshop", "no_document"]


# ---- documents ------------------------------------------------------------------------------

def make_doc(key, rng, today, mode):
    """-> (field values incl. mrz, extras for rendering)."""
    t, side = key.split(":")
    if t in ("id-card", "residence-permit"):
        res = rng.choice(["810000", "820000", "830000"]) if t == "residence-permit" else None
        front, back, extra = F.make_id_card(rng, today, mode, residence=res)
        return (front if side == "front" else back), extra
    if t == "passport":
        return F.make_passport(rng, today, mode)
    if t in ("hk-macao-permit", "taiwan-permit"):
        front, back, extra = F.make_permit(rng, today, t, mode)
        return (front if side == "front" else back), extra
    return F.make_license(rng, today, mode)


def truth_fields(values):
    return {k: (F.iso(v) if not isinstance(v, list) else list(v)) for k, v in values.items()}


# ---- scenes ---------------------------------------------------------------------------------

def texture(kind, W, H, g):
    """Procedural background (BGR float32 0..255): wood, desk, fabric, stone, or white (scanner)."""
    if kind == "white":
        return np.full((H, W, 3), float(g.integers(238, 250)), np.float32)
    s = 4
    h, w = H // s + 2, W // s + 2
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    lowf = cv2.resize(g.standard_normal((h // 8 + 2, w // 8 + 2), dtype=np.float32), (w, h),
                      interpolation=cv2.INTER_CUBIC)
    if kind == "wood":
        base = np.array([g.uniform(40, 70), g.uniform(80, 120), g.uniform(130, 175)], np.float32)
        a = g.uniform(-0.2, 0.2)
        grain = np.sin((yy + a * xx) / g.uniform(2, 4) + 1.2 * lowf + 0.3 * np.sin(xx / 40.0)) * 0.5 + 0.5
        v = 0.8 + 0.2 * grain[..., None] + 0.05 * lowf[..., None]
        img = base * v
    elif kind == "fabric":
        base = g.uniform(60, 200, 3).astype(np.float32)
        weave = (np.sin(xx * 2.2) * np.sin(yy * 2.2)) * 0.08 + 0.06 * lowf
        img = base * (0.92 + weave[..., None])
    elif kind == "stone":
        base = np.full(3, g.uniform(150, 215), np.float32) + g.uniform(-12, 12, 3).astype(np.float32)
        img = base * (0.9 + 0.08 * lowf[..., None])
    else:                                                  # desk: plain laminate
        base = g.uniform(70, 215, 3).astype(np.float32)
        img = base * (0.96 + 0.03 * lowf[..., None])
    img = cv2.resize(img, (W, H), interpolation=cv2.INTER_LINEAR)
    return img


def clutter(img, g):
    """A pen and a mug ring: objects that are not documents."""
    H, W = img.shape[:2]
    x0, y0 = g.uniform(0.1, 0.9) * W, g.uniform(0.1, 0.9) * H
    a = g.uniform(0, math.pi)
    L = g.uniform(0.2, 0.4) * W
    col = tuple(float(v) for v in g.uniform(10, 80, 3))
    cv2.line(img, (int(x0), int(y0)), (int(x0 + L * math.cos(a)), int(y0 + L * math.sin(a))), col,
             max(3, int(0.012 * W)), cv2.LINE_AA)
    c = (int(g.uniform(0.2, 0.8) * W), int(g.uniform(0.2, 0.8) * H))
    r = int(g.uniform(0.06, 0.12) * W)
    cv2.circle(img, c, r, tuple(float(v) for v in g.uniform(120, 240, 3)), -1, cv2.LINE_AA)
    cv2.circle(img, c, int(r * 0.8), tuple(float(v) for v in g.uniform(30, 90, 3)), -1, cv2.LINE_AA)


def quad_area(q):
    x, y = q[:, 0], q[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def place(g, W, H, aspect, frac, skew, jitter, margin, cut=0.0):
    """Corners TL,TR,BR,BL of a document of area ~frac*W*H, rotated by skew degrees (clockwise
    on screen), each corner jittered by up to jitter*doc width (perspective). With cut > 0 the
    quad is pushed so that 1-2 corners lie that far (fraction of doc size) outside the frame."""
    for _ in range(200):
        dw = math.sqrt(frac * W * H * aspect)
        dh = dw / aspect
        q = np.array([[-dw / 2, -dh / 2], [dw / 2, -dh / 2], [dw / 2, dh / 2], [-dw / 2, dh / 2]])
        # perspective: a keystone (camera tilt) plus independent corner jitter
        k = g.uniform(-jitter, jitter) * dw
        q[0, 0] += k
        q[1, 0] -= k
        q += g.uniform(-jitter, jitter, (4, 2)) * dw * 0.5
        t = math.radians(skew)
        rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
        q = q @ rot.T
        # the perspective must not change the visible skew much: top and bottom edges stay
        # within 1 degree of the requested angle (clean < 3 deg, 'skewed' 5-15 deg)
        top = math.degrees(math.atan2(q[1, 1] - q[0, 1], q[1, 0] - q[0, 0]))
        bot = math.degrees(math.atan2(q[2, 1] - q[3, 1], q[2, 0] - q[3, 0]))
        if abs(top - skew) > 1.0 or abs(bot - skew) > 1.0:
            continue
        lo, hi = q.min(0), q.max(0)
        m = margin * min(W, H)
        if cut > 0:
            side = int(g.integers(0, 4))
            cx = g.uniform(m - lo[0], W - m - hi[0]) if W - m - hi[0] > m - lo[0] else W / 2
            cy = g.uniform(m - lo[1], H - m - hi[1]) if H - m - hi[1] > m - lo[1] else H / 2
            over = cut * (dw if side in (0, 2) else dh)
            if side == 0:
                cx = -lo[0] - over            # left edge outside
            elif side == 1:
                cy = -lo[1] - over
            elif side == 2:
                cx = W - hi[0] + over
            else:
                cy = H - hi[1] + over
            return q + [cx, cy]
        if W - m - hi[0] > m - lo[0] and H - m - hi[1] > m - lo[1]:
            cx = g.uniform(m - lo[0], W - m - hi[0])
            cy = g.uniform(m - lo[1], H - m - hi[1])
            return q + [cx, cy]
        frac *= 0.9
    raise RuntimeError("cannot place document")


def rounded_mask(h, w, r):
    m = np.full((h, w), 255, np.uint8)
    if r >= 1:
        r = int(r)
        m[:r, :r] = m[:r, -r:] = m[-r:, :r] = m[-r:, -r:] = 0
        for cx, cy in ((r, r), (w - r - 1, r), (r, h - r - 1), (w - r - 1, h - r - 1)):
            cv2.circle(m, (cx, cy), r, 255, -1, cv2.LINE_AA)
    return m


def warp_doc(flat, q, W, H, card):
    """Warp the flat document (RGB) onto quad q in a W x H frame -> (BGR float, alpha float)."""
    fh, fw = flat.shape[:2]
    side = max(np.linalg.norm(q[1] - q[0]), np.linalg.norm(q[2] - q[1]) * fw / fh)
    s = min(1.0, side * 1.1 / fw)
    src = cv2.resize(flat, (max(8, int(fw * s)), max(8, int(fh * s))), interpolation=cv2.INTER_AREA) if s < 1 else flat
    sh, sw = src.shape[:2]
    M = cv2.getPerspectiveTransform(np.float32([[0, 0], [sw, 0], [sw, sh], [0, sh]]), np.float32(q))
    doc = cv2.warpPerspective(src[..., ::-1], M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    mask = rounded_mask(sh, sw, (3.18 / 85.6) * sw if card else 0)
    a = cv2.warpPerspective(mask, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return doc.astype(np.float32), a.astype(np.float32)[..., None] / 255.0, M, s


def lighting(W, H, g, lo, hi, cast=0.04):
    """Smooth multiplicative light field in [lo, hi] with a slight colour cast (float32 HxWx3)."""
    h, w = 24, 32
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gx, gy = g.uniform(-1, 1, 2)
    cx, cy = g.uniform(0, w), g.uniform(0, h)
    f = gx * xx / w + gy * yy / h - 0.6 * np.hypot((xx - cx) / w, (yy - cy) / h)
    f = (f - f.min()) / (f.max() - f.min() + 1e-6)
    f = lo + (hi - lo) * f
    cast = 1.0 + g.uniform(-cast, cast, 3).astype(np.float32)
    f = cv2.resize(f, (W, H), interpolation=cv2.INTER_CUBIC)
    return f[..., None] * cast


class Scene:
    """A composed photo: image (BGR float32 0..255), corners, and what made it."""

    def __init__(self, img, corners, skew, frac):
        self.img, self.corners, self.skew, self.frac = img, corners, skew, frac
        self.rotation = 0


def compose(flat, key, g, style="photo", frac=None, skew=None, jitter=None, cut=0.0, light=None,
            optics=0.5, scene_long=None):
    card = not key.startswith(("business-license", "passport", "domain-certificate"))
    fh, fw = flat.shape[:2]
    aspect = fw / fh
    if style == "scan":
        long_ = int(g.integers(1500, 2000)) if scene_long is None else scene_long
        W, H = (long_, int(long_ * 0.72)) if aspect > 1.2 else (long_, int(long_ * 0.8))
        bg = texture("white", W, H, g)
        frac = g.uniform(0.30, 0.55) if frac is None else frac
        skew = g.uniform(-0.6, 0.6) if skew is None else skew
        q = place(g, W, H, aspect, frac, skew, 0.0, 0.04)
        light = (0.97, 1.0)
        shadow = 0.08
    else:
        long_ = int(g.integers(1600, 2100)) if scene_long is None else scene_long
        W, H = long_, int(long_ * 3 / 4)
        bg = texture(["wood", "desk", "fabric", "stone"][int(g.integers(0, 4))], W, H, g)
        frac = g.uniform(0.25, 0.62) if frac is None else frac
        skew = g.uniform(-2.0, 2.0) if skew is None else skew
        jitter = g.uniform(0.0, 0.04) if jitter is None else jitter
        q = place(g, W, H, aspect, frac, skew, jitter, 0.04, cut)
        light = (g.uniform(0.72, 0.82), g.uniform(0.9, 0.97)) if light is None else light
        shadow = g.uniform(0.2, 0.4)
    doc, a, M, _ = warp_doc(flat, q, W, H, card)
    # soft drop shadow: the alpha blurred and offset, computed at 1/4 size
    small = cv2.resize(a[..., 0], (W // 4, H // 4), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), 4)
    sh = cv2.resize(small, (W, H), interpolation=cv2.INTER_LINEAR)
    sh = np.roll(sh, (int(H * 0.01), int(W * 0.008)), axis=(0, 1))[..., None]
    img = bg * (1 - shadow * sh)
    img = img * (1 - a) + doc * a
    img *= lighting(W, H, g, light[0], light[1], 0.0 if style == "scan" else 0.04)
    if optics > 0:
        img = cv2.GaussianBlur(img, (0, 0), optics)
    img += g.standard_normal((H, W, 1), dtype=np.float32) * float(g.uniform(1.5, 3.0))
    sk = math.degrees(math.atan2(q[1][1] - q[0][1], q[1][0] - q[0][0]))
    return Scene(img, q, sk, quad_area(q) / (W * H))


# ---- degradations on a composed scene --------------------------------------------------------

def to_u8(img):
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def d_blur(sc, g):
    H, W = sc.img.shape[:2]
    if g.random() < 0.5:
        sc.img = cv2.GaussianBlur(sc.img, (0, 0), g.uniform(0.0035, 0.006) * W)
        return "gaussian"
    n = int(g.uniform(0.012, 0.02) * W) | 1
    k = np.zeros((n, n), np.float32)
    k[n // 2, :] = 1.0 / n
    rot = cv2.getRotationMatrix2D((n / 2 - 0.5, n / 2 - 0.5), float(g.uniform(0, 180)), 1.0)
    k = cv2.warpAffine(k, rot, (n, n))
    sc.img = cv2.filter2D(sc.img, -1, k / k.sum())
    return "motion"


def d_glare(sc, g, layout):
    """A saturated specular blob over a text field, with a soft halo."""
    H, W = sc.img.shape[:2]
    keys = [k for k in layout["fields"] if k not in ("mrz", "optional_data")] or list(layout["fields"])
    b = layout["fields"][keys[int(g.integers(0, len(keys)))]]["box"]
    wmm, hmm = layout["size_mm"]
    u, v = (b[0] + b[2] / 2) / wmm, (b[1] + b[3] / 2) / hmm
    q = sc.corners
    top = q[0] + (q[1] - q[0]) * u
    bot = q[3] + (q[2] - q[3]) * u
    c = top + (bot - top) * v
    dw = np.linalg.norm(q[1] - q[0])
    rx, ry = dw * g.uniform(0.10, 0.17), dw * g.uniform(0.06, 0.11)
    ang = g.uniform(0, math.pi)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    dx, dy = xx - c[0], yy - c[1]
    xr = dx * math.cos(ang) + dy * math.sin(ang)
    yr = -dx * math.sin(ang) + dy * math.cos(ang)
    r2 = (xr / rx) ** 2 + (yr / ry) ** 2
    blob = np.exp(-r2 * 1.2) * 330.0 + np.exp(-r2 * 0.15) * 50.0
    sc.img = sc.img + blob[..., None] * np.array([0.97, 0.99, 1.0], np.float32)


def d_grey(sc, g):
    grey = cv2.cvtColor(to_u8(sc.img), cv2.COLOR_BGR2GRAY).astype(np.float32)
    sc.img = np.repeat(grey[..., None], 3, axis=2)


def d_dark(sc, g):
    sc.img = sc.img * g.uniform(0.10, 0.20)
    sc.img += g.standard_normal(sc.img.shape[:2] + (1,), dtype=np.float32) * 2.0


def d_over(sc, g):
    sc.img = sc.img * g.uniform(1.9, 2.6) + g.uniform(40, 80)


def d_screen(sc, g):
    """Photo of a monitor: RGB sub-pixel stripes at a slight angle, scan-line gaps, moiré bands,
    raised black level, cool cast and glow."""
    H, W = sc.img.shape[:2]
    p = g.uniform(3.0, 4.2)
    phi = math.radians(g.uniform(-3, 3))
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    u = (xx * math.cos(phi) + yy * math.sin(phi)) / p
    v = (-xx * math.sin(phi) + yy * math.cos(phi)) / p
    rows = 0.72 + 0.28 * np.cos(2 * math.pi * v) ** 2
    fx, fy = g.uniform(0.008, 0.02), g.uniform(0.004, 0.015)
    moire = 1.0 + g.uniform(0.10, 0.16) * np.sin(2 * math.pi * (xx * fx + yy * fy) + 3.0 * np.sin(yy / (H / 3.0)))
    out = np.empty_like(sc.img)
    for c, ph in ((2, 0.0), (1, 1 / 3), (0, 2 / 3)):           # BGR: R, G, B sub-pixels
        stripe = 0.5 + 0.5 * np.cos(2 * math.pi * (u - ph))
        out[..., c] = sc.img[..., c] * (0.25 + 1.05 * stripe) * rows * moire
    glow = cv2.GaussianBlur(cv2.resize(out, (W // 8, H // 8), interpolation=cv2.INTER_AREA), (0, 0), 6)
    out += cv2.resize(glow, (W, H), interpolation=cv2.INTER_LINEAR) * 0.25
    sc.img = out * 0.85 + np.array([30, 22, 18], np.float32)


def d_rotate(sc, g):
    k = int(g.integers(1, 4))                  # np.rot90 k times counter-clockwise
    H, W = sc.img.shape[:2]
    sc.img = np.ascontiguousarray(np.rot90(sc.img, k))
    q = sc.corners.copy()
    for _ in range(k):                         # (x, y) -> (y, W - x) for one CCW turn
        q = np.stack([q[:, 1], W - q[:, 0]], 1)
        H, W = W, H
    sc.corners = q
    sc.rotation = 90 * k                       # clockwise turns needed to undo k CCW turns


def exif_app1(entries):
    """Minimal EXIF APP1: IFD0 with ASCII tags [(tag, text)], little-endian TIFF."""
    entries = sorted(entries)
    n = len(entries)
    data_off = 8 + 2 + n * 12 + 4
    ents, data = b"", b""
    for tag, s in entries:
        b = s.encode("ascii") + b"\0"
        if len(b) <= 4:
            val = b.ljust(4, b"\0")
        else:
            val = struct.pack("<I", data_off + len(data))
            data += b + (b"\0" if len(b) % 2 else b"")
        ents += struct.pack("<HHI", tag, 2, len(b)) + val
    tiff = b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", n) + ents + struct.pack("<I", 0) + data
    payload = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def with_exif(jpg, entries):
    pos = 2
    if jpg[2:4] == b"\xff\xe0":                # keep JFIF APP0 first
        pos = 4 + struct.unpack(">H", jpg[4:6])[0]
    return jpg[:pos] + exif_app1(entries) + jpg[pos:]


PHONES = [("Xiaomi", "Redmi Note 12", "MIUI Camera"), ("HUAWEI", "ELS-AN00", "ELS-AN00 4.0.0.120"),
          ("OPPO", "PGBM10", "PGBM10_11_A.15"), ("Apple", "iPhone 13", "17.1.2"), ("vivo", "V2309A", "")]
EDITORS = ["Adobe Photoshop 25.0 (Windows)", "Adobe Photoshop CC 2019 (Macintosh)",
           "Adobe Photoshop CS6 (Windows)", "Adobe Photoshop 24.7 (Macintosh)"]


def photocopy(flat, key, g):
    """Scan of a black-and-white photocopy: the document binarised with toner speckle and streaks,
    its edge reproduced as a grey line, on white paper; saved grey."""
    grey = cv2.cvtColor(flat, cv2.COLOR_RGB2GRAY)
    fh, fw = grey.shape
    if fw > 1400:
        s = 1400 / fw
        grey = cv2.resize(grey, (1400, int(fh * s)), interpolation=cv2.INTER_AREA)
    t, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    k = g.uniform(4, 7)
    cp = np.clip((grey.astype(np.float32) - t * g.uniform(0.85, 0.95)) * k + 235, 0, 255)
    h, w = cp.shape
    speck = g.random((h, w), dtype=np.float32) < g.uniform(0.002, 0.006)
    cp[speck] = g.uniform(20, 80)
    x = int(g.integers(0, w))
    cp[:, x:x + 2] *= 0.75                                        # drum streak
    cv2.rectangle(cp, (0, 0), (w - 1, h - 1), 90.0, max(2, w // 300))
    rgb = np.repeat(cp.astype(np.uint8)[..., None], 3, axis=2)
    sc = compose(rgb, key, g, style="scan", frac=g.uniform(0.3, 0.5), optics=0.7)
    sc.img = np.repeat(sc.img.mean(axis=2, keepdims=True), 3, axis=2)
    sc.img += g.standard_normal(sc.img.shape[:2] + (1,), dtype=np.float32) * 3.0
    return sc


def encode(img_u8, ext, q):
    if ext == ".png":
        ok, buf = cv2.imencode(".png", img_u8, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    else:
        ok, buf = cv2.imencode(".jpg", img_u8, [cv2.IMWRITE_JPEG_QUALITY, int(q)])
    assert ok
    return buf.tobytes()


# ---- plan -----------------------------------------------------------------------------------

def plan(which, count, types):
    """Ordered list of (kind, slot) to generate; 'clean'/'scan'/'mild'/'face' are undegraded."""
    n = lambda k: max(1, int(round(k * count)))
    ok = lambda s: s.split(":")[0] in types
    slots = [s for s in SLOTS if ok(s)] or [s for s in SLOTS]
    eslots = [s for s in EXPIRY_SLOTS if ok(s)]
    pslots = [s for s in PORTRAIT_SLOTS if ok(s)]
    out = []

    def add(kind, k, sl):
        for i in range(n(k)):
            out.append((kind, sl[i % len(sl)]))
    if which in ("quality", "ocr", "all"):
        add("clean", 32, slots)
        add("scan", 10, slots)
        add("mild", 30, slots)
    if which in ("quality", "all"):
        for kind in QUALITY_KINDS:
            add(kind, 22, slots[len(out) % len(slots):] + slots[:len(out) % len(slots)])
    if which in ("ocr", "all") and eslots:
        add("expired", 22, eslots)
        add("expiring", 22, eslots)
    if which in ("face", "all") and pslots:
        add("face", 20, pslots)
        if which == "face":
            add("face_mild", 10, pslots)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--set", default="all", choices=["quality", "ocr", "face", "all", "application", "domain", "domain-eval"])
    ap.add_argument("--count", type=float, default=1.0, help="scale factor for the number of samples (default 1)")
    ap.add_argument("--types", default=",".join(TYPES))
    ap.add_argument("--portraits", default=None, help="face photo, or directory of them, to paste as portraits")
    ap.add_argument("--today", default="2026-11-28")
    a = ap.parse_args()
    today = dt.date.fromisoformat(a.today)
    types = [t.strip() for t in a.types.split(",") if t.strip()]
    for t in types:
        if t not in TYPES:
            ap.error("unknown type %s" % t)
    if a.set == "application" and "id-card" not in types:
        ap.error("--set application makes id-card applications: --types must include id-card")
    portraits = None
    if a.portraits:
        if os.path.isfile(a.portraits):
            portraits = [a.portraits]
        else:
            portraits = sorted(os.path.join(a.portraits, f) for f in os.listdir(a.portraits)
                               if f.lower().endswith((".jpg", ".jpeg", ".png")))
        if not portraits:
            ap.error("no .jpg/.png in %s" % a.portraits)
    layouts = json.load(open(LAYOUTS, encoding="utf-8"))
    os.makedirs(a.out, exist_ok=True)
    # A re-run into the same directory must not leave samples of an earlier run behind (evaluators
    # read every *.json): remove only files with the names this generator writes.
    for f in sorted(os.listdir(a.out)):
        if f == "index.json" or re.match(r"^\d{4}-[a-z-]+\.(jpg|png|pdf|json|flat\.png)$", f):
            os.remove(os.path.join(a.out, f))
        elif re.match(r"^app-\d{4}$", f) and os.path.isdir(os.path.join(a.out, f)):
            remove_application(os.path.join(a.out, f))
    if a.set == "application":
        return applications(a, layouts, today, portraits)
    if a.set in ("domain", "domain-eval"):
        return domain_certificates(a, today)
    items = plan(a.set, a.count, types)

    # Every undegraded sample (clean, scan, mild, face) and every expired/expiring one shows its
    # own document; each degraded sample is derived from a clean sample of the same slot (same
    # document, new scene), round robin, so degradations can be compared with their clean origin.
    bases = {}
    clean_of = {}
    deg_count = {}
    index = []
    for i, (kind, slot) in enumerate(items):
        g = np.random.default_rng([a.seed, i, 7])
        derived = None
        if kind in QUALITY_KINDS and clean_of.get(slot):
            n = clean_of[slot]
            k = deg_count[slot] = deg_count.get(slot, -1) + 1
            derived = n[k % len(n)]
            values, flat, src, fname = bases[derived]
        else:
            mode = kind if kind in ("expired", "expiring") else "ok"
            brng = random.Random("%d/%s/%d" % (a.seed, slot, i))
            values, extra = make_doc(slot, brng, today, mode)
            flat, src = R.render(slot, layouts[slot], values, extra, brng, portraits)
            fname = "%04d-%s-%s.flat.png" % (i, *slot.split(":"))
            ok, buf = cv2.imencode(".png", np.ascontiguousarray(flat[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 1])
            open(os.path.join(a.out, fname), "wb").write(buf.tobytes())
        entry = sample(a, i, kind, slot, layouts[slot], values, flat, src, fname, g, derived)
        index.append(entry)
        if kind in ("clean", "scan"):
            clean_of.setdefault(slot, []).append(entry["name"])
            bases[entry["name"]] = (values, flat, src, fname)
        if (i + 1) % 50 == 0:
            print("specgen: %d/%d" % (i + 1, len(items)), file=sys.stderr)
    summary = {"seed": a.seed, "set": a.set, "count": a.count, "today": a.today, "types": types,
               "samples": index}
    with open(os.path.join(a.out, "index.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, ensure_ascii=False, indent=1)
    print("specgen: %d samples -> %s" % (len(index), a.out), file=sys.stderr)


def sample(a, i, kind, slot, layout, values, flat, src, fname, g, derived=None):
    t, side = slot.split(":")
    name = "%04d-%s-%s-%s" % (i, t, side, kind.replace("_", "-"))
    degr = [] if kind in ("clean", "scan", "mild", "face", "face_mild") else [kind]
    mild = kind in ("mild", "face_mild")
    ext = ".jpg"
    q = int(g.integers(85, 96))
    exif = None
    if g.random() < 0.5:
        exif = [(0x010F, "x"), (0x0110, "x"), (0x0131, "x")]
        ph = PHONES[int(g.integers(0, len(PHONES)))]
        exif = [(0x010F, ph[0]), (0x0110, ph[1])] + ([(0x0131, ph[2])] if ph[2] else [])
    sc = None
    extra_d = None
    if kind == "scan":
        sc = compose(flat, slot, g, style="scan", optics=0.4)
        ext = ".png" if i % 3 == 0 else ".jpg"
        exif = None
    elif kind in ("mild", "face_mild"):
        sc = compose(flat, slot, g, jitter=g.uniform(0.03, 0.06), skew=g.uniform(-2, 2),
                     light=(g.uniform(0.6, 0.7), g.uniform(0.9, 0.97)), optics=g.uniform(0.8, 1.1))
    elif kind == "cut_corner":
        sc = compose(flat, slot, g, frac=g.uniform(0.3, 0.55), cut=g.uniform(0.06, 0.18))
    elif kind == "tiny":
        sc = compose(flat, slot, g, frac=g.uniform(0.025, 0.06))
    elif kind == "skewed":
        sk = g.uniform(6.0, 14.0) * (1 if g.random() < 0.5 else -1)
        sc = compose(flat, slot, g, frac=g.uniform(0.25, 0.45), skew=sk, jitter=g.uniform(0, 0.02))
    elif kind == "photocopy":
        sc = photocopy(flat, slot, g)
        exif = None
    elif kind == "no_document":
        W = int(g.integers(1600, 2100))
        H = W * 3 // 4
        bgk = ["wood", "desk", "fabric", "stone"][int(g.integers(0, 4))]
        img = texture(bgk, W, H, g)
        clutter(img, g)
        img *= lighting(W, H, g, 0.75, 0.97)
        img += g.standard_normal((H, W, 1), dtype=np.float32) * 2.0
        sc = Scene(img, None, 0.0, 0.0)
    else:
        sc = compose(flat, slot, g)
        if kind == "blur":
            extra_d = d_blur(sc, g)
        elif kind == "glare":
            d_glare(sc, g, layout)
        elif kind == "grey":
            d_grey(sc, g)
        elif kind == "dark":
            d_dark(sc, g)
        elif kind == "overexposed":
            d_over(sc, g)
        elif kind == "screen":
            d_screen(sc, g)
            q = int(g.integers(90, 96))
        elif kind == "rotated":
            d_rotate(sc, g)
        elif kind == "exif_photoshop":
            exif = [(0x010F, "Apple"), (0x0110, "iPhone 12"), (0x0131, EDITORS[int(g.integers(0, len(EDITORS)))])]
    img = to_u8(sc.img)
    if kind == "low_resolution":
        H, W = img.shape[:2]
        long_ = int(g.integers(280, 351))  # <= ~75 dpi: a real 79-dpi card photo was legible
        s = long_ / max(W, H)
        img = cv2.resize(img, (max(1, int(round(W * s))), max(1, int(round(H * s)))), interpolation=cv2.INTER_AREA)
        sc.corners = sc.corners * (img.shape[1] / W)
    data = encode(img, ext, q)
    if exif and ext == ".jpg":
        data = with_exif(data, exif)
    with open(os.path.join(a.out, name + ext), "wb") as f:
        f.write(data)
    flags = []
    for d in degr:
        flags += FLAGS[d]
    truth = {
        "name": name, "image": name + ext, "type": t, "side": side,
        "fields": truth_fields(values) if kind != "no_document" else {},
        "mrz": list(values["mrz"]) if "mrz" in values and kind != "no_document" else None,
        "corners": None if sc.corners is None else [[round(float(x), 2), round(float(y), 2)] for x, y in sc.corners],
        "rotation": sc.rotation, "skew_deg": round(float(sc.skew), 3),
        "area_fraction": round(float(sc.frac), 5),
        "image_size": [int(img.shape[1]), int(img.shape[0])],
        "degradations": degr,
        "degradation_detail": extra_d,
        "expected_flags": flags,
        "clean": not degr and not mild, "mild": mild,
        "portrait_source": src if layout.get("portrait") else None,
        "flat": fname,
        "derived_from": derived,
        "jpeg_quality": q if ext == ".jpg" else None,
        "exif_software": next((s for tag, s in (exif or []) if tag == 0x0131), None) if ext == ".jpg" else None,
    }
    with open(os.path.join(a.out, name + ".json"), "w", encoding="utf-8") as f:
        json.dump(truth, f, ensure_ascii=False, indent=1)
    return {k: truth[k] for k in ("name", "image", "type", "side", "degradations", "expected_flags", "clean", "mild")}


# ---- domain certificates ----------------------------------------------------------------------

DOMAIN_KEY = "domain-certificate:front"
DOMAIN_VARIANTS = ["expired", "expiring", "tld", "registrar", "form_domain", "holder"]
DOMAIN_KINDS = ["download", "photo", "pdf", "scan", "download", "mild"]


def domain_certificates(a, today):
    """--set domain (the field tests' styles) / domain-eval (the held-out styles and fonts): flat
    downloads (PNG), PDFs, scans and phone photos of certificates, good ones and one of each
    planted problem per style, each with its truth: fields, form (domain, province) and the
    flags expected."""
    field = a.set == "domain"
    styles = DC.FIELD_STYLES if field else DC.HELD_OUT_STYLES
    n_ok = max(len(styles), int(round((12 if field else 36) * a.count)))
    per_variant = max(1, int(round((1 if field else 4) * a.count)))
    items = [("ok", styles[i % len(styles)]) for i in range(n_ok)]
    for v in DOMAIN_VARIANTS:
        items += [(v, styles[(k + DOMAIN_VARIANTS.index(v)) % len(styles)]) for k in range(per_variant)]
    index = []
    for i, (variant, style) in enumerate(items):
        rng = random.Random("%d/%s/domain/%d" % (a.seed, a.set, i))
        g = np.random.default_rng([a.seed, i, 21 if field else 22])
        values, extra = DC.make_values(rng, today, style, variant)
        flat = DC.draw(style, values, extra, rng)
        kind = DOMAIN_KINDS[i % len(DOMAIN_KINDS)] if variant == "ok" else DOMAIN_KINDS[(i * 5) % 4]
        name = "%04d-domain-certificate-front-%s" % (i, kind)
        sc = None
        if kind == "pdf":
            ext, data = ".pdf", DC.to_pdf(flat)
        elif kind == "download":
            ext = ".png"
            s = g.uniform(0.7, 1.0)  # registrars' PNGs: 140-200 dpi
            img = cv2.resize(flat, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)[..., ::-1]
            data = encode(np.ascontiguousarray(img), ext, 0)
        else:
            if kind == "scan":
                sc = compose(flat, DOMAIN_KEY, g, style="scan", frac=g.uniform(0.55, 0.75), optics=0.4)
            elif kind == "mild":
                sc = compose(flat, DOMAIN_KEY, g, frac=g.uniform(0.45, 0.65), jitter=g.uniform(0.03, 0.06),
                             skew=g.uniform(-2, 2), light=(g.uniform(0.6, 0.7), g.uniform(0.9, 0.97)),
                             optics=g.uniform(0.8, 1.1))
            else:
                sc = compose(flat, DOMAIN_KEY, g, frac=g.uniform(0.45, 0.7))
            ext = ".jpg"
            data = encode(to_u8(sc.img), ext, int(g.integers(88, 96)))
        with open(os.path.join(a.out, name + ext), "wb") as f:
            f.write(data)
        truth = {
            "name": name, "image": name + ext, "type": "domain-certificate", "side": "front",
            "style": style, "held_out": not field, "variant": variant, "kind": kind,
            "fields": DC.truth_fields(values), "form": extra["form"], "subject": extra["subject"],
            "seal": extra["seal"], "expected_flags": DC.expected_flags(variant),
            "clean": variant == "ok" and kind != "mild", "mild": variant == "ok" and kind == "mild",
            "degradations": [], "corners": None if sc is None else [[round(float(x), 2), round(float(y), 2)]
                                                                   for x, y in sc.corners],
        }
        with open(os.path.join(a.out, name + ".json"), "w", encoding="utf-8") as f:
            json.dump(truth, f, ensure_ascii=False, indent=1)
        index.append({k: truth[k] for k in ("name", "image", "type", "side", "style", "variant", "kind",
                                            "expected_flags", "clean", "mild")})
    summary = {"seed": a.seed, "set": a.set, "count": a.count, "today": a.today, "types": ["domain-certificate"],
               "styles": styles, "samples": index}
    with open(os.path.join(a.out, "index.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, ensure_ascii=False, indent=1)
    print("specgen: %d domain certificates (%s) -> %s" % (len(index), ", ".join(styles), a.out), file=sys.stderr)


# ---- applications ---------------------------------------------------------------------------

APP_FILES = ("front.jpg", "back.jpg", "selfie.jpg", "form.json", "truth.json")


def remove_application(d):
    """Remove what applications() writes into one app-NNNN directory (nothing else)."""
    for f in APP_FILES:
        p = os.path.join(d, f)
        if os.path.isfile(p):
            os.remove(p)
    if not os.listdir(d):
        os.rmdir(d)


def photo(flat, slot, layout, g, mild, values, src):
    """A clean or mild phone photo of one flat document -> (JPEG bytes, truth of that side),
    drawn as sample() draws a 'clean'/'mild' sample."""
    t, side = slot.split(":")
    q = int(g.integers(85, 96))
    exif = None
    if g.random() < 0.5:
        ph = PHONES[int(g.integers(0, len(PHONES)))]
        exif = [(0x010F, ph[0]), (0x0110, ph[1])] + ([(0x0131, ph[2])] if ph[2] else [])
    if mild:
        sc = compose(flat, slot, g, jitter=g.uniform(0.03, 0.06), skew=g.uniform(-2, 2),
                     light=(g.uniform(0.6, 0.7), g.uniform(0.9, 0.97)), optics=g.uniform(0.8, 1.1))
    else:
        sc = compose(flat, slot, g)
    img = to_u8(sc.img)
    data = encode(img, ".jpg", q)
    if exif:
        data = with_exif(data, exif)
    truth = {
        "image": side + ".jpg", "type": t, "side": side, "fields": truth_fields(values), "mrz": None,
        "corners": [[round(float(x), 2), round(float(y), 2)] for x, y in sc.corners],
        "rotation": 0, "skew_deg": round(float(sc.skew), 3), "area_fraction": round(float(sc.frac), 5),
        "image_size": [int(img.shape[1]), int(img.shape[0])], "degradations": [], "degradation_detail": None,
        "expected_flags": [], "clean": not mild, "mild": mild,
        "portrait_source": src if layout.get("portrait") else None, "flat": None, "derived_from": None,
        "jpeg_quality": q, "exif_software": next((s for tag, s in (exif or []) if tag == 0x0131), None),
    }
    return data, truth


def applications(a, layouts, today, portraits):
    """--set application: OUT/app-NNNN/ with front.jpg and back.jpg of ONE resident ID card (clean
    or mild photos), selfie.jpg of the card portrait's face (when --portraits is given), form.json
    (the applicant form of `beian check --form`: name and ID number as on the card) and truth.json.
    Every application is good: it should pass."""
    n = max(1, int(round(20 * a.count)))
    by_name = {os.path.basename(p): p for p in (portraits or [])}
    if not portraits:
        print("specgen: no --portraits: the cards carry a synthetic silhouette and no selfie.jpg is "
              "written (the face check is skipped)", file=sys.stderr)
    index = []
    for i in range(n):
        name = "app-%04d" % i
        d = os.path.join(a.out, name)
        os.makedirs(d, exist_ok=True)
        brng = random.Random("%d/application/%d" % (a.seed, i))
        front, back, extra = F.make_id_card(brng, today, "ok")
        flat_f, src = R.render("id-card:front", layouts["id-card:front"], front, extra, brng, portraits)
        flat_b, _ = R.render("id-card:back", layouts["id-card:back"], back, extra, brng, None)
        g = np.random.default_rng([a.seed, i, 11])
        mild_f, mild_b = bool(g.random() < 0.35), bool(g.random() < 0.35)
        gf = np.random.default_rng([a.seed, i, 12])
        gb = np.random.default_rng([a.seed, i, 13])
        data_f, truth_f = photo(flat_f, "id-card:front", layouts["id-card:front"], gf, mild_f, front, src)
        data_b, truth_b = photo(flat_b, "id-card:back", layouts["id-card:back"], gb, mild_b, back, None)
        open(os.path.join(d, "front.jpg"), "wb").write(data_f)
        open(os.path.join(d, "back.jpg"), "wb").write(data_b)
        selfie = None
        if src is not None:
            gs = np.random.default_rng([a.seed, i, 14])
            img, info = R.selfie(by_name[src], gs)
            qs = int(gs.integers(88, 96))
            data = encode(img, ".jpg", qs)
            if gs.random() < 0.5:
                ph = PHONES[int(gs.integers(0, len(PHONES)))]
                data = with_exif(data, [(0x010F, ph[0]), (0x0110, ph[1])] + ([(0x0131, ph[2])] if ph[2] else []))
            open(os.path.join(d, "selfie.jpg"), "wb").write(data)
            selfie = dict({"image": "selfie.jpg", "source": src, "image_size": [int(img.shape[1]), int(img.shape[0])],
                           "jpeg_quality": qs}, **info)
        form = {"name": front["name"], "id_number": front["id_number"]}
        with open(os.path.join(d, "form.json"), "w", encoding="utf-8") as f:
            json.dump(form, f, ensure_ascii=False, indent=1)
        truth = {"name": name, "type": "id-card", "today": a.today, "expected_verdict": "pass",
                 "fields": dict(truth_fields(front), **truth_fields(back)),
                 "front": truth_f, "back": truth_b, "selfie": selfie, "form": form}
        with open(os.path.join(d, "truth.json"), "w", encoding="utf-8") as f:
            json.dump(truth, f, ensure_ascii=False, indent=1)
        index.append({"name": name, "front": name + "/front.jpg", "back": name + "/back.jpg",
                      "selfie": name + "/selfie.jpg" if selfie else None, "form": name + "/form.json",
                      "truth": name + "/truth.json", "front_mild": mild_f, "back_mild": mild_b})
    summary = {"seed": a.seed, "set": a.set, "count": a.count, "today": a.today, "types": ["id-card"],
               "samples": [], "applications": index}
    with open(os.path.join(a.out, "index.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, ensure_ascii=False, indent=1)
    print("specgen: %d applications -> %s" % (n, a.out), file=sys.stderr)


if __name__ == "__main__":
    main()
