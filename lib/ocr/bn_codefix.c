/* bn_codefix — see bn_codefix.h. */
#include "ocr/bn_codefix.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bn_error.h"
#include "core/bn_validate.h"

#define MAX_BOX 32

typedef struct {
    char t[BN_LINE_TEXT_MAX];
    double conf;
    float x0, y0, x1, y1; /* in the band */
} read_t;

static int cmp_x(const void *a, const void *b)
{
    const read_t *p = a, *q = b;
    return p->x0 < q->x0 ? -1 : p->x0 > q->x0;
}

int bn_codefix_redetect(bn_textdet_t *det, bn_ppocr_t *pp, const bn_image_t *page, bn_lines_t *L)
{
    if (!det || !pp || !page || !page->data || !L || (page->bands != 1 && page->bands != 3))
        return bn_error_set("invalid_argument", "bn_codefix_redetect: bad arguments");
    const bn_line_t *a = NULL;
    for (int i = 0; i < L->n && !a; i++)
        if (strstr(L->v[i].text, "信用代码"))
            a = &L->v[i];
    if (!a || a->h < 4)
        return 0;
    /* real licences: the code under the label, up to ~3 label heights down and as wide as two
     * labels (a smaller face, spaced out), or after it on its row */
    double h = a->h;
    int x0 = (int)fmax(0, a->x - 0.5 * a->w), x1 = (int)fmin(page->width, a->x + 2.5 * a->w);
    int y0 = (int)fmax(0, a->y - 0.3 * h), y1 = (int)fmin(page->height, a->y + 4 * h);
    int w = x1 - x0, ht = y1 - y0;
    if (w < 16 || ht < 16)
        return 0;
    size_t stride = (size_t)page->width * page->bands;
    const uint8_t *band = page->data + (size_t)y0 * stride + (size_t)x0 * page->bands;
    bn_textbox_t *b = malloc(MAX_BOX * sizeof *b);
    read_t *r = calloc(MAX_BOX, sizeof *r);
    if (!b || !r) {
        free(b), free(r);
        return bn_error_set("out_of_memory", "bn_codefix");
    }
    int rc = 0, nr = 0, n = bn_textdet_run(det, band, w, ht, (int)stride, page->bands, 480, 0.5, b, MAX_BOX);
    if (n < 0) {
        rc = -1;
        goto done;
    }
    for (int i = 0; i < n && i < MAX_BOX; i++) {
        read_t *q = &r[nr];
        if (bn_ppocr_read_quad(pp, band, w, ht, (int)stride, page->bands, b[i].pts, q->t, sizeof q->t, &q->conf) < 0) {
            rc = -1;
            goto done;
        }
        q->x0 = q->y0 = 1e9f, q->x1 = q->y1 = 0;
        for (int c = 0; c < 4; c++) {
            q->x0 = fminf(q->x0, b[i].pts[2 * c]), q->x1 = fmaxf(q->x1, b[i].pts[2 * c]);
            q->y0 = fminf(q->y0, b[i].pts[2 * c + 1]), q->y1 = fmaxf(q->y1, b[i].pts[2 * c + 1]);
        }
        nr += q->t[0] != 0;
    }
    qsort(r, (size_t)nr, sizeof *r, cmp_x);
    /* each line, then with the lines after it on its row (a code the detector cut in two) */
    for (int i = 0; i < nr && rc == 0; i++) {
        char all[BN_LINE_TEXT_MAX] = "", code[19];
        float ex = r[i].x1, ey0 = r[i].y0, ey1 = r[i].y1;
        double conf = 1;
        for (int j = i; j < nr; j++) {
            float cyj = (r[j].y0 + r[j].y1) / 2;
            if (j > i && (cyj < r[i].y0 || cyj > r[i].y1))
                continue; /* not on the row */
            if (strlen(all) + strlen(r[j].t) >= sizeof all)
                break;
            strcat(all, r[j].t);
            conf = fmin(conf, r[j].conf);
            if (j > i)
                ex = fmaxf(ex, r[j].x1), ey0 = fminf(ey0, r[j].y0), ey1 = fmaxf(ey1, r[j].y1);
            if (bn_number_windows(all, 1, code) > 0) {
                rc = bn_lines_add(L, code, conf, x0 + r[i].x0, y0 + ey0, ex - r[i].x0, ey1 - ey0, NULL) < 0 ? -1 : 1;
                break;
            }
        }
        memset(all, 0, sizeof all), memset(code, 0, sizeof code);
    }
done:
    memset(r, 0, MAX_BOX * sizeof *r); /* a licence's text */
    free(r);
    free(b);
    return rc;
}
