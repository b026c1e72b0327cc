/* bench_quality — the quality stage against libvips alone, memory on a 50 MP photo, and how fast
 * a decompression bomb is refused.
 *
 *   bench_quality [--runs N]
 *
 * 1. A synthetic 12 MP phone photo (4000x3000 JPEG: a card with print on a textured table), and
 *    when $BEIAN_SPECIMENS is set the clean ID-card specimen enlarged to 12 MP: median time of
 *    bn_quality_run (decode, find, measure, rectify, prepare, review) vs libvips decoding and
 *    re-encoding the same JPEG at full size, side by side. Target ratio <= 1.5.
 * 2. Peak RSS of a child process running the stage on a 50 MP JPEG (8660x5773). <= 250 MB.
 * 3. Time to refuse a ~100 KB PNG declaring 60000x60000. Milliseconds. */
#include "../tests/bn_pngbomb.h"
#include "core/bn_config.h"
#include "core/bn_error.h"
#include "img/bn_image.h"
#include "img/bn_quality.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vips/vips.h>

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int s_cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint32_t s_seed = 7;
static uint32_t s_rand(void)
{
    s_seed = s_seed * 1103515245u + 12345u;
    return (s_seed >> 8) & 0xFFFFFF;
}

/* A 1600x1200 scene: textured table, a light card in slight perspective with dark print. Then
 * enlarged by libvips (streaming, so a 50 MP file never sits in memory here) with sensor noise,
 * and saved as a phone would (JPEG q 92). */
static void *s_photo(int width, size_t *len)
{
    const int W = 1600, H = 1200;
    uint8_t *px = malloc((size_t)W * H * 3);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = px + ((size_t)y * W + x) * 3;
            int n = (int)(s_rand() % 30) + (int)(20 * sin(x * 0.05) * cos(y * 0.03));
            p[0] = 110 + n, p[1] = 80 + n, p[2] = 55 + n;
        }
    /* Card: quad (400,300) (1250,320) (1240,850) (390,830). */
    double q[4][2] = {{400, 300}, {1250, 320}, {1240, 850}, {390, 830}};
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int in = 1;
            for (int i = 0; i < 4 && in; i++) {
                double *a = q[i], *c = q[(i + 1) % 4];
                in = (c[0] - a[0]) * (y - a[1]) - (c[1] - a[1]) * (x - a[0]) >= 0;
            }
            if (in) {
                uint8_t *p = px + ((size_t)y * W + x) * 3;
                int ink = ((x / 9) % 3 == 0 && (y / 14) % 3 == 0 && (s_rand() % 3)) && y > 360 && y < 780 && x > 450 &&
                          x < 1150;
                p[0] = ink ? 40 : 205, p[1] = ink ? 40 : 215, p[2] = ink ? 50 : 230;
            }
        }
    VipsImage *im = vips_image_new_from_memory_copy(px, (size_t)W * H * 3, W, H, 3, VIPS_FORMAT_UCHAR), *big = NULL,
              *noise = NULL, *sum = NULL, *u8 = NULL;
    free(px);
    im->Type = VIPS_INTERPRETATION_sRGB;
    double s = (double)width / W;
    void *buf = NULL;
    if (vips_resize(im, &big, s, NULL) ||
        vips_gaussnoise(&noise, vips_image_get_width(big), vips_image_get_height(big), "sigma", 3.0, "mean", 0.0,
                        NULL) ||
        vips_add(big, noise, &sum, NULL) || vips_cast(sum, &u8, VIPS_FORMAT_UCHAR, NULL)) {
        fprintf(stderr, "bench: synthesis failed: %s\n", vips_error_buffer());
        exit(1);
    }
    u8->Type = VIPS_INTERPRETATION_sRGB;
    if (vips_jpegsave_buffer(u8, &buf, len, "Q", 92, NULL))
        exit(1);
    g_object_unref(im), g_object_unref(big), g_object_unref(noise), g_object_unref(sum), g_object_unref(u8);
    return buf;
}

/* The clean ID-card specimen (tests/specgen) enlarged to 4000x3000 with sensor noise: a photo
 * with real print, textures and lighting. NULL when $BEIAN_SPECIMENS has none. */
static void *s_specimen_photo(size_t *len)
{
    const char *dir = getenv("BEIAN_SPECIMENS");
    char path[4096];
    if (!dir || !*dir)
        return NULL;
    snprintf(path, sizeof path, "%s/0000-id-card-front-clean.jpg", dir);
    VipsImage *im = vips_image_new_from_file(path, NULL), *big = NULL, *noise = NULL, *sum = NULL, *u8 = NULL;
    if (!im) {
        vips_error_clear();
        return NULL;
    }
    void *buf = NULL;
    double s = 4000.0 / vips_image_get_width(im);
    if (vips_resize(im, &big, s, "vscale", 3000.0 / vips_image_get_height(im), NULL) ||
        vips_gaussnoise(&noise, vips_image_get_width(big), vips_image_get_height(big), "sigma", 3.0, NULL) ||
        vips_add(big, noise, &sum, NULL) || vips_cast(sum, &u8, VIPS_FORMAT_UCHAR, NULL)) {
        vips_error_clear();
        buf = NULL;
    } else {
        u8->Type = VIPS_INTERPRETATION_sRGB;
        if (vips_jpegsave_buffer(u8, &buf, len, "Q", 92, NULL))
            buf = NULL;
    }
    g_object_unref(im);
    if (big)
        g_object_unref(big);
    if (noise)
        g_object_unref(noise);
    if (sum)
        g_object_unref(sum);
    if (u8)
        g_object_unref(u8);
    return buf;
}

static double s_vips_roundtrip(const void *jpg, size_t len)
{
    double t0 = s_now();
    VipsImage *im = vips_image_new_from_buffer(jpg, len, "", "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    void *out = NULL;
    size_t olen = 0;
    if (!im || vips_jpegsave_buffer(im, &out, &olen, "Q", 90, NULL))
        exit(1);
    double t = s_now() - t0;
    g_object_unref(im);
    g_free(out);
    return t;
}

static double s_stage(const void *jpg, size_t len, bn_config_t *cfg, json_t **result)
{
    bn_task_t t = {.stage = "quality", .doc_type = "id-card", .doc_side = "front", .image = jpg, .image_size = len,
                   .config = cfg};
    bn_stage_result_t r;
    double t0 = s_now();
    if (bn_quality_run(&t, &r) != 0) {
        fprintf(stderr, "bench: stage failed: %s\n", bn_error_msg());
        exit(1);
    }
    double dt = s_now() - t0;
    if (result)
        *result = json_incref(r.json);
    bn_stage_result_clear(&r);
    return dt;
}

/* Child: run the stage once on FILE; the parent reads the child's peak RSS. */
static int s_child(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 2;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *b = malloc((size_t)n);
    if (fread(b, 1, (size_t)n, f) != (size_t)n)
        return 2;
    fclose(f);
    bn_config_t *cfg = bn_config_from_json(NULL);
    json_t *r = NULL;
    double t = s_stage(b, (size_t)n, cfg, &r);
    json_t *g = json_object_get(r, "geometry");
    printf("  50 MP stage time %.0f ms, document found %s, flags %zu\n", t * 1000,
           json_is_true(json_object_get(g, "found")) ? "yes" : "no", json_array_size(json_object_get(r, "flags")));
    json_decref(r);
    free(b);
    bn_config_destroy(&cfg);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child") == 0) {
        bn_vips_init();
        return s_child(argv[2]);
    }
    int runs = 5;
    if (argc == 3 && strcmp(argv[1], "--runs") == 0)
        runs = atoi(argv[2]) > 0 ? atoi(argv[2]) : 5;
    if (bn_vips_init() != 0)
        return 1;
    bn_config_t *cfg = bn_config_from_json(NULL);
    int fail = 0;

    /* 1. 12 MP: stage vs libvips decode + re-encode, interleaved so load affects both alike. */
    size_t len = 0;
    double tv[64], ts[64];
    if (runs > 64)
        runs = 64;
    for (int pass = 0; pass < 2; pass++) {
        void *jpg = pass == 0 ? s_photo(4000, &len) : s_specimen_photo(&len);
        if (!jpg)
            continue;
        json_t *res = NULL;
        s_stage(jpg, len, cfg, &res); /* warm-up: libvips, OpenCV and font caches */
        s_vips_roundtrip(jpg, len);
        for (int i = 0; i < runs; i++) {
            tv[i] = s_vips_roundtrip(jpg, len);
            if (i == runs - 1)
                json_decref(res), res = NULL;
            ts[i] = s_stage(jpg, len, cfg, i == runs - 1 ? &res : NULL);
        }
        qsort(tv, runs, sizeof *tv, s_cmpd);
        qsort(ts, runs, sizeof *ts, s_cmpd);
        double ratio = ts[runs / 2] / tv[runs / 2];
        json_t *g = json_object_get(res, "geometry");
        printf("12 MP JPEG (4000x3000, %zu KB, %s), median of %d runs:\n", len / 1024,
               pass == 0 ? "synthetic card on a table" : "enlarged ID-card specimen", runs);
        printf("  libvips decode + re-encode   %7.1f ms\n", tv[runs / 2] * 1000);
        printf("  quality + prepare (stage)    %7.1f ms   document found: %s\n", ts[runs / 2] * 1000,
               json_is_true(json_object_get(g, "found")) ? "yes" : "no");
        printf("  ratio                        %7.2f   (target <= 1.5) %s\n", ratio, ratio <= 1.5 ? "ok" : "MISSED");
        fail += ratio > 1.5;
        char *tm = json_dumps(json_object_get(json_object_get(res, "quality"), "timing_ms"),
                              JSON_COMPACT | JSON_REAL_PRECISION(4));
        printf("  stage steps (ms, last run)   %s\n", tm);
        free(tm);
        json_decref(res);
        g_free(jpg);
    }

    /* 2. 50 MP in a child process (fresh address space): peak RSS. */
    void *jpg = s_photo(8660, &len);
    char path[] = "/tmp/bench_quality_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, jpg, len) != (ssize_t)len)
        return 1;
    close(fd);
    g_free(jpg);
    printf("50 MP JPEG (8660x5773, %zu KB):\n", len / 1024);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/proc/self/exe", argv[0], "--child", path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    unlink(path);
    double mb = ru.ru_maxrss / 1024.0;
    printf("  peak RSS                     %7.1f MB   (target <= 250) %s\n", mb,
           WIFEXITED(status) && WEXITSTATUS(status) == 0 && mb <= 250 ? "ok" : "MISSED");
    fail += mb > 250 || !WIFEXITED(status) || WEXITSTATUS(status) != 0;

    /* 3. Bomb: ~100 KB PNG declaring 60000 x 60000. */
    size_t n = 0;
    uint8_t *b = bn_png_bomb(&n);
    double tb[64];
    for (int i = 0; i < runs; i++) {
        bn_task_t t = {.stage = "quality", .doc_type = "id-card", .image = b, .image_size = n, .config = cfg};
        bn_stage_result_t r;
        double t0 = s_now();
        int rc = bn_quality_run(&t, &r);
        tb[i] = s_now() - t0;
        if (rc != 0 || r.nblobs != 0)
            fail++;
        bn_stage_result_clear(&r);
    }
    qsort(tb, runs, sizeof *tb, s_cmpd);
    printf("60000x60000 PNG bomb (%zu KB): refused in %.2f ms (median; max %.2f ms)\n", n / 1024, tb[runs / 2] * 1000,
           tb[runs - 1] * 1000);
    free(b);
    bn_config_destroy(&cfg);
    return fail ? 1 : 0;
}
