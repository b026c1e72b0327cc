#include "bd_metrics.h"
#include "core/bn_error.h"
#include "core/bn_msg.h"

#include <arpa/inet.h>
#include <beian/client.h>
#include <beian/proto.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BD_METRICS_TIMEOUT_MS 5000

struct bd_metrics {
    struct MHD_Daemon *httpd;
    char *endpoint;
};

static enum MHD_Result s_answer(struct MHD_Connection *c, unsigned status, const char *type, const void *data,
                                size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* One connection to the broker per scrape: scrapes are seconds apart, and nothing is shared
 * between libmicrohttpd's thread and anything else. */
static enum MHD_Result s_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    bd_metrics_t *self = cls;
    if (strcmp(url, "/metrics") != 0)
        return s_answer(c, 404, "text/plain", "not found: GET /metrics\n", 24);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return s_answer(c, 405, "text/plain", "method not allowed\n", 19);
    bn_client_t *client = bn_client_new(self->endpoint);
    bn_msg_t *req = bn_msg_new(), *rep = NULL;
    enum MHD_Result rc;
    if (client && bn_client_call(client, BN_SVC_METRICS, &req, &rep, BD_METRICS_TIMEOUT_MS) == 0 && bn_msg_size(rep) > 1
        && bn_msg_len(rep, 0) == 3 && memcmp(bn_msg_data(rep, 0), BN_ST_OK, 3) == 0)
        rc = s_answer(c, 200, "text/plain; version=0.0.4; charset=utf-8", bn_msg_data(rep, 1), bn_msg_len(rep, 1));
    else
        rc = s_answer(c, 503, "text/plain", "the broker did not answer beian.metrics\n", 40);
    bn_msg_destroy(&req);
    bn_msg_destroy(&rep);
    bn_client_destroy(&client);
    return rc;
}

bd_metrics_t *bd_metrics_new(const char *listen, const char *endpoint)
{
    char host[256];
    unsigned port = 0;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (sscanf(listen, "%255[^:]:%u", host, &port) != 2 || port == 0 || port > 65535
        || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        bn_error_set("config_invalid", "--metrics wants IPv4:PORT, got '%s'", listen);
        return NULL;
    }
    sa.sin_port = htons((uint16_t)port);
    bd_metrics_t *self = calloc(1, sizeof *self);
    self->endpoint = strdup(endpoint);
    self->httpd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                                   s_handler, self, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                   MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!self->httpd) {
        bn_error_set("metrics_listen", "cannot listen on %s", listen);
        bd_metrics_destroy(&self);
    }
    return self;
}

void bd_metrics_destroy(bd_metrics_t **self_p)
{
    bd_metrics_t *self = *self_p;
    if (!self)
        return;
    if (self->httpd)
        MHD_stop_daemon(self->httpd);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
}
