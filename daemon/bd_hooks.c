/* Signed webhooks from the outbox (bd_hooks.h, docs/WEBHOOKS.md). */
#include "bd_hooks.h"
#include "core/bn_error.h"
#include "core/bn_log.h"

#include <czmq.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int64_t seq, created, next;
    int attempts, inflight;
    char *tenant, *job, *body;
} s_entry_t;

typedef struct {
    char *url, *secret;
} s_tenant_t;

struct bd_hooks {
    bd_store_t *store;
    zhashx_t *tenants;            /* tenant -> s_tenant_t */
    zlistx_t *queue;              /* s_entry_t, by seq */
    void *pair;                   /* broker's end */
    pthread_t thread;
    int64_t retry_for, backoff, max_backoff;
    int64_t due;                  /* dispatch has nothing to do before this (wall ms)... */
    int changed;                  /* ...unless the queue changed: a backlog is not walked every turn */
    int timeout_ms;
    char endpoint[64];
    void *ctx;
};

static int64_t s_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void bd_hooks_sign(const char *secret, const char *timestamp, const char *body, char *out)
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)timestamp, strlen(timestamp));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, 65, mac, sizeof mac);
}

/* "http://host[:port][/path]" split; 0 or -1. https needs TLS, which the broker does not link:
 * a local forwarder (or the receiver behind a TLS-terminating proxy on the same host) does it. */
static int s_parse_url(const char *url, char *host, size_t hs, char *port, size_t ps, const char **path)
{
    if (strncmp(url, "http://", 7) != 0)
        return -1;
    const char *h = url + 7, *end = h + strcspn(h, ":/");
    if (end == h || (size_t)(end - h) >= hs)
        return -1;
    snprintf(host, hs, "%.*s", (int)(end - h), h);
    snprintf(port, ps, "80");
    if (*end == ':') {
        size_t n = strspn(end + 1, "0123456789");
        if (n == 0 || n > 5)
            return -1;
        snprintf(port, ps, "%.*s", (int)n, end + 1);
        end += 1 + n;
    }
    if (*end && *end != '/')
        return -1;
    *path = *end ? end : "/";
    return 0;
}

/* One POST; the HTTP status (0 when there was none) and, when not 2xx, why in err. */
static int s_post(const char *url, const char *secret, int64_t seq, const char *body, int timeout_ms, char *err,
                  size_t es)
{
    char host[256], port[8], ts[24], sig[80], head[1024];
    const char *path;
    if (s_parse_url(url, host, sizeof host, port, sizeof port, &path) < 0) {
        snprintf(err, es, "bad url");
        return 0;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        snprintf(err, es, "resolve %.100s: %s", host, gai_strerror(rc));
        return 0;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int ok = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
    freeaddrinfo(ai);
    if (!ok) {
        snprintf(err, es, "connect: %s", strerror(errno));
        close(fd);
        return 0;
    }
    snprintf(ts, sizeof ts, "%lld", (long long)(s_wall() / 1000));
    bd_hooks_sign(secret, ts, body, sig);
    int hl = snprintf(head, sizeof head,
                      "POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                      "User-Agent: beiand\r\nBeian-Event: job.finished\r\nBeian-Delivery: %lld\r\n"
                      "Beian-Timestamp: %s\r\nBeian-Signature: %s\r\nConnection: close\r\n\r\n",
                      path, host, port, strlen(body), (long long)seq, ts, sig);
    int status = 0;
    char resp[256];
    ssize_t got = 0, n;
    if (send(fd, head, (size_t)hl, MSG_NOSIGNAL) != hl || send(fd, body, strlen(body), MSG_NOSIGNAL) != (ssize_t)strlen(body)) {
        snprintf(err, es, "send: %s", strerror(errno));
    } else {
        while (got < (ssize_t)sizeof resp - 1 && (n = recv(fd, resp + got, sizeof resp - 1 - (size_t)got, 0)) > 0)
            got += n;
        resp[got] = '\0';
        if (sscanf(resp, "HTTP/1.%*c %d", &status) != 1) {
            status = 0;
            snprintf(err, es, "no HTTP answer%s%s", got ? "" : ": ", got ? "" : strerror(errno));
        } else if (status < 200 || status > 299) {
            snprintf(err, es, "HTTP %d", status);
        }
    }
    close(fd);
    return status;
}

/* The delivery thread: [seq][url][secret][body] in, [seq][status][error] out; "" stops it. */
static void *s_thread(void *arg)
{
    bd_hooks_t *self = arg;
    void *pair = zmq_socket(self->ctx, ZMQ_PAIR);
    zmq_connect(pair, self->endpoint);
    for (;;) {
        char *f[4] = {0};
        int n = 0, more = 1;
        while (more && n < 4) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, pair, 0) < 0) {
                zmq_msg_close(&m);
                break;
            }
            f[n] = strndup(zmq_msg_data(&m), zmq_msg_size(&m));
            n++;
            more = zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
        if (n != 4) {
            for (int i = 0; i < n; i++)
                free(f[i]);
            break;
        }
        char err[200] = "", st[8];
        int status = s_post(f[1], f[2], strtoll(f[0], NULL, 10), f[3], self->timeout_ms, err, sizeof err);
        snprintf(st, sizeof st, "%d", status);
        zmq_send(pair, f[0], strlen(f[0]), ZMQ_SNDMORE);
        zmq_send(pair, st, strlen(st), ZMQ_SNDMORE);
        zmq_send(pair, err, strlen(err), 0);
        for (int i = 0; i < 4; i++)
            free(f[i]);
    }
    zmq_close(pair);
    return NULL;
}

static void s_entry_free(void **item)
{
    s_entry_t *e = *item;
    if (!e)
        return;
    free(e->tenant);
    free(e->job);
    free(e->body);
    free(e);
    *item = NULL;
}

static void s_tenant_free(void **item)
{
    s_tenant_t *t = *item;
    if (!t)
        return;
    free(t->url);
    sodium_memzero(t->secret, strlen(t->secret));
    free(t->secret);
    free(t);
    *item = NULL;
}

static void s_pending_cb(void *arg, int64_t seq, const char *tenant, const char *job, const char *body, int attempts,
                         int64_t created, int64_t next)
{
    bd_hooks_t *self = arg;
    s_entry_t *e = calloc(1, sizeof *e);
    *e = (s_entry_t){.seq = seq, .created = created, .next = next, .attempts = attempts,
                     .tenant = strdup(tenant), .job = strdup(job), .body = strdup(body)};
    zlistx_add_end(self->queue, e);
    self->changed = 1;
}

void bd_hooks_reload(bd_hooks_t *self)
{
    zlistx_purge(self->queue); /* a reply for an entry in flight is matched by seq, or ignored */
    bd_store_hook_each_pending(self->store, s_pending_cb, self);
    if (zlistx_size(self->queue))
        bn_info("webhooks: %zu deliveries pending", zlistx_size(self->queue));
}

bd_hooks_t *bd_hooks_new(void *zmq_ctx, bd_store_t *store, const bn_config_t *cfg)
{
    json_t *tenants = bn_config_get(cfg, "webhooks.tenants");
    if (!json_is_object(tenants) || json_object_size(tenants) == 0)
        return NULL;
    bd_hooks_t *self = calloc(1, sizeof *self);
    self->store = store;
    self->ctx = zmq_ctx;
    self->tenants = zhashx_new();
    zhashx_set_destructor(self->tenants, s_tenant_free);
    self->queue = zlistx_new();
    zlistx_set_destructor(self->queue, s_entry_free);
    self->retry_for = (int64_t)bn_config_num(cfg, "webhooks.retry_for_ms", 86400000);
    self->backoff = (int64_t)bn_config_num(cfg, "webhooks.backoff_ms", 1000);
    self->max_backoff = (int64_t)bn_config_num(cfg, "webhooks.max_backoff_ms", 300000);
    self->timeout_ms = (int)bn_config_num(cfg, "webhooks.timeout_ms", 10000);
    if (self->retry_for < 0 || self->backoff < 1 || self->max_backoff < self->backoff || self->timeout_ms < 1) {
        bn_error_set("config_invalid", "webhooks: retry_for_ms >= 0, 1 <= backoff_ms <= max_backoff_ms, timeout_ms >= 1");
        goto err;
    }
    const char *name;
    json_t *t;
    json_object_foreach(tenants, name, t) {
        const char *url = json_string_value(json_object_get(t, "url"));
        const char *secret = json_string_value(json_object_get(t, "secret"));
        char host[256], port[8];
        const char *path;
        if (!url || s_parse_url(url, host, sizeof host, port, sizeof port, &path) < 0) {
            bn_error_set("config_invalid", "webhooks.tenants.%s.url must be http://host[:port][/path] (https: "
                         "docs/WEBHOOKS.md)", name);
            goto err;
        }
        if (!secret || strlen(secret) < 16) {
            bn_error_set("config_invalid", "webhooks.tenants.%s.secret must be a string of at least 16 characters", name);
            goto err;
        }
        s_tenant_t *te = calloc(1, sizeof *te);
        te->url = strdup(url);
        te->secret = strdup(secret);
        zhashx_insert(self->tenants, name, te);
    }
    snprintf(self->endpoint, sizeof self->endpoint, "inproc://bd-hooks-%p", (void *)self);
    self->pair = zmq_socket(zmq_ctx, ZMQ_PAIR);
    if (zmq_bind(self->pair, self->endpoint) < 0 || pthread_create(&self->thread, NULL, s_thread, self) != 0) {
        bn_error_set("socket", "webhooks: %s", zmq_strerror(zmq_errno()));
        goto err;
    }
    bd_hooks_reload(self);
    return self;
err:
    zhashx_destroy(&self->tenants);
    zlistx_destroy(&self->queue);
    if (self->pair)
        zmq_close(self->pair);
    free(self);
    return NULL;
}

void bd_hooks_destroy(bd_hooks_t **self_p)
{
    bd_hooks_t *self = *self_p;
    if (!self)
        return;
    /* A short message stops the thread after the delivery it may be in (at most timeout_ms). */
    zmq_send(self->pair, "", 0, 0);
    pthread_join(self->thread, NULL);
    zmq_close(self->pair);
    zhashx_destroy(&self->tenants);
    zlistx_destroy(&self->queue);
    free(self);
    *self_p = NULL;
}

void *bd_hooks_socket(bd_hooks_t *self) { return self->pair; }

void bd_hooks_job_finished(bd_hooks_t *self, const char *tenant, const char *job, const char *status,
                           const char *verdict)
{
    if (!zhashx_lookup(self->tenants, tenant))
        return;
    int64_t now = s_wall();
    /* The announcement names the job and its outcome only: the result itself (personal data)
     * is fetched by the receiver with its own credentials. */
    json_t *b = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:I}", "event", "job.finished", "job", job, "tenant", tenant,
                          "status", status, "verdict", verdict, "finished_ms", (json_int_t)now);
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    int64_t seq = bd_store_hook_add(self->store, tenant, job, body, now);
    if (seq > 0)
        s_pending_cb(self, seq, tenant, job, body, 0, now, now);
    free(body);
}

void bd_hooks_dispatch(bd_hooks_t *self)
{
    int64_t now = s_wall();
    if (!self->changed && now < self->due)
        return;
    self->changed = 0;
    self->due = INT64_MAX;
    zhashx_t *seen = zhashx_new(); /* tenants whose oldest pending delivery was met */
    for (s_entry_t *e = zlistx_first(self->queue); e; e = zlistx_next(self->queue)) {
        if (zhashx_lookup(seen, e->tenant))
            continue;
        zhashx_insert(seen, e->tenant, e);
        s_tenant_t *t = zhashx_lookup(self->tenants, e->tenant);
        if (!e->inflight && e->next > now && e->next < self->due)
            self->due = e->next;
        if (e->inflight || e->next > now || !t)
            continue;
        char seq[24];
        snprintf(seq, sizeof seq, "%lld", (long long)e->seq);
        zmq_send(self->pair, seq, strlen(seq), ZMQ_SNDMORE);
        zmq_send(self->pair, t->url, strlen(t->url), ZMQ_SNDMORE);
        zmq_send(self->pair, t->secret, strlen(t->secret), ZMQ_SNDMORE);
        zmq_send(self->pair, e->body, strlen(e->body), 0);
        e->inflight = 1;
    }
    zhashx_destroy(&seen);
}

void bd_hooks_handle(bd_hooks_t *self)
{
    char seqs[24], st[8], err[256];
    for (;;) {
        int n1 = zmq_recv(self->pair, seqs, sizeof seqs - 1, ZMQ_DONTWAIT);
        if (n1 < 0)
            return;
        int n2 = zmq_recv(self->pair, st, sizeof st - 1, 0);
        int n3 = zmq_recv(self->pair, err, sizeof err - 1, 0);
        seqs[n1 < (int)sizeof seqs ? n1 : (int)sizeof seqs - 1] = '\0';
        st[n2 > 0 && n2 < (int)sizeof st ? n2 : 0] = '\0';
        err[n3 > 0 && n3 < (int)sizeof err ? n3 : 0] = '\0';
        int64_t seq = strtoll(seqs, NULL, 10);
        int status = atoi(st);
        s_entry_t *e = zlistx_first(self->queue);
        while (e && e->seq != seq)
            e = zlistx_next(self->queue);
        if (!e || !e->inflight)
            continue; /* reloaded meanwhile: it is pending in the store and goes again */
        e->inflight = 0;
        e->attempts++;
        self->changed = 1;
        int64_t now = s_wall();
        if (status >= 200 && status <= 299) {
            bd_store_hook_update(self->store, seq, "delivered", e->attempts, now, now, NULL);
            bn_info("webhook %lld (job %s) delivered to tenant %s, attempt %d", (long long)seq, e->job, e->tenant,
                    e->attempts);
            zlistx_delete(self->queue, zlistx_cursor(self->queue));
        } else if (now - e->created >= self->retry_for) {
            bd_store_hook_update(self->store, seq, "failed", e->attempts, now, now, err);
            bn_warn("webhook %lld (job %s) to tenant %s failed after %d attempts: %s", (long long)seq, e->job, e->tenant,
                    e->attempts, err);
            zlistx_delete(self->queue, zlistx_cursor(self->queue));
        } else {
            int64_t wait = self->backoff;
            for (int i = 1; i < e->attempts && wait < self->max_backoff; i++)
                wait *= 2;
            if (wait > self->max_backoff)
                wait = self->max_backoff;
            e->next = now + wait;
            bd_store_hook_update(self->store, seq, "pending", e->attempts, e->next, 0, err);
            bn_debug("webhook %lld: %s; again in %lld ms", (long long)seq, err, (long long)wait);
        }
    }
}
