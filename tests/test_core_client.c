/* The client library with several brokers (issue #13): the endpoint-list parser; failover
 * past a missing socket file, a socket file nobody listens on (a killed broker's), a broker
 * that drops the connection and one that never answers; the automatic idempotency key that
 * makes a resent submission safe, and no resend of a submission that cannot have one; a
 * single endpoint as before. The "brokers" are ROUTER sockets in threads of this test.
 * Calls that must fail over because of a dropped or refused connection use an infinite
 * timeout: without the detection they would never return (ctest's timeout fails them). */
#include "bn_test.h"
#include "core/bn_error.h"
#include "core/bn_msg.h"
#include "core/bn_zsock.h"

#include <beian/client.h>
#include <beian/proto.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

enum { ANSWER, SILENT, DROP };

typedef struct {
    char ep[300];
    int mode;
    void *sock;
    pthread_t th;
    atomic_int stop, got;
    pthread_mutex_t mu;
    char spec[1024], blob[64]; /* the last request's first two body frames */
} server_t;

static void *s_ctx;
static char s_dir[] = "/tmp/bn-client-test-XXXXXX";

static void s_frame(bn_msg_t *m, size_t i, char *out, size_t cap)
{
    size_t n = i < bn_msg_size(m) ? bn_msg_len(m, i) : 0;
    n = n < cap - 1 ? n : cap - 1;
    memcpy(out, n ? bn_msg_data(m, i) : "", n);
    out[n] = '\0';
}

static void *s_serve(void *arg)
{
    server_t *s = arg;
    while (!s->stop) {
        zmq_pollitem_t it = {s->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 20) <= 0)
            continue;
        bn_msg_t *m = bn_msg_new();
        if (bn_msg_recv(m, s->sock, 64, 0) == 0) { /* [id]["" ][MDPC01][service][body...] */
            pthread_mutex_lock(&s->mu);
            s_frame(m, 4, s->spec, sizeof s->spec);
            s_frame(m, 5, s->blob, sizeof s->blob);
            pthread_mutex_unlock(&s->mu);
            s->got++;
            if (s->mode == ANSWER) {
                bn_msg_t *r = bn_msg_new();
                bn_msg_addframe(r, bn_msg_frame(m, 0));
                bn_msg_addstr(r, "");
                bn_msg_addstr(r, "MDPC01");
                bn_msg_addframe(r, bn_msg_frame(m, 3));
                bn_msg_addstr(r, "200");
                bn_msg_addstr(r, s->spec);
                bn_msg_send(r, s->sock);
                bn_msg_destroy(&r);
            } else if (s->mode == DROP) {
                zmq_close(s->sock); /* the broker goes away holding the request */
                s->sock = NULL;
                bn_msg_destroy(&m);
                break;
            }
        }
        bn_msg_destroy(&m);
    }
    if (s->sock)
        zmq_close(s->sock);
    s->sock = NULL;
    return NULL;
}

static server_t *server_start(const char *name, int mode)
{
    server_t *s = calloc(1, sizeof *s);
    snprintf(s->ep, sizeof s->ep, "ipc://%s/%s", s_dir, name);
    s->mode = mode;
    pthread_mutex_init(&s->mu, NULL);
    s->sock = zmq_socket(s_ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(s->sock, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(s->sock, s->ep) < 0)
        CHECK(0, "bind %s", s->ep);
    pthread_create(&s->th, NULL, s_serve, s);
    return s;
}

static void server_stop(server_t **s_p)
{
    server_t *s = *s_p;
    s->stop = 1;
    pthread_join(s->th, NULL);
    pthread_mutex_destroy(&s->mu);
    free(s);
    *s_p = NULL;
}

/* A socket file nobody listens on, as a broker killed with -9 leaves it: connect is refused. */
static void stale_socket(const char *name, char *ep, size_t cap)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", s_dir, name);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "bind %s", sa.sun_path);
    close(fd);
    snprintf(ep, cap, "ipc://%s", sa.sun_path);
}

/* A call with string frames; returns the reply's second frame (the echoed spec) or NULL. */
static char *call(bn_client_t *c, const char *service, const char *f1, const char *f2, int timeout_ms)
{
    bn_msg_t *req = bn_msg_new(), *rep = NULL;
    bn_msg_addstr(req, f1);
    if (f2)
        bn_msg_addstr(req, f2);
    if (bn_client_call(c, service, &req, &rep, timeout_ms) < 0)
        return NULL;
    char *body = bn_msg_size(rep) > 1 ? bn_msg_strdup(rep, 1) : strdup("");
    bn_msg_destroy(&rep);
    return body;
}

/* options.key of a JSON spec (malloc'd), or NULL. */
static char *key_of(const char *spec)
{
    json_t *j = json_loads(spec, 0, NULL);
    const char *k = json_string_value(json_object_get(json_object_get(j, "options"), "key"));
    char *out = k ? strdup(k) : NULL;
    json_decref(j);
    return out;
}

static int is_auto_key(const char *k)
{
    if (!k || strlen(k) != 37 || strncmp(k, "auto-", 5) != 0)
        return 0;
    return strspn(k + 5, "0123456789abcdef") == 32;
}

static void test_parser(void)
{
    char *eps[BN_ZSOCK_MAX_ENDPOINTS];
    CHECK(bn_zsock_endpoints("ipc:///a/beiand.sock", eps) == 1 && !strcmp(eps[0], "ipc:///a/beiand.sock"));
    free(eps[0]);
    CHECK(bn_zsock_endpoints(" ipc:///a.sock , tcp://h:5555,ipc:///b.sock ", eps) == 3);
    CHECK(!strcmp(eps[0], "ipc:///a.sock") && !strcmp(eps[1], "tcp://h:5555") && !strcmp(eps[2], "ipc:///b.sock"),
          "blanks around items are dropped");
    for (int i = 0; i < 3; i++)
        free(eps[i]);
    const char *bad[] = {"", " ", "a,,b", "a,", ",a", "a, ,b", NULL};
    for (int i = 0; bad[i]; i++) {
        bn_error_clear();
        CHECK(bn_zsock_endpoints(bad[i], eps) == -1 && !strcmp(bn_error_code(), "bad_endpoint"), "'%s' refused", bad[i]);
    }
    CHECK(bn_zsock_endpoints(NULL, eps) == -1);
    char many[400] = "";
    for (int i = 0; i < 17; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%sipc:///s%d", i ? "," : "", i);
    CHECK(bn_zsock_endpoints(many, eps) == -1, "17 endpoints refused");
    *strrchr(many, ',') = '\0';
    CHECK(bn_zsock_endpoints(many, eps) == 16, "16 endpoints taken");
    for (int i = 0; i < 16; i++)
        free(eps[i]);
    bn_error_clear();
    CHECK(bn_client_new("ipc:///a.sock,,ipc:///b.sock") == NULL && !strcmp(bn_error_code(), "bad_endpoint"),
          "bn_client_new refuses a list with an empty item");
}

int main(void)
{
    if (!mkdtemp(s_dir)) {
        perror("mkdtemp");
        return 1;
    }
    s_ctx = zmq_ctx_new();
    test_parser();

    char stale[300], list[1400];
    stale_socket("stale.sock", stale, sizeof stale);
    server_t *live = server_start("live.sock", ANSWER);

    /* Missing socket file, then a killed broker's, then a live broker: answered by the live
     * one, which the client then keeps. */
    snprintf(list, sizeof list, "ipc://%s/missing.sock,%s,%s", s_dir, stale, live->ep);
    bn_client_t *c = bn_client_new(list);
    CHECK(c != NULL);
    char *body = call(c, BN_SVC_STATUS, "0123", NULL, -1);
    CHECK(body && !strcmp(body, "0123"), "status answered past a missing and a refusing endpoint");
    CHECK(!strcmp(bn_client_endpoint(c), live->ep), "the client remembers the endpoint that answered");
    free(body);
    int before = live->got;
    body = call(c, BN_SVC_STATUS, "4567", NULL, -1);
    CHECK(body && live->got == before + 1 && !strcmp(bn_client_endpoint(c), live->ep), "the next call starts there");
    free(body);

    /* A submission without a key gets one; the images are sent as they were; a caller's key stays. */
    body = call(c, BN_SVC_SUBMIT, "{\"documents\":[{\"type\":\"id-card\",\"blob\":1}]}", "IMG", -1);
    char *k1 = body ? key_of(body) : NULL;
    CHECK(is_auto_key(k1), "automatic key: %s", k1 ? k1 : "(none)");
    pthread_mutex_lock(&live->mu);
    CHECK(!strcmp(live->blob, "IMG"), "the image frame arrives intact");
    pthread_mutex_unlock(&live->mu);
    free(body);
    body = call(c, BN_SVC_SUBMIT, "{\"documents\":[],\"options\":{\"tenant\":\"t\"}}", NULL, -1);
    char *k2 = body ? key_of(body) : NULL;
    CHECK(k1 && is_auto_key(k2) && strcmp(k1, k2) != 0, "a key per submission");
    json_t *spec = body ? json_loads(body, 0, NULL) : NULL;
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(spec, "options"), "tenant")) ?: "", "t"),
          "the other options are kept");
    json_decref(spec);
    free(body);
    free(k1);
    free(k2);
    body = call(c, BN_SVC_SUBMIT, "{\"documents\":[],\"options\":{\"key\":\"mine\"}}", NULL, -1);
    char *k3 = body ? key_of(body) : NULL;
    CHECK(k3 && !strcmp(k3, "mine"), "the caller's key is kept");
    free(k3);
    free(body);
    bn_client_destroy(&c);

    /* A silent broker: after the timeout the request goes on, a submission with the same key. */
    server_t *silent = server_start("silent.sock", SILENT);
    snprintf(list, sizeof list, "%s,%s", silent->ep, live->ep);
    c = bn_client_new(list);
    body = call(c, BN_SVC_SUBMIT, "{\"documents\":[]}", NULL, 300);
    k1 = body ? key_of(body) : NULL;
    pthread_mutex_lock(&silent->mu);
    k2 = silent->got ? key_of(silent->spec) : NULL;
    pthread_mutex_unlock(&silent->mu);
    CHECK(is_auto_key(k1) && k2 && !strcmp(k1, k2), "the silent broker and the next got the same key");
    free(k1);
    free(k2);
    free(body);
    bn_client_destroy(&c);
    /* A spec that cannot carry a key is not resent: it could make two jobs. */
    c = bn_client_new(list);
    before = live->got;
    body = call(c, BN_SVC_SUBMIT, "[]", NULL, 300);
    CHECK(body == NULL && live->got == before, "a keyless submission is not sent to a second broker");
    bn_client_destroy(&c);
    server_stop(&silent);

    /* A broker that dies holding the request: resent at once, whatever the timeout. */
    server_t *drop = server_start("drop.sock", DROP);
    snprintf(list, sizeof list, "%s,%s", drop->ep, live->ep);
    c = bn_client_new(list);
    body = call(c, BN_SVC_RESULT, "0123", "wait", -1);
    CHECK(body && drop->got == 1 && !strcmp(body, "0123"), "a dropped connection fails over to the next broker");
    free(body);
    bn_client_destroy(&c);
    server_stop(&drop);

    /* Every endpoint missing: endpoint_missing at once, as for one endpoint. */
    snprintf(list, sizeof list, "ipc://%s/none1.sock,ipc://%s/none2.sock", s_dir, s_dir);
    c = bn_client_new(list);
    CHECK(call(c, BN_SVC_STATUS, "0123", NULL, -1) == NULL && !strcmp(bn_error_code(), "endpoint_missing"),
          "a list of missing sockets → endpoint_missing");
    bn_client_destroy(&c);

    /* One endpoint: as before — no automatic key, endpoint_missing. */
    c = bn_client_new(live->ep);
    body = call(c, BN_SVC_SUBMIT, "{\"documents\":[]}", NULL, 5000);
    k1 = body ? key_of(body) : (char *)"x";
    CHECK(body && k1 == NULL, "a single endpoint: the spec is sent as it is");
    free(body);
    bn_client_destroy(&c);
    snprintf(list, sizeof list, "ipc://%s/none1.sock", s_dir);
    c = bn_client_new(list);
    CHECK(call(c, BN_SVC_STATUS, "0123", NULL, 1000) == NULL && !strcmp(bn_error_code(), "endpoint_missing"));
    bn_client_destroy(&c);

    server_stop(&live);
    zmq_ctx_term(s_ctx);
    unlink(stale + 6);
    rmdir(s_dir);
    return bn_test_end("test_core_client");
}
