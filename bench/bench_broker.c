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
 * Usage: bench_broker [--quick] (build dir is taken from argv[0]). Not a test: prints numbers.
 *        bench_broker --only raw|intake|memory|dintake|durable SIZE COUNT  runs one configuration
 *        (both passes; for profiling it, e.g. under perf record -a). */
#include "bn_bench.h"
#include "core/bn_msg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
    double broker_us, workers_us; /* CPU per submission, for the broker configurations */
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

/* Send `count` requests of `size` bytes with `window` in flight; measure per-request latency.
 * mdp: wrap as beian.submit with a job spec. */
static result_t run_client(const char *ep, size_t size, int count, int window, int mdp, int base)
{
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect(s, ep);
    int slots = window + 1;
    char *ring = malloc(size * (size_t)slots);
    memset(ring, 'x', size * (size_t)slots); /* real pages, not the shared zero page */
    atomic_int *free_slot = malloc(sizeof *free_slot * (size_t)slots);
    for (int i = 0; i < slots; i++)
        atomic_init(&free_slot[i], 1);
    double *lat = calloc((size_t)count, sizeof *lat), *sent = calloc((size_t)count, sizeof *sent);
    int nsent = 0, nrecv = 0;
    const char *spec = "{\"documents\":[{\"type\":\"id-card\",\"side\":\"front\",\"blob\":1}],"
                       "\"options\":{\"priority\":\"batch\"}}";
    double t0 = now();
    while (nrecv < count) {
        while (nsent < count && nsent - nrecv < window) {
            /* Distinct payloads: content addressing would otherwise store one blob for all. */
            int stamp = base + nsent, slot = nsent % slots;
            while (!atomic_load(&free_slot[slot]))
                usleep(50);
            atomic_store(&free_slot[slot], 0);
            char *payload = ring + (size_t)slot * size;
            memset(payload, 'a' + stamp % 26, size < 64 ? size : 64);
            memcpy(payload, &stamp, sizeof stamp);
            bn_msg_t *m = bn_msg_new();
            if (mdp) {
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
            int ok = mdp ? bn_msg_size(r) >= 4 && bn_msg_streq(r, 3, "200") : 1;
            if (!ok && mdp && bn_msg_streq(r, 3, "503"))
                fprintf(stderr, "busy\n");
            lat[nrecv] = now() - sent[nrecv]; /* acks come back in order on one connection */
            nrecv++;
        }
        bn_msg_destroy(&r);
    }
    double el = now() - t0;
    qsort(lat, (size_t)count, sizeof *lat, cmp);
    result_t res = {count / el, count * (double)size / el / 1e6, lat[count / 2] * 1e3, lat[count * 99 / 100] * 1e3, 0, 0};
    zmq_close(s);
    zmq_ctx_term(ctx); /* releases every slot */
    free(ring);
    free(free_slot);
    free(lat);
    free(sent);
    return res;
}

/* A pass: the cold one (first after start) and the warm one. */
enum { COLD, WARM, PASSES };

static void bench_raw(size_t size, int count, int window, result_t out[PASSES])
{
    void *ctx = zmq_ctx_new();
    void *r = zmq_socket(ctx, ZMQ_ROUTER);
    char ep[300];
    snprintf(ep, sizeof ep, "ipc://%s/raw.sock", s_dir);
    zmq_bind(r, ep);
    pthread_t t;
    pthread_create(&t, NULL, echo_thread, r);
    for (int pass = 0; pass < PASSES; pass++)
        out[pass] = run_client(ep, size, count, window, 0, pass * count);
    /* stop the echo thread */
    void *c = zmq_socket(ctx, ZMQ_DEALER);
    zmq_connect(c, ep);
    zmq_send(c, "STOP", 4, 0);
    pthread_join(t, NULL);
    zmq_close(c);
    zmq_close(r);
    zmq_ctx_term(ctx);
}

static pid_t spawn(char *const argv[])
{
    pid_t p = fork();
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

typedef struct {
    pid_t broker, workers[2];
    char ep[300];
} bstack_t;

static void stack_start(bstack_t *st, int durable, int workers)
{
    char dir[256], beiand[4200], tw[4200];
    snprintf(dir, sizeof dir, "%.200s/%s", s_dir, durable ? "durable" : "memory");
    char rm[400];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    if (system(rm) != 0) {}
    snprintf(st->ep, sizeof st->ep, "ipc://%s/beiand.sock", dir);
    snprintf(beiand, sizeof beiand, "%s/beiand", s_bin);
    snprintf(tw, sizeof tw, "%s/tw_worker", s_bin);
    char *bargs[] = {beiand, "--dir", dir, "--store", durable ? "sqlite" : "memory", "--pub", "none",
                     "--max-jobs", "100000", "--max-frame", "8000000", NULL};
    st->broker = spawn(bargs);
    char sock[400];
    snprintf(sock, sizeof sock, "%s/beiand.sock", dir);
    for (int i = 0; i < 100 && access(sock, F_OK) != 0; i++)
        usleep(20000);
    st->workers[0] = st->workers[1] = 0;
    if (workers) {
        char *q[] = {tw, "--connect", st->ep, "--service", "beian.quality", "--no-supervise", NULL};
        char *o[] = {tw, "--connect", st->ep, "--service", "beian.ocr", "--no-supervise", NULL};
        st->workers[0] = spawn(q);
        st->workers[1] = spawn(o);
        usleep(200000);
    }
}

static double stack_workers_cpu(const bstack_t *st)
{
    return (st->workers[0] ? bn_bench_proc_cpu(st->workers[0]) : 0) + (st->workers[1] ? bn_bench_proc_cpu(st->workers[1]) : 0);
}

/* run_client against a started stack, with the CPU the broker and workers spent meanwhile.
 * Workers keep draining after the last ack; wait until the queue is empty (their CPU stops
 * rising) so their cost per job is complete. */
static result_t run_stack(bstack_t *st, size_t size, int count, int window, int base)
{
    double b0 = bn_bench_proc_cpu(st->broker), w0 = stack_workers_cpu(st);
    result_t r = run_client(st->ep, size, count, window, 1, base);
    for (double last = -1, w; st->workers[0] && (w = stack_workers_cpu(st)) != last; last = w)
        usleep(300000);
    r.broker_us = (bn_bench_proc_cpu(st->broker) - b0) / count * 1e6;
    r.workers_us = (stack_workers_cpu(st) - w0) / count * 1e6;
    return r;
}

static void stack_stop(bstack_t *st)
{
    for (int i = 0; i < 2; i++)
        if (st->workers[i] > 0) {
            kill(st->workers[i], SIGKILL);
            waitpid(st->workers[i], NULL, 0);
        }
    kill(st->broker, SIGTERM);
    waitpid(st->broker, NULL, 0);
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
    stack_start(&st, c >= 3, c == 2 || c == 4);
    for (int pass = 0; pass < PASSES; pass++)
        out[pass] = run_stack(&st, size, count, window, pass * count);
    stack_stop(&st);
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
    if (r.broker_us > 0)
        printf("  cpu/sub broker %.0f µs workers %.0f µs", r.broker_us, r.workers_us);
    printf("\n");
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && !strcmp(argv[1], "--quick");
    int only = -1;
    static const char *names[] = {"raw", "intake", "memory", "dintake", "durable"};
    if (argc == 5 && !strcmp(argv[1], "--only"))
        for (int c = 0; c < 5; c++)
            if (!strcmp(argv[2], names[c]))
                only = c;
    char self[4096];
    snprintf(self, sizeof self, "%s", argv[0]);
    snprintf(s_bin, sizeof s_bin, "%s", dirname(self));
    snprintf(s_dir, sizeof s_dir, "/tmp/beian-bench-%d", getpid());
    mkdir(s_dir, 0700);
    signal(SIGPIPE, SIG_IGN);
    struct { size_t size; int count; } sizes[] = {{10 * 1024, quick ? 2000 : 10000}, {3 * 1024 * 1024, quick ? 40 : 150}};
    int window = getenv("BENCH_WINDOW") ? atoi(getenv("BENCH_WINDOW")) : 64;
    if (only >= 0) {
        size_t size = (size_t)atol(argv[3]);
        int count = atoi(argv[4]);
        result_t r[PASSES];
        run_config(only, size, count, window, r);
        printf("cold:\n");
        row(names[only], size, r[COLD]);
        printf("warm:\n");
        row(names[only], size, r[WARM]);
        goto done;
    }
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
    stack_start(&st, 0, 0);
    usleep(200000);
    long before = rss_kb(st.broker) + shm_kb(st.broker);
    int n = quick ? 20 : 60;
    run_client(st.ep, 3 * 1024 * 1024, n, 8, 1, 0);
    usleep(200000);
    long shm = shm_kb(st.broker), after = rss_kb(st.broker) + shm;
    stack_stop(&st);
    double ratio = (after - before) * 1024.0 / (n * 3.0 * 1024 * 1024);
    printf("copies: %d queued 3 MB payloads grew the broker's RSS + payload file by %.0f MB (file %.0f MB) = %.2f× "
           "the payload bytes\n", n, (after - before) / 1024.0, shm / 1024.0, ratio);
done:;
    char rm[300];
    snprintf(rm, sizeof rm, "rm -rf %s", s_dir);
    if (system(rm) != 0) {}
    return 0;
}
