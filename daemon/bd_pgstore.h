/* bd_pgstore — the broker's store in PostgreSQL (issue #13, docs/STORE.md "PostgreSQL"): any
 * number of beiand processes share one database; each is stateless apart from its sockets.
 *
 * bd_store dispatches to these functions when it was opened with a postgres:// URL; their
 * contracts are bd_store's (bd_store.h), with the differences named here. What the SQLite
 * store keeps in files lives in tables: a scan is a row of `blobs`, content-addressed (stored
 * once) and sealed like a spool file (bd_seal, record form, associated data "blob:<sha>").
 *
 * Ownership. Every broker registers a row in `brokers` and refreshes its `seen` time every
 * second; an unfinished job belongs to the broker that accepted it (jobs.owner), which runs it
 * from memory. A broker not seen for store.broker_lease_ms (default 10 s) is dead: the first
 * broker to notice takes its jobs and pending webhook deliveries in one transaction
 * (SELECT … FOR UPDATE SKIP LOCKED, so two brokers never take the same one) and deletes its row.
 * A job's final state is written only by its owner (UPDATE … WHERE owner = me): a broker that
 * was presumed dead and comes back finds its row gone, drops the jobs it held (their new owner
 * runs them) and registers afresh — a job ends once.
 *
 * Group commit as with SQLite: a turn's writes go into one transaction, acknowledged after
 * COMMIT returns (synchronous_commit as the server sets it: on, or remote_apply with a
 * synchronous standby). A lost connection rolls the turn back (nothing of it was acknowledged)
 * and the store reports itself unavailable until it reconnects; a broker never aborts for it.
 * Idempotency keys are a unique index: the same key at two brokers at once makes one job
 * (INSERT … ON CONFLICT DO NOTHING waits for the other's transaction, then sees its row).
 * LISTEN/NOTIFY: a finished job is announced on channel beian_done when its transaction commits,
 * so the other brokers answer their clients' long-polls and PUB subscribers at once. */
#ifndef BD_PGSTORE_H
#define BD_PGSTORE_H
#include "bd_seal.h"
#include "bd_store.h"

typedef struct bd_pg bd_pg_t;

/* Connect, run the schema migrations (versioned, under an advisory lock: brokers starting
 * together migrate once) and register this broker. NULL with bn_error store_unavailable (no
 * connection) or store (a failed migration). */
bd_pg_t *bd_pg_open(const char *url, const bn_config_t *cfg);
void bd_pg_close(bd_pg_t **self_p);
/* The key ids the database holds sealed records under (store_keys), for bd_store's key check;
 * then the keyring to seal with (borrowed), whose current id is recorded. */
int bd_pg_key_ids(bd_pg_t *self, uint32_t *ids, int max);
int bd_pg_set_keys(bd_pg_t *self, const bd_keyring_t *keys);
const char *bd_pg_broker_id(const bd_pg_t *self);

int bd_pg_blob_put(bd_pg_t *self, const void *data, size_t size, char sha_hex[65]);
int bd_pg_blob_map(bd_pg_t *self, const char *sha_hex, void **data, size_t *size);
int bd_pg_blob_check(bd_pg_t *self, const char *sha_hex);
void bd_pg_blob_ref(bd_pg_t *self, const char *job, const char *sha);
void bd_pg_blob_release(bd_pg_t *self, const char *job, const char *sha);

/* -1 with bn_error duplicate when another job holds (tenant, key): bd_pg_job_by_key names it. */
int bd_pg_job_insert(bd_pg_t *self, const char *id, const char *tenant, const char *key, int kind, int priority,
                     const char *spec, size_t spec_len, const char *blobs, int64_t created);
int bd_pg_job_by_key(bd_pg_t *self, const char *tenant, const char *key, char id_out[33]);
/* 0 written; 1 when the job is no longer this broker's (another took it over). */
int bd_pg_job_set_status(bd_pg_t *self, const char *id, const char *status, const char *result);
int bd_pg_job_cancel(bd_pg_t *self, const char *id, char *tenant, size_t cap);
int bd_pg_job_get(bd_pg_t *self, const char *id, const char *tenant, char **status, char **result, int *kind);
int bd_pg_job_list(bd_pg_t *self, const char *tenant, const char *status, int64_t cursor_created,
                   const char *cursor_id, int limit, bd_store_list_fn *fn, void *arg);
int bd_pg_job_delete(bd_pg_t *self, const char *id);
int bd_pg_task_done(bd_pg_t *self, const char *job_id, int seq, const char *reply);
int bd_pg_purge(bd_pg_t *self, int64_t before_ms);
/* This broker's unfinished jobs (after a rolled-back turn). */
int bd_pg_each_unfinished(bd_pg_t *self, bd_store_job_fn *fn, void *arg);
void bd_pg_announce(bd_pg_t *self, const char *id, const char *tenant, const char *status, const char *verdict);

int64_t bd_pg_hook_add(bd_pg_t *self, const char *tenant, const char *job, const char *body, int64_t now_ms);
void bd_pg_hook_update(bd_pg_t *self, int64_t seq, const char *state, int attempts, int64_t next_ms, int64_t done_ms,
                       const char *last_error);
int bd_pg_hook_each_pending(bd_pg_t *self, bd_store_hook_fn *fn, void *arg);
json_t *bd_pg_hook_list(bd_pg_t *self, const char *tenant, const char *state, int limit);
void bd_pg_stats(bd_pg_t *self, bd_store_stats_t *out);

int bd_pg_commit(bd_pg_t *self);
int bd_pg_dirty(const bd_pg_t *self);
int bd_pg_unavailable(const bd_pg_t *self);
int bd_pg_fd(const bd_pg_t *self);
int bd_pg_tick(bd_pg_t *self, bd_store_job_fn *fn, void *arg);
int bd_pg_notified(bd_pg_t *self, bd_store_notify_fn *fn, void *arg);

/* The connection, for bd_migrate's one transaction (nothing of this store's turn may be open). */
struct pg_conn;
struct pg_conn *bd_pg_conn(bd_pg_t *self);

#endif
