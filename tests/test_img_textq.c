/* test_img_textq — text evidence for the quality stage: which document outline holds the text
 * (bn_textq_inside), and, when the detector is installed, lines and their height measured on a
 * page of text drawn here, with a line cut by the frame counted. */
#include "bn_test.h"
#include <stdlib.h>
#include <string.h>

#include <leptonica/allheaders.h>

#include "core/bn_error.h"
#include "img/bn_image.h"
#include "img/bn_metrics.h"
#include "img/bn_textdet.h"
#include "img/bn_textq.h"

static void test_inside(void)
{
    bn_textq_t tq;
    memset(&tq, 0, sizeof tq);
    double quad[8] = {100, 100, 500, 110, 490, 400, 90, 390};
    double none[8] = {0};
    CHECK(bn_textq_inside(&tq, quad) == 1.0, "no lines: nothing against the outline");
    float c[4][2] = {{200, 200}, {300, 250}, {450, 380}, {700, 50}};
    memcpy(tq.centres, c, sizeof c);
    tq.ncentres = 4;
    CHECK(bn_textq_inside(&tq, quad) == 0.75, "3 of 4 inside: %.2f", bn_textq_inside(&tq, quad));
    CHECK(bn_textq_inside(&tq, none) == 0.0, "a degenerate outline holds nothing");
}

/* Lines of capitals drawn with Leptonica's bitmap font on a wider white page, of which the left
 * 900 columns are the frame: the last line runs off its right edge through a character. */
static bn_image_t *page(int *line_px)
{
    L_BMF *bmf = bmfCreate(NULL, 20);
    if (!bmf)
        return NULL;
    PIX *p = pixCreate(1600, 600, 32);
    pixSetAll(p);
    const char *text[] = {"NAME ZHANG", "ROAD 12", "NO 1101011990", "RUNS OFF THE EDGE"};
    for (int i = 0; i < 4; i++)
        pixSetTextline(p, bmf, text[i], 0x00000000, i == 3 ? 420 : 60, 120 + 120 * i, NULL, NULL);
    *line_px = bmf->baselinetab[93];
    bn_image_t *img = bn_image_new(900, 600, 3);
    for (int y = 0; img && y < 600; y++)
        for (int x = 0; x < 900; x++) {
            l_int32 r, g, b;
            pixGetRGBPixel(p, x, y, &r, &g, &b);
            uint8_t *d = img->data + ((size_t)y * 900 + x) * 3;
            d[0] = (uint8_t)r, d[1] = (uint8_t)g, d[2] = (uint8_t)b;
        }
    pixDestroy(&p);
    bmfDestroy(&bmf);
    return img;
}

/* The turn from the lines' shape and the classifier's vote (the rule alone). */
static void test_orientation_rule(void)
{
    CHECK(bn_textdet_orientation_rule(2, 9, 0.1) == 0, "lying, upright");
    CHECK(bn_textdet_orientation_rule(2, 9, 0.9) == 180, "lying, upside down");
    CHECK(bn_textdet_orientation_rule(9, 2, 0.1) == 270, "standing, upright once turned counter-clockwise");
    CHECK(bn_textdet_orientation_rule(9, 2, 0.9) == 90, "standing, the other way");
}

/* One detector run at canvas sides 480, 640, 320, 480 in turn, each against a detector fresh
 * from the file: the same boxes. OpenCV 4.6 fused the head's deconvolution bias again at each
 * new input size, and a net that had run at one side found other boxes (or none) at the next,
 * until fix-ppocr.py folded that bias into the model. */
static int same_boxes(const bn_textbox_t *a, int na, const bn_textbox_t *b, int nb)
{
    if (na != nb)
        return 0;
    for (int i = 0; i < na; i++)
        for (int k = 0; k < 8; k++)
            if (a[i].pts[k] != b[i].pts[k])
                return 0;
    return 1;
}

static void test_sizes(const bn_image_t *img)
{
    const char *env = getenv("BEIAN_MODELS");
    const char *dir = env && *env ? env : BEIAN_SOURCE_DIR "/models";
    bn_textdet_t *det = bn_textdet_new(dir);
    if (!det && !strcmp(bn_error_code(), "ocr_models_missing")) {
        printf("detector not installed: sizes part skipped\n");
        return;
    }
    CHECK(det != NULL, "the installed detector loads: %s: %s", bn_error_code(), bn_error_msg());
    if (!det)
        return;
    const int sides[] = {480, 640, 320, 480};
    for (int i = 0; i < 4; i++) {
        bn_textbox_t a[64], b[64];
        int st = img->width * img->bands;
        int na = bn_textdet_run(det, img->data, img->width, img->height, st, img->bands, sides[i], 0.6, a, 64);
        bn_textdet_t *fresh = bn_textdet_new(dir);
        int nb = fresh ? bn_textdet_run(fresh, img->data, img->width, img->height, st, img->bands, sides[i], 0.6, b, 64)
                       : -1;
        bn_textdet_destroy(&fresh);
        CHECK(na >= 3 && same_boxes(a, na, b, nb), "side %d: %d boxes, a fresh net %d", sides[i], na, nb);
    }
    bn_textdet_destroy(&det);
}

int main(void)
{
    test_inside();
    test_orientation_rule();
    int px = 0;
    bn_image_t *img = page(&px);
    CHECK(img != NULL, "page drawn");
    if (img)
        test_sizes(img);
    bn_textq_t tq;
    json_t *boxes = NULL;
    if (img && bn_textq_measure(NULL, img, 2.0, "id-card", &tq, &boxes) == 0) {
        CHECK(tq.lines >= 4, "lines %d", tq.lines);
        /* the detector's box is about as tall as the capitals; shrink 2 doubles it */
        CHECK(tq.text_h > 1.0 * px && tq.text_h < 6.0 * px, "height %.1f for %d px capitals x2", tq.text_h, px);
        CHECK(tq.cut == 1, "one line cut by the frame, got %d", tq.cut);
        CHECK(tq.ncentres == tq.lines || tq.ncentres == BN_TEXTQ_CENTRES);
        /* every box, in upload pixels (twice the decoded ones), for the ocr stage's hints */
        CHECK(json_array_size(boxes) >= (size_t)tq.lines, "boxes %zu", json_array_size(boxes));
        json_t *b0 = json_array_get(boxes, 0);
        CHECK(json_array_size(b0) == 8 && json_integer_value(json_array_get(b0, 2)) > 900,
              "upload pixels: x %lld", (long long)json_integer_value(json_array_get(b0, 2)));
        json_decref(boxes);
        CHECK(tq.rotation == 0, "an upright page: %d", tq.rotation);
        /* the same page upside down: the quality stage turns its prepared image by this */
        bn_image_t *turned = bn_image_rotate90(img, 180);
        bn_textq_t t2;
        CHECK(turned && bn_textq_measure(NULL, turned, 1.0, "id-card", &t2, NULL) == 0 && t2.rotation == 180,
              "upside down: %d", t2.rotation);
        bn_image_destroy(&turned);
    } else {
        printf("detector not installed: measuring part skipped\n");
    }
    bn_image_destroy(&img);
    return bn_test_end("test_img_textq");
}
