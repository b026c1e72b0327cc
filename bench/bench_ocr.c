/* bench_ocr — what a user meets: a full verification of an ID-card front through the running
 * stack (beiand + beian-quality + beian-ocr, models loaded once), side by side with two
 * baselines on the same photos, in one run, reported as ratios.
 *
 *   bench_ocr [--dir DIR] [--limit N]
 *
 * Photos: DIR holds either real photos with GROUND_TRUTH.json (the acceptable ID-card fronts are
 * used) or tests/specgen output (the clean ID-card fronts, *-id-card-front-*.json). Default: the
 * real set ../shared/data/real/ids beside the source tree when it exists, else $BEIAN_SPECIMENS
 * (else <source>/build-specimens). --limit N: the first N photos (default 10).
 *
 *   ours (stack)      beiand --store memory in a fresh temp dir (ipc), one beian-quality and one
 *                     beian-ocr worker (--no-supervise); one untimed warm-up job, then per photo
 *                     an application with one document id-card:front, submitted and waited for
 *                     with the client library. Wall = submit → result; CPU = utime + stime of
 *                     beiand and both workers (/proc/PID/stat, every thread) before and after.
 *                     Fields exact against the ground truth; verdicts; peak RSS (VmHWM).
 *   tesseract CLI     `tesseract IMG - -l chi_sim` spawned per photo; CPU = the child's rusage.
 *   PP-OCRv4 general  bench/ppocr_baseline.mjs (@gutenye/ocr-node: onnxruntime-node, the same
 *                     PaddleOCR models, detection + recognition, no document logic), one node
 *                     process for all photos, pipeline loaded once (untimed warm-up); CPU =
 *                     process.cpuUsage per image. Installed by scripts/bench-deps.sh into
 *                     BUILD/bench-node; skipped (with the reason) when node or it is missing.
 * Baselines have no fields, so theirs are "found": the value as printed on the card (birth date
 * 1987年1月23日) appears in the text with spaces removed — generous to them. Both sides are
 * normalised: full-width digits/letters → ASCII, spaces (and U+3000) dropped.
 *
 * The real photos show real people: no value, name, number or file name is ever printed —
 * counts only. Exit 0 after a report, 2 on usage errors (or nothing to measure), 1 when the
 * stack cannot be started. Not a test: prints numbers. */
#include <beian/client.h>
#include <beian/proto.h>

#include "bn_bench.h"
#include "core/bn_file.h"
#include "core/bn_msg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BEIAN_SOURCE_DIR
#define BEIAN_SOURCE_DIR "."
#endif

extern char **environ;

#define MAX_PHOTOS 4096
#define MAX_IMAGE (64u << 20)

static const char *s_keys[] = {"name", "sex", "ethnicity", "birth_date", "address", "id_number"};
#define NKEYS (int)(sizeof s_keys / sizeof s_keys[0])

typedef struct {
    char *image;   /* path */
    json_t *fields; /* ground truth (borrowed from the loaded truth) */
} photo_t;

/* One row of the table. */
typedef struct {
    const char *name;
    int photos, ok, scored, ok_key[NKEYS], scored_key[NKEYS], errors;
    double cpu, wall; /* totals */
    long rss_kb;      /* peak */
    int ran;
    char skipped[256];
} row_t;

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double tv_s(struct timeval tv)
{
    return tv.tv_sec + tv.tv_usec / 1e6;
}

/* Full-width digits/letters/punctuation (U+FF01..U+FF5E) → ASCII, spaces (ASCII whitespace,
 * U+3000) dropped. */
static void norm(const char *in, char *out, size_t size)
{
    const unsigned char *s = (const unsigned char *)(in ? in : "");
    size_t k = 0;
    while (*s && k + 4 < size) {
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v') {
            s++;
        } else if (s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80) {
            s += 3;
        } else if (s[0] == 0xEF && (s[1] == 0xBC || s[1] == 0xBD) && s[2]) {
            unsigned cp = 0xF000u | ((unsigned)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
            if (cp >= 0xFF01 && cp <= 0xFF5E) {
                out[k++] = (char)(cp - 0xFEE0);
            } else {
                memcpy(out + k, s, 3);
                k += 3;
            }
            s += 3;
        } else {
            out[k++] = (char)*s++;
        }
    }
    out[k] = '\0';
}

/* A ground-truth value that can be scored (not unreadable, not printed or redacted). */
static int scorable(const char *v)
{
    return v && *v && strcmp(v, "unreadable") && strcmp(v, "not_printed") && !strchr(v, '*');
}

/* The value as printed on the card (dates as 1987年1月23日, the rest as is), normalised. */
static void printed(const char *key, const char *v, char *out, size_t size)
{
    int y, m, d;
    char buf[1024];
    if (!strcmp(key, "birth_date") && sscanf(v, "%d-%d-%d", &y, &m, &d) == 3)
        snprintf(buf, sizeof buf, "%d年%d月%d日", y, m, d);
    else
        snprintf(buf, sizeof buf, "%s", v);
    norm(buf, out, size);
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- photos ---- */

static char *s_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Real photos: GROUND_TRUTH.json entries with side "front" and acceptable true. */
static int load_real(const char *dir, json_t *truth, photo_t *ph, int limit)
{
    int n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(truth, i, e) {
        if (n >= limit)
            break;
        const char *type = json_string_value(json_object_get(e, "type"));
        const char *side = json_string_value(json_object_get(e, "side"));
        const char *file = json_string_value(json_object_get(e, "file"));
        if (!file || (type && strcmp(type, "id-card")) || !side || strcmp(side, "front")
            || !json_is_true(json_object_get(e, "acceptable")) || !json_is_object(json_object_get(e, "fields")))
            continue;
        ph[n].image = s_join(dir, file);
        ph[n].fields = json_object_get(e, "fields");
        n++;
    }
    return n;
}

/* Generated specimens: <name>-id-card-front-*.json with "clean" true. truths receives the loaded
 * files (to be freed by the caller). */
static int load_specimens(const char *dir, photo_t *ph, json_t **truths, int limit)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char **names = malloc(sizeof *names * MAX_PHOTOS);
    int nn = 0, n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nn < MAX_PHOTOS)
        if (strstr(e->d_name, "-id-card-front-") && strlen(e->d_name) > 5
            && !strcmp(e->d_name + strlen(e->d_name) - 5, ".json"))
            names[nn++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)nn, sizeof *names, cmpstr);
    for (int i = 0; i < nn; i++) {
        if (n < limit) {
            char *path = s_join(dir, names[i]);
            json_t *t = json_load_file(path, 0, NULL);
            free(path);
            const char *image = json_string_value(json_object_get(t, "image"));
            if (image && json_is_true(json_object_get(t, "clean")) && json_object_size(json_object_get(t, "fields"))) {
                ph[n].image = s_join(dir, image);
                ph[n].fields = json_object_get(t, "fields");
                truths[n] = t;
                n++;
            } else {
                json_decref(t);
            }
        }
        free(names[i]);
    }
    free(names);
    return n;
}

/* ---- processes ---- */


/* A line of /proc/PID/status in kB (VmHWM: peak RSS). */
static long proc_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    size_t fl = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, fl) && line[fl] == ':') {
            kb = atol(line + fl + 1);
            break;
        }
    if (f)
        fclose(f);
    return kb;
}

/* Spawn argv with stdout to out_fd (or /dev/null) and stderr to /dev/null (inherited when
 * BENCH_OCR_VERBOSE is set: daemon logs are masked, but the baselines' are not). */
static pid_t spawn(char *const argv[], int out_fd, int show_stderr)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    else
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (!show_stderr)
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

static void stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 100; i++) { /* 10 s, then SIGKILL */
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        usleep(100000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* ---- ours: the running stack ---- */

typedef struct {
    char dir[256], ep[300];
    pid_t broker, quality, ocr;
    bn_client_t *client;
} stack_t_;

static double stack_cpu(const stack_t_ *s, double *parts)
{
    parts[0] = bn_bench_proc_cpu(s->broker);
    parts[1] = bn_bench_proc_cpu(s->quality);
    parts[2] = bn_bench_proc_cpu(s->ocr);
    return parts[0] + parts[1] + parts[2];
}

/* Is a worker registered for service? (mmi.service: 200 once it has sent READY, which the
 * beian workers do after loading their models.) */
static int s_served(bn_client_t *c, const char *service)
{
    bn_msg_t *req = bn_msg_new(), *rep = NULL;
    bn_msg_addstr(req, service);
    if (bn_client_call(c, BN_SVC_MMI, &req, &rep, 2000) < 0)
        return 0;
    int ok = bn_msg_size(rep) >= 1 && bn_msg_streq(rep, 0, BN_ST_OK);
    bn_msg_destroy(&rep);
    return ok;
}

static int stack_start(stack_t_ *s, const char *bin, char *why, size_t wsize)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/bench_ocr.XXXXXX");
    if (!mkdtemp(s->dir)) {
        snprintf(why, wsize, "mkdtemp: %s", strerror(errno));
        return -1;
    }
    snprintf(s->ep, sizeof s->ep, "ipc://%s/beiand.sock", s->dir);
    char beiand[PATH_MAX + 16], quality[PATH_MAX + 16], ocr[PATH_MAX + 16];
    snprintf(beiand, sizeof beiand, "%s/beiand", bin);
    snprintf(quality, sizeof quality, "%s/beian-quality", bin);
    snprintf(ocr, sizeof ocr, "%s/beian-ocr", bin);
    int verbose = getenv("BENCH_OCR_VERBOSE") != NULL;
    char *bargs[] = {beiand, "--dir", s->dir, "--store", "memory", "--pub", "none", NULL};
    s->broker = spawn(bargs, -1, verbose);
    if (s->broker < 0) {
        snprintf(why, wsize, "cannot start %.200s", beiand);
        return -1;
    }
    char sock[400];
    snprintf(sock, sizeof sock, "%s/beiand.sock", s->dir);
    for (int i = 0; i < 250 && access(sock, F_OK) != 0; i++)
        usleep(20000);
    if (access(sock, F_OK) != 0) {
        snprintf(why, wsize, "beiand did not bind %.200s", s->ep);
        return -1;
    }
    char *qargs[] = {quality, "--connect", s->ep, "--no-supervise", NULL};
    char *oargs[] = {ocr, "--connect", s->ep, "--no-supervise", NULL};
    s->quality = spawn(qargs, -1, verbose);
    s->ocr = spawn(oargs, -1, verbose);
    if (s->quality < 0 || s->ocr < 0) {
        snprintf(why, wsize, "cannot start the workers");
        return -1;
    }
    s->client = bn_client_new(s->ep);
    double t0 = mono();
    while (!(s_served(s->client, BN_SVC_QUALITY) && s_served(s->client, BN_SVC_OCR))) {
        if (mono() - t0 > 120 || waitpid(s->quality, NULL, WNOHANG) || waitpid(s->ocr, NULL, WNOHANG)) {
            snprintf(why, wsize, "the workers did not get ready (BENCH_OCR_VERBOSE=1 shows their logs)");
            return -1;
        }
        usleep(100000);
    }
    return 0;
}

static void stack_stop(stack_t_ *s)
{
    bn_client_destroy(&s->client);
    stop(s->ocr);
    stop(s->quality);
    stop(s->broker); /* the memory store removes its /dev/shm directory on a clean stop */
    if (s->dir[0]) {
        char sock[400];
        snprintf(sock, sizeof sock, "%s/beiand.sock", s->dir);
        unlink(sock);
        if (rmdir(s->dir) != 0) { /* anything else the broker left there */
            char cmd[400];
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
            if (system(cmd) != 0) {}
        }
    }
}

/* Submit one application (one document id-card:front) and wait for its result. Returns the
 * result document, or NULL (why set). */
static json_t *stack_job(stack_t_ *s, const void *img, size_t size, char *why, size_t wsize)
{
    bn_msg_t *req = bn_msg_new(), *rep = NULL;
    bn_msg_addstr(req, "{\"documents\":[{\"type\":\"id-card\",\"side\":\"front\",\"blob\":1}]}");
    bn_msg_addmem(req, img, size);
    if (bn_client_call(s->client, BN_SVC_SUBMIT, &req, &rep, 30000) < 0) {
        snprintf(why, wsize, "submit: no answer");
        return NULL;
    }
    json_t *ack = bn_msg_size(rep) > 1 ? json_loadb(bn_msg_data(rep, 1), bn_msg_len(rep, 1), 0, NULL) : NULL;
    int ok = bn_msg_streq(rep, 0, BN_ST_OK);
    bn_msg_destroy(&rep);
    char job[64];
    snprintf(job, sizeof job, "%s", ok ? json_string_value(json_object_get(ack, "job")) : "");
    json_decref(ack);
    if (!ok || !job[0]) {
        snprintf(why, wsize, "submission refused");
        return NULL;
    }
    double t0 = mono();
    while (mono() - t0 < 600) {
        req = bn_msg_new();
        bn_msg_addstr(req, job);
        bn_msg_addstr(req, "wait");
        if (bn_client_call(s->client, BN_SVC_RESULT, &req, &rep, 30000) < 0)
            continue; /* long poll ended without a result: ask again */
        json_t *body = bn_msg_size(rep) > 1 ? json_loadb(bn_msg_data(rep, 1), bn_msg_len(rep, 1), 0, NULL) : NULL;
        int done = bn_msg_streq(rep, 0, BN_ST_OK), unknown = bn_msg_streq(rep, 0, BN_ST_UNKNOWN);
        bn_msg_destroy(&rep);
        if (done)
            return body;
        json_decref(body);
        if (unknown) {
            snprintf(why, wsize, "the broker lost the job");
            return NULL;
        }
        usleep(20000);
    }
    snprintf(why, wsize, "no result within 600 s");
    return NULL;
}

/* Score a result's first document against the truth (exact after normalisation). */
static void score_exact(row_t *r, const json_t *fields, const json_t *result)
{
    const json_t *got_fields = json_object_get(json_array_get(json_object_get(result, "documents"), 0), "fields");
    for (int k = 0; k < NKEYS; k++) {
        const char *want = json_string_value(json_object_get(fields, s_keys[k]));
        if (!scorable(want))
            continue;
        const char *got = json_string_value(json_object_get(json_object_get(got_fields, s_keys[k]), "value"));
        char a[1024], b[1024];
        norm(want, a, sizeof a);
        norm(got, b, sizeof b);
        int ok = got && !strcmp(a, b);
        r->scored++, r->scored_key[k]++;
        r->ok += ok, r->ok_key[k] += ok;
    }
}

/* Score a baseline's text (already without spaces): the printed value found in it. */
static void score_found(row_t *r, const json_t *fields, const char *text)
{
    static char t[1 << 17];
    norm(text, t, sizeof t);
    for (int k = 0; k < NKEYS; k++) {
        const char *want = json_string_value(json_object_get(fields, s_keys[k]));
        if (!scorable(want))
            continue;
        char p[1024];
        printed(s_keys[k], want, p, sizeof p);
        int ok = text && *p && strstr(t, p) != NULL;
        r->scored++, r->scored_key[k]++;
        r->ok += ok, r->ok_key[k] += ok;
    }
}

/* Verdict counts, in a fixed order with anything else after. */
static const char *s_verdicts[] = {"pass", "review", "reshoot", "reject", "failed", "none"};
#define NVERDICTS 6

static void run_ours(row_t *r, photo_t *ph, int n, const char *bin, int verdicts[NVERDICTS], double parts_total[3],
                     long rss_kb[3])
{
    stack_t_ s;
    char why[256] = "";
    if (stack_start(&s, bin, why, sizeof why) < 0) {
        snprintf(r->skipped, sizeof r->skipped, "%s", why);
        stack_stop(&s);
        return;
    }
    r->ran = 1;
    /* One untimed warm-up job: first-task allocations, page faults of the models' weights. */
    size_t size;
    void *img = bn_file_read(ph[0].image, MAX_IMAGE, &size);
    if (img) {
        json_decref(stack_job(&s, img, size, why, sizeof why));
        free(img);
    }
    for (int i = 0; i < n; i++) {
        img = bn_file_read(ph[i].image, MAX_IMAGE, &size);
        if (!img) {
            r->errors++;
            continue;
        }
        double p0[3], p1[3];
        double c0 = stack_cpu(&s, p0), w0 = mono();
        json_t *res = stack_job(&s, img, size, why, sizeof why);
        double w1 = mono();
        usleep(30000); /* the worker's last bookkeeping after its reply */
        double c1 = stack_cpu(&s, p1);
        free(img);
        r->photos++;
        r->wall += w1 - w0;
        r->cpu += c1 - c0;
        for (int k = 0; k < 3; k++)
            parts_total[k] += p1[k] - p0[k];
        if (!res) {
            r->errors++;
            verdicts[4]++;
            score_exact(r, ph[i].fields, NULL);
            continue;
        }
        const char *status = json_string_value(json_object_get(res, "status"));
        const char *v = json_string_value(json_object_get(res, "verdict"));
        int vi = NVERDICTS - 1;
        if (status && !strcmp(status, "failed"))
            vi = 4;
        else
            for (int k = 0; v && k < 4; k++)
                if (!strcmp(v, s_verdicts[k]))
                    vi = k;
        verdicts[vi]++;
        score_exact(r, ph[i].fields, res);
        json_decref(res);
    }
    rss_kb[0] = proc_kb(s.broker, "VmHWM");
    rss_kb[1] = proc_kb(s.quality, "VmHWM");
    rss_kb[2] = proc_kb(s.ocr, "VmHWM");
    r->rss_kb = rss_kb[2];
    stack_stop(&s);
}

/* ---- baseline A: the tesseract CLI ---- */

/* Read a whole file into a string with whitespace removed. */
static char *read_text(int fd)
{
    lseek(fd, 0, SEEK_SET);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    ssize_t k;
    while ((k = read(fd, buf + n, cap - n - 1)) > 0) {
        n += (size_t)k;
        if (cap - n < 4096)
            buf = realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    return buf;
}

static void run_tesseract(row_t *r, photo_t *ph, int n)
{
    for (int i = 0; i < n; i++) {
        char tmp[] = "/tmp/bench_ocr_tess_XXXXXX";
        int fd = mkstemp(tmp);
        if (fd < 0)
            continue;
        unlink(tmp);
        char *argv[] = {"tesseract", ph[i].image, "-", "-l", "chi_sim", NULL};
        double t0 = mono();
        pid_t pid = spawn(argv, fd, getenv("BENCH_OCR_VERBOSE") != NULL);
        if (pid < 0) {
            close(fd);
            snprintf(r->skipped, sizeof r->skipped, "tesseract not found");
            return;
        }
        int st;
        struct rusage ru;
        wait4(pid, &st, 0, &ru);
        double wall = mono() - t0;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
            close(fd);
            snprintf(r->skipped, sizeof r->skipped, "tesseract not found");
            return;
        }
        r->ran = 1;
        r->photos++;
        r->wall += wall;
        r->cpu += tv_s(ru.ru_utime) + tv_s(ru.ru_stime);
        if (ru.ru_maxrss > r->rss_kb)
            r->rss_kb = ru.ru_maxrss;
        char *text = read_text(fd);
        close(fd);
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
            r->errors++;
        score_found(r, ph[i].fields, text);
        free(text);
    }
}

/* ---- baseline B: a general PP-OCRv4 pipeline (node) ---- */

static void run_ppocr(row_t *r, photo_t *ph, int n, const char *bin)
{
    char script[PATH_MAX], prefix[PATH_MAX + 16], modules[PATH_MAX + 64];
    snprintf(script, sizeof script, "%s/bench/ppocr_baseline.mjs", BEIAN_SOURCE_DIR);
    snprintf(prefix, sizeof prefix, "%s/bench-node", bin);
    snprintf(modules, sizeof modules, "%s/node_modules", prefix);
    if (access(script, R_OK) != 0) {
        snprintf(r->skipped, sizeof r->skipped, "%.200s not found", script);
        return;
    }
    /* NODE_PATH as well as --prefix: the script looks in both. */
    const char *old = getenv("NODE_PATH");
    char *np = malloc(strlen(modules) + (old ? strlen(old) : 0) + 2);
    sprintf(np, "%s%s%s", modules, old && *old ? ":" : "", old && *old ? old : "");
    setenv("NODE_PATH", np, 1);
    free(np);
    char **argv = calloc((size_t)n + 6, sizeof *argv);
    int a = 0;
    argv[a++] = "node";
    argv[a++] = script;
    argv[a++] = "--prefix";
    argv[a++] = prefix;
    for (int i = 0; i < n; i++)
        argv[a++] = ph[i].image;
    char tmp[] = "/tmp/bench_ocr_pp_XXXXXX";
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(argv);
        snprintf(r->skipped, sizeof r->skipped, "mkstemp: %s", strerror(errno));
        return;
    }
    unlink(tmp);
    pid_t pid = spawn(argv, fd, getenv("BENCH_OCR_VERBOSE") != NULL);
    free(argv);
    if (pid < 0) {
        close(fd);
        snprintf(r->skipped, sizeof r->skipped, "node not found");
        return;
    }
    int st;
    struct rusage ru;
    wait4(pid, &st, 0, &ru);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    char *out = read_text(fd);
    close(fd);
    if (code == 127)
        snprintf(r->skipped, sizeof r->skipped, "node not found");
    else if (code == 3)
        snprintf(r->skipped, sizeof r->skipped, "@gutenye/ocr-node not installed in %.150s (scripts/bench-deps.sh)", prefix);
    else if (code != 0)
        snprintf(r->skipped, sizeof r->skipped, "node exited with status %d (BENCH_OCR_VERBOSE=1 shows why)", code);
    if (code != 0) {
        free(out);
        return;
    }
    r->rss_kb = ru.ru_maxrss;
    /* One JSON line per image, in argv order. */
    int i = 0;
    for (char *line = strtok(out, "\n"); line && i < n; line = strtok(NULL, "\n")) {
        json_t *j = json_loads(line, 0, NULL);
        if (!j)
            continue;
        r->ran = 1;
        r->photos++;
        r->cpu += json_number_value(json_object_get(j, "cpu_s"));
        r->wall += json_number_value(json_object_get(j, "wall_s"));
        const char *text = json_string_value(json_object_get(j, "text"));
        if (!text)
            r->errors++;
        score_found(r, ph[i].fields, text);
        json_decref(j);
        i++;
    }
    free(out);
    if (!r->ran)
        snprintf(r->skipped, sizeof r->skipped, "no output from node");
}

/* ---- report ---- */

static void print_row(const row_t *r, const char *what)
{
    if (!r->ran) {
        printf("  %-18s skipped (%s)\n", r->name, r->skipped);
        return;
    }
    printf("  %-18s %6d  %11.3f  %12.3f  %-6s %3d/%-3d %5.1f%%", r->name, r->photos, r->cpu / r->photos,
           r->wall / r->photos, what, r->ok, r->scored, r->scored ? 100.0 * r->ok / r->scored : 0);
    if (r->rss_kb > 0)
        printf("  %6.0f MB", r->rss_kb / 1024.0);
    if (r->errors)
        printf("  (%d error%s)", r->errors, r->errors > 1 ? "s" : "");
    printf("\n");
}

static void print_ratio(const row_t *ours, const row_t *base, const char *label, const char *target)
{
    if (!ours->ran || !base->ran || base->cpu <= 0 || base->wall <= 0) {
        printf("  ours/%-14s -\n", label);
        return;
    }
    double cpu = (ours->cpu / ours->photos) / (base->cpu / base->photos);
    double wall = (ours->wall / ours->photos) / (base->wall / base->photos);
    printf("  ours/%-14s CPU %.2fx  wall %.2fx   (target: CPU %s)\n", label, cpu, wall, target);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_ocr [--dir DIR] [--limit N]\n"
               "  DIR: real photos with GROUND_TRUTH.json (acceptable ID-card fronts) or tests/specgen\n"
               "  output (clean ID-card fronts); default ../shared/data/real/ids beside the source tree\n"
               "  when present, else $BEIAN_SPECIMENS. N: photos (default 10).\n"
               "  Ours = beiand + beian-quality + beian-ocr (started here, ipc, memory store) against\n"
               "  `tesseract IMG - -l chi_sim` and a general PP-OCRv4 pipeline (scripts/bench-deps.sh).\n");
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int limit = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
            char *end;
            limit = (int)strtol(argv[++i], &end, 10);
            if (*end || limit <= 0) {
                usage(stderr);
                return 2;
            }
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (limit > MAX_PHOTOS)
        limit = MAX_PHOTOS;
    static char real_default[PATH_MAX], spec_default[PATH_MAX];
    snprintf(real_default, sizeof real_default, "%s/../shared/data/real/ids", BEIAN_SOURCE_DIR);
    snprintf(spec_default, sizeof spec_default, "%s/build-specimens", BEIAN_SOURCE_DIR);
    if (!dir) {
        char gt[PATH_MAX + 32];
        snprintf(gt, sizeof gt, "%s/GROUND_TRUTH.json", real_default);
        dir = access(gt, R_OK) == 0 ? real_default
              : getenv("BEIAN_SPECIMENS") && *getenv("BEIAN_SPECIMENS") ? getenv("BEIAN_SPECIMENS")
                                                                       : spec_default;
    }
    char dirabs[PATH_MAX];
    if (!realpath(dir, dirabs)) {
        fprintf(stderr, "bench_ocr: %s: %s\n", dir, strerror(errno));
        usage(stderr);
        return 2;
    }
    /* The build directory (beiand, the workers, bench-node) is the one this program is in. */
    char self[PATH_MAX], bin[PATH_MAX];
    if (!realpath(argv[0], self))
        snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(bin, sizeof bin, "%s", dirname(self));

    photo_t *ph = calloc(MAX_PHOTOS, sizeof *ph);
    json_t **truths = calloc(MAX_PHOTOS, sizeof *truths);
    char gt[PATH_MAX + 32];
    snprintf(gt, sizeof gt, "%s/GROUND_TRUTH.json", dirabs);
    json_t *real = json_load_file(gt, 0, NULL);
    int n = real ? load_real(dirabs, real, ph, limit) : load_specimens(dirabs, ph, truths, limit);
    if (n <= 0) {
        fprintf(stderr, "bench_ocr: no %s in %s\n", real ? "acceptable ID-card fronts" : "clean ID-card front specimens",
                dirabs);
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    printf("bench_ocr: %d ID-card front photos (%s) from %s\n", n,
           real ? "real, acceptable per GROUND_TRUTH.json" : "generated, clean", dirabs);
    double load = -1;
    FILE *la = fopen("/proc/loadavg", "r");
    if (la) {
        if (fscanf(la, "%lf", &load) != 1)
            load = -1;
        fclose(la);
    }
    printf("  %ld cores, load average %.2f at start, OMP_THREAD_LIMIT=%s; CPU = user + system of every\n"
           "  process involved, all threads\n",
           sysconf(_SC_NPROCESSORS_ONLN), load, getenv("OMP_THREAD_LIMIT") ? getenv("OMP_THREAD_LIMIT") : "unset");
    fflush(stdout);

    row_t ours = {.name = "ours (stack)"}, tess = {.name = "tesseract CLI"}, pp = {.name = "PP-OCRv4 general"};
    int verdicts[NVERDICTS] = {0};
    double parts[3] = {0};
    long rss[3] = {-1, -1, -1};
    run_ours(&ours, ph, n, bin, verdicts, parts, rss);
    run_tesseract(&tess, ph, n);
    run_ppocr(&pp, ph, n, bin);

    printf("\n  %-18s %6s  %11s  %12s  %-21s  %9s\n", "", "photos", "CPU s/photo", "wall s/photo", "fields",
           "peak RSS");
    print_row(&ours, "exact");
    print_row(&tess, "found");
    if (pp.ran)
        print_row(&pp, "found");
    else
        printf("  ppocr-general: skipped (%s)\n", pp.skipped);
    printf("\n");
    print_ratio(&ours, &tess, "tesseract", "<= 0.5x");
    print_ratio(&ours, &pp, "PP-OCRv4", "< 1x");
    if (ours.ran) {
        printf("  ours CPU by process, s/photo: beiand %.3f, beian-quality %.3f, beian-ocr %.3f\n",
               parts[0] / ours.photos, parts[1] / ours.photos, parts[2] / ours.photos);
        printf("  peak RSS (VmHWM): beian-ocr %.0f MB (target <= 400 MB), beian-quality %.0f MB, beiand %.0f MB\n",
               rss[2] / 1024.0, rss[1] / 1024.0, rss[0] / 1024.0);
        printf("  verdicts (ours):");
        for (int k = 0; k < NVERDICTS; k++)
            if (verdicts[k])
                printf(" %s %d", s_verdicts[k], verdicts[k]);
        printf("\n");
    }
    printf("  fields by key (ours exact / tesseract found / PP-OCRv4 found):\n");
    for (int k = 0; k < NKEYS; k++) {
        printf("    %-10s %2d/%-2d", s_keys[k], ours.ok_key[k], ours.scored_key[k]);
        printf("   %2d/%-2d", tess.ok_key[k], tess.scored_key[k]);
        if (pp.ran)
            printf("   %2d/%-2d", pp.ok_key[k], pp.scored_key[k]);
        printf("\n");
    }

    for (int i = 0; i < n; i++) {
        free(ph[i].image);
        json_decref(truths[i]);
    }
    free(ph);
    free(truths);
    json_decref(real);
    return ours.ran ? 0 : 1;
}
