/* bn_test_lines — text lines written by hand, shaped like what the detector and recogniser
 * return, for the tests of the passes that come after them (bn_kie, bn_datefix, bn_codefix,
 * the domain certificate's fields). */
#ifndef BN_TEST_LINES_H
#define BN_TEST_LINES_H
#include <stdio.h>
#include <string.h>

#include "ocr/bn_kie.h"
#include "ocr/bn_lines.h"

/* An upright line: its box, its quadrilateral, its text and the recogniser's confidence. */
static inline bn_line_t bn_test_line(float x, float y, float w, float h, const char *text, double conf)
{
    bn_line_t l;
    memset(&l, 0, sizeof l);
    l.x = x, l.y = y, l.w = w, l.h = h, l.conf = conf, l.score = 1;
    snprintf(l.text, sizeof l.text, "%s", text);
    float q[8] = {x, y, x + w, y, x + w, y + h, x, y + h};
    memcpy(l.q, q, sizeof q);
    return l;
}

/* A field's value, or "" when bn_kie found none. */
static inline const char *bn_test_val(const bn_kie_t *k, const char *key)
{
    const bn_kie_field_t *f = bn_kie_get(k, key);
    return f ? f->value : "";
}

/* Black text at (x, baseline y) on an RGB page, in Leptonica's bitmap font (the caller includes
 * <leptonica/allheaders.h>): a line for the detector and recogniser to find. */
#ifdef LEPTONICA_ALLHEADERS_H
static inline void bn_test_draw_text(bn_image_t *img, L_BMF *bmf, const char *text, int x, int y)
{
    PIX *p = pixCreate(img->width, img->height, 8);
    pixSetAll(p);
    l_int32 width = 0, ovf = 0;
    pixSetTextline(p, bmf, text, 0x00000000, x, y, &width, &ovf);
    for (int yy = 0; yy < img->height; yy++)
        for (int xx = 0; xx < img->width; xx++) {
            l_uint32 v;
            pixGetPixel(p, xx, yy, &v);
            if (v < 128)
                memset(img->data + ((size_t)yy * img->width + xx) * 3, 0, 3);
        }
    pixDestroy(&p);
}
#endif

#endif
