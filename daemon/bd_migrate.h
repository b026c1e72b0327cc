/* bd_migrate — move a SQLite store into PostgreSQL (`beiand --migrate-to postgres://…`, issue
 * #13; docs/DEPLOY.md "Moving a SQLite store to PostgreSQL").
 *
 * Everything the broker keeps goes: every job whatever its status (created and updated times,
 * tenant, idempotency key, spec, result), the task replies, every blob a job refers to (the
 * spool file opened with the SQLite store's key, checked against its sha256, sealed again as a
 * PostgreSQL record), the references with their counts, and the webhook outbox with its state,
 * attempts and next try. Records are opened and sealed again under the same key file
 * (store.key_file): the brokers on PostgreSQL need that file.
 *
 * Unfinished jobs get no owner: the first broker on PostgreSQL takes them over at its first
 * tick. Pending webhook deliveries belong to a stand-in broker row that is dead from the start
 * (seen at the epoch), which that broker buries, taking its deliveries.
 *
 * One PostgreSQL transaction: an interrupted migration leaves nothing, and is run again. The
 * target must hold no job, blob or delivery (migrate_target_not_empty), so a second run after a
 * complete one is refused rather than merged. The broker must not run on dir meanwhile
 * (migrate_broker_running: its ipc socket answers). */
#ifndef BD_MIGRATE_H
#define BD_MIGRATE_H
#include "core/bn_config.h"

#include <stdint.h>

typedef struct {
    int64_t jobs, unfinished; /* rows of jobs; of those, queued or running */
    int64_t tasks;            /* task replies */
    int64_t blobs, refs;      /* distinct blobs, references to them */
    uint64_t bytes;           /* the blobs' bytes (plaintext) */
    int64_t deliveries, pending; /* webhook outbox rows; of those, pending */
    int64_t damaged;          /* records that did not open, copied as they were (store_corrupt) */
} bd_migrate_stats_t;

/* Copy the SQLite store in dir (its key from cfg's store.key_file, default dir/beian.key) into
 * the PostgreSQL database at url (its schema made or brought up to date first). 0 and *out
 * filled, or -1 with bn_error: migrate_source_missing (no beian.db in dir),
 * migrate_broker_running, migrate_target_not_empty, store_unavailable, the store's open errors
 * (store_key_missing, store_key_mismatch, store_db_corrupt…), store_corrupt or blob_missing
 * (a referenced blob is damaged or gone: nothing is copied), store (a failed statement). */
int bd_migrate(const char *dir, const char *url, const bn_config_t *cfg, bd_migrate_stats_t *out);

#endif
