#include "bd_zap.h"
#include "core/bn_job.h"
#include "core/bn_log.h"
#include "core/bn_msg.h"

#include <czmq.h>
#include <string.h>

struct bd_zap {
    void *sock;
    zcertstore_t *certs;
};

bd_zap_t *bd_zap_new(void *ctx, const char *allow_dir)
{
    bd_zap_t *self = calloc(1, sizeof *self);
    self->sock = zmq_socket(ctx, ZMQ_REP);
    int zero = 0;
    zmq_setsockopt(self->sock, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(self->sock, "inproc://zeromq.zap.01") < 0) {
        bn_error("ZAP bind: %s", zmq_strerror(zmq_errno()));
        bd_zap_destroy(&self);
        return NULL;
    }
    /* zcertstore re-reads the directory on lookup, so adding a key needs no restart. */
    self->certs = zcertstore_new((char *)allow_dir);
    return self;
}

void bd_zap_destroy(bd_zap_t **self_p)
{
    if (self_p && *self_p) {
        if ((*self_p)->sock)
            zmq_close((*self_p)->sock);
        zcertstore_destroy(&(*self_p)->certs);
        free(*self_p);
        *self_p = NULL;
    }
}

void *bd_zap_socket(bd_zap_t *self) { return self->sock; }

/* ZMTP metadata: name-length (1 byte), name, value-length (4 bytes, network order), value. */
static size_t s_property(unsigned char *out, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    out[0] = (unsigned char)nl;
    memcpy(out + 1, name, nl);
    out[1 + nl] = (unsigned char)(vl >> 24);
    out[2 + nl] = (unsigned char)(vl >> 16);
    out[3 + nl] = (unsigned char)(vl >> 8);
    out[4 + nl] = (unsigned char)vl;
    memcpy(out + 5 + nl, value, vl);
    return 5 + nl + vl;
}

void bd_zap_handle(bd_zap_t *self)
{
    bn_msg_t *req = bn_msg_new();
    if (bn_msg_recv(req, self->sock, 16, ZMQ_DONTWAIT) < 0) {
        bn_msg_destroy(&req);
        return;
    }
    /* [version][request id][domain][address][identity][mechanism][credentials...] */
    const char *status = "400", *text = "denied";
    char key[41] = "", user[BN_TENANT_MAX + 1] = "";
    unsigned char meta[600];
    size_t meta_len = 0;
    if (bn_msg_size(req) >= 6 && bn_msg_streq(req, 0, "1.0")) {
        if (bn_msg_streq(req, 5, "CURVE") && bn_msg_size(req) >= 7 && bn_msg_len(req, 6) == 32) {
            zmq_z85_encode(key, (const uint8_t *)bn_msg_data(req, 6), 32);
            zcert_t *cert = self->certs ? zcertstore_lookup(self->certs, key) : NULL;
            /* The user id is the tenant the key is bound to: the broker scopes every job request
             * of this connection to it (ZeroMQ hands it over as the User-Id property of each
             * message). A key without one is bound to "default". */
            const char *tenant = cert && zcert_meta(cert, "tenant") ? zcert_meta(cert, "tenant") : "default";
            if (cert && !bn_job_tenant_ok(tenant)) {
                bn_warn("ZAP: refused CURVE key %.8s… (its certificate's tenant is not 1..%d characters "
                        "A-Z a-z 0-9 . _ -)", key, BN_TENANT_MAX);
            } else if (cert) {
                snprintf(user, sizeof user, "%s", tenant);
                status = "200";
                text = "OK";
                const char *services = zcert_meta(cert, "services");
                const char *name = zcert_meta(cert, "name");
                if (services && strlen(services) < 400)
                    meta_len += s_property(meta + meta_len, "X-Services", services);
                if (name && strlen(name) < 100)
                    meta_len += s_property(meta + meta_len, "X-Name", name);
            } else {
                bn_warn("ZAP: refused CURVE key %.8s… (not in the allow list)", key);
            }
        } else if (bn_msg_streq(req, 5, "NULL")) {
            /* Only ipc/inproc endpoints use NULL; tcp always uses CURVE (bn_zsock). */
            status = "200";
            text = "OK";
        }
    }
    bn_msg_t *rep = bn_msg_new();
    bn_msg_addstr(rep, "1.0");
    if (bn_msg_frame(req, 1))
        bn_msg_addframe(rep, bn_msg_frame(req, 1));
    else
        bn_msg_addstr(rep, "");
    bn_msg_addstr(rep, status);
    bn_msg_addstr(rep, text);
    bn_msg_addstr(rep, user);
    bn_msg_addmem(rep, meta, meta_len);
    bn_msg_send(rep, self->sock);
    bn_msg_destroy(&rep);
    bn_msg_destroy(&req);
}
