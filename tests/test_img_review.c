/* The review image marks every flag (issue #14): an OCR flag's field box and the quality
 * stage's glare boxes are drawn where they are, mapped from the rectified document through its
 * corners; every flag has a short label in words, not its code name. */
#include "bn_test.h"

#include "core/bn_flags.h"
#include "img/bn_image.h"
#include "img/bn_prepare.h"

#include <stdlib.h>
#include <string.h>

#define W 1000
#define H 600

/* Render the review of a flat grey photo with these flags; decoded back to pixels. */
static bn_image_t *s_review(const char *ocr_flags, const char *glare)
{
    bn_image_t *img = bn_image_new(W, H, 3);
    memset(img->data, 128, (size_t)W * H * 3);
    /* The document: (100,100)-(900,500) in the photo, a rectified page of 800 x 400. */
    bn_docgeom_t g = {.found = 1, .corners_inside = 4,
                      .corners = {{100, 100}, {900, 100}, {900, 500}, {100, 500}}};
    json_t *q = json_loads("[]", 0, NULL), *o = json_loads(ocr_flags, 0, NULL), *gl = glare ? json_loads(glare, 0, NULL) : NULL;
    json_t *fields = json_loads("{\"id_number\": {\"value\": \"x\", \"box\": [200, 200, 300, 50]}}", 0, NULL);
    const json_t *fl[] = {q, o};
    void *jpg = NULL;
    size_t len = 0;
    json_t *rv = bn_review_blob(img, &g, W, fl, 2, gl, fields, 800, 400, &jpg, &len);
    CHECK(json_is_object(rv) && jpg && (size_t)json_integer_value(json_object_get(rv, "bytes")) == len, "a review JPEG");
    bn_image_t *back = jpg ? bn_image_decode(jpg, len, &(bn_decode_limits_t){0}, NULL) : NULL;
    free(jpg);
    json_decref(rv);
    json_decref(q);
    json_decref(o);
    json_decref(gl);
    json_decref(fields);
    bn_image_destroy(&img);
    return back;
}

/* Pixels that differ clearly between a and b, inside and outside the rectangle (photo pixels). */
static void s_diff(const bn_image_t *a, const bn_image_t *b, int x0, int y0, int x1, int y1, int *in, int *out)
{
    *in = *out = 0;
    for (int y = 0; y < a->height; y++)
        for (int x = 0; x < a->width; x++) {
            const uint8_t *p = a->data + ((size_t)y * a->width + x) * 3, *q = b->data + ((size_t)y * b->width + x) * 3;
            int d = abs(p[0] - q[0]) + abs(p[1] - q[1]) + abs(p[2] - q[2]);
            if (d < 90 || y < 80) /* JPEG noise; the list of labels at the top left */
                continue;
            if (x >= x0 && x < x1 && y >= y0 && y < y1)
                (*in)++;
            else
                (*out)++;
        }
}

int main(void)
{
    int n;
    const bn_flag_def_t *t = bn_flag_table(&n);
    int labelled = 1;
    for (int i = 0; i < n; i++)
        labelled &= t[i].label_en && *t[i].label_en && !strchr(t[i].label_en, '_') && strlen(t[i].label_en) <= 32;
    CHECK(labelled, "every flag has a short label (<= 32 characters, words, not a code_name)");

    bn_image_t *plain = s_review("[]", NULL);
    bn_image_t *ocr = s_review("[{\"code\": \"number_checksum_invalid\", \"severity\": \"reject\", \"field\": \"id_number\"}]", NULL);
    bn_image_t *gl = s_review("[{\"code\": \"glare\", \"severity\": \"reshoot\"}]",
                              "{\"size\": [800, 400], \"boxes\": [[600, 50, 100, 100]]}");
    CHECK(plain && ocr && gl && plain->width == W && ocr->width == W && gl->width == W, "reviews drawn at full size");
    if (plain && ocr && gl && plain->width == W && ocr->width == W && gl->width == W) {
        int in, out;
        /* id_number's box [200, 200, 300, 50] on the page is (300..600, 300..350) in the photo;
         * its label above it. */
        s_diff(plain, ocr, 290, 260, 610, 360, &in, &out);
        CHECK(in > 500 && out == 0, "number_checksum_invalid: its field box drawn in its region (%d px), nothing elsewhere (%d)",
              in, out);
        s_diff(plain, gl, 690, 110, 810, 260, &in, &out);
        CHECK(in > 300 && out == 0, "glare: its box drawn in its region (%d px), nothing elsewhere (%d)", in, out);
    }
    bn_image_destroy(&plain);
    bn_image_destroy(&ocr);
    bn_image_destroy(&gl);
    return bn_test_end("img_review");
}
