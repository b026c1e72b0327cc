/* test_ocr_ppocr — the PP-OCR line recogniser (bn_ppocr): a line of digits and capitals drawn
 * with Leptonica's built-in bitmap font must read back exactly; on a generated ID card
 * ($BEIAN_SPECIMENS, when present) the name and number zones must read exactly; bad arguments
 * fail cleanly and a missing model directory is reported, not crashed on. Skipped (77) when the
 * models are not installed (scripts/fetch-models.sh). */
#include "bn_test.h"
#include <dirent.h>
#include <string.h>

#include <leptonica/allheaders.h>

#include "core/bn_error.h"
#include "img/bn_image.h"
#include "ocr/bn_ocr_norm.h"
#include "ocr/bn_ppocr.h"
#include "ocr/bn_zones.h"

static int read_pix(bn_ppocr_t *pp, PIX *p, char *out, size_t cap, double *conf)
{
    PIX *g = pixConvertTo8(p, 0);
    int w = pixGetWidth(g), h = pixGetHeight(g);
    uint8_t *buf = malloc((size_t)w * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            l_uint32 v;
            pixGetPixel(g, x, y, &v);
            buf[(size_t)y * w + x] = (uint8_t)v;
        }
    int n = bn_ppocr_read(pp, buf, w, h, w, 1, out, cap, conf);
    free(buf);
    pixDestroy(&g);
    return n;
}

static void test_synthetic(bn_ppocr_t *pp)
{
    const char *text = "91350100M000100Y43";
    L_BMF *bmf = bmfCreate(NULL, 20);
    CHECK(bmf != NULL, "leptonica bitmap font");
    if (!bmf)
        return;
    PIX *p = pixCreate(800, 64, 8);
    pixSetAll(p);
    l_int32 width = 0, ovf = 0;
    pixSetTextline(p, bmf, text, 0x00000000, 16, 46, &width, &ovf);
    char out[128];
    double conf = 0;
    int n = read_pix(pp, p, out, sizeof out, &conf);
    CHECK(n == (int)strlen(text) && !strcmp(out, text), "read '%s' (%d chars), want '%s'", out, n, text);
    CHECK(conf > 0.5 && conf <= 1.0, "confidence %.3f", conf);
    /* a blank line reads as nothing */
    pixSetAll(p);
    n = read_pix(pp, p, out, sizeof out, &conf);
    CHECK(n == 0 && out[0] == 0 && conf == 0, "blank line read as '%s'", out);
    /* a short buffer truncates at a character boundary, always terminated */
    pixSetTextline(p, bmf, text, 0x00000000, 16, 46, &width, &ovf);
    char small[5];
    read_pix(pp, p, small, sizeof small, NULL);
    CHECK(strlen(small) == 4 && !strncmp(small, text, 4), "truncated to '%s'", small);
    pixDestroy(&p);
    bmfDestroy(&bmf);
}

/* The first clean ID-card front's flat rendering (300 dpi, upright): the name and the number. */
static void test_specimen(bn_ppocr_t *pp)
{
    const char *dir = getenv("BEIAN_SPECIMENS");
    char path[4096];
    snprintf(path, sizeof path, "%s/0000-id-card-front-clean.json", dir ? dir : "");
    size_t n = 0;
    char *js = (char *)bn_test_read(path, &n);
    snprintf(path, sizeof path, "%s/0000-id-card-front.flat.png", dir ? dir : "");
    PIX *flat = js ? pixRead(path) : NULL;
    if (!flat) {
        printf("specimen part skipped: no %s\n", path);
        free(js);
        return;
    }
    json_t *truth = json_loadb(js, n, 0, NULL);
    free(js);
    PIX *grey = pixConvertTo8(flat, 0);
    bn_zoneset_t zs;
    CHECK(bn_zones_get("id-card", "front", &zs) == 0);
    double ppmm = pixGetWidth(grey) / zs.w_mm;
    for (int i = 0; i < zs.nzones; i++) {
        const bn_zone_t *z = &zs.zones[i];
        if (strcmp(z->key, "name") && strcmp(z->key, "id_number"))
            continue;
        int box[4];
        PIX *crop = bn_zone_crop(grey, z, ppmm, 1.0, 0.5, box);
        CHECK(crop != NULL, "crop %s", z->key);
        if (!crop)
            continue;
        /* as the stage does: background flattened (guilloche), text ~48 px high */
        PIX *prep = bn_zone_prepare(crop, 1, 48);
        char out[256], norm[256];
        double conf;
        read_pix(pp, prep, out, sizeof out, &conf);
        bn_norm_field("id-card", z->key, out, norm, sizeof norm); /* full-width digits -> ASCII */
        const char *want = json_string_value(json_object_get(json_object_get(truth, "fields"), z->key));
        /* synthetic data: printing the values is fine */
        CHECK(want && !strcmp(norm, want), "%s: read '%s', want '%s'", z->key, out, want ? want : "?");
        pixDestroy(&prep);
        pixDestroy(&crop);
    }
    json_decref(truth);
    pixDestroy(&grey);
    pixDestroy(&flat);
}

int main(void)
{
    /* a directory without the files: a clean error, not a crash */
    bn_ppocr_t *none = bn_ppocr_new("/nonexistent");
    CHECK(none == NULL && !strcmp(bn_error_code(), "ocr_models_missing"), "missing dir: %s", bn_error_code());

    const char *env = getenv("BEIAN_MODELS");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", env && *env ? env : BEIAN_SOURCE_DIR "/models");
    bn_ppocr_t *pp = bn_ppocr_new(dir);
    if (!pp && !strcmp(bn_error_code(), "ocr_models_missing")) {
        printf("SKIP: PP-OCR models not installed (%s)\n", bn_error_msg());
        return 77;
    }
    CHECK(pp != NULL, "installed models load: %s: %s", bn_error_code(), bn_error_msg()); /* e.g. a layer not registered */
    if (!pp)
        return bn_test_end("test_ocr_ppocr");
    char out[16];
    uint8_t px[4] = {0};
    CHECK(bn_ppocr_read(pp, NULL, 10, 10, 10, 1, out, sizeof out, NULL) == -1, "NULL image");
    CHECK(bn_ppocr_read(pp, px, 1, 1, 1, 1, out, sizeof out, NULL) == -1, "1x1 image");
    CHECK(bn_ppocr_read(pp, px, 2, 2, 1, 1, out, sizeof out, NULL) == -1, "stride < width");
    CHECK(bn_ppocr_read(pp, px, 2, 2, 2, 2, out, sizeof out, NULL) == -1, "2 bands");

    test_synthetic(pp);
    test_specimen(pp);

    bn_ppocr_destroy(&pp);
    CHECK(pp == NULL, "destroy nulls the pointer");
    bn_ppocr_destroy(&pp); /* twice is harmless */

    /* the shared instance: created once, the same pointer after */
    bn_ppocr_t *a = bn_ppocr_shared(NULL), *b = bn_ppocr_shared(NULL);
    CHECK(a != NULL && a == b, "shared instance");
    bn_ppocr_shutdown();
    return bn_test_end("test_ocr_ppocr");
}
