/* bd_hooks — signed webhooks from the store's outbox (docs/WEBHOOKS.md).
 *
 * The broker's thread owns the queue and every store write, as it owns everything else; one
 * delivery thread does the blocking part, the HTTP POSTs, and talks to it over an inproc PAIR
 * socket the broker polls. A finished job of a tenant with a webhook becomes an outbox row in
 * the transaction that finishes it, and is sent only after that transaction committed; an
 * attempt's outcome is written in a later turn. So every finish is delivered at least once
 * (a crash between the POST and the write of its outcome sends it again), never before it is
 * durable. A tenant's deliveries go one at a time, oldest first: a later one waits while an
 * earlier one is retried (in order per application, and per tenant). */
#ifndef BD_HOOKS_H
#define BD_HOOKS_H
#include <stdint.h>

#include "bd_store.h"
#include "core/bn_config.h"

typedef struct bd_hooks bd_hooks_t;

/* NULL without error when the configuration names no webhook (webhooks.tenants); NULL with
 * bn_error config_invalid for a bad URL or secret. Loads the pending deliveries. */
bd_hooks_t *bd_hooks_new(void *zmq_ctx, bd_store_t *store, const bn_config_t *cfg);
void bd_hooks_destroy(bd_hooks_t **self_p);
/* The broker polls it for ZMQ_POLLIN and then calls bd_hooks_handle. */
void *bd_hooks_socket(bd_hooks_t *self);
/* A job finished (in the current, uncommitted turn): queue its announcement if its tenant has a
 * webhook. */
void bd_hooks_job_finished(bd_hooks_t *self, const char *tenant, const char *job, const char *status,
                           const char *verdict);
/* After the turn committed: send what is due (deliveries queued this turn included). */
void bd_hooks_dispatch(bd_hooks_t *self);
/* The turn was rolled back: forget the queue, load it again from the store. */
void bd_hooks_reload(bd_hooks_t *self);
/* Outcomes from the delivery thread: recorded in the store (this turn). */
void bd_hooks_handle(bd_hooks_t *self);

/* The signature header's value: "sha256=" and HMAC-SHA256(secret, "<timestamp>.<body>") in hex
 * (out: >= 72 bytes). */
void bd_hooks_sign(const char *secret, const char *timestamp, const char *body, char *out);

#endif
