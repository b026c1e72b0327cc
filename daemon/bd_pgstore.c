#include "bd_pgstore.h"
#include "core/bn_clock.h"
#include "core/bn_error.h"
#include "core/bn_log.h"
#include "core/bn_sha256.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_LEASE_MS 10000
#define TICK_MS 1000
#define CLAIM_MAX 500

/* Schema migrations: migration i brings the schema from version i to i + 1. Append, never
 * edit: a database records the version it is at (beian_schema) and runs only what follows. */
static const char *const s_migrations[] = {
    "CREATE TABLE brokers (id text PRIMARY KEY, host text NOT NULL, pid int NOT NULL,"
    "  started timestamptz NOT NULL DEFAULT now(), seen timestamptz NOT NULL DEFAULT now());"
    "CREATE TABLE store_keys (id text PRIMARY KEY);"
    "CREATE TABLE jobs (id text PRIMARY KEY, tenant text NOT NULL, key text, kind int NOT NULL,"
    "  priority int NOT NULL, status text NOT NULL, spec bytea NOT NULL, blobs text NOT NULL, result bytea,"
    "  created bigint NOT NULL, updated bigint NOT NULL, owner text);"
    "CREATE UNIQUE INDEX jobs_key ON jobs(tenant, key) WHERE key IS NOT NULL;"
    "CREATE INDEX jobs_open ON jobs(owner) WHERE status IN ('queued','running');"
    "CREATE INDEX jobs_tenant ON jobs(tenant, created, id);"
    "CREATE INDEX jobs_final ON jobs(updated) WHERE status NOT IN ('queued','running');"
    "CREATE TABLE tasks (job text NOT NULL, seq int NOT NULL, reply bytea NOT NULL, PRIMARY KEY(job, seq));"
    /* refs counts blob_refs rows. It is a column of the blob's own row, so that taking and
     * dropping references serialise on that row's lock: a release that reaches zero and a put
     * of the same bytes by another broker cannot interleave into a job naming a deleted scan. */
    "CREATE TABLE blobs (sha text PRIMARY KEY, data bytea NOT NULL, refs int NOT NULL);"
    "CREATE INDEX blobs_unref ON blobs(sha) WHERE refs = 0;"
    "CREATE TABLE blob_refs (sha text NOT NULL, job text NOT NULL, PRIMARY KEY(sha, job));"
    "CREATE INDEX blob_refs_job ON blob_refs(job);"
    "CREATE TABLE outbox (seq bigserial PRIMARY KEY, tenant text NOT NULL, job text NOT NULL, body text NOT NULL,"
    "  state text NOT NULL DEFAULT 'pending', attempts int NOT NULL DEFAULT 0, created bigint NOT NULL,"
    "  next bigint NOT NULL, done bigint, last_error text, owner text);"
    "CREATE INDEX outbox_pending ON outbox(owner) WHERE state = 'pending';",
    /* 2: sealed scans never compress: store them out of line without trying (bench_broker). */
    "ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL;",
};
#define NMIGRATIONS ((int)(sizeof s_migrations / sizeof s_migrations[0]))

/* Prepared statements, by index. Results that carry sealed columns (bytea) come back in binary
 * format, so their other columns are cast to text, whose binary form is the text itself. */
enum {
    Q_BLOB_PUT, Q_BLOB_PUT_REF, Q_BLOB_GET, Q_REF, Q_REF_INC, Q_UNREF, Q_REF_DEC, Q_BLOB_DEL, Q_UNREF_JOB,
    Q_JOB_INSERT, Q_BYKEY, Q_STATUS, Q_CANCEL, Q_GET, Q_TASK, Q_DEL_TASKS, Q_DEL_JOB, Q_MINE, Q_TASKS_OF,
    Q_HEARTBEAT, Q_REGISTER, Q_UNREGISTER, Q_BURY, Q_CLAIM, Q_CLAIM_HOOKS, Q_NOTIFY, Q_HOOK_ADD, Q_HOOK_UPDATE, NQ
};
static const char *const s_sql[NQ] = {
    [Q_BLOB_PUT] = "INSERT INTO blobs(sha, data, refs) VALUES($1, $2, 0) ON CONFLICT (sha) DO UPDATE SET refs = blobs.refs",
    /* A put and its reference in one round trip (the broker takes the reference right after
     * the put): refs grows by the reference rows actually added. */
    [Q_BLOB_PUT_REF] = "WITH r AS (INSERT INTO blob_refs(sha, job) VALUES($1, $3) ON CONFLICT DO NOTHING RETURNING 1)"
                       " INSERT INTO blobs(sha, data, refs) VALUES($1, $2, (SELECT count(*) FROM r))"
                       " ON CONFLICT (sha) DO UPDATE SET refs = blobs.refs + EXCLUDED.refs",
    [Q_BLOB_GET] = "SELECT data FROM blobs WHERE sha = $1",
    [Q_REF] = "INSERT INTO blob_refs(sha, job) VALUES($1, $2) ON CONFLICT DO NOTHING",
    [Q_REF_INC] = "UPDATE blobs SET refs = refs + 1 WHERE sha = $1",
    [Q_UNREF] = "DELETE FROM blob_refs WHERE sha = $1 AND job = $2",
    [Q_REF_DEC] = "UPDATE blobs SET refs = refs - 1 WHERE sha = $1 RETURNING refs",
    [Q_BLOB_DEL] = "DELETE FROM blobs WHERE sha = $1 AND refs = 0",
    [Q_UNREF_JOB] = "DELETE FROM blob_refs WHERE job = $1 RETURNING sha",
    [Q_JOB_INSERT] = "INSERT INTO jobs(id, tenant, key, kind, priority, status, spec, blobs, created, updated, owner)"
                     " VALUES($1, $2, $3, $4, $5, 'queued', $6, $7, $8, $8, $9) ON CONFLICT DO NOTHING",
    [Q_BYKEY] = "SELECT id FROM jobs WHERE tenant = $1 AND key = $2",
    [Q_STATUS] = "UPDATE jobs SET status = $2, result = COALESCE($3, result),"
                 " updated = (extract(epoch FROM clock_timestamp()) * 1000)::bigint"
                 " WHERE id = $1 AND owner = $4 AND status IN ('queued','running')",
    [Q_CANCEL] = "UPDATE jobs SET status = 'cancelled', result = $2,"
                 " updated = (extract(epoch FROM clock_timestamp()) * 1000)::bigint"
                 " WHERE id = $1 AND status IN ('queued','running') RETURNING tenant",
    [Q_GET] = "SELECT status, result, kind::text FROM jobs WHERE id = $1 AND ($2::text IS NULL OR tenant = $2)",
    [Q_TASK] = "INSERT INTO tasks(job, seq, reply) VALUES($1, $2, $3) ON CONFLICT (job, seq) DO UPDATE SET reply = $3",
    [Q_DEL_TASKS] = "DELETE FROM tasks WHERE job = $1",
    [Q_DEL_JOB] = "DELETE FROM jobs WHERE id = $1",
    [Q_MINE] = "SELECT id, tenant, key, kind::text, priority::text, spec, blobs, created::text FROM jobs"
               " WHERE owner = $1 AND status IN ('queued','running') ORDER BY created",
    [Q_TASKS_OF] = "SELECT seq::text, reply FROM tasks WHERE job = $1",
    [Q_HEARTBEAT] = "UPDATE brokers SET seen = now() WHERE id = $1",
    [Q_REGISTER] = "INSERT INTO brokers(id, host, pid) VALUES($1, $2, $3)",
    [Q_UNREGISTER] = "DELETE FROM brokers WHERE id = $1",
    /* A broker not seen for a lease is dead: its row goes. Its jobs and pending deliveries are
     * then owned by nobody and taken by Q_CLAIM and Q_CLAIM_HOOKS, in the same transaction.
     * SKIP LOCKED: two brokers never bury the same one (nor wait for each other to). */
    [Q_BURY] = "DELETE FROM brokers WHERE id IN (SELECT id FROM brokers WHERE seen < now() - $2::int * interval"
               " '1 millisecond' AND id <> $1 FOR UPDATE SKIP LOCKED LIMIT 8) RETURNING id",
    /* Pending deliveries whose owner is not a registered broker (buried, stopped cleanly, or
     * moved from a SQLite store by beiand --migrate-to). */
    [Q_CLAIM_HOOKS] = "UPDATE outbox SET owner = $1 WHERE seq IN (SELECT seq FROM outbox o WHERE state = 'pending'"
                      "   AND (owner IS NULL OR NOT EXISTS (SELECT 1 FROM brokers b WHERE b.id = o.owner))"
                      "   LIMIT 1000 FOR UPDATE SKIP LOCKED)",
    /* Unfinished jobs whose owner is not a registered broker (buried above, stopped cleanly, or
     * moved from a SQLite store with no owner). */
    [Q_CLAIM] = "UPDATE jobs SET owner = $1 WHERE id IN (SELECT id FROM jobs j WHERE status IN ('queued','running')"
                "   AND (owner IS NULL OR NOT EXISTS (SELECT 1 FROM brokers b WHERE b.id = j.owner))"
                "   ORDER BY created LIMIT $2 FOR UPDATE SKIP LOCKED)"
                " RETURNING id, tenant, key, kind::text, priority::text, spec, blobs, created::text",
    [Q_NOTIFY] = "SELECT pg_notify('beian_done', $1)",
    [Q_HOOK_ADD] = "INSERT INTO outbox(tenant, job, body, created, next, owner) VALUES($1, $2, $3, $4, $4, $5) RETURNING seq",
    [Q_HOOK_UPDATE] = "UPDATE outbox SET state = $2, attempts = $3, next = $4, done = $5, last_error = $6 WHERE seq = $1",
};

struct bd_pg {
    char *url;
    PGconn *conn;
    const bd_keyring_t *keys;
    char id[33];          /* this broker, in brokers */
    int lease_ms;         /* store.broker_lease_ms */
    int lock_ms;          /* store.lock_timeout_ms */
    int in_tx, tx_failed;
    int down;             /* no connection: refusing work until tick reconnects */
    const char *fail_code; /* why the open transaction failed */
    int64_t tick_at;
    /* The last blob put, not yet sent: its reference usually follows at once, and goes with it
     * (Q_BLOB_PUT_REF). Anything else sends it first, alone (s_send_put). */
    char put_sha[65];
    void *put_rec;
    size_t put_len;
};

/* A statement failed: a lost connection makes the store unavailable, no room (53100) full,
 * anything else (a deadlock between two brokers' turns, say) only this turn. Either way the
 * open transaction is lost: the commit rolls it back and reports the code. */
static void s_failed(bd_pg_t *self, PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (PQstatus(self->conn) != CONNECTION_OK) {
        if (!self->down)
            bn_warn("store unavailable: lost the PostgreSQL connection (%s): refusing new work (503 "
                    "store_unavailable) until it is back", what);
        self->down = 1;
        self->fail_code = "store_unavailable";
    } else if (state && !strcmp(state, "53100")) {
        self->fail_code = "store_full";
    } else if (!self->tx_failed) {
        bn_warn("store: %s failed: %s", what, PQerrorMessage(self->conn));
        self->fail_code = "store_conflict";
    }
    if (self->in_tx)
        self->tx_failed = 1;
}

static void s_quiet(void *arg, const char *message) { (void)arg, (void)message; }

/* A prepared statement's name: "q" and its index. */
static const char *s_name(int q, char name[8])
{
    snprintf(name, 8, "q%d", q);
    return name;
}

static void s_send_put(bd_pg_t *self);

static PGresult *s_run(bd_pg_t *self, int q, int n, const char *const *v, const int *len, const int *fmt, int binary)
{
    if (self->put_rec && q != Q_BLOB_PUT && q != Q_BLOB_PUT_REF)
        s_send_put(self);
    if (self->down || (self->in_tx && self->tx_failed))
        return NULL;
    char name[8];
    PGresult *res = PQexecPrepared(self->conn, s_name(q, name), n, v, len, fmt, binary);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        s_failed(self, res, s_sql[q]);
        PQclear(res);
        return NULL;
    }
    return res;
}

static int s_exec(bd_pg_t *self, const char *sql)
{
    PGresult *res = PQexec(self->conn, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        bn_error_set(PQstatus(self->conn) == CONNECTION_OK ? "store" : "store_unavailable", "%.60s…: %s", sql,
                     PQerrorMessage(self->conn));
    PQclear(res);
    return ok ? 0 : -1;
}

/* Open the turn's transaction at its first write. */
static void s_begin(bd_pg_t *self)
{
    if (self->in_tx || self->down)
        return;
    if (s_exec(self, "BEGIN") < 0) {
        s_failed(self, NULL, "begin");
        return;
    }
    self->in_tx = 1;
}

/* A write: inside the turn's transaction. */
static PGresult *s_write(bd_pg_t *self, int q, int n, const char *const *v, const int *len, const int *fmt)
{
    s_begin(self);
    if (!self->in_tx)
        self->tx_failed = 1, self->fail_code = self->fail_code ? self->fail_code : "store_unavailable";
    return s_run(self, q, n, v, len, fmt, 0);
}

static int s_write_ok(bd_pg_t *self, int q, int n, const char *const *v)
{
    PGresult *res = s_write(self, q, n, v, NULL, NULL);
    int rows = res ? atoi(PQcmdTuples(res)) : -1;
    PQclear(res);
    return rows;
}

/* Connect, migrate, prepare, listen. */
static int s_connect(bd_pg_t *self, int migrate)
{
    PQfinish(self->conn);
    /* The event loop waits on every statement, so nothing may wait for ever: a server that does
     * not answer the connect (2 s), a link that stops acking (tcp_user_timeout, keepalives: a
     * dead peer found in about 10 s rather than the kernel's 15 minutes). The URL's own
     * parameters come after these and win. */
    const char *keys[] = {"connect_timeout", "tcp_user_timeout", "keepalives_idle", "keepalives_interval",
                          "keepalives_count", "dbname", NULL};
    const char *vals[] = {"2", "10000", "5", "2", "3", self->url, NULL};
    self->conn = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(self->conn) != CONNECTION_OK)
        return bn_error_set("store_unavailable", "PostgreSQL: %s", PQerrorMessage(self->conn));
    /* A lock held by another broker's turn is released within milliseconds, unless that broker
     * stalled (stopped, swapping) inside it: then this broker gives up on the statement after
     * store.lock_timeout_ms (its turn rolls back, clients retry) instead of stalling too, and the
     * server ends a session idle in a transaction for as long as a lease. */
    char set[160];
    snprintf(set, sizeof set, "SET lock_timeout = %d; SET idle_in_transaction_session_timeout = %d", self->lock_ms,
             self->lease_ms);
    if (s_exec(self, set) < 0)
        return -1;
    /* Notices (e.g. "relation already exists") are not the operator's business. */
    PQsetNoticeProcessor(self->conn, s_quiet, NULL);
    if (migrate) {
        if (s_exec(self, "BEGIN") < 0 || s_exec(self, "SELECT pg_advisory_xact_lock(4242001)") < 0
            || s_exec(self, "CREATE TABLE IF NOT EXISTS beian_schema (version int NOT NULL)") < 0)
            return -1;
        PGresult *res = PQexec(self->conn, "SELECT max(version) FROM beian_schema");
        int version = PQresultStatus(res) == PGRES_TUPLES_OK && !PQgetisnull(res, 0, 0) ? atoi(PQgetvalue(res, 0, 0)) : 0;
        PQclear(res);
        if (version > NMIGRATIONS) {
            s_exec(self, "ROLLBACK");
            return bn_error_set("store", "the database's schema is version %d, newer than this beiand knows (%d): "
                                "run the newer beiand", version, NMIGRATIONS);
        }
        for (int v = version; v < NMIGRATIONS; v++) {
            char sql[64];
            snprintf(sql, sizeof sql, "INSERT INTO beian_schema VALUES (%d)", v + 1);
            if (s_exec(self, s_migrations[v]) < 0 || s_exec(self, sql) < 0)
                return -1;
            bn_info("store: PostgreSQL schema migrated to version %d", v + 1);
        }
        if (s_exec(self, "COMMIT") < 0)
            return -1;
    }
    for (int q = 0; q < NQ; q++) {
        char name[8];
        PGresult *res = PQprepare(self->conn, s_name(q, name), s_sql[q], 0, NULL);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!ok)
            return bn_error_set("store", "prepare %s: %s", s_sql[q], PQerrorMessage(self->conn));
    }
    if (s_exec(self, "LISTEN beian_done") < 0 || s_exec(self, "LISTEN beian_claim") < 0)
        return -1;
    self->down = 0;
    self->in_tx = self->tx_failed = 0;
    return 0;
}

static int s_register(bd_pg_t *self)
{
    unsigned char r[16];
    randombytes_buf(r, sizeof r);
    for (int i = 0; i < 16; i++)
        snprintf(self->id + 2 * i, 3, "%02x", r[i]);
    char host[256] = "?", pid[16];
    gethostname(host, sizeof host - 1);
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    PGresult *res = s_run(self, Q_REGISTER, 3, (const char *[]){self->id, host, pid}, NULL, NULL, 0);
    PQclear(res);
    if (!res)
        return bn_error_set("store_unavailable", "register: %s", PQerrorMessage(self->conn));
    bn_info("store: PostgreSQL, broker %.8s registered", self->id);
    return 0;
}

bd_pg_t *bd_pg_open(const char *url, const bn_config_t *cfg)
{
    bd_pg_t *self = calloc(1, sizeof *self);
    self->url = strdup(url);
    self->lease_ms = (int)bn_config_num(cfg, "store.broker_lease_ms", DEFAULT_LEASE_MS);
    self->lock_ms = (int)bn_config_num(cfg, "store.lock_timeout_ms", 5000);
    if (self->lock_ms < 1)
        self->lock_ms = 1;
    if (self->lease_ms < 2 * TICK_MS)
        self->lease_ms = 2 * TICK_MS;
    if (s_connect(self, 1) < 0 || s_register(self) < 0) {
        bd_pg_close(&self);
        return NULL;
    }
    return self;
}

void bd_pg_close(bd_pg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bd_pg_t *self = *self_p;
    if (self->conn && !self->down) {
        if (self->in_tx)
            bd_pg_commit(self);
        /* A clean stop hands this broker's unfinished jobs to the others at once, rather than
         * after a lease: its row goes, and the others are told to look (beian_claim). */
        PQclear(s_run(self, Q_UNREGISTER, 1, (const char *[]){self->id}, NULL, NULL, 0));
        PQclear(PQexec(self->conn, "NOTIFY beian_claim"));
    }
    PQfinish(self->conn);
    free(self->put_rec);
    free(self->url);
    free(self);
    *self_p = NULL;
}

const char *bd_pg_broker_id(const bd_pg_t *self) { return self->id; }

int bd_pg_key_ids(bd_pg_t *self, uint32_t *ids, int max)
{
    PGresult *res = PQexec(self->conn, "SELECT id FROM store_keys");
    int n = 0;
    for (int i = 0; PQresultStatus(res) == PGRES_TUPLES_OK && i < PQntuples(res) && n < max; i++) {
        unsigned id;
        if (sscanf(PQgetvalue(res, i, 0), "%8x", &id) == 1)
            ids[n++] = id;
    }
    PQclear(res);
    return n;
}

int bd_pg_set_keys(bd_pg_t *self, const bd_keyring_t *keys)
{
    self->keys = keys;
    char hex[9];
    bd_seal_id_hex(bd_keyring_current(keys), hex);
    const char *v[] = {hex};
    PGresult *res = PQexecParams(self->conn, "INSERT INTO store_keys VALUES($1) ON CONFLICT DO NOTHING", 1, NULL, v,
                                 NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok ? 0 : bn_error_set("store", "store_keys: %s", PQerrorMessage(self->conn));
}

/* ---- sealed values -------------------------------------------------------------------- */

/* A sealed value of a binary result: malloc'd plaintext, NULL for SQL NULL, or NULL with *bad. */
static char *s_open(bd_pg_t *self, PGresult *res, int row, int col, const char *ad, size_t *len, int *bad)
{
    *bad = 0;
    if (PQgetisnull(res, row, col))
        return NULL;
    char *p = bd_seal_rec_open(self->keys, PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col), ad, len);
    *bad = !p;
    return p;
}

/* ---- blobs ---------------------------------------------------------------------------- */

/* Send the held put on its own (no reference came with it). */
static void s_send_put(bd_pg_t *self)
{
    void *rec = self->put_rec;
    self->put_rec = NULL;
    PQclear(s_write(self, Q_BLOB_PUT, 2, (const char *[]){self->put_sha, rec}, (int[]){0, (int)self->put_len},
                    (int[]){0, 1}));
    free(rec);
}

int bd_pg_blob_put(bd_pg_t *self, const void *data, size_t size, char sha_hex[65])
{
    if (bn_sha256_hex(data, size, sha_hex) < 0)
        return bn_error_set("store", "sha256 failed");
    if (self->put_rec)
        s_send_put(self);
    if (self->down)
        return bn_error_set("store_unavailable", "store a blob: no database connection");
    char ad[96];
    self->put_rec = bd_seal_rec(self->keys, data, size, bd_seal_ad(ad, "blob", sha_hex, -1), &self->put_len);
    memcpy(self->put_sha, sha_hex, 65);
    return 0;
}

int bd_pg_blob_map(bd_pg_t *self, const char *sha_hex, void **data, size_t *size)
{
    PGresult *res = s_run(self, Q_BLOB_GET, 1, (const char *[]){sha_hex}, NULL, NULL, 1);
    if (!res)
        return bn_error_set(self->fail_code ? self->fail_code : "store_unavailable", "read blob %.12s…", sha_hex);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return bn_error_set("blob_missing", "blob %.12s… is not in the store", sha_hex);
    }
    char ad[96];
    int bad;
    size_t len = 0;
    char *plain = s_open(self, res, 0, 0, bd_seal_ad(ad, "blob", sha_hex, -1), &len, &bad);
    PQclear(res);
    if (!plain)
        return bad && !strcmp(bn_error_code(), "store_key_missing") ? -1
             : bn_error_set("store_corrupt", "blob %.12s… failed authentication", sha_hex);
    if (!bn_sha256_matches(plain, len, sha_hex)) {
        sodium_memzero(plain, len);
        free(plain);
        bn_error("blob %.12s… (%zu bytes) does not match its content address: store_corrupt", sha_hex, len);
        return bn_error_set("store_corrupt", "blob %.12s… does not match its content address", sha_hex);
    }
    /* bd_store_blob_unmap munmaps: the same anonymous mapping as a spool file's read. */
    static char empty;
    *size = len;
    *data = len ? mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : &empty;
    if (*data == MAP_FAILED) {
        free(plain);
        return bn_error_set("blob_missing", "mmap failed");
    }
    memcpy(*data, plain, len);
    sodium_memzero(plain, len);
    free(plain);
    return 0;
}

int bd_pg_blob_check(bd_pg_t *self, const char *sha_hex)
{
    void *data;
    size_t size;
    if (bd_pg_blob_map(self, sha_hex, &data, &size) < 0)
        return -1;
    if (size)
        munmap(data, size);
    return 0;
}

void bd_pg_blob_ref(bd_pg_t *self, const char *job, const char *sha)
{
    if (self->put_rec && !strcmp(self->put_sha, sha)) {
        void *rec = self->put_rec;
        self->put_rec = NULL;
        PQclear(s_write(self, Q_BLOB_PUT_REF, 3, (const char *[]){sha, rec, job}, (int[]){0, (int)self->put_len, 0},
                        (int[]){0, 1, 0}));
        free(rec);
        return;
    }
    if (s_write_ok(self, Q_REF, 2, (const char *[]){sha, job}) == 1)
        s_write_ok(self, Q_REF_INC, 1, (const char *[]){sha});
}

/* One reference fewer; the last takes the scan with it (in this transaction: a crash before
 * the commit keeps both). */
static void s_unref(bd_pg_t *self, const char *sha)
{
    PGresult *res = s_write(self, Q_REF_DEC, 1, (const char *[]){sha}, NULL, NULL);
    if (res && PQntuples(res) == 1 && atoi(PQgetvalue(res, 0, 0)) <= 0)
        s_write_ok(self, Q_BLOB_DEL, 1, (const char *[]){sha});
    PQclear(res);
}

void bd_pg_blob_release(bd_pg_t *self, const char *job, const char *sha)
{
    if (s_write_ok(self, Q_UNREF, 2, (const char *[]){sha, job}) == 1)
        s_unref(self, sha);
}

/* ---- jobs ----------------------------------------------------------------------------- */

int bd_pg_job_insert(bd_pg_t *self, const char *id, const char *tenant, const char *key, int kind, int priority,
                     const char *spec, size_t spec_len, const char *blobs, int64_t created)
{
    char k[12], p[12], c[24], ad[96];
    snprintf(k, sizeof k, "%d", kind);
    snprintf(p, sizeof p, "%d", priority);
    snprintf(c, sizeof c, "%lld", (long long)created);
    size_t n;
    void *rec = bd_seal_rec(self->keys, spec, spec_len, bd_seal_ad(ad, "spec", id, -1), &n);
    PGresult *res = s_write(self, Q_JOB_INSERT, 9, (const char *[]){id, tenant, key, k, p, rec, blobs, c, self->id},
                            (int[]){0, 0, 0, 0, 0, (int)n, 0, 0, 0}, (int[]){0, 0, 0, 0, 0, 1, 0, 0, 0});
    free(rec);
    if (!res)
        return bn_error_set(self->fail_code, "insert job: %s", PQerrorMessage(self->conn));
    int rows = atoi(PQcmdTuples(res));
    PQclear(res);
    /* The only conflict a fresh random id can meet is the idempotency key's. */
    return rows == 1 ? 0 : bn_error_set("duplicate", "a job with this idempotency key exists");
}

int bd_pg_job_by_key(bd_pg_t *self, const char *tenant, const char *key, char id_out[33])
{
    PGresult *res = s_run(self, Q_BYKEY, 2, (const char *[]){tenant, key}, NULL, NULL, 0);
    int found = res && PQntuples(res) == 1;
    if (found)
        snprintf(id_out, 33, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return found;
}

int bd_pg_job_set_status(bd_pg_t *self, const char *id, const char *status, const char *result)
{
    char ad[96];
    size_t n = 0;
    void *rec = result ? bd_seal_rec(self->keys, result, strlen(result), bd_seal_ad(ad, "result", id, -1), &n) : NULL;
    PGresult *res = s_write(self, Q_STATUS, 4, (const char *[]){id, status, rec, self->id}, (int[]){0, 0, (int)n, 0},
                            (int[]){0, 0, 1, 0});
    free(rec);
    int rows = res ? atoi(PQcmdTuples(res)) : 0;
    PQclear(res);
    /* A failed statement is the turn's (rolled back at the commit); 0 rows: not ours. */
    return res && rows == 0 ? 1 : 0;
}

int bd_pg_job_cancel(bd_pg_t *self, const char *id, char *tenant, size_t cap)
{
    char ad[96], text[120];
    snprintf(text, sizeof text, "{\"job\":\"%.40s\",\"status\":\"cancelled\"}", id);
    size_t n;
    void *rec = bd_seal_rec(self->keys, text, strlen(text), bd_seal_ad(ad, "result", id, -1), &n);
    PGresult *res = s_write(self, Q_CANCEL, 2, (const char *[]){id, rec}, (int[]){0, (int)n}, (int[]){0, 1});
    free(rec);
    int done = res && PQntuples(res) == 1;
    if (done) {
        snprintf(tenant, cap, "%s", PQgetvalue(res, 0, 0));
        bd_pg_announce(self, id, tenant, "cancelled", NULL);
    }
    PQclear(res);
    return done;
}

int bd_pg_job_get(bd_pg_t *self, const char *id, const char *tenant, char **status, char **result, int *kind)
{
    PGresult *res = s_run(self, Q_GET, 2, (const char *[]){id, tenant}, NULL, NULL, 1);
    int found = res && PQntuples(res) == 1;
    if (found) {
        if (status)
            *status = strdup(PQgetvalue(res, 0, 0));
        if (result) {
            char ad[96];
            int bad;
            *result = s_open(self, res, 0, 1, bd_seal_ad(ad, "result", id, -1), NULL, &bad);
            if (bad)
                *result = bd_store_unreadable_result(id);
        }
        if (kind)
            *kind = atoi(PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    return found;
}

int bd_pg_job_list(bd_pg_t *self, const char *tenant, const char *status, int64_t cursor_created,
                   const char *cursor_id, int limit, bd_store_list_fn *fn, void *arg)
{
    char c[24], l[12];
    snprintf(c, sizeof c, "%lld", (long long)cursor_created);
    snprintf(l, sizeof l, "%d", limit);
    const char *v[] = {tenant, status, c, cursor_id ? cursor_id : "", l};
    PGresult *res = PQexecParams(self->conn,
                                 "SELECT id, status, created FROM jobs WHERE tenant = $1 AND kind = 0"
                                 " AND ($2::text IS NULL OR status = $2)"
                                 " AND ($3::bigint = 0 OR created < $3 OR (created = $3 AND id < $4))"
                                 " ORDER BY created DESC, id DESC LIMIT $5::int", 5, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        return bn_error_set("store_unavailable", "list: %s", PQerrorMessage(self->conn));
    }
    for (int i = 0; i < PQntuples(res); i++)
        fn(arg, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), atoll(PQgetvalue(res, i, 2)));
    PQclear(res);
    return 0;
}

int bd_pg_task_done(bd_pg_t *self, const char *job_id, int seq, const char *reply)
{
    char s[12], ad[96];
    snprintf(s, sizeof s, "%d", seq);
    size_t n;
    void *rec = bd_seal_rec(self->keys, reply, strlen(reply), bd_seal_ad(ad, "reply", job_id, seq), &n);
    PQclear(s_write(self, Q_TASK, 3, (const char *[]){job_id, s, rec}, (int[]){0, 0, (int)n}, (int[]){0, 0, 1}));
    free(rec);
    return 0;
}

static int s_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int bd_pg_job_delete(bd_pg_t *self, const char *id)
{
    PGresult *res = s_write(self, Q_UNREF_JOB, 1, (const char *[]){id}, NULL, NULL);
    int n = res ? PQntuples(res) : 0;
    /* In sha order: two brokers releasing shared scans lock their rows in the same order. */
    char **shas = calloc((size_t)n + 1, sizeof *shas);
    for (int i = 0; i < n; i++)
        shas[i] = PQgetvalue(res, i, 0);
    qsort(shas, (size_t)n, sizeof *shas, s_cmp);
    for (int i = 0; i < n; i++)
        s_unref(self, shas[i]);
    free(shas);
    PQclear(res);
    s_write_ok(self, Q_DEL_TASKS, 1, (const char *[]){id});
    s_write_ok(self, Q_DEL_JOB, 1, (const char *[]){id});
    return 0;
}

int bd_pg_purge(bd_pg_t *self, int64_t before_ms)
{
    char b[24];
    snprintf(b, sizeof b, "%lld", (long long)before_ms);
    const char *v[] = {b};
    /* SKIP LOCKED: brokers purging at once take different rows. */
    s_begin(self);
    PGresult *res = self->in_tx && !self->tx_failed
                  ? PQexecParams(self->conn, "SELECT id FROM jobs WHERE status IN ('done','failed','cancelled')"
                                 " AND updated < $1 LIMIT 1000 FOR UPDATE SKIP LOCKED", 1, NULL, v, NULL, NULL, 0) : NULL;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        s_failed(self, res, "purge");
        PQclear(res);
        return -1;
    }
    int n = PQntuples(res);
    for (int i = 0; i < n; i++)
        bd_pg_job_delete(self, PQgetvalue(res, i, 0));
    PQclear(res);
    PQclear(PQexecParams(self->conn, "DELETE FROM outbox WHERE state <> 'pending' AND done < $1", 1, NULL, v, NULL,
                         NULL, 0));
    /* Scans stored by a turn that lost its job insert (a refused duplicate, say). */
    PQclear(PQexec(self->conn, "DELETE FROM blobs WHERE sha IN (SELECT sha FROM blobs WHERE refs = 0 LIMIT 100"
                               " FOR UPDATE SKIP LOCKED)"));
    return n;
}

/* Hand each job row (Q_MINE or Q_CLAIM, binary) to fn with its finished task replies. */
static int s_each_job(bd_pg_t *self, PGresult *res, bd_store_job_fn *fn, void *arg)
{
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        const char *id = PQgetvalue(res, i, 0);
        char ad[96];
        int bad;
        json_t *replies = json_array();
        PGresult *tr = s_run(self, Q_TASKS_OF, 1, (const char *[]){id}, NULL, NULL, 1);
        for (int t = 0; tr && t < PQntuples(tr); t++) {
            int seq = atoi(PQgetvalue(tr, t, 0));
            char *text = s_open(self, tr, t, 1, bd_seal_ad(ad, "reply", id, seq), NULL, &bad);
            if (bad)
                bn_error("job %s task %d: stored reply unreadable (%s); the task runs again", id, seq, bn_error_code());
            while ((int)json_array_size(replies) <= seq)
                json_array_append_new(replies, json_null());
            json_array_set_new(replies, (size_t)seq, text ? json_loads(text, 0, NULL) : json_null());
            free(text);
        }
        PQclear(tr);
        char *spec = s_open(self, res, i, 5, bd_seal_ad(ad, "spec", id, -1), NULL, &bad);
        fn(arg, id, PQgetvalue(res, i, 1), PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2),
           atoi(PQgetvalue(res, i, 3)), atoi(PQgetvalue(res, i, 4)), spec ? spec : "", PQgetvalue(res, i, 6),
           atoll(PQgetvalue(res, i, 7)), replies);
        free(spec);
        json_decref(replies);
    }
    return n;
}

int bd_pg_each_unfinished(bd_pg_t *self, bd_store_job_fn *fn, void *arg)
{
    PGresult *res = s_run(self, Q_MINE, 1, (const char *[]){self->id}, NULL, NULL, 1);
    int n = res ? s_each_job(self, res, fn, arg) : -1;
    PQclear(res);
    return n;
}

void bd_pg_announce(bd_pg_t *self, const char *id, const char *tenant, const char *status, const char *verdict)
{
    char payload[400];
    snprintf(payload, sizeof payload, "%s\x1f%.200s\x1f%s\x1f%s\x1f%s", id, tenant, status, verdict ? verdict : "",
             self->id);
    PQclear(s_write(self, Q_NOTIFY, 1, (const char *[]){payload}, NULL, NULL));
}

/* ---- webhook outbox ------------------------------------------------------------------- */

int64_t bd_pg_hook_add(bd_pg_t *self, const char *tenant, const char *job, const char *body, int64_t now_ms)
{
    char c[24];
    snprintf(c, sizeof c, "%lld", (long long)now_ms);
    PGresult *res = s_write(self, Q_HOOK_ADD, 5, (const char *[]){tenant, job, body, c, self->id}, NULL, NULL);
    int64_t seq = res && PQntuples(res) == 1 ? atoll(PQgetvalue(res, 0, 0)) : -1;
    PQclear(res);
    return seq;
}

void bd_pg_hook_update(bd_pg_t *self, int64_t seq, const char *state, int attempts, int64_t next_ms, int64_t done_ms,
                       const char *last_error)
{
    char s[24], a[12], nx[24], d[24];
    snprintf(s, sizeof s, "%lld", (long long)seq);
    snprintf(a, sizeof a, "%d", attempts);
    snprintf(nx, sizeof nx, "%lld", (long long)next_ms);
    snprintf(d, sizeof d, "%lld", (long long)done_ms);
    PQclear(s_write(self, Q_HOOK_UPDATE, 6, (const char *[]){s, state, a, nx, done_ms ? d : NULL, last_error}, NULL,
                    NULL));
}

int bd_pg_hook_each_pending(bd_pg_t *self, bd_store_hook_fn *fn, void *arg)
{
    const char *v[] = {self->id};
    PGresult *res = PQexecParams(self->conn, "SELECT seq, tenant, job, body, attempts, created, next FROM outbox"
                                 " WHERE state = 'pending' AND owner = $1 ORDER BY seq", 1, NULL, v, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_TUPLES_OK;
    for (int i = 0; ok && i < PQntuples(res); i++)
        fn(arg, atoll(PQgetvalue(res, i, 0)), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
           atoi(PQgetvalue(res, i, 4)), atoll(PQgetvalue(res, i, 5)), atoll(PQgetvalue(res, i, 6)));
    PQclear(res);
    return ok ? 0 : -1;
}

json_t *bd_pg_hook_list(bd_pg_t *self, const char *tenant, const char *state, int limit)
{
    char l[12];
    snprintf(l, sizeof l, "%d", limit);
    const char *v[] = {tenant, state, l};
    PGresult *res = PQexecParams(self->conn, "SELECT seq, tenant, job, state, attempts, created, next, done, last_error"
                                 " FROM outbox WHERE ($1::text IS NULL OR tenant = $1) AND ($2::text IS NULL OR state = $2)"
                                 " ORDER BY seq DESC LIMIT $3::int", 3, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        return NULL;
    }
    json_t *out = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *d = json_pack("{s:I, s:s, s:s, s:s, s:i, s:I}", "delivery", (json_int_t)atoll(PQgetvalue(res, i, 0)),
                              "tenant", PQgetvalue(res, i, 1), "job", PQgetvalue(res, i, 2), "state",
                              PQgetvalue(res, i, 3), "attempts", atoi(PQgetvalue(res, i, 4)), "created_ms",
                              (json_int_t)atoll(PQgetvalue(res, i, 5)));
        if (!strcmp(PQgetvalue(res, i, 3), "pending"))
            json_object_set_new(d, "next_ms", json_integer(atoll(PQgetvalue(res, i, 6))));
        if (!PQgetisnull(res, i, 7))
            json_object_set_new(d, "done_ms", json_integer(atoll(PQgetvalue(res, i, 7))));
        if (!PQgetisnull(res, i, 8))
            json_object_set_new(d, "last_error", json_string(PQgetvalue(res, i, 8)));
        json_array_append_new(out, d);
    }
    PQclear(res);
    return out;
}

void bd_pg_stats(bd_pg_t *self, bd_store_stats_t *out)
{
    PGresult *res = PQexec(self->conn,
                           "SELECT (SELECT count(*) FROM jobs WHERE status = 'done'),"
                           " (SELECT count(*) FROM jobs WHERE status = 'failed'),"
                           " (SELECT count(*) FROM jobs WHERE status = 'cancelled'),"
                           " (SELECT count(*) FROM outbox WHERE state = 'pending'),"
                           " pg_database_size(current_database()), pg_total_relation_size('blobs'),"
                           " (SELECT count(*) FROM brokers)");
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        out->done = atoll(PQgetvalue(res, 0, 0));
        out->failed = atoll(PQgetvalue(res, 0, 1));
        out->cancelled = atoll(PQgetvalue(res, 0, 2));
        out->outbox_pending = atoll(PQgetvalue(res, 0, 3));
        out->db_bytes = (uint64_t)atoll(PQgetvalue(res, 0, 4));
        out->spool_bytes = (uint64_t)atoll(PQgetvalue(res, 0, 5));
        out->brokers = atoll(PQgetvalue(res, 0, 6));
    }
    PQclear(res);
}

/* ---- the turn ------------------------------------------------------------------------- */

int bd_pg_commit(bd_pg_t *self)
{
    if (self->put_rec)
        s_send_put(self);
    if (!self->in_tx && !self->tx_failed)
        return 0;
    int ok = 0;
    if (self->in_tx && !self->tx_failed) {
        PGresult *res = PQexec(self->conn, "COMMIT");
        /* COMMIT of a transaction that failed inside answers ROLLBACK without an error. */
        ok = PQresultStatus(res) == PGRES_COMMAND_OK && !strcmp(PQcmdStatus(res), "COMMIT");
        if (!ok)
            s_failed(self, res, "commit");
        PQclear(res);
    } else if (self->in_tx && !self->down) {
        PQclear(PQexec(self->conn, "ROLLBACK"));
    }
    self->in_tx = self->tx_failed = 0;
    if (ok) {
        self->fail_code = NULL;
        return 0;
    }
    const char *code = self->fail_code ? self->fail_code : "store_conflict";
    self->fail_code = NULL;
    /* A lost connection may have lost the COMMIT's answer too: whether it happened is unknown,
     * and nothing of the turn is acknowledged either way (clients retry with their keys). */
    return bn_error_set(code, "the turn's transaction was rolled back (%s)", code);
}

int bd_pg_dirty(const bd_pg_t *self) { return self->in_tx || self->tx_failed || self->put_rec; }
int bd_pg_unavailable(const bd_pg_t *self) { return self->down; }
int bd_pg_fd(const bd_pg_t *self) { return self->down ? -1 : PQsocket(self->conn); }

int bd_pg_tick(bd_pg_t *self, bd_store_job_fn *fn, void *arg)
{
    int64_t now = bn_mono_ms();
    if (now < self->tick_at)
        return 0;
    self->tick_at = now + (self->down ? TICK_MS / 2 : TICK_MS);
    int flags = 0;
    if (self->down) {
        if (s_connect(self, 0) < 0)
            return 0;
        bn_info("store: PostgreSQL connection back: accepting work");
        flags |= BD_STORE_BACK;
    }
    /* Still registered? A broker presumed dead (its heartbeats stopped for a lease: a long
     * outage or a stall) has had its jobs taken: it registers afresh with none. */
    int rows = s_write_ok(self, Q_HEARTBEAT, 1, (const char *[]){self->id});
    if (rows == 0) {
        bn_warn("store: broker %.8s was presumed dead (not seen for %d ms) and its jobs were taken over; "
                "registering again", self->id, self->lease_ms);
        if (bd_pg_commit(self) == 0 && s_register(self) == 0)
            flags |= BD_STORE_LOST;
        return flags; /* take-overs at the next tick, after the broker dropped what it held */
    }
    if (rows < 0 || (flags & BD_STORE_BACK))
        return flags; /* the broker reloads its own jobs first */
    char lease[12], max[12];
    snprintf(lease, sizeof lease, "%d", self->lease_ms);
    snprintf(max, sizeof max, "%d", CLAIM_MAX);
    PGresult *res = s_write(self, Q_BURY, 2, (const char *[]){self->id, lease}, NULL, NULL);
    for (int i = 0; res && i < PQntuples(res); i++)
        bn_warn("store: broker %.8s not seen for %d ms: taking over its jobs and webhook deliveries",
                PQgetvalue(res, i, 0), self->lease_ms);
    PQclear(res);
    if (s_write_ok(self, Q_CLAIM_HOOKS, 1, (const char *[]){self->id}) > 0)
        flags |= BD_STORE_HOOKS;
    s_begin(self);
    res = s_run(self, Q_CLAIM, 2, (const char *[]){self->id, max}, NULL, NULL, 1);
    if (res && PQntuples(res) > 0) {
        bn_info("store: took over %d unfinished jobs", PQntuples(res));
        s_each_job(self, res, fn, arg);
    }
    PQclear(res);
    return flags;
}

int bd_pg_notified(bd_pg_t *self, bd_store_notify_fn *fn, void *arg)
{
    if (self->down)
        return 0;
    if (!PQconsumeInput(self->conn)) {
        s_failed(self, NULL, "listen");
        return 0;
    }
    int n = 0;
    PGnotify *note;
    while ((note = PQnotifies(self->conn))) {
        if (!strcmp(note->relname, "beian_claim")) {
            self->tick_at = 0; /* a broker stopped: take its jobs at the next turn */
            PQfreemem(note);
            continue;
        }
        char *f[5] = {0}, *p = note->extra;
        for (int i = 0; i < 5 && p; i++)
            f[i] = strsep(&p, "\x1f");
        /* Our own announcements were made in memory already. */
        if (f[2] && (!f[4] || strcmp(f[4], self->id) != 0)) {
            fn(arg, f[0], f[1], f[2], f[3] && *f[3] ? f[3] : NULL);
            n++;
        }
        PQfreemem(note);
    }
    return n;
}

struct pg_conn *bd_pg_conn(bd_pg_t *self) { return self->conn; }
