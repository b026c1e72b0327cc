"""Render a flat, upright document at 300 dpi from data/layouts.json and a dict of field values.

The value of each field is drawn inside its layout box (the OCR stage reads the same boxes), the
label at its label_box. Backgrounds (tint + guilloche) depend only on the document type, like a
real printed blank, so they are cached.
"""
import functools
import math
import os

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

import fields as F

DPI = 300
PX = DPI / 25.4
NOTO = "/usr/share/fonts/opentype/noto/"
SANS = NOTO + "NotoSansCJK-Regular.ttc"
SANS_B = NOTO + "NotoSansCJK-Bold.ttc"
SERIF = NOTO + "NotoSerifCJK-Regular.ttc"
SERIF_B = NOTO + "NotoSerifCJK-Bold.ttc"
OCRB = "/usr/share/fonts/opentype/ocr-b/OCRB.otf"


@functools.lru_cache(maxsize=512)
def font(path, size):
    return ImageFont.truetype(path, max(6, int(size)), index=2 if path.endswith(".ttc") else 0)


def mm(v):
    return v * PX


def pbox(b):
    return [mm(v) for v in b]


def text_in_box(draw, text, box, path, color, fill=0.80, align="left", spacing=None):
    """Draw text fitted to box (px): height `fill` of the box, shrunk if too wide; vertically
    centred on the ink box of a reference glyph so baselines of a row line up."""
    x, y, w, h = box
    size = h * fill / 0.89
    f = font(path, size)
    width = f.getlength(text) + (spacing or 0) * max(0, len(text) - 1)
    if width > w:
        size *= w / width
        f = font(path, size)
        width = f.getlength(text) + (spacing or 0) * max(0, len(text) - 1)
    top, bot = f.getbbox("国H")[1], f.getbbox("国H")[3]
    ty = y + (h - (bot - top)) / 2 - top
    tx = x if align == "left" else x + (w - width) / 2 if align == "center" else x + w - width
    if spacing:
        for ch in text:
            draw.text((tx, ty), ch, font=f, fill=color)
            tx += f.getlength(ch) + spacing
    else:
        draw.text((tx, ty), text, font=f, fill=color)
    return width


def wrap(text, f, width, max_lines):
    lines, cur = [], ""
    for ch in text:
        if f.getlength(cur + ch) > width and cur:
            lines.append(cur)
            cur = ch
        else:
            cur += ch
    lines.append(cur)
    return lines[:max_lines]


# ---- backgrounds ----------------------------------------------------------------------------

TINTS = {
    "id-card:front": ((236, 242, 246), (150, 190, 215)),
    "id-card:back": ((238, 243, 246), (160, 195, 215)),
    "residence-permit:front": ((240, 240, 232), (200, 180, 140)),
    "residence-permit:back": ((240, 240, 232), (200, 180, 140)),
    "passport:front": ((238, 236, 226), (190, 170, 200)),
    "hk-macao-permit:front": ((232, 240, 236), (140, 195, 170)),
    "hk-macao-permit:back": ((232, 240, 236), (140, 195, 170)),
    "taiwan-permit:front": ((236, 236, 244), (165, 165, 215)),
    "taiwan-permit:back": ((236, 236, 244), (165, 165, 215)),
    "business-license:front": ((250, 248, 240), (225, 205, 160)),
}


@functools.lru_cache(maxsize=16)
def background(key, w, h):
    """Tint, soft colour wash and a guilloche of thin interfering sine bands (BGR uint8)."""
    base, line = TINTS[key]
    seed = sum(map(ord, key))
    s = 1 if w < 2000 else 3                      # compute big pages at 1/3, upscale (smooth)
    yy, xx = np.mgrid[0:h // s + 1, 0:w // s + 1].astype(np.float32)
    xx *= s / PX
    yy *= s / PX                                  # millimetres
    ph = (seed % 7) * 0.7
    g = np.zeros_like(xx)
    for k in range(3):
        f = 0.9 + 0.35 * k
        v = np.sin(xx * f / 6.0 + 3.0 * np.sin(yy / (7.0 + 2 * k) + ph + k)) \
            * np.cos(yy * f / 5.0 + 2.0 * np.sin(xx / (9.0 + k) - ph))
        g = np.maximum(g, np.exp(-(v * 16.0) ** 2))
    wash = 0.5 + 0.5 * np.sin(xx / 30.0 + ph) * np.cos(yy / 25.0)
    img = np.empty(xx.shape + (3,), np.float32)
    for c in range(3):
        b, l = base[2 - c], line[2 - c]                    # RGB -> BGR
        img[..., c] = b - (b - l) * (0.30 * g + 0.10 * wash)
    if s != 1:
        img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
    else:
        img = img[:h, :w]
    return np.clip(img, 0, 255).astype(np.uint8)


# ---- decorations ----------------------------------------------------------------------------

def star(draw, cx, cy, r, color, rot=-math.pi / 2):
    pts = []
    for i in range(10):
        rr = r if i % 2 == 0 else r * 0.382
        a = rot + i * math.pi / 5
        pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    draw.polygon(pts, fill=color)


def emblem(draw, box):
    """National-emblem placeholder: red disc, gold ring, five stars and a gate."""
    x, y, w, h = box
    cx, cy, r = x + w / 2, y + h / 2, min(w, h) / 2
    gold, red = (230, 180, 40), (200, 30, 30)
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=gold)
    draw.ellipse([cx - r * 0.82, cy - r * 0.82, cx + r * 0.82, cy + r * 0.82], fill=red)
    star(draw, cx - r * 0.25, cy - r * 0.38, r * 0.22, gold)
    for a in (-60, -20, 20, 60):
        t = math.radians(a - 90)
        star(draw, cx - r * 0.25 + r * 0.42 * math.cos(t + 1.5), cy - r * 0.38 + r * 0.42 * math.sin(t + 1.5),
             r * 0.08, gold)
    draw.rectangle([cx - r * 0.45, cy + r * 0.05, cx + r * 0.45, cy + r * 0.5], fill=gold)
    draw.rectangle([cx - r * 0.15, cy + r * 0.2, cx + r * 0.15, cy + r * 0.5], fill=red)
    for k in range(-5, 6):
        a = math.radians(90 + k * 14)
        draw.ellipse([cx + r * 0.7 * math.cos(a) - r * 0.06, cy + r * 0.62 * math.sin(a) - r * 0.1,
                      cx + r * 0.7 * math.cos(a) + r * 0.06, cy + r * 0.62 * math.sin(a) + r * 0.1], fill=gold)


def qr(img, box, rng):
    x, y, w, h = [int(round(v)) for v in box]
    n = 29
    m = (np.array([rng.random() < 0.5 for _ in range(n * n)]).reshape(n, n)).astype(np.uint8)
    for (r, c) in ((0, 0), (0, n - 7), (n - 7, 0)):
        m[r:r + 7, c:c + 7] = 1
        m[r + 1:r + 6, c + 1:c + 6] = 0
        m[r + 2:r + 5, c + 2:c + 5] = 1
    q = np.where(cv2.resize(m, (w, h), interpolation=cv2.INTER_NEAREST)[..., None] > 0, 20, 255).astype(np.uint8)
    img[y:y + h, x:x + w] = q


def seal(img_pil, box, text):
    """Red round seal with a star and the organisation's name on an arc, multiplied onto the page."""
    x, y, w, h = [int(round(v)) for v in box]
    lay = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(lay)
    r = min(w, h) / 2
    d.ellipse([2, 2, w - 3, h - 3], outline=255, width=max(3, int(r * 0.06)))
    star(d, w / 2, h / 2, r * 0.28, 255)
    f = font(SANS_B, r * 0.22)
    n = len(text)
    for i, ch in enumerate(text):
        a = math.radians(-150 + i * 240 / max(1, n - 1)) if n > 1 else 0.0
        g = Image.new("L", (int(r * 0.3), int(r * 0.3)), 0)
        ImageDraw.Draw(g).text((0, -r * 0.05), ch, font=f, fill=255)
        g = g.rotate(-math.degrees(a), resample=Image.BILINEAR, expand=False)
        gx = w / 2 + r * 0.72 * math.cos(a - math.pi / 2) - g.width / 2
        gy = h / 2 + r * 0.72 * math.sin(a - math.pi / 2) - g.height / 2
        lay.paste(255, (int(gx), int(gy)), g)
    a = np.asarray(lay, np.float32)[..., None] / 255.0 * 0.85
    arr = np.asarray(img_pil.crop((x, y, x + w, y + h)), np.float32)
    red = np.array([210, 30, 40], np.float32)
    out = arr * (1 - a) + (arr * red / 255.0) * a
    img_pil.paste(Image.fromarray(out.astype(np.uint8)), (x, y))


def silhouette(w, h, rng):
    """Neutral synthetic head-and-shoulders on a light background (RGB PIL)."""
    bgc = tuple(int(v) for v in (rng.randint(235, 250), rng.randint(235, 250), rng.randint(238, 252)))
    im = Image.new("RGB", (w, h), bgc)
    d = ImageDraw.Draw(im)
    skin = (rng.randint(200, 235), rng.randint(160, 195), rng.randint(130, 165))
    hair = (rng.randint(10, 50),) * 3
    cloth = (rng.randint(20, 90), rng.randint(20, 90), rng.randint(40, 120))
    d.ellipse([w * 0.05, h * 0.72, w * 0.95, h * 1.35], fill=cloth)
    d.rectangle([w * 0.40, h * 0.55, w * 0.60, h * 0.78], fill=skin)
    d.ellipse([w * 0.25, h * 0.14, w * 0.75, h * 0.66], fill=skin)
    d.chord([w * 0.23, h * 0.10, w * 0.77, h * 0.52], 180, 360, fill=hair)
    for ex in (0.40, 0.60):
        d.ellipse([w * (ex - 0.035), h * 0.38, w * (ex + 0.035), h * 0.41], fill=(40, 30, 30))
    d.line([w * 0.44, h * 0.54, w * 0.56, h * 0.54], fill=(150, 80, 80), width=max(2, w // 60))
    return im


def portrait_img(w, h, rng, portraits):
    """A face photo from `portraits` (cropped to the box aspect) or a silhouette; returns
    (image, source name or None)."""
    if portraits:
        name = rng.choice(portraits)
        src = Image.open(name).convert("RGB")
        sw, sh = src.size
        ar = w / h
        if sw / sh > ar:
            cw, ch = int(sh * ar), sh
        else:
            cw, ch = sw, int(sw / ar)
        cx = (sw - cw) // 2
        cy = max(0, (sh - ch) // 3)
        src = src.crop((cx, cy, cx + cw, cy + ch)).resize((w, h), Image.LANCZOS)
        return src, os.path.basename(name)
    return silhouette(w, h, rng), None


# ---- the documents --------------------------------------------------------------------------

LABEL_BLUE = (30, 110, 170)
INK = (20, 20, 22)


def fmt_value(dtype, side, key, v, extra):
    """How a normalised value is printed (see 'format' in layouts.json)."""
    if key == "sex" and dtype == "passport":
        return ("男/M" if v == "M" else "女/F")
    if key == "sex" and dtype in ("hk-macao-permit", "taiwan-permit"):
        return v + ("/M" if v == "男" else "/F")
    if key in ("surname", "given_names"):
        return extra["surname_cjk" if key == "surname" else "given_cjk"] + " " + v
    if key == "nationality":
        return "中国/CHINESE"
    if key == "document_code":
        return "P"
    if v == "long-term":
        return "长期"
    if isinstance(v, F.D):
        if dtype == "passport":
            return F.viz_date(v)
        if dtype == "business-license":
            return "%d年%02d月%02d日" % (v.year, v.month, v.day)
        return v.strftime("%Y.%m.%d")
    return str(v)


def render(lay_key, layout, values, extra, rng, portraits=None):
    """-> (RGB uint8 array, portrait source name or None)."""
    dtype, side = lay_key.split(":")
    wmm, hmm = layout["size_mm"]
    W, H = int(round(mm(wmm))), int(round(mm(hmm)))
    bg = background(lay_key, W, H)[..., ::-1]
    im = Image.fromarray(np.ascontiguousarray(bg))
    d = ImageDraw.Draw(im)
    lic = dtype == "business-license"
    val_font = SERIF if lic else SANS
    lab_color = (20, 20, 20) if lic else (LABEL_BLUE if dtype in ("id-card", "residence-permit") else (70, 70, 90))
    src = None
    if layout.get("portrait"):
        x, y, w, h = [int(round(v)) for v in pbox(layout["portrait"])]
        p, src = portrait_img(w, h, rng, portraits)
        im.paste(p, (x, y))
    for st in layout.get("static", []):
        b = pbox(st["box"])
        k = st["kind"]
        if k == "emblem":
            emblem(d, b)
        elif k == "border":
            x, y, w, h = b
            d.rectangle([x, y, x + w, y + h], outline=(180, 140, 60), width=int(mm(1.2)))
            d.rectangle([x + mm(2), y + mm(2), x + w - mm(2), y + h - mm(2)], outline=(200, 165, 90), width=int(mm(0.4)))
        elif k == "qr":
            arr = np.array(im)
            qr(arr, b, rng)
            im = Image.fromarray(arr)
            d = ImageDraw.Draw(im)
        elif k == "text":
            t = st["text"]
            if st.get("alt_text") and extra.get("title_alt"):
                t = st["alt_text"]
            style = st.get("style", "label")
            if style == "title_big":
                text_in_box(d, t, b, SERIF_B if lic else SANS_B, (200, 20, 20) if lic else (20, 20, 20),
                            fill=0.9, align="center", spacing=mm(2.0) if not lic else None)
            elif style == "title":
                text_in_box(d, t, b, SANS_B, (20, 20, 20), fill=0.85, align="center", spacing=mm(0.8))
            elif style == "header":
                text_in_box(d, t, b, SANS_B, (60, 40, 90), fill=0.8)
            elif style in ("value", "value_small"):
                text_in_box(d, t, b, val_font, INK, fill=0.75)
            elif style == "label_bold":
                text_in_box(d, t, b, SANS_B, lab_color, fill=0.85)
            else:
                text_in_box(d, t, b, SANS, lab_color, fill=0.85)
        elif k == "value":
            v = extra.get(st["key"])
            if v is not None:
                text_in_box(d, fmt_value(dtype, side, st["key"], v, extra), b, val_font, INK, fill=0.75)
        elif k == "notes":
            x, y, w, h = b
            txt = extra.get(st.get("key") or "notes") or NOTES[dtype]
            f = font(val_font if lic else SANS, mm(3.4) if lic else mm(2.0))
            pitch = mm(6.0) if lic else mm(3.0)
            for i, line in enumerate(wrap(txt, f, w, int(h // pitch))):
                d.text((x, y + i * pitch), line, font=f, fill=INK if lic else (60, 60, 70))
    for key, fd in layout["fields"].items():
        if key not in values:
            continue
        b = pbox(fd["box"])
        if fd.get("label") and fd.get("label_box"):
            text_in_box(d, fd["label"], pbox(fd["label_box"]), SANS_B if lic else SANS, lab_color, fill=0.85)
        v = values[key]
        if key == "mrz":
            mrz(d, b, v)
            continue
        if key == "optional_data":
            continue                                # lives in the MRZ only
        if key == "id_number":
            text_in_box(d, v, b, OCRB, INK, fill=0.72, spacing=mm(0.55))
            continue
        if key == "birth_date" and dtype in ("id-card", "residence-permit"):
            id_birth(d, b, v, lab_color)
            continue
        if key == "valid_from" and dtype != "business-license":
            nb = pbox(layout["fields"]["valid_until"]["box"])
            text_in_box(d, "-", [b[0] + b[2], b[1], nb[0] - b[0] - b[2], b[3]], val_font, INK, fill=0.6, align="center")
        if key == "valid_until" and dtype == "business-license":
            text_in_box(d, fmt_value(dtype, side, key, extra["valid_from"], extra) + " 至",
                        pbox([190.0, fd["box"][1], 52.0, fd["box"][3]]), val_font, INK, fill=0.75)
        t = fmt_value(dtype, side, key, v, extra)
        if fd.get("lines", 1) > 1:
            lines_ = fd["lines"]
            pitch = b[3] / lines_
            fill = 0.72
            while True:                 # shrink until the whole value fits: truth must be printed
                f = font(val_font, pitch * fill / 0.89)
                lines = wrap(t, f, b[2], 99)
                if len(lines) <= lines_ or fill < 0.4:
                    break
                fill *= 0.95
            assert len(lines) <= lines_, "value does not fit: %s" % t
            for i, line in enumerate(lines):
                text_in_box(d, line, [b[0], b[1] + i * pitch, b[2], pitch], val_font, INK, fill=fill)
        else:
            big = key == "name" and dtype in ("id-card", "residence-permit")
            text_in_box(d, t, b, SANS if dtype == "id-card" and key != "name" else val_font, INK,
                        fill=0.85 if big else 0.75,
                        spacing=mm(1.2) if big and len(t) <= 3 else None)
    if lic:
        seal(im, pbox(next(s["box"] for s in layout["static"] if s["kind"] == "seal")), extra.get("registrar", ""))
    return np.asarray(im), src


def id_birth(d, b, v, lab_color):
    """'1990 年 1 月 1 日' with 年/月/日 in the label colour, like the real card."""
    x, y, w, h = b
    parts = [(str(v.year), INK), ("年", lab_color), (str(v.month), INK), ("月", lab_color), (str(v.day), INK), ("日", lab_color)]
    f = font(SANS, h * 0.75 / 0.89)
    top, bot = f.getbbox("国H")[1], f.getbbox("国H")[3]
    ty = y + (h - (bot - top)) / 2 - top
    for t, c in parts:
        d.text((x, ty), t, font=f, fill=c)
        x += f.getlength(t) + mm(1.3)


def mrz(d, b, lines):
    """OCR-B at the ICAO pitch of 2.54 mm (10 cpi), lines evenly spread over the box."""
    x, y, w, h = b
    pitch = mm(2.54)
    f = font(OCRB, pitch / 0.723)
    top, bot = f.getbbox("H")[1], f.getbbox("H")[3]
    lh = h / len(lines)
    for i, line in enumerate(lines):
        ty = y + i * lh + (lh - (bot - top)) / 2 - top
        for j, ch in enumerate(line):
            d.text((x + j * pitch, ty), ch, font=f, fill=(15, 15, 20))


NOTES = {
    "hk-macao-permit": "1.本证是港澳居民来往内地所持有的旅行证件。2.持证人应妥善保管本证，不得涂改、转借。"
                       "3.本证遗失或损毁，应向公安机关出入境管理部门报告并申请补发。4.本证有效期满或签注用完，"
                       "持证人应及时申请换发。This permit is a travel document for Hong Kong and Macao residents.",
    "taiwan-permit": "1.本证是台湾居民来往大陆所持有的旅行证件。2.持证人应妥善保管本证，不得涂改、转借。"
                     "3.本证遗失或损毁，应及时报告并申请补发。4.本证有效期满，持证人应及时申请换发。"
                     "This permit is a travel document for Taiwan residents.",
}


# ---- live selfie ----------------------------------------------------------------------------

def selfie(path, g):
    """A phone-selfie-like picture of the face in `path` (BGR uint8) and how it was made: a 3:4
    crop framed differently from the card's portrait (tighter or looser, off-centre), turned by a
    few degrees, scaled to a phone's front-camera size, with a white-balance/exposure shift,
    gentle vignette and sensor noise. `g` is a numpy Generator (all draws from it)."""
    src = cv2.imread(path, cv2.IMREAD_COLOR).astype(np.float32)
    sh, sw = src.shape[:2]
    # the largest 3:4 crop, scaled by s and moved off-centre (faces sit in the upper middle)
    ch_max = min(sh, sw * 4.0 / 3.0)
    s = g.uniform(0.70, 1.0)
    ch = ch_max * s
    cw = ch * 0.75
    cx = sw / 2.0 + g.uniform(-1.0, 1.0) * min(0.08 * sw, (sw - cw) / 2.0)
    cy = ch / 2.0 + (sh - ch) * g.uniform(0.15, 0.6)
    angle = g.uniform(-4.0, 4.0)
    W = int(g.integers(900, 1081))
    H = W * 4 // 3
    k = W / cw
    # affine: crop centre -> frame centre, rotate by angle, scale k
    M = cv2.getRotationMatrix2D((float(cx), float(cy)), float(angle), float(k))
    M[0, 2] += W / 2.0 - cx
    M[1, 2] += H / 2.0 - cy
    img = cv2.warpAffine(src, M, (W, H), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
    gain = np.array(g.uniform(0.93, 1.07, 3), np.float32)
    gamma = g.uniform(0.85, 1.15)
    expo = g.uniform(0.92, 1.08)
    img = 255.0 * np.power(np.clip(img / 255.0, 0, 1), gamma) * gain * expo
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    r2 = ((xx - W / 2) / (W / 2)) ** 2 + ((yy - H / 2) / (H / 2)) ** 2
    img *= (1.0 - g.uniform(0.05, 0.15) * r2)[..., None]
    img += g.standard_normal((H, W, 1), dtype=np.float32) * float(g.uniform(1.0, 2.5))
    out = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    info = {"crop": [round(float(cx - cw / 2), 1), round(float(cy - ch / 2), 1), round(float(cw), 1),
                     round(float(ch), 1)],
            "rotation_deg": round(float(angle), 2), "scale": round(float(k), 3),
            "gain_bgr": [round(float(v), 3) for v in gain], "gamma": round(float(gamma), 3),
            "exposure": round(float(expo), 3)}
    return out, info
