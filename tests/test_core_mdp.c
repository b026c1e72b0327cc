/* The MDP codec: every valid message shape parses to the right frame indices, every malformed
 * one is refused with a reason; wrap/parse round-trip; frame caps while receiving. */
#include "bn_test.h"
#include "core/bn_mdp.h"
#include "core/bn_msg.h"

#include <assert.h>
#include <errno.h>
#include <beian/proto.h>
#include <stdio.h>
#include <string.h>


static bn_msg_t *msg(int n, const char **frames, const size_t *lens)
{
    bn_msg_t *m = bn_msg_new();
    for (int i = 0; i < n; i++)
        bn_msg_addmem(m, frames[i], lens ? lens[i] : strlen(frames[i]));
    return m;
}

static int parses(int routed, int n, const char **frames, bn_mdp_t *out)
{
    bn_msg_t *m = msg(n, frames, NULL);
    const char *why;
    int rc = bn_mdp_parse(m, routed, out, &why);
    if (rc < 0)
        CHECK(why && *why, "a refusal carries a reason");
    bn_msg_destroy(&m);
    return rc == 0;
}

int main(void)
{
    bn_mdp_t p;
    /* Client request on the broker side. */
    const char *c1[] = {"ID", "", "MDPC01", "echo", "a", "b"};
    CHECK(parses(1, 6, c1, &p) && !p.worker && p.service == 3 && p.body == 4, "client request");
    const char *c2[] = {"ID", "", "MDPC01", "echo"};
    CHECK(parses(1, 4, c2, &p) && p.body == 4, "client request with empty body");
    /* Worker commands. */
    const char *w1[] = {"ID", "", "MDPW01", "\x01", "beian.quality"};
    CHECK(parses(1, 5, w1, &p) && p.worker && p.command == BN_MDPW_READY && p.service == 4, "READY");
    CHECK(p.body == 5, "READY without the refs extension has no body");
    const char *w1r[] = {"ID", "", "MDPW01", "\x01", "beian.quality", BN_READY_REFS};
    CHECK(parses(1, 6, w1r, &p) && p.command == BN_MDPW_READY && p.service == 4 && p.body == 5,
          "READY with the refs extension frame");
    const char *w1x[] = {"ID", "", "MDPW01", "\x01", "beian.quality", BN_READY_REFS, "more"};
    CHECK(!parses(1, 7, w1x, &p), "READY with the extension and more is refused");
    const char *w2[] = {"ID", "", "MDPW01", "\x03", "Tabc.1", "", "body"};
    CHECK(parses(1, 7, w2, &p) && p.command == BN_MDPW_REPLY && p.address == 4 && p.body == 6, "REPLY");
    const char *w3[] = {"ID", "", "MDPW01", "\x04"};
    CHECK(parses(1, 4, w3, &p) && p.command == BN_MDPW_HEARTBEAT, "HEARTBEAT");
    const char *w4[] = {"", "MDPW01", "\x02", "client", "", "x"};
    CHECK(parses(0, 6, w4, &p) && p.command == BN_MDPW_REQUEST && p.address == 3 && p.body == 5, "REQUEST on a DEALER");
    /* Malformed. */
    const char *bad[][8] = {
        {"ID"}, {"ID", "x"}, {"ID", ""}, {"ID", "", "MDPX01"}, {"ID", "", "MDPC01"}, {"ID", "", "MDPC01", ""},
        {"ID", "", "MDPC01", "has space"}, {"ID", "", "MDPW01"}, {"ID", "", "MDPW01", "\x09"},
        {"ID", "", "MDPW01", "\x01"}, {"ID", "", "MDPW01", "\x01", "svc", "extra"}, {"ID", "", "MDPW01", "\x03", "addr"},
        {"ID", "", "MDPW01", "\x03", "", ""}, {"ID", "", "MDPW01", "\x03", "addr", "nonempty"}, {"ID", "", "MDPW01", "\x04", "x"},
        {"ID", "", "MDPW01", "\x01\x01"},
    };
    int counts[] = {1, 2, 2, 3, 3, 4, 4, 3, 4, 4, 6, 5, 6, 6, 5, 4};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "malformed message %zu refused", i);
        CHECK(!parses(1, counts[i], bad[i], &p), what);
    }
    /* A service name of 256 bytes is refused, 255 accepted. */
    char longname[300];
    memset(longname, 'a', sizeof longname);
    longname[255] = '\0';
    const char *l1[] = {"ID", "", "MDPC01", longname};
    CHECK(parses(1, 4, l1, &p), "255-byte service accepted");
    longname[255] = 'a';
    longname[256] = '\0';
    CHECK(!parses(1, 4, l1, &p), "256-byte service refused");

    /* wrap → parse round trips. */
    bn_msg_t *m = bn_msg_new();
    bn_msg_addstr(m, "payload");
    zmq_msg_t id;
    zmq_msg_init_size(&id, 2);
    memcpy(zmq_msg_data(&id), "ab", 2);
    CHECK(bn_mdp_wrap_worker(m, &id, BN_MDPW_REQUEST, "Tx.1", 4) == 0, "wrap worker");
    const char *why;
    CHECK(bn_mdp_parse(m, 1, &p, &why) == 0 && p.command == BN_MDPW_REQUEST && bn_msg_streq(m, p.address, "Tx.1")
          && bn_msg_streq(m, p.body, "payload") && bn_msg_streq(m, 0, "ab"), "worker wrap/parse round trip");
    bn_msg_clear(m);
    bn_msg_addstr(m, "200");
    CHECK(bn_mdp_wrap_client(m, NULL, "beian.status") == 0 && bn_mdp_parse(m, 0, &p, &why) == 0
          && bn_msg_streq(m, p.service, "beian.status") && bn_msg_streq(m, p.body, "200"), "client wrap/parse round trip");
    zmq_msg_close(&id);
    bn_msg_destroy(&m);

    /* Receiving caps the frame count and drains the rest, staying in sync. */
    void *ctx = zmq_ctx_new();
    void *a = zmq_socket(ctx, ZMQ_PAIR), *b = zmq_socket(ctx, ZMQ_PAIR);
    zmq_bind(a, "inproc://t");
    zmq_connect(b, "inproc://t");
    for (int i = 0; i < 10; i++)
        zmq_send(b, "f", 1, i < 9 ? ZMQ_SNDMORE : 0);
    zmq_send(b, "next", 4, 0);
    m = bn_msg_new();
    CHECK(bn_msg_recv(m, a, 5, 0) < 0 && errno == EMSGSIZE && bn_msg_size(m) == 0, "too many frames refused");
    CHECK(bn_msg_recv(m, a, 5, 0) == 0 && bn_msg_size(m) == 1 && bn_msg_streq(m, 0, "next"), "next message intact");
    /* Shared frames: addframe does not copy payloads (same data pointer for large frames). */
    char big[4096];
    memset(big, 7, sizeof big);
    bn_msg_t *src = bn_msg_new(), *dst = bn_msg_new();
    bn_msg_addmem(src, big, sizeof big);
    bn_msg_addframe(dst, bn_msg_frame(src, 0));
    CHECK(bn_msg_data(dst, 0) == bn_msg_data(src, 0), "addframe shares the payload instead of copying");
    bn_msg_pushstr(dst, "head");
    CHECK(bn_msg_streq(dst, 0, "head") && bn_msg_len(dst, 1) == sizeof big, "push keeps order");
    bn_msg_drop(dst, 1);
    CHECK(bn_msg_size(dst) == 1 && bn_msg_len(dst, 0) == sizeof big, "drop");
    bn_msg_destroy(&src);
    bn_msg_destroy(&dst);
    CHECK(dst == NULL, "destroy nulls the pointer");
    bn_msg_destroy(&m);
    zmq_close(a);
    zmq_close(b);
    zmq_ctx_term(ctx);
    return bn_test_end("test_core_mdp");
}
