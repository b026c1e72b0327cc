/* bn_mdp — Majordomo Protocol 0.1 codec (rfc.zeromq.org specs 7/8), the one codec that broker,
 * workers and clients share.
 *
 * Parsing validates every frame and returns a reason on failure; the caller drops and logs a
 * malformed message (never crashes). Parsing never copies: it records frame indices into the
 * bn_msg_t it was given. */
#ifndef BN_MDP_H
#define BN_MDP_H
#include "core/bn_msg.h"

typedef struct {
    int worker;     /* 1: MDPW01, 0: MDPC01 */
    int command;    /* worker command byte; 0 for client messages */
    int routed;     /* message came from a ROUTER: frame 0 is the peer identity */
    size_t service; /* index of the service frame (client messages, READY), or 0 if none */
    size_t address; /* REQUEST/REPLY: index of the client-address frame, 0 if none */
    size_t body;    /* index of the first body frame (== bn_msg_size when empty) */
} bn_mdp_t;

#define BN_MDP_MAX_SERVICE 255

/* Parse a message. routed = 1 on the broker (ROUTER: [identity][""][header]...), 0 on a DEALER
 * (worker or client: [""][header]...). Returns 0 or -1 with *why set to a static reason. */
int bn_mdp_parse(bn_msg_t *msg, int routed, bn_mdp_t *out, const char **why);

/* Prepend the envelope of a client request/reply: [""][MDPC01][service] (+ [identity] first when
 * identity != NULL, for a ROUTER sending to that peer). */
int bn_mdp_wrap_client(bn_msg_t *msg, const zmq_msg_t *identity, const char *service);
/* Prepend a worker envelope: [""][MDPW01][command] (+ [address][""] after the command when
 * address != NULL, + [identity] first when identity != NULL). */
int bn_mdp_wrap_worker(bn_msg_t *msg, const zmq_msg_t *identity, int command,
                       const void *address, size_t address_len);

const char *bn_mdp_command_name(int command);

#endif
