#include "bd_broker.h"
#include "core/bn_clock.h"
#include "bd_hooks.h"
#include "bd_store.h"
#include "bd_zap.h"
#include "core/bn_error.h"
#include "core/bn_job.h"
#include "core/bn_log.h"
#include "core/bn_mdp.h"
#include "core/bn_msg.h"
#include "core/bn_zsock.h"

#include <beian/proto.h>
#include <czmq.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_PLAN (2 * BN_MAX_DOCS + 1)
#define KIND_BEIAN 0
#define KIND_TITANIC 1

/* Stage latency histogram bounds, seconds (beian.metrics). */
static const double s_lat_bounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
#define BD_LAT_BUCKETS (sizeof s_lat_bounds / sizeof s_lat_bounds[0])

enum { T_WAIT = 0, T_QUEUED, T_DELAYED, T_RUNNING, T_DONE };

typedef struct service service_t;
typedef struct worker worker_t;
typedef struct task task_t;
typedef struct job job_t;

typedef struct {
    char *tenant;
    zlistx_t *tasks;
} tenantq_t;

struct service {
    char *name;
    zlistx_t *idle;         /* worker_t*, longest idle first */
    zlistx_t *ring[2];      /* tenantq_t* per class (0 interactive, 1 batch), round robin */
    size_t nworkers, queued;
    /* beian.metrics: how long its tasks took, worker's answer minus dispatch (histogram) */
    uint64_t lat_count, lat_buckets[BD_LAT_BUCKETS];
    double lat_sum;
};

struct worker {
    char key[600];          /* "<sock>:<hex identity>" */
    zmq_msg_t identity;
    int sock;
    service_t *svc;
    int64_t expiry;
    task_t *task;           /* current attempt, NULL when idle or stuck */
    int stuck;              /* its lease expired: not idle until it answers or dies */
    int hb_busy;            /* heartbeats while busy: silence means dead */
    int refs;               /* READY said it reads large payloads from files on this host */
    void *idle_handle;
};

struct task {
    uint64_t id;
    int attempt;            /* attempts started */
    int seq;                /* index in the job's plan */
    int state;
    job_t *job;             /* NULL: an ephemeral MDP request */
    service_t *svc;
    int prio;
    char *tenant;
    int64_t not_before, lease, started;
    worker_t *worker;
    tenantq_t *tq;
    void *qhandle;
    /* ephemeral requests */
    zmq_msg_t client;
    int client_sock;
    bn_msg_t *body;
    size_t bytes;           /* body bytes, counted in plain_bytes while the task lives */
    int64_t expires;        /* not handed to a worker by then: dropped, the client told 504 */
    void *phandle;          /* in self->plain, arrival order */
};

struct job {
    char id[33];
    int kind;
    char *tenant;
    int prio;
    const char *status;     /* queued | running */
    json_t *spec;
    int ntasks, ndone;
    bn_plan_task_t plan[MAX_PLAN];
    task_t *tasks[MAX_PLAN];
    json_t *replies[MAX_PLAN];
    char *hint_text[MAX_PLAN]; /* a finished task's reply as JSON text, for its dependants' hints */
    char *ctx_text;         /* "\"form\":…,\"options\":…" for every task header, made once */
    int nblobs;
    zmq_msg_t *blobs;       /* payload frames as received (shared, never copied) */
    uint64_t live;          /* bit i: blobs[i] holds payload i (else it is in the store; always after a restart) */
    char **ref_text;        /* per payload: its frame_refs entry, "" when it goes as bytes; made when first needed */
    size_t bytes;
    zlistx_t *waiters;      /* pending_t* long-polls for the result */
    char *key;              /* "tenant\x1fkey" when the job has an idempotency key */
    int stored;             /* its row is in the store (memory mode writes it only at the end) */
    int64_t created;
};

/* A reply queued until the turn's commit. sock < 0 → the PUB socket. */
typedef struct {
    int sock;
    bn_msg_t *msg;
} pending_t;

struct bd_broker {
    bd_options_t o;
    void *ctx;
    void *socks[BD_MAX_BINDS];
    int nsocks;
    void *pub;
    int pub_curve;          /* pub is a CURVE (tcp) XPUB: subscriptions are scoped to tenants */
    bd_hooks_t *hooks;      /* signed webhooks (NULL: none configured) */
    bd_zap_t *zap;
    bd_store_t *store;
    zhashx_t *services;     /* name → service_t */
    zhashx_t *workers;      /* key → worker_t */
    zhashx_t *tasks;        /* token id → task_t (queued/running/delayed) */
    zhashx_t *jobs;         /* id → job_t (unfinished) */
    zhashx_t *keys;         /* "tenant\x1fkey" → job_t (unfinished jobs with an idempotency key) */
    zlistx_t *delayed;      /* task_t* waiting for their backoff */
    zlistx_t *pending;      /* pending_t* */
    uint64_t next_task;
    size_t bytes;           /* payload bytes held by unfinished jobs */
    zlistx_t *plain;        /* task_t* of plain MDP requests, arrival order (= expiry order) */
    size_t plain_bytes;     /* body bytes they hold */
    int64_t heartbeat_at, purge_at;
    json_t *finished;       /* beian.metrics: {"status\x1fverdict": jobs finished since start} */
    /* Shared store: long-polls for jobs another broker runs, id → zlistx_t of pending_t; answered
     * when its announcement arrives (bd_store_notified) or, should one be missed, by a look
     * at the store every second. */
    zhashx_t *remote;
    int64_t remote_at;
};

/* Hex without printf: this runs for every message (worker keys, task keys), and snprintf per
 * byte was a tenth of the broker's instructions. */
static char *s_hex(const unsigned char *in, size_t n, char *out)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[in[i] >> 4];
        out[2 * i + 1] = h[in[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
}

/* A task's hash key: its id as 16 hex digits, most significant first. */
static char *s_task_key(uint64_t id, char key[17])
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(id >> (56 - 8 * i));
    return s_hex(b, 8, key);
}

/* ---- replies -------------------------------------------------------------------------- */

static void s_queue(bd_broker_t *self, int sock, bn_msg_t *msg)
{
    pending_t *p = malloc(sizeof *p);
    p->sock = sock;
    p->msg = msg;
    zlistx_add_end(self->pending, p);
}

/* Reply to a client: [identity][""][MDPC01][service][status][body...]. body is consumed. */
static void s_reply(bd_broker_t *self, int sock, zmq_msg_t *client, const char *service,
                    const char *status, bn_msg_t *body)
{
    bn_msg_t *m = body ? body : bn_msg_new();
    if (status)
        bn_msg_pushstr(m, status);
    bn_mdp_wrap_client(m, client, service);
    s_queue(self, sock, m);
}

static void s_reply_json(bd_broker_t *self, int sock, zmq_msg_t *client, const char *service,
                         const char *status, json_t *body)
{
    bn_msg_t *m = bn_msg_new();
    char *text = json_dumps(body, JSON_COMPACT);
    bn_msg_addstr(m, text);
    free(text);
    json_decref(body);
    s_reply(self, sock, client, service, status, m);
}

static void s_reply_error(bd_broker_t *self, int sock, zmq_msg_t *client, const char *service,
                          const char *status, const char *code, const char *message)
{
    s_reply_json(self, sock, client, service, status,
                 json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message));
}

static void s_store_rolled_back(bd_broker_t *self);

static void s_flush(bd_broker_t *self)
{
    if (bd_store_dirty(self->store) && bd_store_commit(self->store) < 0) {
        /* Whatever the reload queued waits for the next commit, like everything else. */
        s_store_rolled_back(self);
        return;
    }
    pending_t *p;
    while ((p = zlistx_detach(self->pending, NULL))) {
        void *sock = p->sock < 0 ? self->pub : self->socks[p->sock];
        if (sock && bn_msg_send(p->msg, sock) < 0)
            bn_debug("reply dropped: %s", zmq_strerror(zmq_errno()));
        bn_msg_destroy(&p->msg);
        free(p);
    }
}

/* ---- services and queues -------------------------------------------------------------- */

static service_t *s_service(bd_broker_t *self, const char *name)
{
    service_t *svc = zhashx_lookup(self->services, name);
    if (!svc) {
        svc = calloc(1, sizeof *svc);
        svc->name = strdup(name);
        svc->idle = zlistx_new();
        svc->ring[0] = zlistx_new();
        svc->ring[1] = zlistx_new();
        zhashx_insert(self->services, name, svc);
    }
    return svc;
}

static void s_service_free(void **item)
{
    service_t *svc = *item;
    for (int c = 0; c < 2; c++) {
        tenantq_t *tq;
        while ((tq = zlistx_detach(svc->ring[c], NULL))) {
            zlistx_destroy(&tq->tasks);
            free(tq->tenant);
            free(tq);
        }
        zlistx_destroy(&svc->ring[c]);
    }
    zlistx_destroy(&svc->idle);
    free(svc->name);
    free(svc);
    *item = NULL;
}

static void s_enqueue(bd_broker_t *self, task_t *t)
{
    service_t *svc = t->svc;
    zlistx_t *ring = svc->ring[t->prio];
    tenantq_t *tq = NULL;
    for (tenantq_t *q = zlistx_first(ring); q; q = zlistx_next(ring))
        if (strcmp(q->tenant, t->tenant) == 0) {
            tq = q;
            break;
        }
    if (!tq) {
        tq = calloc(1, sizeof *tq);
        tq->tenant = strdup(t->tenant);
        tq->tasks = zlistx_new();
        zlistx_add_end(ring, tq);
    }
    t->tq = tq;
    t->qhandle = zlistx_add_end(tq->tasks, t);
    t->state = T_QUEUED;
    svc->queued++;
    (void)self;
}

static void s_dequeue(task_t *t)
{
    if (t->state == T_QUEUED && t->qhandle) {
        zlistx_detach(t->tq->tasks, t->qhandle);
        t->svc->queued--;
    }
    t->qhandle = NULL;
    t->tq = NULL;
}

/* Next task of a service: interactive before batch; within a class, tenants take turns. */
static task_t *s_next_task(service_t *svc)
{
    for (int c = 0; c < 2; c++) {
        zlistx_t *ring = svc->ring[c];
        size_t n = zlistx_size(ring);
        for (size_t i = 0; i < n; i++) {
            tenantq_t *tq = zlistx_first(ring);
            /* rotate: this tenant goes to the back whether or not it has work */
            zlistx_move_end(ring, zlistx_cursor(ring));
            task_t *t = zlistx_first(tq->tasks);
            if (t) {
                s_dequeue(t);
                return t;
            }
        }
    }
    return NULL;
}

/* ---- tasks ---------------------------------------------------------------------------- */

static task_t *s_task_new(bd_broker_t *self, job_t *job, int seq, service_t *svc, int prio, const char *tenant)
{
    task_t *t = calloc(1, sizeof *t);
    t->id = ++self->next_task;
    t->job = job;
    t->seq = seq;
    t->svc = svc;
    t->prio = prio;
    t->tenant = strdup(tenant);
    zmq_msg_init(&t->client);
    char key[17];
    zhashx_insert(self->tasks, s_task_key(t->id, key), t);
    return t;
}

static void s_task_free(bd_broker_t *self, task_t *t)
{
    char key[17];
    zhashx_delete(self->tasks, s_task_key(t->id, key));
    s_dequeue(t);
    if (t->state == T_DELAYED) {
        void *h = zlistx_find(self->delayed, t);
        if (h)
            zlistx_detach(self->delayed, h);
    }
    if (t->worker) {
        t->worker->task = NULL;
        t->worker->stuck = 1; /* still working on it: idle again only when it answers */
    }
    if (t->phandle) {
        zlistx_detach(self->plain, t->phandle);
        self->plain_bytes -= t->bytes;
    }
    zmq_msg_close(&t->client);
    bn_msg_destroy(&t->body);
    free(t->tenant);
    free(t);
}

/* The body sent to a worker for a job task: [header][document][selfie]. Payloads are shared
 * with the frames received at submission (zmq_msg_copy bumps a reference count) or, after a
 * restart, opened from the (sealed) spool into memory of their own, handed to libzmq without
 * a further copy and freed when sent. */
static void s_unmap_cb(void *data, void *hint) { bd_store_blob_unmap(data, (size_t)(uintptr_t)hint); }

static const char *s_blob_name(job_t *job, int i)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(job->spec, "blobs"), (size_t)i), "sha256"));
}

/* A payload for a worker that reads files on this host: an empty frame, and in the header's
 * "frame_refs" where to read it. Above libzmq's 8 KiB write batch a payload costs the broker
 * a socket write of its own per stage; as a reference the task is a small message that shares
 * a write with others, and the worker reads the file (one pread). */
#define BD_REF_MIN 8192

/* The frame_refs entry of payload `frame` (made once per job and blob), or NULL when it must
 * go as bytes. */
static const char *s_blob_ref(bd_broker_t *self, job_t *job, int frame)
{
    int i = frame - 1;
    if (i < 0 || i >= job->nblobs)
        return NULL;
    if (!job->ref_text[i]) {
        json_t *b = json_array_get(json_object_get(job->spec, "blobs"), (size_t)i);
        json_int_t bytes = json_integer_value(json_object_get(b, "bytes"));
        char paths[2][4096];
        uint64_t offset = 0;
        int n = bytes >= BD_REF_MIN && s_blob_name(job, i) ? bd_store_blob_paths(self->store, s_blob_name(job, i), paths, &offset) : 0;
        /* Paths are the store's own (spool dir + hex, or the payload file): nothing in them
         * needs escaping unless --dir does; refuse those rather than escape. */
        for (int k = 0; k < n; k++)
            if (strpbrk(paths[k], "\"\\") || strlen(paths[k]) > 1000)
                n = 0;
        /* A spool file is named by its sha256 and the worker checks what it read against it
         * (store_corrupt, below); the memory store's file has no content address. */
        const char *name = s_blob_name(job, i);
        int sha = name && strlen(name) == 64 && strspn(name, "0123456789abcdef") == 64;
        char text[2400] = "";
        if (n)
            snprintf(text, sizeof text, "{\"bytes\":%lld,\"offset\":%llu,%s%.64s%s\"paths\":[\"%.1000s\"%s%.1000s%s]}",
                     (long long)bytes, (unsigned long long)offset, sha ? "\"sha256\":\"" : "", sha ? name : "",
                     sha ? "\"," : "", paths[0], n > 1 ? ",\"" : "", n > 1 ? paths[1] : "", n > 1 ? "\"" : "");
        job->ref_text[i] = strdup(text);
    }
    return job->ref_text[i][0] ? job->ref_text[i] : NULL;
}

static int s_add_blob(bd_broker_t *self, bn_msg_t *m, job_t *job, int frame, int by_ref)
{
    int i = frame - 1; /* spec refers to frames 1..n */
    if (i < 0 || i >= job->nblobs)
        return -1;
    if (by_ref)
        return bn_msg_addmem(m, "", 0);
    if (job->live & (1ull << i))
        return bn_msg_addframe(m, &job->blobs[i]);
    const char *sha = s_blob_name(job, i);
    void *data;
    size_t size;
    if (!sha || bd_store_blob_map(self->store, sha, &data, &size) < 0)
        return -1;
    return bn_msg_addzc(m, data, size, s_unmap_cb, (void *)(uintptr_t)size);
}

static bn_msg_t *s_task_body(bd_broker_t *self, task_t *t, int refs)
{
    job_t *job = t->job;
    if (!job) {
        bn_msg_t *m = bn_msg_new();
        for (size_t i = 0; i < bn_msg_size(t->body); i++)
            bn_msg_addframe(m, bn_msg_frame(t->body, i));
        return m;
    }
    bn_msg_t *m = bn_msg_new();
    if (job->kind == KIND_TITANIC) {
        for (int i = 1; i <= job->nblobs; i++)
            if (s_add_blob(self, m, job, i, 0) < 0)
                goto err;
        return m;
    }
    /* The header is assembled from text made once per job and per finished task: building it
     * as a JSON tree and serialising it for every dispatch was a quarter of the broker's work.
     * Type and side were validated against fixed lists, the id is hex: nothing needs escaping. */
    const bn_plan_task_t *pt = &job->plan[t->seq];
    json_t *doc = json_array_get(json_object_get(job->spec, "documents"), (size_t)pt->doc);
    if (!job->ctx_text) {
        /* Expiry and age are judged on the day of submission, not the day a (retried) task
         * happens to run: stamp options.now unless the submission set it (which only an
         * operator's configuration allows, bn_job_options_check). */
        json_t *opts = json_deep_copy(json_object_get(job->spec, "options"));
        if (!json_object_get(opts, "now") && !json_object_get(opts, "today")) {
            char day[16];
            time_t secs = (time_t)(job->created / 1000);
            struct tm tm;
            gmtime_r(&secs, &tm);
            strftime(day, sizeof day, "%Y-%m-%d", &tm);
            json_object_set_new(opts, "now", json_string(day));
        }
        json_t *ctx = json_pack("{s:O, s:o}", "form",
                                json_object_get(job->spec, "form") ? json_object_get(job->spec, "form") : json_null(),
                                "options", opts);
        char *text = json_dumps(ctx, JSON_COMPACT);
        json_decref(ctx);
        text[strlen(text) - 1] = '\0';        /* drop the closing brace … */
        job->ctx_text = strdup(text + 1);      /* … and the opening one */
        free(text);
    }
    const char *hint = NULL;
    if (pt->dep >= 0 && job->replies[pt->dep] && json_is_true(json_object_get(job->replies[pt->dep], "ok"))) {
        if (!job->hint_text[pt->dep]) /* after a restart: from the stored reply */
            job->hint_text[pt->dep] = json_dumps(job->replies[pt->dep], JSON_COMPACT);
        hint = job->hint_text[pt->dep];
    }
    /* Payload frames: the document, and the selfie for the face stage. */
    int frames[2] = {(int)json_integer_value(json_object_get(doc, "blob")),
                     pt->stage == BN_STAGE_FACE ? (int)json_integer_value(json_object_get(job->spec, "selfie")) : 0};
    int nframes = frames[1] ? 2 : 1;
    const char *ref[2] = {NULL, NULL};
    for (int k = 0; refs && k < nframes; k++)
        ref[k] = s_blob_ref(self, job, frames[k]);
    char frame_refs[5000] = "";
    if (ref[0] || ref[1])
        snprintf(frame_refs, sizeof frame_refs, ",\"frame_refs\":[%s%s%s]", ref[0] ? ref[0] : "null",
                 nframes > 1 ? "," : "", nframes > 1 ? (ref[1] ? ref[1] : "null") : "");
    /* hints.quality carries the quality task's whole reply; bn_worker_decode_task unwraps it. */
    size_t cap = strlen(job->ctx_text) + (hint ? strlen(hint) : 0) + strlen(frame_refs) + 300;
    char *text = malloc(cap);
    /* documents[i].page (a PDF's page) was validated as an integer 1..BN_PDF_PAGE_MAX. */
    char page[32] = "";
    if (json_is_integer(json_object_get(doc, "page")))
        snprintf(page, sizeof page, ",\"page\":%lld", (long long)json_integer_value(json_object_get(doc, "page")));
    snprintf(text, cap, "{\"job\":\"%s\",\"task\":%d,\"stage\":\"%s\",\"document\":{\"index\":%d,"
                        "\"type\":\"%s\",\"side\":\"%s\"%s},%s,\"hints\":{%s%s}%s}",
             job->id, t->seq, bn_stage_name(pt->stage), pt->doc, json_string_value(json_object_get(doc, "type")),
             json_string_value(json_object_get(doc, "side")), page, job->ctx_text, hint ? "\"quality\":" : "",
             hint ? hint : "", frame_refs);
    bn_msg_addstr(m, text);
    free(text);
    for (int k = 0; k < nframes; k++)
        if (s_add_blob(self, m, job, frames[k], ref[k] != NULL) < 0)
            goto err;
    return m;
err:
    bn_msg_destroy(&m);
    return NULL;
}

static void s_job_task_done(bd_broker_t *self, job_t *job, int seq, json_t *reply);
static void s_job_fail(bd_broker_t *self, job_t *job, const char *code, const char *message);

/* An attempt ended without a result (worker died, lease expired): retry with backoff, or give
 * up after max_attempts and fail the job with a stable code. */
static void s_task_retry(bd_broker_t *self, task_t *t, const char *why)
{
    if (t->worker) {
        t->worker->task = NULL;
        t->worker = NULL;
    }
    bn_warn("task %016llx (%s) attempt %d failed: %s", (unsigned long long)t->id, t->svc->name, t->attempt, why);
    if (t->attempt >= self->o.max_attempts) {
        job_t *job = t->job;
        if (!job) {
            s_task_free(self, t); /* an ephemeral request: the client's own timeout reports it */
            return;
        }
        char msg[256];
        snprintf(msg, sizeof msg, "stage %s failed %d times (last: %s)", t->svc->name, t->attempt, why);
        s_job_fail(self, job, "task_attempts_exhausted", msg);
        return;
    }
    t->state = T_DELAYED;
    int64_t delay = (int64_t)self->o.retry_backoff_ms << (t->attempt > 10 ? 10 : t->attempt - 1);
    t->not_before = bn_mono_ms() + (delay > 30000 ? 30000 : delay);
    zlistx_add_end(self->delayed, t);
}

/* ---- workers -------------------------------------------------------------------------- */

static void s_send_worker(bd_broker_t *self, worker_t *w, int cmd, bn_msg_t *body, const char *addr)
{
    bn_msg_t *m = body ? body : bn_msg_new();
    bn_mdp_wrap_worker(m, &w->identity, cmd, addr, addr ? strlen(addr) : 0);
    /* Worker traffic does not wait for the commit: nothing in it is an acknowledgement. */
    if (bn_msg_send(m, self->socks[w->sock]) < 0)
        bn_debug("send to worker failed: %s", zmq_strerror(zmq_errno()));
    bn_msg_destroy(&m);
}

static void s_worker_delete(bd_broker_t *self, worker_t *w, int disconnect, const char *why)
{
    if (disconnect)
        s_send_worker(self, w, BN_MDPW_DISCONNECT, NULL, NULL);
    if (w->task)
        s_task_retry(self, w->task, why);
    if (w->idle_handle)
        zlistx_detach(w->svc->idle, w->idle_handle);
    if (w->svc)
        w->svc->nworkers--;
    zmq_msg_close(&w->identity);
    zhashx_delete(self->workers, w->key);
    free(w);
}

static void s_dispatch(bd_broker_t *self, service_t *svc)
{
    /* A full store could not keep what a stage answers (task replies, prepared images): tasks
     * wait in their queues until there is room (docs/STORE.md "Disk full"). */
    if (bd_store_full(self->store))
        return;
    while (zlistx_size(svc->idle) && svc->queued) {
        task_t *t = s_next_task(svc);
        if (!t)
            break;
        worker_t *w = zlistx_detach(svc->idle, NULL);
        w->idle_handle = NULL;
        bn_error_clear();
        bn_msg_t *body = s_task_body(self, t, w->refs);
        if (!body) {
            /* The payload is gone or damaged (spool file missing, or not matching its content
             * address): fail loudly with the store's code rather than loop, or hand a stage
             * bytes that are not the applicant's. */
            w->idle_handle = zlistx_add_end(svc->idle, w);
            if (t->job && !strcmp(bn_error_code(), "store_corrupt"))
                s_job_fail(self, t->job, "store_corrupt", "a submitted image in the store does not match its content address");
            else if (t->job)
                s_job_fail(self, t->job, "blob_missing", "a submitted image is missing from the spool");
            else
                s_task_free(self, t);
            continue;
        }
        t->attempt++;
        t->state = T_RUNNING;
        t->worker = w;
        t->started = bn_mono_ms();
        t->lease = t->started + self->o.lease_ms;
        w->task = t;
        if (t->job && t->job->status[0] == 'q')
            t->job->status = "running";
        char token[40];
        snprintf(token, sizeof token, "T%016llx.%d", (unsigned long long)t->id, t->attempt);
        s_send_worker(self, w, BN_MDPW_REQUEST, body, token);
    }
}

static void s_dispatch_all(bd_broker_t *self)
{
    for (service_t *svc = zhashx_first(self->services); svc; svc = zhashx_next(self->services))
        s_dispatch(self, svc);
}

static void s_worker_idle(bd_broker_t *self, worker_t *w)
{
    w->task = NULL;
    w->stuck = 0;
    if (!w->idle_handle)
        w->idle_handle = zlistx_add_end(w->svc->idle, w);
}

/* Internal services: a worker may never register for these (it would receive submissions). */
static int s_reserved(const char *name)
{
    return strncmp(name, "mmi.", 4) == 0 || strncmp(name, "titanic.", 8) == 0
        || strcmp(name, BN_SVC_SUBMIT) == 0 || strcmp(name, BN_SVC_STATUS) == 0
        || strcmp(name, BN_SVC_RESULT) == 0 || strcmp(name, BN_SVC_CANCEL) == 0
        || strcmp(name, BN_SVC_BLOB) == 0 || strcmp(name, BN_SVC_LIST) == 0 || strcmp(name, BN_SVC_WEBHOOKS) == 0
        || strcmp(name, BN_SVC_METRICS) == 0;
}

/* Is service allowed by a comma-separated list from the certificate? */
static int s_listed(const char *list, const char *service)
{
    size_t n = strlen(service);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && strncmp(p, service, n) == 0)
            return 1;
        if ((l == 1 && *p == '*'))
            return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

static const char *s_error_code(json_t *reply)
{
    const char *c = json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
    return c ? c : "";
}

/* Check the spool files of a task's payloads (the document, and the selfie for the face
 * stage) against their content addresses: 0 intact, -1 with bn_error store_corrupt (the
 * damaged file is moved aside, bd_store_blob_map) or blob_missing. */
static int s_task_blobs_check(bd_broker_t *self, job_t *job, int seq)
{
    const bn_plan_task_t *pt = &job->plan[seq];
    json_t *doc = json_array_get(json_object_get(job->spec, "documents"), (size_t)pt->doc);
    int frames[2] = {(int)json_integer_value(json_object_get(doc, "blob")),
                     pt->stage == BN_STAGE_FACE ? (int)json_integer_value(json_object_get(job->spec, "selfie")) : 0};
    for (int k = 0; k < 2; k++)
        if (frames[k] >= 1 && frames[k] <= job->nblobs && bd_store_blob_check(self->store, s_blob_name(job, frames[k] - 1)) < 0)
            return -1;
    return 0;
}

/* A stage's answer that the store has no room for: the task goes back to its queue, where it
 * waits until there is room (s_dispatch), and the attempt does not count. 1 when it did. */
static int s_requeue_if_full(bd_broker_t *self, task_t *t)
{
    if (strcmp(bn_error_code(), "store_full"))
        return 0;
    bn_warn("job %s task %d: no room in the store for its answer; it runs again when there is", t->job->id, t->seq);
    t->attempt--;
    s_enqueue(self, t);
    return 1;
}

static void s_worker_reply(bd_broker_t *self, worker_t *w, bn_msg_t *m, const bn_mdp_t *p)
{
    char token[64] = "";
    size_t tl = bn_msg_len(m, p->address);
    if (tl < sizeof token)
        memcpy(token, bn_msg_data(m, p->address), tl);
    unsigned long long id = 0;
    int attempt = 0;
    task_t *t = NULL;
    if (sscanf(token, "T%16llx.%d", &id, &attempt) == 2) {
        char key[17];
        t = zhashx_lookup(self->tasks, s_task_key(id, key));
    }
    /* Fencing: only the attempt this worker currently holds may complete the task. */
    if (!t || t->state != T_RUNNING || t->worker != w || t->attempt != attempt) {
        bn_warn("ignored a late or unknown reply (token %s) from a %s worker", token, w->svc->name);
        s_worker_idle(self, w);
        return;
    }
    s_worker_idle(self, w);
    t->worker = NULL;
    double took = (double)(bn_mono_ms() - t->started) / 1000;
    t->svc->lat_count++;
    t->svc->lat_sum += took;
    for (size_t b = 0; b < BD_LAT_BUCKETS; b++)
        t->svc->lat_buckets[b] += took <= s_lat_bounds[b];
    bn_msg_drop(m, p->body);
    if (!t->job) {
        /* An ephemeral MDP request: pass the reply through unchanged. */
        bn_msg_t *r = bn_msg_new();
        for (size_t i = 0; i < bn_msg_size(m); i++)
            bn_msg_addframe(r, bn_msg_frame(m, i));
        s_reply(self, t->client_sock, &t->client, t->svc->name, NULL, r);
        s_task_free(self, t);
        return;
    }
    job_t *job = t->job;
    json_t *reply;
    if (job->kind == KIND_TITANIC) {
        /* Store the reply frames as blobs; the stored reply lists their hashes. */
        json_t *frames = json_array();
        for (size_t i = 0; i < bn_msg_size(m); i++) {
            char sha[65];
            if (bd_store_blob_put(self->store, bn_msg_data(m, i), bn_msg_len(m, i), sha) < 0) {
                json_decref(frames);
                if (s_requeue_if_full(self, t))
                    return;
                s_task_retry(self, t, bn_error_msg());
                return;
            }
            json_array_append_new(frames, json_string(sha));
            bd_store_blob_ref(self->store, job->id, sha);
        }
        reply = json_pack("{s:b, s:o}", "ok", 1, "frames", frames);
        if (!self->o.durable) /* memory mode: keep the reply frames inline */
            json_object_set_new(reply, "inline", json_stringn(bn_msg_size(m) ? bn_msg_data(m, 0) : "", bn_msg_size(m) ? bn_msg_len(m, 0) : 0));
    } else {
        reply = bn_msg_size(m) ? json_loadb(bn_msg_data(m, 0), bn_msg_len(m, 0), 0, NULL) : NULL;
        /* A worker's reply is untrusted input to the result: one that is not a well-formed
         * stage result becomes the error stage_reply_invalid (a stage_failed flag, review), is
         * never a hint for the next stage, and its images are not kept. Not retried: a worker
         * that answers nonsense will answer it again. */
        if (bn_job_reply_check(reply, 0) < 0) {
            bn_warn("job %s task %d: invalid reply from a %s worker: %s", job->id, t->seq, w->svc->name, bn_error_msg());
            reply = bn_job_reply_accept(reply);
        } else if (w->refs && !strcmp(s_error_code(reply), "blob_unreachable")) {
            /* It could not read the files it was pointed at (another host or user after
             * all): send it bytes from now on; this attempt does not count. */
            bn_warn("a %s worker cannot read payload files; sending it bytes", w->svc->name);
            json_decref(reply);
            w->refs = 0;
            t->attempt--;
            s_enqueue(self, t);
            return;
        } else if (w->refs && !strcmp(s_error_code(reply), "store_corrupt")) {
            /* It read a payload file that does not match its content address. A worker's
             * word does not fail a job: the broker checks the files itself (this costs a hash
             * only here, not on every dispatch). Damaged: the job ends store_corrupt, never a
             * verdict on bytes that are not the applicant's. Intact: the worker read something
             * else; it gets bytes from now on and this attempt does not count. */
            json_decref(reply);
            if (s_task_blobs_check(self, job, t->seq) < 0) {
                int gone = !strcmp(bn_error_code(), "blob_missing");
                bn_error("job %s task %d: %s", job->id, t->seq, bn_error_msg());
                s_job_fail(self, job, gone ? "blob_missing" : "store_corrupt",
                           gone ? "a submitted image is missing from the spool"
                                : "a submitted image in the store does not match its content address");
                return;
            }
            bn_warn("a %s worker reported a damaged payload file that is intact; sending it bytes", w->svc->name);
            w->refs = 0;
            t->attempt--;
            s_enqueue(self, t);
            return;
        } else if (json_is_true(json_object_get(reply, "ok"))) {
            /* Its text as received is the hint for the tasks that depend on this one. */
            free(job->hint_text[t->seq]);
            job->hint_text[t->seq] = strndup(bn_msg_data(m, 0), bn_msg_len(m, 0));
        }
        /* Output blobs (prepared and review images) go to the spool; the result names them. */
        json_t *names = json_object_get(reply, "blobs");
        json_t *res = json_object_get(reply, "result");
        if (json_array_size(names) && json_is_object(res)) {
            json_t *blobs = json_object();
            size_t i;
            json_t *nm;
            json_array_foreach(names, i, nm) {
                char sha[65];
                if (i + 1 >= bn_msg_size(m) || !json_is_string(nm))
                    break;
                if (bd_store_blob_put(self->store, bn_msg_data(m, i + 1), bn_msg_len(m, i + 1), sha) < 0) {
                    if (s_requeue_if_full(self, t)) {
                        json_decref(blobs);
                        json_decref(reply);
                        return;
                    }
                    continue;
                }
                bd_store_blob_ref(self->store, job->id, sha);
                json_object_set_new(blobs, json_string_value(nm),
                                    json_pack("{s:s, s:I}", "sha256", sha, "bytes", (json_int_t)bn_msg_len(m, i + 1)));
            }
            json_object_set_new(res, "blobs", blobs);
        }
        json_object_del(reply, "blobs");
    }
    int seq = t->seq;
    job->tasks[seq] = NULL;
    s_task_free(self, t);
    s_job_task_done(self, job, seq, reply);
}

/* Tell a peer we do not know as a worker to re-register (MDP: DISCONNECT). */
static void s_disconnect_peer(bd_broker_t *self, int sock, zmq_msg_t *ident)
{
    worker_t tmp = {.sock = sock};
    zmq_msg_init(&tmp.identity);
    zmq_msg_copy(&tmp.identity, ident);
    s_send_worker(self, &tmp, BN_MDPW_DISCONNECT, NULL, NULL);
    zmq_msg_close(&tmp.identity);
}

static void s_worker_message(bd_broker_t *self, int sock, bn_msg_t *m, const bn_mdp_t *p)
{
    zmq_msg_t *ident = bn_msg_frame(m, 0);
    char key[600];
    size_t il = zmq_msg_size(ident);
    if (il > 255)
        return;
    const unsigned char *id = zmq_msg_data(ident);
    key[0] = (char)('0' + sock);
    key[1] = ':';
    s_hex(id, il, key + 2);
    worker_t *w = zhashx_lookup(self->workers, key);
    if (w)
        w->expiry = bn_mono_ms() + (int64_t)self->o.heartbeat_ms * self->o.liveness;

    switch (p->command) {
    case BN_MDPW_READY: {
        char service[BN_MDP_MAX_SERVICE + 1];
        memcpy(service, bn_msg_data(m, p->service), bn_msg_len(m, p->service));
        service[bn_msg_len(m, p->service)] = '\0';
        /* Connection metadata (from ZAP) rides on frames read from the wire, not on the
         * identity frame the ROUTER prepends: ask the delimiter frame. */
        zmq_msg_t *wire = bn_msg_frame(m, 1);
        const char *allowed = zmq_msg_gets(wire, "X-Services");
        const char *user = zmq_msg_gets(wire, "User-Id");
        int curve = user && *user;
        bn_debug("READY %s from tenant %s services %s", service, user ? user : "-", allowed ? allowed : "-");
        if (w || s_reserved(service) || (curve && !s_listed(allowed, service))) {
            bn_warn("refused READY for '%s' (%s)", service,
                    w ? "worker already registered" : s_reserved(service) ? "reserved service"
                                                                         : "certificate does not name this service");
            if (w)
                s_worker_delete(self, w, 1, "protocol error");
            else
                s_disconnect_peer(self, sock, ident);
            return;
        }
        w = calloc(1, sizeof *w);
        snprintf(w->key, sizeof w->key, "%s", key);
        zmq_msg_init(&w->identity);
        zmq_msg_copy(&w->identity, ident);
        w->sock = sock;
        w->svc = s_service(self, service);
        w->svc->nworkers++;
        w->expiry = bn_mono_ms() + (int64_t)self->o.heartbeat_ms * self->o.liveness;
        w->hb_busy = il > strlen(BN_WORKER_ID_PREFIX) && memcmp(id, BN_WORKER_ID_PREFIX, strlen(BN_WORKER_ID_PREFIX)) == 0;
        w->refs = p->body < bn_msg_size(m); /* the BN_READY_REFS extension (bn_mdp checked it) */
        zhashx_insert(self->workers, key, w);
        s_worker_idle(self, w);
        bn_info("worker ready for %s (%zu now)", service, w->svc->nworkers);
        s_dispatch(self, w->svc);
        return;
    }
    case BN_MDPW_REPLY:
        if (!w) { /* e.g. a stuck worker dropped after its lease: its late reply is fenced too */
            bn_warn("ignored a late or unknown reply from an unregistered peer");
            s_disconnect_peer(self, sock, ident);
            return;
        }
        s_worker_reply(self, w, m, p);
        s_dispatch(self, w->svc);
        return;
    case BN_MDPW_HEARTBEAT:
        if (w && (w->task || w->stuck))
            w->hb_busy = 1;
        if (!w)
            s_disconnect_peer(self, sock, ident);
        return;
    case BN_MDPW_DISCONNECT:
        if (w)
            s_worker_delete(self, w, 0, "worker disconnected");
        return;
    default:
        bn_warn("dropped worker command %s sent to the broker", bn_mdp_command_name(p->command));
    }
}

/* ---- jobs ----------------------------------------------------------------------------- */

static job_t *s_job_new(bd_broker_t *self, const char *id, int kind, json_t *spec, int nblobs)
{
    job_t *job = calloc(1, sizeof *job);
    snprintf(job->id, sizeof job->id, "%s", id);
    job->kind = kind;
    job->spec = spec;
    json_t *opt = json_object_get(spec, "options");
    const char *tenant = json_string_value(json_object_get(opt, "tenant"));
    job->tenant = strdup(tenant ? tenant : "default");
    const char *prio = json_string_value(json_object_get(opt, "priority"));
    job->prio = prio && strcmp(prio, "batch") == 0;
    job->status = "queued";
    job->nblobs = nblobs;
    job->blobs = calloc((size_t)nblobs + 1, sizeof(zmq_msg_t));
    job->ref_text = calloc((size_t)nblobs + 1, sizeof(char *));
    job->waiters = zlistx_new();
    job->created = bn_wall_ms();
    const char *key = json_string_value(json_object_get(opt, "key"));
    if (key) {
        size_t n = strlen(job->tenant) + strlen(key) + 2;
        job->key = malloc(n);
        snprintf(job->key, n, "%s\x1f%s", job->tenant, key);
        zhashx_insert(self->keys, job->key, job);
    }
    zhashx_insert(self->jobs, job->id, job);
    return job;
}

static void s_job_free(bd_broker_t *self, job_t *job)
{
    for (int i = 0; i < job->ntasks; i++) {
        if (job->tasks[i])
            s_task_free(self, job->tasks[i]);
        json_decref(job->replies[i]);
        free(job->hint_text[i]);
    }
    free(job->ctx_text);
    for (int i = 0; i < job->nblobs; i++) {
        free(job->ref_text[i]);
        if (job->live & (1ull << i))
            zmq_msg_close(&job->blobs[i]);
        else
            bd_store_shm_release(self->store, s_blob_name(job, i));
    }
    free(job->blobs);
    free(job->ref_text);
    pending_t *p;
    while ((p = zlistx_detach(job->waiters, NULL))) {
        bn_msg_destroy(&p->msg);
        free(p);
    }
    zlistx_destroy(&job->waiters);
    self->bytes -= job->bytes;
    json_decref(job->spec);
    if (job->key) {
        zhashx_delete(self->keys, job->key);
        free(job->key);
    }
    free(job->tenant);
    zhashx_delete(self->jobs, job->id);
    free(job);
}

/* Create the tasks whose dependencies are met and queue them. */
static void s_job_schedule(bd_broker_t *self, job_t *job)
{
    for (int i = 0; i < job->ntasks; i++) {
        if (job->replies[i] || job->tasks[i])
            continue;
        int dep = job->plan[i].dep;
        if (dep >= 0 && !job->replies[dep])
            continue;
        const char *svc = job->kind == KIND_TITANIC ? json_string_value(json_object_get(job->spec, "service"))
                                                    : bn_stage_service(job->plan[i].stage);
        task_t *t = s_task_new(self, job, i, s_service(self, svc), job->prio, job->tenant);
        job->tasks[i] = t;
        s_enqueue(self, t);
    }
}

/* A finished job's event on the PUB socket (topic: its tenant). */
static void s_publish(bd_broker_t *self, const char *id, const char *tenant, const char *status, const char *verdict)
{
    if (!self->pub)
        return;
    bn_msg_t *ev = bn_msg_new();
    /* On a CURVE endpoint the topic ends with a NUL (s_pub_subscriptions): no tenant's topic
     * is then a prefix of another's. */
    bn_msg_addmem(ev, tenant, strlen(tenant) + (size_t)self->pub_curve);
    json_t *e = json_pack("{s:s, s:s, s:s?}", "job", id, "status", status, "verdict", verdict);
    char *et = json_dumps(e, JSON_COMPACT);
    bn_msg_addstr(ev, et);
    free(et);
    json_decref(e);
    s_queue(self, -1, ev);
}

/* ---- jobs of other brokers (shared store) --------------------------------------------- */

static void s_remote_list_free(void **item)
{
    zlistx_t *l = *item;
    pending_t *p;
    while ((p = zlistx_detach(l, NULL))) {
        bn_msg_destroy(&p->msg);
        free(p);
    }
    zlistx_destroy(&l);
    *item = NULL;
}

/* Park a long-poll (p->msg holds the client's [identity]) for a job another broker runs. */
static void s_remote_wait(bd_broker_t *self, const char *id, pending_t *p)
{
    zlistx_t *l = zhashx_lookup(self->remote, id);
    if (!l) {
        l = zlistx_new();
        zhashx_insert(self->remote, id, l);
    }
    zlistx_add_end(l, p);
}

/* Answer the long-polls parked for id if the store has its end. */
static void s_remote_answer(bd_broker_t *self, const char *id)
{
    zlistx_t *l = zhashx_lookup(self->remote, id);
    char *status = NULL, *result = NULL;
    if (!l || !bd_store_job_get(self->store, id, NULL, &status, &result, NULL) || !result
        || !strcmp(status, "queued") || !strcmp(status, "running")) {
        free(status);
        free(result);
        return;
    }
    pending_t *p;
    while ((p = zlistx_detach(l, NULL))) {
        bn_msg_t *r = bn_msg_new();
        bn_msg_addstr(r, result);
        s_reply(self, p->sock, bn_msg_frame(p->msg, 0), BN_SVC_RESULT, BN_ST_OK, r);
        bn_msg_destroy(&p->msg);
        free(p);
    }
    zhashx_delete(self->remote, id);
    free(status);
    free(result);
}

static void s_discard_selfie(bd_broker_t *self, job_t *job);

/* Another broker finished a job (its transaction committed): long-polls and subscribers here
 * hear of it as they would of one of ours. */
static void s_notified(void *arg, const char *id, const char *tenant, const char *status, const char *verdict)
{
    bd_broker_t *self = arg;
    job_t *live = zhashx_lookup(self->jobs, id);
    if (live) {
        /* Ours, yet ended elsewhere: cancelled at another broker, or taken over by one while
         * this broker was presumed dead. Stop working on it now rather than at its end. */
        pending_t *p;
        while ((p = zlistx_detach(live->waiters, NULL)))
            s_remote_wait(self, id, p);
        bn_info("job %s %s at another broker", id, status);
        s_discard_selfie(self, live); /* face data goes when the job ends, wherever it ends */
        s_job_free(self, live);
    }
    s_remote_answer(self, id);
    if (tenant)
        s_publish(self, id, tenant, status, verdict);
}

/* Announce a final state: waiters, PUB, and the job leaves memory. */
/* The selfie is face data (sensitive personal information under PIPL): it is kept only until
 * the job finishes, then its spool file goes (unless a document of the job is the same file). */
static void s_discard_selfie(bd_broker_t *self, job_t *job)
{
    json_t *selfie = json_object_get(job->spec, "selfie");
    if (job->kind != KIND_BEIAN || !json_is_integer(selfie))
        return;
    json_t *blobs = json_object_get(job->spec, "blobs");
    const char *sha = json_string_value(json_object_get(json_array_get(blobs, (size_t)json_integer_value(selfie) - 1), "sha256"));
    if (!sha)
        return;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(job->spec, "documents"), i, d) {
        const char *dsha = json_string_value(json_object_get(json_array_get(blobs, (size_t)json_integer_value(json_object_get(d, "blob")) - 1), "sha256"));
        if (dsha && strcmp(dsha, sha) == 0)
            return;
    }
    bd_store_blob_release(self->store, job->id, sha);
}

static void s_job_finish(bd_broker_t *self, job_t *job, const char *status, json_t *result)
{
    s_discard_selfie(self, job);
    char *text = NULL;
    if (!job->stored) {
        /* Memory mode keeps unfinished jobs only in memory; the finished one is remembered so
         * status and result queries (and its idempotency key) keep working. */
        const char *k = job->key ? strchr(job->key, '\x1f') + 1 : NULL;
        bd_store_job_remember(self->store, job->id, job->tenant, k, job->kind, status, result, bn_wall_ms());
        job->stored = 1;
    } else {
        text = json_dumps(result, JSON_COMPACT);
        if (bd_store_job_set_status(self->store, job->id, status, text) == 1) {
            /* Shared store: this broker was presumed dead and the job taken over, or another
             * broker cancelled it. Its end is announced by whoever wrote it; the long-polls
             * here wait for that announcement. */
            bn_warn("job %s: finished here, but its row says another broker ended or owns it: not announced", job->id);
            pending_t *p;
            while ((p = zlistx_detach(job->waiters, NULL)))
                s_remote_wait(self, job->id, p);
            free(text);
            json_decref(result);
            s_job_free(self, job);
            return;
        }
    }
    if (!text && zlistx_size(job->waiters))
        text = json_dumps(result, JSON_COMPACT);
    const char *verdict = json_string_value(json_object_get(result, "verdict"));
    if (job->stored)
        bd_store_announce(self->store, job->id, job->tenant, status, verdict);
    bn_info("job %s %s%s%s", job->id, status, verdict ? ", verdict " : "", verdict ? verdict : "");
    char mkey[64];
    snprintf(mkey, sizeof mkey, "%s\x1f%s", status, verdict ? verdict : "");
    json_object_set_new(self->finished, mkey, json_integer(json_integer_value(json_object_get(self->finished, mkey)) + 1));
    if (self->hooks && job->kind == KIND_BEIAN)
        bd_hooks_job_finished(self->hooks, job->tenant, job->id, status, verdict);
    pending_t *p;
    while ((p = zlistx_detach(job->waiters, NULL))) {
        bn_msg_t *m = p->msg; /* holds the waiter's [identity] */
        bn_msg_t *r = bn_msg_new();
        bn_msg_addstr(r, text);
        s_reply(self, p->sock, bn_msg_frame(m, 0), BN_SVC_RESULT, BN_ST_OK, r);
        bn_msg_destroy(&m);
        free(p);
    }
    s_publish(self, job->id, job->tenant, status, verdict);
    free(text);
    json_decref(result);
    s_job_free(self, job);
}

static json_t *s_job_result(bd_broker_t *self, job_t *job, const char *status, json_t *error)
{
    if (job->kind == KIND_TITANIC) {
        json_t *r = json_pack("{s:s, s:s}", "job", job->id, "status", status);
        if (job->replies[0])
            json_object_set(r, "reply", job->replies[0]);
        if (error)
            json_object_set(r, "error", error);
        return r;
    }
    return bn_job_result(job->id, status, job->spec, job->plan, job->ntasks, job->replies, error, self->o.config);
}

static void s_job_fail(bd_broker_t *self, job_t *job, const char *code, const char *message)
{
    json_t *err = json_pack("{s:s, s:s}", "code", code, "message", message);
    s_job_finish(self, job, "failed", s_job_result(self, job, "failed", err));
    json_decref(err);
}

static void s_job_task_done(bd_broker_t *self, job_t *job, int seq, json_t *reply)
{
    /* Task replies are stored only to resume after a restart, which a memory store never does. */
    if (bd_store_durable(self->store)) {
        char *text = json_dumps(reply, JSON_COMPACT);
        bd_store_task_done(self->store, job->id, seq, text);
        free(text);
    }
    job->replies[seq] = reply;
    job->ndone++;
    if (job->ndone == job->ntasks) {
        s_job_finish(self, job, "done", s_job_result(self, job, "done", NULL));
        return;
    }
    s_job_schedule(self, job);
}

/* Build the in-memory job from a stored or new spec; replies (may be NULL) are finished tasks. */
static job_t *s_job_load(bd_broker_t *self, const char *id, int kind, json_t *spec, json_t *replies)
{
    int nblobs = (int)json_array_size(json_object_get(spec, "blobs"));
    job_t *job = s_job_new(self, id, kind, spec, nblobs);
    if (kind == KIND_TITANIC) {
        job->ntasks = 1;
        job->plan[0] = (bn_plan_task_t){BN_STAGE_QUALITY, 0, -1};
    } else {
        job->ntasks = bn_job_plan(spec, job->plan, MAX_PLAN);
    }
    for (int i = 0; i < job->ntasks; i++) {
        json_t *r = json_array_get(replies, (size_t)i);
        if (r && !json_is_null(r)) {
            job->replies[i] = json_incref(r);
            job->ndone++;
        }
    }
    return job;
}

static void s_resume_cb(void *arg, const char *id, const char *tenant, const char *key, int kind,
                        int priority, const char *spec_text, const char *blobs_text, int64_t created,
                        json_t *replies)
{
    bd_broker_t *self = arg;
    json_t *spec = json_loads(spec_text, 0, NULL);
    json_t *blobs = json_loads(blobs_text, 0, NULL);
    /* The stored spec is the one received; validating it again restores the same defaults. */
    if (!json_is_array(blobs) || !spec
        || (kind == KIND_BEIAN && bn_job_spec_validate(spec, json_array_size(blobs)) < 0)) {
        bn_error("job %s: stored spec unreadable; marking failed", id);
        bd_store_job_set_status(self->store, id, "failed", "{\"error\":{\"code\":\"store_corrupt\"}}");
        json_decref(spec);
        json_decref(blobs);
        return;
    }
    json_object_set_new(spec, "blobs", blobs);
    /* The row's tenant is the job's: a certificate-bound submission is stored as received, often
     * without options.tenant (s_submit). */
    json_object_set_new(json_object_get(spec, "options"), "tenant", json_string(tenant));
    job_t *job = s_job_load(self, id, kind, spec, replies);
    job->stored = 1;
    job->created = created;
    /* Taken over from another broker: the long-polls parked here for it are now its own. */
    zlistx_t *parked = zhashx_lookup(self->remote, id);
    for (pending_t *p; parked && (p = zlistx_detach(parked, NULL));)
        zlistx_add_end(job->waiters, p);
    if (parked)
        zhashx_delete(self->remote, id);
    if (job->ndone == job->ntasks)
        s_job_finish(self, job, "done", s_job_result(self, job, "done", NULL));
    else
        s_job_schedule(self, job);
}

/* ---- the client API ------------------------------------------------------------------- */

static void s_new_id(char id[33])
{
    unsigned char r[16];
    randombytes_buf(r, sizeof r);
    s_hex(r, sizeof r, id);
}

/* The first attached frame (1-based) that neither a document's "blob" nor "selfie" names, or
 * 0 when every frame is referenced. The spec has been validated (references are in range). */
static size_t s_unreferenced(json_t *spec, size_t nblobs)
{
    json_t *docs = json_object_get(spec, "documents"), *selfie = json_object_get(spec, "selfie");
    for (size_t f = 1; f <= nblobs; f++) {
        int used = json_is_integer(selfie) && (size_t)json_integer_value(selfie) == f;
        size_t i;
        json_t *d;
        json_array_foreach(docs, i, d)
            used |= (size_t)json_integer_value(json_object_get(d, "blob")) == f;
        if (!used)
            return f;
    }
    return 0;
}

/* A submission refused after some of its blobs were stored (a store write failed): drop the
 * references taken under its id, so the files are deleted at the commit instead of staying
 * in the spool with no job to purge them. */
static void s_release_blobs(bd_broker_t *self, const char *id, json_t *blobs)
{
    size_t i;
    json_t *b;
    json_array_foreach(blobs, i, b) {
        const char *sha = json_string_value(json_object_get(b, "sha256"));
        if (sha)
            bd_store_blob_release(self->store, id, sha);
    }
}

/* 503 store_full: new work is refused while the store has no room; status, results and
 * images are still served, and work is accepted again by itself when there is room. */
static void s_reply_store_full(bd_broker_t *self, int sock, zmq_msg_t *client, const char *service)
{
    if (bd_store_unavailable(self->store)) {
        /* PostgreSQL is out of reach: another broker may reach it (clients fail over). */
        s_reply_json(self, sock, client, service, BN_ST_BUSY,
                     json_pack("{s:{s:s, s:s}, s:i}", "error", "code", "store_unavailable", "message",
                               "the broker lost its database connection; retry later or at another broker",
                               "retry_after_ms", 1000));
        return;
    }
    s_reply_json(self, sock, client, service, BN_ST_BUSY,
                 json_pack("{s:{s:s, s:s}, s:i}", "error", "code", "store_full", "message",
                           "the broker's store is out of disk space; retry later", "retry_after_ms", 5000));
}

static void s_reply_duplicate(bd_broker_t *self, int sock, zmq_msg_t *client, const char *service, int titanic,
                              const char *id)
{
    if (titanic) {
        bn_msg_t *r = bn_msg_new();
        bn_msg_addstr(r, id);
        s_reply(self, sock, client, service, BN_ST_OK, r);
    } else {
        s_reply_json(self, sock, client, service, BN_ST_OK, json_pack("{s:s, s:b}", "job", id, "duplicate", 1));
    }
}

/* beian.submit and titanic.request share this: body = [spec][payload frames...] for beian jobs,
 * [service][frames...] for a Titanic request to any other service. */
static void s_submit(bd_broker_t *self, int sock, zmq_msg_t *client, const char *service,
                     bn_msg_t *m, size_t first, int titanic, const char *bound)
{
    size_t bytes = 0;
    for (size_t i = first; i < bn_msg_size(m); i++)
        bytes += bn_msg_len(m, i);
    /* An image over the upload limit is refused first, with the limit: it will never be
     * accepted, so "busy" would only make the client send it again. (One over max_frame never
     * gets here: libzmq drops it, which is why that cap lies above this one, beiand.c.) */
    if (!titanic || bn_msg_streq(m, first, BN_SVC_SUBMIT)) {
        size_t b0 = first + (titanic ? 2 : 1);
        for (size_t i = b0; i < bn_msg_size(m); i++)
            if (bn_msg_len(m, i) > self->o.max_upload) {
                char msg[200];
                snprintf(msg, sizeof msg, "image %zu is %zu bytes; the limit is %zu bytes per image (broker.max_upload)",
                         i - b0 + 1, bn_msg_len(m, i), self->o.max_upload);
                bn_info("refused a submission: %s", msg);
                s_reply_error(self, sock, client, service, BN_ST_BAD, "upload_too_large", msg);
                return;
            }
    }
    if (bd_store_full(self->store)) {
        s_reply_store_full(self, sock, client, service);
        return;
    }
    if ((int)zhashx_size(self->jobs) >= self->o.max_jobs || self->bytes + bytes > self->o.max_bytes) {
        s_reply_json(self, sock, client, service, BN_ST_BUSY,
                     json_pack("{s:{s:s, s:s}, s:i}", "error", "code", "busy", "message",
                               "the queue is full; retry later", "retry_after_ms", 1000));
        return;
    }
    json_t *spec;
    int kind = KIND_BEIAN;
    size_t blob0 = first + 1; /* first payload frame */
    if (titanic && !bn_msg_streq(m, first, BN_SVC_SUBMIT)) {
        kind = KIND_TITANIC;
        char *svc = bn_msg_strdup(m, first);
        if (!svc || !*svc || s_reserved(svc) || strlen(svc) > BN_MDP_MAX_SERVICE) {
            free(svc);
            s_reply_error(self, sock, client, service, BN_ST_BAD, "bad_request", "titanic.request needs a service name");
            return;
        }
        spec = json_pack("{s:s, s:{s:s, s:s}}", "service", svc, "options", "tenant", bound ? bound : "default",
                         "priority", "interactive");
        free(svc);
    } else {
        if (titanic)
            first++, blob0++; /* skip the "beian.submit" service frame */
        if (first >= bn_msg_size(m)) {
            s_reply_error(self, sock, client, service, BN_ST_BAD, "bad_request", "missing job spec frame");
            return;
        }
        json_error_t jerr;
        spec = json_loadb(bn_msg_data(m, first), bn_msg_len(m, first), 0, &jerr);
        if (!spec) {
            char msg[300];
            snprintf(msg, sizeof msg, "job spec is not JSON: %s", jerr.text);
            s_reply_error(self, sock, client, service, BN_ST_BAD, "bad_request", msg);
            return;
        }
        /* Before validation, which would default an absent tenant to "default". The stored spec
         * text stays as received: the jobs row's tenant column is the job's tenant (s_resume_cb). */
        if ((bound && bn_job_bind_tenant(spec, bound) < 0)
            || bn_job_spec_validate(spec, bn_msg_size(m) - blob0) < 0
            || bn_job_profile_check(spec, self->o.config) < 0
            || bn_job_form_check(spec) < 0
            || bn_job_options_check(spec, self->o.config) < 0) {
            s_reply_error(self, sock, client, service, BN_ST_BAD, bn_error_code(), bn_error_msg());
            json_decref(spec);
            return;
        }
        /* Every attached frame must be one the spec names. A frame nothing refers to used to be
         * written to the spool and counted against max_bytes all the same (issue #11: 19
         * unreferenced 30 MiB frames, 570 MB on disk for nothing); refusing here, before any
         * blob is stored, costs the refused submit no disk. Checked here and not in
         * bn_job_spec_validate, which also reads back stored jobs that predate the rule. */
        size_t unref = s_unreferenced(spec, bn_msg_size(m) - blob0);
        if (unref) {
            char msg[160];
            snprintf(msg, sizeof msg, "frame %zu is not referenced by any document or the selfie; "
                     "attach only the images the spec names", unref);
            s_reply_error(self, sock, client, service, BN_ST_BAD, "bad_request", msg);
            json_decref(spec);
            return;
        }
    }
    json_t *opt = json_object_get(spec, "options");
    const char *tenant = json_string_value(json_object_get(opt, "tenant"));
    const char *key = json_string_value(json_object_get(opt, "key"));
    char id[33];
    int dup = 0;
    if (key) {
        char k[200];
        snprintf(k, sizeof k, "%s\x1f%s", tenant, key);
        job_t *live = zhashx_lookup(self->keys, k);
        if (live)
            memcpy(id, live->id, 33);
        dup = live || bd_store_job_by_key(self->store, tenant, key, id);
    }
    if (dup) {
        /* A resubmission after a lost acknowledgement: the same job, not a duplicate. */
        json_decref(spec);
        s_reply_duplicate(self, sock, client, service, titanic, id);
        return;
    }
    s_new_id(id);
    /* The blob list, as JSON for the store (written by hand: this is the hot path) and as the
     * spec's "blobs" for the job in memory. */
    size_t nb = bn_msg_size(m) - blob0, cap = 2 + nb * 128, len = 1; /* an entry is < 110 chars */
    char *btext = malloc(cap);
    btext[0] = '[';
    json_t *blobs = json_array();
    uint64_t live = 0;
    for (size_t i = blob0; i < bn_msg_size(m); i++) {
        char sha[65];
        /* Memory mode keeps a large payload in a tmpfs file, which local workers map, rather
         * than in the received frame (see bd_store_shm_put); everything else keeps the frame. */
        int in_file = kind == KIND_BEIAN && bn_msg_len(m, i) >= BD_REF_MIN
                   && bd_store_shm_put(self->store, bn_msg_data(m, i), bn_msg_len(m, i), sha) == 0;
        if (!in_file)
            live |= 1ull << (i - blob0);
        if (!in_file && bd_store_blob_put(self->store, bn_msg_data(m, i), bn_msg_len(m, i), sha) < 0) {
            bn_error("job %s: %s", id, bn_error_msg());
            int full = !strcmp(bn_error_code(), "store_full");
            s_release_blobs(self, id, blobs);
            free(btext);
            json_decref(blobs);
            json_decref(spec);
            if (full)
                s_reply_store_full(self, sock, client, service);
            else
                s_reply_error(self, sock, client, service, BN_ST_INTERNAL, "store_write", "could not store the images");
            return;
        }
        len += (size_t)snprintf(btext + len, cap - len, "%s{\"sha256\":\"%s\",\"bytes\":%zu}", i > blob0 ? "," : "",
                                sha, bn_msg_len(m, i));
        json_array_append_new(blobs, json_pack("{s:s, s:I}", "sha256", sha, "bytes", (json_int_t)bn_msg_len(m, i)));
        bd_store_blob_ref(self->store, id, sha);
    }
    btext[len++] = ']';
    btext[len] = '\0';
    json_object_set_new(spec, "blobs", blobs);
    int prio = strcmp(json_string_value(json_object_get(opt, "priority")), "batch") == 0;
    char *generated = kind == KIND_TITANIC ? json_dumps(spec, JSON_COMPACT) : NULL;
    const char *stext = generated ? generated : bn_msg_data(m, first);
    size_t slen = generated ? strlen(generated) : bn_msg_len(m, first);
    /* The memory store writes the job only when it finishes (s_job_finish): nothing would
     * read the row before, and the insert was a third of the submission path. */
    int rc = bd_store_durable(self->store)
           ? bd_store_job_insert(self->store, id, tenant, key, kind, prio, stext, slen, btext, bn_wall_ms()) : 0;
    free(generated);
    free(btext);
    char other[33];
    if (rc < 0 && !strcmp(bn_error_code(), "duplicate") && bd_store_job_by_key(self->store, tenant, key, other)) {
        /* Another broker took the same key at the same moment (shared store): its job. */
        s_release_blobs(self, id, blobs);
        json_decref(spec);
        s_reply_duplicate(self, sock, client, service, titanic, other);
        return;
    }
    if (rc < 0) {
        int full = !strcmp(bn_error_code(), "store_full");
        s_release_blobs(self, id, blobs);
        json_decref(spec);
        if (full)
            s_reply_store_full(self, sock, client, service);
        else
            s_reply_error(self, sock, client, service, BN_ST_INTERNAL, "store_write", bn_error_msg());
        return;
    }
    job_t *job = s_job_load(self, id, kind, spec, NULL);
    job->stored = bd_store_durable(self->store);
    job->live = live;
    for (int i = 0; i < job->nblobs; i++)
        if (live & (1ull << i)) {
            zmq_msg_init(&job->blobs[i]);
            zmq_msg_copy(&job->blobs[i], bn_msg_frame(m, blob0 + (size_t)i));
        }
    job->bytes = bytes;
    self->bytes += bytes;
    s_job_schedule(self, job);
    bn_msg_t *r = bn_msg_new();
    if (titanic) {
        bn_msg_addstr(r, id);
    } else {
        char ack[96];
        snprintf(ack, sizeof ack, "{\"job\":\"%s\",\"status\":\"queued\",\"duplicate\":false}", id);
        bn_msg_addstr(r, ack);
    }
    s_reply(self, sock, client, service, BN_ST_OK, r);
}

/* A stored status that is an end (a job another broker runs says queued or running). */
static int s_final(const char *status)
{
    return !status || (strcmp(status, "queued") != 0 && strcmp(status, "running") != 0);
}

/* Look a job up in memory, then in the store. Returns 1 live, 2 stored, 0 unknown. bound (NULL:
 * any) is the tenant the client's certificate binds it to: another tenant's job is unknown, so
 * the answer does not even tell that the id exists. */
static int s_job_find(bd_broker_t *self, const char *id, const char *bound, job_t **live, char **status,
                      char **result, int *kind)
{
    *live = zhashx_lookup(self->jobs, id);
    if (*live && bound && strcmp((*live)->tenant, bound) != 0)
        *live = NULL;
    else if (*live)
        return 1;
    return bd_store_job_get(self->store, id, bound, status, result, kind) ? 2 : 0;
}

static void s_job_api(bd_broker_t *self, int sock, zmq_msg_t *client, const char *service, bn_msg_t *m, size_t body,
                      const char *bound)
{
    char *id = bn_msg_strdup(m, body);
    job_t *job = NULL;
    char *status = NULL, *result = NULL;
    int kind = 0;
    int found = id && strlen(id) == 32 ? s_job_find(self, id, bound, &job, &status, &result, &kind) : 0;
    if (!found) {
        s_reply_error(self, sock, client, service, BN_ST_UNKNOWN, "unknown_job", "no such job");
        goto done;
    }
    if (strcmp(service, BN_SVC_STATUS) == 0) {
        json_t *r = json_pack("{s:s, s:s}", "job", id, "status", job ? job->status : status);
        if (job)
            json_object_set_new(r, "progress", json_pack("{s:i, s:i}", "done", job->ndone, "total", job->ntasks));
        else if (result) {
            json_t *res = json_loads(result, 0, NULL);
            json_object_set(r, "verdict", json_object_get(res, "verdict"));
            json_decref(res);
        }
        s_reply_json(self, sock, client, service, BN_ST_OK, r);
    } else if (strcmp(service, BN_SVC_RESULT) == 0) {
        /* Shared store: a job another broker runs has no result yet. */
        int elsewhere = !job && !s_final(status);
        zlistx_t *parked = elsewhere ? zhashx_lookup(self->remote, id) : NULL;
        if (!job && !elsewhere) {
            bn_msg_t *r = bn_msg_new();
            bn_msg_addstr(r, result ? result : "{}");
            s_reply(self, sock, client, service, BN_ST_OK, r);
        } else if (bn_msg_streq(m, body + 1, "wait")
                   && (int)(job ? zlistx_size(job->waiters) : parked ? zlistx_size(parked) : 0) < self->o.max_waiters) {
            pending_t *p = malloc(sizeof *p);
            p->sock = sock;
            p->msg = bn_msg_new();
            bn_msg_addframe(p->msg, client);
            if (job)
                zlistx_add_end(job->waiters, p);
            else
                s_remote_wait(self, id, p);
        } else {
            s_reply_json(self, sock, client, service, BN_ST_PENDING,
                         json_pack("{s:s, s:s}", "job", id, "status", job ? job->status : status));
        }
    } else if (strcmp(service, BN_SVC_CANCEL) == 0) {
        if (!job && !s_final(status)) {
            /* Another broker runs it: the row says cancelled from now on, and that broker's own
             * end of the job will find it so (bd_store_job_set_status) and drop it. */
            char tenant[256];
            if (bd_store_job_cancel(self->store, id, tenant, sizeof tenant) == 1) {
                s_notified(self, id, tenant, "cancelled", NULL);
                s_reply_json(self, sock, client, service, BN_ST_OK, json_pack("{s:s, s:s}", "job", id, "status", "cancelled"));
            } else { /* it ended meanwhile */
                free(status);
                status = NULL;
                bd_store_job_get(self->store, id, NULL, &status, NULL, NULL);
                s_reply_json(self, sock, client, service, BN_ST_CONFLICT,
                             json_pack("{s:s, s:s, s:{s:s, s:s}}", "job", id, "status", status ? status : "done",
                                       "error", "code", "already_finished", "message", "the job has already finished"));
            }
        } else if (!job) {
            s_reply_json(self, sock, client, service, BN_ST_CONFLICT,
                         json_pack("{s:s, s:s, s:{s:s, s:s}}", "job", id, "status", status, "error", "code",
                                   "already_finished", "message", "the job has already finished"));
        } else {
            s_reply_json(self, sock, client, service, BN_ST_OK, json_pack("{s:s, s:s}", "job", id, "status", "cancelled"));
            s_job_finish(self, job, "cancelled", s_job_result(self, job, "cancelled", NULL));
        }
    } else if (strcmp(service, BN_SVC_BLOB) == 0) {
        char *sha = bn_msg_strdup(m, body + 1);
        void *data;
        size_t size;
        /* Only blobs this job's result names: knowing a job id does not open the whole spool. */
        int named = !job && result && sha && strlen(sha) == 64 && strstr(result, sha);
        if (named && bd_store_blob_map(self->store, sha, &data, &size) == 0) {
            bn_msg_t *r = bn_msg_new();
            bn_msg_addzc(r, data, size, s_unmap_cb, (void *)(uintptr_t)size);
            s_reply(self, sock, client, service, BN_ST_OK, r);
        } else if (named && !strcmp(bn_error_code(), "store_corrupt")) {
            /* Damaged bytes are never sent as the image the result names. */
            s_reply_error(self, sock, client, service, BN_ST_INTERNAL, "store_corrupt",
                          "the stored image does not match its content address");
        } else {
            s_reply_error(self, sock, client, service, BN_ST_UNKNOWN, "unknown_blob", "no such blob in this job's result");
        }
        free(sha);
    }
done:
    free(id);
    free(status);
    free(result);
}

typedef struct {
    bd_broker_t *self;
    json_t *jobs;
    const char *want; /* a status filter the store cannot apply (queued/running: the row says queued) */
    int rows;
    int64_t last_created;
    char last_id[33];
} list_t;

static void s_list_cb(void *arg, const char *id, const char *status, int64_t created)
{
    list_t *l = arg;
    l->rows++;
    l->last_created = created;
    snprintf(l->last_id, sizeof l->last_id, "%s", id);
    job_t *live = zhashx_lookup(l->self->jobs, id); /* its row says queued until it finishes */
    if (live)
        status = live->status;
    if (!l->want || strcmp(l->want, status) == 0)
        json_array_append_new(l->jobs, json_pack("{s:s, s:s, s:I}", "job", id, "status", status, "created_ms",
                                                 (json_int_t)created));
}

/* beian.list [query JSON]: a tenant's applications, newest first, a page at a time (keyset
 * cursor "<created_ms>-<job>"). Scoped like beian.status: the certificate's tenant, else the
 * query's (default "default"). */
static void s_list(bd_broker_t *self, int sock, zmq_msg_t *client, const char *service, bn_msg_t *m, size_t body,
                   const char *bound)
{
    json_t *q = body < bn_msg_size(m) ? json_loadb(bn_msg_data(m, body), bn_msg_len(m, body), 0, NULL) : json_object();
    json_t *jt = json_object_get(q, "tenant"), *js = json_object_get(q, "status"), *jl = json_object_get(q, "limit");
    json_t *jc = json_object_get(q, "cursor");
    const char *tenant = jt ? json_string_value(jt) : bound ? bound : "default";
    const char *status = json_string_value(js), *cursor = json_string_value(jc);
    long long limit = jl ? (json_is_integer(jl) ? json_integer_value(jl) : -1) : 20;
    static const char *const statuses[] = {"queued", "running", "done", "failed", "cancelled"};
    int known = 0;
    for (size_t i = 0; status && i < sizeof statuses / sizeof *statuses; i++)
        known |= strcmp(status, statuses[i]) == 0;
    long long created = 0;
    char cid[33] = "";
    int clen = 0;
    const char *k, *unknown = NULL;
    json_t *v;
    json_object_foreach(q, k, v)
        if (strcmp(k, "tenant") && strcmp(k, "status") && strcmp(k, "limit") && strcmp(k, "cursor"))
            unknown = k;
    char why[128];
    snprintf(why, sizeof why, "unknown query key '%.64s' (tenant, status, limit, cursor)", unknown ? unknown : "");
    const char *bad = !json_is_object(q) ? "the query is not a JSON object"
                    : unknown ? why
                    : !tenant ? "tenant must be a string"
                    : (js && !known) ? "status must be one of queued running done failed cancelled"
                    : (limit < 1 || limit > 100) ? "limit must be an integer 1..100"
                    : (jc && !(cursor && sscanf(cursor, "%lld-%32[0-9a-f]%n", &created, cid, &clen) == 2
                               && (size_t)clen == strlen(cursor) && strlen(cid) == 32 && created > 0))
                        ? "cursor is not one this service returned" : NULL;
    if (bad) {
        s_reply_error(self, sock, client, service, BN_ST_BAD, "bad_request", bad);
    } else if (bound && strcmp(tenant, bound) != 0) {
        s_reply_error(self, sock, client, service, BN_ST_BAD, "tenant_mismatch",
                      "the tenant is bound to this client's key; it cannot list another tenant's jobs");
    } else {
        int open = status && (!strcmp(status, "queued") || !strcmp(status, "running"));
        list_t l = {.self = self, .jobs = json_array(), .want = open ? status : NULL};
        if (bd_store_job_list(self->store, tenant, open ? "queued" : status, created, cid, (int)limit, s_list_cb, &l) < 0) {
            s_reply_error(self, sock, client, service, BN_ST_NOT_IMPL, bn_error_code(), bn_error_msg());
            json_decref(l.jobs);
        } else {
            json_t *r = json_pack("{s:o, s:n}", "jobs", l.jobs, "next");
            if (l.rows == limit)
                json_object_set_new(r, "next", json_sprintf("%lld-%s", (long long)l.last_created, l.last_id));
            s_reply_json(self, sock, client, service, BN_ST_OK, r);
        }
    }
    json_decref(q);
}

/* beian.webhooks [query JSON]: the newest deliveries and their state (docs/WEBHOOKS.md); query
 * {"tenant", "state", "limit"} all optional. A client bound to a tenant sees its own only; over
 * ipc (the operator's `beian webhooks`) every tenant's unless it names one. */
static void s_webhooks(bd_broker_t *self, int sock, zmq_msg_t *client, const char *service, bn_msg_t *m,
                       size_t body, const char *bound)
{
    json_t *q = body < bn_msg_size(m) ? json_loadb(bn_msg_data(m, body), bn_msg_len(m, body), 0, NULL) : json_object();
    json_t *jt = json_object_get(q, "tenant"), *js = json_object_get(q, "state"), *jl = json_object_get(q, "limit");
    const char *tenant = jt ? json_string_value(jt) : bound, *state = json_string_value(js);
    long long limit = jl ? (json_is_integer(jl) ? json_integer_value(jl) : -1) : 100;
    const char *bad = !json_is_object(q) ? "the query is not a JSON object"
                    : (jt && !tenant) ? "tenant must be a string"
                    : (js && !(state && (!strcmp(state, "pending") || !strcmp(state, "delivered")
                                         || !strcmp(state, "failed")))) ? "state must be pending, delivered or failed"
                    : (limit < 1 || limit > 1000) ? "limit must be an integer 1..1000" : NULL;
    json_t *list = NULL;
    if (bad)
        s_reply_error(self, sock, client, service, BN_ST_BAD, "bad_request", bad);
    else if (bound && strcmp(tenant, bound) != 0)
        s_reply_error(self, sock, client, service, BN_ST_BAD, "tenant_mismatch",
                      "the tenant is bound to this client's key; it cannot see another tenant's webhooks");
    else if (!bd_store_durable(self->store) || !(list = bd_store_hook_list(self->store, tenant, state, (int)limit)))
        s_reply_error(self, sock, client, service, BN_ST_NOT_IMPL, "not_implemented", "webhooks need the durable store");
    else
        s_reply_json(self, sock, client, service, BN_ST_OK, json_pack("{s:o}", "deliveries", list));
    json_decref(q);
}

/* A Prometheus label value: backslash, double quote and newline escaped (service names are
 * whatever a worker registered). */
static void s_label(FILE *f, const char *v)
{
    for (; *v; v++)
        if (*v == '\\' || *v == '"') fprintf(f, "\\%c", *v);
        else if (*v == '\n') fputs("\\n", f);
        else fputc(*v, f);
}

static void s_metric_head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* beian.metrics: the broker's state in the Prometheus text exposition format (version 0.0.4),
 * rendered here in the event loop from its own tables, like any other answer — nothing else
 * reads them, so no lock and no second thread touches the broker (beiand --metrics and the
 * gateway's GET /metrics are clients of this service). Aggregates only, no tenant or job, so a
 * client bound to a tenant (CURVE) is refused. */
static void s_metrics(bd_broker_t *self, int sock, zmq_msg_t *client, const char *service, const char *bound)
{
    if (bound) {
        s_reply_error(self, sock, client, service, BN_ST_BAD, "tenant_mismatch",
                      "the metrics cover every tenant: not for a client bound to one");
        return;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    zlistx_t *names = zhashx_keys(self->services);
    zlistx_set_comparator(names, (zlistx_comparator_fn *)strcmp);
    zlistx_sort(names);
    s_metric_head(f, "beian_queue_depth", "gauge", "Tasks waiting for a worker, per service.");
    for (const char *n = zlistx_first(names); n; n = zlistx_next(names)) {
        fputs("beian_queue_depth{service=\"", f), s_label(f, n);
        fprintf(f, "\"} %zu\n", ((service_t *)zhashx_lookup(self->services, n))->queued);
    }
    s_metric_head(f, "beian_workers", "gauge", "Workers connected, per service.");
    for (const char *n = zlistx_first(names); n; n = zlistx_next(names)) {
        fputs("beian_workers{service=\"", f), s_label(f, n);
        fprintf(f, "\"} %zu\n", ((service_t *)zhashx_lookup(self->services, n))->nworkers);
    }
    s_metric_head(f, "beian_stage_duration_seconds", "histogram",
                  "Time from handing a task to a worker to its answer, per service.");
    for (const char *n = zlistx_first(names); n; n = zlistx_next(names)) {
        service_t *svc = zhashx_lookup(self->services, n);
        for (size_t b = 0; b <= BD_LAT_BUCKETS; b++) {
            fputs("beian_stage_duration_seconds_bucket{service=\"", f), s_label(f, n);
            if (b < BD_LAT_BUCKETS)
                fprintf(f, "\",le=\"%g\"} %llu\n", s_lat_bounds[b], (unsigned long long)svc->lat_buckets[b]);
            else
                fprintf(f, "\",le=\"+Inf\"} %llu\n", (unsigned long long)svc->lat_count);
        }
        fputs("beian_stage_duration_seconds_sum{service=\"", f), s_label(f, n);
        fprintf(f, "\"} %.3f\n", svc->lat_sum);
        fputs("beian_stage_duration_seconds_count{service=\"", f), s_label(f, n);
        fprintf(f, "\"} %llu\n", (unsigned long long)svc->lat_count);
    }
    zlistx_destroy(&names);
    size_t queued = 0, running = 0;
    for (job_t *j = zhashx_first(self->jobs); j; j = zhashx_next(self->jobs))
        *(j->status[0] == 'q' ? &queued : &running) += 1;
    bd_store_stats_t st;
    bd_store_stats(self->store, &st);
    s_metric_head(f, "beian_jobs", "gauge",
                  "Jobs by status: unfinished ones in the broker, finished ones in the store (durable store only).");
    fprintf(f, "beian_jobs{status=\"queued\"} %zu\nbeian_jobs{status=\"running\"} %zu\n", queued, running);
    if (st.done >= 0)
        fprintf(f, "beian_jobs{status=\"done\"} %lld\nbeian_jobs{status=\"failed\"} %lld\n"
                   "beian_jobs{status=\"cancelled\"} %lld\n", (long long)st.done, (long long)st.failed,
                (long long)st.cancelled);
    s_metric_head(f, "beian_jobs_finished_total", "counter",
                  "Jobs finished since the broker started, by status and verdict (\"\" when none).");
    const char *k;
    json_t *v;
    json_object_foreach(self->finished, k, v) {
        const char *sep = strchr(k, '\x1f');
        fprintf(f, "beian_jobs_finished_total{status=\"%.*s\",verdict=\"", (int)(sep - k), k);
        s_label(f, sep + 1);
        fprintf(f, "\"} %lld\n", (long long)json_integer_value(v));
    }
    s_metric_head(f, "beian_webhook_backlog", "gauge", "Webhook deliveries pending in the outbox.");
    fprintf(f, "beian_webhook_backlog %lld\n", (long long)st.outbox_pending);
    s_metric_head(f, "beian_store_bytes", "gauge",
                  "Bytes the store holds: database (with its WAL) and spool; memory mode: its tmpfs payloads.");
    fprintf(f, "beian_store_bytes{part=\"database\"} %llu\nbeian_store_bytes{part=\"spool\"} %llu\n"
               "beian_store_bytes{part=\"memory\"} %llu\n", (unsigned long long)st.db_bytes,
            (unsigned long long)st.spool_bytes, (unsigned long long)st.shm_bytes);
    if (bd_store_shared(self->store)) {
        s_metric_head(f, "beian_store_up", "gauge", "Shared store: 1 while this broker reaches the database.");
        fprintf(f, "beian_store_up %d\n", !bd_store_unavailable(self->store));
        if (st.brokers >= 0) {
            s_metric_head(f, "beian_store_brokers", "gauge", "Shared store: brokers registered in the database.");
            fprintf(f, "beian_store_brokers %lld\n", (long long)st.brokers);
        }
    }
    s_metric_head(f, "beian_queued_bytes", "gauge", "Payload bytes held by unfinished jobs and plain requests.");
    fprintf(f, "beian_queued_bytes %zu\n", self->bytes + self->plain_bytes);
    fclose(f);
    bn_msg_t *r = bn_msg_new();
    bn_msg_addmem(r, text, len);
    free(text);
    s_reply(self, sock, client, service, BN_ST_OK, r);
}

static void s_titanic(bd_broker_t *self, int sock, zmq_msg_t *client, const char *service, bn_msg_t *m, size_t body,
                      const char *bound)
{
    if (strcmp(service, BN_SVC_TI_REQUEST) == 0) {
        if (body >= bn_msg_size(m)) {
            s_reply_error(self, sock, client, service, BN_ST_BAD, "bad_request", "titanic.request needs a service frame");
            return;
        }
        s_submit(self, sock, client, service, m, body, 1, bound);
        return;
    }
    char *id = bn_msg_strdup(m, body);
    job_t *job = NULL;
    char *status = NULL, *result = NULL;
    int kind = 0;
    int found = id && strlen(id) == 32 ? s_job_find(self, id, bound, &job, &status, &result, &kind) : 0;
    if (strcmp(service, BN_SVC_TI_CLOSE) == 0) {
        if (found == 2)
            bd_store_job_delete(self->store, id);
        s_reply(self, sock, client, service, BN_ST_OK, NULL);
    } else if (!found) {
        s_reply(self, sock, client, service, BN_ST_BAD, NULL); /* Titanic: 400 unknown request */
    } else if (job) {
        s_reply(self, sock, client, service, BN_ST_PENDING, NULL);
    } else {
        bn_msg_t *r = bn_msg_new();
        json_t *res = json_loads(result ? result : "{}", 0, NULL);
        json_t *frames = json_object_get(json_object_get(res, "reply"), "frames");
        if (kind == KIND_TITANIC && json_is_array(frames) && bd_store_durable(self->store)) {
            size_t i;
            json_t *f;
            json_array_foreach(frames, i, f) {
                void *data;
                size_t size;
                if (bd_store_blob_map(self->store, json_string_value(f), &data, &size) < 0) {
                    /* A reply with a frame missing or damaged is not the reply: say so. */
                    json_decref(res);
                    bn_msg_destroy(&r);
                    s_reply_error(self, sock, client, service, BN_ST_INTERNAL, bn_error_code(),
                                  "a stored reply frame is missing or does not match its content address");
                    goto out;
                }
                bn_msg_addzc(r, data, size, s_unmap_cb, (void *)(uintptr_t)size);
            }
        } else if (kind == KIND_TITANIC && json_is_string(json_object_get(json_object_get(res, "reply"), "inline"))) {
            bn_msg_addstr(r, json_string_value(json_object_get(json_object_get(res, "reply"), "inline")));
        } else {
            bn_msg_addstr(r, result ? result : "{}");
        }
        json_decref(res);
        s_reply(self, sock, client, service, BN_ST_OK, r);
    }
out:
    free(id);
    free(status);
    free(result);
}

/* The tenant this connection's certificate binds it to (bd_zap answers it as the ZAP user id,
 * which ZeroMQ attaches to every frame read from the wire: the delimiter, not the identity the
 * ROUTER prepends), or NULL on a connection without CURVE (local ipc, where file permissions
 * are the access control and a client names its tenant in options.tenant). */
static const char *s_bound_tenant(bn_msg_t *m)
{
    const char *user = zmq_msg_gets(bn_msg_frame(m, 1), "User-Id");
    return user && *user ? user : NULL;
}

/* The tenant a job API call is scoped to: the certificate's, narrowed (never widened) by a last
 * frame "tenant=T" after the job id. A client without CURVE — a gateway serving several
 * tenants over ipc — names the tenant it acts for, and another tenant's job is then unknown
 * to it, as for a bound client. A scope frame naming another tenant than the certificate's
 * scopes to a tenant no job has (""). The frame is removed before the call reads its frames. */
static const char *s_scope(bn_msg_t *m, size_t body, const char *bound)
{
    size_t n = bn_msg_size(m);
    if (n <= body + 1 || bn_msg_len(m, n - 1) < 7 || memcmp(bn_msg_data(m, n - 1), "tenant=", 7) != 0)
        return bound;
    static char scope[80]; /* tenants are 1..64 characters: a longer one, cut, matches none */
    snprintf(scope, sizeof scope, "%.*s", (int)bn_msg_len(m, n - 1) - 7, (const char *)bn_msg_data(m, n - 1) + 7);
    zmq_msg_close(bn_msg_frame(m, n - 1));
    m->count--;
    if (bound && strcmp(scope, bound) != 0)
        scope[0] = '\0';
    return scope;
}

static void s_client_message(bd_broker_t *self, int sock, bn_msg_t *m, const bn_mdp_t *p)
{
    zmq_msg_t *client = bn_msg_frame(m, 0);
    const char *bound = s_bound_tenant(m);
    char service[BN_MDP_MAX_SERVICE + 1];
    memcpy(service, bn_msg_data(m, p->service), bn_msg_len(m, p->service));
    service[bn_msg_len(m, p->service)] = '\0';

    if (strcmp(service, BN_SVC_MMI) == 0) {
        char *name = bn_msg_strdup(m, p->body);
        service_t *svc = name ? zhashx_lookup(self->services, name) : NULL;
        const char *code = name && (s_reserved(name) || (svc && svc->nworkers)) ? BN_ST_OK : "404";
        free(name);
        s_reply(self, sock, client, service, code, NULL);
    } else if (strncmp(service, "mmi.", 4) == 0) {
        s_reply(self, sock, client, service, BN_ST_NOT_IMPL, NULL);
    } else if (strncmp(service, "titanic.", 8) == 0) {
        s_titanic(self, sock, client, service, m, p->body, bound);
    } else if (strcmp(service, BN_SVC_SUBMIT) == 0) {
        s_submit(self, sock, client, service, m, p->body, 0, bound);
    } else if (strcmp(service, BN_SVC_LIST) == 0) {
        s_list(self, sock, client, service, m, p->body, bound);
    } else if (strcmp(service, BN_SVC_METRICS) == 0) {
        s_metrics(self, sock, client, service, bound);
    } else if (strcmp(service, BN_SVC_WEBHOOKS) == 0) {
        s_webhooks(self, sock, client, service, m, p->body, bound);
    } else if (strcmp(service, BN_SVC_STATUS) == 0 || strcmp(service, BN_SVC_RESULT) == 0
               || strcmp(service, BN_SVC_CANCEL) == 0 || strcmp(service, BN_SVC_BLOB) == 0) {
        s_job_api(self, sock, client, service, m, p->body, s_scope(m, p->body, bound));
    } else {
        /* Any other service: a plain Majordomo request, passed to its workers as is. Its body
         * is held until a worker answers, so it counts against broker.max_queued_bytes (and the
         * task count) and is refused with 503 at once when over: a request for a service with
         * no worker used to be held forever, uncounted (issue #11: twenty 30 MiB requests kept
         * 624 MB after their client left). The cost: a stock MDP client sees a "503" frame its
         * service never sends; it is the broker services' status convention. */
        size_t bytes = 0;
        for (size_t i = p->body; i < bn_msg_size(m); i++)
            bytes += bn_msg_len(m, i);
        if ((int)zhashx_size(self->tasks) >= self->o.max_jobs
            || self->plain_bytes + bytes > self->o.max_queued_bytes) {
            bn_warn("refused a request for %s (%zu bytes): queue full (%zu requests, %zu bytes held; "
                    "broker.max_queued_bytes %zu)", service, bytes, zlistx_size(self->plain), self->plain_bytes,
                    self->o.max_queued_bytes);
            s_reply_json(self, sock, client, service, BN_ST_BUSY,
                         json_pack("{s:{s:s, s:s}, s:i}", "error", "code", "busy", "message",
                                   "the queue is full; retry later", "retry_after_ms", 1000));
            return;
        }
        task_t *t = s_task_new(self, NULL, 0, s_service(self, service), 0, bound ? bound : "default");
        zmq_msg_copy(&t->client, client);
        t->client_sock = sock;
        bn_msg_drop(m, p->body);
        t->body = bn_msg_new();
        for (size_t i = 0; i < bn_msg_size(m); i++)
            bn_msg_addframe(t->body, bn_msg_frame(m, i));
        t->bytes = bytes;
        t->expires = bn_mono_ms() + self->o.request_timeout_ms;
        t->phandle = zlistx_add_end(self->plain, t);
        self->plain_bytes += bytes;
        s_enqueue(self, t);
        s_dispatch(self, t->svc);
    }
}

/* ---- announcements -------------------------------------------------------------------- */

/* Subscriptions on a CURVE --pub endpoint (XPUB, manual). A subscriber gets its own tenant's
 * announcements only, whatever it asks: its pipe is subscribed to exactly "<tenant>\0", the
 * topic announcements carry there. Why the NUL: PUB matches a topic by prefix, so a
 * subscription "acme" would also receive tenant "acme2"'s; a NUL cannot occur inside a tenant
 * (JSON strings are read without it), so "<tenant>\0" prefixes no other tenant's topic. A
 * subscription that could not match its own tenant's topic (another tenant's) is refused and
 * logged; "" (everything) or "acm" are narrowed to its own. */
static void s_pub_subscriptions(bd_broker_t *self)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    while (zmq_msg_recv(&msg, self->pub, ZMQ_DONTWAIT) >= 0) {
        const unsigned char *d = zmq_msg_data(&msg);
        size_t n = zmq_msg_size(&msg);
        const char *tenant = zmq_msg_gets(&msg, "User-Id");
        if (n < 1 || d[0] > 1 || !tenant || !*tenant)
            continue; /* not a (un)subscription, or (impossible on CURVE) no tenant: nothing granted */
        size_t tl = strlen(tenant) + 1; /* with its NUL */
        if (n - 1 > tl || memcmp(d + 1, tenant, n - 1) != 0) {
            if (d[0])
                bn_warn("refused a subscription to another tenant's announcements (subscriber bound to tenant %s)",
                        tenant);
            continue;
        }
        zmq_setsockopt(self->pub, d[0] ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE, tenant, tl);
    }
    zmq_msg_close(&msg);
}

/* ---- timers --------------------------------------------------------------------------- */

/* Plain requests still waiting for a worker after broker.request_timeout_ms are dropped and
 * their client told 504 request_expired. MDP never tells the broker that a client has gone,
 * so this timeout is what frees a departed client's requests. One that a worker holds is left
 * to its lease (an answer may still come); should it return to the queue afterwards, it
 * expires at the next turn. All share one timeout, so arrival order is expiry order and the
 * scan stops at the first request still in time: the cost per turn is the running ones. */
static void s_expire_plain(bd_broker_t *self, int64_t now)
{
    task_t *t = zlistx_first(self->plain);
    while (t && t->expires <= now) {
        task_t *next = zlistx_next(self->plain);
        if (t->state != T_RUNNING) {
            char msg[160];
            snprintf(msg, sizeof msg, "no %s worker took the request within %d ms (broker.request_timeout_ms)",
                     t->svc->name, self->o.request_timeout_ms);
            bn_warn("expired a request for %s (%zu bytes): %s", t->svc->name, t->bytes, msg);
            s_reply_error(self, t->client_sock, &t->client, t->svc->name, BN_ST_TIMEOUT, "request_expired", msg);
            s_task_free(self, t); /* detaches t from self->plain; next's cursor handle stays valid */
        }
        t = next;
    }
}

static void s_drop_jobs(bd_broker_t *self);

/* Shared store: liveness, take-overs, reconnection, and the long-polls for other brokers' jobs. */
static void s_shared_tick(bd_broker_t *self, int64_t now)
{
    int f = bd_store_tick(self->store, s_resume_cb, self);
    if (f & BD_STORE_LOST) {
        s_drop_jobs(self); /* another broker runs them now */
    } else if (f & BD_STORE_BACK) {
        s_drop_jobs(self);
        int n = bd_store_each_unfinished(self->store, s_resume_cb, self);
        bn_info("reloaded %d unfinished jobs", n > 0 ? n : 0);
    }
    if ((f & (BD_STORE_LOST | BD_STORE_BACK | BD_STORE_HOOKS)) && self->hooks)
        bd_hooks_reload(self->hooks);
    if (now >= self->remote_at) {
        self->remote_at = now + 1000;
        zlistx_t *ids = zhashx_keys(self->remote);
        for (const char *id = zlistx_first(ids); id; id = zlistx_next(ids))
            s_remote_answer(self, id);
        zlistx_destroy(&ids);
    }
}

static void s_timers(bd_broker_t *self)
{
    int64_t now = bn_mono_ms();
    bd_store_check_space(self->store);
    if (bd_store_shared(self->store))
        s_shared_tick(self, now);
    /* Workers that went silent. A busy worker that never heartbeats while busy (a stock MDP
     * worker does not) is bounded by its task's lease instead. */
    zlistx_t *dead = zlistx_new();
    for (worker_t *w = zhashx_first(self->workers); w; w = zhashx_next(self->workers))
        if ((now > w->expiry && (!(w->task || w->stuck) || w->hb_busy))
            || (w->stuck && now > w->expiry + self->o.lease_ms)) /* stuck and silent for a lease */
            zlistx_add_end(dead, w);
    for (worker_t *w = zlistx_first(dead); w; w = zlistx_next(dead)) {
        bn_warn("worker for %s expired", w->svc->name);
        s_worker_delete(self, w, 0, "worker stopped heartbeating");
    }
    zlistx_purge(dead);
    /* Leases. */
    for (worker_t *w = zhashx_first(self->workers); w; w = zhashx_next(self->workers))
        if (w->task && now > w->task->lease)
            zlistx_add_end(dead, w);
    for (worker_t *w = zlistx_first(dead); w; w = zlistx_next(dead)) {
        task_t *t = w->task;
        w->stuck = 1;
        s_task_retry(self, t, "lease expired");
    }
    zlistx_destroy(&dead);
    /* Retries whose backoff is over. */
    zlistx_t *ready = zlistx_new();
    for (task_t *t = zlistx_first(self->delayed); t; t = zlistx_next(self->delayed))
        if (now >= t->not_before)
            zlistx_add_end(ready, t);
    for (task_t *t = zlistx_first(ready); t; t = zlistx_next(ready)) {
        zlistx_detach(self->delayed, zlistx_find(self->delayed, t));
        s_enqueue(self, t);
    }
    zlistx_destroy(&ready);
    s_expire_plain(self, now);
    if (self->o.retention_hours > 0 && now >= self->purge_at) {
        int n = bd_store_purge(self->store, bn_wall_ms() - (int64_t)(self->o.retention_hours * 3600000.0));
        if (n > 0)
            bn_info("retention: deleted %d finished jobs older than %g hours", n, self->o.retention_hours);
        /* Every minute, or more often for short retentions (tests). */
        double every = self->o.retention_hours * 3600000.0 / 4;
        self->purge_at = now + (int64_t)(every < 1000 ? 1000 : every > 60000 ? 60000 : every);
    }
    if (now >= self->heartbeat_at) {
        for (worker_t *w = zhashx_first(self->workers); w; w = zhashx_next(self->workers))
            s_send_worker(self, w, BN_MDPW_HEARTBEAT, NULL, NULL);
        self->heartbeat_at = now + self->o.heartbeat_ms;
        bd_store_trim(self->store);
    }
    s_dispatch_all(self);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

bd_broker_t *bd_broker_new(const bd_options_t *opts)
{
    bd_broker_t *self = calloc(1, sizeof *self);
    self->o = *opts;
    bd_options_t *o = &self->o;
    if (o->heartbeat_ms <= 0) o->heartbeat_ms = BN_DEFAULT_HEARTBEAT_MS;
    if (o->liveness <= 0) o->liveness = BN_DEFAULT_HEARTBEAT_LIVENESS;
    if (o->lease_ms <= 0) o->lease_ms = 120000;
    if (o->max_attempts <= 0) o->max_attempts = 3;
    if (o->retry_backoff_ms <= 0) o->retry_backoff_ms = 500;
    if (o->max_jobs <= 0) o->max_jobs = 10000;
    if (o->max_bytes == 0) o->max_bytes = (size_t)2 << 30;
    if (o->max_upload == 0) o->max_upload = BN_DEFAULT_MAX_UPLOAD;
    if (o->max_frames <= 0) o->max_frames = BN_DEFAULT_MAX_FRAMES;
    if (o->max_waiters <= 0) o->max_waiters = 16;
    if (o->max_queued_bytes == 0) o->max_queued_bytes = (size_t)256 << 20;
    if (o->request_timeout_ms <= 0) o->request_timeout_ms = 300000;
    if (o->batch <= 0) o->batch = 256;
    if (sodium_init() < 0)
        goto err;
    self->services = zhashx_new();
    self->finished = json_object();
    zhashx_set_destructor(self->services, s_service_free);
    self->workers = zhashx_new();
    self->tasks = zhashx_new();
    self->jobs = zhashx_new();
    self->keys = zhashx_new();
    self->delayed = zlistx_new();
    self->pending = zlistx_new();
    self->plain = zlistx_new();
    self->ctx = zmq_ctx_new();
    int tcp = 0;
    for (int i = 0; i < o->nbinds; i++)
        tcp |= strncmp(o->binds[i], "tcp://", 6) == 0;
    /* A tcp --pub is a CURVE server too: without the authenticator it would take any key. */
    self->pub_curve = o->pub && strncmp(o->pub, "tcp://", 6) == 0;
    if (tcp || self->pub_curve) {
        /* The authenticator must exist before the first CURVE socket binds. */
        if (!o->curve_cert || !o->allow_dir) {
            bn_error_set("tcp_requires_curve", "tcp endpoints need --curve-cert and --allow");
            goto err;
        }
        self->zap = bd_zap_new(self->ctx, o->allow_dir);
        if (!self->zap) {
            bn_error_set("zap", "could not start the ZAP authenticator");
            goto err;
        }
    }
    /* The payload file may outgrow the live bytes by fragmentation (bd_arena): half again. */
    if (o->store_url)
        o->durable = 1;
    self->remote = zhashx_new();
    zhashx_set_destructor(self->remote, s_remote_list_free);
    self->store = o->store_url ? bd_store_open_pg(o->dir, o->store_url, o->config)
                               : bd_store_open(o->dir, o->durable, (uint64_t)o->max_bytes * 3 / 2, o->config);
    if (!self->store)
        goto err;
    /* Before any turn: what a kill -9 inside the last commit left in the spool (issue #11,
     * found by tests/it_fault_loop.py). */
    bd_store_sweep(self->store);
    for (int i = 0; i < o->nbinds; i++) {
        int is_tcp = strncmp(o->binds[i], "tcp://", 6) == 0;
        void *s = bn_zsock_new(self->ctx, ZMQ_ROUTER, o->binds[i], 1, NULL, is_tcp ? o->curve_cert : NULL);
        if (!s)
            goto err;
        int one = 1;
        zmq_setsockopt(s, ZMQ_ROUTER_HANDOVER, &one, sizeof one); /* a reconnecting peer reclaims its identity */
        self->socks[self->nsocks++] = s;
    }
    if (o->pub) {
        self->pub = bn_zsock_new(self->ctx, self->pub_curve ? ZMQ_XPUB : ZMQ_PUB, o->pub, 1, NULL, o->curve_cert);
        if (!self->pub)
            goto err;
        /* Manual: the broker decides what each CURVE subscriber receives (s_pub_subscriptions).
         * Set after the bind, yet before any subscriber can count: its handshake needs the ZAP
         * handler, which answers only once the event loop runs. */
        int one = 1;
        if (self->pub_curve && zmq_setsockopt(self->pub, ZMQ_XPUB_MANUAL, &one, sizeof one) < 0) {
            bn_error_set("socket", "ZMQ_XPUB_MANUAL: %s", zmq_strerror(zmq_errno()));
            goto err;
        }
    }
    bd_store_check_space(self->store);
    bn_error_clear();
    self->hooks = bd_hooks_new(self->ctx, self->store, o->config);
    if (!self->hooks && *bn_error_code())
        goto err;
    if (self->hooks && !o->durable) {
        bn_error_set("config_invalid", "webhooks need the durable store (their outbox is in it)");
        goto err;
    }
    int n = bd_store_each_unfinished(self->store, s_resume_cb, self);
    if (n > 0)
        bn_info("resumed %d unfinished jobs", n);
    s_flush(self);
    return self;
err:
    bd_broker_destroy(&self);
    return NULL;
}

/* Every unfinished job leaves memory unannounced (the store has them). */
static void s_drop_jobs(bd_broker_t *self)
{
    zlistx_t *all = zhashx_values(self->jobs);
    for (job_t *job = zlistx_first(all); job; job = zlistx_next(all))
        s_job_free(self, job);
    zlistx_destroy(&all);
}

/* The store rolled the turn back (no room): what this turn did in memory is undone the way a
 * restart would undo it, without the restart — the turn's replies are dropped (none was
 * durable; clients retry, idempotency keys make that safe), the unfinished jobs are freed and
 * loaded again from the store. Workers still on one of their tasks answer into the void
 * (fenced) and become idle. */
static void s_store_rolled_back(bd_broker_t *self)
{
    bn_warn("%s: %zu replies of this turn are not sent; reloading unfinished jobs from the store", bn_error_msg(),
            zlistx_size(self->pending));
    pending_t *p;
    while ((p = zlistx_detach(self->pending, NULL))) {
        bn_msg_destroy(&p->msg);
        free(p);
    }
    s_drop_jobs(self);
    int n = bd_store_each_unfinished(self->store, s_resume_cb, self);
    bn_info("reloaded %d unfinished jobs", n > 0 ? n : 0);
    if (self->hooks)
        bd_hooks_reload(self->hooks);
}

void bd_broker_destroy(bd_broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bd_broker_t *self = *self_p;
    /* Take each table's values first: zhashx_first rescans from its first bucket, so calling
     * it again after every delete is quadratic (seconds at exit with 30 000 queued jobs). */
    zlistx_t *all = self->jobs ? zhashx_values(self->jobs) : NULL;
    for (job_t *job = all ? zlistx_first(all) : NULL; job; job = zlistx_next(all))
        s_job_free(self, job); /* frees its tasks too */
    zlistx_destroy(&all);
    all = self->tasks ? zhashx_values(self->tasks) : NULL;
    for (task_t *t = all ? zlistx_first(all) : NULL; t; t = zlistx_next(all))
        s_task_free(self, t);
    zlistx_destroy(&all);
    all = self->workers ? zhashx_values(self->workers) : NULL;
    for (worker_t *w = all ? zlistx_first(all) : NULL; w; w = zlistx_next(all)) {
        w->task = NULL;
        s_worker_delete(self, w, 1, "broker stopping");
    }
    zlistx_destroy(&all);
    if (self->pending) {
        pending_t *p;
        while ((p = zlistx_detach(self->pending, NULL))) {
            bn_msg_destroy(&p->msg);
            free(p);
        }
    }
    zlistx_destroy(&self->pending);
    zlistx_destroy(&self->delayed);
    zlistx_destroy(&self->plain);
    zhashx_destroy(&self->jobs);
    zhashx_destroy(&self->keys);
    zhashx_destroy(&self->remote);
    zhashx_destroy(&self->tasks);
    zhashx_destroy(&self->workers);
    zhashx_destroy(&self->services);
    json_decref(self->finished);
    bd_hooks_destroy(&self->hooks);
    bd_store_close(&self->store);
    for (int i = 0; i < self->nsocks; i++)
        zmq_close(self->socks[i]);
    if (self->pub)
        zmq_close(self->pub);
    bd_zap_destroy(&self->zap);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    free(self);
    *self_p = NULL;
}

int bd_broker_run(bd_broker_t *self, volatile int *stop)
{
    zmq_pollitem_t items[BD_MAX_BINDS + 4];
    int n = 0;
    for (int i = 0; i < self->nsocks; i++)
        items[n++] = (zmq_pollitem_t){self->socks[i], 0, ZMQ_POLLIN, 0};
    int pub_item = self->pub_curve ? n : -1;
    if (self->pub_curve)
        items[n++] = (zmq_pollitem_t){self->pub, 0, ZMQ_POLLIN, 0};
    int hooks_item = self->hooks ? n : -1;
    if (self->hooks)
        items[n++] = (zmq_pollitem_t){bd_hooks_socket(self->hooks), 0, ZMQ_POLLIN, 0};
    if (self->zap)
        items[n++] = (zmq_pollitem_t){bd_zap_socket(self->zap), 0, ZMQ_POLLIN, 0};
    bn_msg_t *m = bn_msg_new();
    self->heartbeat_at = bn_mono_ms() + self->o.heartbeat_ms;
    while (!*stop) {
        /* Sleep until the next heartbeat at most; leases and retries are checked each turn,
         * which is at least every heartbeat interval. */
        int64_t wait = self->heartbeat_at - bn_mono_ms();
        if (wait > 100)
            wait = 100;
        if (wait < 0)
            wait = 0;
        /* The shared store's socket (its announcements) goes last: it changes on reconnection. */
        int sfd = bd_store_fd(self->store);
        items[n] = (zmq_pollitem_t){NULL, sfd, ZMQ_POLLIN, 0};
        if (zmq_poll(items, n + (sfd >= 0), (long)wait) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (self->zap && (items[n - 1].revents & ZMQ_POLLIN))
            bd_zap_handle(self->zap);
        if (sfd >= 0 && (items[n].revents & ZMQ_POLLIN))
            bd_store_notified(self->store, s_notified, self);
        if (pub_item >= 0 && (items[pub_item].revents & ZMQ_POLLIN))
            s_pub_subscriptions(self);
        if (hooks_item >= 0 && (items[hooks_item].revents & ZMQ_POLLIN))
            bd_hooks_handle(self->hooks);
        for (int s = 0; s < self->nsocks; s++) {
            for (int k = 0; k < self->o.batch; k++) {
                if (bn_msg_recv(m, self->socks[s], (size_t)self->o.max_frames, ZMQ_DONTWAIT) < 0) {
                    if (errno == EMSGSIZE) {
                        bn_warn("dropped a message with more than %d frames", self->o.max_frames);
                        continue;
                    }
                    break;
                }
                bn_mdp_t p;
                const char *why;
                if (bn_mdp_parse(m, 1, &p, &why) < 0) {
                    bn_warn("dropped a malformed message (%zu frames): %s", bn_msg_size(m), why);
                    continue;
                }
                if (p.worker)
                    s_worker_message(self, s, m, &p);
                else
                    s_client_message(self, s, m, &p);
            }
        }
        s_timers(self);
        s_flush(self); /* commit, then acknowledge */
        if (self->hooks)
            bd_hooks_dispatch(self->hooks); /* announce only what is committed */
    }
    bn_msg_destroy(&m);
    s_flush(self);
    return 0;
}
