/* beian-gateway — HTTP/1.1 front end to beiand (docs/GATEWAY.md, docs/openapi.yaml).
 *
 * It is a client of the broker like `beian`: one MDP client socket (include/beian/client.h),
 * beian.submit/status/result/cancel/blob/list, the broker's status frames and error codes mapped
 * to HTTP statuses and RFC 9457 problem documents. Each request acts for the tenant its bearer
 * token is bound to (gw_tokens): submissions name it in options.tenant, and every other call
 * carries the scope frame "tenant=T" (docs/PROTOCOL.md), so another tenant's job is unknown.
 *
 * Threading: libmicrohttpd's internal polling thread, one thread, a bounded number of
 * connections (--max-connections). All handlers run on that thread, so the one ZeroMQ socket
 * (which must not be shared between threads) needs no lock, and buffered upload bytes can be
 * counted without atomics. A handler blocks the loop only for a broker call: the broker
 * answers from memory or after one fsync (milliseconds); uploads themselves are read by the
 * event loop as they arrive, not by a thread per connection. A thread pool would need a socket
 * per thread for no gain: the broker's one event loop is the serial part either way. No call
 * here long-polls (GET answers the current state; portals poll, or receive the broker's signed
 * webhooks, docs/WEBHOOKS.md). */
#include "gw_tokens.h"
#include "core/bn_config.h"
#include "core/bn_error.h"
#include "core/bn_job.h"
#include "core/bn_log.h"
#include "core/bn_version.h"
#include "core/bn_msg.h"

#include <arpa/inet.h>
#include <beian/client.h>
#include <beian/proto.h>
#include <getopt.h>
#include <jansson.h>
#include <malloc.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define GW_MAX_PARTS 18           /* 16 documents (the broker's limit), a selfie, a form */
#define GW_MAX_FORM (1u << 20)    /* bytes of the form part (JSON) */
#define GW_MAX_KEY 200            /* bytes of an Idempotency-Key */
/* Read buffer per connection. libmicrohttpd's 32 KiB default hands a 3 MB upload over in ~100
 * pieces, each a pass through the handler and the multipart parser; 256 KiB makes them fewer
 * (bench_gateway saw no clear change in CPU either way). Bounded: max-connections x this. */
#define GW_CONN_MEMORY (256u << 10)

typedef struct {
    char name[64];
    char *data;
    size_t size, cap;
} gw_part_t;

typedef struct {
    char tenant[65];
    struct MHD_PostProcessor *pp;
    gw_part_t parts[GW_MAX_PARTS];
    int nparts;
    size_t buffered;              /* bytes of parts held, counted in s.buffered */
    int err_http;                 /* a problem found while reading the body */
    char err_code[32], err_detail[256];
    int answered;                 /* a response is queued */
    unsigned long long received;  /* body bytes read */
    unsigned long long length;    /* Content-Length, 0 when absent */
} gw_req_t;

static struct {
    bn_client_t *client;
    gw_tokens_t *tokens;
    size_t max_upload;            /* broker.max_upload: bytes per image */
    size_t max_buffered;          /* upload bytes held over all connections */
    size_t buffered;
    int timeout_ms;
} s;

static volatile sig_atomic_t s_stop;
static void s_on_signal(int sig) { (void)sig; s_stop = 1; }

/* ---- responses ------------------------------------------------------------------------ */

static enum MHD_Result s_send(struct MHD_Connection *c, unsigned status, const char *type, void *data, size_t size,
                              enum MHD_ResponseMemoryMode mode, const char *location)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(size, data, mode);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, "Cache-Control", "no-store"); /* personal data */
    if (location)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"beian\"");
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result s_problem(struct MHD_Connection *c, unsigned status, const char *code, const char *detail);

/* A JSON body (consumed). */
static enum MHD_Result s_json(struct MHD_Connection *c, unsigned status, json_t *body, const char *location)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) /* a broker reply without its JSON body */
        return s_problem(c, MHD_HTTP_BAD_GATEWAY, "internal", "the broker's reply had no JSON body");
    return s_send(c, status, "application/json", text, strlen(text), MHD_RESPMEM_MUST_FREE, location);
}

static const char *s_title(unsigned status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Internal Server Error";
    }
}

/* RFC 9457 problem details; code is the CLI's and the broker's error code (docs/GATEWAY.md). */
static enum MHD_Result s_problem(struct MHD_Connection *c, unsigned status, const char *code, const char *detail)
{
    json_t *p = json_pack("{s:s+, s:s, s:i, s:s, s:s}", "type", "urn:beian:problem:", code, "title",
                          s_title(status), "status", (int)status, "detail", detail ? detail : "", "code", code);
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    return s_send(c, status, "application/problem+json", text, strlen(text), MHD_RESPMEM_MUST_FREE, NULL);
}

/* ---- the broker ----------------------------------------------------------------------- */

/* Call service with frames (the last one may be the tenant scope). Returns 0 with the reply,
 * or -1 after a problem response (unreachable: 502 when the cause is known, else 504). */
static int s_call(struct MHD_Connection *c, const char *service, bn_msg_t **req, bn_msg_t **rep)
{
    if (bn_client_call(s.client, service, req, rep, s.timeout_ms) == 0)
        return 0;
    if (*bn_error_code())
        s_problem(c, MHD_HTTP_BAD_GATEWAY, bn_error_code(), bn_error_msg());
    else
        s_problem(c, MHD_HTTP_GATEWAY_TIMEOUT, "broker_timeout", "no answer from the broker in time");
    return -1;
}

/* The reply's status and JSON body (or NULL). */
static json_t *s_reply_body(bn_msg_t *rep, char status[4])
{
    snprintf(status, 4, "%.*s", (int)bn_msg_len(rep, 0), (const char *)bn_msg_data(rep, 0));
    return bn_msg_size(rep) > 1 ? json_loadb(bn_msg_data(rep, 1), bn_msg_len(rep, 1), 0, NULL) : NULL;
}

/* A broker error reply as a problem: its status frame decides the HTTP status, its error code
 * passes through. Consumes body. */
static enum MHD_Result s_broker_problem(struct MHD_Connection *c, const char *status, json_t *body)
{
    json_t *err = json_object_get(body, "error");
    const char *code = json_string_value(json_object_get(err, "code"));
    char detail[512];
    snprintf(detail, sizeof detail, "%s", json_string_value(json_object_get(err, "message"))
                                              ? json_string_value(json_object_get(err, "message")) : "");
    char cbuf[64];
    snprintf(cbuf, sizeof cbuf, "%s", code ? code : !strcmp(status, "404") ? "unknown_job" : "internal");
    json_decref(body);
    unsigned http = !strcmp(cbuf, "upload_too_large") ? 413 : (unsigned)atoi(status);
    if (http < 400 || http > 599)
        http = 502;
    return s_problem(c, http, cbuf, detail);
}

static bn_msg_t *s_req(const char *id)
{
    bn_msg_t *m = bn_msg_new();
    bn_msg_addstr(m, id);
    return m;
}

static void s_scope(bn_msg_t *m, const char *tenant)
{
    char f[80];
    snprintf(f, sizeof f, "tenant=%s", tenant);
    bn_msg_addstr(m, f);
}

/* Call service and answer with its reply: 200 and the JSON body, or the broker's error. */
static enum MHD_Result s_relay(struct MHD_Connection *c, const char *service, bn_msg_t *req)
{
    bn_msg_t *rep = NULL;
    if (s_call(c, service, &req, &rep) < 0)
        return MHD_YES;
    char status[4];
    json_t *body = s_reply_body(rep, status);
    bn_msg_destroy(&rep);
    return strcmp(status, BN_ST_OK) ? s_broker_problem(c, status, body) : s_json(c, 200, body, NULL);
}

/* ---- POST /v1/applications ------------------------------------------------------------ */

/* The first problem found in a request's body; it is answered once the body has been read. */
__attribute__((format(printf, 4, 5))) static void s_fail(gw_req_t *r, int http, const char *code, const char *fmt, ...)
{
    if (r->err_http)
        return;
    r->err_http = http;
    snprintf(r->err_code, sizeof r->err_code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err_detail, sizeof r->err_detail, fmt, ap);
    va_end(ap);
}

/* Called by the post processor for each piece of a part, as it arrives. */
static enum MHD_Result s_part(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                              const char *content_type, const char *transfer_encoding, const char *data,
                              uint64_t off, size_t size)
{
    gw_req_t *r = cls;
    gw_part_t *p = r->nparts ? &r->parts[r->nparts - 1] : NULL;
    if (!p || off == 0 || strcmp(p->name, key) != 0) {
        if (p && !strcmp(p->name, key) && p->size == 0)
            ; /* the same part's first bytes after an empty call */
        else if (r->nparts == GW_MAX_PARTS) {
            s_fail(r, 400, "bad_request", "more than %d parts", GW_MAX_PARTS);
            return MHD_NO;
        } else if (strlen(key) >= sizeof p->name) {
            s_fail(r, 400, "bad_request", "part name '%.40s…' is too long", key);
            return MHD_NO;
        } else {
            p = &r->parts[r->nparts++];
            snprintf(p->name, sizeof p->name, "%s", key);
        }
    }
    size_t limit = strcmp(key, "form") == 0 ? GW_MAX_FORM : s.max_upload;
    if (p->size + size > limit) {
        s_fail(r, 413, "upload_too_large", "part '%.60s' is larger than %zu bytes (broker.max_upload per image, "
               "1 MiB for the form)", key, limit);
        return MHD_NO;
    }
    if (s.buffered + size > s.max_buffered) {
        s_fail(r, 503, "busy", "the gateway holds its maximum of upload bytes; retry later");
        return MHD_NO;
    }
    if (p->size + size > p->cap) {
        /* First the whole request's length (a part cannot be longer), so a part is read into
         * one buffer without a move; doubling for a chunked body. */
        size_t cap = p->cap ? 2 * p->cap : r->length ? (size_t)r->length : 65536;
        while (cap < p->size + size)
            cap *= 2;
        if (cap > limit)
            cap = limit;
        char *d = realloc(p->data, cap);
        if (!d) {
            s_fail(r, 503, "busy", "out of memory; retry later");
            return MHD_NO;
        }
        p->data = d;
        p->cap = cap;
    }
    memcpy(p->data + p->size, data, size);
    p->size += size;
    r->buffered += size;
    s.buffered += size;
    return MHD_YES;
}

/* libzmq frees a part's bytes once it has sent them (the part gave them up). */
static void s_free_part(void *data, void *hint) { (void)hint; free(data); }

static enum MHD_Result s_submit(struct MHD_Connection *c, gw_req_t *r)
{
    json_t *spec = json_pack("{s:[], s:{s:s}}", "documents", "options", "tenant", r->tenant);
    json_t *docs = json_object_get(spec, "documents"), *opt = json_object_get(spec, "options");
    gw_part_t *frames[GW_MAX_PARTS];
    int nframes = 0;
    char bad[200] = "";
    for (int i = 0; i < r->nparts && !*bad; i++) {
        gw_part_t *p = &r->parts[i];
        if (!strcmp(p->name, "form")) {
            json_t *form = json_loadb(p->data ? p->data : "", p->size, 0, NULL);
            if (!json_is_object(form))
                snprintf(bad, sizeof bad, "the form part is not a JSON object");
            else
                json_object_set(spec, "form", form);
            json_decref(form);
            continue;
        }
        char type[64], side[16] = "front";
        snprintf(type, sizeof type, "%s", p->name);
        char *colon = strchr(type, ':');
        if (colon) {
            snprintf(side, sizeof side, "%s", colon + 1);
            *colon = '\0';
        }
        if (strcmp(p->name, "selfie") != 0 && !bn_doc_side_valid(type, side))
            snprintf(bad, sizeof bad, "part '%.60s' is not a document (TYPE[:SIDE], e.g. id-card:front), "
                                      "'selfie' or 'form'", p->name);
        else if (p->size == 0)
            snprintf(bad, sizeof bad, "part '%.60s' is empty", p->name);
        else if (!strcmp(p->name, "selfie"))
            json_object_set_new(spec, "selfie", json_integer(nframes + 1));
        else
            json_array_append_new(docs, json_pack("{s:s, s:s, s:i}", "type", type, "side", side, "blob", nframes + 1));
        frames[nframes++] = p;
    }
    const char *key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    if (!*bad && json_array_size(docs) == 0)
        snprintf(bad, sizeof bad, "no document part (name a part TYPE[:SIDE], e.g. id-card:front)");
    if (!*bad && key && (!*key || strlen(key) > GW_MAX_KEY))
        snprintf(bad, sizeof bad, "Idempotency-Key must be 1..%d characters", GW_MAX_KEY);
    if (*bad) {
        json_decref(spec);
        return s_problem(c, 400, "bad_request", bad);
    }
    if (key)
        json_object_set_new(opt, "key", json_string(key));
    bn_msg_t *req = bn_msg_new(), *rep = NULL;
    char *text = json_dumps(spec, JSON_COMPACT);
    json_decref(spec);
    bn_msg_addstr(req, text);
    free(text);
    /* The bytes go by reference, no copy: the message owns them from here. */
    for (int i = 0; i < nframes; i++) {
        bn_msg_addzc(req, frames[i]->data, frames[i]->size, s_free_part, NULL);
        frames[i]->data = NULL;
    }
    if (s_call(c, BN_SVC_SUBMIT, &req, &rep) < 0)
        return MHD_YES;
    char status[4];
    json_t *body = s_reply_body(rep, status);
    bn_msg_destroy(&rep);
    if (strcmp(status, BN_ST_OK) != 0)
        return s_broker_problem(c, status, body);
    char location[80];
    snprintf(location, sizeof location, "/v1/applications/%s", json_string_value(json_object_get(body, "job")));
    return s_json(c, 202, body, location);
}

/* ---- GET/DELETE /v1/applications/{id}[/images/{name}], GET /v1/applications ----------- */

static enum MHD_Result s_get(struct MHD_Connection *c, gw_req_t *r, const char *id)
{
    bn_msg_t *req = s_req(id), *rep = NULL;
    s_scope(req, r->tenant);
    if (s_call(c, BN_SVC_RESULT, &req, &rep) < 0)
        return MHD_YES;
    char status[4];
    json_t *body = s_reply_body(rep, status);
    bn_msg_destroy(&rep);
    if (!strcmp(status, BN_ST_OK))
        return s_json(c, 200, body, NULL); /* the result document (docs/RESULTS.md) */
    if (strcmp(status, BN_ST_PENDING) != 0)
        return s_broker_problem(c, status, body);
    json_decref(body); /* not finished: its status and progress instead */
    req = s_req(id);
    s_scope(req, r->tenant);
    return s_relay(c, BN_SVC_STATUS, req);
}

static enum MHD_Result s_cancel(struct MHD_Connection *c, gw_req_t *r, const char *id)
{
    bn_msg_t *req = s_req(id);
    s_scope(req, r->tenant);
    return s_relay(c, BN_SVC_CANCEL, req);
}

/* An image by the name `beian result --out` gives it: d<N>.<blob>.jpg, N the document's index. */
static enum MHD_Result s_image(struct MHD_Connection *c, gw_req_t *r, const char *id, const char *name)
{
    unsigned n;
    char blob[40];
    int len = 0;
    if (sscanf(name, "d%u.%39[a-z_].jpg%n", &n, blob, &len) != 2 || (size_t)len != strlen(name))
        return s_problem(c, 404, "unknown_blob", "images are named d<N>.<name>.jpg (docs/GATEWAY.md)");
    bn_msg_t *req = s_req(id), *rep = NULL;
    s_scope(req, r->tenant);
    if (s_call(c, BN_SVC_RESULT, &req, &rep) < 0)
        return MHD_YES;
    char status[4];
    json_t *res = s_reply_body(rep, status);
    bn_msg_destroy(&rep);
    if (!strcmp(status, BN_ST_PENDING)) {
        json_decref(res);
        return s_problem(c, 404, "unknown_blob", "the application has not finished; it has no images yet");
    }
    if (strcmp(status, BN_ST_OK) != 0)
        return s_broker_problem(c, status, res);
    json_t *doc = json_array_get(json_object_get(res, "documents"), n);
    const char *sha = json_string_value(json_object_get(json_object_get(json_object_get(doc, "blobs"), blob), "sha256"));
    if (!sha) {
        json_decref(res);
        return s_problem(c, 404, "unknown_blob", "no such image in this application's result");
    }
    req = s_req(id);
    bn_msg_addstr(req, sha);
    json_decref(res);
    s_scope(req, r->tenant);
    if (s_call(c, BN_SVC_BLOB, &req, &rep) < 0)
        return MHD_YES;
    enum MHD_Result rc;
    if (bn_msg_streq(rep, 0, BN_ST_OK) && bn_msg_size(rep) > 1) {
        rc = s_send(c, 200, "image/jpeg", (void *)bn_msg_data(rep, 1), bn_msg_len(rep, 1), MHD_RESPMEM_MUST_COPY, NULL);
    } else {
        json_t *body = s_reply_body(rep, status);
        rc = s_broker_problem(c, status, body);
    }
    bn_msg_destroy(&rep);
    return rc;
}

static enum MHD_Result s_list(struct MHD_Connection *c, gw_req_t *r)
{
    json_t *q = json_pack("{s:s}", "tenant", r->tenant);
    const char *st = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "status");
    const char *lim = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    const char *cur = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cursor");
    if (st)
        json_object_set_new(q, "status", json_string(st));
    if (cur)
        json_object_set_new(q, "cursor", json_string(cur));
    if (lim) {
        char *end;
        long v = strtol(lim, &end, 10);
        if (!*lim || *end) {
            json_decref(q);
            return s_problem(c, 400, "bad_request", "limit must be an integer 1..100");
        }
        json_object_set_new(q, "limit", json_integer(v));
    }
    char *text = json_dumps(q, JSON_COMPACT);
    json_decref(q);
    bn_msg_t *req = s_req(text);
    free(text);
    return s_relay(c, BN_SVC_LIST, req);
}

/* ---- the request handler ---------------------------------------------------------------- */

/* GET /metrics: the broker's beian.metrics text as it is (Prometheus text format; rendered in
 * the broker's loop, docs/PROTOCOL.md). No bearer token: aggregates only, no tenant or job,
 * for a scraper beside the gateway (keep /metrics off the public side of the reverse proxy). */
static enum MHD_Result s_metrics(struct MHD_Connection *c)
{
    bn_msg_t *req = bn_msg_new(), *rep = NULL;
    if (s_call(c, BN_SVC_METRICS, &req, &rep) < 0)
        return MHD_YES;
    char status[4];
    snprintf(status, sizeof status, "%.*s", (int)bn_msg_len(rep, 0), (const char *)bn_msg_data(rep, 0));
    enum MHD_Result rc;
    if (strcmp(status, BN_ST_OK) == 0 && bn_msg_size(rep) > 1) {
        size_t n = bn_msg_len(rep, 1);
        char *text = malloc(n ? n : 1);
        memcpy(text, bn_msg_data(rep, 1), n);
        rc = s_send(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, n, MHD_RESPMEM_MUST_FREE, NULL);
    } else {
        rc = s_broker_problem(c, status, s_reply_body(rep, status));
    }
    bn_msg_destroy(&rep);
    return rc;
}

static int s_hex32(const char *text, size_t n)
{
    return n == 32 && strspn(text, "0123456789abcdef") >= 32;
}

/* Route: 1 the collection, 2 an application, 3 one of its images; id and rest point into url. */
static int s_route(const char *url, const char **id, const char **rest)
{
    const char *base = "/v1/applications";
    size_t bl = strlen(base);
    if (strncmp(url, base, bl) != 0)
        return 0;
    url += bl;
    if (!*url)
        return 1;
    if (*url != '/')
        return 0;
    *id = url + 1;
    const char *slash = strchr(*id, '/');
    if (!slash)
        return 2;
    if (strncmp(slash, "/images/", 8) != 0 || !slash[8] || strchr(slash + 8, '/'))
        return 0;
    *rest = slash + 8;
    return 3;
}

static enum MHD_Result s_dispatch(struct MHD_Connection *c, gw_req_t *r, const char *url, const char *method)
{
    const char *id = NULL, *rest = NULL;
    int route = s_route(url, &id, &rest);
    if (!route)
        return s_problem(c, 404, "not_found", "no such resource (the API is under /v1/applications)");
    char idbuf[33] = "";
    if (route > 1) {
        size_t n = rest ? (size_t)(rest - 8 - id) : strlen(id);
        if (!s_hex32(id, n))
            return s_problem(c, 404, "unknown_job", "no such application");
        memcpy(idbuf, id, 32);
    }
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    if (route == 1 && !strcmp(method, "POST"))
        return s_submit(c, r);
    if (route == 1 && get)
        return s_list(c, r);
    if (route == 2 && get)
        return s_get(c, r, idbuf);
    if (route == 2 && !strcmp(method, "DELETE"))
        return s_cancel(c, r, idbuf);
    if (route == 3 && get)
        return s_image(c, r, idbuf, rest);
    return s_problem(c, 405, "method_not_allowed", "this method is not allowed on this resource");
}

/* Bytes of the longest valid request: every part at its limit plus room for the part headers. */
static unsigned long long s_most(void)
{
    return (GW_MAX_PARTS - 1) * (unsigned long long)s.max_upload + GW_MAX_FORM + 65536;
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    gw_req_t *r = *con_cls;
    if (!r) {
        /* Headers only, no body read yet: what can be refused is refused now, before a byte of
         * an upload is taken (and before "100 Continue"). */
        r = calloc(1, sizeof *r);
        *con_cls = r;
        r->answered = 1;
        if (!strcmp(url, "/metrics"))
            return !strcmp(method, "GET") || !strcmp(method, "HEAD")
                ? s_metrics(c) : s_problem(c, 405, "method_not_allowed", "GET /metrics only");
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 || gw_tokens_check(s.tokens, auth + 7, r->tenant) < 0)
            return s_problem(c, 401, "auth_refused", "a valid bearer token is required (Authorization: Bearer …)");
        if (!strcmp(method, "POST") && !strcmp(url, "/v1/applications")) {
            const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
            unsigned long long most = s_most();
            r->length = cl ? strtoull(cl, NULL, 10) : 0;
            if (r->length > most) {
                char d[160];
                snprintf(d, sizeof d, "the request is %s bytes; at most %llu (%d parts of broker.max_upload "
                                      "%zu bytes)", cl, most, GW_MAX_PARTS - 1, s.max_upload);
                return s_problem(c, 413, "upload_too_large", d);
            }
            const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
            if (ct && strncasecmp(ct, "multipart/form-data", 19) == 0)
                r->pp = MHD_create_post_processor(c, 65536, s_part, r);
            if (!r->pp)
                return s_problem(c, 400, "bad_request", "the body must be multipart/form-data with a boundary");
        }
        r->answered = 0;
        return MHD_YES;
    }
    if (r->answered) {
        *upload_data_size = 0; /* refused at the headers: MHD closes the connection after the answer */
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* A refused upload is read to its end and dropped, not held: libmicrohttpd 0.9.75 takes
         * no response while a body is arriving. Past what any valid request may be, the
         * connection is closed instead (a chunked upload has no Content-Length to refuse). */
        r->received += *upload_data_size;
        if (r->received > s_most())
            return MHD_NO;
        if (r->pp && !r->err_http && MHD_post_process(r->pp, upload_data, *upload_data_size) != MHD_YES)
            s_fail(r, 400, "bad_request", "malformed multipart/form-data body");
        *upload_data_size = 0;
        return MHD_YES;
    }
    r->answered = 1;
    if (r->pp && MHD_destroy_post_processor(r->pp) != MHD_YES)
        s_fail(r, 400, "bad_request", "malformed multipart/form-data body (incomplete)");
    r->pp = NULL;
    if (r->err_http)
        return s_problem(c, (unsigned)r->err_http, r->err_code, r->err_detail);
    return s_dispatch(c, r, url, method);
}

static void s_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    gw_req_t *r = *con_cls;
    if (!r)
        return;
    if (r->pp)
        MHD_destroy_post_processor(r->pp);
    for (int i = 0; i < r->nparts; i++)
        free(r->parts[i].data);
    s.buffered -= r->buffered;
    free(r);
    *con_cls = NULL;
}

/* ---- main ----------------------------------------------------------------------------- */

static void s_usage(void)
{
    printf("usage: beian-gateway [options]\n"
           "       beian-gateway --tokens FILE --add-token --tenant T [--label L]\n"
           "HTTP/1.1 API in front of beiand (docs/GATEWAY.md, docs/openapi.yaml). Plain HTTP: put TLS\n"
           "in a reverse proxy.\n\n"
           "  -l, --listen ADDR:PORT   address to serve (default 127.0.0.1:8480)\n"
           "  -e, --endpoint EP[,EP..] the broker, or several sharing one store: failover (default\n"
           "                           $BEIAN_ENDPOINT or ipc://var/beiand.sock)\n"
           "  -k, --tokens FILE        bearer tokens, hashed (default var/gateway.tokens)\n"
           "      --add-token          make a token for --tenant, append its hash to FILE, print it once\n"
           "      --tenant T           the tenant the new token acts for\n"
           "      --label L            a note kept beside the hash (who holds the token)\n"
           "  -C, --config FILE        configuration JSON (default $BEIAN_CONFIG): broker.max_upload\n"
           "      --max-connections N  concurrent connections (default 64)\n"
           "      --max-buffered BYTES upload bytes held over all connections (default 1 GiB)\n"
           "  -t, --timeout S          seconds to wait for the broker (default 30)\n"
           "  -h, --help\n"
           "      --version\n");
}

int main(int argc, char **argv)
{
    const char *listen = "127.0.0.1:8480", *endpoint = getenv("BEIAN_ENDPOINT"), *tokens = "var/gateway.tokens";
    const char *config = NULL, *tenant = NULL, *label = NULL;
    int add = 0, max_conn = 64;
    double max_buffered = 1024.0 * 1024 * 1024;
    s.timeout_ms = 30000;
    bn_log_init("beian-gateway", getenv("BEIAN_DEBUG") ? BN_LOG_DEBUG : BN_LOG_INFO);
    static struct option lo[] = {
        {"listen", 1, 0, 'l'}, {"endpoint", 1, 0, 'e'}, {"tokens", 1, 0, 'k'}, {"add-token", 0, 0, 'A'},
        {"tenant", 1, 0, 'T'}, {"label", 1, 0, 'L'}, {"config", 1, 0, 'C'}, {"max-connections", 1, 0, 'm'},
        {"max-buffered", 1, 0, 'B'}, {"timeout", 1, 0, 't'}, {"help", 0, 0, 'h'}, {"version", 0, 0, 'V'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "l:e:k:C:t:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'l': listen = optarg; break;
        case 'e': endpoint = optarg; break;
        case 'k': tokens = optarg; break;
        case 'A': add = 1; break;
        case 'T': tenant = optarg; break;
        case 'L': label = optarg; break;
        case 'C': config = optarg; break;
        case 'm': max_conn = atoi(optarg); break;
        case 'B': max_buffered = atof(optarg); break;
        case 't': s.timeout_ms = atoi(optarg) * 1000; break;
        case 'h': s_usage(); return 0;
        case 'V': bn_version_print(argv[0]); return 0;
        default: return 1;
        }
    }
    if (add) {
        char token[69];
        if (!tenant || gw_tokens_add(tokens, tenant, label, token) < 0) {
            fprintf(stderr, "beian-gateway: %s: %s\n", tenant ? bn_error_code() : "bad_request",
                    tenant ? bn_error_msg() : "--add-token needs --tenant T");
            return 1;
        }
        printf("%s\n", token);
        fprintf(stderr, "token for tenant %s added to %s; it is shown only now\n", tenant, tokens);
        return 0;
    }
    bn_config_t *cfg = bn_config_load(config);
    if (!cfg) {
        fprintf(stderr, "beian-gateway: %s: %s\n", bn_error_code(), bn_error_msg());
        return 1;
    }
    /* The broker's own limit from the same file: the gateway refuses what the broker would. */
    double mu = bn_config_num(cfg, "broker.max_upload", BN_DEFAULT_MAX_UPLOAD);
    bn_config_destroy(&cfg);
    char host[256];
    unsigned port = 0;
    if (!(mu >= 1) || max_conn < 1 || !(max_buffered >= mu) || s.timeout_ms <= 0
        || sscanf(listen, "%255[^:]:%u", host, &port) != 2 || port == 0 || port > 65535) {
        fprintf(stderr, "beian-gateway: config_invalid: --listen ADDR:PORT, --max-connections >= 1, "
                        "--max-buffered >= broker.max_upload, --timeout >= 1\n");
        return 1;
    }
    s.max_upload = (size_t)mu;
    s.max_buffered = (size_t)max_buffered;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "beian-gateway: config_invalid: --listen wants an IPv4 address, got '%s'\n", host);
        return 1;
    }
    if (sodium_init() < 0)
        return 1;
    /* Upload buffers come from the heap and go back to it: glibc would map each large one
     * afresh and unmap it when libzmq frees it, and zeroing fresh pages was the gateway's main
     * cost per application (bench_gateway, perf). Up to 256 MiB of freed heap is kept. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    s.client = bn_client_new(endpoint ? endpoint : "ipc://var/beiand.sock");
    if (!s.client) {
        fprintf(stderr, "beian-gateway: %s: %s\n", bn_error_code(), bn_error_msg());
        return 1;
    }
    s.tokens = gw_tokens_new(tokens);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, s_handler, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT, (unsigned)max_conn,
        MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)GW_CONN_MEMORY,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "beian-gateway: cannot listen on %s\n", listen);
        return 1;
    }
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);
    bn_info("serving http://%s/v1/applications for %s (tokens %s)", listen, endpoint ? endpoint : "ipc://var/beiand.sock",
            tokens);
    while (!s_stop)
        pause();
    MHD_stop_daemon(d);
    bn_client_destroy(&s.client);
    gw_tokens_destroy(&s.tokens);
    return 0;
}
