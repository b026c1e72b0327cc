/* test_ocr_datefix — a licence's issue date read between its 年 月 日 (bn_datefix): digits drawn
 * with Leptonica's bitmap font above the 年 月 日 row (misregistered, as real licences print
 * them), under a translucent red seal, with the detector's lines giving only 登记机关 and the
 * three characters. The date must come back whole, with 月 missing too (put half-way), and then
 * be taken by bn_kie; nothing is added without anchors, without digits, or for a date that
 * cannot be one. Skipped (77) when the PP-OCR models are not installed. */
#include "bn_test.h"
#include <math.h>
#include <string.h>

#include <leptonica/allheaders.h>

#include "core/bn_error.h"
#include "img/bn_textdet.h"
#include "ocr/bn_datefix.h"
#include "bn_test_lines.h"

#define W 900
#define H 300

#define line(x, y, w, h, text) bn_test_line(x, y, w, h, text, 1.0)

#define draw bn_test_draw_text

/* the page: digits above the row, the characters' ink as blocks, a red seal over it all */
static bn_image_t *page_of(L_BMF *bmf, const char *y, const char *m, const char *d, int blocks)
{
    bn_image_t *img = bn_image_new(W, H, 3);
    memset(img->data, 255, (size_t)W * H * 3);
    draw(img, bmf, y, 225, 140), draw(img, bmf, m, 375, 140), draw(img, bmf, d, 525, 140);
    for (int k = 0; blocks && k < 3; k++) /* 年 月 日 stand-ins: painted out by the pass */
        for (int yy = 152; yy < 178; yy++)
            for (int xx = 302 + 150 * k; xx < 328 + 150 * k; xx++)
                memset(img->data + ((size_t)yy * W + xx) * 3, 0, 3);
    for (int yy = 0; yy < H; yy++)
        for (int xx = 0; xx < W; xx++) {
            double r = hypot(xx - 430, yy - 140);
            if (r > 130)
                continue;
            uint8_t *p = img->data + ((size_t)yy * W + xx) * 3;
            const int red[3] = {225, 35, 40};
            for (int c = 0; c < 3; c++) /* seal ink over whatever is there: it absorbs */
                p[c] = (uint8_t)(p[c] * red[c] / 255);
        }
    return img;
}

static bn_image_t *page(L_BMF *bmf, const char *y, const char *m, const char *d)
{
    return page_of(bmf, y, m, d, 1);
}

/* bn_datefix_redetect on a page whose only line found is 登记机关: the date's issue_date, or "" */
static int redetect(bn_textdet_t *det, bn_ppocr_t *pp, const bn_image_t *img, char *date, size_t cap)
{
    bn_lines_t L = {.v = calloc(1, sizeof(bn_line_t)), .n = 1, .width = W, .height = H, .line_h = 30};
    L.v[0] = line(150, 60, 120, 30, "登记机关");
    int r = bn_datefix_redetect(det, pp, img, &L);
    date[0] = 0;
    bn_kie_t k;
    if (r == 1 && bn_kie_extract("business-license", "front", &L, &k) == 0 && bn_kie_get(&k, "issue_date"))
        snprintf(date, cap, "%s", bn_kie_get(&k, "issue_date")->value);
    free(L.v);
    return r;
}

static int run(bn_ppocr_t *pp, const bn_image_t *img, int with_month, char *date, size_t cap)
{
    bn_line_t *v = calloc(8, sizeof *v);
    int n = 0;
    v[n++] = line(150, 60, 120, 30, "登记机关");
    v[n++] = line(300, 150, 30, 30, "年");
    if (with_month)
        v[n++] = line(450, 150, 30, 30, "月");
    v[n++] = line(600, 150, 30, 30, "日");
    bn_lines_t L = {.v = v, .n = n, .width = W, .height = H, .line_h = 30};
    int r = bn_datefix_run(pp, img, &L);
    date[0] = 0;
    if (r == 1) {
        bn_kie_t k;
        if (bn_kie_extract("business-license", "front", &L, &k) == 0 && bn_kie_get(&k, "issue_date"))
            snprintf(date, cap, "%s", bn_kie_get(&k, "issue_date")->value);
    }
    free(L.v);
    return r;
}

int main(void)
{
    const char *env = getenv("BEIAN_MODELS");
    bn_ppocr_t *pp = bn_ppocr_new(env && *env ? env : BEIAN_SOURCE_DIR "/models");
    if (!pp) {
        printf("SKIP: PP-OCR models not installed (%s)\n", bn_error_msg());
        return 77;
    }
    L_BMF *bmf = bmfCreate(NULL, 14);
    CHECK(bmf != NULL, "leptonica bitmap font");
    char date[600];

    bn_image_t *img = page(bmf, "2019", "11", "25");
    CHECK(run(pp, img, 1, date, sizeof date) == 1 && !strcmp(date, "2019年11月25日"), "date under the seal '%s'", date);
    CHECK(run(pp, img, 0, date, sizeof date) == 1 && !strcmp(date, "2019年11月25日"), "月 not found '%s'", date);

    /* no anchors: nothing */
    bn_line_t one = line(150, 60, 120, 30, "登记机关");
    bn_lines_t L = {.v = calloc(1, sizeof one), .n = 1, .width = W, .height = H, .line_h = 30};
    L.v[0] = one;
    CHECK(bn_datefix_run(pp, img, &L) == 0 && L.n == 1, "no 年 月 日, nothing added");
    free(L.v);
    bn_image_destroy(&img);

    /* no digits (the seal alone), and digits that make no date */
    img = page(bmf, "", "", "");
    CHECK(run(pp, img, 1, date, sizeof date) == 0, "nothing to read, nothing added");
    bn_image_destroy(&img);
    img = page(bmf, "2019", "13", "25");
    CHECK(run(pp, img, 1, date, sizeof date) == 0, "month 13 is no date ('%s')", date);
    bn_image_destroy(&img);

    /* 年 月 日 not found at all: the detector, given the seal-free crop under 登记机关, finds
     * the digits; a month 13 is still no date, and without 登记机关 nothing is looked for */
    bn_textdet_t *det = bn_textdet_new(env && *env ? env : BEIAN_SOURCE_DIR "/models");
    CHECK(det != NULL, "detector: %s", det ? "" : bn_error_msg());
    img = page_of(bmf, "2019", "11", "25", 0);
    CHECK(redetect(det, pp, img, date, sizeof date) == 1 && !strcmp(date, "2019年11月25日"), "found again '%s'", date);
    bn_image_destroy(&img);
    img = page_of(bmf, "2019", "13", "25", 0);
    CHECK(redetect(det, pp, img, date, sizeof date) == 0, "month 13 is no date ('%s')", date);
    bn_image_destroy(&img);
    bn_lines_t none = {.v = calloc(1, sizeof(bn_line_t)), .n = 1, .width = W, .height = H};
    none.v[0] = line(150, 60, 120, 30, "名称");
    img = page_of(bmf, "2019", "11", "25", 0);
    CHECK(bn_datefix_redetect(det, pp, img, &none) == 0 && none.n == 1, "no 登记机关, nothing looked for");
    bn_image_destroy(&img);
    free(none.v);
    bn_textdet_destroy(&det);

    /* bad arguments */
    CHECK(bn_datefix_run(NULL, NULL, NULL) == -1 && !strcmp(bn_error_code(), "invalid_argument"));
    CHECK(bn_datefix_redetect(NULL, NULL, NULL, NULL) == -1 && !strcmp(bn_error_code(), "invalid_argument"));

    bmfDestroy(&bmf);
    bn_ppocr_destroy(&pp);
    return bn_test_end("test_ocr_datefix");
}
