/* Each metric, document finding, rectification, profiles and JPEG fitting on synthesised images
 * whose answer is known by construction. */
#include "bn_test.h"
#include "core/bn_config.h"
#include "core/bn_error.h"
#include "core/bn_job.h"
#include "img/bn_docfind.h"
#include "img/bn_image.h"
#include "img/bn_metrics.h"
#include "img/bn_prepare.h"
#include "img/bn_profile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t s_seed = 12345;
static uint32_t s_rand(void)
{
    s_seed = s_seed * 1103515245u + 12345u;
    return (s_seed >> 8) & 0xFFFFFF;
}

static void s_fill(bn_image_t *im, int r, int g, int b)
{
    for (size_t i = 0; i < (size_t)im->width * im->height; i++)
        im->data[i * 3] = r, im->data[i * 3 + 1] = g, im->data[i * 3 + 2] = b;
}

static void s_rect(bn_image_t *im, int x0, int y0, int w, int h, int r, int g, int b)
{
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++)
            if (x >= 0 && y >= 0 && x < im->width && y < im->height) {
                uint8_t *p = im->data + ((size_t)y * im->width + x) * 3;
                p[0] = r, p[1] = g, p[2] = b;
            }
}

/* A text-like page: light paper with dark random strokes ("glyphs") in lines. */
static bn_image_t *s_page(int w, int h)
{
    bn_image_t *im = bn_image_new(w, h, 3);
    s_fill(im, 225, 232, 240);
    for (int line = 20; line + 24 < h; line += 40)
        for (int x = 20; x + 16 < w; x += 22)
            for (int k = 0; k < 3; k++) {
                int horiz = s_rand() & 1;
                s_rect(im, x + (int)(s_rand() % 12), line + (int)(s_rand() % 16), horiz ? 12 : 3, horiz ? 3 : 14, 30,
                       30, 40);
            }
    return im;
}

/* Box blur radius r, by repeated shrink/enlarge through the library's resize. */
static bn_image_t *s_blurred(const bn_image_t *im, int f)
{
    bn_image_t *small = bn_image_resize(im, im->width / f, im->height / f);
    bn_image_t *big = bn_image_resize(small, im->width, im->height);
    bn_image_destroy(&small);
    return big;
}

/* Point-in-convex-quad fill: the "card" of a synthetic scene. */
static void s_quad(bn_image_t *im, const bn_point_t q[4], int r, int g, int b)
{
    for (int y = 0; y < im->height; y++)
        for (int x = 0; x < im->width; x++) {
            int inside = 1;
            for (int i = 0; i < 4 && inside; i++) {
                bn_point_t a = q[i], c = q[(i + 1) % 4];
                inside = (c.x - a.x) * (y - a.y) - (c.y - a.y) * (x - a.x) >= 0;
            }
            if (inside) {
                uint8_t *p = im->data + ((size_t)y * im->width + x) * 3;
                p[0] = r, p[1] = g, p[2] = b;
            }
        }
}

static bn_image_t *s_scene(int w, int h, const bn_point_t q[4])
{
    bn_image_t *im = bn_image_new(w, h, 3);
    for (size_t i = 0; i < (size_t)w * h; i++) {
        int n = (int)(s_rand() % 20);
        im->data[i * 3] = 90 + n, im->data[i * 3 + 1] = 70 + n, im->data[i * 3 + 2] = 50 + n;
    }
    s_quad(im, q, 215, 225, 235);
    return im;
}

static void test_sharpness(void)
{
    bn_image_t *page = s_page(800, 500), *soft = s_blurred(page, 6);
    double s1 = bn_metric_sharpness(page), s2 = bn_metric_sharpness(soft);
    CHECK(s1 > 0.58 && s2 < 0.58 && s1 > s2 + 0.15);
    CHECK(bn_metric_laplacian_var(page) > 10 * bn_metric_laplacian_var(soft));
    /* Contrast-independent: a half-contrast copy scores about the same. */
    bn_image_t *low = bn_image_new(page->width, page->height, 3);
    for (size_t i = 0; i < (size_t)page->width * page->height * 3; i++)
        low->data[i] = 128 + (page->data[i] - 128) / 2;
    CHECK(fabs(bn_metric_sharpness(low) - s1) < 0.08);
    bn_image_destroy(&low);
    bn_image_destroy(&page);
    bn_image_destroy(&soft);
}

static void test_glare_brightness_colour(void)
{
    bn_image_t *im = bn_image_new(400, 300, 3);
    s_fill(im, 120, 160, 200);
    bn_rect_t boxes[BN_MAX_GLARE];
    int nb = 0;
    CHECK(bn_metric_glare(im, NULL, boxes, &nb) == 0 && nb == 0);
    double mean, p5, p95, clip;
    bn_metric_brightness(im, &mean, &p5, &p95, &clip);
    CHECK(fabs(mean - (0.299 * 120 + 0.587 * 160 + 0.114 * 200)) < 1 && clip == 0);
    double chroma;
    double cf = bn_metric_colourfulness(im, &chroma);
    CHECK(cf > 15 && chroma == 80);
    /* A 60x40 saturated white blob: 2 % of the area, one box around it. */
    s_rect(im, 100, 100, 60, 40, 255, 255, 255);
    double gf = bn_metric_glare(im, NULL, boxes, &nb);
    CHECK(gf > 0.018 && gf < 0.022 && nb == 1);
    CHECK(nb == 1 && boxes[0].x == 100 && boxes[0].y == 100 && boxes[0].w == 60 && boxes[0].h == 40);
    /* Tiny white specks (print, highlights) are not glare. */
    s_fill(im, 120, 160, 200);
    for (int k = 0; k < 50; k++)
        s_rect(im, (int)(s_rand() % 390), (int)(s_rand() % 290), 3, 3, 255, 255, 255);
    CHECK(bn_metric_glare(im, NULL, boxes, &nb) == 0);
    /* Bright but coloured is not glare (a yellow area). */
    s_rect(im, 50, 50, 100, 100, 255, 255, 120);
    CHECK(bn_metric_glare(im, NULL, boxes, &nb) == 0);
    /* Colour that is not a seal's: a copy on white paper has only its stamped red seal. */
    s_fill(im, 250, 250, 250);
    s_rect(im, 100, 100, 100, 50, 40, 40, 40);    /* black print */
    s_rect(im, 250, 150, 60, 60, 220, 40, 50);    /* a red seal: 3 % of the page */
    s_rect(im, 20, 20, 40, 40, 200, 40, 90);      /* crimson, hue 341 (red's other side) */
    CHECK(bn_metric_colour_nonred(im) == 0, "red and magenta only: %.4f", bn_metric_colour_nonred(im));
    s_rect(im, 0, 290, 400, 10, 150, 110, 60);    /* a brown border line: 3.3 % */
    double nr = bn_metric_colour_nonred(im);
    CHECK(fabs(nr - 4000.0 / 120000) < 1e-9, "brown border: %.4f", nr);
    s_rect(im, 0, 280, 400, 10, 120, 160, 200);   /* a blue band */
    CHECK(bn_metric_colour_nonred(im) > nr);
    /* Grey has no colour; dark is dark. */
    s_fill(im, 40, 40, 40);
    CHECK(bn_metric_colour_nonred(im) == 0);
    CHECK(bn_metric_colourfulness(im, NULL) < 0.01);
    bn_metric_brightness(im, &mean, &p5, &p95, &clip);
    CHECK(mean < 41 && p95 <= 40);
    bn_image_destroy(&im);
}

static void test_tones(void)
{
    /* A photocopy: paper white and black toner only. */
    bn_image_t *im = bn_image_new(300, 200, 3);
    s_fill(im, 252, 252, 252);
    for (int k = 0; k < 80; k++)
        s_rect(im, (int)(s_rand() % 290), (int)(s_rand() % 190), 8, 3, 20, 20, 20);
    double mid, paper;
    bn_metric_tones(im, &mid, &paper);
    CHECK(mid < 0.01 && paper >= 250);
    /* A photo: a smooth gradient has many mid-tones. */
    for (int y = 0; y < 200; y++)
        for (int x = 0; x < 300; x++)
            s_rect(im, x, y, 1, 1, 60 + x * 190 / 300, 60 + x * 190 / 300, 60 + x * 190 / 300);
    bn_metric_tones(im, &mid, &paper);
    CHECK(mid > 0.2);
    bn_image_destroy(&im);
}

static void test_moire(void)
{
    bn_image_t *page = s_page(512, 512);
    double clean = bn_metric_moire(page);
    /* Screen: RGB sub-pixel stripes of 3.5 px period over the page. */
    bn_image_t *scr = bn_image_new(512, 512, 3);
    for (int y = 0; y < 512; y++)
        for (int x = 0; x < 512; x++)
            for (int c = 0; c < 3; c++) {
                double u = (x + 0.05 * y) / 3.5 - c / 3.0;
                double s = 0.35 + 0.65 * (0.5 + 0.5 * cos(2 * M_PI * u));
                size_t i = ((size_t)y * 512 + x) * 3 + c;
                scr->data[i] = (uint8_t)(page->data[i] * s);
            }
    double screen = bn_metric_moire(scr);
    CHECK(clean < 2.2);
    CHECK(screen > 2.6 && screen > clean + 1);
    bn_image_destroy(&page);
    bn_image_destroy(&scr);
}

static void test_docfind(void)
{
    /* An ID-1 sized card (aspect 1.585) in perspective on a textured table. */
    bn_point_t q[4] = {{210, 160}, {810, 180}, {800, 560}, {200, 540}};
    bn_image_t *im = s_scene(1000, 750, q);
    bn_docgeom_t g;
    CHECK(bn_doc_find(im, "id-card", &g) == 0);
    CHECK(g.found && g.corners_inside == 4);
    for (int i = 0; g.found && i < 4; i++)
        CHECK(fabs(g.corners[i].x - q[i].x) < 8 && fabs(g.corners[i].y - q[i].y) < 8);
    CHECK(g.area_fraction > 0.25 && g.area_fraction < 0.36);
    CHECK(g.rotation == 0 && fabs(g.skew_deg - 1.9) < 1.5);
    bn_image_t *rect = g.found ? bn_doc_rectify(im, &g, "id-card", 300) : NULL;
    CHECK(rect && rect->width == 1011 && rect->height == 638);
    if (rect) /* all card inside: the centre and near-corner pixels are card colour */
        CHECK(rect->data[((size_t)319 * 1011 + 505) * 3] == 215 && rect->data[((size_t)20 * 1011 + 20) * 3 + 2] == 235);
    bn_image_destroy(&rect);
    bn_image_destroy(&im);

    /* A licence photographed at a slant: the quadrilateral measures 1.63:1, the paper is A-series
     * (sqrt 2). The page must come back at the paper's aspect: a page squeezed to the measured
     * one put every OCR zone of a licence a row too low. */
    {
        bn_docgeom_t lg = {.found = 1, .corners = {{100, 100}, {1730, 100}, {1730, 1100}, {100, 1100}}};
        bn_image_t *big = bn_image_new(1900, 1200, 3);
        bn_image_t *lic = big ? bn_doc_rectify(big, &lg, "business-license", 300) : NULL;
        CHECK(lic && lic->width == 2000 && abs(lic->height - 1414) <= 1, "licence page %dx%d",
              lic ? lic->width : 0, lic ? lic->height : 0);
        bn_image_destroy(&lic);
        bn_image_destroy(&big);
    }

    /* The card on its side: a quarter turn is needed. */
    bn_point_t qs[4] = {{300, 100}, {680, 100}, {680, 700}, {300, 700}};
    im = s_scene(1000, 800, qs);
    CHECK(bn_doc_find(im, "id-card", &g) == 0 && g.found);
    CHECK(g.rotation == 90 || g.rotation == 270);
    bn_image_destroy(&im);

    /* Cut by the frame: two corners outside, still a full quadrilateral, extrapolated. */
    bn_point_t qc[4] = {{400, 200}, {1100, 210}, {1095, 650}, {395, 640}};
    im = s_scene(1000, 750, qc);
    CHECK(bn_doc_find(im, "id-card", &g) == 0 && g.found);
    CHECK(g.corners_inside == 2);
    CHECK(g.corners[1].x > 1000 && g.corners[2].x > 1000);
    bn_image_destroy(&im);

    /* Nothing but table. */
    bn_point_t none[4] = {{0, 0}, {0, 0}, {0, 0}, {0, 0}};
    im = s_scene(800, 600, none);
    CHECK(bn_doc_find(im, "id-card", &g) == 0 && !g.found);
    bn_image_destroy(&im);

    double w, h;
    CHECK(bn_doc_canonical_mm("passport", &w, &h) == 0 && w == 125 && h == 88);
    CHECK(bn_doc_canonical_mm("taiwan-permit:back", &w, &h) == 0 && w == 85.6 && h == 54);
    CHECK(bn_doc_canonical_mm("nonsense", &w, &h) == -1);
}

static void test_profiles_and_prepare(void)
{
    bn_profile_t p;
    CHECK(bn_profile_get(NULL, NULL, &p) == 0 && strcmp(p.name, "default") == 0);
    CHECK(p.min_bytes == 55 * 1024 && p.max_bytes == 3 * 1024 * 1024 && p.min_long_side == 1000);
    CHECK(bn_profile_get(NULL, "cnnic", &p) == 0 && p.max_bytes == 500 * 1024);
    CHECK(bn_profile_get(NULL, "no-such-provider", &p) == -1 && strcmp(p.name, "default") == 0);
    /* The submit check's copy of the names (lib/core cannot link this library) is the same list. */
    const char *const *img_names = bn_profile_names(), *const *core_names = bn_job_profile_names();
    int same = 1, k = 0;
    for (; img_names[k] && core_names[k]; k++)
        same &= strcmp(img_names[k], core_names[k]) == 0;
    CHECK(same && !img_names[k] && !core_names[k], "bn_job_profile_names() == bn_profile_names()");
    json_t *root = json_pack("{s:{s:{s:i}}}", "profiles", "cnnic", "max_bytes", 200000);
    bn_config_t *cfg = bn_config_from_json(root);
    CHECK(bn_profile_get(cfg, "cnnic", &p) == 0 && p.max_bytes == 200000 && p.min_bytes == 50 * 1024);

    /* A noisy 1011x638 card: fits the window by quality or by scale, with the sides in range. */
    bn_image_t *im = s_page(1011, 638);
    for (size_t i = 0; i < (size_t)1011 * 638 * 3; i++)
        im->data[i] = (uint8_t)(im->data[i] + (s_rand() % 24) - 12);
    bn_prepared_info_t pi;
    void *jpg = bn_prepare_jpeg(im, &p, &pi);
    CHECK(jpg && pi.fits && pi.bytes >= p.min_bytes && pi.bytes <= p.max_bytes);
    CHECK(pi.width >= 1000 && pi.width <= 5000);
    free(jpg);
    /* A flat card is tiny as JPEG: the window's lower bound is reached by enlarging. */
    bn_profile_get(NULL, "default", &p);
    s_fill(im, 200, 210, 220);
    s_rect(im, 100, 100, 300, 40, 20, 20, 20);
    jpg = bn_prepare_jpeg(im, &p, &pi);
    CHECK(jpg && pi.bytes >= p.min_bytes && pi.fits);
    free(jpg);

    /* Watermark: drawn, and on the blank half, not on the printed block. */
    bn_image_t *wm = s_page(1011, 638);
    s_rect(wm, 0, 0, 1011, 319, 225, 232, 240); /* top half blank */
    bn_image_t *orig = bn_image_resize(wm, wm->width, wm->height);
    CHECK(bn_watermark_apply(wm, NULL, "仅供备案使用") == 0);
    size_t changed_top = 0, changed_bottom = 0;
    for (size_t i = 0; i < (size_t)1011 * 638 * 3; i++)
        if (wm->data[i] != orig->data[i])
            *(i / 3 / 1011 < 319 ? &changed_top : &changed_bottom) += 1;
    CHECK(changed_top > 1000 && changed_bottom == 0);
    bn_image_destroy(&wm);
    bn_image_destroy(&orig);
    bn_image_destroy(&im);
    bn_config_destroy(&cfg);
    json_decref(root);
}

int main(void)
{
    test_sharpness();
    test_glare_brightness_colour();
    test_tones();
    test_moire();
    test_docfind();
    test_profiles_and_prepare();
    return bn_test_end("test_img_metrics");
}
