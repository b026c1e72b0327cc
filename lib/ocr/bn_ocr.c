/* bn_ocr — the ocr stage: decode, find and rectify the document, read each field's known zone
 * with the right engine, normalise, read the MRZ, then let the validators and the form
 * cross-checks (bn_checks) decide the flags.
 *
 * Why zones and not the whole photo: whole-photo Tesseract garbles numbers and loses lines;
 * a known zone on a rectified 300-dpi document gives each value its model, page segmentation
 * and whitelist, and a box. Numbers are always gated through the validators afterwards. */
#include "ocr/bn_ocr.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/bn_file.h"
#include "core/bn_error.h"
#include "core/bn_flags.h"
#include "core/bn_job.h"
#include "core/bn_log.h"
#include "img/bn_docfind.h"
#include "img/bn_image.h"
#include "img/bn_prepare.h"
#include "img/bn_quality.h"
#include "img/bn_textdet.h"
#include "ocr/bn_checks.h"
#include "ocr/bn_cardedge.h"
#include "ocr/bn_codefix.h"
#include "ocr/bn_datefix.h"
#include "ocr/bn_kie.h"
#include "ocr/bn_lines.h"
#include "ocr/bn_mrz.h"
#include "ocr/bn_mrzread.h"
#include "ocr/bn_ocr_norm.h"
#include "ocr/bn_ppocr.h"
#include "ocr/bn_tess.h"
#include "core/bn_validate.h"
#include "ocr/bn_zones.h"

#define DPI 300

/* ---- field reading ------------------------------------------------------------------------ */

typedef struct {
    const char *lang;
    bn_tess_mode_t mode;
    const char *whitelist;
    double line_px; /* text line height to scale the crop to */
} read_spec_t;

/* Model, segmentation and whitelist per field: digits and codes go to eng with a whitelist
 * (chi_sim adds and drops digits), Chinese text to chi_sim. */
static read_spec_t spec_for(const char *doc_type, const bn_zone_t *z)
{
    read_spec_t s = {"chi_sim", z->lines > 1 ? BN_TESS_BLOCK : BN_TESS_LINE, NULL, 48};
    const char *k = z->key;
    if (!strcmp(k, "id_number")) {
        s.lang = "eng", s.whitelist = "0123456789X";
    } else if (!strcmp(k, "credit_code")) {
        s.lang = "eng", s.whitelist = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    } else if (!strcmp(k, "document_number")) {
        s.lang = "eng", s.whitelist = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    } else if (z->kind == BN_KIND_DATE) {
        if (!strcmp(doc_type, "passport"))
            s.lang = "eng", s.whitelist = "0123456789ABCDEFGJLMNOPRSTUVY ";
        else if (!strcmp(k, "valid_until") || !strcmp(doc_type, "business-license") ||
                 (!strcmp(k, "birth_date") && (!strcmp(doc_type, "id-card") || !strcmp(doc_type, "residence-permit"))))
            s.lang = "chi_sim", s.whitelist = !strcmp(k, "birth_date") ? "0123456789年月日" : "0123456789.-年月日长期至";
        else
            s.lang = "eng", s.whitelist = "0123456789.-";
    } else if (z->kind == BN_KIND_LATIN) {
        s.lang = "eng", s.whitelist = "ABCDEFGHIJKLMNOPQRSTUVWXYZ ,<-'";
        if (!strcmp(doc_type, "passport")) /* '汉字 PINYIN': read the line, keep the Latin part */
            s.lang = "chi_sim", s.whitelist = NULL;
    }
    return s;
}

typedef struct {
    char value[BN_TESS_TEXT_MAX];
    char raw[BN_TESS_TEXT_MAX];
    double conf;
    int box[4];
    int read;
} field_read_t;

static int read_prepared(PIX *prep, const bn_zone_t *z, const read_spec_t *spp, field_read_t *fr);

/* Good enough to stop retrying: numbers must validate, dates parse, text be confident. */
static int plausible(const char *doc_type, const char *key, const char *v, double conf)
{
    if (!v[0])
        return 0;
    if (!strcmp(key, "ethnicity"))
        return bn_ethnicity_valid(v);
    if (!strcmp(key, "id_number")) {
        bn_id_info_t ii;
        return bn_id_validate(v, NULL, &ii) == BN_ID_VALID;
    }
    if (!strcmp(key, "credit_code")) {
        bn_uscc_info_t ui;
        return bn_uscc_validate(v, &ui);
    }
    if (!strcmp(key, "document_number") && !strcmp(doc_type, "hk-macao-permit"))
        return bn_permit_number_valid(BN_PERMIT_HK_MACAO, v);
    if (!strcmp(key, "document_number") && !strcmp(doc_type, "taiwan-permit"))
        return bn_permit_number_valid(BN_PERMIT_TAIWAN, v);
    if (strstr(key, "date") || !strcmp(key, "valid_from") || !strcmp(key, "valid_until") || !strcmp(key, "sex"))
        return 1; /* the normaliser returns "" unless it is a date / a sex */
    return conf >= 0.75;
}

/* ---- PP-OCR (bn_ppocr): Chinese text lines ------------------------------------------------ */

/* Fields Tesseract reads with chi_sim: PP-OCR reads them far better (rare characters in names
 * and addresses, which chi_sim's fast model guesses), so it is the first engine for them — but
 * a line costs it 2-4x Tesseract's time, so fields whose format is checked (dates, sex), where
 * Tesseract is right 99 % of the time, go to Tesseract first and to PP-OCR only when that
 * reading does not parse. */
static int ppocr_first(const read_spec_t *sp, const bn_zone_t *z)
{
    /* the permits' Latin name line too: eng adds stray marks and splits names ("PINGJ IAN") */
    if (!strcmp(z->key, "name_latin"))
        return 1;
    return !strcmp(sp->lang, "chi_sim") && z->kind != BN_KIND_DATE && strcmp(z->key, "sex") != 0;
}

static int ppocr_second(const read_spec_t *sp, const bn_zone_t *z)
{
    return !ppocr_first(sp, z) && (!strcmp(sp->lang, "chi_sim") || z->kind == BN_KIND_DATE ||
                                   !strcmp(z->key, "id_number") || !strcmp(z->key, "credit_code"));
}

typedef struct { int y0, y1; } band_t;

/* Ink threshold of a prepared zone: halfway between its darkest pixels (2nd percentile) and
 * its background (the median: white where the background was flattened, the paper's grey
 * where the zone was too small to flatten), so faint print on a washed-out photo still counts
 * and light guilloche left over does not. */
static int ink_threshold(PIX *p)
{
    int w = pixGetWidth(p), h = pixGetHeight(p), wpl = pixGetWpl(p);
    l_uint32 *data = pixGetData(p);
    long hist[256] = {0};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            hist[GET_DATA_BYTE(data + (size_t)y * wpl, x)]++;
    long want = (long)w * h / 50, acc = 0;
    int dark = 0, bg = 0;
    while (dark < 255 && (acc += hist[dark]) < want)
        dark++;
    for (acc = 0; bg < 255 && (acc += hist[bg]) < (long)w * h / 2;)
        bg++;
    int t = (dark + bg) / 2;
    return t < 100 ? 100 : t > 200 ? 200 : t;
}

/* Text lines of a prepared zone by horizontal projection: runs of rows holding ink, too-thin
 * runs (specks, a neighbour's descenders) dropped, runs as tall as two lines split at their
 * faintest row; in a one-line zone the run with the most ink. At most `max`, top to bottom. */
static int find_bands(PIX *p, int thr, int lines, band_t *b, int max)
{
    int w = pixGetWidth(p), h = pixGetHeight(p), wpl = pixGetWpl(p);
    l_uint32 *data = pixGetData(p);
    int *ink = calloc((size_t)h, sizeof *ink);
    if (!ink)
        return 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            ink[y] += GET_DATA_BYTE(data + (size_t)y * wpl, x) < thr;
    int pitch = (h - 24) / (lines > 0 ? lines : 1); /* bn_zone_prepare adds a 12 px border */
    int min_ink = w / 200 + 1, n = 0;
    band_t raw[32];
    for (int y = 0; y < h && n < 32;) {
        while (y < h && ink[y] < min_ink)
            y++;
        int y0 = y;
        while (y < h && ink[y] >= min_ink)
            y++;
        if (y > y0)
            raw[n++] = (band_t){y0, y};
    }
    /* a line broken by a faint row (horizontal strokes only) is one line: join close runs */
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m && raw[i].y0 - raw[m - 1].y1 <= pitch / 10 && raw[i].y1 - raw[m - 1].y0 < pitch)
            raw[m - 1].y1 = raw[i].y1;
        else
            raw[m++] = raw[i];
    }
    int tallest = 0;
    for (int i = 0; i < m; i++)
        if (raw[i].y1 - raw[i].y0 > tallest)
            tallest = raw[i].y1 - raw[i].y0;
    int k = 0;
    for (int i = 0; i < m && k < max; i++) {
        int y0 = raw[i].y0, y1 = raw[i].y1;
        if (y1 - y0 < tallest * 2 / 5 || y1 - y0 < pitch / 4)
            continue;
        /* a neighbour's line cut by the crop's top or bottom edge */
        if ((y0 <= 13 || y1 >= h - 13) && y1 - y0 < tallest * 3 / 4)
            continue;
        /* two touching lines: cut at the faintest row near the middle */
        while (lines > 1 && y1 - y0 > pitch * 3 / 2 && k < max - 1) {
            int best = y0 + pitch / 2;
            for (int y = y0 + pitch / 2; y < y1 - pitch / 2; y++)
                if (ink[y] < ink[best])
                    best = y;
            if (best - y0 < pitch / 3)
                break;
            b[k++] = (band_t){y0, best};
            y0 = best;
        }
        b[k++] = (band_t){y0, y1};
    }
    if (lines == 1 && k > 1) {
        int bi = 0;
        long bs = -1;
        for (int i = 0; i < k; i++) {
            long sum = 0;
            for (int y = b[i].y0; y < b[i].y1; y++)
                sum += ink[y];
            if (sum > bs)
                bs = sum, bi = i;
        }
        b[0] = b[bi];
        k = 1;
    }
    free(ink);
    return k;
}

/* Horizontal extent of the text in band [y0, y1): runs of inked columns grouped while the gaps
 * stay under ~1.2 line heights (spaced-out names keep together), and the group with the most
 * ink wins — a speck or a guilloche remnant off to the side is not part of the line. */
static int text_extent(PIX *p, int thr, int y0, int y1, int *x0, int *x1)
{
    int w = pixGetWidth(p), wpl = pixGetWpl(p);
    l_uint32 *data = pixGetData(p);
    int *col = calloc((size_t)w, sizeof *col);
    if (!col)
        return 0;
    for (int y = y0; y < y1; y++)
        for (int x = 0; x < w; x++)
            col[x] += GET_DATA_BYTE(data + (size_t)y * wpl, x) < thr;
    int gap_max = (y1 - y0) * 6 / 5, best_ink = 0, found = 0;
    for (int x = 0; x < w;) {
        while (x < w && !col[x])
            x++;
        if (x >= w)
            break;
        int s = x, e = x, gap = 0, sum = 0;
        for (; x < w && gap <= gap_max; x++) {
            if (col[x])
                e = x, gap = 0, sum += col[x];
            else
                gap++;
        }
        x = e + 1;
        if (sum > best_ink)
            best_ink = sum, *x0 = s, *x1 = e, found = 1;
    }
    free(col);
    return found;
}

/* Recognise each text line of a zone with PP-OCR; lines joined with '\n' (as Tesseract's block
 * mode gives them). Lines are found on the prepared zone (flattened background: reliable ink),
 * but recognised on the crop's own pixels: PP-OCR was trained on photos, and the background
 * normalisation that helps Tesseract washes faint print out. 1 when something was read, 0 when
 * not, -1 on error. */
static int ppocr_read_zone(bn_ppocr_t *pp, PIX *crop, PIX *prep, const bn_zone_t *z, char *raw, size_t cap,
                           double *conf)
{
    raw[0] = 0;
    *conf = 0;
    int thr = ink_threshold(prep);
    band_t b[4];
    int nb = find_bands(prep, thr, z->lines, b, z->lines < 4 ? z->lines : 4);
    int cw0 = pixGetWidth(crop), ch0 = pixGetHeight(crop), wpl = pixGetWpl(crop);
    double s = (double)(pixGetWidth(prep) - 24) / cw0; /* prep = crop scaled by s + 12 px border */
    l_uint32 *data = pixGetData(crop);
    size_t len = 0;
    double csum = 0;
    int chars = 0;
    for (int i = 0; i < nb; i++) {
        int x0, x1;
        if (!text_extent(prep, thr, b[i].y0, b[i].y1, &x0, &x1))
            continue;
        /* to crop coordinates, with a margin like PaddleOCR's detector boxes leave round text:
         * 1/8 line height above and below (at 1/4 a lone character such as 彝 was lost), 1/3
         * left and right */
        double bh = (b[i].y1 - b[i].y0) / s;
        double fy0 = (b[i].y0 - 12) / s - bh / 8, fy1 = (b[i].y1 - 12) / s + bh / 8;
        double fx0 = (x0 - 12) / s - bh / 3, fx1 = (x1 + 1 - 12) / s + bh / 3;
        int cy0 = fy0 < 0 ? 0 : (int)fy0, cy1 = fy1 > ch0 ? ch0 : (int)ceil(fy1);
        int cx0 = fx0 < 0 ? 0 : (int)fx0, cx1 = fx1 > cw0 ? cw0 : (int)ceil(fx1);
        int cw = cx1 - cx0, ch = cy1 - cy0;
        if (cw < 4 || ch < 4)
            continue;
        uint8_t *buf = malloc((size_t)cw * ch);
        if (!buf)
            return -1;
        for (int y = 0; y < ch; y++)
            for (int x = 0; x < cw; x++)
                buf[(size_t)y * cw + x] = (uint8_t)GET_DATA_BYTE(data + (size_t)(cy0 + y) * wpl, cx0 + x);
        const char *dbg = getenv("BEIAN_OCR_DEBUG"); /* developer aid: the line images */
        if (dbg && *dbg) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s.pp%d.png", dbg, z->key, i);
            BOX *bx = boxCreate(cx0, cy0, cw, ch);
            PIX *lp = bx ? pixClipRectangle(crop, bx, NULL) : NULL;
            if (lp)
                pixWrite(path, lp, IFF_PNG);
            pixDestroy(&lp);
            boxDestroy(&bx);
        }
        char txt[512];
        double c = 0;
        int n = bn_ppocr_read(pp, buf, cw, ch, cw, 1, txt, sizeof txt, &c);
        memset(buf, 0, (size_t)cw * ch); /* a crop of a document is personal data */
        free(buf);
        if (n < 0)
            return -1;
        if (n == 0)
            continue;
        int wrote = snprintf(raw + len, cap - len, "%s%s", len ? "\n" : "", txt);
        if (wrote < 0 || (size_t)wrote >= cap - len)
            break;
        len += (size_t)wrote;
        csum += c * n;
        chars += n;
    }
    *conf = chars ? csum / chars : 0;
    return chars > 0;
}

/* One PP-OCR reading of the zone into *fr (box kept). Returns 1 when the reading is to be
 * kept without asking Tesseract: a number that validates, a date that parses, text read with
 * confidence. Otherwise *fr holds the reading as a candidate (or is left unread) and 0. */
/* Free space (mm) above (*up) and below (*down) zone z in its layout, up to `cap`: the distance
 * to the nearest value or label box that overlaps it horizontally. */
static void free_space(const bn_zoneset_t *zs, const bn_zone_t *z, double cap, double *up, double *down)
{
    *up = *down = cap;
    for (int i = 0; zs && i < zs->nzones; i++) {
        const bn_zone_t *o = &zs->zones[i];
        double bx[2][4] = {{o->x, o->y, o->w, o->h}, {o->lx, o->ly, o->lw, o->lh}};
        for (int k = 0; k < (o->has_label ? 2 : 1); k++) {
            if (o == z && k == 0)
                continue;
            if (bx[k][0] >= z->x + z->w || bx[k][0] + bx[k][2] <= z->x)
                continue;
            double above = z->y - (bx[k][1] + bx[k][3]), below = bx[k][1] - (z->y + z->h);
            if (above >= 0 && above < *up)
                *up = above;
            if (below >= 0 && below < *down)
                *down = below;
        }
    }
}

static int ppocr_try(bn_ppocr_t *pp, PIX *page, const bn_zone_t *zz, double ppmm, const char *doc_type,
                     const bn_zoneset_t *zs, double cap, const bn_zone_t *z, const read_spec_t *sp,
                     field_read_t *fr)
{
    /* Up to `cap` mm above and below, not 1, where the layout leaves that much free: a zone found
     * a few mm off (perspective, printing offsets) otherwise cuts a line in half. The line
     * finder drops the neighbours' cut-off slivers; a label printed right above a value (the
     * permits) must stay out, so the margin never reaches the next box. */
    double up, down;
    free_space(zs, z, cap, &up, &down);
    bn_zone_t tall = *zz;
    up = up - 0.3 > 1.0 ? up - 0.3 : 1.0;
    down = down - 0.3 > 1.0 ? down - 0.3 : 1.0;
    tall.y -= up - 1.0;
    tall.h += up + down - 2.0;
    int box[4];
    PIX *crop = bn_zone_crop(page, &tall, ppmm, 1.2, 1.0, box);
    PIX *prep = crop ? bn_zone_prepare(crop, z->lines, sp->line_px) : NULL;
    if (!prep) {
        pixDestroy(&crop);
        return 0;
    }
    field_read_t one;
    memset(&one, 0, sizeof one);
    int r = ppocr_read_zone(pp, crop, prep, z, one.raw, sizeof one.raw, &one.conf);
    pixDestroy(&prep);
    pixDestroy(&crop);
    if (r < 0)
        bn_warn("PP-OCR failed on zone %s: %s", z->key, bn_error_msg());
    if (r <= 0)
        return 0;
    bn_norm_field(doc_type, z->key, one.raw, one.value, sizeof one.value);
    memcpy(one.box, fr->box, sizeof one.box);
    one.read = 1;
    int checked = !strcmp(z->key, "id_number") || !strcmp(z->key, "credit_code") || !strcmp(z->key, "sex") ||
                  !strcmp(z->key, "ethnicity") || z->kind == BN_KIND_DATE;
    int ok = one.value[0] && (checked ? plausible(doc_type, z->key, one.value, one.conf) : one.conf >= 0.6);
    if (ok || !fr->read)
        *fr = one;
    return ok;
}

static int read_zone(PIX *page, double ppmm, const char *doc_type, const bn_zoneset_t *zs, const bn_zone_t *z,
                     field_read_t *fr)
{
    memset(fr, 0, sizeof *fr);
    read_spec_t sp = spec_for(doc_type, z);
    /* Margins: rectification is good to a few pixels, printing offsets and long values are
     * not; lines are separated vertically by ~1.5 mm, so the vertical margin stays small. The
     * left margin stays small too: labels sit just left of the values. */
    bn_zone_t zz = *z;
    if (z->kind == BN_KIND_DIGITS || !strcmp(z->key, "credit_code") || z->kind == BN_KIND_DATE)
        zz.w += 2.5; /* numbers and dates run past their nominal box more often than names */
    if (!strcmp(z->key, "credit_code"))
        zz.x -= 2, zz.w += 2; /* its label is above it, not to the left */
    if (!strcmp(doc_type, "business-license") && !strcmp(z->key, "address"))
        zz.w += 7; /* digits make a line longer than its 15 characters; the border is at 291 mm */
    if (!strcmp(doc_type, "business-license") && !strcmp(z->key, "valid_until") && zz.x > 190) {
        /* the term is printed as one line "YYYY年MM月DD日 至 <until>" from x=190 mm, and where
         * <until> starts depends on the font: read the whole line, keep what follows 至 */
        zz.w += zz.x - 190;
        zz.x = 190;
    }
    PIX *crop = bn_zone_crop(page, &zz, ppmm, 1.2, 1.0, fr->box);
    if (!crop)
        return -1;
    /* PP-OCR first for Chinese text (and chi_sim's dates); Tesseract when it reads nothing
     * plausible, or when its models are not installed */
    bn_ppocr_t *pp = bn_ppocr_shared(NULL);
    if (pp && ppocr_first(&sp, z) && ppocr_try(pp, page, &zz, ppmm, doc_type, zs, 2.5, z, &sp, fr)) {
        pixDestroy(&crop);
        return 0;
    }
    /* Tesseract's chi_sim model sometimes returns nothing, or a poor guess, for a clean line
     * at one scale and reads it well at another: retry at other text heights while the value
     * is not plausible for its field (a valid number or date, a confident read), and keep the
     * first plausible read, else the most confident one. */
    static const double scales[] = {1.0, 0.7, 1.4};
    int tries = sizeof scales / sizeof scales[0];
    /* Short Chinese names are where chi_sim errs most (rare characters): read them at every
     * scale and take a reading two scales agree on. */
    int vote = z->kind == BN_KIND_CJK && z->lines == 1 &&
               (!strcmp(z->key, "name") || !strcmp(z->key, "legal_representative"));
    field_read_t reads[3];
    int nreads = 0;
    for (int t = 0; t < tries; t++) {
        PIX *prep = bn_zone_prepare(crop, z->lines, sp.line_px * scales[t]);
        if (!prep)
            break;
        field_read_t one;
        memset(&one, 0, sizeof one);
        if (read_prepared(prep, z, &sp, &one) != 0) {
            pixDestroy(&prep);
            pixDestroy(&crop);
            return -1;
        }
        pixDestroy(&prep);
        bn_norm_field(doc_type, z->key, one.raw, one.value, sizeof one.value);
            memcpy(one.box, fr->box, sizeof one.box);
        reads[nreads++] = one;
        int ok = plausible(doc_type, z->key, one.value, one.conf);
        if (!fr->read || (!vote && ok) || (one.value[0] && (!fr->value[0] || one.conf > fr->conf))) {
            *fr = one;
            fr->read = 1;
        }
        if (vote) {
            int agree = 0;
            for (int i = 0; i + 1 < nreads; i++)
                if (one.value[0] && !strcmp(reads[i].value, one.value))
                    agree = 1;
            if (agree) {
                *fr = one;
                fr->read = 1;
                break;
            }
            continue;
        }
        if (ok)
            break;
    }
    /* a number Tesseract could not read so that it validates (a date, a sex that does not
     * parse): PP-OCR's reading is another reading of the same pixels, taken only when the
     * validator accepts it */
    if (pp && ppocr_second(&sp, z) && !plausible(doc_type, z->key, fr->value, fr->conf)) {
        field_read_t one;
        memset(&one, 0, sizeof one);
        memcpy(one.box, fr->box, sizeof one.box);
        if (ppocr_try(pp, page, &zz, ppmm, doc_type, zs, 2.5, z, &sp, &one) && one.value[0])
            *fr = one;
        /* a number half outside its zone (the zone found up to ocr.align_max_mm off): a taller
         * crop that ignores the label above; the check digit gates it like any other reading */
        else if (z->kind != BN_KIND_DATE && strcmp(z->key, "sex") != 0 &&
                 ppocr_try(pp, page, &zz, ppmm, doc_type, NULL, 4.0, z, &sp, &one) && one.value[0])
            *fr = one;
    }
    pixDestroy(&crop);
    return fr->read ? 0 : -1;
}

static int read_prepared(PIX *prep, const bn_zone_t *z, const read_spec_t *spp, field_read_t *fr)
{
    /* Developer aid: BEIAN_OCR_DEBUG=DIR writes every prepared zone as DIR/<key>.png. */
    const char *dbg = getenv("BEIAN_OCR_DEBUG");
    if (dbg && *dbg) {
        char p[1024];
        snprintf(p, sizeof p, "%s/%s.png", dbg, z->key);
        pixWrite(p, prep, IFF_PNG);
    }
    bn_tess_result_t tr;
    int rc = bn_tess_read(spp->lang, prep, spp->mode, spp->whitelist, &tr);
    if (rc != 0)
        return -1;
    snprintf(fr->raw, sizeof fr->raw, "%s", tr.text);
    fr->conf = tr.confidence;
    fr->read = 1;
    return 0;
}

static json_t *field_json(const char *value, double conf, const int box[4])
{
    return json_pack("{s:s, s:f, s:[i,i,i,i]}", "value", value, "confidence", round(conf * 1000) / 1000,
                     "box", box[0], box[1], box[2], box[3]);
}

/* ---- the stage ---------------------------------------------------------------------------- */

static const char *opt_str(const json_t *o, const char *key)
{
    return o ? json_string_value(json_object_get(o, key)) : NULL;
}

/* Geometry from the quality stage's hints ({"quality": {"geometry": {...}}}), in the upload's
 * pixel coordinates; scaled by 1/shrink into the decoded image. */
static int geom_from_hints(const json_t *hints, double shrink, bn_docgeom_t *g)
{
    json_t *geo = json_object_get(json_object_get(hints, "quality"), "geometry");
    if (!geo)
        geo = json_object_get(hints, "geometry");
    if (!json_is_true(json_object_get(geo, "found")))
        return -1;
    json_t *c = json_object_get(geo, "corners");
    if (json_array_size(c) != 4)
        return -1;
    memset(g, 0, sizeof *g);
    for (int i = 0; i < 4; i++) {
        g->corners[i].x = json_number_value(json_array_get(json_array_get(c, i), 0)) / shrink;
        g->corners[i].y = json_number_value(json_array_get(json_array_get(c, i), 1)) / shrink;
    }
    g->found = 1;
    g->rotation = (int)json_integer_value(json_object_get(geo, "rotation"));
    g->confidence = 1;
    g->corners_inside = 4;
    return 0;
}

/* When no document quadrilateral is found, take the whole image as the document (a tight
 * scan or a crop), resized to the canonical size. */
static bn_image_t *whole_as_document(const bn_image_t *img, const char *doc_type)
{
    bn_docgeom_t g;
    memset(&g, 0, sizeof g);
    g.found = 1;
    g.corners[0] = (bn_point_t){0, 0};
    g.corners[1] = (bn_point_t){img->width - 1, 0};
    g.corners[2] = (bn_point_t){img->width - 1, img->height - 1};
    g.corners[3] = (bn_point_t){0, img->height - 1};
    g.corners_inside = 4;
    return bn_doc_rectify(img, &g, doc_type, DPI);
}

static int mrz_lines_for(const char *doc_type, const char *side)
{
    if (!strcmp(doc_type, "passport"))
        return 2;
    if ((!strcmp(doc_type, "hk-macao-permit") || !strcmp(doc_type, "taiwan-permit")) && side && !strcmp(side, "back"))
        return 3;
    return 0;
}

/* MRZ → fields. Passports take their fields from the MRZ (the VIZ is a cross-check), permits
 * keep the VIZ fields and add the MRZ. */
static void mrz_to_fields(const char *doc_type, const bn_mrzread_t *mr, json_t *fields, const int box[4])
{
    const bn_mrz_t *m = &mr->mrz;
    json_t *lines = json_array();
    for (int i = 0; i < m->nlines; i++)
        json_array_append_new(lines, json_string(m->lines[i]));
    json_object_set_new(fields, "mrz", json_pack("{s:o, s:f, s:[i,i,i,i]}", "value", lines, "confidence",
                                                 round(mr->confidence * 1000) / 1000, "box", box[0], box[1], box[2], box[3]));
    if (strcmp(doc_type, "passport") != 0)
        return;
    char sex[2] = {m->sex, 0};
    struct { const char *k, *v; } kv[] = {
        {"document_code", m->document_code}, {"issuing_country", m->issuing_country},
        {"surname", m->surname}, {"given_names", m->given_names},
        {"document_number", m->document_number}, {"nationality", m->nationality},
        {"birth_date", m->birth_date}, {"sex", sex}, {"expiry_date", m->expiry_date},
        {"optional_data", m->optional_data},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        /* a country code the MRZ got wrong (no check digit covers it) but the VIZ printed as a
         * valid code: keep the VIZ reading */
        const char *viz = json_string_value(json_object_get(json_object_get(fields, kv[i].k), "value"));
        if (((!strcmp(kv[i].k, "issuing_country") && (m->problems & BN_MRZ_BAD_ISSUER)) ||
             (!strcmp(kv[i].k, "nationality") && (m->problems & BN_MRZ_BAD_NATIONALITY))) &&
            viz && bn_country_code_valid(viz))
            continue;
        /* an invalid issuing state one letter away from a valid nationality: a national
         * passport's issuer is its nationality (the raw MRZ lines stay as read, for bn_checks) */
        if (!strcmp(kv[i].k, "issuing_country") && (m->problems & BN_MRZ_BAD_ISSUER) &&
            !(m->problems & BN_MRZ_BAD_NATIONALITY) && strlen(m->issuing_country) == strlen(m->nationality)) {
            int diff = 0;
            for (size_t c = 0; m->nationality[c]; c++)
                diff += m->nationality[c] != m->issuing_country[c];
            if (diff == 1) {
                json_object_set_new(fields, kv[i].k, field_json(m->nationality, mr->confidence * 0.5, box));
                continue;
            }
        }
        json_object_set_new(fields, kv[i].k, field_json(kv[i].v, mr->confidence, box));
    }
}

static double dbg_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static int is_id_type(const char *t)
{
    return !strcmp(t, "id-card") || !strcmp(t, "residence-permit");
}

/* Types read by text lines (detect -> orient -> recognise -> fields by labels); the others
 * (passports, permits, residence permits) by their zones and MRZ. */
static int by_lines(const char *doc_type)
{
    return !strcmp(doc_type, "id-card") || bn_doc_is_page(doc_type);
}

static void set_field(json_t *fields, const char *key, const char *value, double conf, const int box[4])
{
    if (value && value[0])
        json_object_set_new(fields, key, field_json(value, conf, box));
}

/* A printed period ("2017.11.24-2037.11.24", "2015年03月25日至长期") as valid_from/valid_until. */
static void set_period(json_t *fields, const char *doc_type, const bn_kie_field_t *f)
{
    char a[64] = "", b[64] = "";
    const char *sep = strstr(f->value, "至");
    bn_date_t from, until;
    int lt;
    if (!sep && bn_validity_parse(f->value, &from, &until, &lt) == 0) {
        bn_date_format(&from, a, sizeof a);
        if (lt)
            snprintf(b, sizeof b, "long-term");
        else
            bn_date_format(&until, b, sizeof b);
    } else if (sep) {
        char head[BN_KIE_VALUE_MAX];
        snprintf(head, sizeof head, "%.*s", (int)(sep - f->value), f->value);
        bn_norm_date(head, a, sizeof a);
        bn_norm_date(sep + strlen("至"), b, sizeof b);
    } else {
        bn_norm_field(doc_type, "valid_until", f->value, b, sizeof b); /* 长期 alone */
    }
    set_field(fields, "valid_from", a, f->conf, f->box);
    set_field(fields, "valid_until", b, f->conf, f->box);
}

/* The ID number of a card's front or a licence's credit code, when it is missing or fails its
 * check digit: every line holding a long run of letters and digits is read again at its full
 * width (lines are squeezed to 3/4 before recognition, which costs a little on digits: real set,
 * 1 ID number of 33 and 1 credit code of 25), and the new reading replaces the old when only the
 * new one holds a valid number. Returns the lines replaced, or -1. */
/* Is the document's number (an ID front's, a licence's credit code) missing or failing its
 * check? A licence with an old registration number has no code to look for. */
static int number_missing(const bn_kie_t *k, int lic, const char *side)
{
    if ((!lic && side && !strcmp(side, "back")) || (lic && bn_kie_get(k, "registration_number")))
        return 0;
    const bn_kie_field_t *f = bn_kie_get(k, lic ? "credit_code" : "id_number");
    char w[19];
    int ok = f && bn_number_windows(f->value, lic, w);
    memset(w, 0, sizeof w);
    return !ok;
}

static int reread_number(bn_ppocr_t *pp, const bn_image_t *page, bn_lines_t *L, const bn_kie_t *k, int lic,
                         const char *side)
{
    if (!number_missing(k, lic, side))
        return 0;
    char w[19];
    int changed = 0;
    for (int i = 0; i < L->n; i++) {
        bn_line_t *l = &L->v[i];
        int alnum = 0;
        for (const char *p = l->text; *p; p++)
            alnum += isalnum((unsigned char)*p) != 0;
        if (alnum < 15 || bn_number_windows(l->text, lic, w))
            continue;
        /* as detected, then with a character's width more at each end (the detector may leave
         * the first digit out as a speck of its own) */
        for (int grow = 0; grow < 2; grow++) {
            float q[8];
            memcpy(q, l->q, sizeof q);
            if (grow) {
                double dx = q[2] - q[0], dy = q[3] - q[1], len = hypot(dx, dy), e = 0.7 * l->h / (len > 0 ? len : 1);
                for (int c = 0; c < 2; c++) { /* TL, BL back along the line; TR, BR on */
                    q[0 + c] -= (float)(e * (c ? dy : dx)), q[6 + c] -= (float)(e * (c ? dy : dx));
                    q[2 + c] += (float)(e * (c ? dy : dx)), q[4 + c] += (float)(e * (c ? dy : dx));
                }
                for (int c = 0; c < 8; c++)
                    q[c] = fminf(fmaxf(q[c], 0), (float)((c % 2 ? page->height : page->width) - 1));
            }
            char t[BN_LINE_TEXT_MAX];
            double c = 0;
            if (bn_ppocr_read_quad_wide(pp, page->data, page->width, page->height, page->width * page->bands,
                                        page->bands, q, t, sizeof t, &c) < 0)
                return -1;
            int ok = bn_number_windows(t, lic, w) > 0;
            if (ok) {
                memcpy(l->text, t, sizeof l->text);
                l->conf = c;
                changed++;
            }
            memset(t, 0, sizeof t);
            if (ok)
                break;
        }
    }
    memset(w, 0, sizeof w);
    return changed;
}

/* See bn_ocr.h. Without it a blurred 性别 row alone asked for a new photo of a card whose
 * number says it. */
void bn_ocr_fields_from_number(json_t *fields)
{
    json_t *n = json_object_get(fields, "id_number");
    bn_id_info_t id;
    if (!n || bn_id_validate(json_string_value(json_object_get(n, "value")), NULL, &id) != BN_ID_VALID || !id.birth.y)
        return;
    char birth[16];
    const char *derived[][2] = {{"sex", id.sex == 'M' ? "男" : "女"},
                                {"birth_date", bn_date_format(&id.birth, birth, sizeof birth)}};
    for (int i = 0; i < 2; i++) {
        if (json_object_get(fields, derived[i][0]))
            continue;
        json_t *f = json_deep_copy(n);
        json_object_set_new(f, "value", json_string(derived[i][1]));
        json_object_set_new(f, "source", json_string("id_number"));
        json_object_set_new(fields, derived[i][0], f);
    }
    memset(&id, 0, sizeof id), memset(birth, 0, sizeof birth);
}

/* The fields of an ID card or a licence from its text lines. Returns 0, 1 when the detector is
 * not installed (the caller reads by zones), -1 with bn_error. */
static int read_by_lines(const bn_task_t *task, const bn_image_t *img, double shrink, const char *doc_type,
                         const char *side, json_t *fields, json_t *flags, int *rotation)
{
    bn_ppocr_t *pp = bn_ppocr_shared(task->config);
    bn_textdet_t *det = bn_textdet_shared(task->config);
    if (!pp || !det)
        return 1;
    int lic = !strcmp(doc_type, "business-license");
    bn_lines_opts_t o = {
        .det_side = bn_textdet_side(task->config, doc_type),
        .max_lines = (int)bn_config_num(task->config, "ocr.max_lines", 200),
    };
    /* the quality stage's lines, when it ran first (upload pixels -> this decode's) */
    json_t *tb = json_object_get(json_object_get(task->hints, "quality"), "text_boxes");
    bn_textbox_t *given = NULL;
    if (json_is_array(tb) && (given = calloc(json_array_size(tb) + 1, sizeof *given))) {
        size_t i;
        json_t *a;
        json_array_foreach(tb, i, a) {
            for (int c = 0; c < 8; c++) {
                double v = json_number_value(json_array_get(a, (size_t)c)) / (shrink > 0 ? shrink : 1);
                given[o.nboxes].pts[c] = (float)fmin(fmax(v, 0), (c % 2 ? img->height : img->width) - 1);
            }
            given[o.nboxes++].score = 1;
        }
        o.boxes = given;
    }
    /* and its verdict on which way up the page is, when it had enough lines to judge */
    json_t *tr = json_object_get(json_object_get(json_object_get(task->hints, "quality"), "quality"), "text_rotation");
    if (given && json_is_integer(tr))
        o.rotation_given = 1, o.rotation = (int)json_integer_value(tr);
    bn_lines_t L;
    bn_image_t *up = NULL;
    int rc = bn_lines_read(det, pp, img, &o, &L, &up);
    free(given);
    if (rc != 0)
        return -1;
    if (getenv("BEIAN_OCR_DEBUG")) /* the lines as read: debugging only (personal data) */
        for (int i = 0; i < L.n; i++)
            fprintf(stderr, "line %2d x%5.0f y%5.0f w%5.0f h%4.0f c%.2f %s\n", i, L.v[i].x, L.v[i].y, L.v[i].w, L.v[i].h,
                    L.v[i].conf, L.v[i].text);
    bn_kie_t k;
    int kr = bn_kie_extract(doc_type, side, &L, &k);
    /* a licence without its issue date: its digits, read again between 年 月 日 */
    if (kr == 0 && lic && !bn_kie_get(&k, "issue_date") &&
        (bn_datefix_run(pp, up ? up : img, &L) > 0 || bn_datefix_redetect(det, pp, up ? up : img, &L) > 0))
        kr = bn_kie_extract(doc_type, side, &L, &k);
    /* the document's number failing its check: its lines read again at full width */
    if (kr == 0 && (lic || !strcmp(doc_type, "id-card")) && reread_number(pp, up ? up : img, &L, &k, lic, side) > 0)
        kr = bn_kie_extract(doc_type, side, &L, &k);
    /* ...or not found at all: a licence's code, under its label at the photo's own scale */
    if (kr == 0 && lic && number_missing(&k, lic, side) && bn_codefix_redetect(det, pp, up ? up : img, &L) > 0)
        kr = bn_kie_extract(doc_type, side, &L, &k);
    bn_image_destroy(&up);
    if (kr != 0) {
        bn_lines_clear(&L);
        return -1;
    }
    for (int i = 0; i < k.n; i++) {
        const bn_kie_field_t *f = &k.f[i];
        char v[BN_KIE_VALUE_MAX];
        if (!strcmp(f->key, "validity")) {
            set_period(fields, doc_type, f);
        } else if (!strcmp(f->key, "business_term")) {
            bn_norm_field(doc_type, "business_term", f->value, v, sizeof v);
            set_field(fields, "business_term", v, f->conf, f->box);
            set_period(fields, doc_type, f);
        } else {
            bn_norm_field(doc_type, f->key, f->value, v, sizeof v);
            set_field(fields, f->key, v, f->conf, f->box);
        }
        if (getenv("BEIAN_OCR_DEBUG") && json_object_get(fields, f->key)) /* raw text: debugging only */
            json_object_set_new(json_object_get(fields, f->key), "raw", json_string(f->value));
    }
    bn_ocr_fields_from_number(fields);
    /* the other side of a card: its labels, none of this side's */
    if (!bn_doc_is_page(doc_type) && k.labels_seen == 0) {
        bn_kie_t other;
        if (bn_kie_extract(doc_type, !strcmp(side, "back") ? "front" : "back", &L, &other) == 0 && other.labels_seen >= 1)
            bn_flag_add(flags, "wrong_side", NAN, NAN, -1);
        memset(&other, 0, sizeof other); /* personal data */
    }
    /* an ID card's top or bottom edge off the photo, its text whole: the rows say where the
     * edges are (the quality stage judged the outline and the lines; one flag per code) */
    bn_cardedge_t ce;
    int cut = bn_flags_has(json_object_get(json_object_get(task->hints, "quality"), "flags"), "border_incomplete");
    if (!cut && !strcmp(doc_type, "id-card") && !strcmp(side, "front") && bn_cardedge_id_front(&L, &k, &ce)) {
        double out_mm = fmax(ce.top_out, ce.bottom_out), t = bn_config_num(task->config, "ocr.card_edge_outside_mm", 1.5);
        if (ce.across)
            out_mm = fmax(out_mm, fmax(ce.left_out, ce.right_out));
        if (getenv("BEIAN_OCR_DEBUG"))
            fprintf(stderr, "cardedge: %.1f px/mm, outside: top %.1f bottom %.1f left %.1f right %.1f mm\n", ce.px_per_mm,
                    ce.top_out, ce.bottom_out, ce.across ? ce.left_out : NAN, ce.across ? ce.right_out : NAN);
        if (out_mm > t)
            bn_flag_add(flags, "border_incomplete", round(out_mm * 10) / 10, t, -1);
    }
    /* ...and a licence's: the date, seal and footer under 登记机关 need room on the photo */
    double below;
    if (!cut && lic && bn_cardedge_licence(&L, &below)) {
        double t = bn_config_num(task->config, "ocr.licence_authority_min_lines", 6.0);
        if (getenv("BEIAN_OCR_DEBUG"))
            fprintf(stderr, "licence edge: %.1f lines under 登记机关 (line %.1f px)\n", below, L.line_h);
        if (below < t)
            bn_flag_add(flags, "border_incomplete", round(below * 10) / 10, t, -1);
    }
    *rotation = L.rotation;
    bn_lines_clear(&L);
    memset(&k, 0, sizeof k);
    return 0;
}

int bn_ocr_run(const bn_task_t *task, bn_stage_result_t *out)
{
    memset(out, 0, sizeof *out);
    if (!task || !task->image || !task->doc_type)
        return bn_error_set("invalid_argument", "ocr stage needs an image and a document type");
    const char *doc_type = task->doc_type;
    const char *side = task->doc_side && *task->doc_side ? task->doc_side : "front";
    bn_zoneset_t zs;
    if (bn_zones_get(doc_type, side, &zs) != 0)
        return -1;
    if (task->config)
        bn_tess_configure(task->config);
    bn_ppocr_shared(task->config); /* loaded once per process; NULL (warned once) falls back to Tesseract */
    const char *today_s = opt_str(task->options, "now");
    if (!today_s)
        today_s = opt_str(task->options, "today");
    bn_date_t today = bn_today(today_s);
    char today_buf[16];
    bn_date_format(&today, today_buf, sizeof today_buf);

    json_t *fields = json_object(), *checks = json_object(), *flags = json_array();
    json_t *doc = NULL;
    int rotation = 0, have = 0;
    bn_image_t *img = NULL, *page = NULL;
    PIX *pg = NULL;
    bn_decode_info_t di;
    bn_docgeom_t g = {0};
    double shrink = 1;
    bn_decode_limits_t lim = {0};
    /* 2400 px on the long side keeps a card in a phone photo at >= 300 dpi when it fills a
     * third of the frame; more only costs decode time. */
    lim.shrink_to = (int)bn_config_num(task->config, "ocr.decode_long_side", 2400);
    /* A PDF page at the quality stage's resolution: its hints are in those pixels. */
    bn_decode_limits_pdf(&lim, task->config);
    img = bn_image_decode_page(task->image, task->image_size, &lim, task->doc_page, &di);
    if (!img) {
        /* the quality stage, when it ran first, has already said so (with the decoder's reason) */
        const char *code = bn_error_code();
        if (!json_object_get(task->hints, "quality"))
            bn_flag_add(flags, !strcmp(code, "image_too_large") ? "resolution_too_high" : "format_unsupported", NAN, NAN, -1);
        goto finish;
    }
    double t_dec = dbg_now();
    shrink = di.shrink > 0 ? di.shrink : 1;
    if (by_lines(doc_type)) {
        int r = read_by_lines(task, img, di.shrink, doc_type, side, fields, flags, &rotation);
        if (r < 0)
            goto fail;
        if (r == 0)
            goto checks;
    }
    have = geom_from_hints(task->hints, shrink, &g) == 0;
    if (!have && bn_doc_find(img, doc_type, &g) == 0 && g.found)
        have = 1;
    page = have ? bn_doc_rectify(img, &g, doc_type, DPI) : NULL;
    if (!page)
        page = whole_as_document(img, doc_type);
    if (!page) {
        bn_flag_add(flags, "field_unreadable", NAN, NAN, -1);
        goto finish;
    }
    pg = bn_pix_grey(page);
    if (!pg)
        goto oom;
    double t_geo = dbg_now();
    if (getenv("BEIAN_OCR_DEBUG") && *getenv("BEIAN_OCR_DEBUG")) {
        char p[1024];
        snprintf(p, sizeof p, "%s/page.png", getenv("BEIAN_OCR_DEBUG"));
        pixWrite(p, pg, IFF_PNG);
    }
    /* the rectifier may cap large documents below 300 dpi: take the scale from the page */
    double ppmm = zs.w_mm > 0 ? page->width / zs.w_mm : DPI / 25.4;

    /* the rectified page may be a few mm off the layout: shift every zone by the offset that
     * best fits the printed text */
    bn_zones_align(pg, &zs, ppmm, bn_config_num(task->config, "ocr.align_max_mm", 4.0));

    /* fields of the layout */
    for (int i = 0; i < zs.nzones; i++) {
        const bn_zone_t *z = &zs.zones[i];
        if (!strcmp(z->key, "mrz") || (!strcmp(doc_type, "passport") && !strcmp(z->key, "optional_data")))
            continue; /* read with the MRZ reader below */
        field_read_t fr;
        if (read_zone(pg, ppmm, doc_type, &zs, z, &fr) != 0) {
            if (!strcmp(bn_error_code(), "ocr_engine_unavailable"))
                goto fail;
            continue;
        }
        json_object_set_new(fields, z->key, field_json(fr.value, fr.conf, fr.box));
        if (getenv("BEIAN_OCR_DEBUG")) /* raw text is personal data: never outside debugging */
            json_object_set_new(json_object_get(fields, z->key), "raw", json_string(fr.raw));
    }

    double t_fields = dbg_now();
    if (getenv("BEIAN_OCR_DEBUG"))
        fprintf(stderr, "ocr timing: find+rectify %.3f s, fields %.3f s\n", t_geo - t_dec, t_fields - t_geo);
    /* MRZ */
    int mlines = mrz_lines_for(doc_type, side);
    if (mlines > 0) {
        bn_mrzread_t mr;
        int box[4] = {0, 0, 0, 0};
        PIX *mc = zs.has_mrz ? bn_zone_crop(pg, &zs.mrz, ppmm, 4.0, 4.0, box) : NULL;
        int found = 0;
        if (mc) {
            /* the MRZ zone of the rectified page first (fast, little clutter) */
            bn_image_t *zi = bn_image_new(pixGetWidth(mc), pixGetHeight(mc), 1);
            if (zi) {
                for (int y = 0; y < zi->height; y++)
                    for (int x = 0; x < zi->width; x++) {
                        l_uint32 v;
                        pixGetPixel(mc, x, y, &v);
                        zi->data[(size_t)y * zi->width + x] = (uint8_t)v;
                    }
                if (bn_mrz_read_image(zi, today_buf, mlines, &mr) == 0 && mr.found)
                    found = 1;
                bn_image_destroy(&zi);
            }
            pixDestroy(&mc);
        }
        if (!found && bn_mrz_read_image(img, today_buf, mlines, &mr) == 0 && mr.found) {
            found = 1; /* the whole photo: rectification may have failed */
            for (int k = 0; k < 4; k++)
                box[k] = mr.box[k];
        }
        if (found) {
            mrz_to_fields(doc_type, &mr, fields, box);
            /* check digits and syntax are judged by bn_checks from the "mrz" field */
        } else {
            bn_flag_add(flags, "mrz_not_found", NAN, NAN, -1);
        }
    }

    /* wrong side: an ID-card back sent as front has no number where the front has one, but
     * dates where the back has them (and the reverse). */
    if (is_id_type(doc_type)) {
        const char *idv = json_string_value(json_object_get(json_object_get(fields, "id_number"), "value"));
        const char *vf = json_string_value(json_object_get(json_object_get(fields, "valid_from"), "value"));
        const char *other = !strcmp(side, "front") ? "back" : "front";
        int own_ok = !strcmp(side, "front") ? (idv && strlen(idv) >= 15) : (vf && strlen(vf) == 10);
        if (!own_ok) {
            bn_zoneset_t zo;
            if (bn_zones_get(doc_type, other, &zo) == 0) {
                for (int i = 0; i < zo.nzones; i++) {
                    const bn_zone_t *z = &zo.zones[i];
                    if (strcmp(z->key, !strcmp(side, "front") ? "valid_from" : "id_number") != 0)
                        continue;
                    field_read_t fr;
                    if (read_zone(pg, ppmm, doc_type, &zo, z, &fr) == 0) {
                        const char *v = fr.value;
                        bn_id_info_t ii;
                        if ((!strcmp(z->key, "valid_from") && strlen(v) == 10) ||
                            (!strcmp(z->key, "id_number") && bn_id_validate(v, today_buf, &ii) == BN_ID_VALID))
                            bn_flag_add(flags, "wrong_side", NAN, NAN, -1);
                    }
                }
            }
        }
    }

checks:
    /* validators, rules and form cross-checks */
#ifndef BN_OCR_NO_CHECKS /* developer builds before bn_checks existed */
    bn_checks_run_opts(task->config, task->options, doc_type, side, fields, task->form, today_buf, checks, flags);
#endif

finish:;
    /* The review image again, with this stage's flags marked too (the box of the field each is
     * about): it replaces the quality stage's in the result (bn_job_result merges a later stage's
     * images over an earlier one's). Only after the quality stage, whose flags and glare boxes it
     * carries on. Field boxes are in the rectified page's pixels, or the decoded photo's when read
     * by lines (none drawn when that page was turned to read it). */
    json_t *rv = NULL;
    const json_t *qh = json_object_get(task->hints, "quality");
    if (img && qh) {
        if (!have)
            have = geom_from_hints(task->hints, shrink, &g) == 0;
        const json_t *fl[] = {json_object_get(qh, "flags"), flags};
        void *rj = NULL;
        size_t rlen = 0;
        rv = bn_review_blob(img, have ? &g : NULL, (int)bn_config_num(task->config, "quality.review.long_side", 800), fl,
                            2, json_object_get(json_object_get(qh, "quality"), "glare_boxes"),
                            page || rotation == 0 ? fields : NULL, page ? page->width : 0, page ? page->height : 0, &rj,
                            &rlen);
        if (rj)
            bn_stage_result_add_blob(out, "review", "image/jpeg", rj, rlen);
    }
    doc = json_pack("{s:o, s:o, s:o, s:s, s:i}", "fields", fields, "checks", checks, "flags", flags, "verdict",
                    bn_verdict_name(bn_flags_worst(flags)), "rotation", rotation);
    if (doc && rv)
        json_object_set_new(doc, "review", rv);
    else
        json_decref(rv);
    fields = checks = flags = NULL;
    if (!doc)
        goto oom;
    out->json = doc;
    pixDestroy(&pg);
    bn_image_destroy(&page);
    bn_image_destroy(&img);
    return 0;
oom:
    bn_error_set("out_of_memory", "ocr stage");
fail:
    json_decref(fields);
    json_decref(checks);
    json_decref(flags);
    pixDestroy(&pg);
    bn_image_destroy(&page);
    bn_image_destroy(&img);
    return -1;
}

/* ---- evaluation (`beian eval ocr DIR...`) ------------------------------------------------- */

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#define EVAL_MAX_KEYS 96

typedef struct {
    char key[64];
    int n, ok;
} stat_t;

typedef struct {
    stat_t s[EVAL_MAX_KEYS];
    int ns;
} stats_t;

static void stat_add(stats_t *st, const char *key, int ok)
{
    for (int i = 0; i < st->ns; i++)
        if (!strcmp(st->s[i].key, key)) {
            st->s[i].n++, st->s[i].ok += ok;
            return;
        }
    if (st->ns == EVAL_MAX_KEYS)
        return;
    snprintf(st->s[st->ns].key, sizeof st->s[0].key, "%s", key);
    st->s[st->ns].n = 1, st->s[st->ns].ok = ok;
    st->ns++;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Target groups of issue 4. */
static const char *group_of(const char *key)
{
    if (!strcmp(key, "id_number")) return "id_number";
    if (!strcmp(key, "credit_code")) return "credit_code";
    if (!strcmp(key, "address")) return "address";
    if (!strcmp(key, "name") || !strcmp(key, "surname") || !strcmp(key, "given_names") ||
        !strcmp(key, "name_latin") || !strcmp(key, "legal_representative"))
        return "names";
    if (strstr(key, "date") || !strcmp(key, "valid_from") || !strcmp(key, "valid_until") ||
        !strcmp(key, "registered_on") || !strcmp(key, "expires_on"))
        return "dates";
    if (!strcmp(key, "domain")) return "domain";
    if (!strcmp(key, "holder") || !strcmp(key, "holder_en")) return "holder";
    return NULL;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A flag the ocr stage raises (the flag table says which stage owns a code); a specimen's other
 * expected flags are the quality stage's. */
static int ocr_code(const char *c)
{
    const bn_flag_def_t *d = bn_flag_lookup(c);
    return d && !strcmp(d->stage, "ocr");
}

/* Verdicts and flags, not only values: a specimen whose truth expects no flag should pass the
 * stage (every flag of review or worse on one is counted by code); a flag the truth expects from
 * this stage should be raised. */
static void score_verdict(const json_t *r, const json_t *expected, int *nclean, int verdicts[5], stats_t *expf,
                          stats_t *unexp)
{
    const json_t *flags = json_object_get(r, "flags");
    size_t i;
    json_t *f;
    int any = 0;
    json_array_foreach(expected, i, f) {
        const char *c = json_string_value(f);
        any = 1;
        if (!ocr_code(c))
            continue;
        int raised = 0;
        size_t j;
        json_t *g;
        json_array_foreach(flags, j, g) raised |= !strcmp(json_string_value(json_object_get(g, "code")) ?
                                                          json_string_value(json_object_get(g, "code")) : "", c);
        stat_add(expf, c, raised);
    }
    if (any)
        return;
    (*nclean)++;
    const char *v = json_string_value(json_object_get(r, "verdict"));
    static const char *const names[] = {"pass", "review", "reshoot", "reject"};
    int k = 4;
    for (int n = 0; n < 4; n++)
        if (v && !strcmp(v, names[n]))
            k = n;
    verdicts[k]++;
    json_array_foreach(flags, i, f) if (bn_severity_parse(json_string_value(json_object_get(f, "severity"))) >=
                                        BN_SEV_REVIEW)
        stat_add(unexp, json_string_value(json_object_get(f, "code")), 1);
}

static void print_verdicts(int nclean, const int verdicts[5], const stats_t *expf, const stats_t *unexp)
{
    printf("verdicts of the ocr stage on %d documents whose truth expects no flag: pass %d, review %d, reshoot %d, "
           "reject %d, other %d\n", nclean, verdicts[0], verdicts[1], verdicts[2], verdicts[3], verdicts[4]);
    for (int i = 0; i < unexp->ns; i++)
        printf("  flagged on them: %-32s %d\n", unexp->s[i].key, unexp->s[i].n);
    for (int i = 0; i < expf->ns; i++)
        printf("expected flag %-32s raised %d/%d\n", expf->s[i].key, expf->s[i].ok, expf->s[i].n);
}

static int eval_generated(const char *dir, const char *subset, int limit, const char *today, int verbose,
                          int standalone)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "eval ocr: cannot open %s\n", dir);
        return 2;
    }
    char **names = NULL;
    size_t nn = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") || !strcmp(e->d_name, "index.json"))
            continue;
        if (nn == cap) {
            cap = cap ? cap * 2 : 256;
            char **nb = realloc(names, cap * sizeof *names);
            if (!nb) break;
            names = nb;
        }
        names[nn++] = strdup(e->d_name);
    }
    closedir(d);
    if (nn)
        qsort(names, nn, sizeof *names, cmp_names);
    stats_t per = {0}, grp = {0}, expf = {0}, unexp = {0};
    int docs = 0, fails = 0, nclean = 0, verdicts[5] = {0}; /* pass review reshoot reject other */
    double t_total = 0;
    json_t *opts = json_pack("{s:s}", "now", today ? today : "");
    bn_config_t *cfg = bn_config_load(NULL);
    for (size_t i = 0; i < nn && (limit <= 0 || docs < limit); i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        json_t *truth = json_load_file(path, 0, NULL);
        json_t *tf = json_object_get(truth, "fields");
        const char *type = json_string_value(json_object_get(truth, "type"));
        const char *side = json_string_value(json_object_get(truth, "side"));
        const char *image = json_string_value(json_object_get(truth, "image"));
        int clean = json_is_true(json_object_get(truth, "clean")), mild = json_is_true(json_object_get(truth, "mild"));
        int want = !strcmp(subset, "all") || (!strcmp(subset, "clean") && clean) ||
                   (!strcmp(subset, "mild") && mild) || (!strcmp(subset, "clean+mild") && (clean || mild));
        if (!truth || !type || !image || json_object_size(tf) == 0 || !want) {
            json_decref(truth);
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, image);
        size_t size;
        uint8_t *bytes = (uint8_t *)bn_file_read(path, 64u << 20, &size);
        if (!bytes) {
            json_decref(truth);
            continue;
        }
        /* the applicant's form, where the truth has one (domain certificates: domain, province) */
        bn_task_t task = {.stage = "ocr", .doc_type = type, .doc_side = side, .image = bytes,
                          .image_size = size, .options = opts, .config = cfg, .form = json_object_get(truth, "form")};
        /* As the daemon and `beian check` run it: the quality stage's result (its geometry) as
         * hints; --standalone leaves the OCR stage to find the document itself. */
        json_t *hints = standalone ? NULL : bn_quality_hints(&task);
        task.hints = hints;
        bn_stage_result_t res;
        double t0 = now_s();
        int rc = bn_ocr_run(&task, &res);
        t_total += now_s() - t0;
        json_decref(hints);
        docs++;
        json_t *of = rc == 0 ? json_object_get(res.json, "fields") : NULL;
        if (rc != 0) {
            fails++;
            fprintf(stderr, "%s: %s %s\n", names[i], bn_error_code(), bn_error_msg());
        }
        const char *k;
        json_t *tv;
        json_object_foreach(tf, k, tv) {
            char want_s[1024] = "", got_s[1024] = "";
            json_t *ov = json_object_get(json_object_get(of, k), "value");
            if (json_is_array(tv)) { /* mrz lines */
                size_t j;
                json_t *x;
                json_array_foreach(tv, j, x) {
                    strncat(want_s, json_string_value(x) ? json_string_value(x) : "", sizeof want_s - strlen(want_s) - 2);
                    strcat(want_s, "/");
                }
                json_array_foreach(ov, j, x) {
                    strncat(got_s, json_string_value(x) ? json_string_value(x) : "", sizeof got_s - strlen(got_s) - 2);
                    strcat(got_s, "/");
                }
            } else {
                snprintf(want_s, sizeof want_s, "%s", json_string_value(tv) ? json_string_value(tv) : "");
                snprintf(got_s, sizeof got_s, "%s", json_string_value(ov) ? json_string_value(ov) : "");
            }
            int ok = strcmp(want_s, got_s) == 0;
            char key[64];
            snprintf(key, sizeof key, "%s.%s", type, k);
            stat_add(&per, key, ok);
            if (group_of(k))
                stat_add(&grp, group_of(k), ok);
            /* synthetic data only: the values are not personal data */
            if (!ok && verbose)
                printf("  MISS %-40s %-22s want '%s' got '%s' raw '%s'\n", names[i], k, want_s, got_s,
                       json_string_value(json_object_get(json_object_get(of, k), "raw")) ? json_string_value(json_object_get(json_object_get(of, k), "raw")) : "");
        }
        if (rc == 0)
            score_verdict(res.json, json_object_get(truth, "expected_flags"), &nclean, verdicts, &expf, &unexp);
        if (rc == 0)
            bn_stage_result_clear(&res);
        free(bytes);
        json_decref(truth);
    }
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    json_decref(opts);
    bn_config_destroy(&cfg);
    print_verdicts(nclean, verdicts, &expf, &unexp);
    printf("ocr eval over %s (%s%s): %d documents, %d stage errors, %.3f s/document (ocr stage)\n", dir, subset,
           standalone ? ", standalone" : ", after the quality stage", docs, fails, docs ? t_total / docs : 0);
    printf("%-44s %6s %6s %8s\n", "field", "n", "exact", "rate");
    for (int i = 0; i < per.ns; i++)
        printf("%-44s %6d %6d %7.1f%%\n", per.s[i].key, per.s[i].n, per.s[i].ok, 100.0 * per.s[i].ok / per.s[i].n);
    printf("targets (issue 4; domain and holder: issue 12):\n");
    static const struct { const char *g; double target; } tg[] = {
        {"id_number", 99}, {"names", 97}, {"credit_code", 98}, {"address", 90}, {"dates", 98}, {"domain", 98},
        {"holder", 95}};
    for (size_t t = 0; t < sizeof tg / sizeof tg[0]; t++)
        for (int i = 0; i < grp.ns; i++)
            if (!strcmp(grp.s[i].key, tg[t].g)) {
                double r = 100.0 * grp.s[i].ok / grp.s[i].n;
                printf("  %-12s %5d/%-5d %6.1f%%  target %4.0f%%  %s\n", tg[t].g, grp.s[i].ok, grp.s[i].n, r, tg[t].target,
                       r >= tg[t].target ? "met" : "MISSED");
            }
    return 0;
}

/* ../shared/data/mrz: GROUND_TRUTH.md lists "### path" + a code block of MRZ lines, and
 * "name.jpg: L1 / L2 [/ L3]" lines inside code blocks (fastmrz section, resident cards). */
typedef struct {
    char path[256];
    char lines[3][48];
    int n;
    int negative;
} mrz_truth_t;

static int is_mrz_token(const char *s, size_t n)
{
    if (n < 28 || n > 44)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '<'))
            return 0;
    return 1;
}

static int parse_truth(const char *md_path, mrz_truth_t *t, int max)
{
    FILE *f = fopen(md_path, "r");
    if (!f)
        return -1;
    char line[1024], prefix[128] = "", cur[256] = "";
    int n = 0, in_code = 0, pending = -1;
    while (fgets(line, sizeof line, f) && n < max) {
        line[strcspn(line, "\r\n")] = 0;
        if (!strncmp(line, "## ", 3)) {
            snprintf(prefix, sizeof prefix, "%s", strstr(line, "fastmrz") ? "fastmrz/" : "mrz_lib_images/");
            continue;
        }
        if (strstr(line, "resident cards"))
            snprintf(prefix, sizeof prefix, "mrz_lib_images/resident_cards/");
        if (!strncmp(line, "### ", 4)) {
            snprintf(cur, sizeof cur, "mrz_lib_images/%.200s", line + 4);
            pending = -1;
            continue;
        }
        if (!strncmp(line, "```", 3)) {
            in_code = !in_code;
            if (in_code && cur[0]) {
                pending = n;
                memset(&t[n], 0, sizeof t[n]);
                snprintf(t[n].path, sizeof t[n].path, "%s", cur);
            } else if (!in_code && pending >= 0) {
                if (t[pending].n > 0)
                    n++;
                pending = -1;
                cur[0] = 0;
            }
            continue;
        }
        if (!in_code)
            continue;
        if (pending >= 0 && is_mrz_token(line, strlen(line)) && t[pending].n < 3) {
            snprintf(t[pending].lines[t[pending].n++], 48, "%.47s", line); /* MRZ lines are <= 44 */
            continue;
        }
        /* "name.ext:  L1 / L2 / L3  (comment)" */
        char *colon = strstr(line, ": ");
        if (pending >= 0 || !colon || colon - line > 60)
            continue;
        mrz_truth_t *x = &t[n];
        memset(x, 0, sizeof *x);
        snprintf(x->path, sizeof x->path, "%s%.*s", prefix, (int)(colon - line), line);
        const char *p = strstr(colon, "expected ") ? strstr(colon, "expected ") + 9 : colon + 1;
        while (*p && x->n < 3) {
            while (*p == ' ' || *p == '/')
                p++;
            size_t l = strcspn(p, " /");
            if (is_mrz_token(p, l)) {
                snprintf(x->lines[x->n++], 48, "%.*s", (int)l, p);
                p += l;
            } else if (x->n > 0) {
                break;
            } else {
                p += l;
            }
        }
        if (strstr(line, "negative"))
            x->negative = 1, x->n = 0;
        if (x->n == 0 && !x->negative) {
            /* "SRC-GEN strings in §2 (MRVA_ICAO_Example / MRVB_ICAO_Example)": by reference */
            const char *nm = strrchr(x->path, '/') ? strrchr(x->path, '/') + 1 : x->path;
            char ref[64];
            snprintf(ref, sizeof ref, "%.2s", nm);
            for (int j = 0; j < n; j++) {
                const char *b = strrchr(t[j].path, '/');
                if (b && !strncasecmp(b + 1, nm, 4) && strstr(b, "ICAO_Example")) {
                    memcpy(x->lines, t[j].lines, sizeof x->lines);
                    x->n = t[j].n;
                }
            }
        }
        if (x->n > 0 || x->negative)
            n++;
    }
    fclose(f);
    return n;
}

/* Where GROUND_TRUTH.md and the image disagree. The file's SRC-GEN strings were typed by the
 * source project's authors to mimic each specimen, and the file itself marks these four "OCR
 * differs"; each line below was checked by eye against the image. The eval scores the file as
 * given and, separately, with these lines as the image prints them. An entry applies only while
 * the file still says `file_says`, so a corrected file makes it a no-op. */
static const struct {
    const char *path;
    int line;             /* 0-based */
    const char *file_says, *prints, *why;
} s_mrz_errata[] = {
    {"mrz_lib_images/id_cards/Liechtenstein.png", 2, "OSPELT<BECK<<MARISA<<<<<<<<<<<",
     "OSPELTBECK<<MARISA<<<<<<<<<<<<", "surname printed without the filler"},
    {"mrz_lib_images/visas/MRVA_ICAO_Example.png", 1, "L8988901C4XXX4009078F9612109ZE184226B<<<<<<<",
     "L8988901C4XXX4009078F96121096ZE184226B<<<<<<", "expiry check digit 9 then optional data 6ZE184226B"},
    {"mrz_lib_images/visas/Germany.png", 1, "D091740530BOS8201135M9708011<2020711",
     "D091740530BOS8201308M9708011<2020711", "birth date 820130 (check 8), not 820113 (5)"},
    {"mrz_lib_images/passports/ICAO_Example2.png", 0, "P<ASUMXHMWD<<EBDALRXHYM<<<<<<<<<<<<<<<<<<<<<",
     "P<ASUMXHMWD<EBDALRXHYM<<<<<<<<<<<<<<<<<<<<<<", "one filler between the names"},
    {"mrz_lib_images/passports/ICAO_Example2.png", 1, "A2222222<0ASU7108215F04120411000146819<<<<44",
     "A2222222<0ASU7108211M04120401000146819<<<<33",
     "the specimen prints wrong check digits (marked BAD HASHES) and sex M"},
};

/* Apply the errata to a copy of the truth; returns how many lines changed. */
static int mrz_errata_apply(mrz_truth_t *t)
{
    int changed = 0;
    for (size_t e = 0; e < sizeof s_mrz_errata / sizeof s_mrz_errata[0]; e++) {
        int l = s_mrz_errata[e].line;
        if (!strcmp(t->path, s_mrz_errata[e].path) && l < t->n && !strcmp(t->lines[l], s_mrz_errata[e].file_says)) {
            snprintf(t->lines[l], sizeof t->lines[l], "%s", s_mrz_errata[e].prints);
            changed++;
        }
    }
    return changed;
}

static int mrz_fields_equal(const bn_mrz_t *a, const bn_mrz_t *b)
{
    return a->format == b->format && !strcmp(a->document_code, b->document_code) &&
           !strcmp(a->issuing_country, b->issuing_country) && !strcmp(a->surname, b->surname) &&
           !strcmp(a->given_names, b->given_names) && !strcmp(a->document_number, b->document_number) &&
           !strcmp(a->nationality, b->nationality) && !strcmp(a->birth_date, b->birth_date) && a->sex == b->sex &&
           !strcmp(a->expiry_date, b->expiry_date) && !strcmp(a->optional_data, b->optional_data) &&
           !strcmp(a->optional_data2, b->optional_data2);
}

/* Every field of `got` equals the truth's parse; counts exact lines into *lines_ok. */
static int mrz_truth_matches(const mrz_truth_t *t, const bn_mrz_t *got, const char *today, int *lines_ok)
{
    char tj[160] = "";
    for (int k = 0; k < t->n; k++)
        strcat(strcat(tj, t->lines[k]), "\n");
    bn_mrz_t tm;
    if (bn_mrz_parse(tj, today, &tm) != 0)
        return 0;
    int lok = got->nlines == t->n;
    for (int k = 0; lok && k < t->n; k++)
        lok = !strcmp(got->lines[k], t->lines[k]);
    if (lines_ok)
        *lines_ok += lok;
    return mrz_fields_equal(&tm, got);
}

static int eval_mrz(const char *dir, const char *today, int verbose)
{
    char md[4096];
    snprintf(md, sizeof md, "%s/GROUND_TRUTH.md", dir);
    mrz_truth_t t[96];
    int n = parse_truth(md, t, 96);
    if (n <= 0) {
        fprintf(stderr, "eval ocr: no ground truth in %s\n", md);
        return 2;
    }
    int pos = 0, fields_ok = 0, lines_ok = 0, found = 0, neg = 0, neg_ok = 0, errata_images = 0, errata_ok = 0;
    double t_total = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%.3000s/%.255s", dir, t[i].path);
        size_t size;
        uint8_t *bytes = (uint8_t *)bn_file_read(path, 64u << 20, &size);
        if (!bytes)
            continue;
        bn_image_t *img = bn_image_decode(bytes, size, NULL, NULL);
        free(bytes);
        if (!img)
            continue;
        bn_mrzread_t r;
        double t0 = now_s();
        int rc = bn_mrz_read_image(img, today, 0, &r);
        t_total += now_s() - t0;
        bn_image_destroy(&img);
        if (rc != 0) {
            fprintf(stderr, "%s: %s\n", t[i].path, bn_error_msg());
            return 2;
        }
        if (t[i].negative) {
            neg++;
            neg_ok += !r.found;
            printf("%-52s %s\n", t[i].path, r.found ? "FOUND (should be mrz_not_found)" : "mrz_not_found (ok)");
            continue;
        }
        pos++;
        found += r.found;
        mrz_truth_t fixed = t[i];
        int erratum = mrz_errata_apply(&fixed) > 0;
        errata_images += erratum;
        int fok = r.found && mrz_truth_matches(&t[i], &r.mrz, today, &lines_ok);
        int eok = erratum ? r.found && mrz_truth_matches(&fixed, &r.mrz, today, NULL) : fok;
        fields_ok += fok;
        errata_ok += eok;
        printf("%-52s %-8s%s\n", t[i].path, !r.found ? "notfound" : fok ? "ok" : "WRONG",
               !erratum ? "" : eok ? "  (ok as printed: see errata)" : "  (also wrong as printed)");
        if (verbose && r.found && !eok)
            for (int k = 0; k < r.mrz.nlines; k++)
                printf("    got  %s\n    want %s\n", r.mrz.lines[k], k < fixed.n ? fixed.lines[k] : "");
    }
    printf("mrz eval over %s: %d images with ground truth, found %d, every field correct %d (%.1f%%), "
           "lines exact %d; negatives %d/%d not found; %.3f s/image\n",
           dir, pos, found, fields_ok, pos ? 100.0 * fields_ok / pos : 0, lines_ok, neg_ok, neg,
           (pos + neg) ? t_total / (pos + neg) : 0);
    printf("with the errata (%d images whose print differs from the file, docs/OCR.md): every field correct "
           "%d (%.1f%%)\n", errata_images, errata_ok, pos ? 100.0 * errata_ok / pos : 0);
    printf("target (issue 4): >= 90%% with every MRZ field correct: %s by the file as given, %s as the images print\n",
           pos && 100.0 * fields_ok / pos >= 90 ? "met" : "MISSED", pos && 100.0 * errata_ok / pos >= 90 ? "met" : "MISSED");
    return 0;
}

int bn_ocr_eval_main(int argc, char **argv)
{
    const char *subset = "clean+mild", *today = NULL;
    int limit = 0, verbose = 0, rc = 0, ndirs = 0, standalone = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--subset") && i + 1 < argc)
            subset = argv[++i];
        else if (!strcmp(argv[i], "--limit") && i + 1 < argc)
            limit = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--today") && i + 1 < argc)
            today = argv[++i];
        else if (!strcmp(argv[i], "-v"))
            verbose = 1;
        else if (!strcmp(argv[i], "--standalone"))
            standalone = 1;
        else {
            char md[4096];
            struct stat st;
            snprintf(md, sizeof md, "%s/GROUND_TRUTH.md", argv[i]);
            int r = stat(md, &st) == 0 ? eval_mrz(argv[i], today, verbose)
                                       : eval_generated(argv[i], subset, limit, today, verbose, standalone);
            if (r)
                rc = r;
            ndirs++;
        }
    }
    if (!ndirs) {
        fprintf(stderr, "usage: beian eval ocr [--subset clean|mild|clean+mild|all] [--limit N] [--today YYYY-MM-DD] [--standalone] [-v] DIR...\n"
                        "  --standalone: without the quality stage's geometry (the OCR stage finds the document)\n"
                        "  DIR: generator output (tests/specgen) or a directory with GROUND_TRUTH.md (MRZ images)\n");
        return 2;
    }
    bn_tess_shutdown();
    bn_ppocr_shutdown();
    bn_textdet_shutdown();
    return rc;
}
