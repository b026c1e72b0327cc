/* bn_datefix — the issue date's digits read between 年 月 日: see bn_datefix.h. */
#include "ocr/bn_datefix.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bn_error.h"
#include "img/bn_textdet.h"
#include "core/bn_normalize.h"

enum { YEAR, MONTH, DAY };

/* index of 年 / 月 / 日 when the line is that one character (a recognised "年" may carry a
 * stray mark: "年." is taken too), else -1 */
static int which_char(const char *t)
{
    static const char *c[] = {"年", "月", "日"};
    for (int k = 0; k < 3; k++)
        if (!strncmp(t, c[k], 3) && (!t[3] || !t[4]))
            return k;
    return -1;
}

/* The band's pixels as grey, red suppressed: the red channel of a colour page (a red seal is
 * nearly as light as the paper there, black print stays dark). Caller frees. */
static uint8_t *grey_band(const bn_image_t *pg, int x0, int y0, int w, int h)
{
    uint8_t *g = malloc((size_t)w * h);
    if (!g)
        return NULL;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            g[(size_t)y * w + x] = pg->data[((size_t)(y0 + y) * pg->width + x0 + x) * pg->bands];
    return g;
}

/* The recogniser's reading of a digit group, digits only: letters it takes digits of a serif
 * face for (9 as g, 1 as l or I, 0 as O) are mapped back. */
static int digits_of(const char *t, char *out, int cap)
{
    static const char from[] = "gqOoDlIi|SsZzB", to[] = "9900011115522" "8";
    int n = 0;
    for (const char *p = t; *p && n < cap - 1; p++) {
        const char *k = strchr(from, *p);
        if (*p >= '0' && *p <= '9')
            out[n++] = *p;
        else if (k && *p)
            out[n++] = to[k - from];
    }
    out[n] = 0;
    return n;
}

/* a lone 年, 月 or 日 found by the detector stays: it is an anchor, not the digits */
static int is_anchor(const char *t)
{
    return which_char(t) >= 0;
}

/* Add the date y-m-d as one line "Y年M月D日" at the page box, when it can be a licence's issue
 * date: 1 added, 0 not a date, -1 with bn_error. */
static int add_date(bn_lines_t *L, int y, int m, int d, double conf, float x, float yy, float w, float h)
{
    if (y < 1950 || y > 2100 || m < 1 || m > 12 || d < 1 || d > 31)
        return 0;
    char t[32];
    snprintf(t, sizeof t, "%d年%d月%d日", y, m, d);
    return bn_lines_add(L, t, conf, x, yy, w, h, is_anchor) < 0 ? -1 : 1;
}

/* The digit groups of the band g (w x h; the 年 月 日 already painted out; ends: the middles of
 * 年 月 日 in the band, ch: their height).
 * The digits are printed as one row, however misregistered: the rows are those of the run of
 * inked rows with the most ink (a seal's remains are scattered, the digits' rows are inked side
 * by side); in them, columns holding ink are grouped where the gaps are narrower than half a
 * character, each group is read, and its digits go to the year, month or day (slot) by where
 * it lies. Returns the groups read or -1. */
static int read_groups(bn_ppocr_t *pp, uint8_t *g, int w, int h, double ch, const double *ends, int thr,
                       char slot[3][8], int box[4], double *cmin)
{
    int best0 = -1, best1 = -1, run0 = -1, bestsum = 0, sum = 0, minrow = (int)fmax(2, 0.15 * ch);
    for (int y = 0; y <= h; y++) {
        int ink = 0;
        for (int x = 0; y < h && x < w; x++)
            ink += g[(size_t)y * w + x] < thr;
        if (ink >= minrow) {
            if (run0 < 0)
                run0 = y, sum = 0;
            sum += ink;
        } else if (run0 >= 0) {
            if (sum > bestsum && y - run0 <= 1.6 * ch)
                bestsum = sum, best0 = run0, best1 = y;
            run0 = -1;
        }
    }
    int rh = best1 - best0;
    if (best0 < 0 || rh < 0.35 * ch)
        return 0;
    int m = (int)(0.25 * rh) + 1;
    int cy0 = best0 - m < 0 ? 0 : best0 - m, cy1 = best1 + m > h ? h : best1 + m;
    int added = 0, gapmax = (int)(0.5 * ch), minw = (int)(0.2 * ch);
    for (int x = 0; x < w;) {
        int col = 0;
        for (int y = best0; y < best1; y++)
            col += g[(size_t)y * w + x] < thr;
        if (col < 2) {
            x++;
            continue;
        }
        int gx0 = x, gx1 = x, gap = 0; /* the group: columns until a gap of gapmax */
        for (x++; x < w && gap <= gapmax; x++) {
            int c = 0;
            for (int y = best0; y < best1; y++)
                c += g[(size_t)y * w + x] < thr;
            c >= 2 ? (gx1 = x, gap = 0) : gap++;
        }
        if (gx1 - gx0 + 1 < minw)
            continue;
        int cx0 = gx0 - m < 0 ? 0 : gx0 - m, cx1 = gx1 + 1 + m > w ? w : gx1 + 1 + m;
        if (cx1 - cx0 < 4 || cy1 - cy0 < 4)
            continue;
        char txt[64], digits[16];
        double conf = 0;
        if (bn_ppocr_read(pp, g + (size_t)cy0 * w + cx0, cx1 - cx0, cy1 - cy0, w, 1, txt, sizeof txt, &conf) < 0)
            return -1;
        /* 一 in Chinese numerals is one stroke, which the recogniser may read as a dash */
        if (strstr(txt, "二") || strstr(txt, "〇") || strstr(txt, "十") || strstr(txt, "O"))
            for (char *p = txt; *p; p++)
                if (*p == '-')
                    *p = '|'; /* digits_of maps it to 1 */
        char norm[128];
        bn_norm(txt, BN_NORM_ADDRESS, norm, sizeof norm); /* 二〇一五 六 二十九: the digits */
        int nd = digits_of(norm, digits, 6);
        memset(norm, 0, sizeof norm);
        memset(txt, 0, sizeof txt);
        if (nd < 1 || nd > 4 || conf < 0.5)
            continue;
        /* whose digits: the year's left of 年's middle, the month's left of 月's, the day's
         * left of 日's (misregistered digits may lie over the characters) */
        double mid = (gx0 + gx1) / 2.0;
        int k = mid < ends[0] ? 0 : mid < ends[1] ? 1 : mid < ends[2] ? 2 : -1;
        if (k < 0 || strlen(slot[k]) + (size_t)nd >= sizeof slot[k])
            continue;
        strcat(slot[k], digits);
        *cmin = conf < *cmin ? conf : *cmin;
        box[0] = cx0 < box[0] ? cx0 : box[0], box[2] = cx1 > box[2] ? cx1 : box[2];
        box[1] = cy0, box[3] = cy1;
        added++;
    }
    return added;
}

int bn_datefix_run(bn_ppocr_t *pp, const bn_image_t *page, bn_lines_t *L)
{
    if (!pp || !page || !page->data || !L || (page->bands != 1 && page->bands != 3))
        return bn_error_set("invalid_argument", "bn_datefix_run: bad arguments");
    /* where the date is: under the last 登记机关, else the lower right of the page */
    float ax0 = 0.45f * (float)L->width, ay0 = 0.6f * (float)L->height, ay1 = (float)L->height;
    for (int i = 0; i < L->n; i++)
        if (strstr(L->v[i].text, "登记机关")) {
            const bn_line_t *a = &L->v[i];
            ax0 = a->x - 2 * a->h, ay0 = a->y - 0.5f * a->h, ay1 = a->y + 7 * a->h;
        }
    /* the lone 年 月 日 there, lowest row first: the last of each kind found going down */
    const bn_line_t *c[3] = {NULL, NULL, NULL};
    for (int i = 0; i < L->n; i++) {
        const bn_line_t *l = &L->v[i];
        int k = which_char(l->text);
        if (k < 0 || l->x < ax0 || l->y < ay0 || l->y > ay1)
            continue;
        c[k] = l;
    }
    if (!c[YEAR] || (!c[MONTH] && !c[DAY]))
        return 0;
    double ch = c[YEAR]->h, row = c[YEAR]->y + c[YEAR]->h / 2;
    if (ch < 8)
        return 0; /* digits a few pixels high: nothing to read */
    for (int k = MONTH; k <= DAY; k++) /* all on the year's row */
        if (c[k] && (fabs(c[k]->y + c[k]->h / 2 - row) > 0.6 * ch || c[k]->x <= c[YEAR]->x))
            c[k] = NULL;
    if (!c[MONTH] && !c[DAY])
        return 0;
    /* the characters' left edges; a missing 月 half-way, a missing 日 one step on */
    double xy = c[YEAR]->x, xm, xd;
    if (c[MONTH] && c[DAY])
        xm = c[MONTH]->x, xd = c[DAY]->x;
    else if (c[DAY])
        xd = c[DAY]->x, xm = (xy + xd) / 2;
    else
        xm = c[MONTH]->x, xd = xm + (xm - xy);
    if (xm - xy < 1.5 * ch || xd - xm < 1.5 * ch) /* 年 月 日 printed for digits between them */
        return 0;
    /* the band: from the year's digits to 日, a character height above and below the row */
    int bx0 = (int)fmax(0, xy - 3.6 * ch), bx1 = (int)fmin(page->width, xd + 1.2 * ch);
    int by0 = (int)fmax(0, row - 1.7 * ch), by1 = (int)fmin(page->height, row + 1.7 * ch);
    int w = bx1 - bx0, h = by1 - by0;
    if (w < 8 || h < 8)
        return 0;
    uint8_t *g = grey_band(page, bx0, by0, w, h);
    if (!g)
        return bn_error_set("out_of_memory", "bn_datefix");
    /* paint out the characters (月 where it would be when it was not found) */
    const bn_line_t *y = c[YEAR];
    double px[3] = {xy, xm, xd};
    for (int k = 0; k < 3; k++) {
        const bn_line_t *a = c[k] ? c[k] : y;
        int ax = (int)px[k] - bx0, ay = (int)a->y - by0;
        for (int yy = ay < 0 ? 0 : ay; yy < h && yy < ay + (int)a->h; yy++)
            for (int xx = ax < 0 ? 0 : ax; xx < w && xx < ax + (int)a->w; xx++)
                g[(size_t)yy * w + xx] = 255;
    }
    /* ink: darker than the paper by 40 % of the band's contrast (a seal's remains in the red
     * channel are lighter than that) */
    int hist[256] = {0}, n = w * h, acc = 0, p1 = -1, p60 = 0;
    for (int i = 0; i < n; i++)
        hist[g[i]]++;
    for (int v = 0; v < 256; v++) {
        acc += hist[v];
        if (p1 < 0 && acc >= n / 100)
            p1 = v;
        if (acc >= n * 60 / 100) {
            p60 = v;
            break;
        }
    }
    double ends[3] = {xy + 0.5 * ch - bx0, xm + 0.5 * ch - bx0, xd + 0.5 * ch - bx0};
    char slot[3][8] = {"", "", ""};
    int box[4] = {w, 0, 0, 0};
    double conf = 1;
    int r = p60 - p1 < 60 ? 0 : read_groups(pp, g, w, h, ch, ends, p1 + (p60 - p1) * 2 / 5, slot, box, &conf);
    memset(g, 0, (size_t)n); /* a crop of a document is personal data */
    free(g);
    if (r <= 0)
        return r;
    /* one line with the whole date, or nothing: pieces would join across the row with the
     * wrong neighbours */
    int yv = atoi(slot[0]), mv = atoi(slot[1]), dv = atoi(slot[2]);
    size_t ly = strlen(slot[0]);
    memset(slot, 0, sizeof slot);
    if (ly != 4)
        return 0;
    return add_date(L, yv, mv, dv, conf, (float)(bx0 + box[0]), (float)(by0 + box[1]), (float)(box[2] - box[0]),
                    (float)(box[3] - box[1]));
}

/* ---- the date's row found again, seal suppressed ------------------------------------------ */

typedef struct {
    double x;    /* middle of the group, crop pixels */
    char d[16];  /* its digits */
} group_t;

static int cmp_group(const void *a, const void *b)
{
    double x = ((const group_t *)a)->x, y = ((const group_t *)b)->x;
    return x < y ? -1 : x > y;
}

int bn_datefix_redetect(bn_textdet_t *det, bn_ppocr_t *pp, const bn_image_t *page, bn_lines_t *L)
{
    if (!det || !pp || !page || !page->data || !L || (page->bands != 1 && page->bands != 3))
        return bn_error_set("invalid_argument", "bn_datefix_redetect: bad arguments");
    const bn_line_t *a = NULL;
    for (int i = 0; i < L->n; i++)
        if (strstr(L->v[i].text, "登记机关"))
            a = &L->v[i];
    if (!a || a->h < 8)
        return 0;
    /* the date is printed under the label and to its right, in the seal (real licences: from
     * the label's start to ~9 of its heights right of it, 1-3 heights below) */
    double h = a->h;
    int x0 = (int)fmax(0, a->x - 0.5 * h), x1 = (int)fmin(page->width, a->x + 14 * h);
    int y0 = (int)fmax(0, a->y + 0.6 * h), y1 = (int)fmin(page->height, a->y + 5 * h);
    int w = x1 - x0, ht = y1 - y0;
    if (w < 16 || ht < 16)
        return 0;
    uint8_t *g = grey_band(page, x0, y0, w, ht);
    bn_textbox_t *b = malloc(64 * sizeof *b);
    if (!g || !b) {
        free(g), free(b);
        return bn_error_set("out_of_memory", "bn_datefix");
    }
    int rc = 0, n = bn_textdet_run(det, g, w, ht, w, 1, 480, 0.5, b, 64);
    if (n < 0) {
        rc = -1;
        goto done;
    }
    group_t grp[32];
    int ng = 0;
    double cmin = 1;
    float bx0 = (float)w, by0 = (float)ht, bx1 = 0, by1 = 0;
    for (int i = 0; i < n && i < 64; i++) {
        char txt[64], norm[128], dg[16];
        double conf = 0;
        if (bn_ppocr_read_quad(pp, g, w, ht, w, 1, b[i].pts, txt, sizeof txt, &conf) < 0) {
            rc = -1;
            goto done;
        }
        bn_norm(txt, BN_NORM_ADDRESS, norm, sizeof norm); /* 二〇一九: digits */
        /* each run of digits in the box is a group, placed along the box by its position */
        const char *p = norm;
        size_t len = strlen(norm);
        float bl = fminf(b[i].pts[0], b[i].pts[6]), br = fmaxf(b[i].pts[2], b[i].pts[4]);
        while (*p && ng < 32) {
            p += strcspn(p, "0123456789");
            size_t k = strspn(p, "0123456789");
            if (!k)
                break;
            if (k < sizeof dg && conf >= 0.5) {
                group_t *G = &grp[ng++];
                snprintf(G->d, sizeof G->d, "%.*s", (int)k, p);
                G->x = bl + (br - bl) * ((p - norm) + k / 2.0) / (len ? len : 1);
                cmin = fmin(cmin, conf);
                for (int c = 0; c < 4; c++) {
                    bx0 = fminf(bx0, b[i].pts[2 * c]), bx1 = fmaxf(bx1, b[i].pts[2 * c]);
                    by0 = fminf(by0, b[i].pts[2 * c + 1]), by1 = fmaxf(by1, b[i].pts[2 * c + 1]);
                }
            }
            p += k;
        }
        memset(txt, 0, sizeof txt), memset(norm, 0, sizeof norm);
    }
    qsort(grp, (size_t)ng, sizeof *grp, cmp_group);
    /* left to right: a year of 19xx/20xx, then a month, then a day (the groups of one box
     * "20190710" are split as a date is) */
    for (int i = 0; i < ng && rc == 0; i++) {
        char all[48] = "";
        for (int j = i; j < ng && strlen(all) + strlen(grp[j].d) < sizeof all; j++) {
            strcat(all, grp[j].d);
            if (strlen(all) >= 8)
                break;
        }
        int yv = 0, mv = 0, dv = 0;
        size_t la = strlen(all), ly = strlen(grp[i].d);
        if (strncmp(all, "19", 2) && strncmp(all, "20", 2))
            continue;
        if (ly == 4 && i + 2 < ng && strlen(grp[i + 1].d) <= 2 && strlen(grp[i + 2].d) <= 2) {
            yv = atoi(grp[i].d), mv = atoi(grp[i + 1].d), dv = atoi(grp[i + 2].d);
        } else if (la == 8) {
            char t[8];
            snprintf(t, sizeof t, "%.4s", all), yv = atoi(t);
            snprintf(t, sizeof t, "%.2s", all + 4), mv = atoi(t);
            snprintf(t, sizeof t, "%.2s", all + 6), dv = atoi(t);
        }
        rc = add_date(L, yv, mv, dv, cmin, x0 + bx0, y0 + by0, bx1 - bx0, by1 - by0);
        memset(all, 0, sizeof all);
    }
    memset(grp, 0, sizeof grp);
done:
    memset(g, 0, (size_t)w * ht); /* a crop of a document is personal data */
    free(g);
    free(b);
    return rc;
}
