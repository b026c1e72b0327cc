/* The face stage on public-domain images that Debian packages ship (facedetect's examples:
 * Grace Hopper's portrait, an ice block without a face): the same face survives rescaling,
 * JPEG, grey and printing onto a card; a scene without a face, a group, a dark, a blurred and a
 * distant face each get their flag; bad input never crashes. Skips (77) without the models. */
#include "bn_test.h"
#include "core/bn_config.h"
#include "core/bn_error.h"
#include "face/bn_face.h"
#include "img/bn_docfind.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOPPER "/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg"
#define ICE "/usr/share/doc/facedetect/examples/640px-IceBlockNearJoekullsarlon.jpg"


/* ---- image helpers (plain C, so the test does not lean on the code under test) ---- */

static bn_image_t *resize(const bn_image_t *s, int w, int h)
{
    bn_image_t *d = bn_image_new(w, h, s->bands);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double fx = (x + 0.5) * s->width / w - 0.5, fy = (y + 0.5) * s->height / h - 0.5;
            int x0 = fx < 0 ? 0 : (int)fx, y0 = fy < 0 ? 0 : (int)fy;
            int x1 = x0 + 1 < s->width ? x0 + 1 : x0, y1 = y0 + 1 < s->height ? y0 + 1 : y0;
            double ax = fx - x0 < 0 ? 0 : fx - x0, ay = fy - y0 < 0 ? 0 : fy - y0;
            for (int c = 0; c < s->bands; c++) {
                const uint8_t *p = s->data;
                int B = s->bands, W = s->width;
                double v = (1 - ay) * ((1 - ax) * p[(y0 * W + x0) * B + c] + ax * p[(y0 * W + x1) * B + c]) +
                           ay * ((1 - ax) * p[(y1 * W + x0) * B + c] + ax * p[(y1 * W + x1) * B + c]);
                d->data[(y * w + x) * d->bands + c] = (uint8_t)(v + 0.5);
            }
        }
    return d;
}

static bn_image_t *canvas(int w, int h, uint8_t r, uint8_t g, uint8_t b)
{
    bn_image_t *d = bn_image_new(w, h, 3);
    for (int i = 0; i < w * h; i++)
        d->data[i * 3] = r, d->data[i * 3 + 1] = g, d->data[i * 3 + 2] = b;
    return d;
}

static void paste(bn_image_t *dst, const bn_image_t *src, int x0, int y0)
{
    for (int y = 0; y < src->height && y + y0 < dst->height; y++)
        for (int x = 0; x < src->width && x + x0 < dst->width; x++)
            memcpy(dst->data + ((size_t)(y + y0) * dst->width + x + x0) * 3,
                   src->data + ((size_t)y * src->width + x) * 3, 3);
}

static bn_image_t *grey(const bn_image_t *s, int bands)
{
    bn_image_t *d = bn_image_new(s->width, s->height, bands);
    for (int i = 0; i < s->width * s->height; i++) {
        const uint8_t *p = s->data + i * 3;
        uint8_t v = (uint8_t)(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] + 0.5);
        for (int c = 0; c < bands; c++)
            d->data[i * bands + c] = v;
    }
    return d;
}

static bn_image_t *scale_values(const bn_image_t *s, double k)
{
    bn_image_t *d = bn_image_new(s->width, s->height, s->bands);
    for (size_t i = 0; i < (size_t)s->width * s->height * s->bands; i++)
        d->data[i] = (uint8_t)(s->data[i] * k);
    return d;
}

/* Box blur of radius r, three passes (close to a Gaussian): an out-of-focus selfie. */
static bn_image_t *blur(const bn_image_t *s, int r)
{
    bn_image_t *a = bn_image_new(s->width, s->height, 3), *b = bn_image_new(s->width, s->height, 3);
    memcpy(a->data, s->data, (size_t)s->width * s->height * 3);
    for (int pass = 0; pass < 6; pass++) {
        int horiz = pass % 2 == 0;
        for (int y = 0; y < s->height; y++)
            for (int x = 0; x < s->width; x++)
                for (int c = 0; c < 3; c++) {
                    int sum = 0, n = 0;
                    for (int k = -r; k <= r; k++) {
                        int xx = horiz ? x + k : x, yy = horiz ? y : y + k;
                        if (xx < 0 || yy < 0 || xx >= s->width || yy >= s->height)
                            continue;
                        sum += a->data[((size_t)yy * s->width + xx) * 3 + c], n++;
                    }
                    b->data[((size_t)y * s->width + x) * 3 + c] = (uint8_t)(sum / n);
                }
        bn_image_t *t = a;
        a = b, b = t;
    }
    bn_image_destroy(&b);
    return a;
}

/* ---- stage helpers ---- */

static bn_config_t *s_cfg;
static float s_ref[BN_FACE_EMB_MAX];
static int s_dim;

static double score_vs_ref(const bn_image_t *img, const char *what)
{
    bn_face_probe_t p;
    if (bn_face_probe(s_cfg, img, BN_FACE_SELFIE, NULL, NULL, &p) < 0) {
        fprintf(stderr, "%s: %s\n", what, bn_error_msg());
        return -2;
    }
    double s = p.found ? bn_facenet_cosine(s_ref, p.emb, s_dim) : -1;
    printf("%-28s found %d size %4.0f bright %5.1f sharp %7.1f yaw %+.2f  score %.4f\n", what, p.found,
           p.face.size, p.face.brightness, p.face.sharpness, p.face.yaw, s);
    bn_face_probe_clear(&p);
    return s;
}

static const json_t *s_hints;

static json_t *run(const uint8_t *doc, size_t dn, const char *doc_type, const uint8_t *selfie, size_t sn)
{
    bn_task_t t = {0};
    t.hints = s_hints;
    t.stage = "face";
    t.doc_type = doc_type;
    t.doc_side = "front";
    t.image = doc, t.image_size = dn;
    t.selfie = selfie, t.selfie_size = sn;
    t.config = s_cfg;
    bn_stage_result_t r;
    if (bn_face_run(&t, &r) < 0) {
        fprintf(stderr, "bn_face_run: %s: %s\n", bn_error_code(), bn_error_msg());
        return NULL;
    }
    json_t *j = json_incref(r.json);
    bn_stage_result_clear(&r);
    return j;
}

static json_t *run_img(const uint8_t *doc, size_t dn, const bn_image_t *selfie)
{
    size_t n = 0;
    void *jpg = bn_image_encode_jpeg(selfie, 92, &n);
    json_t *j = jpg ? run(doc, dn, "id-card", jpg, n) : NULL;
    free(jpg);
    return j;
}

static json_t *find_flag(const json_t *res, const char *code)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(res, "flags"), i, f)
        if (strcmp(json_string_value(json_object_get(f, "code")), code) == 0)
            return f;
    return NULL;
}

static void print_flags(const char *what, const json_t *res)
{
    size_t i;
    json_t *f;
    printf("%-28s score %s flags:", what, json_is_number(json_object_get(res, "score")) ? "set" : "null");
    json_array_foreach(json_object_get(res, "flags"), i, f)
        printf(" %s", json_string_value(json_object_get(f, "code")));
    printf("\n");
}

int main(void)
{
    s_cfg = bn_config_from_json(NULL);
    if (!bn_facenet_available(s_cfg)) {
        char dir[512];
        printf("SKIP: face models not in %s (run scripts/fetch-models.sh)\n",
               bn_facenet_models_dir(s_cfg, dir, sizeof dir));
        return 77;
    }
    size_t hn = 0, in = 0;
    uint8_t *hopper = bn_test_read(HOPPER, &hn), *ice = bn_test_read(ICE, &in);
    if (!hopper || !ice) {
        printf("SKIP: %s or %s missing (Debian package facedetect)\n", HOPPER, ICE);
        return 77;
    }
    double thr = bn_config_num(s_cfg, "face.threshold", 0.40);
    bn_facenet_set_threads(1);

    bn_image_t *h = bn_face_decode(hopper, hn, 0);
    CHECK(h && h->width == 512, "decode");
    bn_face_probe_t p;
    CHECK(bn_face_probe(s_cfg, h, BN_FACE_SELFIE, NULL, NULL, &p) == 0, "%s", bn_error_msg());
    CHECK(p.found && p.count == 1, "found %d count %d", p.found, p.count);
    CHECK(p.dim > 0 && p.face.size > 120 && p.face.size < 400, "dim %d size %.0f", p.dim, p.face.size);
    /* The face is in the middle of the portrait, eyes above the mouth, level. */
    CHECK(p.face.x > 100 && p.face.x + p.face.w < 420 && p.face.pts[0][1] < p.face.pts[3][1] &&
              p.face.pts[0][0] < p.face.pts[1][0] && fabs(p.face.roll_deg) < 10,
          "geometry");
    memcpy(s_ref, p.emb, sizeof s_ref);
    s_dim = p.dim;
    bn_face_probe_clear(&p);
    CHECK(p.found == 0 && p.emb[0] == 0, "probe clear zeroes");

    /* ---- the same face, altered: must still match ---- */
    bn_image_t *small = resize(h, 256, 256), *big = resize(h, 900, 900), *g3 = grey(h, 3), *g1 = grey(h, 1);
    CHECK(score_vs_ref(small, "rescaled 0.5x") >= thr, "half size");
    CHECK(score_vs_ref(big, "rescaled 1.76x") >= thr, "enlarged");
    CHECK(score_vs_ref(g3, "grey (3 bands)") >= thr, "grey");
    CHECK(score_vs_ref(g1, "grey (1 band)") >= thr, "grey 1 band");
    size_t jn = 0;
    void *jq = bn_image_encode_jpeg(small, 25, &jn);
    bn_image_t *jimg = jq ? bn_face_decode(jq, jn, 0) : NULL;
    CHECK(jimg && score_vs_ref(jimg, "JPEG q25 at 0.5x") >= thr, "jpeg");
    free(jq);

    /* ---- printed on a card: a synthetic ID-1 card (85.6 × 54 mm at ~11.8 px/mm) with guilloche-ish
     * stripes, text bars and the portrait in the id-card:front zone, photographed on a table ---- */
    bn_image_t *card = canvas(1012, 638, 226, 232, 240);
    for (int y = 0; y < card->height; y++)
        for (int x = 0; x < card->width; x++)
            if ((x + 2 * y) % 23 < 2)
                card->data[((size_t)y * card->width + x) * 3 + 0] = 200;
    for (int i = 0; i < 6; i++) {
        bn_image_t *bar = canvas(280 + 37 * (i % 3), 22, 50, 50, 60);
        paste(card, bar, 60, 70 + 75 * i);
        bn_image_destroy(&bar);
    }
    bn_image_t *por = resize(h, 307, 378); /* 26 × 32 mm at (56, 5) mm */
    paste(card, por, 662, 59);
    bn_image_t *scene = canvas(1600, 1200, 90, 80, 70);
    paste(scene, card, 290, 280);
    size_t cn = 0;
    void *cjpg = bn_image_encode_jpeg(scene, 85, &cn);
    json_t *res = cjpg ? run(cjpg, cn, "id-card", hopper, hn) : NULL;
    CHECK(res != NULL, "card run");
    if (res) {
        print_flags("synthetic card vs selfie", res);
        double s = json_number_value(json_object_get(res, "score"));
        printf("%-28s score %.4f\n", "synthetic card vs selfie", s);
        CHECK(json_is_true(json_object_get(res, "match")) && s >= thr, "card match %.4f", s);
        CHECK(json_is_real(json_object_get(res, "threshold")), "threshold");
        CHECK(json_is_object(json_object_get(res, "document_face")) && json_is_object(json_object_get(res, "selfie_face")),
              "face objects");
        CHECK(json_is_true(json_object_get(json_object_get(res, "liveness"), "advisory")), "liveness advisory");
        CHECK(!find_flag(res, "face_mismatch") && !find_flag(res, "no_face") && !find_flag(res, "multiple_faces"),
              "no flags expected");
        json_decref(res);
    }
    /* With the quality stage's outline of the card as a hint (upload pixels; here the scene is
     * decoded at full size), the face is taken from the portrait zone of the rectified card. */
    json_t *hints = json_pack("{s:{s:{s:b, s:[[f,f],[f,f],[f,f],[f,f]], s:i, s:f, s:f, s:i, s:f}, s:{s:i}}}",
                              "quality", "geometry", "found", 1, "corners", 290.0, 280.0, 1302.0, 280.0,
                              1302.0, 918.0, 290.0, 918.0, "rotation", 0, "skew_deg", 0.0, "area_fraction",
                              0.336, "corners_inside", 4, "confidence", 0.9, "quality", "width", 1600);
    s_hints = hints;
    res = cjpg ? run(cjpg, cn, "id-card", hopper, hn) : NULL;
    s_hints = NULL;
    CHECK(res && json_is_true(json_object_get(res, "match")), "card with hint");
    const char *frame = json_string_value(json_object_get(json_object_get(res, "document_face"), "frame"));
    CHECK(frame && strcmp(frame, "portrait") == 0, "frame %s", frame ? frame : "(none)");
    if (res)
        printf("%-28s score %.4f frame %s\n", "card with quality hint", json_number_value(json_object_get(res, "score")),
               frame ? frame : "-");
    json_decref(res);
    json_decref(hints);
    /* Without the hint, the stage finds the card itself (bn_doc_find; named here so the linker
     * brings document finding into this test, as it does into the workers). */
    bn_image_t *sc = bn_face_decode(cjpg, cn, 0);
    bn_docgeom_t geom;
    CHECK(sc && bn_doc_find(sc, "id-card", &geom) == 0, "doc find");
    bn_image_destroy(&sc);
    res = cjpg ? run(cjpg, cn, "id-card", hopper, hn) : NULL;
    CHECK(res && json_is_true(json_object_get(res, "match")), "card found by the stage");
    if (res)
        printf("%-28s score %.4f frame %s (document found: %d)\n", "card, no hint",
               json_number_value(json_object_get(res, "score")),
               json_string_value(json_object_get(json_object_get(res, "document_face"), "frame")), geom.found);
    json_decref(res);
    free(cjpg);

    /* The project's specimen generator with this portrait, when it runs here (python3 + fonts). */
    const char *src = getenv("BEIAN_SRC") ? getenv("BEIAN_SRC") : BEIAN_SOURCE_DIR;
    char tmpl[] = "/tmp/test_face_match.XXXXXX", cmd[2048], path[1200];
    if (mkdtemp(tmpl)) {
        snprintf(cmd, sizeof cmd,
                 "mkdir -p %s/por && cp %s %s/por/ && timeout 120 /usr/bin/python3 %s/tests/specgen/specgen.py "
                 "--out %s/out --seed 7 --set face --types id-card --count 0.1 --portraits %s/por >/dev/null 2>&1",
                 tmpl, HOPPER, tmpl, src, tmpl, tmpl);
        snprintf(path, sizeof path, "%s/out/0000-id-card-front-face.jpg", tmpl);
        size_t sn = 0;
        uint8_t *spec = system(cmd) == 0 ? bn_test_read(path, &sn) : NULL;
        if (!spec) {
            printf("note: specgen scene not available; the synthetic card above stands in\n");
        } else {
            res = run(spec, sn, "id-card", hopper, hn);
            CHECK(res != NULL, "specgen run");
            if (res) {
                double s = json_number_value(json_object_get(res, "score"));
                printf("%-28s score %.4f\n", "specgen card vs selfie", s);
                print_flags("specgen card vs selfie", res);
                CHECK(json_is_true(json_object_get(res, "match")), "specgen card match %.4f", s);
                json_decref(res);
            }
            free(spec);
        }
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmpl);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", tmpl);
    }

    /* ---- flags ---- */
    res = run(hopper, hn, "id-card", ice, in);
    CHECK(res && find_flag(res, "no_face") && json_is_null(json_object_get(res, "score")) &&
              json_is_false(json_object_get(res, "match")) && json_is_null(json_object_get(res, "selfie_face")),
          "ice block: no_face");
    if (res) {
        json_t *f = find_flag(res, "no_face");
        CHECK(f && strcmp(json_string_value(json_object_get(f, "subject")), "selfie") == 0, "subject");
        print_flags("no face", res);
    }
    json_decref(res);

    bn_image_t *group = canvas(1100, 560, 120, 130, 140), *h2 = resize(h, 440, 440);
    paste(group, h, 10, 20);
    paste(group, h2, 620, 60);
    res = run_img(hopper, hn, group);
    CHECK(res && find_flag(res, "multiple_faces"), "group: multiple_faces");
    CHECK(res && json_integer_value(json_object_get(json_object_get(res, "selfie_face"), "faces")) == 2, "2 faces");
    if (res)
        print_flags("group of two", res);
    json_decref(res);

    bn_image_t *dark = scale_values(h, 0.25);
    res = run_img(hopper, hn, dark);
    CHECK(res && find_flag(res, "face_too_dark"), "dark");
    CHECK(res && !find_flag(res, "face_blurry"), "dark is not blurry");
    if (res)
        print_flags("dark", res);
    json_decref(res);

    bn_image_t *blurred = blur(h, 7);
    res = run_img(hopper, hn, blurred);
    CHECK(res && find_flag(res, "face_blurry") && !find_flag(res, "face_too_dark"), "blurred");
    if (res)
        print_flags("blurred", res);
    json_decref(res);

    bn_image_t *far = canvas(1280, 960, 100, 110, 120), *tiny = resize(h, 180, 180);
    paste(far, tiny, 550, 400);
    res = run_img(hopper, hn, far);
    CHECK(res && find_flag(res, "face_too_small") && json_is_true(json_object_get(res, "match")), "far away");
    if (res)
        print_flags("far away", res);
    json_decref(res);

    /* A clean selfie carries no selfie flag. */
    res = run(hopper, hn, "id-card", hopper, hn);
    CHECK(res && json_array_size(json_object_get(res, "flags")) == 0 && json_number_value(json_object_get(res, "score")) > 0.99,
          "clean pair");
    json_decref(res);

    /* ---- bad input: verdicts or errors, never a crash ---- */
    uint8_t junk[300];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 7 + 3);
    junk[0] = 0xFF, junk[1] = 0xD8; /* a JPEG that is not */
    res = run(hopper, hn, "id-card", junk, sizeof junk);
    CHECK(res && find_flag(res, "no_face") && json_object_get(find_flag(res, "no_face"), "reason"), "junk selfie");
    json_decref(res);
    bn_image_t *speck = resize(h, 6, 6);
    res = run_img(hopper, hn, speck); /* a 6×6 "selfie" */
    CHECK(res && find_flag(res, "no_face"), "tiny selfie");
    json_decref(res);
    bn_image_destroy(&speck);
    res = run(hopper, hn / 2, "passport", hopper, hn); /* truncated document */
    CHECK(res != NULL, "truncated document does not fail the task");
    json_decref(res);
    bn_task_t t = {0};
    bn_stage_result_t r;
    t.image = hopper, t.image_size = hn, t.config = s_cfg;
    CHECK(bn_face_run(&t, &r) == -1 && strcmp(bn_error_code(), "invalid_task") == 0, "no selfie");

    /* Two people: Grace Hopper and the NASA astronaut portrait (both public domain, both from
     * Debian packages; scripts/fetch-testdata.sh extracts the second from python3-skimage). */
    char apath[1200];
    snprintf(apath, sizeof apath, "%s/tests/data/astronaut.png",
             getenv("BEIAN_SRC") ? getenv("BEIAN_SRC") : BEIAN_SOURCE_DIR);
    size_t an = 0;
    uint8_t *astro = bn_test_read(apath, &an);
    if (!astro) {
        printf("note: %s absent (scripts/fetch-testdata.sh): two-people checks not run\n", apath);
    } else {
        res = run(hopper, hn, "passport", astro, an);
        CHECK(res && json_is_false(json_object_get(res, "match")) && find_flag(res, "face_mismatch"),
              "Grace Hopper's document vs the astronaut's selfie: no match");
        printf("hopper vs astronaut score %.4f\n", json_real_value(json_object_get(res, "score")));
        json_decref(res);
        res = run(astro, an, "passport", hopper, hn);
        CHECK(res && json_is_false(json_object_get(res, "match")), "and the other way round");
        json_decref(res);
        bn_image_t *a = bn_image_decode(astro, an, NULL, NULL);
        bn_image_t *a_small = a ? resize(a, a->width * 2 / 3, a->height * 2 / 3) : NULL;
        res = a_small ? run_img(astro, an, a_small) : NULL;
        CHECK(res && json_is_true(json_object_get(res, "match")), "the astronaut matches herself rescaled");
        json_decref(res);
        bn_image_destroy(&a);
        bn_image_destroy(&a_small);
        free(astro);
    }

    bn_image_t *imgs[] = {h, small, big, g3, g1, jimg, card, por, scene, group, h2, dark, blurred, far, tiny};
    for (size_t i = 0; i < sizeof imgs / sizeof imgs[0]; i++)
        bn_image_destroy(&imgs[i]);
    free(hopper);
    free(ice);
    bn_config_destroy(&s_cfg);
    return bn_test_end("test_face_match");
}
