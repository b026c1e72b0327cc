#!/bin/bash
# train-mrz.sh — train models/mrz.traineddata, a small Tesseract LSTM for ICAO MRZ lines.
#
# Why: Debian's `eng` model reads MRZ lines poorly (OCR-B glyphs, long runs of `<`), and the
# fast models are integer-only, so they cannot be fine-tuned. A small network trained from
# scratch on synthetic OCR-B lines with the charset A-Z0-9< is quick to train and reads MRZs far
# better. Everything here is Debian 12 packages: tesseract-ocr (text/box → lstmf, lstmtraining,
# combine_lang_model), fonts-ocr-b, python3-pil/numpy.
#
# Usage: scripts/train-mrz.sh [WORKDIR]   (default /tmp/mrz-train; not run by setup)
# Env:   MRZ_TRAIN_LINES (10000) MRZ_EVAL_LINES (400) MRZ_MAX_ITER (30000) MRZ_SEED (7)
#        MRZ_OUT (models/mrz.traineddata)
# Deterministic for a seed: data generation is seeded; lstmtraining itself is single-threaded
# per line and deterministic given the same data order.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-/tmp/mrz-train}
NTRAIN=${MRZ_TRAIN_LINES:-10000}
NEVAL=${MRZ_EVAL_LINES:-400}
MAXIT=${MRZ_MAX_ITER:-30000}
SEED=${MRZ_SEED:-7}
OUT=${MRZ_OUT:-$SRC/models/mrz.traineddata}
FONT=/usr/share/fonts/opentype/ocr-b/OCRB.otf
[ -f "$FONT" ] || { echo "fonts-ocr-b is not installed ($FONT)" >&2; exit 1; }
for t in tesseract lstmtraining unicharset_extractor combine_lang_model; do
    command -v $t >/dev/null || { echo "missing $t (Debian package tesseract-ocr)" >&2; exit 1; }
done
# Debian's libtesseract uses OpenMP; with several threads lstmtraining spends most of its time
# spinning (measured 240 ms vs 31 ms per iteration on 2 cores). One thread is much faster.
export OMP_THREAD_LIMIT=1
rm -rf "$WORK" && mkdir -p "$WORK"/{gt,eval,lang,ckpt,scripts}
cd "$WORK"

echo "== 1. synthetic MRZ lines (seed $SEED): $NTRAIN train, $NEVAL eval"
/usr/bin/python3 - "$FONT" "$NTRAIN" "$NEVAL" "$SEED" <<'PY'
import random, sys, io
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageFilter
font_path, ntrain, neval, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
R = random.Random(seed)
A = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
D = "0123456789"
def cd(s):
    w = (7, 3, 1); t = 0
    for i, c in enumerate(s):
        v = int(c) if c.isdigit() else (ord(c) - 55 if c.isalpha() else 0)
        t += v * w[i % 3]
    return str(t % 10)
CC = ("CHN UTO D<< GBR USA FRA DEU NLD ITA ESP AUT BEL CAN AUS JPN KOR HKG MAC TWN IND RUS POL "
      "CZE LIE LTU LVA MCO PER SRB SWE NOR FIN DNK IRL PRT GRC CHE TUR BRA ARG MEX ZAF NZL SGP").split()
def name_part():
    return "".join(R.choice(A) for _ in range(R.randint(2, 10)))
def name(n):
    s = name_part() + ("<" + name_part() if R.random() < .2 else "") + "<<" + name_part()
    if R.random() < .4: s += "<" + name_part()
    return (s + "<" * n)[:n]
def date():
    return "%02d%02d%02d" % (R.randint(0, 99), R.randint(1, 12), R.randint(1, 28))
def alnum(n, pd=.7):
    return "".join(R.choice(D) if R.random() < pd else R.choice(A) for _ in range(n))
def opt(n):
    if R.random() < .5: return "<" * n
    k = R.randint(1, n); return (alnum(k, .6) + "<" * n)[:n]
def td3():
    l1 = R.choice(["P<", "PO", "PD", "PS"]) + R.choice(CC) + name(39)
    no = (alnum(9, .8) if R.random() < .8 else alnum(R.randint(6, 8)) + "<<<")[:9]
    a = no + cd(no) + R.choice(CC); b = date(); e = date(); o = opt(14)
    l2 = a + b + cd(b) + R.choice("MFX<") + e + cd(e) + o + (cd(o) if o.strip("<") else R.choice("<0"))
    return [l1, l2 + cd(l2[0:10] + l2[13:20] + l2[21:43])]
def td2():
    l1 = R.choice(["I<", "ID", "AC", "V<"]) + R.choice(CC) + name(31)
    no = alnum(9, .8); b = date(); e = date(); o = opt(7)
    l2 = no + cd(no) + R.choice(CC) + b + cd(b) + R.choice("MF<") + e + cd(e) + o
    return [l1, l2 + cd(l2[0:10] + l2[13:20] + l2[21:35])]
def td1():
    no = alnum(9, .8); o1 = opt(15)
    l1 = R.choice(["I<", "ID", "IR", "AC", "C<"]) + R.choice(CC) + no + cd(no) + o1
    b = date(); e = date(); o2 = opt(11)
    l2 = b + cd(b) + R.choice("MF<") + e + cd(e) + R.choice(CC) + o2
    l2 += cd(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
    return [l1, l2, name(30)]
def cs():
    no = R.choice("CL") + (alnum(8, 1) if R.random() < .6 else R.choice(A) + alnum(7, 1))
    e = date(); b = date()
    s = R.choice(["CS", "CD"]) + no + cd(no) + "<" + e + cd(e) + "<" + b + cd(b) + "<"
    return [s + cd(s[2:12] + s[13:20] + s[21:28])]
def cr():
    no = R.choice("HM") + alnum(8, 1); n = "%02d" % R.randint(0, 9); e = date(); b = date()
    l1 = R.choice(["CR", "CT"]) + no + cd(no) + n + cd(n) + e + cd(e) + R.choice("MF") + b + cd(b)
    hk = R.choice(A) + alnum(6, 1) + R.choice(D + "A") + "<"
    l2 = (alnum(R.randint(0, 12), .5) + "<" * 19)[:19] + hk
    l2 += cd(l1[2:22] + l1[23:30] + l2[19:29])
    return [l1, l2, name(30)]
GEN = [(td3, 3), (td2, 1.5), (td1, 2), (cs, 1), (cr, 1)]
def lines():
    f = R.choices([g for g, _ in GEN], [w for _, w in GEN])[0]
    return f()
def render(text):
    size = R.randint(22, 44)
    font = ImageFont.truetype(font_path, size)
    bg = R.randint(150, 255); ink = R.randint(0, min(90, bg - 60))
    w = int(font.getlength(text)) + size * 2
    h = int(size * R.uniform(1.6, 2.4))
    img = Image.new("L", (w, h), bg)
    d = ImageDraw.Draw(img)
    # clutter: parts of the neighbouring MRZ/VIZ lines cut by a loose crop
    if R.random() < .3:
        d.text((size + R.randint(-5, 5), -int(size * R.uniform(.75, 1.0))), "".join(R.choice(A + D + "<") for _ in text), font=font, fill=ink)
    if R.random() < .3:
        d.text((size + R.randint(-5, 5), h - int(size * R.uniform(.15, .35))), "".join(R.choice(A + D + "<") for _ in text), font=font, fill=ink)
    d.text((size + R.randint(-size // 2, size // 2), (h - size) // 2 + R.randint(-3, 3)), text, font=font, fill=ink)
    a = np.asarray(img).astype(np.float32)
    if R.random() < .5:  # uneven lighting / security print
        gx = np.linspace(0, 1, w)[None, :] * R.uniform(-40, 40)
        a = a + gx + np.sin(np.arange(w)[None, :] / R.uniform(3, 15) + np.arange(h)[:, None] / R.uniform(3, 15)) * R.uniform(0, 12)
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if R.random() < .7:
        img = img.rotate(R.uniform(-2, 2), resample=Image.BILINEAR, expand=False, fillcolor=bg)
    if R.random() < .6:
        img = img.filter(ImageFilter.GaussianBlur(R.uniform(0.3, 1.4)))
    if R.random() < .5:  # low resolution then upscaled, as from a small photo
        f = R.uniform(.35, .8)
        small = img.resize((max(8, int(w * f)), max(8, int(h * f))), Image.BILINEAR)
        img = small.resize((w, h), Image.BILINEAR) if R.random() < .5 else small
    a = np.asarray(img).astype(np.float32)
    a += np.random.default_rng(R.randint(0, 1 << 30)).normal(0, R.uniform(0, 14), a.shape)
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if R.random() < .5:
        b = io.BytesIO(); img.save(b, "JPEG", quality=R.randint(30, 90)); img = Image.open(io.BytesIO(b.getvalue())).convert("L")
    return img
def write_set(dirname, n, chunk):
    items = []
    while len(items) < n:
        items.extend(lines())
    items = items[:n]
    for c in range(0, n, chunk):
        pages, boxes = [], []
        for p, t in enumerate(items[c:c + chunk]):
            im = render(t); pages.append(im)
            W, H = im.size
            for ch in t:
                boxes.append("%s 0 0 %d %d %d" % (ch, W, H, p))
            boxes.append("\t 0 0 %d %d %d" % (W, H, p))
        base = "%s/c%04d" % (dirname, c // chunk)
        pages[0].save(base + ".tif", save_all=True, append_images=pages[1:], compression="tiff_deflate")
        open(base + ".box", "w").write("\n".join(boxes) + "\n")
        open(base + ".gt.txt", "w").write("\n".join(items[c:c + chunk]) + "\n")
        if dirname == "eval":  # single images for the line-exact test with the final model
            for p, im in enumerate(pages):
                im.save("%s/l%04d_%03d.png" % (dirname, c // chunk, p))
write_set("gt", ntrain, 250)
write_set("eval", neval, 100)
PY

echo "== 2. lstmf files"
for t in gt/*.tif eval/c*.tif; do
    tesseract "$t" "${t%.tif}" --psm 13 lstm.train >/dev/null 2>&1
done
ls "$PWD"/gt/*.lstmf > list.train
ls "$PWD"/eval/c*.lstmf > list.eval

echo "== 3. starter traineddata (unicharset A-Z0-9<)"
unicharset_extractor --output_unicharset lang/unicharset gt/*.box >/dev/null 2>&1
# combine_lang_model insists on a radical table; a comment-only one is valid (no CJK here).
echo '# no CJK characters in the MRZ charset' > lang/radical-stroke.txt
combine_lang_model --input_unicharset lang/unicharset --script_dir lang --output_dir lang \
    --lang mrz >/dev/null 2>&1 || true
[ -f lang/mrz/mrz.traineddata ] || { echo "combine_lang_model failed" >&2; exit 1; }

echo "== 4. lstmtraining from scratch, up to $MAXIT iterations"
lstmtraining --traineddata lang/mrz/mrz.traineddata \
    --net_spec '[1,36,0,1 Ct3,3,16 Mp3,3 Lfys48 Lfx96 Lrx96 Lfx128 O1c1]' \
    --model_output ckpt/mrz --learning_rate 0.002 --train_listfile list.train \
    --eval_listfile list.eval --max_iterations "$MAXIT" --target_error_rate 0.2 \
    --debug_interval 0 2>&1 | grep -E 'At iteration|Finished|best|Deserialize' | awk 'NR % 20 == 1' || true

echo "== 5. final model (integer, fast)"
mkdir -p "$(dirname "$OUT")"
lstmtraining --stop_training --convert_to_int --continue_from ckpt/mrz_checkpoint \
    --traineddata lang/mrz/mrz.traineddata --model_output "$OUT" >/dev/null 2>&1
ls -l "$OUT"

echo "== 6. held-out synthetic lines, line-exact"
ok=0; n=0
TD=$(dirname "$OUT")
for png in eval/l*.png; do
    c=${png#eval/l}; chunk=$((10#${c%%_*})); page=$((10#$(basename "$c" .png | cut -d_ -f2)))
    want=$(sed -n "$((page + 1))p" "eval/c$(printf %04d $chunk).gt.txt")
    got=$(tesseract "$png" - --tessdata-dir "$TD" -l mrz --psm 7 2>/dev/null | tr -d ' \n\f')
    n=$((n + 1)); [ "$got" = "$want" ] && ok=$((ok + 1))
done
echo "line-exact: $ok / $n"
