/* bn_face_eval — `beian eval face [DIR]`: how well the face stage separates people, on a folder
 * laid out like ../shared/data/faces:
 *   identities.csv                 image,identity[,note]   (image relative to DIR)
 *   synthetic_docs/ID__color.jpg   a document-style portrait of identity ID (also ID__gray.jpg)
 * Every two photos of one identity are a genuine pair, of two identities an impostor pair; every
 * document portrait is paired with every photo. A face that is not found scores -1: it counts
 * as a false rejection, never as a false acceptance.
 *
 * --scenes DIR adds photographed documents made by tests/specgen/specgen.py --set face
 * --portraits P (P = the photos of DIR, flattened): each scene's truth JSON names the photo its
 * portrait was printed from ("portrait_source"), which gives the identity; the scene goes through
 * the stage's document path (find the card, rectify, portrait zone) and is paired with every
 * photo except its source. */
#include "core/bn_file.h"
#include "face/bn_face.h"
#include "core/bn_config.h"
#include "core/bn_error.h"

#include <dirent.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_ITEMS 2000

typedef struct {
    char path[1024];
    char name[320];   /* relative path, for the report */
    char id[96];
    char doc_type[32], side[16];
    char source[160];       /* scenes: basename of the photo the portrait was printed from */
    bn_face_probe_t *probe; /* NULL when no face */
} item_t;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double s_ms_total;
static int s_ms_count;

static int embed_item(const bn_config_t *cfg, item_t *it, bn_face_role_t role)
{
    size_t size = 0;
    uint8_t *bytes = bn_file_read(it->path, 64u << 20, &size);
    if (!bytes)
        return 0;
    bn_image_t *img = bn_face_decode(bytes, size, role == BN_FACE_DOCUMENT ? 2000 : 1280);
    free(bytes);
    if (!img)
        return 0;
    bn_face_probe_t *p = calloc(1, sizeof *p);
    double t0 = now_ms();
    int rc = bn_face_probe(cfg, img, role, it->doc_type[0] ? it->doc_type : "id-card",
                           it->side[0] ? it->side : "front", p);
    s_ms_total += now_ms() - t0;
    s_ms_count++;
    bn_face_image_wipe(&img);
    if (rc < 0) {
        free(p);
        return -1;
    }
    if (p->found && bn_face_probe_mirror(cfg, p) == 0) {
        it->probe = p; /* kept (aligned face and embeddings) until the end, then zeroed */
        return 0;
    }
    bn_face_probe_clear(p);
    free(p);
    return 0;
}

static double s_max_shift;
static int s_flips, s_decision_changes;

/* The stage's score for a pair (bn_face_compare), checked against the full mirrored score: the
 * margin is right when skipping the mirrored pass far from the threshold changes no decision. */
static double pair_score(const bn_config_t *cfg, const item_t *a, const item_t *b, double thr)
{
    if (!a->probe || !b->probe)
        return -1;
    int mirrored = 0;
    double s = bn_face_compare(cfg, a->probe, b->probe, &mirrored);
    float va[BN_FACE_EMB_MAX], vb[BN_FACE_EMB_MAX];
    int dim = a->probe->dim;
    for (int i = 0; i < dim; i++)
        va[i] = a->probe->emb[i] + a->probe->mirror[i], vb[i] = b->probe->emb[i] + b->probe->mirror[i];
    double full = bn_facenet_cosine(va, vb, dim), plain = bn_facenet_cosine(a->probe->emb, b->probe->emb, dim);
    if (fabs(full - plain) > s_max_shift)
        s_max_shift = fabs(full - plain);
    sodium_memzero(va, sizeof va);
    sodium_memzero(vb, sizeof vb);
    s_flips += mirrored;
    s_decision_changes += (s >= thr) != (full >= thr);
    return s;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* AUC (Mann–Whitney), FRR at FAR <= 0.1 %, and FAR/FRR at the configured threshold. */
static void report(const char *title, double *gen, int ng, double *imp, int ni, double thr)
{
    printf("\n%s\n  genuine pairs %d, impostor pairs %d\n", title, ng, ni);
    if (!ng || !ni)
        return;
    qsort(gen, (size_t)ng, sizeof *gen, cmp_double);
    qsort(imp, (size_t)ni, sizeof *imp, cmp_double);
    double wins = 0;
    for (int i = 0, j = 0, k = 0; i < ng; i++) {
        while (j < ni && imp[j] < gen[i]) j++;
        k = j;
        while (k < ni && imp[k] == gen[i]) k++;
        wins += j + 0.5 * (k - j);
    }
    printf("  AUC %.6f\n", wins / ((double)ng * ni));
    /* The lowest threshold that lets at most 0.1 % of impostors through: above the
     * floor(0.001 * ni)+1-th highest impostor score. */
    int allowed = (int)floor(0.001 * ni);
    double t = imp[ni - 1 - allowed] + 1e-6;
    int rej = 0;
    for (int i = 0; i < ng; i++)
        rej += gen[i] < t;
    printf("  at FAR <= 0.1 %% (%d of %d impostors allowed): threshold %.4f, FRR %.2f %% (%d/%d)\n",
           allowed, ni, t, 100.0 * rej / ng, rej, ng);
    int fa = 0, fr = 0;
    for (int i = 0; i < ni; i++)
        fa += imp[i] >= thr;
    for (int i = 0; i < ng; i++)
        fr += gen[i] < thr;
    printf("  at the configured threshold %.4f: FAR %.3f %% (%d/%d), FRR %.2f %% (%d/%d)\n", thr,
           100.0 * fa / ni, fa, ni, 100.0 * fr / ng, fr, ng);
    printf("  genuine min %.4f, impostor max %.4f\n  threshold sweep:", gen[0], imp[ni - 1]);
    for (int k = 30; k <= 50; k += 2) {
        double tk = k / 100.0;
        int a = 0, r = 0;
        for (int i = 0; i < ni; i++)
            a += imp[i] >= tk;
        for (int i = 0; i < ng; i++)
            r += gen[i] < tk;
        printf(" %.2f:FAR %.2f%%/FRR %.1f%%", tk, 100.0 * a / ni, 100.0 * r / ng);
    }
    printf("\n");
}

static int load_photos(const char *dir, item_t *items, int max)
{
    char path[600];
    snprintf(path, sizeof path, "%s/identities.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f) && n < max) {
        char *img = strtok(line, ",\r\n"), *id = strtok(NULL, ",\r\n");
        /* identities.csv lists the document portraits too: they are the other side of the
         * document pairs, not photos. */
        if (!img || !id || strcmp(img, "image") == 0 || strncmp(img, "synthetic_docs/", 15) == 0)
            continue;
        item_t *it = &items[n++];
        memset(it, 0, sizeof *it);
        snprintf(it->path, sizeof it->path, "%s/%s", dir, img);
        snprintf(it->name, sizeof it->name, "%s", img);
        snprintf(it->id, sizeof it->id, "%s", id);
    }
    fclose(f);
    return n;
}

static int cmp_item(const void *a, const void *b)
{
    return strcmp(((const item_t *)a)->name, ((const item_t *)b)->name);
}

static int load_docs(const char *dir, item_t *items, int max)
{
    char path[600];
    snprintf(path, sizeof path, "%s/synthetic_docs", dir);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) && n < max) {
        const char *sep = strstr(e->d_name, "__");
        if (!sep || e->d_name[0] == '.')
            continue;
        item_t *it = &items[n++];
        memset(it, 0, sizeof *it);
        snprintf(it->path, sizeof it->path, "%s/%s", path, e->d_name);
        snprintf(it->name, sizeof it->name, "synthetic_docs/%s", e->d_name);
        snprintf(it->id, sizeof it->id, "%.*s", (int)(sep - e->d_name), e->d_name);
    }
    closedir(d);
    qsort(items, (size_t)n, sizeof *items, cmp_item); /* readdir order is not stable */
    return n;
}

/* "df_img11.jpg" names its source photo deepface/img11.jpg: pairs of a portrait with the photo
 * it was made from are reported separately, since they are near-duplicates. */
static int is_source(const item_t *doc, const item_t *photo)
{
    char src[128];
    if (doc->source[0]) {
        const char *slash = strrchr(photo->name, '/');
        return strcmp(slash ? slash + 1 : photo->name, doc->source) == 0;
    }
    if (strncmp(doc->id, "df_", 3) != 0)
        return 0;
    snprintf(src, sizeof src, "deepface/%s", doc->id + 3);
    return strcmp(photo->name, src) == 0;
}

static int load_scenes(const char *dir, item_t *items, int max, const item_t *ph, int np)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) && n < max) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0 || strcmp(e->d_name, "index.json") == 0)
            continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        json_t *t = json_load_file(path, 0, NULL);
        const char *src = json_string_value(json_object_get(t, "portrait_source"));
        const char *image = json_string_value(json_object_get(t, "image"));
        const char *type = json_string_value(json_object_get(t, "type"));
        const char *side = json_string_value(json_object_get(t, "side"));
        const char *id = NULL;
        for (int j = 0; src && j < np && !id; j++) {
            const char *slash = strrchr(ph[j].name, '/');
            if (strcmp(slash ? slash + 1 : ph[j].name, src) == 0)
                id = ph[j].id;
        }
        if (id && image && type) {
            item_t *it = &items[n++];
            memset(it, 0, sizeof *it);
            snprintf(it->path, sizeof it->path, "%s/%s", dir, image);
            snprintf(it->name, sizeof it->name, "%s", image);
            snprintf(it->id, sizeof it->id, "%s", id);
            snprintf(it->doc_type, sizeof it->doc_type, "%s", type);
            snprintf(it->side, sizeof it->side, "%s", side ? side : "front");
            snprintf(it->source, sizeof it->source, "%s", src);
        }
        json_decref(t);
    }
    closedir(d);
    qsort(items, (size_t)n, sizeof *items, cmp_item);
    return n;
}

/* Documents (portraits or scenes) against every photo; pass 1 leaves out each one's source. */
static void doc_pairs(const bn_config_t *cfg, const char *title, item_t *dc, int nd, item_t *ph, int np,
                      double *gen, double *imp, double thr, int exclude_source)
{
    int ng = 0, ni = 0;
    /* The lowest genuine and highest impostor pair, named: where to look when a figure moves. */
    double lo = 2, hi = -2;
    int lo_i = -1, lo_j = -1, hi_i = -1, hi_j = -1;
    for (int i = 0; i < nd; i++)
        for (int j = 0; j < np; j++) {
            if (exclude_source && is_source(&dc[i], &ph[j]))
                continue;
            double s = pair_score(cfg, &dc[i], &ph[j], thr);
            if (strcmp(dc[i].id, ph[j].id) == 0) {
                gen[ng++] = s;
                if (s < lo)
                    lo = s, lo_i = i, lo_j = j;
            } else {
                imp[ni++] = s;
                if (s > hi)
                    hi = s, hi_i = i, hi_j = j;
            }
        }
    report(title, gen, ng, imp, ni, thr);
    if (lo_i >= 0)
        printf("  lowest genuine  %.4f  %s ~ %s\n", lo, dc[lo_i].name, ph[lo_j].name);
    if (hi_i >= 0)
        printf("  highest impostor %.4f  %s ~ %s\n", hi, dc[hi_i].name, ph[hi_j].name);
}

int bn_face_eval_main(int argc, char **argv)
{
    const char *dir = NULL, *scenes = NULL;
    double thr_opt = NAN;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--threshold") == 0 && i + 1 < argc)
            thr_opt = atof(argv[++i]);
        else if (strcmp(argv[i], "--scenes") == 0 && i + 1 < argc)
            scenes = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: beian eval face [DIR] [--scenes SPECGEN_DIR] [--threshold T]\n"
                   "DIR defaults to ../shared/data/faces; see docs/FACE.md\n");
            return 0;
        }
        else if (strcmp(argv[i], "face") != 0 && argv[i][0] != '-')
            dir = argv[i];
    }
    struct stat st;
    if (!dir)
        dir = BEIAN_SOURCE_DIR "/../shared/data/faces";
    const char *cfg_path = getenv("BEIAN_CONFIG");
    if (!cfg_path && stat(BEIAN_SOURCE_DIR "/etc/beian.json", &st) == 0)
        cfg_path = BEIAN_SOURCE_DIR "/etc/beian.json";
    bn_config_t *cfg = bn_config_load(cfg_path);
    if (!cfg) {
        fprintf(stderr, "beian eval face: %s\n", bn_error_msg());
        return 2;
    }
    double thr = isnan(thr_opt) ? bn_config_num(cfg, "face.threshold", 0.40) : thr_opt;
    item_t *ph = calloc(MAX_ITEMS, sizeof *ph), *dc = calloc(MAX_ITEMS, sizeof *dc);
    item_t *sc = calloc(MAX_ITEMS, sizeof *sc);
    int np = load_photos(dir, ph, MAX_ITEMS), nd = load_docs(dir, dc, MAX_ITEMS), ns = 0, rc = 1;
    if (np > 0 && scenes && (ns = load_scenes(scenes, sc, MAX_ITEMS, ph, np)) <= 0) {
        fprintf(stderr, "beian eval face: no specgen scenes with a known portrait source in %s\n", scenes);
        goto done;
    }
    if (np <= 0) {
        fprintf(stderr, "beian eval face: no %s/identities.csv\n", dir);
        goto done;
    }
    if (!bn_facenet_get(cfg)) {
        fprintf(stderr, "beian eval face: %s\n", bn_error_msg());
        goto done;
    }
    char mdir[512];
    printf("face evaluation on %s (models %s, threshold %.4f)\n", dir, bn_facenet_models_dir(cfg, mdir, sizeof mdir), thr);
    int miss_p = 0, miss_d = 0;
    for (int i = 0; i < np; i++) {
        if (embed_item(cfg, &ph[i], BN_FACE_SELFIE) < 0)
            goto done;
        if (!ph[i].probe)
            printf("  no face: %s\n", ph[i].name), miss_p++;
    }
    for (int i = 0; i < nd; i++) {
        if (embed_item(cfg, &dc[i], BN_FACE_DOCUMENT) < 0)
            goto done;
        if (!dc[i].probe)
            printf("  no face: %s\n", dc[i].name), miss_d++;
    }
    int miss_s = 0;
    for (int i = 0; i < ns; i++) {
        if (embed_item(cfg, &sc[i], BN_FACE_DOCUMENT) < 0)
            goto done;
        if (!sc[i].probe)
            printf("  no face: %s\n", sc[i].name), miss_s++;
    }
    printf("photos %d (no face %d), document portraits %d (no face %d), scenes %d (no face %d); "
           "%.1f ms per image to find and embed (wall time)\n",
           np, miss_p, nd, miss_d, ns, miss_s, s_ms_count ? s_ms_total / s_ms_count : 0);

    size_t big = (size_t)(nd > ns ? nd : ns), cap = (size_t)np * np + big * np;
    double *gen = malloc(cap * sizeof *gen), *imp = malloc(cap * sizeof *imp);
    int ng = 0, ni = 0;
    for (int i = 0; i < np; i++)
        for (int j = i + 1; j < np; j++) {
            double s = pair_score(cfg, &ph[i], &ph[j], thr);
            if (strcmp(ph[i].id, ph[j].id) == 0)
                gen[ng++] = s;
            else
                imp[ni++] = s;
        }
    report("photo vs photo", gen, ng, imp, ni, thr);
    if (nd) {
        doc_pairs(cfg, "document portrait vs photo", dc, nd, ph, np, gen, imp, thr, 0);
        doc_pairs(cfg, "document portrait vs photo, source photos excluded", dc, nd, ph, np, gen, imp, thr, 1);
    }
    if (ns)
        doc_pairs(cfg, "photographed document (specgen scene) vs photo, source photos excluded", sc, ns, ph, np,
                  gen, imp, thr, 1);
    printf("\nmirrored pass: used for %d pairs near the threshold; it moved scores by at most %.4f; "
           "decisions that differ from always using it: %d\n", s_flips, s_max_shift, s_decision_changes);
    free(gen);
    free(imp);
    rc = 0;
done:
    for (int i = 0; i < MAX_ITEMS; i++) {
        if (ph && ph[i].probe)
            bn_face_probe_clear(ph[i].probe), free(ph[i].probe);
        if (dc && dc[i].probe)
            bn_face_probe_clear(dc[i].probe), free(dc[i].probe);
        if (sc && sc[i].probe)
            bn_face_probe_clear(sc[i].probe), free(sc[i].probe);
    }
    free(ph);
    free(dc);
    free(sc);
    bn_config_destroy(&cfg);
    return rc;
}
