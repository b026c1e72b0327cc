/* bd_store — the broker's durable store: jobs and results in SQLite, image blobs as
 * content-addressed files in a spool directory.
 *
 * Why files and not SQLite blobs: multi-MB blobs in SQLite are rewritten through the WAL and
 * checkpointed again; a file is written once. Why content-addressed: a resubmission or a
 * duplicate page costs nothing, and a blob's name verifies its bytes.
 *
 * Durability protocol (group commit, one writer: the broker's event loop):
 *   1. during a loop turn, writes go into an open SQLite transaction and blobs into spool/tmp/
 *   2. bd_store_commit(): syncfs() the spool (one flush for every staged blob, instead of one
 *      fsync per file), rename each into spool/, fsync the spool directory, COMMIT (WAL,
 *      synchronous=FULL fsyncs the log)
 *   3. only then does the broker send the acknowledgements of that turn.
 * A failed fsync aborts the process: acking what may be lost is worse than stopping (after a
 * failed fsync the page cache state is unknowable — see "fsyncgate"). A write that fails for
 * want of space (ENOSPC, EDQUOT, EFBIG, SQLITE_FULL) does not: the turn is rolled back, the
 * store reports itself full (bd_store_full) and the broker refuses new work until there is
 * room again (docs/STORE.md "Disk full").
 *
 * At rest, the personal fields of the database (spec, task replies, results) and every spool
 * file are sealed with the store key (bd_seal, docs/STORE.md); a spool file's name stays the
 * sha256 of its plaintext.
 * In memory mode (durable = 0) SQLite is :memory: and nothing is written to disk; the broker keeps
 * the payloads it received, large ones in tmpfs files (bd_store_shm_put). */
#ifndef BD_STORE_H
#define BD_STORE_H
#include "core/bn_config.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bd_store bd_store_t;

/* arena_cap: memory mode's largest payload file (bd_arena), e.g. the broker's max_bytes.
 * cfg (may be NULL): store.key_file, store.old_key_files, store.min_free_bytes (docs/CONFIG.md).
 * A durable store refuses to open (NULL, bn_error) when beian.db fails PRAGMA quick_check
 * (store_db_corrupt), when it is empty or missing but the spool holds files (store_db_empty),
 * or when its records are sealed with a key that is not loaded (store_key_missing,
 * store_key_mismatch). At open, plaintext records and spool files (written before sealing)
 * and those sealed with an old key are sealed again with the current key. */
bd_store_t *bd_store_open(const char *dir, int durable, uint64_t arena_cap, const bn_config_t *cfg);
/* The PostgreSQL store (bd_pgstore.h, docs/STORE.md "PostgreSQL"): url is a libpq connection
 * URI (postgres://…); dir holds the store key as above (store.key_file), which every broker
 * sharing the database must have. NULL with bn_error store_unavailable, store,
 * store_key_missing or store_key_mismatch. */
bd_store_t *bd_store_open_pg(const char *dir, const char *url, const bn_config_t *cfg);
/* Other brokers share this store (PostgreSQL): jobs may be another broker's, see below. */
int bd_store_shared(const bd_store_t *self);
void bd_store_close(bd_store_t **self_p);
int bd_store_durable(const bd_store_t *self);

/* Stage a blob (hash computed here). sha_hex receives 64 hex chars + NUL; in memory mode a
 * unique "mem-N" name instead (nothing is stored, so no hash is computed). */
int bd_store_blob_put(bd_store_t *self, const void *data, size_t size, char sha_hex[65]);
/* Memory mode: keep a large payload in a tmpfs file (/dev/shm/beiand.<pid>.<n>/payloads, in a 0700
 * directory; bd_arena) instead of the broker's heap, so that workers on this host can map it
 * rather than receive it (bd_store_blob_paths). One copy in instead of one socket copy per
 * stage; still one copy of the payload. name receives "shm-<offset>-<bytes>". Fails (the caller
 * keeps the bytes) when there is no such file or it is full. */
int bd_store_shm_put(bd_store_t *self, const void *data, size_t size, char name[65]);
/* Where a worker on this host may read a blob: 0 or 1 path into paths[] and, for the memory
 * store's payload file, an offset. Durable blobs: 0 (spool files are sealed; workers are sent
 * the bytes). */
int bd_store_blob_paths(const bd_store_t *self, const char *name, char paths[2][4096], uint64_t *offset);
/* Housekeeping, every few seconds: a payload file that got nothing since the last call gives
 * its free tail back (bd_arena_trim). */
void bd_store_trim(bd_store_t *self);
/* Bytes the memory store holds in tmpfs (for the benchmark's copy count). */
uint64_t bd_store_shm_bytes(const bd_store_t *self);
/* Memory mode: delete a bd_store_shm_put file (its job is gone). */
void bd_store_shm_release(bd_store_t *self, const char *name);
/* A stored blob, read-only: a durable one is opened (decrypted) into an anonymous mapping, a
 * memory-store payload mapped; data and size stay valid until bd_store_blob_unmap. The bytes
 * are authenticated and checked against the name (sha256): a spool file that fails is moved
 * aside as spool/<sha>.corrupt and the call fails with bn_error store_corrupt (also on later
 * calls for that name); a file that is gone fails with blob_missing, one sealed with a key
 * that is not loaded with store_key_missing. */
int bd_store_blob_map(bd_store_t *self, const char *sha_hex, void **data, size_t *size);
/* Check a blob against its name without keeping it: 0 intact (or a memory-store payload, which
 * has no content address), -1 with bn_error store_corrupt or blob_missing. */
int bd_store_blob_check(bd_store_t *self, const char *name);
void bd_store_blob_unmap(void *data, size_t size);

/* Jobs. Times are milliseconds since the epoch. spec is the submission's spec as received (not
 * re-serialised: that was a quarter of the submit path); blobs the JSON array of its images
 * [{"sha256","bytes"}...]. */
/* A shared store answers -1 with bn_error duplicate when another broker's job holds (tenant,
 * key), even one inserted at the same moment: bd_store_job_by_key then names it. */
int bd_store_job_insert(bd_store_t *self, const char *id, const char *tenant, const char *key,
                        int kind, int priority, const char *spec, size_t spec_len, const char *blobs,
                        int64_t created);
/* Memory mode: remember a finished job (its unfinished state lived only in the broker); the
 * result tree is kept (a reference is taken) and serialised when bd_store_job_get asks. In
 * memory mode job_get, job_by_key, job_delete and purge answer from these (bd_memjobs). */
void bd_store_job_remember(bd_store_t *self, const char *id, const char *tenant, const char *key, int kind,
                           const char *status, json_t *result, int64_t now_ms);
/* Find a job by idempotency key; returns 1 and fills id_out (33 bytes) when found, 0 if not. */
int bd_store_job_by_key(bd_store_t *self, const char *tenant, const char *key, char id_out[33]);
/* 0; 1 when the shared store says the job is no longer this broker's (it was taken over): nothing
 * was written, and its end is the new owner's to announce. */
int bd_store_job_set_status(bd_store_t *self, const char *id, const char *status, const char *result);
/* Fetch a job's status and result (malloc'd strings, *result may be NULL). 1 found, 0 not.
 * tenant (NULL: any) scopes the lookup: another tenant's job is not found, so a client bound to
 * a tenant by its certificate cannot tell it from a job that does not exist. */
int bd_store_job_get(bd_store_t *self, const char *id, const char *tenant, char **status, char **result,
                     int *kind);
int bd_store_task_done(bd_store_t *self, const char *job_id, int seq, const char *reply);
/* A tenant's applications (beian.submit jobs, not Titanic requests), newest first: fn is called
 * for at most limit of them, each with status created after cursor (created_ms, id; 0/"": from
 * the newest). status NULL: any. Durable store only: -1 with bn_error not_implemented in memory
 * mode (its finished jobs are kept for their lookups only, docs/PROTOCOL.md "beian.list"). */
typedef void (bd_store_list_fn)(void *arg, const char *id, const char *status, int64_t created_ms);
int bd_store_job_list(bd_store_t *self, const char *tenant, const char *status, int64_t cursor_created,
                      const char *cursor_id, int limit, bd_store_list_fn *fn, void *arg);
/* Webhook outbox (docs/WEBHOOKS.md), written in the turn's transaction like everything else.
 * hook_add queues a delivery of body to tenant's URL and returns its sequence number (the
 * delivery id; deliveries of a tenant go in this order). hook_update records an attempt:
 * state pending (next_ms: when to try again), delivered or failed (done_ms). */
int64_t bd_store_hook_add(bd_store_t *self, const char *tenant, const char *job, const char *body, int64_t now_ms);
void bd_store_hook_update(bd_store_t *self, int64_t seq, const char *state, int attempts, int64_t next_ms,
                          int64_t done_ms, const char *last_error);
typedef void (bd_store_hook_fn)(void *arg, int64_t seq, const char *tenant, const char *job, const char *body,
                                int attempts, int64_t created_ms, int64_t next_ms);
/* Every pending delivery, oldest first (at start, and after a rolled-back turn). */
int bd_store_hook_each_pending(bd_store_t *self, bd_store_hook_fn *fn, void *arg);
/* The newest limit deliveries, of tenant (NULL: all) in state (NULL: any), as a JSON array. */
json_t *bd_store_hook_list(bd_store_t *self, const char *tenant, const char *state, int limit);

/* For the metrics (beian.metrics, docs/PROTOCOL.md): finished jobs by status (durable store:
 * done, failed, cancelled rows; memory mode: -1, it keeps no index), the webhook outbox's pending
 * deliveries, and the bytes the store holds (the database with its WAL, the spool; memory mode:
 * the tmpfs payload file). A count over the jobs table: fine for a scrape every few seconds. */
typedef struct {
    int64_t done, failed, cancelled;
    int64_t outbox_pending;
    uint64_t db_bytes, spool_bytes, shm_bytes;
    int64_t brokers;  /* shared store: brokers registered (alive or not yet buried); else -1 */
} bd_store_stats_t;
void bd_store_stats(bd_store_t *self, bd_store_stats_t *out);
/* Delete a job, its tasks and its blob references (titanic.close, retention). */
int bd_store_job_delete(bd_store_t *self, const char *id);

/* Blob references: a spool file lives while some job refers to it. Releasing the last
 * reference deletes the file after the next commit (never before: a crash in between must not
 * leave a reference to a deleted file). No-ops in memory mode. */
void bd_store_blob_ref(bd_store_t *self, const char *job, const char *sha);
void bd_store_blob_release(bd_store_t *self, const char *job, const char *sha);
/* Delete the spool files no job refers to: what a broker killed inside a commit leaves (files
 * renamed into spool/ before a COMMIT that never happened — a submission never acknowledged —
 * or released files whose unlink after the COMMIT never ran: a finished job's selfie). Such a
 * file is never read and never purged, an image kept for ever. Run once at the broker's start,
 * before any turn. Left alone, with a warning: more than one interrupted commit can leave
 * (2 x 4096 files: a database from an older backup beside a newer spool, say), or a store
 * whose jobs predate reference counting (a job names images but holds no reference). Returns
 * the number of files deleted (0 in memory mode). */
int bd_store_sweep(bd_store_t *self);
/* Delete finished jobs last updated before before_ms (wall clock), at most 1000 per call;
 * returns how many. */
int bd_store_purge(bd_store_t *self, int64_t before_ms);

/* Restart: call fn for every job not in a final state (queued/running). task_replies is a
 * JSON array indexed by seq (null where not done). */
typedef void (bd_store_job_fn)(void *arg, const char *id, const char *tenant, const char *key, int kind,
                               int priority, const char *spec, const char *blobs, int64_t created,
                               json_t *task_replies);
int bd_store_each_unfinished(bd_store_t *self, bd_store_job_fn *fn, void *arg);

/* Make everything staged since the last commit durable (see above). 0, or -1 with bn_error
 * store_full: a write found no space; everything since the last commit was rolled back (the
 * caller must not acknowledge it, and reloads its state from the store). Aborts on other I/O
 * failures. */
int bd_store_commit(bd_store_t *self);
/* Is the store full: free space on its filesystem below store.min_free_bytes, or a write
 * failed for want of space and not enough has been freed since? Always 0 in memory mode. */
int bd_store_full(const bd_store_t *self);
/* Look at the free space again (statvfs; at most every 250 ms): call it every turn. Logs
 * when the store becomes full and when it has room again. Returns bd_store_full. */
int bd_store_check_space(bd_store_t *self);
int bd_store_dirty(const bd_store_t *self);
/* PostgreSQL: the connection is lost; new work is refused (503 store_unavailable) until a
 * tick reconnects. Always 0 for SQLite and memory. */
int bd_store_unavailable(const bd_store_t *self);

/* ---- several brokers (PostgreSQL; no-ops otherwise) ----------------------------------- */
/* The socket to poll for other brokers' announcements, or -1. */
int bd_store_fd(const bd_store_t *self);
/* Every turn (acts once a second): reconnect, refresh this broker's liveness, take over the
 * unfinished jobs of brokers not seen for store.broker_lease_ms (fn is called for each, as by
 * bd_store_each_unfinished; they are this broker's from now on). Returns BD_STORE_* bits. */
#define BD_STORE_LOST 1    /* this broker was presumed dead: its jobs are another's; drop them */
#define BD_STORE_BACK 2    /* reconnected after an outage: reload this broker's unfinished jobs */
#define BD_STORE_HOOKS 4   /* webhook deliveries were taken over: reload the outbox */
int bd_store_tick(bd_store_t *self, bd_store_job_fn *fn, void *arg);
/* Cancel a job another broker runs: 1 when it was unfinished (tenant receives its tenant; the
 * cancellation is announced), 0 when it had ended. SQLite and memory: 0 (every unfinished job
 * is in the broker's memory). */
int bd_store_job_cancel(bd_store_t *self, const char *id, char *tenant, size_t cap);
/* A job finished: announced to the other brokers when the turn commits (NOTIFY). */
void bd_store_announce(bd_store_t *self, const char *id, const char *tenant, const char *status, const char *verdict);
/* Announcements of jobs other brokers finished, read from bd_store_fd when it is readable. */
typedef void (bd_store_notify_fn)(void *arg, const char *id, const char *tenant, const char *status,
                                  const char *verdict);
int bd_store_notified(bd_store_t *self, bd_store_notify_fn *fn, void *arg);

/* A stored result that does not open (modified, or sealed with a key that is gone), as the
 * result to answer instead: failed, with bn_error's code (for the stores' job_get). */
char *bd_store_unreadable_result(const char *id);

/* ---- for bd_migrate (SQLite to PostgreSQL), which reads and writes rows as they are ---- */
struct sqlite3;
struct bd_pg;
struct bd_keyring;
/* The SQLite database (NULL for PostgreSQL and memory), the PostgreSQL store (NULL
 * otherwise), the keyring that seals this store's records (NULL in memory mode). */
struct sqlite3 *bd_store_sqlite(bd_store_t *self);
struct bd_pg *bd_store_pg(bd_store_t *self);
const struct bd_keyring *bd_store_keys(const bd_store_t *self);

#endif
