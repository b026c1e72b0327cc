#include <beian/client.h>
#include <beian/proto.h>

#include "core/bn_mdp.h"
#include "core/bn_msg.h"
#include "core/bn_zsock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct bn_client {
    void *ctx, *sock;
    char *endpoint;
    char server_key[41];
    char *cert_path;
};

static int s_connect(bn_client_t *self)
{
    if (self->sock)
        zmq_close(self->sock);
    self->sock = bn_zsock_new(self->ctx, ZMQ_DEALER, self->endpoint, 0,
                              self->server_key[0] ? self->server_key : NULL, self->cert_path);
    return self->sock ? 0 : -1;
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
    zmq_pollitem_t item = {self->sock, 0, ZMQ_POLLIN, 0};
    for (;;) {
        int rc = zmq_poll(&item, 1, timeout_ms);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
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
