#include "bd_migrate.h"
#include "bd_pgstore.h"
#include "bd_seal.h"
#include "bd_store.h"
#include "core/bn_error.h"
#include "core/bn_log.h"

#include <libpq-fe.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Two migrations into one database at once: the second waits, then finds it not empty. */
#define MIGRATE_LOCK "4242002"

typedef struct {
    sqlite3 *db;
    PGconn *pg;
    bd_store_t *src;
    const bd_keyring_t *from, *to;
    bd_migrate_stats_t *out;
} migrate_t;

/* Is a broker serving dir? Its ipc socket answers a connect (libzmq listens on it); a socket
 * file left by a killed broker refuses. Without a lock file of its own, this is what there is:
 * a broker bound elsewhere only (--bind) is not seen. */
static int s_broker_running(const char *dir)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (snprintf(sa.sun_path, sizeof sa.sun_path, "%s/beiand.sock", dir) >= (int)sizeof sa.sun_path)
        return 0; /* too long for a socket path: no broker could have bound it either */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int up = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0)
        close(fd);
    return up;
}

/* A statement on the target, inside the migration's transaction. */
static int s_pg(migrate_t *m, const char *sql, int n, const char *const *v, const int *len, const int *fmt,
                PGresult **res_out)
{
    PGresult *res = PQexecParams(m->pg, sql, n, NULL, v, len, fmt, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        bn_error_set(PQstatus(m->pg) == CONNECTION_OK ? "store" : "store_unavailable", "PostgreSQL: %.70s…: %s",
                     sql, PQerrorMessage(m->pg));
        PQclear(res);
        return -1;
    }
    if (res_out)
        *res_out = res;
    else
        PQclear(res);
    return 0;
}

static sqlite3_stmt *s_select(migrate_t *m, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK)
        bn_error_set("store", "SQLite: %s: %s", sql, sqlite3_errmsg(m->db));
    return st;
}

/* The end of a SELECT's rows: 0, or -1 when the step failed rather than ran out. */
static int s_done(migrate_t *m, sqlite3_stmt *st, int rc, int failed)
{
    sqlite3_finalize(st);
    if (failed)
        return -1;
    return rc == SQLITE_DONE ? 0 : bn_error_set("store", "SQLite: %s", sqlite3_errmsg(m->db));
}

/* A sealed SQLite value sealed again for PostgreSQL: malloc'd, *n bytes; NULL for SQL NULL. A
 * value that does not open (damaged, or plaintext where a sealed record belongs) is copied as
 * it is: it reads as store_corrupt there as it did here, and the rest of the job still moves. */
static void *s_reseal(migrate_t *m, sqlite3_stmt *st, int col, const char *what, const char *id, int seq, int *n)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NULL;
    const void *v = sqlite3_column_blob(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col), plen, out;
    char ad[96];
    char *plain = bd_seal_rec_open(m->from, v, len, bd_seal_ad(ad, what, id, seq), &plen);
    if (!plain) {
        bn_warn("job %s: its %s record does not open (%s): copied as it is", id, what, bn_error_code());
        m->out->damaged++;
        void *copy = malloc(len ? len : 1);
        if (len)
            memcpy(copy, v, len);
        *n = (int)len;
        return copy;
    }
    void *rec = bd_seal_rec(m->to, plain, plen, bd_seal_ad(ad, what, id, seq), &out);
    sodium_memzero(plain, plen);
    free(plain);
    *n = (int)out;
    return rec;
}

/* Jobs, with their times; unfinished ones owned by nobody (the first broker's tick claims them). */
static int s_jobs(migrate_t *m)
{
    sqlite3_stmt *st = s_select(m, "SELECT id, tenant, key, kind, priority, status, spec, blobs, result, created,"
                                   " updated FROM jobs ORDER BY created, id");
    if (!st)
        return -1;
    int rc, failed = 0;
    while (!failed && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0), *status = (const char *)sqlite3_column_text(st, 5);
        int nspec = 0, nres = 0;
        void *spec = s_reseal(m, st, 6, "spec", id, -1, &nspec), *result = s_reseal(m, st, 8, "result", id, -1, &nres);
        const char *v[] = {id, (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2),
                           (const char *)sqlite3_column_text(st, 3), (const char *)sqlite3_column_text(st, 4), status,
                           spec, (const char *)sqlite3_column_text(st, 7), result,
                           (const char *)sqlite3_column_text(st, 9), (const char *)sqlite3_column_text(st, 10)};
        failed = s_pg(m, "INSERT INTO jobs(id, tenant, key, kind, priority, status, spec, blobs, result, created,"
                         " updated, owner) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL)", 11, v,
                      (int[]){0, 0, 0, 0, 0, 0, nspec, 0, nres, 0, 0}, (int[]){0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0},
                      NULL) < 0;
        free(spec);
        free(result);
        m->out->jobs++;
        m->out->unfinished += !strcmp(status, "queued") || !strcmp(status, "running");
    }
    return s_done(m, st, rc, failed);
}

static int s_tasks(migrate_t *m)
{
    sqlite3_stmt *st = s_select(m, "SELECT job, seq, reply FROM tasks ORDER BY job, seq");
    if (!st)
        return -1;
    int rc, failed = 0;
    while (!failed && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *job = (const char *)sqlite3_column_text(st, 0), *seq = (const char *)sqlite3_column_text(st, 1);
        int n = 0;
        void *reply = s_reseal(m, st, 2, "reply", job, atoi(seq), &n);
        failed = s_pg(m, "INSERT INTO tasks(job, seq, reply) VALUES($1, $2, $3)", 3,
                      (const char *[]){job, seq, reply}, (int[]){0, 0, n}, (int[]){0, 0, 1}, NULL) < 0;
        free(reply);
        m->out->tasks++;
    }
    return s_done(m, st, rc, failed);
}

/* Every blob a job refers to, opened from the spool (authenticated, checked against its name:
 * bd_store_blob_map) and sealed as a record; refs is its number of references. A damaged or
 * missing one stops the migration: an image is what the job is about. */
static int s_blobs(migrate_t *m)
{
    sqlite3_stmt *st = s_select(m, "SELECT sha, count(*) FROM blob_refs GROUP BY sha ORDER BY sha");
    if (!st)
        return -1;
    int rc, failed = 0;
    while (!failed && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *sha = (const char *)sqlite3_column_text(st, 0), *refs = (const char *)sqlite3_column_text(st, 1);
        void *data;
        size_t size, n;
        if (bd_store_blob_map(m->src, sha, &data, &size) < 0) {
            bn_error("blob %s, referred to by %s jobs, cannot be copied: nothing was", sha, refs);
            failed = 1;
            break;
        }
        char ad[96];
        void *rec = bd_seal_rec(m->to, data, size, bd_seal_ad(ad, "blob", sha, -1), &n);
        bd_store_blob_unmap(data, size);
        failed = s_pg(m, "INSERT INTO blobs(sha, data, refs) VALUES($1, $2, $3)", 3, (const char *[]){sha, rec, refs},
                      (int[]){0, (int)n, 0}, (int[]){0, 1, 0}, NULL) < 0;
        free(rec);
        m->out->blobs++;
        m->out->bytes += size;
    }
    if (s_done(m, st, rc, failed) < 0)
        return -1;
    st = s_select(m, "SELECT sha, job FROM blob_refs");
    if (!st)
        return -1;
    failed = 0;
    while (!failed && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *v[] = {(const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1)};
        failed = s_pg(m, "INSERT INTO blob_refs(sha, job) VALUES($1, $2)", 2, v, NULL, NULL, NULL) < 0;
        m->out->refs++;
    }
    return s_done(m, st, rc, failed);
}

/* The webhook outbox, delivery ids (seq) kept: they are in the deliveries' bodies and lists. */
static int s_outbox(migrate_t *m)
{
    sqlite3_stmt *st = s_select(m, "SELECT seq, tenant, job, body, state, attempts, created, next, done, last_error"
                                   " FROM outbox ORDER BY seq");
    if (!st)
        return -1;
    int rc, failed = 0;
    while (!failed && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        /* No owner: the first broker's tick takes pending deliveries over, like unfinished jobs. */
        int pending = !strcmp((const char *)sqlite3_column_text(st, 4), "pending");
        const char *v[10];
        for (int i = 0; i < 10; i++)
            v[i] = (const char *)sqlite3_column_text(st, i);
        failed = s_pg(m, "INSERT INTO outbox(seq, tenant, job, body, state, attempts, created, next, done, last_error)"
                         " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", 10, v, NULL, NULL, NULL) < 0;
        m->out->deliveries++;
        m->out->pending += pending;
    }
    if (s_done(m, st, rc, failed) < 0)
        return -1;
    /* New deliveries follow the copied ones. */
    return m->out->deliveries ? s_pg(m, "SELECT setval(pg_get_serial_sequence('outbox', 'seq'),"
                                        " (SELECT max(seq) FROM outbox))", 0, NULL, NULL, NULL, NULL) : 0;
}

/* The target holds nothing a migration would mix with. */
static int s_target_empty(migrate_t *m)
{
    PGresult *res;
    if (s_pg(m, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")", 0, NULL, NULL, NULL, NULL) < 0
        || s_pg(m, "SELECT (SELECT count(*) FROM jobs), (SELECT count(*) FROM blobs),"
                   " (SELECT count(*) FROM outbox)", 0, NULL, NULL, NULL, &res) < 0)
        return -1;
    long long jobs = atoll(PQgetvalue(res, 0, 0)), blobs = atoll(PQgetvalue(res, 0, 1)),
              hooks = atoll(PQgetvalue(res, 0, 2));
    PQclear(res);
    if (jobs || blobs || hooks)
        return bn_error_set("migrate_target_not_empty", "the PostgreSQL database already holds %lld jobs, %lld blobs "
                            "and %lld webhook deliveries: a SQLite store moves into an empty one only (a migration "
                            "is one transaction: an interrupted one left nothing there; docs/DEPLOY.md)", jobs, blobs,
                            hooks);
    return 0;
}

int bd_migrate(const char *dir, const char *url, const bn_config_t *cfg, bd_migrate_stats_t *out)
{
    memset(out, 0, sizeof *out);
    migrate_t m = {.out = out};
    bd_store_t *dst = NULL;
    int in_pg = 0, in_sqlite = 0, rc = -1;
    char path[4200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/beian.db", dir);
    /* bd_store_open would make an empty store: a mistyped --dir is said so instead. */
    if (stat(path, &sb) < 0 || sb.st_size == 0)
        return bn_error_set("migrate_source_missing", "%s: no SQLite store to migrate (-d names the broker's --dir)",
                            path);
    if (s_broker_running(dir))
        return bn_error_set("migrate_broker_running", "a broker serves %s/beiand.sock: stop it first (its jobs "
                            "would change under the copy)", dir);
    if (sodium_init() < 0)
        return bn_error_set("store", "libsodium failed to initialise");
    /* Opened as the broker opens them: the SQLite store checked (quick_check, keys) and its
     * records sealed with the current key; the target's schema migrated and its keys checked. */
    if (!(m.src = bd_store_open(dir, 1, 0, cfg)) || !(dst = bd_store_open_pg(dir, url, cfg)))
        goto done;
    m.db = bd_store_sqlite(m.src);
    m.pg = bd_pg_conn(bd_store_pg(dst));
    m.from = bd_store_keys(m.src);
    m.to = bd_store_keys(dst);
    /* One snapshot of the source, one transaction on the target. */
    if (sqlite3_exec(m.db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        bn_error_set("store", "SQLite: BEGIN: %s", sqlite3_errmsg(m.db));
        goto done;
    }
    in_sqlite = 1;
    if (s_pg(&m, "BEGIN", 0, NULL, NULL, NULL, NULL) < 0)
        goto done;
    in_pg = 1;
    if (s_target_empty(&m) < 0 || s_jobs(&m) < 0 || s_tasks(&m) < 0 || s_blobs(&m) < 0 || s_outbox(&m) < 0)
        goto done;
    PGresult *res = PQexec(m.pg, "COMMIT");
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK && !strcmp(PQcmdStatus(res), "COMMIT");
    if (!ok)
        bn_error_set(PQstatus(m.pg) == CONNECTION_OK ? "store" : "store_unavailable", "PostgreSQL: COMMIT: %s",
                     PQerrorMessage(m.pg));
    PQclear(res);
    in_pg = 0;
    if (!ok)
        goto done;
    rc = 0;
    bn_info("migrated %s to PostgreSQL: %lld jobs (%lld unfinished), %lld task replies, %lld blobs (%llu bytes), "
            "%lld webhook deliveries (%lld pending)", dir, (long long)out->jobs, (long long)out->unfinished,
            (long long)out->tasks, (long long)out->blobs, (unsigned long long)out->bytes,
            (long long)out->deliveries, (long long)out->pending);
done:
    if (in_pg)
        PQclear(PQexec(m.pg, "ROLLBACK"));
    if (in_sqlite)
        sqlite3_exec(m.db, "COMMIT", NULL, NULL, NULL); /* read only */
    /* The close must not replace the error that stopped us. */
    char code[64], msg[512];
    snprintf(code, sizeof code, "%s", bn_error_code());
    snprintf(msg, sizeof msg, "%s", bn_error_msg());
    bd_store_close(&dst);
    bd_store_close(&m.src);
    if (rc < 0)
        bn_error_set(code, "%s", msg);
    return rc;
}
