/* bn_quality_eval — `beian eval quality DIR`: per-flag recall on the samples degraded for that
 * flag, and false-flag rate on clean samples, over a directory of specimens with ground truth
 * (tests/specgen: NAME.jpg|png + NAME.json with "expected_flags", "clean", "rotation").
 * Clean samples (including flat scans) measure false flags; "mild" ones (harder but acceptable
 * photos) are not counted either way. */
#include "img/bn_quality.h"
#include "core/bn_file.h"
#include "core/bn_config.h"
#include "core/bn_error.h"
#include "core/bn_flags.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_CODES 64
typedef bn_quality_eval_row_t s_row_t;

static int s_has(const json_t *arr, const char *code)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *c = json_is_string(v) ? json_string_value(v) : json_string_value(json_object_get(v, "code"));
        if (c && strcmp(c, code) == 0)
            return 1;
    }
    return 0;
}

static int s_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Kind of a sample for max_per_kind: its first degradation, or "clean"; NULL to skip it (mild
 * samples, and samples degraded only for other stages). */
static const char *s_kind(const json_t *truth)
{
    if (json_is_true(json_object_get(truth, "clean")))
        return "clean";
    if (json_is_true(json_object_get(truth, "mild")))
        return NULL;
    json_t *exp = json_object_get(truth, "expected_flags");
    size_t i;
    json_t *v;
    json_array_foreach(exp, i, v) {
        const bn_flag_def_t *d = bn_flag_lookup(json_string_value(v));
        if (d && strcmp(d->stage, "quality") == 0)
            return json_string_value(json_array_get(json_object_get(truth, "degradations"), 0));
    }
    return NULL;
}

int bn_quality_eval_dir(const char *dir, const bn_config_t *cfg, int verbose, int max_per_kind,
                        bn_quality_eval_row_t *out_rows, int *out_nrows)
{
    int ndef = 0;
    const bn_flag_def_t *defs = bn_flag_table(&ndef);
    s_row_t rows[MAX_CODES];
    int nrows = 0;
    for (int i = 0; i < ndef && nrows < MAX_CODES; i++)
        if (strcmp(defs[i].stage, "quality") == 0)
            rows[nrows++] = (s_row_t){.code = defs[i].code};
    char kinds[32][32];
    int kind_n[32] = {0}, nk = 0;
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "eval quality: cannot open %s\n", dir);
        return -1;
    }
    char **names = NULL;
    size_t nn = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0 || strcmp(e->d_name, "index.json") == 0)
            continue;
        if (nn == cap)
            names = realloc(names, (cap = cap ? cap * 2 : 256) * sizeof *names);
        names[nn++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof *names, s_cmp);
    int samples = 0, rot_total = 0, rot_ok = 0, errors = 0;
    /* verdicts, not only flags: clean samples should pass the stage; a sample whose truth
     * expects a reshoot or reject flag should be sent back (by any flag) */
    int clean_n = 0, clean_pass = 0, bad_n = 0, bad_sent = 0;
    for (size_t k = 0; k < nn; k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        json_t *truth = json_load_file(path, 0, NULL);
        const char *image = json_string_value(json_object_get(truth, "image"));
        if (!truth || !image || !json_is_array(json_object_get(truth, "expected_flags"))) {
            json_decref(truth);
            continue;
        }
        const char *kind = s_kind(truth);
        int ki = -1;
        for (int i = 0; kind && i < nk; i++)
            if (strcmp(kinds[i], kind) == 0)
                ki = i;
        if (kind && ki < 0 && nk < 32) {
            snprintf(kinds[nk], sizeof kinds[nk], "%s", kind);
            ki = nk++;
        }
        if (!kind || ki < 0 || (max_per_kind > 0 && strcmp(kind, "clean") != 0 && kind_n[ki] >= max_per_kind)) {
            json_decref(truth);
            continue;
        }
        kind_n[ki]++;
        snprintf(path, sizeof path, "%s/%s", dir, image);
        size_t size;
        uint8_t *bytes = bn_file_read(path, 64u << 20, &size);
        if (!bytes) {
            json_decref(truth);
            continue;
        }
        bn_task_t task = {.stage = "quality",
                          .doc_type = json_string_value(json_object_get(truth, "type")),
                          .doc_side = json_string_value(json_object_get(truth, "side")),
                          .image = bytes,
                          .image_size = size,
                          .config = cfg};
        bn_stage_result_t r;
        if (bn_quality_run(&task, &r) != 0) {
            fprintf(stderr, "eval quality: %s: %s: %s\n", image, bn_error_code(), bn_error_msg());
            errors++;
            free(bytes);
            json_decref(truth);
            continue;
        }
        samples++;
        json_t *flags = json_object_get(r.json, "flags"), *exp = json_object_get(truth, "expected_flags");
        int clean = json_is_true(json_object_get(truth, "clean"));
        for (int i = 0; i < nrows; i++) {
            int want = s_has(exp, rows[i].code), got = s_has(flags, rows[i].code);
            if (want) {
                rows[i].expected++;
                rows[i].hit += got;
                if (!got && verbose)
                    printf("  miss  %-20s %s\n", rows[i].code, image);
            }
            if (clean) {
                rows[i].clean++;
                rows[i].false_hit += got;
                if (got && verbose)
                    printf("  false %-20s %s\n", rows[i].code, image);
            }
        }
        const char *verdict = json_string_value(json_object_get(r.json, "verdict"));
        int sent = verdict && (!strcmp(verdict, "reshoot") || !strcmp(verdict, "reject"));
        if (clean)
            clean_n++, clean_pass += verdict && !strcmp(verdict, "pass");
        size_t ei;
        json_t *ef;
        int bad = 0;
        json_array_foreach(exp, ei, ef) {
            const bn_flag_def_t *def = bn_flag_lookup(json_string_value(ef));
            bad |= def && def->severity >= BN_SEV_RESHOOT;
        }
        if (bad) {
            bad_n++, bad_sent += sent;
            if (!sent && verbose)
                printf("  kept  %-20s %s (verdict %s)\n", "", image, verdict ? verdict : "-");
        }
        json_t *geo = json_object_get(r.json, "geometry");
        if (json_is_true(json_object_get(geo, "found")) && json_object_get(truth, "corners") &&
            !json_is_null(json_object_get(truth, "corners"))) {
            rot_total++;
            json_int_t got = json_integer_value(json_object_get(geo, "rotation"));
            json_int_t want = json_integer_value(json_object_get(truth, "rotation"));
            rot_ok += got == want;
            if (got != want && verbose)
                printf("  rot   %-20s %s (got %d, want %d)\n", "", image, (int)got, (int)want);
        }
        bn_stage_result_clear(&r);
        free(bytes);
        json_decref(truth);
    }
    for (size_t k = 0; k < nn; k++)
        free(names[k]);
    free(names);

    int fail = 0;
    printf("%-22s %9s %8s %9s %8s  %s\n", "flag", "expected", "recall", "clean", "false", "targets (>=95% / <=3%)");
    for (int i = 0; i < nrows; i++) {
        double rec = rows[i].expected ? 100.0 * rows[i].hit / rows[i].expected : -1;
        double fal = rows[i].clean ? 100.0 * rows[i].false_hit / rows[i].clean : 0;
        int ok = (rec < 0 || rec >= 95.0) && fal <= 3.0;
        fail += !ok;
        if (rec >= 0)
            printf("%-22s %9d %7.1f%% %9d %7.1f%%  %s\n", rows[i].code, rows[i].expected, rec, rows[i].clean, fal,
                   ok ? "ok" : "MISSED");
        else
            printf("%-22s %9s %8s %9d %7.1f%%  %s\n", rows[i].code, "-", "-", rows[i].clean, fal, ok ? "ok" : "MISSED");
    }
    printf("samples %d, errors %d, rotation correct %d/%d (%.1f%%)\n", samples, errors, rot_ok, rot_total,
           rot_total ? 100.0 * rot_ok / rot_total : 0);
    printf("verdicts: clean samples passed %d/%d; samples expecting a reshoot or reject sent back %d/%d\n",
           clean_pass, clean_n, bad_sent, bad_n);
    if (out_rows && out_nrows) {
        memcpy(out_rows, rows, (size_t)nrows * sizeof *rows);
        *out_nrows = nrows;
    }
    return fail || errors ? -2 : samples;
}

int bn_quality_eval_main(int argc, char **argv)
{
    const char *dir = NULL, *cfgpath = NULL;
    int verbose = 0;
    for (int i = 0; i < argc; i++) {
        struct stat st;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            cfgpath = argv[++i];
        else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0)
            verbose = 1;
        else if (i == 0 && strcmp(argv[i], "quality") == 0)
            continue; /* `beian eval quality DIR` passes its sub-command along */
        else if (argv[i][0] != '-' && stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            dir = argv[i];
    }
    if (!dir) {
        fprintf(stderr, "usage: beian eval quality [--config FILE] [-v] DIR\n");
        return 2;
    }
    bn_config_t *cfg = bn_config_load(cfgpath);
    if (!cfg) {
        fprintf(stderr, "eval quality: %s\n", bn_error_msg());
        return 2;
    }
    int rc = bn_quality_eval_dir(dir, cfg, verbose, 0, NULL, NULL);
    bn_config_destroy(&cfg);
    return rc > 0 ? 0 : rc == -2 ? 1 : 2;
}
