/* PDF uploads (bn_image_decode_page): a page rendered at the configured DPI, the page option,
 * the caps applied to the render, and the refusals — encrypted, active content (also hidden in a
 * compressed object stream or behind #xx name escapes), too many pages, a missing page, a
 * corrupt file, a page that renders too long. Every PDF is written here, byte by byte. */
#include "bn_test.h"
#include "core/bn_error.h"
#include "img/bn_image.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

typedef struct {
    char *buf;
    size_t len, cap;
    size_t offs[4096];
    int nobj;
} pdf_t;

static void s_put(pdf_t *p, const void *d, size_t n)
{
    if (p->len + n + 1 > p->cap) {
        p->cap = (p->len + n + 1) * 2;
        p->buf = realloc(p->buf, p->cap);
    }
    memcpy(p->buf + p->len, d, n);
    p->len += n;
}

static void s_putf(pdf_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_putf(pdf_t *p, const char *fmt, ...)
{
    char tmp[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    s_put(p, tmp, (size_t)n);
}

/* Object number n (1-based, in order) begins here. */
static void s_obj(pdf_t *p) { p->offs[++p->nobj] = p->len; s_putf(p, "%d 0 obj\n", p->nobj); }

static void s_stream(pdf_t *p, const char *dict, const void *data, size_t n)
{
    s_obj(p);
    s_putf(p, "<< %s /Length %zu >>\nstream\n", dict, n);
    s_put(p, data, n);
    s_putf(p, "\nendstream\nendobj\n");
}

static uint8_t *s_deflate(const void *d, size_t n, size_t *out)
{
    uLongf cap = compressBound((uLong)n);
    uint8_t *z = malloc(cap);
    compress2(z, &cap, d, (uLong)n, 9);
    *out = cap;
    return z;
}

/* A PDF of npages pages of w x h points, page i's content contents[i % ncontents]. catalog_extra
 * goes into the catalog, trailer_extra into the trailer; with deflate the contents are
 * FlateDecode streams. Objects: 1 catalog, 2 pages, then page/content pairs. */
static uint8_t *s_pdf(int npages, double w, double h, const char *const *contents, int ncontents, int deflate,
                      const char *catalog_extra, const char *trailer_extra, size_t *size)
{
    pdf_t p = {0};
    s_putf(&p, "%%PDF-1.5\n%%\xe2\xe3\xcf\xd3\n");
    s_obj(&p);
    s_putf(&p, "<< /Type /Catalog /Pages 2 0 R %s >>\nendobj\n", catalog_extra ? catalog_extra : "");
    s_obj(&p);
    s_putf(&p, "<< /Type /Pages /Count %d /Kids [", npages);
    for (int i = 0; i < npages; i++)
        s_putf(&p, " %d 0 R", 3 + 2 * i);
    s_putf(&p, " ] >>\nendobj\n");
    for (int i = 0; i < npages; i++) {
        s_obj(&p);
        s_putf(&p, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Contents %d 0 R >>\nendobj\n", w, h,
               4 + 2 * i);
        const char *c = contents[i % ncontents];
        if (deflate) {
            size_t zn;
            uint8_t *z = s_deflate(c, strlen(c), &zn);
            s_stream(&p, "/Filter /FlateDecode", z, zn);
            free(z);
        } else {
            s_stream(&p, "", c, strlen(c));
        }
    }
    size_t xref = p.len;
    s_putf(&p, "xref\n0 %d\n0000000000 65535 f \n", p.nobj + 1);
    for (int i = 1; i <= p.nobj; i++)
        s_putf(&p, "%010zu 00000 n \n", p.offs[i]);
    s_putf(&p, "trailer\n<< /Size %d /Root 1 0 R %s >>\nstartxref\n%zu\n%%%%EOF\n", p.nobj + 1,
           trailer_extra ? trailer_extra : "", xref);
    *size = p.len;
    return (uint8_t *)p.buf;
}

static const uint8_t *s_px(const bn_image_t *im, int x, int y) { return im->data + ((size_t)y * im->width + x) * 3; }

static int s_dark(const bn_image_t *im, int x, int y) { return s_px(im, x, y)[0] < 60 && s_px(im, x, y)[1] < 60; }
static int s_white(const bn_image_t *im, int x, int y) { return s_px(im, x, y)[0] > 240 && s_px(im, x, y)[2] > 240; }

/* Decode and expect a refusal with this code. */
static void s_refused(const uint8_t *d, size_t n, const bn_decode_limits_t *lim, int page, const char *code,
                      const char *what)
{
    bn_decode_info_t info;
    bn_error_clear();
    bn_image_t *im = bn_image_decode_page(d, n, lim, page, &info);
    CHECK(im == NULL && !strcmp(bn_error_code(), code), "%s: expected %s, got %s (%s)", what, code,
          im ? "an image" : bn_error_code(), bn_error_msg());
    CHECK(!im || !strcmp(info.format, "pdf"));
    bn_image_destroy(&im);
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    if (bn_vips_init() != 0)
        return 1;
    bn_decode_info_t info;
    bn_decode_limits_t lim72 = {.pdf_dpi = 72};
    size_t n;
    /* A black box 10..60 x 10..40 pt from the bottom left of a 100 x 100 pt page. */
    const char *box = "0 0 0 rg 10 10 50 30 re f";
    const char *box_top = "0 0 0 rg 40 70 50 20 re f"; /* 40..90 x 70..90 pt */

    /* Format detection: %PDF- at offset 0. */
    CHECK(!strcmp(bn_image_sniff((const uint8_t *)"%PDF-1.7\n", 9), "pdf"));
    CHECK(bn_image_sniff((const uint8_t *)"xx%PDF-1.7\n", 11) == NULL);

    /* 1. One page at 72 dpi: one pixel per point, the box where the content put it (PDF y runs
     *    up, image rows down). */
    uint8_t *one = s_pdf(1, 100, 100, &box, 1, 0, NULL, NULL, &n);
    size_t one_n = n;
    bn_image_t *im = bn_image_decode_page(one, n, &lim72, 0, &info);
    CHECK(im != NULL, "%s", bn_error_msg());
    if (im) {
        CHECK(im->width == 100 && im->height == 100 && im->bands == 3, "%dx%d", im->width, im->height);
        CHECK(!strcmp(info.format, "pdf") && info.pages == 1 && info.page == 1 && fabs(info.dpi - 72) < 0.01);
        CHECK(s_dark(im, 35, 100 - 25), "box centre");
        CHECK(s_white(im, 90, 10) && s_white(im, 5, 95) && s_white(im, 35, 100 - 50), "outside the box");
        bn_image_destroy(&im);
    }
    /* bn_image_decode is page 1 with the default 200 dpi: 100 pt = 277.8 px. */
    im = bn_image_decode(one, n, NULL, &info);
    CHECK(im && abs(im->width - 278) <= 1 && abs(im->height - 278) <= 1 && fabs(info.dpi - 200) < 0.01,
          "default dpi: %dx%d", im ? im->width : 0, im ? im->height : 0);
    if (im)
        CHECK(s_dark(im, 97, 278 - 69) && s_white(im, 250, 30));
    bn_image_destroy(&im);

    /* 2. The page option: page 2 has the box at the top right; page 3 does not exist. */
    const char *two[] = {box, box_top};
    uint8_t *pp = s_pdf(2, 100, 100, two, 2, 1, NULL, NULL, &n);
    im = bn_image_decode_page(pp, n, &lim72, 2, &info);
    CHECK(im && info.page == 2 && info.pages == 2, "page 2: %s", bn_error_msg());
    if (im) {
        CHECK(s_dark(im, 65, 100 - 80) && s_white(im, 35, 100 - 25), "page 2 is the one rendered");
        bn_image_destroy(&im);
    }
    im = bn_image_decode_page(pp, n, &lim72, 1, &info);
    CHECK(im && s_dark(im, 35, 100 - 25) && s_white(im, 65, 100 - 80), "page 1");
    bn_image_destroy(&im);
    s_refused(pp, n, &lim72, 3, "pdf_page_missing", "page 3 of 2");
    free(pp);

    /* 3. Page count: 300 pages are refused at the default 50, before any page is rendered;
     *    the operator's higher cap lets them through. */
    uint8_t *many = s_pdf(300, 100, 100, &box, 1, 1, NULL, NULL, &n);
    double t0 = s_now();
    s_refused(many, n, NULL, 0, "pdf_too_many_pages", "300 pages");
    printf("300 pages refused in %.3f s\n", s_now() - t0);
    CHECK(s_now() - t0 < 2.0, "refusing 300 pages took %.2f s", s_now() - t0);
    bn_decode_limits_t lots = {.pdf_dpi = 72, .pdf_max_pages = 400};
    im = bn_image_decode_page(many, n, &lots, 300, &info);
    CHECK(im && info.pages == 300 && info.page == 300 && s_dark(im, 35, 75), "page 300: %s", bn_error_msg());
    bn_image_destroy(&im);
    free(many);

    /* 4. Encrypted: the trailer's /Encrypt (also spelt with a name escape). */
    const char *enc = "/Encrypt << /Filter /Standard /V 1 /R 2 /O <00> /U <00> /P -4 >>";
    uint8_t *e = s_pdf(1, 100, 100, &box, 1, 0, NULL, enc, &n);
    s_refused(e, n, NULL, 0, "pdf_encrypted", "/Encrypt");
    free(e);
    e = s_pdf(1, 100, 100, &box, 1, 0, NULL, "/Encr#79pt << /Filter /Standard /V 1 /R 2 /O <00> /U <00> /P -4 >>", &n);
    s_refused(e, n, NULL, 0, "pdf_encrypted", "/Encr#79pt");
    free(e);

    /* 5. Active content: JavaScript on open, a launch action, an escaped name, and JavaScript in
     *    a compressed object stream (PDF 1.5), which the raw bytes do not show. */
    static const char *const actives[] = {
        "/OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >>",
        "/OpenAction << /S /Launch /F (calc.exe) >>",
        "/Names << /JavaScript << /Names [(x) << /S /J#61vaScript /J#53 (1) >>] >> >>",
        "/AA << /O << /S /Launch /Win << /F (cmd.exe) >> >> >>",
    };
    for (size_t k = 0; k < sizeof actives / sizeof *actives; k++) {
        uint8_t *a = s_pdf(1, 100, 100, &box, 1, 0, actives[k], NULL, &n);
        s_refused(a, n, NULL, 0, "pdf_active_content", actives[k]);
        CHECK(bn_pdf_scan(a, n) == -1);
        free(a);
    }
    {
        /* An object stream holding "<< /S /JavaScript /JS (1) >>" as object 3, named from the
         * catalog; the file's own bytes never spell /JS. */
        const char *inner = "3 0 << /S /JavaScript /JS (app.alert\\(1\\)) >>";
        size_t zn;
        uint8_t *z = s_deflate(inner, strlen(inner), &zn);
        pdf_t p = {0};
        s_putf(&p, "%%PDF-1.5\n");
        s_obj(&p);
        s_putf(&p, "<< /Type /Catalog /Pages 2 0 R /OpenAction 3 0 R >>\nendobj\n");
        s_obj(&p);
        s_putf(&p, "<< /Type /Pages /Count 0 /Kids [] >>\nendobj\n");
        char dict[96];
        snprintf(dict, sizeof dict, "/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode");
        s_stream(&p, dict, z, zn);
        free(z);
        CHECK(memmem(p.buf, p.len, "/JS", 3) == NULL && memmem(p.buf, p.len, "JavaScript", 10) == NULL);
        CHECK(bn_pdf_scan((uint8_t *)p.buf, p.len) == -1 && !strcmp(bn_error_code(), "pdf_active_content"),
              "object stream: %s", bn_error_code());
        free(p.buf);
    }
    /* Stream bodies are not dictionaries: "/JS" inside page content is no action. */
    const char *innocent = "% /JS /Launch in a comment of the page content\n0 0 0 rg 10 10 50 30 re f";
    uint8_t *ok = s_pdf(1, 100, 100, &innocent, 1, 0, NULL, NULL, &n);
    CHECK(bn_pdf_scan(ok, n) == 0, "content stream bytes taken for an action: %s", bn_error_msg());
    im = bn_image_decode_page(ok, n, &lim72, 0, &info);
    CHECK(im && s_dark(im, 35, 75));
    bn_image_destroy(&im);
    free(ok);

    /* 6. Corrupt: a header and nothing usable; a file cut in half. The decoder's reason is kept. */
    s_refused((const uint8_t *)"%PDF-1.4\nthis is not a document\n", 33, NULL, 0, "image_corrupt", "junk");
    CHECK(strstr(bn_error_msg(), "PDF") != NULL, "%s", bn_error_msg());
    {
        bn_error_clear();
        im = bn_image_decode_page(one, one_n / 2, NULL, 0, &info);
        /* poppler may rebuild a damaged cross-reference table; what it must not do is crash or
         * return something that is not the page */
        CHECK(im == NULL ? !strcmp(bn_error_code(), "image_corrupt") : im->width == 278,
              "truncated: %s", bn_error_code());
        bn_image_destroy(&im);
    }

    /* 7. Caps apply to the render. 1000 x 1000 pt at 72 dpi is 1 MP: with max_pixels 0.5 MP it
     *    renders at the largest DPI that fits (~50.9); with max_side 100 it would need 7.2 dpi,
     *    under an eighth of pdf_dpi: refused. */
    uint8_t *big = s_pdf(1, 1000, 1000, &box, 1, 0, NULL, NULL, &n);
    bn_decode_limits_t capped = {.pdf_dpi = 72, .max_pixels = 500000};
    im = bn_image_decode_page(big, n, &capped, 0, &info);
    CHECK(im && (uint64_t)im->width * im->height <= 500000 && im->width >= 700 && fabs(info.dpi - 72 * sqrt(0.5)) < 0.5,
          "fitted render: %dx%d at %.1f dpi", im ? im->width : 0, im ? im->height : 0, info.dpi);
    if (im)
        CHECK(s_dark(im, (int)(35 * info.dpi / 72), im->height - 1 - (int)(25 * info.dpi / 72)), "box in the fitted render");
    bn_image_destroy(&im);
    bn_decode_limits_t tiny = {.pdf_dpi = 72, .max_side = 100};
    s_refused(big, n, &tiny, 0, "image_too_large", "page 10x over max_side");
    free(big);
    /* The byte cap is the images' one. */
    bn_decode_limits_t few_bytes = {.max_bytes = 100};
    s_refused(one, one_n, &few_bytes, 0, "image_too_large", "bytes");

    /* 8. Shrink on load, as JPEGs: an A4 page at 200 dpi (1654 x 2339) with shrink_to 500 is
     *    rendered at 50 dpi; the "upload pixels" stay the 200 dpi ones. */
    uint8_t *a4 = s_pdf(1, 595.3, 841.9, &box, 1, 0, NULL, NULL, &n);
    bn_decode_limits_t shr = {.shrink_to = 500};
    im = bn_image_decode_page(a4, n, &shr, 0, &info);
    CHECK(im && info.orig_width == 1654 && info.orig_height == 2339 && fabs(info.shrink - 4) < 0.05 &&
          im->width < 420 && im->height >= 500 && im->height < 590,
          "A4 shrunk: %dx%d of %dx%d, shrink %.2f", im ? im->width : 0, im ? im->height : 0, info.orig_width,
          info.orig_height, info.shrink);
    bn_image_destroy(&im);
    free(a4);

    /* 9. Time: a 30 KB page of 400,000 overlapping filled shapes, rendered strip by strip, stops
     *    at pdf_timeout_ms with image_too_complex. */
    {
        size_t cap = 400000 * 32 + 64, len = 0;
        char *heavy = malloc(cap);
        len += (size_t)snprintf(heavy, cap, "0 0 0 rg\n");
        for (int i = 0; i < 400000; i++)
            len += (size_t)snprintf(heavy + len, cap - len, "%d %d m %d %d l %d %d l f\n", i % 97, i % 89, 600 - i % 83,
                                    i % 79, 300, 840 - i % 71);
        const char *hc = heavy;
        uint8_t *hp = s_pdf(1, 595, 842, &hc, 1, 1, NULL, NULL, &n);
        printf("heavy page: %zu bytes of PDF\n", n);
        bn_decode_limits_t quick = {.pdf_timeout_ms = 300};
        t0 = s_now();
        s_refused(hp, n, &quick, 0, "image_too_complex", "render over the timeout");
        double took = s_now() - t0;
        printf("heavy page refused after %.2f s (timeout 0.3 s)\n", took);
        CHECK(took < 10, "the timeout did not stop the render: %.2f s", took);
        free(hp);
        free(heavy);
    }
    free(one);
    return bn_test_end("img_pdf");
}
