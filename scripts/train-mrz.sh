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
# Env:   MRZ_TRAIN_LINES (8000, phase A) MRZ_TRAIN_LINES_B (8000) MRZ_EVAL_LINES (400)
#        MRZ_MAX_ITER_A (10000) MRZ_MAX_ITER (30000, phase B: lstmtraining counts it from 0 again)
#        MRZ_SEED (7) MRZ_OUT (models/mrz.traineddata)
# Two phases: A trains from scratch on OCR-B lines; B continues on A + lines in other OCR-B cuts
# and DejaVu Sans Mono at wider pitches (real MRZs differ from fonts-ocr-b; a pure OCR-B model
# read `D23` as `063` on a real TD2 specimen).
# Deterministic for a seed: data generation is seeded; lstmtraining itself is single-threaded
# per line and deterministic given the same data order.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-/tmp/mrz-train}
NTRAIN=${MRZ_TRAIN_LINES:-8000}
NTRAIN_B=${MRZ_TRAIN_LINES_B:-8000}
NEVAL=${MRZ_EVAL_LINES:-400}
MAXIT=${MRZ_MAX_ITER:-30000}
SEED=${MRZ_SEED:-7}
OUT=${MRZ_OUT:-$SRC/models/mrz.traineddata}
FONT=/usr/share/fonts/opentype/ocr-b/OCRB.otf
[ -f "$FONT" ] || { echo "fonts-ocr-b is not installed ($FONT)" >&2; exit 1; }
# Phase B fonts: real MRZs are printed in OCR-B cuts that differ from fonts-ocr-b and sometimes
# in other monospace faces (fonts-dejavu-core is always installed with fontconfig). Not the
# italic (OCRBL), outline (OCRBF) or inverted box (OCRBE, OCRBX) cuts: no MRZ looks like them,
# and white-on-black lines taught the previous model the wrong polarity.
O=/usr/share/fonts/opentype/ocr-b
J=/usr/share/fonts/truetype/dejavu
FONTS_B="$FONT:$FONT:$O/OCRBS.otf:$J/DejaVuSansMono.ttf:$J/DejaVuSansMono-Bold.ttf"
MAXIT_A=${MRZ_MAX_ITER_A:-10000}
for t in tesseract lstmtraining unicharset_extractor combine_lang_model; do
    command -v $t >/dev/null || { echo "missing $t (Debian package tesseract-ocr)" >&2; exit 1; }
done
# Debian's libtesseract uses OpenMP; with several threads lstmtraining spends most of its time
# spinning (measured 240 ms vs 31 ms per iteration on 2 cores). One thread is much faster.
export OMP_THREAD_LIMIT=1
rm -rf "$WORK" && mkdir -p "$WORK"/{lang,ckpt,scripts}
cd "$WORK"

cat > scripts/gen.py <<'PY'
import random, sys, io
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageFilter
fonts, ntrain, neval, seed, out = sys.argv[1].split(":"), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
pitch_max = float(sys.argv[6])
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
    font = ImageFont.truetype(R.choice(fonts), size)
    cap = 0.73 * size  # cap height of OCR-B and DejaVu Sans Mono; PIL puts the cap top at +0.23 size
    # MRZs are printed at a fixed pitch, often wider than the font's own advance
    adv = font.getlength("M") * (R.uniform(1.0, pitch_max) if pitch_max > 1 else 1.0)
    bg = R.randint(140, 255); ink = R.randint(0, min(100, bg - 50))
    w = int(adv * len(text)) + size * 2
    # Line image height 1.7-3.6 cap heights: bn_mrzread pads its crops to 2.4 cap heights, but
    # loose or tight crops must read too (a model trained on one ratio misreads others).
    h = int(cap * R.uniform(1.7, 3.6))
    img = Image.new("L", (w, h), bg)
    d = ImageDraw.Draw(img)
    x0 = size + R.randint(-size // 2, size // 2)
    y0 = int((h - cap) / 2 - 0.23 * size + R.uniform(-.15, .15) * cap)
    # clutter: the neighbouring MRZ/VIZ lines at a real line pitch, cut by the crop (at most
    # 40 % of their height shows, as in bn_mrzread's crops)
    pitch = max(cap * R.uniform(1.5, 2.2), h / 2 + .1 * cap)
    for dy in (-pitch, pitch):
        if R.random() < .4:
            d.text((x0 + R.randint(-5, 5), y0 + dy), "".join(R.choice(A + D + "<") for _ in text), font=font, fill=ink)
    if R.random() < .1:  # a card edge or frame line left of the zone (not a character)
        x = R.randint(2, max(3, x0 - 6)); d.line((x, 0, x, h), fill=ink, width=R.randint(1, 3))
    for i, ch in enumerate(text):
        d.text((x0 + i * adv, y0), ch, font=font, fill=ink)
    if R.random() < .25:  # ink spread (bold print) or thin print
        img = img.filter(ImageFilter.MinFilter(3) if R.random() < .65 else ImageFilter.MaxFilter(3))
    a = np.asarray(img).astype(np.float32)
    if R.random() < .5:  # uneven lighting / security print
        gx = np.linspace(0, 1, w)[None, :] * R.uniform(-40, 40)
        a = a + gx + np.sin(np.arange(w)[None, :] / R.uniform(3, 15) + np.arange(h)[:, None] / R.uniform(3, 15)) * R.uniform(0, 12)
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    if R.random() < .7:
        img = img.rotate(R.uniform(-1.5, 1.5), resample=Image.BILINEAR, expand=False, fillcolor=bg)
    if R.random() < .6:
        img = img.filter(ImageFilter.GaussianBlur(R.uniform(0.3, 1.6)))
    if R.random() < .6:  # low resolution (cap height down to 6 px), then upscaled as bn_mrzread does
        f = R.uniform(max(.2, 6 / cap), .8)
        small = img.resize((max(8, int(w * f)), max(8, int(h * f))), R.choice([Image.BILINEAR, Image.BICUBIC, Image.BOX]))
        img = small.resize((w, h), Image.BILINEAR) if R.random() < .7 else small
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
        base = "%s/%s/c%04d" % (out, dirname, c // chunk)
        pages[0].save(base + ".tif", save_all=True, append_images=pages[1:], compression="tiff_deflate")
        open(base + ".box", "w").write("\n".join(boxes) + "\n")
        open(base + ".gt.txt", "w").write("\n".join(items[c:c + chunk]) + "\n")
        if dirname == "eval":  # single images for the line-exact test with the final model
            for p, im in enumerate(pages):
                im.save("%s/%s/l%04d_%03d.png" % (out, dirname, c // chunk, p))
write_set("gt", ntrain, 250)
write_set("eval", neval, 100)
PY
# gen FONTS NTRAIN NEVAL SEED OUTDIR PITCH_MAX
gen() {
    mkdir -p "$5/gt" "$5/eval"
    /usr/bin/python3 scripts/gen.py "$@"
    for t in "$5"/gt/*.tif "$5"/eval/c*.tif; do
        tesseract "$t" "${t%.tif}" --psm 13 lstm.train >/dev/null 2>&1
    done
}
echo "== 1. data, in parallel: phase A OCR-B lines (seed $SEED): $NTRAIN train, $NEVAL eval;"
echo "      phase B OCR-B cuts + DejaVu Sans Mono, wider pitch (seed $((SEED + 1))): $NTRAIN_B train"
gen "$FONT" "$NTRAIN" "$NEVAL" "$SEED" A 1.0 &
pa=$!
gen "$FONTS_B" "$NTRAIN_B" "$NEVAL" "$((SEED + 1))" B 1.45 &
pb=$!
wait $pa
wait $pb

ls "$PWD"/A/gt/*.lstmf > list.A
ls "$PWD"/A/gt/*.lstmf "$PWD"/B/gt/*.lstmf > list.B
ls "$PWD"/A/eval/c*.lstmf > list.evalA
ls "$PWD"/B/eval/c*.lstmf > list.evalB

echo "== 3. starter traineddata (unicharset A-Z0-9<)"
unicharset_extractor --output_unicharset lang/unicharset A/gt/*.box >/dev/null 2>&1
# combine_lang_model insists on a radical table; a comment-only one is valid (no CJK here).
echo '# no CJK characters in the MRZ charset' > lang/radical-stroke.txt
combine_lang_model --input_unicharset lang/unicharset --script_dir lang --output_dir lang \
    --lang mrz >/dev/null 2>&1 || true
[ -f lang/mrz/mrz.traineddata ] || { echo "combine_lang_model failed" >&2; exit 1; }

echo "== 4. phase A: lstmtraining from scratch on OCR-B, $MAXIT_A iterations"
lstmtraining --traineddata lang/mrz/mrz.traineddata \
    --net_spec '[1,36,0,1 Ct3,3,16 Mp3,3 Lfys48 Lfx96 Lrx96 Lfx128 O1c1]' \
    --model_output ckpt/mrz --learning_rate 0.002 --train_listfile list.A \
    --eval_listfile list.evalA --max_iterations "$MAXIT_A" \
    --debug_interval 0 > logA.txt 2>&1 || true
tail -2 logA.txt
echo "== 4b. phase B: continue on both sets for $MAXIT iterations"
lstmtraining --continue_from ckpt/mrz_checkpoint --traineddata lang/mrz/mrz.traineddata \
    --model_output ckpt/mrzB --learning_rate 0.001 --train_listfile list.B \
    --eval_listfile list.evalB --max_iterations "$MAXIT" --target_error_rate 0.1 \
    --debug_interval 0 > logB.txt 2>&1 || true
tail -2 logB.txt

echo "== 5. final model (integer, fast) from phase B's best checkpoint (lowest training error)"
BEST=$(ls ckpt/mrzB_[0-9]*.checkpoint 2>/dev/null | sort -t_ -k2 -g | head -1)
BEST=${BEST:-ckpt/mrzB_checkpoint}
echo "$BEST"
mkdir -p "$(dirname "$OUT")"
lstmtraining --stop_training --convert_to_int --continue_from "$BEST" \
    --traineddata lang/mrz/mrz.traineddata --model_output "$OUT" >/dev/null 2>&1
ls -l "$OUT"

echo "== 6. held-out synthetic lines, line-exact (A: OCR-B; B: other cuts, DejaVu, wider pitch)"
TD=$(dirname "$OUT")
for set in A B; do
    ok=0; n=0
    for png in $set/eval/l*.png; do
        c=${png#$set/eval/l}; chunk=$((10#${c%%_*})); page=$((10#$(basename "$c" .png | cut -d_ -f2)))
        want=$(sed -n "$((page + 1))p" "$set/eval/c$(printf %04d $chunk).gt.txt")
        got=$(tesseract "$png" - --tessdata-dir "$TD" -l mrz --psm 13 2>/dev/null | tr -d ' \n\f')
        n=$((n + 1)); [ "$got" = "$want" ] && ok=$((ok + 1))
    done
    echo "line-exact $set: $ok / $n"
done
