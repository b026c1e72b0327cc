/* bn_prepare — fit the prepared JPEG into a provider's limits.
 *
 * Size in bytes is monotonic in JPEG quality only roughly, so the search is a short bisection on
 * quality (a handful of encodes of a ~1000 px image, a few ms each), then a change of scale when
 * quality alone cannot reach the window: down for too large, up for too small (a flat synthetic
 * card at 1011 px can be below 55 KB even at quality 97). */
#include "img/bn_prepare.h"
#include "core/bn_error.h"
#include "core/bn_flags.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bn_image_t *s_scaled(const bn_image_t *img, double s)
{
    int w = (int)lround(img->width * s), h = (int)lround(img->height * s);
    return bn_image_resize(img, w < 1 ? 1 : w, h < 1 ? 1 : h);
}

/* Scale factor that puts the long side in [min,max] and the short side >= min_short. */
static double s_side_scale(int w, int h, const bn_profile_t *p)
{
    int lng = w > h ? w : h, sht = w > h ? h : w;
    double s = 1;
    if (lng < p->min_long_side)
        s = (double)p->min_long_side / lng;
    if (p->min_short_side > 0 && sht * s < p->min_short_side)
        s = (double)p->min_short_side / sht;
    if (lng * s > p->max_long_side)
        s = (double)p->max_long_side / lng;
    return s;
}

void *bn_prepare_jpeg(const bn_image_t *img, const bn_profile_t *prof, bn_prepared_info_t *info)
{
    bn_prepared_info_t dummy;
    if (!info)
        info = &dummy;
    double scale = s_side_scale(img->width, img->height, prof);
    void *best = NULL;
    size_t best_len = 0;
    int best_q = 0, best_w = 0, best_h = 0, fits = 0;
    /* Up to 4 scales: the side-limited one, then adjusted by the byte outcome. */
    for (int round = 0; round < 4 && !fits; round++) {
        bn_image_t *work = fabs(scale - 1) < 1e-3 ? NULL : s_scaled(img, scale);
        const bn_image_t *src = work ? work : img;
        int lo = 40, hi = 97, q = 88;
        for (int it = 0; it < 6; it++) {
            size_t len = 0;
            void *buf = bn_image_encode_jpeg(src, q, &len);
            if (!buf) {
                bn_image_destroy(&work);
                free(best);
                return NULL;
            }
            int ok = len >= prof->min_bytes && len <= prof->max_bytes;
            /* Keep the best candidate: one that fits, else the one nearest the window. */
            double miss = len > prof->max_bytes ? (double)len / prof->max_bytes
                                                : len < prof->min_bytes ? (double)prof->min_bytes / len : 0;
            double best_miss = !best ? INFINITY
                               : best_len > prof->max_bytes ? (double)best_len / prof->max_bytes
                               : best_len < prof->min_bytes ? (double)prof->min_bytes / best_len
                                                            : 0;
            if (ok || miss < best_miss) {
                free(best);
                best = buf, best_len = len, best_q = q, best_w = src->width, best_h = src->height;
            } else {
                free(buf);
            }
            if (ok) {
                fits = 1;
                break;
            }
            if (len > prof->max_bytes)
                hi = q - 1;
            else
                lo = q + 1;
            if (lo > hi)
                break;
            q = (lo + hi) / 2;
        }
        bn_image_destroy(&work);
        if (fits)
            break;
        /* Quality exhausted: bytes scale roughly with area, so scale by the square root. */
        double ratio = best_len > prof->max_bytes ? (double)prof->max_bytes / best_len * 0.9
                                                  : (double)prof->min_bytes / best_len * 1.15;
        double next = scale * sqrt(ratio);
        int lng = img->width > img->height ? img->width : img->height;
        /* Bytes trump sides when they conflict, but never above 2x the side limit. */
        if (lng * next > 2.0 * prof->max_long_side)
            next = 2.0 * prof->max_long_side / lng;
        if (lng * next < 200)
            next = 200.0 / lng;
        /* And never more than 25 MP in memory for a flat image that JPEG squeezes too well. */
        double area = (double)img->width * img->height;
        if (area * next * next > 25e6)
            next = sqrt(25e6 / area);
        if (fabs(next - scale) < 1e-3)
            break;
        scale = next;
    }
    info->width = best_w, info->height = best_h, info->quality = best_q;
    info->bytes = best_len, info->fits = fits;
    return best;
}

static int s_box(const json_t *a, bn_review_mark_t *m)
{
    if (json_array_size(a) != 4)
        return 0;
    double v[4];
    for (size_t k = 0; k < 4; k++) {
        if (!json_is_number(json_array_get(a, k)))
            return 0;
        v[k] = json_number_value(json_array_get(a, k));
    }
    m->has_box = v[2] > 0 && v[3] > 0;
    m->x = v[0], m->y = v[1], m->w = v[2], m->h = v[3];
    return m->has_box;
}

json_t *bn_review_blob(const bn_image_t *orig, const bn_docgeom_t *g, int long_side, const json_t *const *flags,
                       int nflags, const json_t *glare, const json_t *fields, int fw, int fh, void **jpg, size_t *len)
{
    enum { MAX_MARKS = 96 };
    bn_review_mark_t marks[MAX_MARKS];
    int n = 0;
    for (int a = 0; a < nflags; a++) {
        size_t i, k;
        json_t *f, *b;
        json_array_foreach(flags[a], i, f) {
            const bn_flag_def_t *d = bn_flag_lookup(json_string_value(json_object_get(f, "code")));
            if (!d || n == MAX_MARKS)
                continue;
            bn_review_mark_t *m = &marks[n++];
            *m = (bn_review_mark_t){.label = d->label_en, .space_w = fw, .space_h = fh};
            const char *field = json_string_value(json_object_get(f, "field"));
            if (field)
                s_box(json_object_get(json_object_get(fields, field), "box"), m);
            if (strcmp(d->code, "glare") != 0)
                continue;
            json_t *size = json_object_get(glare, "size");
            json_array_foreach(json_object_get(glare, "boxes"), k, b) {
                if (n == MAX_MARKS)
                    break;
                m = &marks[n];
                *m = (bn_review_mark_t){.label = d->label_en,
                                        .space_w = (int)json_integer_value(json_array_get(size, 0)),
                                        .space_h = (int)json_integer_value(json_array_get(size, 1))};
                n += s_box(b, m);
            }
        }
    }
    bn_image_t *review = bn_review_render(orig, g, marks, n, long_side);
    *len = 0;
    *jpg = review ? bn_image_encode_jpeg(review, 80, len) : NULL;
    json_t *rv = json_null();
    if (*jpg)
        rv = json_pack("{s:i, s:i, s:I, s:s, s:s}", "width", review->width, "height", review->height, "bytes",
                       (json_int_t)*len, "mime", "image/jpeg", "blob", "review");
    bn_image_destroy(&review);
    return rv;
}
