/* bench_broker — submissions through beiand against a raw libzmq echo, in one run.
 *
 * For each payload size (10 KB, 3 MB) it measures, with the same client and window:
 *   raw      a DEALER → ROUTER echo over ipc (one hop, no broker): the ceiling
 *   intake   beian.submit to `beiand --store memory` with no workers: the submission path alone
 *   memory   the same with no-op workers draining every job through quality and OCR
 *   dintake  beian.submit to `beiand` with SQLite + spool (acks after fsync), no workers
 *   durable  the same with no-op workers draining
 * (no-op workers are tests/tw_worker with TW_NOOP) and reports submissions/s, MB/s and the
 * p50/p99 submit→ack latency, plus the ratios the README promises:
 *   memory / raw throughput, durable 3 MB MB/s / fsync'd sequential write MB/s of this disk,
 *   broker RSS (plus the memory store's tmpfs payload file) growth per queued payload byte
 *   (1.0 = one copy).
 * Each configuration sends its COUNT submissions twice to the same processes: a cold pass right
 * after start, then a warm one. The rows show the warm pass, a long-running broker's state;
 * the cold ratios follow. The difference is mostly fresh memory: a broker that keeps a
 * backlog of scans must fault in pages for it (~1 ms per 3 MB on the test VM), an echo that
 * frees each message reuses the same ones. Payloads differ between passes (content
 * addressing would otherwise store each once).
 *
 * Then the stores side by side (issue #13), each on a fresh database:
 *   sqlite   one `beiand` on SQLite + spool (the durable configuration above)
 *   pg1      one `beiand --store postgres://…` on a private cluster (scripts/pg-cluster.sh)
 *   pg2      two brokers on the same database (each its own --dir, one store key), the client
 *            load split between them: two client threads, half the window and count each
 * each as intake (no workers: submissions/s, acks after COMMIT) and drained by no-op workers
 * (one quality + one OCR worker per broker: submissions/s and end-to-end jobs/s, first
 * submission to last finished job, from the brokers' beian_jobs_finished_total in beian.metrics),
 * at 10 KB and 3 MB; then the real stages (beian-quality + beian-ocr) on a generated ID-card front
 * ($BENCH_IMAGE, else the first clean one in $BEIAN_SPECIMENS or <source>/build-specimens),
 * 1 and 2 workers per stage and broker, end to end. CPU per job of the brokers and of the
 * PostgreSQL server (postmaster and its children) shows where the time goes. For the profile,
 * BENCH_PG_CONF='name=value;…' sets server settings (with a restart), BENCH_PG_UNIX=1 connects
 * over the cluster's unix socket instead of TCP.
 * Usage: bench_broker [--quick] (build dir is taken from argv[0]). Not a test: prints numbers.
 *        bench_broker --stores [--quick]  only the stores with no-op workers; --real only the real
 *        stages; both: the two (what the store rows need, without the memory configurations)
 *        bench_broker --only raw|intake|memory|dintake|durable SIZE COUNT  runs one configuration
 *        (both passes; for profiling it, e.g. under perf record -a).
 *        bench_broker --only sqlite|pg1|pg2[-drained] SIZE COUNT  the same for a store. */
#include "bn_bench.h"
#include "core/bn_msg.h"

#include <beian/client.h>
#include <beian/proto.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static char s_bin[4096];
static char s_dir[256];
/* The private PostgreSQL cluster (scripts/pg-cluster.sh), when it started: its directory and
 * its URL up to the database name ("postgres://USER@127.0.0.1:PORT/"). */
static char s_pg_dir[256], s_pg_base[512], s_pg_why[256];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    double rate, mbps, p50, p99;
    double broker_us, workers_us, pg_us; /* CPU per submission: brokers, workers, PostgreSQL server */
    double e2e;                          /* jobs/s, first submission to last finished job (store rows) */
    char verdicts[160];                  /* finished jobs by status/verdict (store rows) */
} result_t;

/* ---- raw echo ---- */
static void *echo_thread(void *arg)
{
    void *router = arg;
    for (;;) {
        bn_msg_t *m = bn_msg_new();
        if (bn_msg_recv(m, router, 64, 0) < 0) {
            bn_msg_destroy(&m);
            break;
        }
        if (bn_msg_size(m) == 2 && bn_msg_len(m, 1) == 4 && !memcmp(bn_msg_data(m, 1), "STOP", 4)) {
            bn_msg_destroy(&m);
            break;
        }
        /* Echo only a small ack so the comparison with a broker ack is fair. */
        bn_msg_t *r = bn_msg_new();
        bn_msg_addframe(r, bn_msg_frame(m, 0));
        bn_msg_addstr(r, "200");
        bn_msg_send(r, router);
        bn_msg_destroy(&r);
        bn_msg_destroy(&m);
    }
    return NULL;
}

/* Payloads go from a ring of window + 1 buffers without a copy (libzmq reads them in place),
 * as an uploader that reads scans into memory would send them: copying each 3 MB payload into
 * a fresh message buffer cost the client more CPU than the echo it measures. A slot is
 * stamped again only after libzmq has released it. */
static void s_released(void *data, void *hint)
{
    (void)data;
    atomic_store((atomic_int *)hint, 1);
}

/* A real image to send (the real stages' rows), or none: synthetic bytes. */
typedef struct {
    unsigned char *data;
    size_t size;
} image_t;

/* One client connection: count requests of size bytes with window in flight. */
typedef struct {
    const char *ep;
    size_t size;
    int count, window, mdp, base;
    const image_t *img; /* a JPEG: sent with a comment segment holding the stamp (size = its size + 8) */
    double *lat;        /* count latencies, out */
    double t0, t1;
} client_t;

static void *client_run(void *arg)
{
    client_t *c = arg;
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect(s, c->ep);
    int slots = c->window + 1;
    size_t size = c->size;
    char *ring = malloc(size * (size_t)slots);
    if (c->img) {
        /* SOI, then a COM segment of 4 bytes (the stamp), then the rest of the JPEG: a distinct
         * but valid image each time, which the stages decode like the original. */
        for (int i = 0; i < slots; i++) {
            char *p = ring + (size_t)i * size;
            memcpy(p, "\xff\xd8\xff\xfe\x00\x06", 6);
            memcpy(p + 10, c->img->data + 2, c->img->size - 2);
        }
    } else {
        memset(ring, 'x', size * (size_t)slots); /* real pages, not the shared zero page */
    }
    atomic_int *free_slot = malloc(sizeof *free_slot * (size_t)slots);
    for (int i = 0; i < slots; i++)
        atomic_init(&free_slot[i], 1);
    double *sent = calloc((size_t)c->count, sizeof *sent);
    int nsent = 0, nrecv = 0;
    const char *spec = "{\"documents\":[{\"type\":\"id-card\",\"side\":\"front\",\"blob\":1}],"
                       "\"options\":{\"priority\":\"batch\"}}";
    c->t0 = now();
    while (nrecv < c->count) {
        while (nsent < c->count && nsent - nrecv < c->window) {
            /* Distinct payloads: content addressing would otherwise store one blob for all. */
            int stamp = c->base + nsent, slot = nsent % slots;
            while (!atomic_load(&free_slot[slot]))
                usleep(50);
            atomic_store(&free_slot[slot], 0);
            char *payload = ring + (size_t)slot * size;
            if (c->img) {
                memcpy(payload + 6, &stamp, sizeof stamp);
            } else {
                memset(payload, 'a' + stamp % 26, size < 64 ? size : 64);
                memcpy(payload, &stamp, sizeof stamp);
            }
            bn_msg_t *m = bn_msg_new();
            if (c->mdp) {
                bn_msg_addmem(m, "", 0);
                bn_msg_addstr(m, "MDPC01");
                bn_msg_addstr(m, "beian.submit");
                bn_msg_addstr(m, spec);
            } else {
                bn_msg_addmem(m, &nsent, sizeof nsent);
            }
            bn_msg_addzc(m, payload, size, s_released, &free_slot[slot]);
            sent[nsent++] = now();
            bn_msg_send(m, s);
            bn_msg_destroy(&m);
        }
        bn_msg_t *r = bn_msg_new();
        if (bn_msg_recv(r, s, 64, 0) == 0) {
            int ok = c->mdp ? bn_msg_size(r) >= 4 && bn_msg_streq(r, 3, "200") : 1;
            if (!ok && c->mdp)
                fprintf(stderr, "refused: %.*s\n", bn_msg_size(r) >= 4 ? (int)bn_msg_len(r, 3) : 0,
                        bn_msg_size(r) >= 4 ? (const char *)bn_msg_data(r, 3) : "");
            c->lat[nrecv] = now() - sent[nrecv]; /* acks come back in order on one connection */
            nrecv++;
        }
        bn_msg_destroy(&r);
    }
    c->t1 = now();
    zmq_close(s);
    zmq_ctx_term(ctx); /* releases every slot */
    free(ring);
    free(free_slot);
    free(sent);
    return NULL;
}

/* Send count requests in all, split over n connections (one per endpoint, a thread each, the
 * window shared out); *t0 receives when the first started. */
static result_t run_clients(char (*eps)[300], int n, size_t size, int count, int window, int mdp, int base,
                            const image_t *img, double *t0)
{
    client_t c[2];
    pthread_t t[2];
    double *lat = calloc((size_t)count, sizeof *lat);
    if (img)
        size = img->size + 8;
    for (int i = 0, done = 0; i < n; i++) {
        int k = count / n + (i < count % n);
        c[i] = (client_t){eps[i], size, k, window / n > 0 ? window / n : 1, mdp, base + done, img, lat + done, 0, 0};
        done += k;
    }
    if (n == 1)
        client_run(&c[0]);
    else
        for (int i = 0; i < n; i++)
            pthread_create(&t[i], NULL, client_run, &c[i]);
    for (int i = 0; n > 1 && i < n; i++)
        pthread_join(t[i], NULL);
    double start = c[0].t0, end = c[0].t1;
    for (int i = 1; i < n; i++) {
        start = c[i].t0 < start ? c[i].t0 : start;
        end = c[i].t1 > end ? c[i].t1 : end;
    }
    if (t0)
        *t0 = start;
    double el = end - start;
    qsort(lat, (size_t)count, sizeof *lat, cmp);
    result_t res = {0};
    res.rate = count / el;
    res.mbps = count * (double)size / el / 1e6;
    res.p50 = lat[count / 2] * 1e3;
    res.p99 = lat[count * 99 / 100] * 1e3;
    free(lat);
    return res;
}

/* A pass: the cold one (first after start) and the warm one. */
enum { COLD, WARM, PASSES };

static void bench_raw(size_t size, int count, int window, result_t out[PASSES])
{
    void *ctx = zmq_ctx_new();
    void *r = zmq_socket(ctx, ZMQ_ROUTER);
    char ep[1][300];
    snprintf(ep[0], sizeof ep[0], "ipc://%s/raw.sock", s_dir);
    zmq_bind(r, ep[0]);
    pthread_t t;
    pthread_create(&t, NULL, echo_thread, r);
    for (int pass = 0; pass < PASSES; pass++)
        out[pass] = run_clients(ep, 1, size, count, window, 0, pass * count, NULL, NULL);
    /* stop the echo thread */
    void *c = zmq_socket(ctx, ZMQ_DEALER);
    zmq_connect(c, ep[0]);
    zmq_send(c, "STOP", 4, 0);
    pthread_join(t, NULL);
    zmq_close(c);
    zmq_close(r);
    zmq_ctx_term(ctx);
}

/* The processes started and not yet reaped, for an interrupted run to stop (s_on_signal). */
static pid_t s_children[64];

static void s_reap(pid_t pid)
{
    waitpid(pid, NULL, 0);
    for (int i = 0; i < 64; i++)
        if (s_children[i] == pid)
            s_children[i] = 0;
}

static pid_t spawn(char *const argv[])
{
    pid_t p = fork();
    for (int i = 0; p > 0 && i < 64; i++)
        if (!s_children[i]) {
            s_children[i] = p;
            break;
        }
    if (p == 0) {
        setenv("TW_NOOP", "1", 1);
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return p;
}


static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* KB allocated in the memory store's tmpfs payload file(s) of a broker (bd_arena). */
static long shm_kb(pid_t pid)
{
    long kb = 0;
    char pat[64];
    snprintf(pat, sizeof pat, "beiand.%d.", (int)pid);
    DIR *d = opendir("/dev/shm");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[400];
        struct stat st;
        snprintf(path, sizeof path, "/dev/shm/%.255s/payloads", e->d_name);
        if (!strncmp(e->d_name, pat, strlen(pat)) && stat(path, &st) == 0)
            kb += (long)st.st_blocks / 2;
    }
    if (d)
        closedir(d);
    return kb;
}

/* ---- PostgreSQL ---- */

/* SQL against the cluster's maintenance database; 0 when it succeeded. */
static int pg_sql(const char *sql)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "psql -X -q -v ON_ERROR_STOP=1 '%spostgres' -c '%s' >/dev/null 2>&1", s_pg_base, sql);
    return system(cmd) == 0 ? 0 : -1;
}

/* Start a private cluster for the store rows; without one (no server binaries) the PostgreSQL
 * rows are skipped with the reason. */
static void pg_start(void)
{
    snprintf(s_pg_dir, sizeof s_pg_dir, "/tmp/beian-bench-pg.XXXXXX");
    if (!mkdtemp(s_pg_dir)) {
        snprintf(s_pg_why, sizeof s_pg_why, "mkdtemp: %s", strerror(errno));
        s_pg_dir[0] = '\0';
        return;
    }
    char cmd[1400], url[512] = "";
    snprintf(cmd, sizeof cmd, "%s/scripts/pg-cluster.sh start %s 2>&1", BEIAN_SOURCE_DIR, s_pg_dir);
    FILE *p = popen(cmd, "r");
    char line[512];
    while (p && fgets(line, sizeof line, p))
        snprintf(url, sizeof url, "%s", line); /* the URL is the last line; errors before it */
    int rc = p ? pclose(p) : -1;
    url[strcspn(url, "\n")] = '\0';
    char *slash = strrchr(url, '/');
    if (rc != 0 || strncmp(url, "postgres://", 11) != 0 || !slash) {
        snprintf(s_pg_why, sizeof s_pg_why, "scripts/pg-cluster.sh: %.200s", url);
        return;
    }
    slash[1] = '\0';
    snprintf(s_pg_base, sizeof s_pg_base, "%s", url);
    /* For the profile (docs/PROTOCOL.md "Benchmark"): server settings to try, applied with a
     * restart, e.g. BENCH_PG_CONF='synchronous_commit=off;wal_buffers=64MB'. */
    const char *conf = getenv("BENCH_PG_CONF");
    if (conf && *conf) {
        char *copy = strdup(conf), *save = NULL;
        for (char *kv = strtok_r(copy, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
            char *eq = strchr(kv, '='), sql[300];
            if (!eq)
                continue;
            *eq = '\0';
            snprintf(sql, sizeof sql, "ALTER SYSTEM SET %.60s = \"'\"'%.100s'\"'\"", kv, eq + 1);
            if (pg_sql(sql) < 0)
                fprintf(stderr, "bench_broker: BENCH_PG_CONF: %s=%s refused\n", kv, eq + 1);
        }
        free(copy);
        snprintf(cmd, sizeof cmd, "%s/scripts/pg-cluster.sh stop %s && %s/scripts/pg-cluster.sh start %s >/dev/null",
                 BEIAN_SOURCE_DIR, s_pg_dir, BEIAN_SOURCE_DIR, s_pg_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_broker: BENCH_PG_CONF: the restart failed\n");
    }
}

/* A database's URL: over TCP (127.0.0.1), as scripts/pg-cluster.sh gives it, or with
 * BENCH_PG_UNIX=1 over the cluster's unix socket. */
static void pg_url(char *out, size_t size, const char *db)
{
    int unix_socket = getenv("BENCH_PG_UNIX") && atoi(getenv("BENCH_PG_UNIX"));
    snprintf(out, size, "%.400s%.32s%s%.150s", s_pg_base, db, unix_socket ? "?host=" : "", unix_socket ? s_pg_dir : "");
}

static void pg_stop(void)
{
    if (!s_pg_dir[0])
        return;
    char cmd[800];
    snprintf(cmd, sizeof cmd, "%s/scripts/pg-cluster.sh stop %s >/dev/null 2>&1; rm -rf %s", BEIAN_SOURCE_DIR,
             s_pg_dir, s_pg_dir);
    if (system(cmd) != 0) {}
    s_pg_dir[0] = '\0';
}

/* Interrupted: the brokers, workers and private cluster must not outlive the run (not
 * async-signal-safe, but the run is over anyway). */
static void s_on_signal(int sig)
{
    for (int i = 0; i < 64; i++)
        if (s_children[i] > 0)
            kill(s_children[i], SIGKILL);
    pg_stop();
    char rm[300];
    snprintf(rm, sizeof rm, "rm -rf %s", s_dir);
    if (system(rm) != 0) {}
    _exit(128 + sig);
}

/* CPU seconds of the PostgreSQL server: the postmaster and its children (the brokers'
 * backends live as long as their broker, so a difference over a pass is theirs). */
static double pg_cpu(void)
{
    if (!s_pg_base[0])
        return 0;
    char path[400];
    snprintf(path, sizeof path, "%s/data/postmaster.pid", s_pg_dir);
    FILE *f = fopen(path, "r");
    int pm = 0;
    if (!f || fscanf(f, "%d", &pm) != 1)
        pm = 0;
    if (f)
        fclose(f);
    if (pm <= 0)
        return 0;
    double cpu = bn_bench_proc_cpu(pm);
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char buf[512];
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        const char *p = bn_bench_proc_stat(atoi(e->d_name), buf, sizeof buf);
        int ppid;
        if (p && sscanf(p, "%*c %d", &ppid) == 1 && ppid == pm)
            cpu += bn_bench_proc_cpu(atoi(e->d_name));
    }
    if (d)
        closedir(d);
    return cpu;
}

/* ---- stacks: brokers and their workers ---- */

enum { S_MEMORY, S_SQLITE, S_PG };
#define TALLY 8

typedef struct {
    int store, nb, nw;
    pid_t broker[2], workers[8];
    char ep[2][300], db[32];
    bn_client_t *client[2]; /* for beian.metrics (store rows) */
} bstack_t;

/* Jobs the stack's brokers finished since they started (beian.metrics: the sum of
 * beian_jobs_finished_total, which counts each broker's own jobs), by status/verdict into
 * names/counts (TALLY entries, added to). -1 when a broker did not answer. Lossless, unlike
 * PUB announcements, which a subscriber that falls behind loses. */
static int stack_finished(bstack_t *st, char names[TALLY][40], int counts[TALLY])
{
    int total = 0;
    for (int b = 0; b < st->nb; b++) {
        bn_msg_t *req = bn_msg_new(), *rep = NULL;
        if (bn_client_call(st->client[b], BN_SVC_METRICS, &req, &rep, 10000) < 0 || bn_msg_size(rep) < 2) {
            bn_msg_destroy(&rep);
            return -1;
        }
        char *text = strndup(bn_msg_data(rep, 1), bn_msg_len(rep, 1)), *save = NULL;
        bn_msg_destroy(&rep);
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            char status[20], verdict[20] = "", name[40];
            long n;
            if (sscanf(l, "beian_jobs_finished_total{status=\"%19[^\"]\",verdict=\"%19[^\"]\"} %ld", status, verdict, &n) != 3
                && sscanf(l, "beian_jobs_finished_total{status=\"%19[^\"]\",verdict=\"\"} %ld", status, &n) != 2)
                continue;
            total += (int)n;
            snprintf(name, sizeof name, "%s%s%s", status, verdict[0] ? "/" : "", verdict);
            for (int k = 0; names && k < TALLY; k++)
                if (!names[k][0] || !strcmp(names[k], name)) {
                    snprintf(names[k], sizeof names[k], "%s", name);
                    counts[k] += (int)n;
                    break;
                }
        }
        free(text);
    }
    return total;
}

/* Is a worker registered for service at ep? (mmi.service: 200 once a worker has sent READY,
 * which the beian workers do after loading their models.) */
static int s_served(const char *ep, const char *service)
{
    bn_client_t *c = bn_client_new(ep);
    bn_msg_t *req = bn_msg_new(), *rep = NULL;
    bn_msg_addstr(req, service);
    int ok = bn_client_call(c, BN_SVC_MMI, &req, &rep, 2000) == 0 && bn_msg_size(rep) >= 1 && bn_msg_streq(rep, 0, BN_ST_OK);
    bn_msg_destroy(&rep);
    bn_client_destroy(&c);
    return ok;
}

static void stack_stop(bstack_t *st);

/* nb brokers on store (PostgreSQL: a fresh database), each with wps quality and OCR workers
 * (no-op tw_workers, or the real ones); watch: count finished jobs (stack_finished). */
static int stack_start(bstack_t *st, int store, int nb, int wps, int real, int watch)
{
    static int db_seq;
    static const char *names[] = {"memory", "sqlite", "pg"};
    memset(st, 0, sizeof *st);
    st->store = store;
    char beiand[4200], quality[4200], ocr[4200], url[600] = "", cfg[300] = "";
    snprintf(beiand, sizeof beiand, "%s/beiand", s_bin);
    snprintf(quality, sizeof quality, "%s/%s", s_bin, real ? "beian-quality" : "tw_worker");
    snprintf(ocr, sizeof ocr, "%s/%s", s_bin, real ? "beian-ocr" : "tw_worker");
    if (store == S_PG) {
        if (!s_pg_base[0])
            return -1;
        snprintf(st->db, sizeof st->db, "bench%d", ++db_seq);
        char sql[80];
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", st->db);
        if (pg_sql(sql) < 0) {
            fprintf(stderr, "bench_broker: %s failed\n", sql);
            st->db[0] = '\0';
            return -1;
        }
        pg_url(url, sizeof url, st->db);
        /* Every broker of a database must hold the same store key: the first creates it. */
        snprintf(cfg, sizeof cfg, "%s/pg.json", s_dir);
        FILE *f = fopen(cfg, "w");
        if (f) {
            fprintf(f, "{\"store\":{\"key_file\":\"%s/pg.key\"}}\n", s_dir);
            fclose(f);
        }
    }
    for (int b = 0; b < nb; b++) {
        char dir[256], rm[400], sock[400];
        snprintf(dir, sizeof dir, "%.200s/%s%d", s_dir, names[store], b);
        snprintf(rm, sizeof rm, "rm -rf %s", dir);
        if (system(rm) != 0) {}
        snprintf(st->ep[b], sizeof st->ep[b], "ipc://%s/beiand.sock", dir);
        char *bargs[] = {beiand, "--dir", dir, "--store", store == S_PG ? url : (char *)names[store], "--pub",
                         "none", "--max-jobs", "100000", cfg[0] ? "-C" : NULL, cfg, NULL};
        st->broker[b] = spawn(bargs);
        st->nb = b + 1;
        snprintf(sock, sizeof sock, "%s/beiand.sock", dir);
        for (int i = 0; i < 500 && access(sock, F_OK) != 0; i++)
            usleep(20000);
        if (access(sock, F_OK) != 0) {
            fprintf(stderr, "bench_broker: beiand did not start (%s)\n", dir);
            stack_stop(st);
            return -1;
        }
        for (int w = 0; w < wps; w++) {
            char *q[] = {quality, "--connect", st->ep[b], "--service", "beian.quality", "--no-supervise", NULL};
            char *o[] = {ocr, "--connect", st->ep[b], "--service", "beian.ocr", "--no-supervise", NULL};
            if (real) /* the real workers know their service */
                q[3] = o[3] = "--no-supervise", q[4] = o[4] = NULL;
            st->workers[st->nw++] = spawn(q);
            st->workers[st->nw++] = spawn(o);
        }
    }
    if (real) {
        double t0 = now();
        for (int b = 0; b < nb; b++)
            while (!(s_served(st->ep[b], BN_SVC_QUALITY) && s_served(st->ep[b], BN_SVC_OCR))) {
                if (now() - t0 > 120) {
                    fprintf(stderr, "bench_broker: the real workers did not get ready\n");
                    stack_stop(st);
                    return -1;
                }
                usleep(100000);
            }
    }
    if (wps)
        usleep(200000);
    for (int b = 0; watch && b < nb; b++)
        st->client[b] = bn_client_new(st->ep[b]);
    return 0;
}

static double stack_workers_cpu(const bstack_t *st)
{
    double cpu = 0;
    for (int i = 0; i < st->nw; i++)
        cpu += bn_bench_proc_cpu(st->workers[i]);
    return cpu;
}

static double stack_brokers_cpu(const bstack_t *st)
{
    double cpu = 0;
    for (int b = 0; b < st->nb; b++)
        cpu += bn_bench_proc_cpu(st->broker[b]);
    return cpu;
}

/* run_clients against a started stack (the load split over its brokers), with the CPU the
 * brokers, the workers and the PostgreSQL server spent meanwhile. Watched (store rows): the
 * end-to-end rate, first submission to the first look at the brokers' counters (every 50 ms,
 * from the last acknowledgement on: none while submissions run) that finds every job finished.
 * Otherwise workers keep draining after the last ack; wait until the queue is empty (their CPU
 * stops rising) so their cost per job is complete. */
static result_t run_stack(bstack_t *st, size_t size, int count, int window, int base, const image_t *img)
{
    char names0[TALLY][40] = {{0}}, names1[TALLY][40] = {{0}};
    int counts0[TALLY] = {0}, counts1[TALLY] = {0};
    int before = st->client[0] ? stack_finished(st, names0, counts0) : 0;
    double b0 = stack_brokers_cpu(st), w0 = stack_workers_cpu(st), p0 = pg_cpu(), t0;
    result_t r = run_clients(st->ep, st->nb, size, count, window, 1, base, img, &t0);
    if (st->client[0] && st->nw) {
        /* Until every job finished, or none did for a while (real stages: a job takes
         * seconds): then say what the store holds. */
        double stall = img ? 60 : 15, moved = now();
        for (int seen = -1;; usleep(50000)) {
            int done = stack_finished(st, NULL, NULL) - before;
            if (done >= count) {
                r.e2e = count / (now() - t0);
                break;
            }
            if (done != seen)
                seen = done, moved = now();
            if (now() - moved > stall) {
                fprintf(stderr, "bench_broker: %d of %d jobs finished, none for %.0f s; e2e not measured\n", done,
                        count, stall);
                if (st->db[0]) {
                    char cmd[1200], url[600];
                    pg_url(url, sizeof url, st->db);
                    snprintf(cmd, sizeof cmd, "psql -X -tA '%s' -c 'SELECT status, owner IS NOT NULL, count(*) FROM "
                             "jobs GROUP BY 1, 2' >&2", url);
                    if (system(cmd) != 0) {}
                }
                break;
            }
        }
        /* This pass's jobs by status/verdict: the counters now less before. */
        stack_finished(st, names1, counts1);
        char *p = r.verdicts;
        for (int k = 0; k < TALLY && names1[k][0]; k++) {
            int n = counts1[k];
            for (int j = 0; j < TALLY; j++)
                n -= strcmp(names0[j], names1[k]) ? 0 : counts0[j];
            if (n)
                p += snprintf(p, sizeof r.verdicts - (size_t)(p - r.verdicts), "%s%s %d", p > r.verdicts ? ", " : "",
                              names1[k], n);
        }
    } else {
        for (double last = -1, w; st->nw && (w = stack_workers_cpu(st)) != last; last = w)
            usleep(300000);
    }
    r.broker_us = (stack_brokers_cpu(st) - b0) / count * 1e6;
    r.workers_us = (stack_workers_cpu(st) - w0) / count * 1e6;
    r.pg_us = (pg_cpu() - p0) / count * 1e6;
    return r;
}

static void stack_stop(bstack_t *st)
{
    for (int b = 0; b < st->nb; b++)
        bn_client_destroy(&st->client[b]);
    for (int i = 0; i < st->nw; i++)
        if (st->workers[i] > 0) {
            kill(st->workers[i], SIGKILL);
            s_reap(st->workers[i]);
        }
    for (int b = 0; b < st->nb; b++) {
        kill(st->broker[b], SIGTERM);
        s_reap(st->broker[b]);
    }
    if (st->db[0]) { /* the next configuration starts on a fresh database; this one's space goes */
        char sql[80];
        snprintf(sql, sizeof sql, "DROP DATABASE %s", st->db);
        pg_sql(sql);
    }
}

/* Sequential write bandwidth with an fsync per file: what a durable 3 MB submission costs at
 * the least. */
static double disk_mbps(size_t size, int files)
{
    char *buf = malloc(size);
    memset(buf, 'x', size);
    double t0 = now();
    for (int i = 0; i < files; i++) {
        char path[300];
        snprintf(path, sizeof path, "%s/disk%d", s_dir, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        buf[0] = (char)i;
        if (write(fd, buf, size) != (ssize_t)size) {}
        fdatasync(fd);
        close(fd);
    }
    double el = now() - t0;
    for (int i = 0; i < files; i++) {
        char path[300];
        snprintf(path, sizeof path, "%s/disk%d", s_dir, i);
        unlink(path);
    }
    free(buf);
    return files * (double)size / el / 1e6;
}

/* One configuration, in the order of names[]: raw, intake, memory, dintake, durable. */
static void run_config(int c, size_t size, int count, int window, result_t out[PASSES])
{
    if (c == 0) {
        bench_raw(size, count, window, out);
        return;
    }
    bstack_t st;
    stack_start(&st, c >= 3 ? S_SQLITE : S_MEMORY, 1, c == 2 || c == 4, 0, 0);
    for (int pass = 0; pass < PASSES; pass++)
        out[pass] = run_stack(&st, size, count, window, pass * count, NULL);
    stack_stop(&st);
}

/* The stores: sqlite, pg1 (one broker), pg2 (two on one database), in intake (no workers) and
 * drained (no-op workers) form. 0 ran, -1 skipped (no PostgreSQL). */
static const char *s_stores[] = {"sqlite", "pg1", "pg2"};
#define NSTORES 3

static int run_store(int s, int drained, size_t size, int count, int window, result_t out[PASSES])
{
    bstack_t st;
    memset(out, 0, sizeof(result_t) * PASSES);
    if (stack_start(&st, s ? S_PG : S_SQLITE, s == 2 ? 2 : 1, drained, 0, 1) < 0)
        return -1;
    for (int pass = 0; pass < PASSES; pass++)
        out[pass] = run_stack(&st, size, count, window, pass * count, NULL);
    stack_stop(&st);
    return 0;
}

/* Median by throughput; latencies come from the same run. */
static result_t median(result_t *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j].rate < v[j - 1].rate; j--) {
            result_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[n / 2];
}

static void row(const char *name, size_t size, result_t r)
{
    printf("  %-8s %7zu B  %9.0f sub/s  %8.1f MB/s  p50 %7.2f ms  p99 %7.2f ms", name, size, r.rate, r.mbps, r.p50, r.p99);
    if (r.e2e > 0)
        printf("  e2e %.0f jobs/s", r.e2e);
    if (r.broker_us > 0)
        printf("  cpu/sub broker %.0f µs workers %.0f µs", r.broker_us, r.workers_us);
    if (r.pg_us > 0)
        printf(" pg %.0f µs", r.pg_us);
    printf("\n");
    fflush(stdout);
}

static double loadavg(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f && fscanf(f, "%lf", &l) != 1)
        l = -1;
    if (f)
        fclose(f);
    return l;
}

static double ratio(double a, double b) { return b > 0 ? a / b : 0; }

/* The stores side by side: rounds interleaved, median of the warm passes. */
static void bench_stores(int quick, int window)
{
    int rounds = quick ? 1 : 3;
    struct { size_t size; int count; } sizes[] = {{10 * 1024, quick ? 1000 : 4000}, {3 * 1024 * 1024, quick ? 20 : 60}};
    printf("\nstores (issue #13): warm pass, window %d, median of %d rounds; pg2 = two brokers on one database,\n"
           "the client split between them (two connections, window %d each); drained = one no-op quality and\n"
           "OCR worker per broker; e2e = first submission to last finished job; load average %.2f at start\n",
           window, rounds, window / 2, loadavg());
    if (!s_pg_base[0])
        printf("  PostgreSQL rows skipped: %s\n", s_pg_why);
    printf("  %-7s %-6s  %12s %8s %8s  %12s %10s  %17s  %17s\n", "size", "store", "intake sub/s", "p50 ms", "p99 ms",
           "drained sub/s", "e2e jobs/s", "cpu/sub brk/pg µs", "drained brk/pg µs");
    for (int k = 0; k < 2; k++) {
        size_t size = sizes[k].size;
        int count = sizes[k].count;
        result_t r[2][NSTORES][3], med[2][NSTORES];
        int ran[NSTORES] = {0};
        for (int i = 0; i < rounds; i++)
            for (int s = 0; s < NSTORES; s++)
                for (int d = 0; d < 2; d++) {
                    result_t pass[PASSES];
                    if (run_store(s, d, size, count, window, pass) == 0)
                        ran[s] = 1;
                    r[d][s][i] = pass[WARM];
                }
        for (int s = 0; s < NSTORES; s++) {
            for (int d = 0; d < 2; d++)
                med[d][s] = median(r[d][s], rounds);
            if (!ran[s])
                continue;
            printf("  %-7s %-6s  %12.0f %8.2f %8.2f  %12.0f %10.0f  %8.0f/%-8.0f  %8.0f/%-8.0f\n",
                   size > 1000000 ? "3 MB" : "10 KB", s_stores[s], med[0][s].rate, med[0][s].p50, med[0][s].p99,
                   med[1][s].rate, med[1][s].e2e, med[0][s].broker_us, med[0][s].pg_us, med[1][s].broker_us,
                   med[1][s].pg_us);
            fflush(stdout);
        }
        if (ran[1])
            printf("  → %s: pg1/sqlite intake %.2f×, e2e %.2f×", size > 1000000 ? "3 MB" : "10 KB",
                   ratio(med[0][1].rate, med[0][0].rate), ratio(med[1][1].e2e, med[1][0].e2e));
        if (ran[2])
            printf("; pg2/pg1 intake %.2f×, e2e %.2f×", ratio(med[0][2].rate, med[0][1].rate),
                   ratio(med[1][2].e2e, med[1][1].e2e));
        printf("\n");
    }
}

/* A clean generated ID-card front for the real stages: $BENCH_IMAGE, else the first in
 * $BEIAN_SPECIMENS or <source>/build-specimens (tests/specgen; `make test` generates it). */
static int load_image(image_t *img, char *why, size_t wsize)
{
    char path[4400] = "";
    if (getenv("BENCH_IMAGE") && *getenv("BENCH_IMAGE")) {
        snprintf(path, sizeof path, "%s", getenv("BENCH_IMAGE"));
    } else {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", getenv("BEIAN_SPECIMENS") && *getenv("BEIAN_SPECIMENS")
                                            ? getenv("BEIAN_SPECIMENS") : BEIAN_SOURCE_DIR "/build-specimens");
        DIR *d = opendir(dir);
        struct dirent *e;
        char best[256] = "";
        const char *suffix = "-id-card-front-clean.jpg";
        while (d && (e = readdir(d))) {
            size_t n = strlen(e->d_name), m = strlen(suffix);
            if (n > m && !strcmp(e->d_name + n - m, suffix) && (!best[0] || strcmp(e->d_name, best) < 0))
                snprintf(best, sizeof best, "%s", e->d_name);
        }
        if (d)
            closedir(d);
        if (!best[0]) {
            snprintf(why, wsize, "no *%s in %.200s (set BENCH_IMAGE or BEIAN_SPECIMENS)", suffix, dir);
            return -1;
        }
        snprintf(path, sizeof path, "%s/%s", dir, best);
    }
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0 || sb.st_size < 4 || sb.st_size > 6000000) {
        snprintf(why, wsize, "%.200s: cannot read it", path);
        if (f)
            fclose(f);
        return -1;
    }
    img->size = (size_t)sb.st_size;
    img->data = malloc(img->size);
    size_t got = fread(img->data, 1, img->size, f);
    fclose(f);
    if (got != img->size || img->data[0] != 0xff || img->data[1] != 0xd8) {
        snprintf(why, wsize, "%.200s: not a JPEG", path);
        free(img->data);
        return -1;
    }
    return 0;
}

/* The real stages end to end: per store, 1 and 2 quality + OCR workers per broker. */
static void bench_real(int quick)
{
    image_t img;
    char why[300];
    if (load_image(&img, why, sizeof why) < 0) {
        printf("\nreal stages: skipped: %s\n", why);
        return;
    }
    int count = quick ? 4 : 12;
    printf("\nreal stages: beian-quality + beian-ocr on a %zu KB generated ID-card front (a distinct JPEG comment\n"
           "each job), %d jobs in flight; warm pass after a cold one of %d jobs; load average %.2f at start\n",
           img.size / 1024, count, count, loadavg());
    printf("  %-6s %-14s %10s  %9s  %14s  %s\n", "store", "workers/stage", "e2e jobs/s", "p50 ack", "cpu/job s",
           "finished");
    double e2e[NSTORES][2] = {{0}};
    for (int s = 0; s < NSTORES; s++)
        for (int w = 1; w <= 2; w++) {
            bstack_t st;
            if (stack_start(&st, s ? S_PG : S_SQLITE, s == 2 ? 2 : 1, w, 1, 1) < 0)
                continue;
            result_t r[PASSES];
            for (int pass = 0; pass < PASSES; pass++)
                r[pass] = run_stack(&st, 0, count, count, pass * count, &img);
            stack_stop(&st);
            char wl[16];
            snprintf(wl, sizeof wl, s == 2 ? "%d+%d" : "%d", w, w);
            e2e[s][w - 1] = r[WARM].e2e;
            printf("  %-6s %-14s %10.2f  %6.0f ms  %14.2f  %s\n", s_stores[s], wl, r[WARM].e2e, r[WARM].p50,
                   (r[WARM].broker_us + r[WARM].workers_us + r[WARM].pg_us) / 1e6, r[WARM].verdicts);
            fflush(stdout);
        }
    printf("  → workers 2/1: sqlite %.2f×, pg1 %.2f×, pg2 %.2f×; pg1/sqlite %.2f×; pg2 (1+1)/pg1 (2) %.2f×\n",
           ratio(e2e[0][1], e2e[0][0]), ratio(e2e[1][1], e2e[1][0]), ratio(e2e[2][1], e2e[2][0]),
           ratio(e2e[1][0], e2e[0][0]), ratio(e2e[2][0], e2e[1][1]));
    free(img.data);
}

int main(int argc, char **argv)
{
    int quick = 0, stores_only = 0, real_only = 0, only = -1, only_store = -1, only_drained = 0;
    static const char *names[] = {"raw", "intake", "memory", "dintake", "durable"};
    for (int i = 1; i < argc; i++) {
        quick |= !strcmp(argv[i], "--quick");
        stores_only |= !strcmp(argv[i], "--stores");
        real_only |= !strcmp(argv[i], "--real");
    }
    if (argc == 5 && !strcmp(argv[1], "--only")) {
        for (int c = 0; c < 5; c++)
            if (!strcmp(argv[2], names[c]))
                only = c;
        for (int s = 0; s < NSTORES; s++) {
            size_t n = strlen(s_stores[s]);
            if (!strncmp(argv[2], s_stores[s], n) && (!argv[2][n] || !strcmp(argv[2] + n, "-drained")))
                only_store = s, only_drained = argv[2][n] != '\0';
        }
    }
    char self[4096];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(s_bin, sizeof s_bin, "%s", dirname(self));
    snprintf(s_dir, sizeof s_dir, "/tmp/beian-bench-%d", getpid());
    mkdir(s_dir, 0700);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);
    struct { size_t size; int count; } sizes[] = {{10 * 1024, quick ? 2000 : 10000}, {3 * 1024 * 1024, quick ? 40 : 150}};
    int window = getenv("BENCH_WINDOW") ? atoi(getenv("BENCH_WINDOW")) : 64;
    if (only >= 0 || only_store >= 0) {
        size_t size = (size_t)atol(argv[3]);
        int count = atoi(argv[4]);
        result_t r[PASSES];
        if (only_store > 0)
            pg_start();
        if (only >= 0)
            run_config(only, size, count, window, r);
        else if (run_store(only_store, only_drained, size, count, window, r) < 0)
            fprintf(stderr, "bench_broker: %s did not start %s\n", argv[2], s_pg_why);
        printf("cold:\n");
        row(argv[2], size, r[COLD]);
        printf("warm:\n");
        row(argv[2], size, r[WARM]);
        goto done;
    }
    if (stores_only || real_only)
        goto stores;
    printf("beian broker benchmark (window %d, ipc, no-op workers draining; warm pass, median of %d rounds)\n",
           window, quick ? 1 : 3);
    /* Each configuration runs `rounds` times, interleaved with the others, and the median is
     * reported: on a shared 2-core machine a single run of each says more about the neighbours
     * than about the broker. */
    int rounds = quick ? 1 : 3;
    for (int k = 0; k < 2; k++) {
        size_t size = sizes[k].size;
        int count = sizes[k].count;
        result_t r[PASSES][5][5];
        double disk[5];
        for (int i = 0; i < rounds; i++) {
            for (int c = 0; c < 5; c++) {
                result_t pass[PASSES];
                run_config(c, size, count, window, pass);
                for (int p = 0; p < PASSES; p++)
                    r[p][c][i] = pass[p];
            }
            disk[i] = size > 1000000 ? disk_mbps(size, count / 3 + 5) : 0;
        }
        result_t med[5], cold[5];
        for (int c = 0; c < 5; c++) {
            med[c] = median(r[WARM][c], rounds);
            cold[c] = median(r[COLD][c], rounds);
            row(names[c], size, med[c]);
        }
        printf("  → memory/raw throughput %.0f %% (intake alone %.0f %%); cold pass %.0f %% (%.0f %%)",
               100 * med[2].rate / med[0].rate, 100 * med[1].rate / med[0].rate, 100 * cold[2].rate / cold[0].rate,
               100 * cold[1].rate / cold[0].rate);
        if (size > 1000000) {
            qsort(disk, (size_t)rounds, sizeof disk[0], cmp);
            double d = disk[rounds / 2];
            printf(",\n    durable intake %.0f MB/s (drained %.0f MB/s) vs disk fsync'd writes %.0f MB/s = %.0f %% (%.0f %%)",
                   med[3].mbps, med[4].mbps, d, 100 * med[3].mbps / d, 100 * med[4].mbps / d);
        }
        printf("\n");
    }
    /* Copies: queue 3 MB payloads with no workers, compare the broker's RSS growth with the
     * payload bytes it holds (memory store: it must keep them; 1.0 means one copy). */
    bstack_t st;
    stack_start(&st, S_MEMORY, 1, 0, 0, 0);
    usleep(200000);
    long before = rss_kb(st.broker[0]) + shm_kb(st.broker[0]);
    int n = quick ? 20 : 60;
    run_clients(st.ep, 1, 3 * 1024 * 1024, n, 8, 1, 0, NULL, NULL);
    usleep(200000);
    long shm = shm_kb(st.broker[0]), after = rss_kb(st.broker[0]) + shm;
    stack_stop(&st);
    double ratio_copies = (after - before) * 1024.0 / (n * 3.0 * 1024 * 1024);
    printf("copies: %d queued 3 MB payloads grew the broker's RSS + payload file by %.0f MB (file %.0f MB) = %.2f× "
           "the payload bytes\n", n, (after - before) / 1024.0, shm / 1024.0, ratio_copies);
stores:
    pg_start();
    if (stores_only || !real_only)
        bench_stores(quick, window);
    if (real_only || !stores_only)
        bench_real(quick);
done:
    pg_stop();
    char rm[300];
    snprintf(rm, sizeof rm, "rm -rf %s", s_dir);
    if (system(rm) != 0) {}
    return 0;
}
