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
 * A failed fsync/rename/commit aborts the process: acking what may be lost is worse than
 * stopping (after a failed fsync the page cache state is unknowable — see "fsyncgate").
 * In memory mode (durable = 0) SQLite is :memory: and nothing is written to disk; the broker keeps
 * the payloads it received, large ones in tmpfs files (bd_store_shm_put). */
#ifndef BD_STORE_H
#define BD_STORE_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bd_store bd_store_t;

/* arena_cap: memory mode's largest payload file (bd_arena), e.g. the broker's max_bytes. */
bd_store_t *bd_store_open(const char *dir, int durable, uint64_t arena_cap);
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
/* Where a worker on this host may read a blob: 0, 1 or 2 paths into paths[] and, for the
 * memory store's payload file, an offset. A durable blob is under spool/tmp until the commit
 * renames it into spool/: both are given, and the reader tries them in order (twice). */
int bd_store_blob_paths(const bd_store_t *self, const char *name, char paths[2][4096], uint64_t *offset);
/* Housekeeping, every few seconds: a payload file that got nothing since the last call gives
 * its free tail back (bd_arena_trim). */
void bd_store_trim(bd_store_t *self);
/* Bytes the memory store holds in tmpfs (for the benchmark's copy count). */
uint64_t bd_store_shm_bytes(const bd_store_t *self);
/* Memory mode: delete a bd_store_shm_put file (its job is gone). */
void bd_store_shm_release(bd_store_t *self, const char *name);
/* Map a stored blob read-only; data and size stay valid until bd_store_blob_unmap. The bytes
 * are checked against the name (sha256): a spool file that does not match is moved aside as
 * spool/<sha>.corrupt and the call fails with bn_error store_corrupt (also on later calls for
 * that name); a file that is gone fails with blob_missing. */
int bd_store_blob_map(bd_store_t *self, const char *sha_hex, void **data, size_t *size);
/* Check a blob against its name without keeping it: 0 intact (or a memory-store payload, which
 * has no content address), -1 with bn_error store_corrupt or blob_missing. */
int bd_store_blob_check(bd_store_t *self, const char *name);
void bd_store_blob_unmap(void *data, size_t size);

/* Jobs. Times are milliseconds since the epoch. spec is the submission's spec as received (not
 * re-serialised: that was a quarter of the submit path); blobs the JSON array of its images
 * [{"sha256","bytes"}...]. */
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
int bd_store_job_set_status(bd_store_t *self, const char *id, const char *status, const char *result);
/* Fetch a job's status and result (malloc'd strings, *result may be NULL). 1 found, 0 not.
 * tenant (NULL: any) scopes the lookup: another tenant's job is not found, so a client bound to
 * a tenant by its certificate cannot tell it from a job that does not exist. */
int bd_store_job_get(bd_store_t *self, const char *id, const char *tenant, char **status, char **result,
                     int *kind);
int bd_store_task_done(bd_store_t *self, const char *job_id, int seq, const char *reply);
/* Delete a job, its tasks and its blob references (titanic.close, retention). */
int bd_store_job_delete(bd_store_t *self, const char *id);

/* Blob references: a spool file lives while some job refers to it. Releasing the last
 * reference deletes the file after the next commit (never before: a crash in between must not
 * leave a reference to a deleted file). No-ops in memory mode. */
void bd_store_blob_ref(bd_store_t *self, const char *job, const char *sha);
void bd_store_blob_release(bd_store_t *self, const char *job, const char *sha);
/* Delete finished jobs last updated before before_ms (wall clock), at most 1000 per call;
 * returns how many. */
int bd_store_purge(bd_store_t *self, int64_t before_ms);

/* Restart: call fn for every job not in a final state (queued/running). task_replies is a
 * JSON array indexed by seq (null where not done). */
typedef void (bd_store_job_fn)(void *arg, const char *id, const char *tenant, const char *key, int kind,
                               int priority, const char *spec, const char *blobs, int64_t created,
                               json_t *task_replies);
int bd_store_each_unfinished(bd_store_t *self, bd_store_job_fn *fn, void *arg);

/* Make everything staged since the last commit durable (see above). Aborts on I/O failure. */
void bd_store_commit(bd_store_t *self);
int bd_store_dirty(const bd_store_t *self);

#endif
