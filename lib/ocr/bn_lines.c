/* bn_lines — detect, orient, recognise: see bn_lines.h.
 *
 * Why detect first: real uploads are tight crops, tilted cards on busy tables, licences in
 * frames, pages turned by 90 degrees. Reading known zones of a rectified template fails as soon
 * as the edges are not found; the DB detector finds the printed lines wherever they are. */
#include "ocr/bn_lines.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bn_error.h"
#include "img/bn_metrics.h"

#define MAX_BOXES 400

static double dist(const float *a, const float *b)
{
    return hypot(a[0] - b[0], a[1] - b[1]);
}

/* long side and short side of a detected quad, and whether it stands upright */
static void quad_sides(const float *q, double *len, double *thick, int *tall)
{
    double wd = fmax(dist(q, q + 2), dist(q + 4, q + 6));
    double ht = fmax(dist(q, q + 6), dist(q + 2, q + 4));
    *tall = ht > wd;
    *len = fmax(wd, ht);
    *thick = fmin(wd, ht);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The slant of the page's text: the median angle (degrees, clockwise positive) of the lines
 * long enough to have one; 0 below 1 degree. */
static double skew_of(const bn_textbox_t *b, int n)
{
    double ang[MAX_BOXES];
    int na = 0;
    for (int i = 0; i < n && i < MAX_BOXES; i++) {
        double len, thick;
        int t;
        quad_sides(b[i].pts, &len, &thick, &t);
        if (t || len < 2.5 * thick)
            continue;
        const float *q = b[i].pts; /* the long top edge: TL -> TR */
        ang[na++] = atan2(q[3] - q[1], q[2] - q[0]) * 180 / M_PI;
    }
    if (!na)
        return 0;
    qsort(ang, (size_t)na, sizeof *ang, cmp_double);
    double m = ang[na / 2];
    return fabs(m) < 1 ? 0 : m;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

int bn_lines_read(bn_textdet_t *det, bn_ppocr_t *pp, const bn_image_t *img, const bn_lines_opts_t *opts, bn_lines_t *out,
                  bn_image_t **upright)
{
    memset(out, 0, sizeof *out);
    if (upright)
        *upright = NULL;
    if (!img || !img->data)
        return bn_error_set("invalid_argument", "bn_lines_read: no image");
    if (!det || !pp)
        return bn_error_set("ocr_models_missing", "the text detector or recogniser is not installed; run scripts/fetch-models.sh");
    int side = opts && opts->det_side > 0 ? opts->det_side : 960;
    int maxl = opts && opts->max_lines > 0 ? opts->max_lines : 200;
    bn_textbox_t *b = malloc(MAX_BOXES * sizeof *b);
    bn_image_t *turned = NULL;
    const bn_image_t *page = img;
    if (!b)
        return bn_error_set("out_of_memory", "bn_lines_read");
    int n;
    if (opts && opts->boxes) {
        n = opts->nboxes < MAX_BOXES ? opts->nboxes : MAX_BOXES;
        memcpy(b, opts->boxes, (size_t)n * sizeof *b);
    } else {
        n = bn_textdet_run(det, img->data, img->width, img->height, img->width * img->bands, img->bands, side, 0.6, b,
                           MAX_BOXES);
        if (n < 0)
            goto fail;
    }
    int rot = opts && opts->rotation_given ? opts->rotation
                                           : bn_textdet_orientation(det, img->data, img->width, img->height,
                                                                    img->width * img->bands, img->bands, b,
                                                                    n < MAX_BOXES ? n : MAX_BOXES);
    if (rot < 0)
        goto fail;
    if (rot) {
        /* turn the page and detect again: the detector finds lines far better upright, and
         * every later pass (fields by geometry) wants the upright page */
        turned = bn_image_rotate90(img, rot);
        if (!turned) {
            bn_error_set("out_of_memory", "bn_lines_read: rotate");
            goto fail;
        }
        page = turned;
        n = bn_textdet_run(det, page->data, page->width, page->height, page->width * page->bands, page->bands, side,
                            0.6, b, MAX_BOXES);
        if (n < 0)
            goto fail;
    }
    if (n > MAX_BOXES)
        n = MAX_BOXES;
    if (n > maxl)
        n = maxl;
    out->v = calloc((size_t)(n ? n : 1), sizeof *out->v);
    float *hs = malloc((size_t)(n ? n : 1) * sizeof *hs);
    if (!out->v || !hs) {
        free(hs);
        bn_error_set("out_of_memory", "bn_lines_read");
        goto fail;
    }
    out->rotation = rot;
    out->width = page->width, out->height = page->height;
    out->skew = skew_of(b, n);
    double a = -out->skew * M_PI / 180, ca = cos(a), sa = sin(a), cx = page->width / 2.0, cy = page->height / 2.0;
    for (int i = 0; i < n; i++) {
        bn_line_t *l = &out->v[out->n];
        memcpy(l->q, b[i].pts, sizeof l->q);
        float x0 = 1e9f, x1 = -1e9f, y0 = 1e9f, y1 = -1e9f;
        for (int k = 0; k < 4; k++) { /* the corners turned by -skew about the page's centre */
            double dx = l->q[2 * k] - cx, dy = l->q[2 * k + 1] - cy;
            float px = (float)(cx + dx * ca - dy * sa), py = (float)(cy + dx * sa + dy * ca);
            x0 = fminf(x0, px), x1 = fmaxf(x1, px), y0 = fminf(y0, py), y1 = fmaxf(y1, py);
        }
        l->x = x0, l->y = y0, l->w = x1 - x0, l->h = y1 - y0;
        l->score = b[i].score;
        if (bn_ppocr_read_quad(pp, page->data, page->width, page->height, page->width * page->bands, page->bands,
                               l->q, l->text, sizeof l->text, &l->conf) < 0) {
            free(hs);
            goto fail;
        }
        if (!l->text[0])
            continue;
        double len, thick;
        int t;
        quad_sides(l->q, &len, &thick, &t);
        hs[out->n] = (float)thick;
        out->n++;
    }
    if (out->n) {
        qsort(hs, (size_t)out->n, sizeof *hs, cmp_float);
        out->line_h = hs[out->n / 2];
    }
    free(hs);
    free(b);
    if (upright)
        *upright = turned;
    else
        bn_image_destroy(&turned);
    return 0;
fail:
    free(b);
    bn_image_destroy(&turned);
    bn_lines_clear(out);
    return -1;
}

void bn_lines_clear(bn_lines_t *self)
{
    if (!self)
        return;
    if (self->v) /* recognised text is personal data */
        memset(self->v, 0, (size_t)self->n * sizeof *self->v);
    free(self->v);
    memset(self, 0, sizeof *self);
}

int bn_lines_add(bn_lines_t *L, const char *text, double conf, float x, float y, float w, float h,
                 int (*keep)(const char *text))
{
    for (int i = 0; i < L->n; i++) {
        bn_line_t *o = &L->v[i];
        float ix = fminf(o->x + o->w, x + w) - fmaxf(o->x, x), iy = fminf(o->y + o->h, y + h) - fmaxf(o->y, y);
        if (ix > 0 && iy > 0 && ix * iy > 0.5f * fminf(o->w * o->h, w * h) && !(keep && keep(o->text)))
            memset(o->text, 0, sizeof o->text);
    }
    bn_line_t *v = realloc(L->v, (size_t)(L->n + 1) * sizeof *v);
    if (!v)
        return bn_error_set("out_of_memory", "bn_lines_add");
    L->v = v;
    bn_line_t *l = &L->v[L->n++];
    memset(l, 0, sizeof *l);
    l->x = x, l->y = y, l->w = w, l->h = h;
    float q[8] = {x, y, x + w, y, x + w, y + h, x, y + h};
    memcpy(l->q, q, sizeof q);
    l->score = 1;
    l->conf = conf;
    snprintf(l->text, sizeof l->text, "%s", text);
    return 0;
}
