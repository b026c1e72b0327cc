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

#endif
