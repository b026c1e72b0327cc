#include "ocr/bn_mrzread.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bn_error.h"
#include "core/bn_log.h"
#include "ocr/bn_tess.h"
#include "ocr/bn_zones.h"

#define MAX_BANDS 64
#define MAX_GROUPS 4
#define MRZ_WHITELIST "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
#define NVARIANTS 5
/* Line image height / text height given to the MRZ model (measured best on the real specimens:
 * 1.7 as cropped before gave 20 of 31, 2.2 gives 25, 3.0 fewer again). */
#define MRZ_LINE_RATIO 2.2
/* Second-pass text mask threshold: this fraction of the way from Otsu's threshold to paper. */
#define MRZ_LENIENT 0.25
/* Ink fraction of the text mask above which a dot screen / guilloche is assumed. */
#define BN_MRZ_SPECKLE_DENSITY 0.09

/* How each line is read, in order of trust; the last is a per-character majority vote of the
 * others (lang NULL). */
static const struct { const char *lang; double height; int norm; } s_variants[NVARIANTS] = {
    {"mrz", 40, 0}, {"eng", 40, 0}, {"mrz", 32, 1}, {"mrz", 48, 1}, {NULL, 0, 0}};

/* Align b to a (edit distance, unit costs). map[i] is the character of b read at a[i], or 0 when
 * b has nothing there (a deleted); characters b has in excess are dropped. */
static void align_to(const char *a, const char *b, char *map)
{
    int na = (int)strlen(a), nb = (int)strlen(b);
    unsigned char d[64][64];
    for (int i = 0; i <= na; i++)
        for (int j = 0; j <= nb; j++) {
            if (!i || !j) {
                d[i][j] = (unsigned char)(i + j);
                continue;
            }
            int v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            d[i][j] = (unsigned char)v;
        }
    for (int i = na, j = nb; i > 0;) {
        if (j > 0 && d[i][j] == d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            map[--i] = b[--j];
        else if (j > 0 && d[i][j] == d[i][j - 1] + 1)
            j--;
        else
            map[--i] = 0;
    }
}

/* Fuse the readings of one line: the reading whose length most others share (ties: the more
 * trusted, earlier one) is the frame; every reading is aligned to it and each position takes the
 * character most readings agree on, or is dropped when most readings have nothing there. Ties
 * keep the frame's character. Readings of different lengths still vote (a "U" read as "LJ" by
 * one reading is outvoted by the others), which a plain per-position vote cannot do. */
static void vote_line(char alt[][3][64], int nv, int k, char *out, size_t size)
{
    int ref = -1, best_cnt = 0;
    for (int a = 0; a < nv; a++) {
        int len = (int)strlen(alt[a][k]), cnt = 0;
        for (int b = 0; b < nv; b++)
            cnt += (int)strlen(alt[b][k]) == len;
        if (len > 0 && len < 63 && cnt > best_cnt)
            best_cnt = cnt, ref = a;
    }
    out[0] = 0;
    if (ref < 0 || best_cnt < 2 || strlen(alt[ref][k]) >= size)
        return;
    const char *r = alt[ref][k];
    int n = (int)strlen(r), m = 0, voters = 0;
    char map[NVARIANTS][64];
    for (int a = 0; a < nv; a++) {
        if (!alt[a][k][0] || strlen(alt[a][k]) >= 63)
            continue;
        align_to(r, alt[a][k], map[voters++]);
    }
    for (int i = 0; i < n; i++) {
        char c = r[i];
        int cmax = 0;
        for (int a = 0; a < voters; a++) {
            int cnt = 0;
            for (int b = 0; b < voters; b++)
                cnt += map[b][i] == map[a][i];
            if (cnt > cmax || (cnt == cmax && map[a][i] == r[i]))
                cmax = cnt, c = map[a][i];
        }
        if (c)
            out[m++] = c;
    }
    out[m] = 0;
}

typedef struct { int x, y, w, h; } rect_t;

/* A candidate read: its parse and score. */
typedef struct {
    double score;
    bn_mrzread_t r;
} cand_t;

/* Text bands in an upright-ish 8-bit grey image: long, thin connected components of the
 * horizontally closed text mask. Kernel sizes scale with the image width (work images are
 * normalised to ~1000-1600 px wide), so an MRZ filling 30-100 % of the width is found. */
static int find_bands(PIX *g, double lenient, rect_t *bands, int max, float *skew)
{
    int W = pixGetWidth(g), H = pixGetHeight(g);
    int n = 0;
    int th = (W / 70) | 1, tv = (W / 200) | 1;
    if (th < 9) th = 9;
    if (tv < 5) tv = 5;
    /* Black top-hat: dark strokes narrower than the kernel become bright, flat areas (photo,
     * background, large dark patches) vanish. */
    PIX *bh = pixTophat(g, th, tv, L_TOPHAT_BLACK);
    PIX *inv = bh ? pixInvert(NULL, bh) : NULL;
    PIX *mask = NULL, *closed = NULL, *opened = NULL;
    BOXA *boxa = NULL;
    if (!inv)
        goto done;
    PIX *pth = NULL;
    if (pixOtsuAdaptiveThreshold(inv, W, H, 0, 0, 0.1f, &pth, &mask) != 0 || !mask || !pth) {
        pixDestroy(&pth);
        goto done;
    }
    if (lenient > 0) {
        /* Otsu splits paper noise from the strongest strokes; faint, blurred strokes of a small
         * upscaled card fall below it and a line breaks into pieces. A lower threshold keeps
         * them (and more noise, hence only as a second pass). */
        l_uint32 t = 0;
        pixGetPixel(pth, 0, 0, &t);
        pixDestroy(&mask);
        mask = pixThresholdToBinary(inv, (int)(t + (255 - t) * lenient));
    }
    pixDestroy(&pth);
    if (!mask)
        goto done;
    if (skew) {
        float a = 0, c = 0;
        *skew = 0;
        if (pixFindSkew(mask, &a, &c) == 0 && c > 2.5f)
            *skew = a;
    }
    /* Join the characters of a line (gap of about one character) but not the lines. */
    /* Speckle of guilloche/dot screens would bridge lines into blobs: remove dots smaller than
     * a stroke first (work images are >= 1000 px wide, so strokes are >= 2 px). */
    l_int32 ink = 0;
    pixCountPixels(mask, &ink, NULL);
    double density = (double)ink / ((double)W * H);
    if (getenv("BEIAN_OCR_DEBUG"))
        fprintf(stderr, "mrzread ink density %.3f\n", density);
    PIX *clean = density > BN_MRZ_SPECKLE_DENSITY ? pixOpenBrick(NULL, mask, 2, 2) : NULL;
    closed = pixCloseBrick(NULL, clean ? clean : mask, W / 40 + 3, 1);
    pixDestroy(&clean);
    opened = closed ? pixOpenBrick(NULL, closed, W / 60 + 1, 3) : NULL;
    boxa = opened ? pixConnCompBB(opened, 8) : NULL;
    static int dbg_once;
    if (getenv("BEIAN_OCR_DEBUG_MRZ") && !dbg_once++) {
        pixWrite("/tmp/mrz_mask.png", mask, IFF_PNG);
        pixWrite("/tmp/mrz_opened.png", opened, IFF_PNG);
    }
    if (!boxa)
        goto done;
    /* Text fragments; a line often breaks into several (long '<' runs, wide pitch, blur). */
    rect_t frag[512];
    int nf = 0;
    for (int i = 0; i < boxaGetCount(boxa) && nf < 512; i++) {
        l_int32 x, y, w, h;
        boxaGetBoxGeometry(boxa, i, &x, &y, &w, &h);
        if (h < 4 || h > H / 6 || w < h)
            continue;
        frag[nf++] = (rect_t){x, y, w, h};
    }
    /* Merge collinear fragments: vertical overlap of most of the smaller height and a gap of
     * less than about two character heights. Repeat until stable. */
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < nf; i++)
            for (int j = i + 1; j < nf; j++) {
                rect_t *a = &frag[i], *b = &frag[j];
                int oy = (a->y + a->h < b->y + b->h ? a->y + a->h : b->y + b->h) - (a->y > b->y ? a->y : b->y);
                int mh = a->h < b->h ? a->h : b->h;
                int gap = b->x > a->x + a->w ? b->x - (a->x + a->w) : a->x > b->x + b->w ? a->x - (b->x + b->w) : 0;
                if (oy < 0.6 * mh || gap > 2 * (a->h > b->h ? a->h : b->h) || abs(a->h - b->h) > mh)
                    continue;
                int x0 = a->x < b->x ? a->x : b->x, y0 = a->y < b->y ? a->y : b->y;
                int x1 = a->x + a->w > b->x + b->w ? a->x + a->w : b->x + b->w;
                int y1 = a->y + a->h > b->y + b->h ? a->y + a->h : b->y + b->h;
                *a = (rect_t){x0, y0, x1 - x0, y1 - y0};
                frag[j] = frag[--nf];
                j--;
                changed = 1;
            }
    }
    for (int i = 0; i < nf && n < max; i++) {
        rect_t *r = &frag[i];
        if (r->w < W / 5 || r->w < 8 * r->h)
            continue;
        bands[n++] = *r;
    }
done:
    boxaDestroy(&boxa);
    pixDestroy(&opened);
    pixDestroy(&closed);
    pixDestroy(&mask);
    pixDestroy(&inv);
    pixDestroy(&bh);
    return n;
}

static int cmp_band_y(const void *a, const void *b)
{
    return ((const rect_t *)a)->y - ((const rect_t *)b)->y;
}

/* Group vertically adjacent bands of similar extent: MRZ lines are equally long and evenly
 * spaced. Groups are ranked by width and by how low they sit (the MRZ is at the bottom). */
typedef struct { int idx[3]; int n; double score; } group_t;

static int group_bands(rect_t *b, int n, int W, int H, group_t *out, int max)
{
    qsort(b, (size_t)n, sizeof *b, cmp_band_y);
    int ng = 0;
    group_t all[MAX_BANDS * 3];
    int na = 0;
    for (int i = 0; i < n; i++) {
        group_t g = {{i, 0, 0}, 1, 0};
        int last = i;
        for (int j = i + 1; j < n && g.n < 3; j++) {
            rect_t *p = &b[last], *q = &b[j];
            int gap = q->y - (p->y + p->h);
            double hh = (p->h + q->h) / 2.0;
            if (gap < -hh / 2)
                continue; /* overlapping fragment of the same line */
            if (gap > 2.5 * hh)
                break;
            if (fabs((double)q->w - p->w) > 0.2 * p->w || abs(q->x - p->x) > p->w / 8)
                continue;
            g.idx[g.n++] = j;
            last = j;
        }
        /* Every prefix of the group is a candidate too (VIZ line + MRZ, or 3 → 2 lines). */
        for (int k = g.n; k >= 1 && na < (int)(sizeof all / sizeof all[0]); k--) {
            group_t s = g;
            s.n = k;
            int wmin = W, bottom = 0;
            for (int m = 0; m < k; m++) {
                if (b[s.idx[m]].w < wmin) wmin = b[s.idx[m]].w;
                bottom = b[s.idx[m]].y + b[s.idx[m]].h;
            }
            s.score = (double)wmin / W + 0.5 * bottom / H + (k >= 2 ? 0.6 : 0) + (k == 3 ? 0.1 : 0);
            all[na++] = s;
        }
    }
    /* best first */
    for (int k = 0; k < max && k < na; k++) {
        int best = -1;
        for (int i = 0; i < na; i++)
            if (all[i].score > -1e9 && (best < 0 || all[i].score > all[best].score))
                best = i;
        if (best < 0)
            break;
        out[ng++] = all[best];
        all[best].score = -1e18;
    }
    return ng;
}

/* Read one band: crop with margins, scale to a text height the model likes, pad with paper to the
 * line geometry the model was trained on, OCR as a raw line.
 * Tesseract scales the whole line image to the network's input height, so the ratio of image to
 * text height matters as much as the text itself: the same crop read "UTO" as "LJTO" when tight
 * (1.7 text heights) and right when padded. Padding with the paper's grey rather than cropping
 * more of the image keeps neighbouring lines, stamps and card edges out of the line. */
static int read_line(PIX *g, const rect_t *r, const char *lang, double height, int norm, char *text, size_t size, double *conf)
{
    int W = pixGetWidth(g), H = pixGetHeight(g);
    int mx = r->h / 2 + 2, my = (int)(r->h * 0.35) + 2;
    int x0 = r->x - mx < 0 ? 0 : r->x - mx, y0 = r->y - my < 0 ? 0 : r->y - my;
    int x1 = r->x + r->w + mx > W ? W : r->x + r->w + mx, y1 = r->y + r->h + my > H ? H : r->y + r->h + my;
    BOX *box = boxCreate(x0, y0, x1 - x0, y1 - y0);
    PIX *crop = pixClipRectangle(g, box, NULL);
    boxDestroy(&box);
    if (!crop)
        return -1;
    double s = height / (r->h > 0 ? r->h : 1);
    if (s > 6) s = 6;
    PIX *sc = (s > 1.15 || s < 0.8) ? pixScaleGrayLI(crop, (float)s, (float)s) : pixClone(crop);
    pixDestroy(&crop);
    if (!sc)
        return -1;
    if (norm && pixGetWidth(sc) >= 60 && pixGetHeight(sc) >= 60) {
        /* flatten coloured security print and uneven light behind the characters */
        PIX *n = pixBackgroundNorm(sc, NULL, NULL, 10, 10, 100, 30, 255, 1, 1);
        if (n) {
            pixDestroy(&sc);
            sc = n;
        }
    }
    int want_h = (int)(MRZ_LINE_RATIO * height), pad_x = (int)(0.8 * height);
    int pad_y = want_h > pixGetHeight(sc) ? want_h - pixGetHeight(sc) : 0;
    l_uint32 paper = 255;
    pixGetRankValue(sc, 2, 0.9f, &paper); /* the paper's grey: most pixels of a line are paper */
    PIX *padded = pixAddBorderGeneral(sc, pad_x, pad_x, pad_y / 2, pad_y - pad_y / 2, paper);
    if (padded) {
        pixDestroy(&sc);
        sc = padded;
    }
    bn_tess_result_t tr;
    int rc = bn_tess_read(lang, sc, BN_TESS_RAW_LINE, MRZ_WHITELIST, &tr);
    pixDestroy(&sc);
    if (rc != 0)
        return -1;
    /* keep MRZ characters only: spaces and newlines are OCR artefacts */
    size_t k = 0;
    for (const char *p = tr.text; *p && k + 1 < size; p++)
        if ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '<')
            text[k++] = *p;
    text[k] = 0;
    *conf = tr.confidence;
    return 0;
}

/* Read exactly as a zone is laid out: no character needed a position repair or a filler added
 * or removed, and no syntax problem but an issuer or nationality outside the known codes
 * (specimens use invented ones). */
static int well_formed(const bn_mrz_t *m)
{
    return m->repairs == 0 && !(m->problems & ~(unsigned)(BN_MRZ_BAD_ISSUER | BN_MRZ_BAD_NATIONALITY));
}

/* Syntax problems of a parse (the bits of m->problems). */
static int problem_count(const bn_mrz_t *m)
{
    int bits = 0;
    for (unsigned p = m->problems; p; p &= p - 1)
        bits++;
    return bits;
}

static int checks_passing(const bn_mrz_t *m)
{
    int ok = 0;
    for (int i = 0; i < m->nchecks; i++)
        ok += m->checks[i].ok;
    return ok;
}

/* Check digits weigh most; a well-formed read gets a bonus so that on a document whose check
 * digits are wrong (misprint, forgery) the zone as printed is not outscored by a misaligned
 * reading that passes one more check by chance with repairs and a syntax problem. */
static double score_parse(const bn_mrz_t *m)
{
    return 10.0 + 3.0 * checks_passing(m) - 1.0 * problem_count(m) - 0.3 * m->repairs + (m->checks_ok ? 5 : 0)
         + (well_formed(m) ? 2 : 0);
}

/* Could this parse be an MRZ? Two passing check digits, and when not all pass, fewer than three
 * independent syntax problems: junk text read from a page's other lines, digits repaired by
 * position, passes two check digits by chance often enough over many bands and readings, but
 * not with a valid issuer, nationality, sex and dates as well.
 * Or a well-formed zone with one passing check digit: a misprinted or forged document whose
 * check digits fail must be reported (and flagged), not dropped as if it had no MRZ. Junk
 * lines are not read at exact length with digits, letters and fillers in all the right places,
 * real dates and a valid sex without a single repair. */
static int plausible(const bn_mrz_t *m)
{
    if (checks_passing(m) >= 2 && (m->checks_ok || problem_count(m) < 3))
        return 1;
    return checks_passing(m) >= 1 && well_formed(m);
}

/* Map a point of the work image back to the input image (undo deskew, scale, orth rotation). */
static void map_back(double x, double y, int Wr, int Hr, double skew_deg, double scale, int quads,
                     int W0, int H0, double *ox, double *oy)
{
    double cx = Wr / 2.0, cy = Hr / 2.0, a = skew_deg * M_PI / 180.0;
    /* pixRotate turned the image by +a (clockwise in image coordinates); undo it */
    double dx = x - cx, dy = y - cy;
    double rx = cx + dx * cos(a) - dy * sin(a), ry = cy + dx * sin(a) + dy * cos(a);
    rx /= scale;
    ry /= scale;
    /* undo pixRotateOrth(quads clockwise) on a W0 x H0 image */
    switch (quads & 3) {
    case 1: *ox = ry; *oy = H0 - 1 - rx; break;
    case 2: *ox = W0 - 1 - rx; *oy = H0 - 1 - ry; break;
    case 3: *ox = W0 - 1 - ry; *oy = rx; break;
    default: *ox = rx; *oy = ry; break;
    }
}

/* Locate and read in one orthogonal orientation; updates *best. Returns 1 when a read with
 * every check digit valid was found (no need to try other orientations). */
static int try_orientation(PIX *g0, int quads, double lenient, const char *today, int expect_lines, cand_t *best)
{
    int W0 = pixGetWidth(g0), H0 = pixGetHeight(g0);
    PIX *rot = quads ? pixRotateOrth(g0, quads) : pixClone(g0);
    if (!rot)
        return 0;
    /* Normalise the width: small scans are upscaled (thin strokes survive the morphology),
     * large photos downscaled (kernels stay meaningful, time stays bounded). */
    int W = pixGetWidth(rot);
    double scale = W < 1000 ? 1000.0 / W : (W > 1800 ? 1800.0 / W : 1.0);
    PIX *work = scale != 1.0 ? pixScaleGrayLI(rot, (float)scale, (float)scale) : pixClone(rot);
    pixDestroy(&rot);
    if (!work)
        return 0;
    rect_t bands[MAX_BANDS];
    float skew = 0;
    int nb = find_bands(work, lenient, bands, MAX_BANDS, &skew);
    double skew_used = 0;
    if (fabsf(skew) > 0.4f) {
        PIX *d = pixRotate(work, (float)(skew * M_PI / 180.0), L_ROTATE_AREA_MAP, L_BRING_IN_WHITE, 0, 0);
        if (d) {
            pixDestroy(&work);
            work = d;
            skew_used = skew;
            nb = find_bands(work, lenient, bands, MAX_BANDS, NULL);
        }
    }
    if (getenv("BEIAN_OCR_DEBUG"))
        for (int i = 0; i < nb; i++)
            fprintf(stderr, "mrzread q=%d band %d: %d,%d %dx%d (W %d)\n", quads, i, bands[i].x, bands[i].y, bands[i].w, bands[i].h, pixGetWidth(work));
    int done = 0;
    group_t groups[MAX_GROUPS];
    int ng = group_bands(bands, nb, pixGetWidth(work), pixGetHeight(work), groups, MAX_GROUPS);
    for (int gi = 0; gi < ng && !done; gi++) {
        group_t *gr = &groups[gi];
        if (expect_lines > 0 && gr->n < expect_lines && gi + 1 < ng && groups[gi + 1].n >= expect_lines)
            continue;
        cand_t c;
        memset(&c, 0, sizeof c);
        /* The lines of one MRZ start and end at the same x: each is read over the group's common
         * extent, so a character merged into something beside the zone (a vertical "SPECIMEN"
         * over a card's first column) and left out of its band is still read. */
        rect_t line[3];
        int gx0 = bands[gr->idx[0]].x, gx1 = gx0 + bands[gr->idx[0]].w;
        for (int k = 1; k < gr->n; k++) {
            gx0 = bands[gr->idx[k]].x < gx0 ? bands[gr->idx[k]].x : gx0;
            gx1 = bands[gr->idx[k]].x + bands[gr->idx[k]].w > gx1 ? bands[gr->idx[k]].x + bands[gr->idx[k]].w : gx1;
        }
        for (int k = 0; k < gr->n; k++)
            line[k] = (rect_t){gx0, bands[gr->idx[k]].y, gx1 - gx0, bands[gr->idx[k]].h};
        /* Readings per line: the MRZ model at three scales, Debian's eng (whitelisted) and their
         * consensus; the best combination per line wins (check digits and syntax decide, OCR
         * confidence only breaks ties). */
        char alt[NVARIANTS][3][64];
        double aconf[NVARIANTS][3];
        int nvar = 0;
        memset(alt, 0, sizeof alt);
        memset(aconf, 0, sizeof aconf);
        int best_sel[3] = {-1, -1, -1}; /* the reading chosen per line */
        double best_score = -1e9;
        bn_mrz_t best_m;
        for (int v = 0; v < NVARIANTS; v++) {
            const char *lang = s_variants[v].lang;
            if (lang && !bn_tess_available(lang))
                continue;
            if (!lang && nvar < 3)
                break; /* nothing to vote over */
            for (int k = 0; k < gr->n; k++) {
                if (lang) {
                    read_line(work, &line[k], lang, s_variants[v].height, s_variants[v].norm, alt[v][k], sizeof alt[v][k], &aconf[v][k]);
                } else {
                    /* as confident as its most confident voter (eng reports 0 in raw-line
                     * mode: a mean would make the consensus lose to any single reading) */
                    vote_line(alt, nvar, k, alt[v][k], sizeof alt[v][k]);
                    aconf[v][k] = 0;
                    for (int a = 0; a < nvar; a++)
                        aconf[v][k] = fmax(aconf[v][k], aconf[a][k]);
                }
            }
            nvar = v + 1;
            /* every combination of variants per line, among those read so far */
            int ncomb = 1;
            for (int k = 0; k < gr->n; k++)
                ncomb *= nvar;
            for (int cmb = 0; cmb < ncomb; cmb++) {
                char joined[3 * 64 + 4] = "";
                int x = cmb, uses_new = 0;
                for (int k = 0; k < gr->n; k++) {
                    int vv = x % nvar;
                    x /= nvar;
                    uses_new |= vv == v;
                    strcat(joined, alt[vv][k]);
                    strcat(joined, "\n");
                }
                if (!uses_new)
                    continue; /* already scored */
                bn_mrz_t m;
                if (bn_mrz_parse(joined, today, &m) != 0 || !plausible(&m))
                    continue;
                /* ties between equally valid readings: the more confident OCR wins */
                double sc = score_parse(&m);
                for (int k = 0, y = cmb; k < gr->n; k++, y /= nvar) {
                    sc += 0.5 * aconf[y % nvar][k];
                    /* prefer the MRZ model and the vote: eng reads '<' as K in filler runs,
                     * which no check digit covers in name lines */
                    if (y % nvar != 1) /* 1 = eng */
                        sc += 0.5;
                    /* and between equally valid, equally confident readings, the consensus:
                     * names carry no check digit, several readings outvote one misread */
                    if (!s_variants[y % nvar].lang)
                        sc += 0.1;
                    else if (y % nvar == 1)
                        for (const char *q = alt[1][k]; *q && q[1]; q++)
                            if ((q[0] == 'K' || q[0] == '<') && (q[1] == 'K' || q[1] == '<') && (q[0] == 'K' || q[1] == 'K'))
                                sc -= 0.5;
                }
                if (sc > best_score) {
                    best_score = sc, best_m = m;
                    for (int k = 0, y = cmb; k < gr->n; k++, y /= nvar)
                        best_sel[k] = y % nvar;
                }
            }
            /* No early stop on a valid parse: names carry no check digit, and the vote over all
             * readings fixes dropped or misread name letters (measured: 19 → 20 of 31 real
             * specimens for +25 % time). */
        }
        if (best_sel[0] < 0)
            continue; /* no layout fits, or a random text band that happens to fit one */
        c.r.mrz = best_m;
        c.r.nraw = gr->n;
        double csum = 0;
        for (int k = 0; k < gr->n; k++) {
            snprintf(c.r.raw[k], sizeof c.r.raw[k], "%s", alt[best_sel[k]][k]);
            csum += aconf[best_sel[k]][k];
        }
        c.r.confidence = csum / gr->n;
        c.score = score_parse(&c.r.mrz) + c.r.confidence;
        c.r.found = 1;
        c.r.rotation = quads * 90;
        /* zone box in the input image */
        int x0 = bands[gr->idx[0]].x, y0 = bands[gr->idx[0]].y, x1 = x0, y1 = y0;
        for (int k = 0; k < gr->n; k++) {
            rect_t *r = &bands[gr->idx[k]];
            if (r->x < x0) x0 = r->x;
            if (r->y < y0) y0 = r->y;
            if (r->x + r->w > x1) x1 = r->x + r->w;
            if (r->y + r->h > y1) y1 = r->y + r->h;
        }
        double px[4], py[4];
        map_back(x0, y0, pixGetWidth(work), pixGetHeight(work), skew_used, scale, quads, W0, H0, &px[0], &py[0]);
        map_back(x1, y0, pixGetWidth(work), pixGetHeight(work), skew_used, scale, quads, W0, H0, &px[1], &py[1]);
        map_back(x1, y1, pixGetWidth(work), pixGetHeight(work), skew_used, scale, quads, W0, H0, &px[2], &py[2]);
        map_back(x0, y1, pixGetWidth(work), pixGetHeight(work), skew_used, scale, quads, W0, H0, &px[3], &py[3]);
        double mnx = px[0], mny = py[0], mxx = px[0], mxy = py[0];
        for (int k = 1; k < 4; k++) {
            mnx = fmin(mnx, px[k]); mny = fmin(mny, py[k]);
            mxx = fmax(mxx, px[k]); mxy = fmax(mxy, py[k]);
        }
        c.r.box[0] = (int)fmax(0, mnx);
        c.r.box[1] = (int)fmax(0, mny);
        c.r.box[2] = (int)fmin(W0, mxx) - c.r.box[0];
        c.r.box[3] = (int)fmin(H0, mxy) - c.r.box[1];
        if (c.score > best->score)
            *best = c;
        if (c.r.mrz.checks_ok && c.r.mrz.problems == 0)
            done = 1;
    }
    pixDestroy(&work);
    return done;
}

int bn_mrz_read_image(const bn_image_t *img, const char *today, int expect_lines, bn_mrzread_t *out)
{
    memset(out, 0, sizeof out[0]);
    if (!img || !img->data || img->width < 16 || img->height < 16)
        return 0;
    if (!bn_tess_available("mrz") && !bn_tess_available("eng"))
        return bn_error_set("ocr_engine_unavailable", "neither the mrz nor the eng model was found");
    PIX *g = bn_pix_grey(img);
    if (!g)
        return bn_error_set("out_of_memory", "grey conversion failed");
    cand_t best;
    memset(&best, 0, sizeof best);
    /* Upright and upside-down first (the usual cases), then the two sideways ones; in each, the
     * Otsu text mask first, then a lenient one for faint print (only when the first gave no
     * fully valid read: a second locate and read costs about as much as the first). */
    static const int order[4] = {0, 2, 1, 3};
    const double lenient[2] = {0, MRZ_LENIENT};
    for (int i = 0, done = 0; i < 4 && !done; i++)
        for (int p = 0; p < 2 && !done; p++)
            done = try_orientation(g, order[i], lenient[p], today, expect_lines, &best);
    pixDestroy(&g);
    if (best.r.found)
        *out = best.r;
    return 0;
}
