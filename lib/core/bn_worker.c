#include "core/bn_worker.h"
#include "core/bn_error.h"
#include "core/bn_log.h"
#include "core/bn_mdp.h"
#include "core/bn_msg.h"
#include "core/bn_zsock.h"

#include <beian/proto.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sodium.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

/* ---- the stage thread ------------------------------------------------------------------- */

/* One stage thread for the life of the worker: the main loop hands it a task with a byte on
 * go_fd and it answers with a byte on done_fd (both pipes, so the main loop can zmq_poll the
 * answer next to its socket). A thread per task cost more than a no-op stage. */
typedef struct {
    const bn_worker_opts_t *opts;
    bn_msg_t *body;     /* request body, owned while the task runs */
    bn_msg_t *reply;    /* set by the thread */
    int go_fd;          /* read end: 't' = run the task in body, 'q' = quit */
    int done_fd;        /* write end of the pipe the main loop polls */
} s_job_t;

static void *s_stage_thread(void *arg)
{
    s_job_t *job = arg;
    char cmd;
    while (read(job->go_fd, &cmd, 1) == 1 && cmd == 't') {
        bn_task_t task;
        json_t *header = NULL;
        bn_stage_result_t result = {0};
        int rc;
        bn_error_clear();
        if (bn_worker_decode_task(job->body, job->opts->config, &task, &header) < 0)
            rc = -1;
        else
            rc = job->opts->stage(&task, &result);
        job->reply = bn_worker_encode_reply(rc, &result);
        bn_stage_result_clear(&result);
        json_decref(header);
        char one = 1;
        if (write(job->done_fd, &one, 1) < 0) { /* the main loop will time the task out */ }
    }
    return NULL;
}

/* ---- the main loop ---------------------------------------------------------------------- */

typedef struct {
    const bn_worker_opts_t *opts;
    void *ctx, *sock;
    int64_t heartbeat_at, broker_expiry;
    int backoff_ms;
} s_conn_t;

static int s_send_cmd(s_conn_t *c, int cmd, bn_msg_t *body, const void *addr, size_t addr_len)
{
    bn_msg_t *m = body ? body : bn_msg_new();
    int rc = bn_mdp_wrap_worker(m, NULL, cmd, addr, addr_len) == 0 ? bn_msg_send(m, c->sock) : -1;
    bn_msg_destroy(&m);
    return rc;
}

static int s_connect(s_conn_t *c)
{
    if (c->sock) {
        zmq_close(c->sock);
        c->sock = NULL;
    }
    /* A fresh routing id per connection, with the prefix that tells the broker we heartbeat
     * while busy (see BN_WORKER_ID_PREFIX). */
    char id[64];
    unsigned char r[12];
    randombytes_buf(r, sizeof r);
    int k = snprintf(id, sizeof id, "%s", BN_WORKER_ID_PREFIX);
    for (size_t i = 0; i < sizeof r; i++)
        k += snprintf(id + k, sizeof id - (size_t)k, "%02x", r[i]);
    c->sock = bn_zsock_new_id(c->ctx, ZMQ_DEALER, c->opts->endpoint, 0, c->opts->server_key, c->opts->cert_path, id);
    if (!c->sock)
        return -1;
    bn_msg_t *m = bn_msg_new();
    bn_msg_addstr(m, c->opts->service);
    s_send_cmd(c, BN_MDPW_READY, m, NULL, 0);
    int64_t now = s_now_ms();
    c->heartbeat_at = now + c->opts->heartbeat_ms;
    c->broker_expiry = now + (int64_t)c->opts->heartbeat_ms * c->opts->liveness;
    bn_info("connected to %s as %s", c->opts->endpoint, c->opts->service);
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
    s_conn_t c = {.opts = &opts, .ctx = zmq_ctx_new(), .backoff_ms = 250};
    int pipefd[2], gofd[2];
    if (pipe(pipefd) < 0)
        return bn_error_set("internal", "pipe: %s", strerror(errno));
    if (pipe(gofd) < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return bn_error_set("internal", "pipe: %s", strerror(errno));
    }
    int rc = -1, tasks = 0, started = 0;
    s_job_t job = {.opts = &opts, .go_fd = gofd[0], .done_fd = pipefd[1]};
    pthread_t thread;
    if (s_connect(&c) < 0)
        goto done;
    if (pthread_create(&thread, NULL, s_stage_thread, &job) != 0) {
        bn_error_set("internal", "cannot start the stage thread");
        goto done;
    }
    started = 1;
    int busy = 0;
    int64_t task_deadline = 0;
    char addr[256];
    size_t addr_len = 0;
    bn_msg_t *m = bn_msg_new();

    while (!*stop && (max_tasks == 0 || tasks < max_tasks || busy)) {
        zmq_pollitem_t items[2] = {{c.sock, 0, ZMQ_POLLIN, 0}, {NULL, pipefd[0], ZMQ_POLLIN, 0}};
        int64_t now = s_now_ms();
        int64_t wait = c.heartbeat_at - now;
        if (wait < 0) wait = 0;
        if (zmq_poll(items, 2, (long)wait) < 0 && errno != EINTR)
            break;
        now = s_now_ms();
        if (items[0].revents & ZMQ_POLLIN) {
            bn_mdp_t p;
            const char *why;
            if (bn_msg_recv(m, c.sock, BN_DEFAULT_MAX_FRAMES, 0) == 0) {
                c.broker_expiry = now + (int64_t)opts.heartbeat_ms * opts.liveness;
                c.backoff_ms = 250;
                if (bn_mdp_parse(m, 0, &p, &why) < 0 || !p.worker) {
                    bn_warn("dropped malformed message from broker: %s", why ? why : "client message");
                } else if (p.command == BN_MDPW_REQUEST) {
                    size_t al = bn_msg_len(m, p.address);
                    if (busy || al >= sizeof addr) {
                        bn_warn("request while busy or with oversized address; refused");
                    } else {
                        memcpy(addr, bn_msg_data(m, p.address), al);
                        addr_len = al;
                        bn_msg_drop(m, p.body);
                        job.body = m;
                        m = bn_msg_new();
                        job.reply = NULL;
                        if (write(gofd[1], "t", 1) != 1) {
                            bn_error("cannot hand the task to the stage thread");
                            bn_msg_destroy(&job.body);
                        } else {
                            busy = 1;
                            task_deadline = now + opts.task_timeout_ms;
                        }
                    }
                } else if (p.command == BN_MDPW_DISCONNECT) {
                    bn_info("broker asked us to reconnect");
                    s_connect(&c);
                }
                /* HEARTBEAT needs nothing beyond the expiry refresh above. */
            }
        }
        if (busy && (items[1].revents & ZMQ_POLLIN)) {
            char b;
            if (read(pipefd[0], &b, 1) < 0) { /* spurious */ }
            busy = 0;
            tasks++;
            bn_msg_destroy(&job.body);
            s_send_cmd(&c, BN_MDPW_REPLY, job.reply, addr, addr_len);
            job.reply = NULL;
        }
        if (busy && now > task_deadline) {
            /* A stage thread cannot be cancelled safely (it may hold libvips or Tesseract locks):
             * leave the process; the broker's lease re-queues the task, the supervisor restarts us. */
            bn_error("task exceeded %d ms; exiting so the supervisor restarts a clean worker", opts.task_timeout_ms);
            s_send_cmd(&c, BN_MDPW_DISCONNECT, NULL, NULL, 0);
            _exit(75);
        }
        if (now > c.broker_expiry) {
            bn_warn("broker silent for %d ms; reconnecting in %d ms", opts.heartbeat_ms * opts.liveness, c.backoff_ms);
            struct timespec ts = {c.backoff_ms / 1000, (long)(c.backoff_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            c.backoff_ms = c.backoff_ms * 2 > opts.reconnect_max_ms ? opts.reconnect_max_ms : c.backoff_ms * 2;
            if (s_connect(&c) < 0)
                break;
            now = s_now_ms();
        }
        if (now >= c.heartbeat_at) {
            s_send_cmd(&c, BN_MDPW_HEARTBEAT, NULL, NULL, 0);
            c.heartbeat_at = now + opts.heartbeat_ms;
        }
    }
    /* The thread finishes a running task, then reads the quit byte. */
    if (write(gofd[1], "q", 1) != 1) { /* then it exits with the process */ }
    pthread_join(thread, NULL);
    started = 0;
    bn_msg_destroy(&job.body);
    bn_msg_destroy(&job.reply);
    if (c.sock)
        s_send_cmd(&c, BN_MDPW_DISCONNECT, NULL, NULL, 0);
    bn_msg_destroy(&m);
    rc = 0;
done:
    if (started) {
        if (write(gofd[1], "q", 1) != 1) { /* exits with the process */ }
        pthread_join(thread, NULL);
    }
    if (c.sock)
        zmq_close(c.sock);
    zmq_ctx_term(c.ctx);
    close(pipefd[0]);
    close(pipefd[1]);
    close(gofd[0]);
    close(gofd[1]);
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
           "  -c, --connect EP        broker endpoint (default $BEIAN_ENDPOINT or ipc://var/beiand.sock)\n"
           "  -C, --config FILE       configuration JSON (default $BEIAN_CONFIG)\n"
           "  -s, --service NAME      register under another service name\n"
           "      --heartbeat MS      heartbeat interval (default 2500)\n"
           "      --task-timeout MS   exit and restart when a task runs longer (default 120000)\n"
           "      --server-key Z85    broker public key (tcp endpoints)\n"
           "      --cert FILE         this worker's secret certificate (tcp endpoints)\n"
           "      --max-tasks N       exit after N tasks (tests)\n"
           "      --no-supervise      run in this process; no restart after a crash\n"
           "  -v, --verbose           debug logging\n"
           "  -h, --help\n", prog, service);
}

int bn_worker_main(int argc, char **argv, const char *service, bn_stage_fn stage)
{
    return bn_worker_main_init(argc, argv, service, stage, NULL);
}

int bn_worker_main_init(int argc, char **argv, const char *service, bn_stage_fn stage, bn_stage_init_fn init)
{
    bn_worker_opts_t o = {.service = service, .stage = stage};
    const char *config_path = NULL;
    int supervise = 1, verbose = 0, max_tasks = 0;
    static struct option lo[] = {
        {"connect", 1, 0, 'c'}, {"config", 1, 0, 'C'}, {"service", 1, 0, 's'}, {"heartbeat", 1, 0, 'H'},
        {"task-timeout", 1, 0, 'T'}, {"server-key", 1, 0, 'K'}, {"cert", 1, 0, 'E'}, {"max-tasks", 1, 0, 'M'},
        {"no-supervise", 0, 0, 'N'}, {"verbose", 0, 0, 'v'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
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
        case 'N': supervise = 0; break;
        case 'v': verbose = 1; break;
        case 'h': s_usage(argv[0], service); return 0;
        default: s_usage(argv[0], service); return 1;
        }
    }
    const char *base = strrchr(argv[0], '/');
    bn_log_init(base ? base + 1 : argv[0], verbose ? BN_LOG_DEBUG : BN_LOG_INFO);
    if (!o.endpoint)
        o.endpoint = getenv("BEIAN_ENDPOINT");
    if (!o.endpoint)
        o.endpoint = "ipc://var/beiand.sock";
    bn_config_t *cfg = bn_config_load(config_path);
    if (!cfg) {
        bn_error("%s: %s", bn_error_code(), bn_error_msg());
        return 1;
    }
    o.config = cfg;
    if (o.task_timeout_ms == 0)
        o.task_timeout_ms = (int)bn_config_num(cfg, "worker.task_timeout_ms", 120000);

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
