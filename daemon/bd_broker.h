/* bd_broker — beiand's single-threaded event loop: an MDP broker with Titanic and the beian
 * job API built in (docs/PROTOCOL.md).
 *
 * One thread owns every socket and every data structure, in the manner of Redis' ae loop: a
 * turn polls the sockets, handles up to a batch of messages, commits the store once (group
 * commit), then sends the turn's replies — so nothing is acknowledged before it is durable —
 * and finally runs the timers (heartbeats, leases, retries) and dispatches ready tasks. */
#ifndef BD_BROKER_H
#define BD_BROKER_H
#include <stddef.h>

#include "core/bn_config.h"

#define BD_MAX_BINDS 8

typedef struct {
    const char *dir;           /* state directory: beian.db, spool/ */
    int durable;               /* 1: SQLite + spool; 0: in memory (benchmarks) */
    const char *store_url;     /* postgres://…: the PostgreSQL store shared with other brokers
                                  (bd_pgstore.h); durable is then 1 */
    const char *binds[BD_MAX_BINDS];
    int nbinds;
    const char *pub;           /* PUB endpoint for finished-job announcements, or NULL */
    const char *curve_cert;    /* server secret certificate (tcp endpoints) */
    const char *allow_dir;     /* allowed client/worker public certificates (tcp endpoints) */
    int heartbeat_ms;          /* default 2500 */
    int liveness;              /* default 3 */
    int lease_ms;              /* per task attempt, default 120000 */
    int max_attempts;          /* default 3 */
    int retry_backoff_ms;      /* first retry delay, doubled per attempt, default 500 */
    int max_jobs;              /* unfinished jobs held; beyond → busy, default 10000 */
    size_t max_bytes;          /* payload bytes of unfinished jobs; beyond → busy, default 2 GiB */
    size_t max_upload;         /* bytes per submitted image; beyond → 400 upload_too_large,
                                  default BN_DEFAULT_MAX_UPLOAD (30 MiB) */
    size_t max_queued_bytes;   /* body bytes of plain MDP requests held (queued or with a
                                  worker); beyond → 503 busy, default 256 MiB */
    int request_timeout_ms;    /* a plain MDP request no worker took by then is dropped and
                                  answered 504 request_expired, default 300000 */
    int max_frames;            /* frames per message, default 64 */
    int max_waiters;           /* result long-polls per job, default 16 */
    int batch;                 /* messages per turn before a commit, default 256 */
    double retention_hours;    /* finished jobs (results and images) are deleted after this;
                                  0 keeps them forever; default 720 (30 days) */
    const bn_config_t *config;
} bd_options_t;

typedef struct bd_broker bd_broker_t;

/* Binds every endpoint (ZAP first), opens the store and resumes unfinished jobs. */
bd_broker_t *bd_broker_new(const bd_options_t *opts);
void bd_broker_destroy(bd_broker_t **self_p);
/* Run until *stop. Returns 0. */
int bd_broker_run(bd_broker_t *self, volatile int *stop);

#endif
