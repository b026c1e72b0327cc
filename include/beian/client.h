/* beian client API — talk to beiand from C (the `beian` CLI is built on it).
 *
 * A client is one DEALER socket speaking MDP client (MDPC01). Calls are synchronous with a
 * timeout; after a timeout the socket is closed and reopened (Lazy Pirate), so a late reply to
 * an abandoned request can never be taken for the answer to the next one.
 * bn_client_send/bn_client_recv are the asynchronous pair for pipelining (batch submission):
 * every beian.* reply names its job, so replies can be matched to requests.
 *
 * Several brokers (issue #13): the endpoint may be a list, "EP,EP,...". bn_client_call then
 * fails over: a request goes to the endpoint that answered last (the first one at the
 * start); one that cannot be delivered there (ipc socket file missing, connection refused —
 * e.g. a killed broker) goes to the next endpoint at once, and one that was sent but got no
 * answer within timeout_ms (or whose connection dropped) too — for a submission only with an
 * idempotency key, so bn_client_call gives every beian.submit without options.key one,
 * "auto-<32 hex>": the brokers of a list share one store, which answers the resubmission with
 * the same job. Every other beian.* request is idempotent. docs/PROTOCOL.md "Several brokers".
 * A single endpoint behaves exactly as before (no failover, no automatic key). */
#ifndef BEIAN_CLIENT_H
#define BEIAN_CLIENT_H
#include <stddef.h>

typedef struct bn_msg bn_msg_t;
typedef struct bn_client bn_client_t;

/* endpoint: "ipc:///path/beiand.sock" or "tcp://host:port" (CURVE required for tcp), or a
 * comma-separated list of up to 16 of them (blanks around items ignored). NULL for an empty
 * list or an empty item (bn_error bad_endpoint). */
bn_client_t *bn_client_new(const char *endpoint);
void bn_client_destroy(bn_client_t **self_p);
/* CURVE for tcp: the broker's public key (Z85, 40 chars) and this client's certificate file
 * (as written by `beian keygen`: NAME.key_secret). Call before the first request. With a list,
 * the one key is every tcp endpoint's: the brokers of a list share one server certificate. */
int bn_client_set_curve(bn_client_t *self, const char *server_public_z85, const char *cert_secret_path);

/* Send body (consumed, *body set to NULL) to service. */
int bn_client_send(bn_client_t *self, const char *service, bn_msg_t **body);
/* Receive one reply: *reply gets the body frames after the service name, service_out (>= 256
 * bytes, may be NULL) the service. Returns 0, or -1 on timeout (errno ETIMEDOUT), a
 * malformed reply (EPROTO), or a failed CURVE handshake (EACCES; bn_error auth_refused: the
 * broker does not allow this client's key, handshake_failed: e.g. a wrong server key). */
int bn_client_recv(bn_client_t *self, bn_msg_t **reply, char *service_out, int timeout_ms);
/* The underlying ZeroMQ socket, for zmq_poll over several clients (NULL before first use). */
void *bn_client_socket(bn_client_t *self);
/* Give up on the current endpoint (its socket is closed; an asynchronous request sent there is
 * abandoned): the next request goes to the next endpoint of the list, or to the same one,
 * reconnected, for a single endpoint. For the bn_client_send/recv pair, which does not fail
 * over by itself. */
void bn_client_next(bn_client_t *self);
/* The endpoint in use (of a list: the one that answered last). */
const char *bn_client_endpoint(const bn_client_t *self);

/* send + recv; on timeout the socket is reset. Clears bn_error first, so after -1 an error
 * code is set exactly when the cause is known: endpoint_missing (an ipc socket file that does
 * not exist, checked at the client's first connect), auth_refused, handshake_failed,
 * tcp_requires_curve; none on a plain timeout. With a list: failover as above; after -1 the
 * code is the last endpoint's (endpoint_missing at every endpoint is endpoint_missing). */
int bn_client_call(bn_client_t *self, const char *service, bn_msg_t **body, bn_msg_t **reply, int timeout_ms);

#endif
