/* bn_watermark — "仅供备案使用" where it hides nothing.
 *
 * Providers accept only this watermark and only off the text and the portrait. The text is
 * rendered with libvips (Pango, Noto Sans CJK), and placed at the candidate position with the
 * least printed detail (gradient energy, an integral image makes each candidate O(1)), never
 * overlapping a text zone or the portrait of the document's layout when it is known. */
#include "img/bn_prepare.h"
#include "core/bn_error.h"

#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

static int s_overlaps(const bn_layout_t *lay, double sx, double sy, int x, int y, int w, int h)
{
    if (!lay)
        return 0;
    const bn_box_t *boxes[BN_LAYOUT_MAX_BOXES + 9];
    int n = 0;
    for (int i = 0; i < lay->ntext; i++)
        boxes[n++] = &lay->text[i];
    for (int i = 0; i < lay->nneutral; i++)
        boxes[n++] = &lay->neutral[i];
    if (lay->has_portrait)
        boxes[n++] = &lay->portrait;
    for (int i = 0; i < n; i++) {
        double bx = boxes[i]->x * sx, by = boxes[i]->y * sy, bw = boxes[i]->w * sx, bh = boxes[i]->h * sy;
        if (x < bx + bw && bx < x + w && y < by + bh && by < y + h)
            return 1;
    }
    return 0;
}

int bn_watermark_apply(bn_image_t *img, const bn_layout_t *lay, const char *text)
{
    if (!img || img->bands != 3 || !text || !*text)
        return bn_error_set("invalid_argument", "watermark needs an RGB image and a text");
    if (bn_vips_init() != 0)
        return -1;
    int W = img->width, H = img->height;
    int px = H / 16 < 12 ? 12 : H / 16;
    char font[64];
    snprintf(font, sizeof font, "Noto Sans CJK SC %d", px);
    VipsImage *t = NULL;
    if (vips_text(&t, text, "font", font, "dpi", 72, NULL) != 0) {
        vips_error_clear();
        return bn_error_set("internal", "watermark text could not be rendered");
    }
    int tw = vips_image_get_width(t), th = vips_image_get_height(t);
    size_t mlen = 0;
    uint8_t *mask = vips_image_write_to_memory(t, &mlen);
    g_object_unref(t);
    if (!mask || tw >= W || th >= H || mlen != (size_t)tw * th) {
        free(mask);
        return bn_error_set("internal", "watermark does not fit the image");
    }
    /* Integral image of "print": pixels with a strong local gradient. */
    size_t iw = (size_t)W + 1;
    double *ii = calloc(iw * (H + 1), sizeof *ii);
    if (!ii) {
        free(mask);
        return bn_error_set("out_of_memory", "watermark");
    }
    for (int y = 0; y < H; y++) {
        double row = 0;
        for (int x = 0; x < W; x++) {
            const uint8_t *p = img->data + ((size_t)y * W + x) * 3;
            const uint8_t *r = x + 1 < W ? p + 3 : p, *d = y + 1 < H ? p + (size_t)W * 3 : p;
            int g = abs(p[1] - r[1]) + abs(p[1] - d[1]) + abs(p[0] - r[0]) + abs(p[0] - d[0]);
            row += g > 40;
            ii[(size_t)(y + 1) * iw + x + 1] = ii[(size_t)y * iw + x + 1] + row;
        }
    }
    double sx = lay ? W / lay->w_mm : 0, sy = lay ? H / lay->h_mm : 0;
    int best_x = -1, best_y = -1, margin = W / 50;
    double best = 1e300;
    int step = th / 3 > 2 ? th / 3 : 2;
    for (int y = margin; y + th + margin <= H; y += step)
        for (int x = margin; x + tw + margin <= W; x += step) {
            double ink = ii[(size_t)(y + th) * iw + x + tw] - ii[(size_t)y * iw + x + tw] -
                         ii[(size_t)(y + th) * iw + x] + ii[(size_t)y * iw + x];
            double score = ink + (s_overlaps(lay, sx, sy, x, y, tw, th) ? 1e9 : 0);
            if (score < best)
                best = score, best_x = x, best_y = y;
        }
    free(ii);
    if (best_x < 0) {
        free(mask);
        return bn_error_set("internal", "no place for the watermark");
    }
    /* Semi-transparent dark grey: legible on light cards, never hiding what is under it. */
    const double alpha = 0.45, col[3] = {90, 90, 90};
    for (int y = 0; y < th; y++)
        for (int x = 0; x < tw; x++) {
            double a = alpha * mask[(size_t)y * tw + x] / 255.0;
            uint8_t *p = img->data + ((size_t)(best_y + y) * W + best_x + x) * 3;
            for (int c = 0; c < 3; c++)
                p[c] = (uint8_t)(p[c] * (1 - a) + col[c] * a + 0.5);
        }
    free(mask);
    return 0;
}
