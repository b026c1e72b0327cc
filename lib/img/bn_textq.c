/* bn_textq — text evidence for the quality stage: see bn_textq.h. */
#include "img/bn_textq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bn_error.h"
#include "img/bn_textdet.h"

#define MAX_BOXES 400

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

int bn_textq_measure(const bn_config_t *cfg, const bn_image_t *img, double shrink, const char *doc_type,
                     bn_textq_t *out, json_t **boxes)
{
    memset(out, 0, sizeof *out);
    if (boxes)
        *boxes = NULL;
    if (shrink <= 0)
        shrink = 1;
    bn_textdet_t *det = bn_textdet_shared(cfg);
    if (!det)
        return bn_error_set("ocr_models_missing", "no text detector");
    bn_textbox_t *b = malloc(MAX_BOXES * sizeof *b);
    float *hs = malloc(MAX_BOXES * sizeof *hs);
    if (!b || !hs) {
        free(b), free(hs);
        return bn_error_set("out_of_memory", "bn_textq_measure");
    }
    int side = bn_textdet_side(cfg, doc_type);
    int n = bn_textdet_run(det, img->data, img->width, img->height, img->width * img->bands, img->bands, side, 0.6, b,
                           MAX_BOXES);
    if (n < 0) {
        free(b), free(hs);
        return -1;
    }
    if (n > MAX_BOXES)
        n = MAX_BOXES;
    if (boxes && (*boxes = json_array()))
        for (int i = 0; i < n; i++) {
            json_t *a = json_array();
            for (int k = 0; k < 8; k++)
                json_array_append_new(a, json_integer(lround(b[i].pts[k] * shrink)));
            json_array_append_new(*boxes, a);
        }
    /* per line: its thickness, which way it lies, and whether it runs out of the frame */
    char *cut = calloc((size_t)(n ? n : 1), 2);
    if (!cut) {
        free(b), free(hs);
        return bn_error_set("out_of_memory", "bn_textq_measure");
    }
    char *tall = cut + n;
    float *th = malloc((size_t)(n ? n : 1) * sizeof *th);
    if (!th) {
        free(b), free(hs), free(cut);
        return bn_error_set("out_of_memory", "bn_textq_measure");
    }
    int ntall = 0, nwide = 0;
    for (int i = 0; i < n; i++) {
        const float *q = b[i].pts;
        double wd = fmax(hypot(q[2] - q[0], q[3] - q[1]), hypot(q[4] - q[6], q[5] - q[7]));
        double ht = fmax(hypot(q[6] - q[0], q[7] - q[1]), hypot(q[4] - q[2], q[5] - q[3]));
        th[i] = (float)fmin(wd, ht);
        /* a line of one or two characters says little about height (a seal, a speck) */
        if (fmax(wd, ht) < 2.0 * fmin(wd, ht)) {
            th[i] = 0;
            continue;
        }
        tall[i] = ht > wd;
        tall[i] ? ntall++ : nwide++;
        hs[out->lines++] = th[i];
        if (out->ncentres < BN_TEXTQ_CENTRES) {
            out->centres[out->ncentres][0] = (q[0] + q[2] + q[4] + q[6]) / 4;
            out->centres[out->ncentres++][1] = (q[1] + q[3] + q[5] + q[7]) / 4;
        }
        /* a line that runs out of the frame ends at its edge: the detector's box stops a little
         * short of the cut glyph (~0.15 line heights) or is clamped to the edge */
        float x0 = q[0], x1 = q[0], y0 = q[1], y1 = q[1];
        for (int k = 1; k < 4; k++) {
            x0 = fminf(x0, q[2 * k]), x1 = fmaxf(x1, q[2 * k]);
            y0 = fminf(y0, q[2 * k + 1]), y1 = fmaxf(y1, q[2 * k + 1]);
        }
        float m = 0.2f * th[i] + 0.5f;
        cut[i] = x0 <= m || y0 <= m || x1 >= img->width - 1 - m || y1 >= img->height - 1 - m;
    }
    if (out->lines) {
        qsort(hs, (size_t)out->lines, sizeof *hs, cmp_float);
        out->text_h = hs[out->lines / 2] * shrink;
    }
    /* A cut line counts against the document when it is one of the document's lines: lying the
     * way most lines lie and of about their height. Print behind the document (a folder's
     * title standing at the frame's edge, a poster) is neither, and was held against a card
     * photographed whole. */
    double med = out->lines ? hs[out->lines / 2] : 0;
    for (int i = 0; i < n; i++)
        if (cut[i] && tall[i] == (ntall > nwide) && th[i] >= 0.5 * med && th[i] <= 2.0 * med)
            out->cut++;
    free(cut), free(th);
    int rot = bn_textdet_orientation(det, img->data, img->width, img->height, img->width * img->bands, img->bands, b, n);
    out->rotation = rot > 0 ? rot : 0;
    free(b);
    free(hs);
    return 0;
}

double bn_textq_inside(const bn_textq_t *tq, const double q[8])
{
    if (!tq->ncentres)
        return 1;
    int in = 0;
    for (int i = 0; i < tq->ncentres; i++) {
        double x = tq->centres[i][0], y = tq->centres[i][1];
        int c = 0; /* crossings of a ray to the right: odd = inside */
        for (int a = 0, b = 3; a < 4; b = a++) {
            double xa = q[2 * a], ya = q[2 * a + 1], xb = q[2 * b], yb = q[2 * b + 1];
            if ((ya > y) != (yb > y) && x < (xb - xa) * (y - ya) / (yb - ya) + xa)
                c ^= 1;
        }
        in += c;
    }
    return (double)in / tq->ncentres;
}
