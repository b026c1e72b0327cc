/* Fuzz the wire codec: MDP 0.1 framing (bn_mdp_parse) as the broker (ROUTER) and a worker or
 * client (DEALER) see it, and what follows a parse on each side: the worker's task decoding
 * (bn_worker_decode_task) of a REQUEST body, and the broker's reading of a beian.submit /
 * titanic.request body ([service][spec JSON][blobs...]; the spec part is fuzz_spec's).
 *
 * Input: byte 0 picks the side (bit 0: routed); the rest is frames separated by '\n' (an empty
 * line is an empty frame), so seeds are readable text. A message that parses must survive a
 * round trip through the wrap functions to the same parse: the two halves of the codec agree. */
#include "core/bn_error.h"
#include "core/bn_job.h"
#include "core/bn_mdp.h"
#include "core/bn_msg.h"
#include "core/bn_worker.h"

#include <beian/proto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAMES 64 /* the broker caps a message's frames too (bn_msg_recv max_frames) */

static bn_msg_t *s_frames(const uint8_t *p, size_t n)
{
    bn_msg_t *m = bn_msg_new();
    size_t start = 0;
    for (size_t i = 0; i <= n && bn_msg_size(m) < MAX_FRAMES; i++)
        if (i == n || p[i] == '\n') {
            bn_msg_addmem(m, p + start, i - start);
            start = i + 1;
        }
    return m;
}

/* A copy of frames [from, end) of m. */
static bn_msg_t *s_tail(bn_msg_t *m, size_t from)
{
    bn_msg_t *t = bn_msg_new();
    for (size_t i = from; i < bn_msg_size(m); i++)
        bn_msg_addmem(t, bn_msg_data(m, i), bn_msg_len(m, i));
    return t;
}

/* Re-wrap the parsed message's body with its own envelope and parse again. */
static void s_roundtrip(bn_msg_t *m, const bn_mdp_t *p)
{
    bn_msg_t *w = s_tail(m, p->body);
    size_t nbody = bn_msg_size(w);
    zmq_msg_t ident;
    zmq_msg_init_size(&ident, p->routed ? bn_msg_len(m, 0) : 0);
    if (p->routed)
        memcpy(zmq_msg_data(&ident), bn_msg_data(m, 0), bn_msg_len(m, 0));
    char *service = p->service ? bn_msg_strdup(m, p->service) : NULL;
    int rc;
    if (!p->worker)
        rc = bn_mdp_wrap_client(w, p->routed ? &ident : NULL, service);
    else if (p->command == BN_MDPW_READY) {
        rc = bn_msg_pushstr(w, service);
        rc = rc ? rc : bn_mdp_wrap_worker(w, p->routed ? &ident : NULL, p->command, NULL, 0);
    } else
        rc = bn_mdp_wrap_worker(w, p->routed ? &ident : NULL, p->command,
                                p->address ? bn_msg_data(m, p->address) : NULL,
                                p->address ? bn_msg_len(m, p->address) : 0);
    bn_mdp_t q;
    const char *why;
    if (rc != 0 || bn_mdp_parse(w, p->routed, &q, &why) != 0)
        abort(); /* the codec refused what it wrote */
    if (q.worker != p->worker || q.command != p->command || bn_msg_size(w) - q.body != nbody
        || (service && !bn_msg_streq(w, q.service, service)))
        abort(); /* ... or read it back differently */
    free(service);
    zmq_msg_close(&ident);
    bn_msg_destroy(&w);
}

/* What the broker does with a submission body before any store: the spec frame. */
static void s_submit_body(bn_msg_t *m, size_t first, int titanic)
{
    if (titanic) {
        if (first >= bn_msg_size(m) || !bn_msg_streq(m, first, BN_SVC_SUBMIT))
            return;
        first++;
    }
    if (first >= bn_msg_size(m))
        return;
    json_error_t jerr;
    json_t *spec = json_loadb(bn_msg_data(m, first), bn_msg_len(m, first), 0, &jerr);
    if (spec && bn_job_spec_validate(spec, bn_msg_size(m) - first - 1) == 0) {
        bn_job_profile_check(spec, NULL);
        bn_job_options_check(spec, NULL);
    }
    json_decref(spec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int routed = data[0] & 1;
    bn_msg_t *m = s_frames(data + 1, size - 1);
    bn_mdp_t p;
    const char *why;
    if (bn_mdp_parse(m, routed, &p, &why) == 0) {
        s_roundtrip(m, &p);
        if (p.worker && p.command == BN_MDPW_REQUEST) {
            bn_msg_t *body = s_tail(m, p.body);
            bn_task_t task;
            json_t *header;
            if (bn_worker_decode_task(body, NULL, &task, &header) == 0) {
                /* the task points into the body's frames: every byte must be readable */
                volatile uint8_t x = task.image_size ? task.image[task.image_size - 1] : 0;
                (void)x;
            }
            json_decref(header);
            bn_msg_destroy(&body);
        } else if (!p.worker && p.service) {
            if (bn_msg_streq(m, p.service, BN_SVC_SUBMIT))
                s_submit_body(m, p.body, 0);
            else if (bn_msg_streq(m, p.service, BN_SVC_TI_REQUEST))
                s_submit_body(m, p.body, 1);
        }
    }
    bn_error_clear();
    bn_msg_destroy(&m);
    return 0;
}
