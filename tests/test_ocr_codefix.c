/* test_ocr_codefix — a licence's credit code found again under its label (bn_codefix): the
 * code drawn small with Leptonica's bitmap font under the line the detector gave as
 * 统一社会信用代码, on a page much wider than the code (a licence filling a corner of a
 * screenshot), with the detector's reading of the code a few wrong characters. The code must
 * come back and be taken by bn_kie; nothing is added for a code that fails its check, nor
 * without the label. Skipped (77) when the PP-OCR models are not installed. */
#include "bn_test.h"
#include <string.h>

#include <leptonica/allheaders.h>

#include "core/bn_error.h"
#include "img/bn_textdet.h"
#include "ocr/bn_codefix.h"
#include "bn_test_lines.h"

#define W 2400
#define H 1200

#define line(x, y, w, h, text) bn_test_line(x, y, w, h, text, 0.9)

/* a white RGB page with text in black at (x, baseline y) */
static bn_image_t *page_with(L_BMF *bmf, const char *text, int x, int y)
{
    bn_image_t *img = bn_image_new(W, H, 3);
    memset(img->data, 255, (size_t)W * H * 3);
    bn_test_draw_text(img, bmf, text, x, y);
    return img;
}

/* the lines: the label, and the code as the page-scale detector read it (or nothing) */
static int run(bn_textdet_t *det, bn_ppocr_t *pp, const bn_image_t *img, int with_label, char *code, size_t cap,
               int *nlines)
{
    bn_line_t *v = calloc(2, sizeof *v);
    int n = 0;
    if (with_label)
        v[n++] = line(300, 400, 200, 24, "统一社会信用代码");
    v[n++] = line(330, 440, 40, 14, "(9/9"); /* a piece of the code, misread */
    bn_lines_t L = {.v = v, .n = n, .width = W, .height = H, .line_h = 24};
    int r = bn_codefix_redetect(det, pp, img, &L);
    code[0] = 0;
    bn_kie_t k;
    if (bn_kie_extract("business-license", "front", &L, &k) == 0 && bn_kie_get(&k, "credit_code"))
        snprintf(code, cap, "%s", bn_kie_get(&k, "credit_code")->value);
    *nlines = L.n;
    free(L.v);
    return r;
}

int main(void)
{
    const char *env = getenv("BEIAN_MODELS");
    const char *dir = env && *env ? env : BEIAN_SOURCE_DIR "/models";
    bn_ppocr_t *pp = bn_ppocr_new(dir);
    bn_textdet_t *det = pp ? bn_textdet_new(dir) : NULL;
    if (!pp || !det) {
        printf("SKIP: PP-OCR models not installed (%s)\n", bn_error_msg());
        bn_ppocr_destroy(&pp);
        return 77;
    }
    L_BMF *bmf = bmfCreate(NULL, 10);
    CHECK(bmf != NULL, "leptonica bitmap font");
    char code[600];
    int n = 0;

    bn_image_t *img = page_with(bmf, "91350100M000100Y43", 320, 452);
    CHECK(run(det, pp, img, 1, code, sizeof code, &n) == 1 && !strcmp(code, "91350100M000100Y43"),
          "the code under its label: '%s'", code);
    CHECK(n == 3, "one line added (%d lines)", n);
    CHECK(run(det, pp, img, 0, code, sizeof code, &n) == 0 && n == 1, "no label: nothing added (%d lines)", n);
    bn_image_destroy(&img);

    img = page_with(bmf, "91350100M000100Y44", 320, 452); /* its check character wrong */
    CHECK(run(det, pp, img, 1, code, sizeof code, &n) == 0 && n == 2, "a code failing its check: nothing added");
    bn_image_destroy(&img);

    bn_lines_t bad = {0};
    CHECK(bn_codefix_redetect(det, pp, NULL, &bad) == -1, "bad arguments: an error");
    bmfDestroy(&bmf);
    bn_textdet_destroy(&det);
    bn_ppocr_destroy(&pp);
    return bn_test_end("test_ocr_codefix");
}
