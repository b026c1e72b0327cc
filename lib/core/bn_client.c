#include <beian/client.h>
#include <beian/proto.h>

#include "core/bn_error.h"
#include "core/bn_mdp.h"
#include "core/bn_msg.h"
#include "core/bn_zsock.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct bn_client {
    void *ctx, *sock;
    void *monitor;          /* PAIR reading sock's handshake failures (CURVE only), or NULL */
    unsigned nmonitors;     /* makes each monitor's inproc endpoint unique */
    int connected;          /* a first connect succeeded: later ones are reconnects */
    char *endpoint;
    char server_key[41];
    char *cert_path;
};

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

static int s_connect(bn_client_t *self)
{
    if (self->monitor)
        zmq_close(self->monitor);
    self->monitor = NULL;
    if (self->sock)
        zmq_close(self->sock);
    self->sock = NULL;
    if (!self->connected && s_ipc_missing(self->endpoint) < 0)
        return -1;
    self->sock = bn_zsock_new(self->ctx, ZMQ_DEALER, self->endpoint, 0,
                              self->server_key[0] ? self->server_key : NULL, self->cert_path);
    if (!self->sock)
        return -1;
    self->connected = 1;
    /* A refused CURVE handshake (key not allowed, wrong server key) is otherwise silent: libzmq
     * reconnects and fails again and again, and the caller times out with "no answer". The
     * socket monitor reports each failure; bn_client_recv turns it into an error. Set up after
     * the connect: a failure before it is reported again at the next reconnect (100 ms). */
    if (self->server_key[0]) {
        char ep[64];
        snprintf(ep, sizeof ep, "inproc://bn-client-monitor-%p-%u", (void *)self, self->nmonitors++);
        if (zmq_socket_monitor(self->sock, ep, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                                                   | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) == 0) {
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

/* Read one monitor event: [uint16 event, uint32 value][endpoint]. Sets bn_error from it. */
static int s_handshake_failed(bn_client_t *self)
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
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        bn_error_set("auth_refused", "the broker at %s refused this client's CURVE key (ZAP status %u): its "
                     "public certificate (NAME.key from beian keygen) is not in the broker's --allow directory",
                     self->endpoint, (unsigned)value);
    else
        bn_error_set("handshake_failed", "the CURVE handshake with %s failed (%s): is --server-key the broker's "
                     "public key, and is a beian broker listening there?", self->endpoint,
                     event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? "protocol error" : "connection closed by the peer");
    errno = EACCES;
    return -1;
}

bn_client_t *bn_client_new(const char *endpoint)
{
    bn_client_t *self = calloc(1, sizeof *self);
    self->ctx = zmq_ctx_new();
    self->endpoint = strdup(endpoint);
    return self;
}

void bn_client_destroy(bn_client_t **self_p)
{
    if (self_p && *self_p) {
        bn_client_t *self = *self_p;
        if (self->monitor)
            zmq_close(self->monitor);
        if (self->sock)
            zmq_close(self->sock);
        zmq_ctx_term(self->ctx);
        free(self->endpoint);
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
    for (;;) {
        int rc = zmq_poll(items, self->monitor ? 2 : 1, timeout_ms);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (!(items[0].revents & ZMQ_POLLIN))
            return s_handshake_failed(self);
        break;
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

int bn_client_call(bn_client_t *self, const char *service, bn_msg_t **body, bn_msg_t **reply, int timeout_ms)
{
    bn_error_clear(); /* a failure below is reported by its own code, a timeout by none */
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

void *bn_client_socket(bn_client_t *self)
{
    if (!self->sock)
        s_connect(self);
    return self->sock;
}
