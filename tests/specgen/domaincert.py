"""Domain name certificates (域名证书, issue 12) in registrars' styles, with their truth.

Registrars print their own certificates (../shared/notes/filing-application.md A): no layout is
fixed, so each style here draws one way of printing the same fields. FIELD_STYLES are the ones
the field (integration) tests use; HELD_OUT_STYLES, with their fonts (Noto Serif CJK, DejaVu
Serif), are used only by the evaluation (`--set domain-eval`), so the eval measures layouts and
fonts the tests never tuned against.

make_values(rng, today, variant) -> (fields, extra); draw(style, fields, extra, rng) -> RGB array.
Variants: ok, expired, expiring, tld (a TLD MIIT does not list), registrar (a foreign registrar,
the form's province requires a Mainland one), form_domain (the form names another domain),
holder (the holder is not the form's subject). All names and domains are synthetic.
"""
import datetime as dt

import numpy as np
from PIL import Image, ImageDraw

import fields as F
import render as R

DPI = 200
PX = DPI / 25.4
DJ = "/usr/share/fonts/truetype/dejavu/"
FIELD_STYLES = ["aliyun", "xinnet", "english_sans"]
HELD_OUT_STYLES = ["dnspod", "bilingual_inline", "english_serif"]

CITIES = dict(x.split(":") for x in "北京:Beijing 上海:Shanghai 深圳:Shenzhen 杭州:Hangzhou 广州:Guangzhou "
              "成都:Chengdu 南京:Nanjing 武汉:Wuhan 苏州:Suzhou 厦门:Xiamen".split())
WORDS = dict(x.split(":") for x in "星辰:Xingchen 华信:Huaxin 恒达:Hengda 博远:Boyuan 鼎盛:Dingsheng 云帆:Yunfan "
             "瑞丰:Ruifeng 天诚:Tiancheng 汇通:Huitong 金桥:Jinqiao 宏图:Hongtu 新锐:Xinrui 智联:Zhilian "
             "创达:Chuangda 启明:Qiming 正泰:Zhengtai".split())
INDUSTRY = {"科技": "Technology", "网络科技": "Network Technology", "信息技术": "Information Technology",
            "文化传媒": "Culture Media", "电子商务": "E-Commerce", "数据服务": "Data Services",
            "软件开发": "Software Development"}
GOOD_TLDS = ["com", "com", "com", "cn", "net", "com.cn", "top", "xyz", "vip", "cloud", "tech", "site", "info"]
BAD_TLDS = ["io", "me", "org", "asia", "app", "dev"]
SUFFIXES = ["", "", "tech", "cloud", "data", "net", "online", "soft"]
PROVINCES = ["11", "31", "44", "33", "北京市", "上海", "广东省", "浙江省", "湖南", "43", "四川省", "32"]
MAINLAND = {"aliyun": ["阿里云计算有限公司"], "dnspod": ["腾讯云计算（北京）有限责任公司"],
            "xinnet": [None], "bilingual_inline": ["成都西维数码科技有限公司", "北京新网数码信息技术有限公司",
                                                   "厦门易名科技股份有限公司"],
            "english_sans": ["Alibaba Cloud Computing Ltd. d/b/a HiChina", "DNSPod, Inc."],
            "english_serif": ["Xinnet Technology Corporation", "Alibaba Cloud Computing Ltd."]}
FOREIGN = ["GoDaddy.com, LLC", "NameCheap, Inc.", "Gandi SAS", "Dynadot LLC", "Porkbun LLC"]
ENGLISH = ("english_sans", "english_serif")


def holder_names(rng):
    """-> (Chinese name, English name): a company (Co., Ltd.) or a person."""
    if rng.random() < 0.3:
        sur, giv, sur_py, giv_py = F.person_name(rng)
        return sur + giv, sur_py.title() + " " + giv_py.title()
    city = rng.choice(sorted(CITIES))
    word = rng.choice(sorted(WORDS))
    ind = rng.choice(sorted(INDUSTRY))
    return city + word + ind + "有限公司", "%s %s %s Co., Ltd." % (CITIES[city], WORDS[word], INDUSTRY[ind])


def make_values(rng, today, style, variant="ok"):
    word = rng.choice(sorted(WORDS)).lower() if rng.random() < 0.7 else F.person_name(rng)[3].lower()
    label = WORDS.get(word, word).lower() + rng.choice(SUFFIXES)
    if rng.random() < 0.15:
        label += "-" + rng.choice(["cn", "tech", "shop", "app"])
    if rng.random() < 0.1:
        label += str(rng.randint(1, 99))
    tld = rng.choice(BAD_TLDS) if variant == "tld" else rng.choice(GOOD_TLDS)
    domain = label + "." + tld
    holder, holder_en = holder_names(rng)
    for _ in range(1000):
        reg = F.rand_date(rng, today - dt.timedelta(days=9 * 365), today - dt.timedelta(days=40), maxday=28)
        if variant == "expired":
            exp = today - dt.timedelta(days=rng.randint(3, 400))
        elif variant == "expiring":
            exp = today + dt.timedelta(days=rng.randint(3, 80))
        else:
            exp = F.add_years(reg, rng.randint(1, 10))
            if (exp - today).days < 150:
                continue
        if exp > reg:
            break
    registrar = rng.choice(FOREIGN if variant == "registrar" else MAINLAND[style])
    f = {"domain": domain, "holder": holder_en if style in ENGLISH else holder,
         "registered_on": reg, "expires_on": exp}
    if style in ("xinnet", "bilingual_inline"):
        f["holder_en"] = holder_en
    if registrar:
        f["registrar"] = registrar
    if style in ("aliyun", "bilingual_inline") or (style == "english_sans" and rng.random() < 0.5):
        f["certificate_no"] = "%s%s%05d" % (rng.choice(["ZC", "DC", "WD"]), reg.strftime("%Y%m%d"), rng.randint(0, 99999))
    form = {"domain": domain, "province": rng.choice(PROVINCES)}
    if variant == "form_domain":
        form["domain"] = "x" + domain
    extra = {"seal": rng.random() < 0.6, "form": form, "subject": holder}
    if variant == "holder":
        extra["subject"] = holder_names(rng)[0]
    return f, extra


# ---- drawing ---------------------------------------------------------------------------------

def mm(v):
    return v * PX


def font(path, size_mm):
    return R.font(path, mm(size_mm))


def text(d, xy_mm, s, path, size_mm, color=(25, 25, 25), anchor="la"):
    d.text((mm(xy_mm[0]), mm(xy_mm[1])), s, font=font(path, size_mm), fill=color, anchor=anchor)


def page(w_mm, h_mm, tint, frame):
    im = Image.new("RGB", (int(round(mm(w_mm))), int(round(mm(h_mm)))), tint)
    d = ImageDraw.Draw(im)
    if frame:
        for k, wd in ((6, 1.2), (9, 0.4)):
            d.rectangle([mm(k), mm(k), mm(w_mm - k), mm(h_mm - k)], outline=frame, width=max(1, int(mm(wd))))
    return im, d


def cn_date(x):
    return "%d年%02d月%02d日" % (x.year, x.month, x.day)


def draw(style, f, extra, rng):
    """-> RGB uint8 array of the flat certificate at DPI."""
    sans, serif, sans_b, serif_b = R.SANS, R.SERIF, R.SANS_B, R.SERIF_B
    reg_name = f.get("registrar") or "北京新网数码信息技术有限公司"
    if style == "aliyun":
        im, d = page(297, 210, (250, 252, 255), (40, 110, 190))
        text(d, (148.5, 28), "域名注册证书", sans_b, 14, (30, 80, 160), "mt")
        text(d, (148.5, 47), "Domain Name Registration Certificate", sans, 5, (90, 110, 140), "mt")
        rows = [("域名：", f["domain"]), ("域名持有者：", f["holder"]), ("注册商：", reg_name),
                ("注册日期：", cn_date(f["registered_on"])), ("到期日期：", cn_date(f["expires_on"])),
                ("证书编号：", f["certificate_no"])]
        for i, (lab, v) in enumerate(rows):
            text(d, (45, 68 + i * 17), lab + v, sans, 7)
        text(d, (148.5, 188), "本证书仅证明域名注册信息，不作为其他用途", sans, 4, (120, 120, 120), "mt")
        seal_box = (200, 128, 52, 52)
    elif style == "xinnet":
        im, d = page(210, 297, (255, 255, 252), (160, 40, 40))
        text(d, (18, 16), "新网 XINNET", sans_b, 7, (200, 40, 40))
        text(d, (105, 40), "国际域名注册证书", sans_b, 12, (40, 40, 40), "mt")
        text(d, (105, 58), "Certification of Global Top Level Domain Name", sans, 5, (80, 80, 80), "mt")
        y = 88
        rows = [("域名/Domain Name", [f["domain"].upper() if rng.random() < 0.5 else f["domain"]]),
                ("注册所有人/Registrant", [f["holder"], f["holder_en"]]),
                ("注册时间/Registration Date", [f["registered_on"].isoformat()]),
                ("到期时间/Expiration Date", [f["expires_on"].isoformat()]),
                ("通信地址/Address", ["北京市海淀区示例路%d号" % rng.randint(1, 99)])]
        for lab, vals in rows:
            text(d, (18, y), lab, sans, 5)
            for k, v in enumerate(vals):
                text(d, (92, y + k * 9), v, sans, 6 if k == 0 else 4.4)
            d.line([mm(16), mm(y + 9 * len(vals) + 2), mm(194), mm(y + 9 * len(vals) + 2)], fill=(200, 200, 200),
                   width=2)
            y += 9 * len(vals) + 10
        text(d, (105, 270), "鉴别本证书的真伪，请访问http://www.xinnet.com进行查询", sans, 4, (90, 90, 90), "mt")
        seal_box = (120, 200, 56, 56)
    elif style == "english_sans":
        im, d = page(210, 297, (255, 255, 255), (30, 60, 120))
        text(d, (105, 36), "Domain Registration Certificate", DJ + "DejaVuSans-Bold.ttf", 9, (30, 60, 120), "mt")
        rows = [("Domain Name:", f["domain"]), ("Registrant:", f["holder"]), ("Registrar:", reg_name),
                ("Registration Date:", f["registered_on"].isoformat()),
                ("Expiration Date:", f["expires_on"].isoformat())]
        if "certificate_no" in f:
            rows.append(("Certificate No.:", f["certificate_no"]))
        for i, (lab, v) in enumerate(rows):
            text(d, (20, 80 + i * 16), lab, DJ + "DejaVuSans-Bold.ttf", 5)
            text(d, (78, 80 + i * 16), v, DJ + "DejaVuSans.ttf", 5.5)
        seal_box = (130, 200, 50, 50)
    elif style == "dnspod":
        im, d = page(210, 297, (252, 252, 250), (20, 120, 200))
        text(d, (18, 16), "DNSPod 腾讯云", serif_b, 7, (20, 120, 200))
        text(d, (105, 42), "域名证书", serif_b, 14, (30, 30, 30), "mt")
        text(d, (105, 80), f["domain"], serif_b, 11, (20, 20, 20), "mt")
        rows = [("域名所有者：", f["holder"]), ("注册商：", reg_name), ("注册时间：", f["registered_on"].isoformat()),
                ("到期时间：", f["expires_on"].isoformat())]
        for i, (lab, v) in enumerate(rows):
            text(d, (28, 120 + i * 18), lab + v, serif, 6.5)
        text(d, (105, 275), "www.dnspod.cn", serif, 4, (120, 120, 120), "mt")
        seal_box = (128, 190, 54, 54)
    elif style == "bilingual_inline":
        im, d = page(297, 210, (253, 250, 243), (150, 120, 60))
        text(d, (148.5, 24), "域名注册证书", serif_b, 12, (120, 80, 20), "mt")
        text(d, (148.5, 42), "DOMAIN NAME CERTIFICATE", serif, 5, (120, 80, 20), "mt")
        rows = [("域名 Domain Name：", f["domain"]), ("持有者 Holder：", f["holder"] + " " + f["holder_en"]),
                ("注册商 Registrar：", reg_name),
                ("注册日期 Registration Date：", cn_date(f["registered_on"])),
                ("到期日期 Expiration Date：", cn_date(f["expires_on"])),
                ("证书编号 Certificate No.：", f["certificate_no"])]
        for i, (lab, v) in enumerate(rows):
            text(d, (30, 62 + i * 17), lab + v, serif, 6 if i != 1 else 5.5)
        seal_box = (215, 132, 50, 50)
    else:  # english_serif
        im, d = page(297, 210, (255, 255, 250), (60, 60, 60))
        text(d, (148.5, 24), "CERTIFICATE OF DOMAIN REGISTRATION", DJ + "DejaVuSerif-Bold.ttf", 8, (40, 40, 40), "mt")
        rows = [("DOMAIN NAME", f["domain"]), ("REGISTRANT", f["holder"]), ("SPONSORING REGISTRAR", reg_name),
                ("CREATION DATE", f["registered_on"].strftime("%d %b %Y")),
                ("EXPIRY DATE", f["expires_on"].strftime("%d %b %Y"))]
        for i, (lab, v) in enumerate(rows):
            text(d, (30, 62 + i * 20), lab, DJ + "DejaVuSerif-Bold.ttf", 5)
            text(d, (125, 62 + i * 20), v, DJ + "DejaVuSerif.ttf", 6)
        seal_box = (220, 140, 46, 46)
    if extra.get("seal"):
        x, y, w, h = seal_box
        name = reg_name if any("\u4e00" <= c <= "\u9fff" for c in reg_name) else "域名注册服务专用章"
        R.seal(im, (mm(x), mm(y), mm(w), mm(h)), name[:14])
    arr = np.asarray(im).astype(np.float32)
    arr += np.random.default_rng(rng.randint(0, 2 ** 31)).standard_normal(arr.shape[:2] + (1,)).astype(np.float32) * 1.5
    return np.clip(arr, 0, 255).astype(np.uint8)


def truth_fields(f):
    out = {}
    for k, v in f.items():
        out[k] = v.isoformat() if isinstance(v, dt.date) else (v.lower() if k == "domain" else v)
    return out


def expected_flags(variant):
    return {"ok": [], "expired": ["domain_expired"], "expiring": ["domain_expires_soon"],
            "tld": ["tld_not_filable"], "registrar": ["registrar_not_mainland"],
            "form_domain": ["form_mismatch_domain"], "holder": ["domain_holder_mismatch"]}[variant]


def to_pdf(rgb):
    """One-page PDF of the flat certificate (an image page, as registrars' downloads are)."""
    import io
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PDF", resolution=float(DPI))
    return buf.getvalue()
