#include "core/bn_zsock.h"
#include "core/bn_error.h"

#include <beian/proto.h>
#include <ctype.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

static int64_t s_max_frame = BN_DEFAULT_MAX_FRAME;

void bn_zsock_set_max_frame(size_t bytes) { s_max_frame = (int64_t)bytes; }

static int s_curve(void *sock, int bind, const char *server_key, const char *cert_path)
{
    zcert_t *cert = cert_path ? zcert_load(cert_path) : NULL;
    if (!cert)
        return bn_error_set("tcp_requires_curve", "tcp endpoints need a CURVE certificate (%s)",
                            cert_path ? cert_path : "none given");
    int rc = 0;
    if (bind) {
        int one = 1;
        rc |= zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one);
        rc |= zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, zcert_secret_txt(cert), 40);
        rc |= zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, zcert_public_txt(cert), 40);
    } else {
        if (!server_key || strlen(server_key) != 40) {
            zcert_destroy(&cert);
            return bn_error_set("tcp_requires_curve", "tcp endpoints need the broker's public key");
        }
        rc |= zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_key, 40);
        rc |= zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, zcert_secret_txt(cert), 40);
        rc |= zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, zcert_public_txt(cert), 40);
    }
    zcert_destroy(&cert);
    return rc ? bn_error_set("curve_setup", "could not set CURVE keys") : 0;
}

void *bn_zsock_new(void *ctx, int type, const char *endpoint, int bind, const char *server_key,
                   const char *cert_path)
{
    return bn_zsock_new_id(ctx, type, endpoint, bind, server_key, cert_path, NULL);
}

void *bn_zsock_new_id(void *ctx, int type, const char *endpoint, int bind, const char *server_key,
                      const char *cert_path, const char *routing_id)
{
    void *sock = zmq_socket(ctx, type);
    if (!sock) {
        bn_error_set("socket", "zmq_socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    int zero = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &s_max_frame, sizeof s_max_frame);
    if (routing_id)
        zmq_setsockopt(sock, ZMQ_ROUTING_ID, routing_id, strlen(routing_id));
    if (strncmp(endpoint, "tcp://", 6) == 0 && s_curve(sock, bind, server_key, cert_path) < 0)
        goto err;
    if ((bind ? zmq_bind(sock, endpoint) : zmq_connect(sock, endpoint)) < 0) {
        bn_error_set("endpoint", "%s %s: %s", bind ? "bind" : "connect", endpoint, zmq_strerror(zmq_errno()));
        goto err;
    }
    return sock;
err:
    zmq_close(sock);
    return NULL;
}

int bn_zsock_endpoints(const char *list, char *out[BN_ZSOCK_MAX_ENDPOINTS])
{
    int n = 0;
    for (const char *p = list ? list : "";; p++) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        while (p < end && isspace((unsigned char)*p))
            p++;
        const char *q = end;
        while (q > p && isspace((unsigned char)q[-1]))
            q--;
        if (q == p || n == BN_ZSOCK_MAX_ENDPOINTS) {
            const char *why = q == p ? "an empty endpoint" : "more than 16 endpoints";
            while (n)
                free(out[--n]);
            return bn_error_set("bad_endpoint", "endpoint list '%s': %s (EP[,EP...])", list ? list : "", why);
        }
        out[n++] = strndup(p, (size_t)(q - p));
        if (!*end)
            return n;
        p = end;
    }
}
