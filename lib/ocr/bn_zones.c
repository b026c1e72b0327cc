#include "ocr/bn_zones.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bn_error.h"
#include "img/bn_layout.h"

static bn_zone_kind_t parse_kind(const char *k)
{
    if (!k) return BN_KIND_MIXED;
    if (!strcmp(k, "cjk")) return BN_KIND_CJK;
    if (!strcmp(k, "latin")) return BN_KIND_LATIN;
    if (!strcmp(k, "digits")) return BN_KIND_DIGITS;
    if (!strcmp(k, "date")) return BN_KIND_DATE;
    return BN_KIND_MIXED;
}

static int box4(json_t *a, double *x, double *y, double *w, double *h)
{
    if (!json_is_array(a) || json_array_size(a) != 4)
        return -1;
    *x = json_number_value(json_array_get(a, 0));
    *y = json_number_value(json_array_get(a, 1));
    *w = json_number_value(json_array_get(a, 2));
    *h = json_number_value(json_array_get(a, 3));
    return *w > 0 && *h > 0 ? 0 : -1;
}

int bn_zones_get(const char *doc_type, const char *side, bn_zoneset_t *out)
{
    memset(out, 0, sizeof *out);
    const json_t *layouts = bn_layout_json(); /* parsed once, shared with the quality stage */
    if (!layouts)
        return bn_error_set("layout_unknown", "data/layouts.json not found or invalid");
    char key[64];
    snprintf(key, sizeof key, "%s:%s", doc_type ? doc_type : "", side && *side ? side : "front");
    json_t *l = json_object_get(layouts, key);
    if (!json_is_object(l))
        return bn_error_set("layout_unknown", "no layout for %s", key);
    json_t *size = json_object_get(l, "size_mm");
    out->w_mm = json_number_value(json_array_get(size, 0));
    out->h_mm = json_number_value(json_array_get(size, 1));
    json_t *mrz = json_object_get(l, "mrz");
    if (json_is_object(mrz) &&
        box4(json_object_get(mrz, "box"), &out->mrz.x, &out->mrz.y, &out->mrz.w, &out->mrz.h) == 0) {
        out->has_mrz = 1;
        snprintf(out->mrz.key, sizeof out->mrz.key, "mrz");
        out->mrz_lines = (int)json_integer_value(json_object_get(mrz, "lines"));
        out->mrz_chars = (int)json_integer_value(json_object_get(mrz, "chars"));
        out->mrz.lines = out->mrz_lines;
        out->mrz.kind = BN_KIND_LATIN;
    }
    const char *fk;
    json_t *f;
    json_object_foreach(json_object_get(l, "fields"), fk, f) {
        if (out->nzones == BN_ZONES_MAX)
            break;
        bn_zone_t *z = &out->zones[out->nzones];
        if (box4(json_object_get(f, "box"), &z->x, &z->y, &z->w, &z->h) != 0)
            continue;
        snprintf(z->key, sizeof z->key, "%s", fk);
        z->lines = (int)json_integer_value(json_object_get(f, "lines"));
        if (z->lines < 1)
            z->lines = 1;
        z->kind = parse_kind(json_string_value(json_object_get(f, "kind")));
        z->has_label = box4(json_object_get(f, "label_box"), &z->lx, &z->ly, &z->lw, &z->lh) == 0;
        const char *lab = json_string_value(json_object_get(f, "label"));
        snprintf(z->label, sizeof z->label, "%s", lab ? lab : "");
        out->nzones++;
    }
    return 0;
}

typedef struct {
    int w, h;
    int *ii; /* (w+1) x (h+1) integral image of the ink mask */
    double ppm;
} inkmap_t;

static long ink_sum(const inkmap_t *m, double X, double Y, double W, double H, int dx, int dy)
{
    int x0 = (int)(X * m->ppm) + dx, y0 = (int)(Y * m->ppm) + dy;
    int x1 = (int)((X + W) * m->ppm) + dx, y1 = (int)((Y + H) * m->ppm) + dy;
    x0 = x0 < 0 ? 0 : x0 > m->w ? m->w : x0;
    x1 = x1 < 0 ? 0 : x1 > m->w ? m->w : x1;
    y0 = y0 < 0 ? 0 : y0 > m->h ? m->h : y0;
    y1 = y1 < 0 ? 0 : y1 > m->h ? m->h : y1;
    if (x1 <= x0 || y1 <= y0)
        return 0;
    size_t W1 = (size_t)m->w + 1;
    return (long)m->ii[y1 * W1 + x1] - m->ii[y0 * W1 + x1] - m->ii[y1 * W1 + x0] + m->ii[y0 * W1 + x0];
}

static long zones_ink(const inkmap_t *m, const bn_zone_t *z, int nz, int dx, int dy)
{
    long sum = 0;
    for (int i = 0; i < nz; i++) {
        sum += ink_sum(m, z[i].x, z[i].y, z[i].w, z[i].h, dx, dy);
        if (z[i].has_label)
            sum += ink_sum(m, z[i].lx, z[i].ly, z[i].lw, z[i].lh, dx, dy);
    }
    return sum;
}

/* Best shift in [-rx, rx] x [-ry, ry] px; 0,0 unless clearly better. */
static void best_shift(const inkmap_t *m, const bn_zone_t *z, int nz, int cx, int cy, int rx, int ry, int *bx, int *by)
{
    long at0 = zones_ink(m, z, nz, cx, cy), best = at0;
    *bx = cx, *by = cy;
    for (int dy = cy - ry; dy <= cy + ry; dy++)
        for (int dx = cx - rx; dx <= cx + rx; dx++) {
            long sum = zones_ink(m, z, nz, dx, dy);
            if (sum > best || (sum == best && abs(dx - cx) + abs(dy - cy) < abs(*bx - cx) + abs(*by - cy)))
                best = sum, *bx = dx, *by = dy;
        }
    if (best <= at0 + at0 / 20 + 4) /* flat pages carry no signal: stay */
        *bx = cx, *by = cy;
}

int bn_zones_align(PIX *page, bn_zoneset_t *zs, double px_per_mm, double max_mm)
{
    if (!page || px_per_mm <= 0 || zs->nzones == 0)
        return 0;
    inkmap_t m = {0, 0, NULL, 2.0}; /* 2 px/mm: enough for a 0.5 mm estimate, and fast */
    double s = m.ppm / px_per_mm;
    PIX *sm = s < 0.7 ? pixScaleAreaMap(page, (float)s, (float)s) : pixScaleGrayLI(page, (float)s, (float)s);
    PIX *bh = sm ? pixTophat(sm, 5, 5, L_TOPHAT_BLACK) : NULL;
    PIX *inv = bh ? pixInvert(NULL, bh) : NULL;
    PIX *mask = NULL;
    if (!inv || pixOtsuAdaptiveThreshold(inv, pixGetWidth(inv), pixGetHeight(inv), 0, 0, 0.1f, NULL, &mask) || !mask)
        goto done;
    m.w = pixGetWidth(mask), m.h = pixGetHeight(mask);
    m.ii = calloc((size_t)(m.w + 1) * (m.h + 1), sizeof *m.ii);
    if (!m.ii)
        goto done;
    l_uint32 *data = pixGetData(mask);
    int wpl = pixGetWpl(mask);
    for (int y = 0; y < m.h; y++) {
        int row = 0;
        for (int x = 0; x < m.w; x++) {
            row += GET_DATA_BIT(data + (size_t)y * wpl, x);
            m.ii[(size_t)(y + 1) * (m.w + 1) + x + 1] = m.ii[(size_t)y * (m.w + 1) + x + 1] + row;
        }
    }
    int R = (int)(max_mm * m.ppm + 0.5), gx, gy;
    best_shift(&m, zs->zones, zs->nzones, 0, 0, R, R, &gx, &gy);
    for (int i = 0; i < zs->nzones; i++) {
        bn_zone_t *z = &zs->zones[i];
        int lx, ly;
        best_shift(&m, z, 1, gx, gy, R / 2, R / 4 > 1 ? R / 4 : 1, &lx, &ly);
        z->x += lx / m.ppm, z->y += ly / m.ppm;
        z->lx += lx / m.ppm, z->ly += ly / m.ppm;
    }
    if (zs->has_mrz)
        zs->mrz.x += gx / m.ppm, zs->mrz.y += gy / m.ppm;
done:
    free(m.ii);
    pixDestroy(&mask);
    pixDestroy(&inv);
    pixDestroy(&bh);
    pixDestroy(&sm);
    return 0;
}

PIX *bn_pix_grey(const bn_image_t *img)
{
    if (!img || !img->data || img->width <= 0 || img->height <= 0)
        return NULL;
    PIX *p = pixCreate(img->width, img->height, 8);
    if (!p)
        return NULL;
    l_uint32 *data = pixGetData(p);
    int wpl = pixGetWpl(p);
    for (int y = 0; y < img->height; y++) {
        const uint8_t *s = img->data + (size_t)y * img->width * img->bands;
        l_uint32 *line = data + (size_t)y * wpl;
        for (int x = 0; x < img->width; x++) {
            int v;
            if (img->bands >= 3) /* ITU-R 601 luma, integer */
                v = (299 * s[3 * x] + 587 * s[3 * x + 1] + 114 * s[3 * x + 2]) / 1000;
            else
                v = s[x];
            SET_DATA_BYTE(line, x, v);
        }
    }
    return p;
}

PIX *bn_zone_crop(PIX *page, const bn_zone_t *z, double px_per_mm, double mx_mm, double my_mm, int box_out[4])
{
    int W = pixGetWidth(page), H = pixGetHeight(page);
    int x0 = (int)((z->x - mx_mm) * px_per_mm), y0 = (int)((z->y - my_mm) * px_per_mm);
    int x1 = (int)((z->x + z->w + mx_mm) * px_per_mm + 0.5);
    int y1 = (int)((z->y + z->h + my_mm) * px_per_mm + 0.5);
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > W) x1 = W;
    if (y1 > H) y1 = H;
    if (x1 - x0 < 4 || y1 - y0 < 4)
        return NULL;
    BOX *b = boxCreate(x0, y0, x1 - x0, y1 - y0);
    PIX *c = pixClipRectangle(page, b, NULL);
    boxDestroy(&b);
    if (box_out) {
        box_out[0] = x0;
        box_out[1] = y0;
        box_out[2] = x1 - x0;
        box_out[3] = y1 - y0;
    }
    return c;
}

PIX *bn_zone_prepare(PIX *crop, int lines, double line_px)
{
    if (!crop)
        return NULL;
    int h = pixGetHeight(crop);
    double per_line = (double)h / (lines > 0 ? lines : 1);
    double s = line_px / (per_line > 1 ? per_line : 1);
    if (s > 4) s = 4;
    if (s < 0.35) s = 0.35;
    /* Downscale only large text: Tesseract reads 30-60 px lines equally well. */
    PIX *sc = s > 1.1 ? pixScaleGrayLI(crop, (float)s, (float)s)
              : s < 0.6 ? pixScaleAreaMap(crop, (float)s, (float)s)
                        : pixCopy(NULL, crop);
    if (!sc)
        return NULL;
    /* Flatten the background (coloured guilloche, light gradients) to white; keeps grey text. */
    PIX *n = NULL;
    if (pixGetWidth(sc) >= 80 && pixGetHeight(sc) >= 60)
        n = pixBackgroundNorm(sc, NULL, NULL, 12, 12, 100, 40, 255, 1, 1);
    if (n) {
        pixDestroy(&sc);
        sc = n;
    }
    /* A white border: Tesseract's line finder misbehaves on text touching the edge. */
    PIX *b = pixAddBorder(sc, 12, 255);
    pixDestroy(&sc);
    return b;
}
