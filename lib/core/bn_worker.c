#include "core/bn_worker.h"
#include "core/bn_clock.h"
#include "core/bn_error.h"
#include "core/bn_log.h"
#include "core/bn_version.h"
#include "core/bn_mdp.h"
#include "core/bn_msg.h"
#include "core/bn_sha256.h"
#include "core/bn_zsock.h"

#include <beian/proto.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sodium.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int bn_worker_decode_task(bn_msg_t *body, const bn_config_t *config, bn_task_t *task, json_t **header_out)
{
    memset(task, 0, sizeof *task);
    *header_out = NULL;
    if (bn_msg_size(body) < 2)
        return bn_error_set("bad_task", "task needs a header and a document frame");
    json_error_t jerr;
    json_t *h = json_loadb(bn_msg_data(body, 0), bn_msg_len(body, 0), 0, &jerr);
    if (!json_is_object(h)) {
        json_decref(h);
        return bn_error_set("bad_task", "task header is not a JSON object");
    }
    json_t *doc = json_object_get(h, "document");
    task->stage = json_string_value(json_object_get(h, "stage"));
    task->doc_type = json_string_value(json_object_get(doc, "type"));
    task->doc_side = json_string_value(json_object_get(doc, "side"));
    task->doc_page = (int)json_integer_value(json_object_get(doc, "page")); /* absent: 0, the first */
    if (!task->stage || !task->doc_type || !task->doc_side) {
        json_decref(h);
        return bn_error_set("bad_task", "task header lacks stage or document type/side");
    }
    task->image = bn_msg_data(body, 1);
    task->image_size = bn_msg_len(body, 1);
    if (bn_msg_size(body) > 2) {
        task->selfie = bn_msg_data(body, 2);
        task->selfie_size = bn_msg_len(body, 2);
    }
    json_t *form = json_object_get(h, "form");
    task->form = json_is_object(form) ? form : NULL;
    task->options = json_object_get(h, "options");
    json_t *hints = json_object_get(h, "hints");
    /* The broker sends the quality task's whole reply ({"ok","result",...}); stages see only
     * its result, as `beian check` gives it to them. */
    json_t *q = json_object_get(hints, "quality");
    json_t *qr = json_object_get(q, "result");
    if (json_is_object(qr))
        json_object_set(hints, "quality", qr);
    task->hints = json_is_object(hints) ? hints : NULL;
    task->config = config;
    *header_out = h;
    return 0;
}

/* Open the first of a ref's paths that exists (a durable blob moves from spool/tmp to spool
 * when the broker commits, so the list is tried twice) and map it. A spool file comes with its
 * content address ("sha256"): what was read is checked against it, so a truncated, bit-flipped
 * or swapped file is reported (store_corrupt) instead of judged as the applicant's upload. */
#define BN_WORKER_MAP_MIN (1u << 20) /* smaller referenced payloads are read, not mapped */

static void s_unmap_one(void *p, size_t size)
{
    if (size < BN_WORKER_MAP_MIN)
        free(p);
    else
        munmap(p, size);
}

static int s_map_ref(json_t *ref, void **addr, size_t *size)
{
    json_t *paths = json_object_get(ref, "paths");
    json_int_t bytes = json_integer_value(json_object_get(ref, "bytes"));
    json_int_t offset = json_integer_value(json_object_get(ref, "offset")); /* page-aligned */
    const char *sha = json_string_value(json_object_get(ref, "sha256"));
    size_t n = json_array_size(paths);
    if (!n || bytes <= 0 || offset < 0 || offset % 4096 || (sha && strlen(sha) != 64))
        return bn_error_set("bad_task", "frame_refs entry needs paths, bytes and an aligned offset");
    int corrupt = 0;
    for (size_t k = 0; k < 2 * n; k++) {
        const char *path = json_string_value(json_array_get(paths, k % n));
        int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
        if (fd < 0)
            continue;
        struct stat st;
        void *p = MAP_FAILED;
        if (sha && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size != offset + bytes) {
            corrupt = 1; /* a spool file holds exactly its blob: truncated or grown */
        } else if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= offset + bytes) {
            /* A small payload is read: mapping and unmapping it costs more than the copy (an
             * munmap in a threaded process interrupts every core to flush its TLB). */
            if (bytes < BN_WORKER_MAP_MIN) {
                p = malloc((size_t)bytes);
                if (p && pread(fd, p, (size_t)bytes, (off_t)offset) != bytes) {
                    free(p);
                    p = MAP_FAILED;
                }
            } else {
                p = mmap(NULL, (size_t)bytes, PROT_READ, MAP_SHARED, fd, (off_t)offset);
            }
        }
        close(fd);
        if (p && p != MAP_FAILED && sha && !bn_sha256_matches(p, (size_t)bytes, sha)) {
            s_unmap_one(p, (size_t)bytes);
            corrupt = 1;
            continue;
        }
        if (p && p != MAP_FAILED) {
            *addr = p;
            *size = (size_t)bytes;
            return 0;
        }
    }
    if (corrupt) /* the broker checks the file itself before it believes this */
        return bn_error_set("store_corrupt", "the payload file does not match its content address");
    return bn_error_set("blob_unreachable", "cannot read the payload file the broker named");
}

int bn_worker_map_refs(json_t *header, bn_task_t *task, bn_worker_maps_t *maps)
{
    memset(maps, 0, sizeof *maps);
    json_t *refs = json_object_get(header, "frame_refs");
    for (size_t k = 0; k < 2 && k < json_array_size(refs); k++) {
        json_t *ref = json_array_get(refs, k);
        if (json_is_null(ref))
            continue;
        if (s_map_ref(ref, &maps->addr[k], &maps->size[k]) < 0) {
            bn_worker_unmap_refs(maps);
            return -1;
        }
        if (k == 0)
            task->image = maps->addr[0], task->image_size = maps->size[0];
        else
            task->selfie = maps->addr[1], task->selfie_size = maps->size[1];
    }
    return 0;
}

void bn_worker_unmap_refs(bn_worker_maps_t *maps)
{
    for (int k = 0; k < 2; k++)
        if (maps->addr[k])
            s_unmap_one(maps->addr[k], maps->size[k]);
    memset(maps, 0, sizeof *maps);
}

static void s_free_cb(void *data, void *hint) { (void)hint; free(data); }

bn_msg_t *bn_worker_encode_reply(int rc, bn_stage_result_t *r)
{
    bn_msg_t *m = bn_msg_new();
    json_t *reply = bn_stage_reply(rc, r);
    char *text = json_dumps(reply, JSON_COMPACT);
    bn_msg_addstr(m, text);
    free(text);
    int ok = json_is_true(json_object_get(reply, "ok"));
    json_decref(reply);
    /* Blob payloads move into zero-copy frames: libzmq frees them when sent. */
    for (int i = 0; ok && i < r->nblobs; i++) {
        bn_msg_addzc(m, r->blobs[i].data, r->blobs[i].size, s_free_cb, NULL);
        r->blobs[i].data = NULL;
    }
    return m;
}

/* ---- the loop and its watchdog -------------------------------------------------------- */

/* The stage runs on the thread that owns the socket: receive, run, reply, with no hand-off.
 * A hand-off to a stage thread cost four wake-ups per task, more CPU than a no-op stage and a
 * third of the whole pipeline's in the broker benchmark. While a stage runs, a watchdog
 * thread borrows the socket to send the heartbeats MDP needs (a long OCR must not look like a
 * dead worker) and ends the process when the task overruns its time. The socket is only ever
 * touched under `mu` (libzmq allows moving a socket between threads behind a full barrier);
 * the watchdog wakes on its own clock, not per task, so a short task costs no wake-up.
 *
 * Several brokers (issue #13, --connect A,B): one DEALER per broker, all polled, each with its
 * own READY, liveness and reconnect backoff, so a broker that dies costs only its own socket.
 * A task is answered to the broker it came from. The process still runs one task at a time:
 * while it works for one broker it heartbeats to all of them (it is alive) but reads from
 * none, and a task another broker handed it meanwhile waits in that socket until this one is
 * done (MDP has no "busy": the broker counts it as running, under its lease). */

typedef struct {
    const char *endpoint;
    void *sock;                 /* NULL while waiting to reconnect */
    int64_t broker_expiry, reconnect_at;
    int backoff_ms;
} s_broker_t;

typedef struct {
    const bn_worker_opts_t *opts;
    void *ctx;
    s_broker_t brokers[BN_ZSOCK_MAX_ENDPOINTS];
    char *eps[BN_ZSOCK_MAX_ENDPOINTS];
    int nbrokers;
    int64_t heartbeat_at;
    pthread_mutex_t mu;        /* owns the sockets, heartbeat_at */
    _Atomic int64_t busy_until; /* task deadline while a stage runs, else 0 */
    pthread_mutex_t qmu;       /* watchdog sleep / quit */
    pthread_cond_t qcv;
    int quit;
} s_conn_t;

static int s_send_cmd(s_broker_t *b, int cmd, bn_msg_t *body, const void *addr, size_t addr_len)
{
    bn_msg_t *m = body ? body : bn_msg_new();
    int rc = b->sock && bn_mdp_wrap_worker(m, NULL, cmd, addr, addr_len) == 0 ? bn_msg_send(m, b->sock) : -1;
    bn_msg_destroy(&m);
    return rc;
}

/* A command to every connected broker (HEARTBEAT, DISCONNECT). */
static void s_send_all(s_conn_t *c, int cmd)
{
    for (int i = 0; i < c->nbrokers; i++)
        if (c->brokers[i].sock)
            s_send_cmd(&c->brokers[i], cmd, NULL, NULL, 0);
}

static void *s_watchdog(void *arg)
{
    s_conn_t *c = arg;
    /* Half the heartbeat interval: a heartbeat is never more than 1.5 intervals late. */
    int64_t tick = c->opts->heartbeat_ms / 2 > 0 ? c->opts->heartbeat_ms / 2 : 1;
    pthread_mutex_lock(&c->qmu);
    while (!c->quit) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += tick / 1000;
        ts.tv_nsec += (tick % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L)
            ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&c->qcv, &c->qmu, &ts);
        if (c->quit || !c->busy_until)
            continue;
        pthread_mutex_lock(&c->mu);
        int64_t now = bn_mono_ms(), deadline = c->busy_until;
        if (deadline && now > deadline) {
            /* A stage cannot be cancelled safely (it may hold libvips or Tesseract locks):
             * leave the process; the broker's lease re-queues the task, the supervisor
             * restarts a clean worker. */
            bn_error("task exceeded %d ms; exiting so the supervisor restarts a clean worker",
                     c->opts->task_timeout_ms);
            s_send_all(c, BN_MDPW_DISCONNECT);
            _exit(75);
        }
        if (deadline && now >= c->heartbeat_at) {
            s_send_all(c, BN_MDPW_HEARTBEAT);
            c->heartbeat_at = now + c->opts->heartbeat_ms;
        }
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_unlock(&c->qmu);
    return NULL;
}

static int s_connect(s_conn_t *c, s_broker_t *b)
{
    if (b->sock) {
        zmq_close(b->sock);
        b->sock = NULL;
    }
    /* A fresh routing id per connection, with the prefix that tells the broker we heartbeat
     * while busy (see BN_WORKER_ID_PREFIX). */
    char id[64];
    unsigned char r[12];
    randombytes_buf(r, sizeof r);
    int k = snprintf(id, sizeof id, "%s", BN_WORKER_ID_PREFIX);
    for (size_t i = 0; i < sizeof r; i++)
        k += snprintf(id + k, sizeof id - (size_t)k, "%02x", r[i]);
    b->sock = bn_zsock_new_id(c->ctx, ZMQ_DEALER, b->endpoint, 0, c->opts->server_key, c->opts->cert_path, id);
    if (!b->sock)
        return -1;
    bn_msg_t *m = bn_msg_new();
    bn_msg_addstr(m, c->opts->service);
    /* Over ipc the broker is on this host: offer to read large payloads from its files
     * rather than have each one copied through the socket again for every stage. */
    if (!strncmp(b->endpoint, "ipc://", 6) && !getenv("BEIAN_WORKER_NO_REFS"))
        bn_msg_addstr(m, BN_READY_REFS);
    s_send_cmd(b, BN_MDPW_READY, m, NULL, 0);
    b->broker_expiry = bn_mono_ms() + (int64_t)c->opts->heartbeat_ms * c->opts->liveness;
    bn_info("connected to %s as %s", b->endpoint, c->opts->service);
    return 0;
}

/* Run one task (request body without the MDP envelope) through the stage; the reply body. */
static bn_msg_t *s_run_task(const bn_worker_opts_t *opts, bn_msg_t *body)
{
    bn_task_t task;
    json_t *header = NULL;
    bn_stage_result_t result = {0};
    bn_error_clear();
    bn_worker_maps_t maps = {0};
    int rc = bn_worker_decode_task(body, opts->config, &task, &header);
    if (rc == 0)
        rc = bn_worker_map_refs(header, &task, &maps);
    if (rc == 0)
        rc = opts->stage(&task, &result);
    bn_msg_t *reply = bn_worker_encode_reply(rc, &result);
    bn_worker_unmap_refs(&maps);
    bn_stage_result_clear(&result);
    json_decref(header);
    return reply;
}

/* One message from broker b: a task is run and answered there (returns 1), a DISCONNECT
 * reconnects, a HEARTBEAT needs nothing beyond the expiry refresh. */
static int s_broker_message(s_conn_t *c, s_broker_t *b, bn_msg_t *m, int64_t now)
{
    const bn_worker_opts_t *opts = c->opts;
    bn_mdp_t p;
    const char *why;
    if (bn_msg_recv(m, b->sock, BN_DEFAULT_MAX_FRAMES, 0) < 0)
        return 0;
    b->broker_expiry = now + (int64_t)opts->heartbeat_ms * opts->liveness;
    b->backoff_ms = 250;
    if (bn_mdp_parse(m, 0, &p, &why) < 0 || !p.worker) {
        bn_warn("dropped malformed message from broker: %s", why ? why : "client message");
    } else if (p.command == BN_MDPW_REQUEST) {
        char addr[256];
        size_t al = bn_msg_len(m, p.address);
        if (al >= sizeof addr) {
            bn_warn("request with an oversized address; refused");
            return 0;
        }
        memcpy(addr, bn_msg_data(m, p.address), al);
        bn_msg_drop(m, p.body);
        c->busy_until = now + opts->task_timeout_ms;
        pthread_mutex_unlock(&c->mu);
        bn_msg_t *reply = s_run_task(opts, m);
        pthread_mutex_lock(&c->mu);
        c->busy_until = 0;
        s_send_cmd(b, BN_MDPW_REPLY, reply, addr, al);
        /* Broker messages that queued meanwhile are read now; the brokers' silence during
         * our stage does not count against them. */
        now = bn_mono_ms();
        for (int i = 0; i < c->nbrokers; i++)
            c->brokers[i].broker_expiry = now + (int64_t)opts->heartbeat_ms * opts->liveness;
        return 1;
    } else if (p.command == BN_MDPW_DISCONNECT) {
        bn_info("broker %s asked us to reconnect", b->endpoint);
        s_connect(c, b);
    }
    return 0;
}

int bn_worker_run(const bn_worker_opts_t *opts_in, volatile int *stop, int max_tasks)
{
    bn_worker_opts_t opts = *opts_in;
    if (opts.heartbeat_ms <= 0) opts.heartbeat_ms = BN_DEFAULT_HEARTBEAT_MS;
    if (opts.liveness <= 0) opts.liveness = BN_DEFAULT_HEARTBEAT_LIVENESS;
    if (opts.reconnect_max_ms <= 0) opts.reconnect_max_ms = 8000;
    if (opts.task_timeout_ms <= 0) opts.task_timeout_ms = 120000;
    if (sodium_init() < 0)
        return bn_error_set("internal", "libsodium init failed");
    s_conn_t c = {.opts = &opts};
    c.nbrokers = bn_zsock_endpoints(opts.endpoint, c.eps);
    if (c.nbrokers < 0)
        return -1;
    c.ctx = zmq_ctx_new();
    for (int i = 0; i < c.nbrokers; i++)
        c.brokers[i] = (s_broker_t){.endpoint = c.eps[i], .backoff_ms = 250};
    pthread_mutex_init(&c.mu, NULL);
    pthread_mutex_init(&c.qmu, NULL);
    pthread_cond_init(&c.qcv, NULL);
    int rc = -1, tasks = 0, started = 0;
    pthread_t watchdog;
    bn_msg_t *m = bn_msg_new();
    pthread_mutex_lock(&c.mu);
    for (int i = 0; i < c.nbrokers; i++)
        if (s_connect(&c, &c.brokers[i]) < 0)
            goto done;
    c.heartbeat_at = bn_mono_ms() + opts.heartbeat_ms;
    if (pthread_create(&watchdog, NULL, s_watchdog, &c) != 0) {
        bn_error_set("internal", "cannot start the watchdog thread");
        goto done;
    }
    started = 1;

    while (!*stop && (max_tasks == 0 || tasks < max_tasks)) {
        zmq_pollitem_t items[BN_ZSOCK_MAX_ENDPOINTS];
        s_broker_t *polled[BN_ZSOCK_MAX_ENDPOINTS];
        int n = 0;
        int64_t now = bn_mono_ms(), wake = c.heartbeat_at;
        for (int i = 0; i < c.nbrokers; i++) {
            s_broker_t *b = &c.brokers[i];
            if (b->sock) {
                items[n] = (zmq_pollitem_t){b->sock, 0, ZMQ_POLLIN, 0};
                polled[n++] = b;
            } else if (b->reconnect_at < wake) {
                wake = b->reconnect_at;
            }
        }
        if (zmq_poll(items, n, (long)(wake > now ? wake - now : 0)) < 0 && errno != EINTR)
            break;
        now = bn_mono_ms();
        for (int k = 0; k < n && !*stop && (max_tasks == 0 || tasks < max_tasks); k++)
            if (items[k].revents & ZMQ_POLLIN && polled[k]->sock && s_broker_message(&c, polled[k], m, now)) {
                tasks++;
                now = bn_mono_ms();
            }
        for (int i = 0; i < c.nbrokers; i++) {
            s_broker_t *b = &c.brokers[i];
            if (b->sock && now > b->broker_expiry) {
                /* This broker only: the others keep being served while it is away. */
                bn_warn("broker %s silent for %d ms; reconnecting in %d ms", b->endpoint,
                        opts.heartbeat_ms * opts.liveness, b->backoff_ms);
                zmq_close(b->sock);
                b->sock = NULL;
                b->reconnect_at = now + b->backoff_ms;
                b->backoff_ms = b->backoff_ms * 2 > opts.reconnect_max_ms ? opts.reconnect_max_ms : b->backoff_ms * 2;
            } else if (!b->sock && now >= b->reconnect_at && s_connect(&c, b) < 0) {
                goto done;
            }
        }
        if (now >= c.heartbeat_at) {
            s_send_all(&c, BN_MDPW_HEARTBEAT);
            c.heartbeat_at = now + opts.heartbeat_ms;
        }
    }
    s_send_all(&c, BN_MDPW_DISCONNECT);
    rc = 0;
done:
    pthread_mutex_unlock(&c.mu);
    if (started) {
        pthread_mutex_lock(&c.qmu);
        c.quit = 1;
        pthread_cond_signal(&c.qcv);
        pthread_mutex_unlock(&c.qmu);
        pthread_join(watchdog, NULL);
    }
    bn_msg_destroy(&m);
    for (int i = 0; i < c.nbrokers; i++) {
        if (c.brokers[i].sock)
            zmq_close(c.brokers[i].sock);
        free(c.eps[i]);
    }
    zmq_ctx_term(c.ctx);
    pthread_mutex_destroy(&c.mu);
    pthread_mutex_destroy(&c.qmu);
    pthread_cond_destroy(&c.qcv);
    return rc;
}

/* ---- main() ----------------------------------------------------------------------------- */

static volatile int s_stop;
static volatile pid_t s_child;

static void s_on_signal(int sig)
{
    s_stop = 1;
    if (s_child > 0)
        kill(s_child, sig);
}

static void s_usage(const char *prog, const char *service)
{
    printf("usage: %s [options]\n"
           "Connects to beiand as an MDP worker for service '%s'.\n\n"
           "  -c, --connect EP[,EP..] broker endpoint (default $BEIAN_ENDPOINT or ipc://var/beiand.sock);\n"
           "                          a comma-separated list: serve every one of those brokers (one\n"
           "                          task at a time in all; each broker reconnected on its own)\n"
           "  -C, --config FILE       configuration JSON (default $BEIAN_CONFIG)\n"
           "  -s, --service NAME      register under another service name\n"
           "      --heartbeat MS      heartbeat interval (default 2500)\n"
           "      --task-timeout MS   exit and restart when a task runs longer (default 120000)\n"
           "      --server-key Z85    broker public key (tcp endpoints)\n"
           "      --cert FILE         this worker's secret certificate (tcp endpoints)\n"
           "      --nice N            scheduling niceness of the worker (default 10; 0 keeps the caller's)\n"
           "      --max-tasks N       exit after N tasks (tests)\n"
           "      --no-supervise      run in this process; no restart after a crash\n"
           "  -v, --verbose           debug logging\n"
           "  -h, --help\n"
           "      --version\n", prog, service);
}

int bn_worker_main(int argc, char **argv, const char *service, bn_stage_fn stage)
{
    return bn_worker_main_init(argc, argv, service, stage, NULL);
}

int bn_worker_main_init(int argc, char **argv, const char *service, bn_stage_fn stage, bn_stage_init_fn init)
{
    bn_worker_opts_t o = {.service = service, .stage = stage};
    const char *config_path = NULL;
    int supervise = 1, verbose = 0, max_tasks = 0, niceness = -1;
    static struct option lo[] = {
        {"connect", 1, 0, 'c'}, {"config", 1, 0, 'C'}, {"service", 1, 0, 's'}, {"heartbeat", 1, 0, 'H'},
        {"task-timeout", 1, 0, 'T'}, {"server-key", 1, 0, 'K'}, {"cert", 1, 0, 'E'}, {"max-tasks", 1, 0, 'M'},
        {"nice", 1, 0, 'P'}, {"no-supervise", 0, 0, 'N'}, {"verbose", 0, 0, 'v'}, {"help", 0, 0, 'h'}, {"version", 0, 0, 'V'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "c:C:s:vh", lo, NULL)) != -1) {
        switch (ch) {
        case 'c': o.endpoint = optarg; break;
        case 'C': config_path = optarg; break;
        case 's': o.service = optarg; break;
        case 'H': o.heartbeat_ms = atoi(optarg); break;
        case 'T': o.task_timeout_ms = atoi(optarg); break;
        case 'K': o.server_key = optarg; break;
        case 'E': o.cert_path = optarg; break;
        case 'M': max_tasks = atoi(optarg); break;
        case 'P': niceness = atoi(optarg); niceness = niceness > 0 ? niceness : 0; break;
        case 'N': supervise = 0; break;
        case 'v': verbose = 1; break;
        case 'h': s_usage(argv[0], service); return 0;
        case 'V': bn_version_print(argv[0]); return 0;
        default: s_usage(argv[0], service); return 1;
        }
    }
    const char *base = strrchr(argv[0], '/');
    bn_log_init(base ? base + 1 : argv[0], verbose ? BN_LOG_DEBUG : BN_LOG_INFO);
    if (!o.endpoint)
        o.endpoint = getenv("BEIAN_ENDPOINT");
    if (!o.endpoint)
        o.endpoint = "ipc://var/beiand.sock";
    char *eps[BN_ZSOCK_MAX_ENDPOINTS];
    int neps = bn_zsock_endpoints(o.endpoint, eps); /* a bad list is said once, not at each restart */
    if (neps < 0) {
        bn_error("--connect: %s", bn_error_msg());
        return 1;
    }
    while (neps > 0)
        free(eps[--neps]);
    bn_config_t *cfg = bn_config_load(config_path);
    if (!cfg) {
        bn_error("%s: %s", bn_error_code(), bn_error_msg());
        return 1;
    }
    o.config = cfg;
    bn_config_warn_unknown(cfg);
    /* The broker's frame cap from the same file: a task carries an image of up to
     * broker.max_upload bytes, which the broker accepted below its own cap. */
    double max_frame = bn_config_num(cfg, "broker.max_frame", 0);
    if (max_frame > 0)
        bn_zsock_set_max_frame((size_t)max_frame);
    if (o.task_timeout_ms == 0)
        o.task_timeout_ms = (int)bn_config_num(cfg, "worker.task_timeout_ms", 120000);

    if (niceness < 0)
        niceness = (int)bn_config_num(cfg, "worker.nice", 10);
    /* Workers yield the CPU to the broker: a stage burns hundreds of milliseconds per image,
     * the broker microseconds per message, and on a small machine a burst of uploads should
     * be acknowledged at once rather than wait behind OCR. The cost: when other programs
     * keep every core busy, workers get a smaller share. Set before any thread exists, so
     * every thread inherits it (Linux niceness is per thread). Only ever raised: lowering
     * needs privilege. */
    errno = 0;
    int cur = getpriority(PRIO_PROCESS, 0);
    if (niceness > 0 && errno == 0 && cur < niceness && setpriority(PRIO_PROCESS, 0, niceness) < 0)
        bn_warn("setpriority(%d): %s", niceness, strerror(errno));

    struct sigaction sa = {.sa_handler = s_on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* Supervisor: the worker runs untrusted images through big C libraries; a crash or a
     * timeout exit must cost one task attempt, not the worker. */
    int backoff = 250;
    while (supervise && !s_stop) {
        pid_t pid = fork();
        if (pid < 0) {
            bn_error("fork: %s", strerror(errno));
            break;
        }
        if (pid == 0) {
            supervise = 0;
            break;
        }
        s_child = pid;
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        s_child = 0;
        if (s_stop || (WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            bn_config_destroy(&cfg);
            return 0;
        }
        bn_warn("worker process %s %d; restarting in %d ms", WIFSIGNALED(status) ? "killed by signal" : "exited with",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), backoff);
        usleep((useconds_t)backoff * 1000);
        backoff = backoff * 2 > 8000 ? 8000 : backoff * 2;
    }
    if (s_stop) {
        bn_config_destroy(&cfg);
        return 0;
    }
    /* Memory cap for the process that touches untrusted pixels (not under ASan, whose shadow
     * memory needs terabytes of address space). */
    double mem_mb = bn_config_num(cfg, "worker.max_memory_mb", 4096);
    if (mem_mb > 0 && !getenv("BEIAN_SANITIZED")) {
        struct rlimit rl = {(rlim_t)(mem_mb * 1048576.0), (rlim_t)(mem_mb * 1048576.0)};
        setrlimit(RLIMIT_AS, &rl);
    }
    if (init && init(cfg) < 0)
        bn_warn("start-up: %s: %s (tasks will report it)", bn_error_code(), bn_error_msg());
    int rc = bn_worker_run(&o, &s_stop, max_tasks);
    if (rc < 0)
        bn_error("%s: %s", bn_error_code(), bn_error_msg());
    bn_config_destroy(&cfg);
    return rc < 0 ? 1 : 0;
}
