#include <beian/client.h>
#include "core/bn_clock.h"
#include <beian/proto.h>

#include "core/bn_error.h"
#include "core/bn_mdp.h"
#include "core/bn_msg.h"
#include "core/bn_zsock.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct bn_client {
    void *ctx, *sock;
    void *monitor;          /* PAIR reading sock's events (CURVE handshake failures; for a list
                               also connected / refused / disconnected), or NULL */
    unsigned nmonitors;     /* makes each monitor's inproc endpoint unique */
    int connected;          /* a first connect succeeded: later ones are reconnects */
    int up;                 /* list: the monitor saw this socket's connection established */
    char *eps[BN_ZSOCK_MAX_ENDPOINTS];
    int neps, cur;          /* eps[cur] is in use: the endpoint that answered last */
    char server_key[41];
    char *cert_path;
};

#define s_endpoint(self) ((self)->eps[(self)->cur])

/* An ipc endpoint whose socket file does not exist has no broker behind it: libzmq would
 * connect anyway and retry in silence, and the caller would wait its whole timeout for
 * "no answer". Checked at the first connect only: later a broker may be restarting. */
static int s_ipc_missing(const char *endpoint)
{
    const char *path = strncmp(endpoint, "ipc://", 6) == 0 ? endpoint + 6 : NULL;
    struct stat st;
    if (!path || path[0] == '@' || stat(path, &st) == 0 || errno != ENOENT)
        return 0; /* not ipc, Linux's abstract namespace, or there (a permission error shows later) */
    return bn_error_set("endpoint_missing", "%s does not exist: no broker is serving it (is beiand running? "
                        "--endpoint and $BEIAN_ENDPOINT name the socket)", path);
}

static void s_close(bn_client_t *self)
{
    if (self->monitor)
        zmq_close(self->monitor);
    self->monitor = NULL;
    if (self->sock)
        zmq_close(self->sock);
    self->sock = NULL;
    self->up = 0;
}

static int s_connect(bn_client_t *self)
{
    s_close(self);
    /* In a list a missing socket file is only a broker that is down: the next one is asked. */
    if ((!self->connected || self->neps > 1) && s_ipc_missing(s_endpoint(self)) < 0)
        return -1;
    self->sock = bn_zsock_new(self->ctx, ZMQ_DEALER, s_endpoint(self), 0,
                              self->server_key[0] ? self->server_key : NULL, self->cert_path);
    if (!self->sock)
        return -1;
    self->connected = 1;
    /* A refused CURVE handshake (key not allowed, wrong server key) is otherwise silent: libzmq
     * reconnects and fails again and again, and the caller times out with "no answer". The
     * socket monitor reports each failure; bn_client_recv turns it into an error. Set up after
     * the connect: a failure before it is reported again at the next reconnect (100 ms).
     * With a list the monitor also says when nobody listens (a killed broker's socket file
     * left behind, a tcp port closed) or the broker went away mid-request, so the client
     * moves on at once instead of after its whole timeout. */
    int events = self->server_key[0] ? ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                                           | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL : 0;
    if (self->neps > 1)
        events |= ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED;
    if (events) {
        char ep[64];
        snprintf(ep, sizeof ep, "inproc://bn-client-monitor-%p-%u", (void *)self, self->nmonitors++);
        if (zmq_socket_monitor(self->sock, ep, events) == 0) {
            self->monitor = zmq_socket(self->ctx, ZMQ_PAIR);
            int zero = 0;
            zmq_setsockopt(self->monitor, ZMQ_LINGER, &zero, sizeof zero);
            if (zmq_connect(self->monitor, ep) < 0) {
                zmq_close(self->monitor);
                self->monitor = NULL;
            }
        }
    }
    return 0;
}

/* Read one monitor event: [uint16 event, uint32 value][endpoint]. Returns 0 for an event
 * that ends nothing (connected), else -1 with errno: ECONNREFUSED (nobody listens: the
 * request never left), ECONNRESET (the connection dropped: it may have been delivered) or
 * EACCES with bn_error set (a failed handshake). */
static int s_monitor_event(bn_client_t *self)
{
    zmq_msg_t head, addr;
    zmq_msg_init(&head);
    zmq_msg_init(&addr);
    uint16_t event = 0;
    uint32_t value = 0;
    if (zmq_msg_recv(&head, self->monitor, 0) >= 0 && zmq_msg_size(&head) >= 6) {
        memcpy(&event, zmq_msg_data(&head), 2);
        memcpy(&value, (char *)zmq_msg_data(&head) + 2, 4);
    }
    if (zmq_msg_more(&head))
        zmq_msg_recv(&addr, self->monitor, 0);
    zmq_msg_close(&head);
    zmq_msg_close(&addr);
    if (event == ZMQ_EVENT_CONNECTED) {
        self->up = 1;
        return 0;
    }
    if (event == ZMQ_EVENT_CONNECT_RETRIED || event == ZMQ_EVENT_DISCONNECTED) {
        /* A retry after a drop follows the drop's own event: refused means never connected. */
        errno = event == ZMQ_EVENT_DISCONNECTED || self->up ? ECONNRESET : ECONNREFUSED;
        return -1;
    }
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        bn_error_set("auth_refused", "the broker at %s refused this client's CURVE key (ZAP status %u): its "
                     "public certificate (NAME.key from beian keygen) is not in the broker's --allow directory",
                     s_endpoint(self), (unsigned)value);
    else
        bn_error_set("handshake_failed", "the CURVE handshake with %s failed (%s): is --server-key the broker's "
                     "public key, and is a beian broker listening there?", s_endpoint(self),
                     event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? "protocol error" : "connection closed by the peer");
    errno = EACCES;
    return -1;
}

bn_client_t *bn_client_new(const char *endpoint)
{
    bn_client_t *self = calloc(1, sizeof *self);
    self->neps = bn_zsock_endpoints(endpoint, self->eps);
    if (self->neps < 0 || sodium_init() < 0) {
        while (self->neps > 0)
            free(self->eps[--self->neps]);
        free(self);
        return NULL;
    }
    self->ctx = zmq_ctx_new();
    return self;
}

void bn_client_destroy(bn_client_t **self_p)
{
    if (self_p && *self_p) {
        bn_client_t *self = *self_p;
        s_close(self);
        zmq_ctx_term(self->ctx);
        for (int i = 0; i < self->neps; i++)
            free(self->eps[i]);
        free(self->cert_path);
        free(self);
        *self_p = NULL;
    }
}

int bn_client_set_curve(bn_client_t *self, const char *server_public_z85, const char *cert_secret_path)
{
    if (!server_public_z85 || strlen(server_public_z85) != 40)
        return -1;
    memcpy(self->server_key, server_public_z85, 41);
    free(self->cert_path);
    self->cert_path = cert_secret_path ? strdup(cert_secret_path) : NULL;
    return 0;
}

int bn_client_send(bn_client_t *self, const char *service, bn_msg_t **body)
{
    if (!self->sock && s_connect(self) < 0) {
        bn_msg_destroy(body); /* consumed on every path */
        return -1;
    }
    bn_msg_t *m = *body ? *body : bn_msg_new();
    *body = NULL;
    int rc = bn_mdp_wrap_client(m, NULL, service) == 0 ? bn_msg_send(m, self->sock) : -1;
    bn_msg_destroy(&m);
    return rc;
}

int bn_client_recv(bn_client_t *self, bn_msg_t **reply, char *service_out, int timeout_ms)
{
    if (!self->sock && s_connect(self) < 0)
        return -1;
    zmq_pollitem_t items[2] = {{self->sock, 0, ZMQ_POLLIN, 0}, {self->monitor, 0, ZMQ_POLLIN, 0}};
    int64_t deadline = bn_mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = timeout_ms < 0 ? -1 : deadline - bn_mono_ms();
        int rc = zmq_poll(items, self->monitor ? 2 : 1, left < 0 && timeout_ms >= 0 ? 0 : (long)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (items[0].revents & ZMQ_POLLIN)
            break;
        if (s_monitor_event(self) < 0)
            return -1;
    }
    bn_msg_t *m = bn_msg_new();
    bn_mdp_t p;
    const char *why;
    if (bn_msg_recv(m, self->sock, BN_DEFAULT_MAX_FRAMES * 4, 0) < 0
        || bn_mdp_parse(m, 0, &p, &why) < 0 || p.worker) {
        bn_msg_destroy(&m);
        errno = EPROTO;
        return -1;
    }
    if (service_out) {
        size_t n = bn_msg_len(m, p.service);
        memcpy(service_out, bn_msg_data(m, p.service), n);
        service_out[n] = '\0';
    }
    bn_msg_drop(m, p.body);
    *reply = m;
    return 0;
}

/* A submission without an idempotency key gets one, "auto-" and 32 random hex digits, so that
 * resending it to another broker (which shares the first one's store) cannot make a second
 * job. Returns 1 when the request may be resent: it has a key now (or had one). A spec that is
 * not an object, or whose options are not one, is left for the broker to refuse: 0. */
static int s_auto_key(bn_msg_t **req)
{
    json_t *spec = bn_msg_size(*req) ? json_loadb(bn_msg_data(*req, 0), bn_msg_len(*req, 0), 0, NULL) : NULL;
    json_t *opt = json_object_get(spec, "options"), *key = json_object_get(opt, "key");
    int ok = json_is_object(spec) && (!opt || json_is_object(opt)) && (!key || json_is_string(key));
    if (ok && !key) {
        if (!opt)
            json_object_set_new(spec, "options", opt = json_object());
        unsigned char r[16];
        char text[5 + 2 * sizeof r + 1] = "auto-";
        randombytes_buf(r, sizeof r);
        for (size_t i = 0; i < sizeof r; i++)
            snprintf(text + 5 + 2 * i, 3, "%02x", r[i]);
        json_object_set_new(opt, "key", json_string(text));
        char *dump = json_dumps(spec, JSON_COMPACT);
        bn_msg_t *m = bn_msg_new();
        bn_msg_addstr(m, dump);
        free(dump);
        for (size_t i = 1; i < bn_msg_size(*req); i++)
            bn_msg_addframe(m, bn_msg_frame(*req, i)); /* the images shared, not copied */
        bn_msg_destroy(req);
        *req = m;
    }
    json_decref(spec);
    return ok;
}

/* bn_client_call over a list: ask eps[cur]; an endpoint nobody listens on (socket file
 * missing or left by a killed broker, port closed: the request never left) is skipped at once,
 * one that dropped the connection or did not answer within timeout_ms too if the request may
 * be resent (it can have been delivered: every beian request is idempotent but a submission
 * without a key, which s_auto_key gives one, and titanic.request). Each endpoint is asked once; a round in which
 * every one refused the connection is repeated every 100 ms until timeout_ms has passed
 * (brokers restarting). On success cur stays: the next call starts where this one got its
 * answer. */
static int s_call_list(bn_client_t *self, const char *service, bn_msg_t **body, bn_msg_t **reply, int timeout_ms)
{
    bn_msg_t *req = *body ? *body : bn_msg_new();
    *body = NULL;
    /* A Titanic request is stored as a new request each time it arrives: never resent. */
    int resend = strcmp(service, BN_SVC_TI_REQUEST) != 0 && (strcmp(service, BN_SVC_SUBMIT) != 0 || s_auto_key(&req));
    int64_t start = bn_mono_ms();
    int rc = -1, tries = 0, refused = 0;
    for (;;) {
        bn_error_clear();
        int sent = 0;
        errno = 0;
        if (self->sock || s_connect(self) == 0) {
            bn_msg_t *m = bn_msg_new();
            for (size_t i = 0; i < bn_msg_size(req); i++)
                bn_msg_addframe(m, bn_msg_frame(req, i));
            sent = bn_client_send(self, service, &m) == 0;
            if (sent && bn_client_recv(self, reply, NULL, timeout_ms) == 0) {
                rc = 0;
                break;
            }
        }
        int e = errno;
        s_close(self); /* abandon the request: its late reply must not answer the next call */
        self->cur = (self->cur + 1) % self->neps;
        if (sent && e != ECONNREFUSED && !resend)
            break;
        refused += sent && e == ECONNREFUSED;
        if (++tries % self->neps == 0) {
            if (refused < self->neps || bn_mono_ms() - start >= timeout_ms)
                break;
            refused = 0;
            usleep(100000);
        }
    }
    bn_msg_destroy(&req);
    return rc;
}

int bn_client_call(bn_client_t *self, const char *service, bn_msg_t **body, bn_msg_t **reply, int timeout_ms)
{
    bn_error_clear(); /* a failure below is reported by its own code, a timeout by none */
    if (self->neps > 1)
        return s_call_list(self, service, body, reply, timeout_ms);
    if (bn_client_send(self, service, body) < 0)
        return -1;
    if (bn_client_recv(self, reply, NULL, timeout_ms) < 0) {
        int e = errno;
        s_connect(self); /* abandon the request: its late reply must not answer the next call */
        errno = e;
        return -1;
    }
    return 0;
}

void bn_client_next(bn_client_t *self)
{
    s_close(self);
    self->cur = (self->cur + 1) % self->neps;
}

const char *bn_client_endpoint(const bn_client_t *self)
{
    return s_endpoint(self);
}

void *bn_client_socket(bn_client_t *self)
{
    if (!self->sock)
        s_connect(self);
    return self->sock;
}
