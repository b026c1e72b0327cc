/* bench_ocr — the ocr stage against the `tesseract` CLI (chi_sim, whole photo) on the same
 * ID-card front photos, side by side in one run.
 *
 *   bench_ocr [DIR] [--limit N] [--hints]   DIR = generator output (default $BEIAN_SPECIMENS)
 *
 * --hints: as in the worker path, the quality stage has already found the document; its
 * geometry is passed as hints (the quality run itself is not timed).
 *
 * Ours runs in-process with engines initialised once (as in a worker; one untimed warm-up
 * call); the CLI is spawned per photo, as a user of it would. Time is wall clock and CPU
 * (ours: process CPU time; CLI: the child's rusage). Accuracy: ours = fields read exactly;
 * CLI = fields whose printed value appears in its text (spaces removed) — generous to it. */
#include <dirent.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/bn_file.h"
#include "img/bn_quality.h"
#include "ocr/bn_ocr.h"
#include "ocr/bn_tess.h"

extern char **environ;

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Run the CLI, its stdout into out (spaces and newlines removed). Returns wall seconds. */
static double run_cli(const char *img, char *out, size_t size, double *cpu_s)
{
    char tmp[] = "/tmp/bench_ocr_XXXXXX";
    int fd = mkstemp(tmp);
    if (fd < 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", 0, 0);
    char *argv[] = {"tesseract", (char *)img, "-", "-l", "chi_sim", NULL};
    pid_t pid;
    double t0 = mono();
    int rc = posix_spawnp(&pid, "tesseract", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    double wall = -1;
    if (rc == 0) {
        int st;
        struct rusage ru;
        wait4(pid, &st, 0, &ru);
        wall = mono() - t0;
        *cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    }
    close(fd);
    size_t n = 0;
    char *txt = bn_file_read(tmp, 64u << 20, &n);
    unlink(tmp);
    size_t k = 0;
    for (size_t i = 0; txt && i < n && k + 1 < size; i++)
        if (txt[i] != ' ' && txt[i] != '\n' && txt[i] != '\r' && txt[i] != '\f')
            out[k++] = txt[i];
    out[k] = 0;
    free(txt);
    return wall;
}

/* The value as printed on the card (dates as 1987年1月23日, the rest as is). */
static void printed(const char *key, const char *v, char *out, size_t size)
{
    int y, m, d;
    if (!strcmp(key, "birth_date") && sscanf(v, "%d-%d-%d", &y, &m, &d) == 3)
        snprintf(out, size, "%d年%d月%d日", y, m, d);
    else
        snprintf(out, size, "%s", v);
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    const char *dir = getenv("BEIAN_SPECIMENS");
    int limit = 20, use_hints = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--limit") && i + 1 < argc)
            limit = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--hints"))
            use_hints = 1;
        else
            dir = argv[i];
    }
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        fprintf(stderr, "usage: bench_ocr [DIR] [--limit N]  (DIR: tests/specgen output; $BEIAN_SPECIMENS)\n");
        return 2;
    }
    char *names[4096];
    int nn = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nn < 4096)
        if (strstr(e->d_name, "-id-card-front-") && strstr(e->d_name, ".json"))
            names[nn++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)nn, sizeof *names, cmp);
    json_t *opts = json_pack("{s:s}", "now", "2026-11-28");
    double our_wall = 0, our_cpu = 0, cli_wall = 0, cli_cpu = 0;
    int docs = 0, our_ok = 0, cli_ok = 0, nfields = 0, warmed = 0;
    for (int i = 0; i < nn && docs < limit; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        json_t *truth = json_load_file(path, 0, NULL);
        int clean = json_is_true(json_object_get(truth, "clean")), mild = json_is_true(json_object_get(truth, "mild"));
        const char *image = json_string_value(json_object_get(truth, "image"));
        if (!image || !(clean || mild) || json_object_size(json_object_get(truth, "fields")) == 0) {
            json_decref(truth);
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, image);
        size_t n;
        char *img = bn_file_read(path, 64u << 20, &n);
        if (!img) {
            json_decref(truth);
            continue;
        }
        bn_task_t t = {.stage = "ocr", .doc_type = "id-card", .doc_side = "front", .image = (const uint8_t *)img,
                       .image_size = n, .options = opts};
        bn_stage_result_t r;
        json_t *hints = use_hints ? bn_quality_hints(&t) : NULL;
        t.hints = hints;
        if (!warmed) { /* a worker loads its engines once, before its first task */
            if (bn_ocr_run(&t, &r) == 0)
                bn_stage_result_clear(&r);
            warmed = 1;
        }
        double w0 = mono(), c0 = cpu();
        int rc = bn_ocr_run(&t, &r);
        our_wall += mono() - w0;
        our_cpu += cpu() - c0;
        static char cli[65536];
        double ccpu = 0;
        double cw = run_cli(path, cli, sizeof cli, &ccpu);
        cli_wall += cw;
        cli_cpu += ccpu;
        const char *key;
        json_t *tv;
        json_object_foreach(json_object_get(truth, "fields"), key, tv) {
            const char *want = json_string_value(tv);
            if (!want)
                continue;
            nfields++;
            const char *got = rc == 0 ? json_string_value(json_object_get(json_object_get(json_object_get(r.json, "fields"), key), "value")) : NULL;
            our_ok += got && !strcmp(got, want);
            char p[512];
            printed(key, want, p, sizeof p);
            cli_ok += strstr(cli, p) != NULL;
        }
        if (rc == 0)
            bn_stage_result_clear(&r);
        json_decref(hints);
        docs++;
        free(img);
        json_decref(truth);
    }
    for (int i = 0; i < nn; i++)
        free(names[i]);
    json_decref(opts);
    bn_tess_shutdown();
    if (!docs) {
        fprintf(stderr, "no clean/mild ID-card front photos in %s\n", dir);
        return 2;
    }
    printf("bench_ocr: %d ID-card front photos from %s (OMP_THREAD_LIMIT=%s, quality hints %s)\n", docs, dir,
           getenv("OMP_THREAD_LIMIT") ? getenv("OMP_THREAD_LIMIT") : "unset", use_hints ? "used" : "not used");
    printf("  ours (bn_ocr_run)        wall %.3f s/photo  cpu %.3f s/photo  fields exact %d/%d (%.1f%%)\n",
           our_wall / docs, our_cpu / docs, our_ok, nfields, 100.0 * our_ok / nfields);
    printf("  tesseract CLI chi_sim    wall %.3f s/photo  cpu %.3f s/photo  fields found  %d/%d (%.1f%%)\n",
           cli_wall / docs, cli_cpu / docs, cli_ok, nfields, 100.0 * cli_ok / nfields);
    printf("  ratio ours/CLI           wall %.2f  cpu %.2f  (target <= 0.5)\n", our_wall / cli_wall, our_cpu / cli_cpu);
    return 0;
}
