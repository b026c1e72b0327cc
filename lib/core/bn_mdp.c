#include "core/bn_mdp.h"

#include <beian/proto.h>
#include <string.h>

static int s_valid_service(bn_msg_t *m, size_t i)
{
    size_t n = bn_msg_len(m, i);
    const unsigned char *p = bn_msg_data(m, i);
    if (n == 0 || n > BN_MDP_MAX_SERVICE)
        return 0;
    for (size_t k = 0; k < n; k++)
        if (p[k] < 0x21 || p[k] > 0x7e)
            return 0;
    return 1;
}

int bn_mdp_parse(bn_msg_t *m, int routed, bn_mdp_t *out, const char **why)
{
    memset(out, 0, sizeof *out);
    out->routed = routed;
    size_t n = bn_msg_size(m), i = 0;
    *why = NULL;
    if (routed) {
        if (n < 1 || bn_msg_len(m, 0) == 0) { *why = "missing peer identity"; return -1; }
        i = 1;
    }
    if (i >= n || bn_msg_len(m, i) != 0) { *why = "missing empty delimiter frame"; return -1; }
    i++;
    if (i >= n) { *why = "missing protocol header"; return -1; }
    if (bn_msg_streq(m, i, BN_MDPC)) {
        i++;
        if (i >= n || !s_valid_service(m, i)) { *why = "missing or invalid service name"; return -1; }
        out->service = i;
        out->body = i + 1;
        return 0;
    }
    if (!bn_msg_streq(m, i, BN_MDPW)) { *why = "unknown protocol header"; return -1; }
    out->worker = 1;
    i++;
    if (i >= n || bn_msg_len(m, i) != 1) { *why = "missing worker command"; return -1; }
    out->command = *(const unsigned char *)bn_msg_data(m, i);
    i++;
    switch (out->command) {
    case BN_MDPW_READY:
        if (i >= n || !s_valid_service(m, i)) { *why = "READY without a valid service name"; return -1; }
        /* One extension frame is allowed: BN_READY_REFS (beian workers on this host). */
        if (i + 1 != n && !(i + 2 == n && bn_msg_streq(m, i + 1, BN_READY_REFS))) {
            *why = "READY with extra frames";
            return -1;
        }
        out->service = i;
        out->body = i + 1;
        return 0;
    case BN_MDPW_REQUEST:
    case BN_MDPW_REPLY:
        if (i + 1 >= n || bn_msg_len(m, i) == 0 || bn_msg_len(m, i + 1) != 0) {
            *why = "REQUEST/REPLY without client address and empty frame";
            return -1;
        }
        out->address = i;
        out->body = i + 2;
        return 0;
    case BN_MDPW_HEARTBEAT:
    case BN_MDPW_DISCONNECT:
        if (i != n) { *why = "HEARTBEAT/DISCONNECT with extra frames"; return -1; }
        out->body = n;
        return 0;
    default:
        *why = "unknown worker command";
        return -1;
    }
}

int bn_mdp_wrap_client(bn_msg_t *msg, const zmq_msg_t *identity, const char *service)
{
    if (bn_msg_pushstr(msg, service) || bn_msg_pushstr(msg, BN_MDPC) || bn_msg_pushmem(msg, "", 0))
        return -1;
    if (identity && bn_msg_pushmem(msg, zmq_msg_data((zmq_msg_t *)identity), zmq_msg_size((zmq_msg_t *)identity)))
        return -1;
    return 0;
}

int bn_mdp_wrap_worker(bn_msg_t *msg, const zmq_msg_t *identity, int command,
                       const void *address, size_t address_len)
{
    unsigned char cmd = (unsigned char)command;
    if (address && (bn_msg_pushmem(msg, "", 0) || bn_msg_pushmem(msg, address, address_len)))
        return -1;
    if (bn_msg_pushmem(msg, &cmd, 1) || bn_msg_pushstr(msg, BN_MDPW) || bn_msg_pushmem(msg, "", 0))
        return -1;
    if (identity && bn_msg_pushmem(msg, zmq_msg_data((zmq_msg_t *)identity), zmq_msg_size((zmq_msg_t *)identity)))
        return -1;
    return 0;
}

const char *bn_mdp_command_name(int command)
{
    static const char *names[] = {"?", "READY", "REQUEST", "REPLY", "HEARTBEAT", "DISCONNECT"};
    return command >= 1 && command <= 5 ? names[command] : "?";
}
