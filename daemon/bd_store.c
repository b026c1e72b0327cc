#include "bd_store.h"
#include "core/bn_clock.h"
#include "bd_arena.h"
#include "bd_memjobs.h"
#include "bd_pgstore.h"
#include "bd_seal.h"
#include "core/bn_error.h"
#include "core/bn_log.h"
#include "core/bn_sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define MAX_STAGED 4096
#define DEFAULT_MIN_FREE ((uint64_t)64 << 20)
#define BD_STORE_FULL_MS 5000 /* the least a failed write keeps the store full: retry_after_ms */

struct bd_store {
    sqlite3 *db;
    bd_pg_t *pg;      /* the PostgreSQL store: everything below but the keys is unused */
    int durable;
    int in_tx;
    char *spool;      /* dir/spool */
    int spool_fd;     /* open directory, for fsync and syncfs */
    char *staged[MAX_STAGED]; /* sha of blobs written to spool/tmp, renamed at commit */
    int nstaged;
    uint64_t tmp_seq;
    sqlite3_stmt *st_insert, *st_bykey, *st_status, *st_get, *st_task, *st_del_job, *st_del_tasks;
    sqlite3_stmt *st_ref, *st_unref, *st_refs_of, *st_unref_job, *st_has_ref;
    char *orphans[MAX_STAGED]; /* released blobs to unlink after the commit if nothing refers to them */
    int norphans;
    char *shm;        /* memory mode: private tmpfs directory for large payloads, or NULL */
    bd_arena_t *arena; /* its payload file */
    bd_memjobs_t *done; /* memory mode: finished jobs (SQLite is not used for them) */
    bd_keyring_t *keys; /* durable mode: seals records and spool files */
    char *dir;
    uint64_t min_free;  /* store.min_free_bytes */
    int full;           /* refusing new work: see bd_store_full */
    uint64_t free_at_error; /* free bytes when a write failed for want of space, 0 if none did */
    int64_t full_until; /* and not before this (monotonic ms) */
    int64_t space_at;   /* next statvfs (monotonic ms) */
    int tx_failed;      /* a statement of the open transaction failed for want of space */
};

/* Storage failures after a submission was accepted are fatal by design (see header). */
static void s_die(const char *what, const char *detail)
{
    bn_error("FATAL store %s failed: %s — stopping rather than acknowledging data that may be lost", what, detail);
    abort();
}

/* Errors that mean "no room", whatever the layer: disk full, quota, file size limit. */
static int s_nospace(int e) { return e == ENOSPC || e == EDQUOT || e == EFBIG; }

/* SQLite says SQLITE_FULL for ENOSPC, but SQLITE_IOERR_WRITE for EDQUOT and EFBIG (and does
 * not keep their errno). A failed write(), unlike a failed fsync, leaves nothing uncertain —
 * the transaction is rolled back, the file is as it was — so IOERR_WRITE is taken for "no
 * room" too; the store then waits for space (a disk that fails writes for another reason
 * keeps the broker refusing work, with the warning in the log, rather than restarting). */
static int s_sql_nospace(bd_store_t *self, int rc)
{
    return rc == SQLITE_FULL || sqlite3_extended_errcode(self->db) == SQLITE_IOERR_WRITE
        || ((rc & 0xff) == SQLITE_IOERR && s_nospace(sqlite3_system_errno(self->db)));
}

static uint64_t s_free_bytes(const bd_store_t *self)
{
    struct statvfs vfs;
    if (statvfs(self->dir, &vfs) < 0)
        return UINT64_MAX; /* unknowable: let the writes tell */
    return (uint64_t)vfs.f_bavail * vfs.f_frsize;
}

/* A write found no room: full until more is free than then (see bd_store_check_space). */
static void s_full(bd_store_t *self, const char *what)
{
    uint64_t fb = s_free_bytes(self);
    if (!self->full)
        bn_warn("store full: %s failed for want of space (%llu bytes free in %s): refusing new work "
                "(503 store_full), still serving status and results", what, (unsigned long long)fb, self->dir);
    self->full = 1;
    self->free_at_error = fb == UINT64_MAX ? 1 : fb + 1;
    self->full_until = bn_mono_ms() + BD_STORE_FULL_MS;
}

int bd_store_full(const bd_store_t *self) { return self->full || bd_store_unavailable(self); }

int bd_store_check_space(bd_store_t *self)
{
    if (!self->durable || self->pg)
        return bd_store_full(self);
    int64_t now = bn_mono_ms();
    if (now < self->space_at)
        return self->full;
    self->space_at = now + 250;
    uint64_t fb = s_free_bytes(self);
    /* After a failed write, a megabyte more than there was then, and not before the
     * retry_after_ms the refusals name: not to bounce off the same wall every 250 ms (free
     * space that others' files move by a megabyte is not room either). */
    uint64_t want = self->min_free;
    if (self->free_at_error && self->free_at_error + (1u << 20) > want)
        want = self->free_at_error + (1u << 20);
    int full = fb < want || (self->free_at_error && now < self->full_until);
    if (full && !self->full)
        bn_warn("store full: %llu bytes free in %s, below store.min_free_bytes (%llu): refusing new work "
                "(503 store_full), still serving status and results", (unsigned long long)fb, self->dir,
                (unsigned long long)self->min_free);
    else if (!full && self->full)
        bn_info("store has room again (%llu bytes free in %s): accepting work", (unsigned long long)fb, self->dir);
    if (!full)
        self->free_at_error = 0;
    self->full = full;
    return full;
}

static int s_exec(bd_store_t *self, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(self->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        bn_error_set("store", "%s: %s", sql, err ? err : "?");
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

/* Remove a flat directory and its files (the memory store's tmpfs directory, spool/tmp). */
static void s_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    rmdir(dir);
}

/* Payload directories of memory-mode brokers that died without closing their store (kill -9):
 * the memory they hold is nobody's. Only our own, and only when that pid is gone. */
static void s_shm_sweep(void)
{
    DIR *d = opendir("/dev/shm");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int pid;
        char path[300];
        struct stat st;
        snprintf(path, sizeof path, "/dev/shm/%.255s", e->d_name);
        if (sscanf(e->d_name, "beiand.%d", &pid) == 1 && pid > 0 && stat(path, &st) == 0 && st.st_uid == getuid()
            && (kill(pid, 0) < 0 && errno == ESRCH))
            s_rmtree(path);
    }
    if (d)
        closedir(d);
}

static int s_prepare(bd_store_t *self, sqlite3_stmt **st, const char *sql)
{
    if (sqlite3_prepare_v2(self->db, sql, -1, st, NULL) != SQLITE_OK)
        return bn_error_set("store", "prepare %s: %s", sql, sqlite3_errmsg(self->db));
    return 0;
}

/* Is the database file empty or missing (and no write-ahead log holds its pages)? */
static int s_db_empty(const char *path)
{
    struct stat st;
    char wal[4200];
    if (stat(path, &st) == 0 && st.st_size > 0)
        return 0;
    snprintf(wal, sizeof wal, "%s-wal", path);
    return !(stat(wal, &st) == 0 && st.st_size > 0);
}

/* A spool file's name: 64 hex digits (a blob), optionally ".corrupt" (one moved aside). */
static int s_blob_file_name(const char *name, int with_corrupt)
{
    return strspn(name, "0123456789abcdef") == 64 && (!name[64] || (with_corrupt && !strcmp(name + 64, ".corrupt")));
}

static int s_spool_files(const char *spool)
{
    DIR *d = opendir(spool);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        n += s_blob_file_name(e->d_name, 1);
    if (d)
        closedir(d);
    return n;
}

static int s_quick_check(bd_store_t *self, const char *path)
{
    sqlite3_stmt *st = NULL;
    char what[200] = "";
    int rc = sqlite3_prepare_v2(self->db, "PRAGMA quick_check", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        const char *r = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
        if (r && strcmp(r, "ok") == 0) {
            sqlite3_finalize(st);
            return 0;
        }
        if (r)
            snprintf(what, sizeof what, "%s", r);
    }
    if (!what[0])
        snprintf(what, sizeof what, "%s", sqlite3_errmsg(self->db));
    sqlite3_finalize(st);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return bn_error_set("store", "%s: %s", path, what);
    /* Issue #11: no room is no damage. After a clean stop SQLite makes the WAL index
     * (beian.db-shm) again at the first read; on a full disk that fails (SQLITE_IOERR_SHMSIZE,
     * ENOSPC), and "restore a backup" would throw away the work done since the backup. */
    if (s_sql_nospace(self, rc))
        return bn_error_set("store_full", "%s cannot be opened: no room in %s (%llu bytes free) for SQLite's files "
                            "(%.100s). The database is not damaged: free space, then start beiand again "
                            "(docs/STORE.md \"Disk full\")", path, self->dir, (unsigned long long)s_free_bytes(self), what);
    return bn_error_set("store_db_corrupt", "%s failed its integrity check (PRAGMA quick_check: %.150s). The broker "
                        "does not start on a damaged database: restore beian.db from a backup; the spool %s is left "
                        "as it is (docs/STORE.md)", path, what, self->spool);
}

/* Bind text sealed (durable store) or as it is (memory store). */
static void s_bind_sealed(bd_store_t *self, sqlite3_stmt *st, int idx, const char *text, size_t len, const char *ad)
{
    if (!self->keys) {
        sqlite3_bind_text(st, idx, text, (int)len, SQLITE_STATIC);
        return;
    }
    size_t n;
    void *rec = bd_seal_rec(self->keys, text, len, ad, &n);
    sqlite3_bind_blob(st, idx, rec, (int)n, free);
}

/* A sealed column's plaintext, malloc'd; NULL for SQL NULL, or NULL with *bad set and bn_error
 * (store_corrupt, store_key_missing) when it does not open. */
static char *s_col_open(bd_store_t *self, sqlite3_stmt *st, int col, const char *ad, int *bad)
{
    *bad = 0;
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NULL;
    if (!self->keys)
        return strdup((const char *)sqlite3_column_text(st, col));
    char *p = bd_seal_rec_open(self->keys, sqlite3_column_blob(st, col), (size_t)sqlite3_column_bytes(st, col), ad, NULL);
    *bad = !p;
    return p;
}

/* The store key (docs/STORE.md): store.key_file, default <dir>/beian.key, made at the first
 * start; old keys from store.old_key_files, default <key file>.old when it exists. */
static int s_keys_open(bd_store_t *self, const bn_config_t *cfg, const uint32_t *ids, int nids)
{
    char dflt[4200], oldp[4300];
    snprintf(dflt, sizeof dflt, "%s/beian.key", self->dir);
    const char *key_file = bn_config_str(cfg, "store.key_file", dflt);
    const char *old[BD_SEAL_MAX_KEYS - 1];
    int nold = 0;
    json_t *list = bn_config_get(cfg, "store.old_key_files"), *v;
    size_t i;
    if (list && !json_is_array(list))
        return bn_error_set("config_invalid", "store.old_key_files must be a list of key file paths");
    json_array_foreach(list, i, v) {
        if (!json_is_string(v) || nold == BD_SEAL_MAX_KEYS - 1)
            return bn_error_set("config_invalid", "store.old_key_files: at most %d paths", BD_SEAL_MAX_KEYS - 1);
        old[nold++] = json_string_value(v);
    }
    snprintf(oldp, sizeof oldp, "%s.old", key_file);
    if (!list && access(oldp, F_OK) == 0)
        old[nold++] = oldp;
    char hex[9], cur[9];
    /* A missing key file is made afresh only for a store with nothing sealed yet, or when old
     * keys are given (a rotation): a new key would not open what the lost one sealed. */
    self->keys = bd_keyring_open(key_file, nids == 0 || nold > 0, old, nold);
    if (!self->keys) {
        if (!strcmp(bn_error_code(), "store_key_missing") && nids) {
            bd_seal_id_hex(ids[0], hex);
            return bn_error_set("store_key_missing", "%s does not exist, but the store holds records sealed with key %s: "
                                "restore the key file from its backup, or point store.key_file at it; a new key would "
                                "not open them (docs/STORE.md)", key_file, hex);
        }
        return -1;
    }
    bd_seal_id_hex(bd_keyring_current(self->keys), cur);
    for (int k = 0; k < nids; k++)
        if (!bd_keyring_has(self->keys, ids[k])) {
            bd_seal_id_hex(ids[k], hex);
            return bn_error_set("store_key_mismatch", "the store holds records sealed with key %s, which neither %s (key %s) "
                                "nor the %d old key file(s) open: the wrong key file? (docs/STORE.md)", hex, key_file,
                                cur, nold);
        }
    bn_info("store sealed with key %s (%s)%s", cur, key_file, nold ? "; old keys loaded" : "");
    return 0;
}

/* The keys the SQLite database's records were sealed with. */
static int s_sqlite_key_ids(bd_store_t *self, uint32_t *ids, int max)
{
    int nids = 0;
    sqlite3_stmt *st;
    if (s_prepare(self, &st, "SELECT DISTINCT substr(v,1,8) FROM (SELECT spec AS v FROM jobs UNION ALL"
                             " SELECT result FROM jobs UNION ALL SELECT reply FROM tasks) WHERE typeof(v)='blob'"))
        return -1;
    while (sqlite3_step(st) == SQLITE_ROW && nids < max) {
        uint32_t id;
        if (bd_seal_rec_id(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &id))
            ids[nids++] = id;
    }
    sqlite3_finalize(st);
    return nids;
}

static int s_reseal(bd_store_t *self);

bd_store_t *bd_store_open_pg(const char *dir, const char *url, const bn_config_t *cfg)
{
    bd_store_t *self = calloc(1, sizeof *self);
    self->durable = 1;
    self->spool_fd = -1;
    self->dir = strdup(dir);
    mkdir(dir, 0700); /* the key file's home */
    uint32_t ids[16];
    int nids;
    if (!(self->pg = bd_pg_open(url, cfg)) || (nids = bd_pg_key_ids(self->pg, ids, 16)) < 0
        || s_keys_open(self, cfg, ids, nids) < 0 || bd_pg_set_keys(self->pg, self->keys) < 0) {
        bd_store_close(&self);
        return NULL;
    }
    return self;
}

int bd_store_shared(const bd_store_t *self) { return self->pg != NULL; }
struct sqlite3 *bd_store_sqlite(bd_store_t *self) { return self->pg || !self->durable ? NULL : self->db; }
struct bd_pg *bd_store_pg(bd_store_t *self) { return self->pg; }
const struct bd_keyring *bd_store_keys(const bd_store_t *self) { return self->keys; }
int bd_store_unavailable(const bd_store_t *self) { return self->pg && bd_pg_unavailable(self->pg); }
int bd_store_fd(const bd_store_t *self) { return self->pg ? bd_pg_fd(self->pg) : -1; }

int bd_store_tick(bd_store_t *self, bd_store_job_fn *fn, void *arg)
{
    return self->pg ? bd_pg_tick(self->pg, fn, arg) : 0;
}

void bd_store_announce(bd_store_t *self, const char *id, const char *tenant, const char *status, const char *verdict)
{
    if (self->pg)
        bd_pg_announce(self->pg, id, tenant, status, verdict);
}

int bd_store_job_cancel(bd_store_t *self, const char *id, char *tenant, size_t cap)
{
    return self->pg ? bd_pg_job_cancel(self->pg, id, tenant, cap) : 0;
}

int bd_store_notified(bd_store_t *self, bd_store_notify_fn *fn, void *arg)
{
    return self->pg ? bd_pg_notified(self->pg, fn, arg) : 0;
}

bd_store_t *bd_store_open(const char *dir, int durable, uint64_t arena_cap, const bn_config_t *cfg)
{
    bd_store_t *self = calloc(1, sizeof *self);
    self->durable = durable;
    self->spool_fd = -1;
    self->dir = strdup(dir);
    double mf = bn_config_num(cfg, "store.min_free_bytes", (double)DEFAULT_MIN_FREE);
    self->min_free = mf > 0 ? (uint64_t)mf : 0;
    int fresh = 0;
    char path[4096];
    if (durable) {
        mkdir(dir, 0700);
        snprintf(path, sizeof path, "%s/spool", dir);
        mkdir(path, 0700);
        chmod(path, 0700); /* a spool made by an earlier version under a loose umask */
        /* Absolute: workers are told these paths (frame_refs) and may run in another cwd. */
        self->spool = realpath(path, NULL);
        if (!self->spool) {
            bn_error_set("store", "%s: %s", path, strerror(errno));
            goto err;
        }
        snprintf(path, sizeof path, "%s/spool/tmp", dir);
        s_rmtree(path); /* blobs staged by a broker that died before its commit: never acknowledged */
        mkdir(path, 0700);
        self->spool_fd = open(self->spool, O_RDONLY | O_DIRECTORY);
        if (self->spool_fd < 0) {
            bn_error_set("store", "open %s: %s", self->spool, strerror(errno));
            goto err;
        }
        snprintf(path, sizeof path, "%s/beian.db", dir);
        /* Issue #11: an empty (or missing) database next to a spool with files is a lost
         * database, not a new store: opening it would create empty tables and leave every
         * spool file without a job that refers to it — never purged, never read. */
        fresh = s_db_empty(path);
        int nfiles = fresh ? s_spool_files(self->spool) : 0;
        if (nfiles > 0) {
            bn_error_set("store_db_empty", "%s is empty or missing, but the spool %s holds %d image files: the job "
                         "database that refers to them is gone. Restore beian.db from a backup, or move the spool "
                         "directory aside to start an empty store (docs/STORE.md)", path, self->spool, nfiles);
            goto err;
        }
        /* Issue #11: the database holds personal data. SQLite creates -wal and -shm with the
         * database file's mode, so the file is made (or tightened to) 0600 before SQLite opens it. */
        int dbfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (dbfd < 0 || fchmod(dbfd, 0600) < 0) {
            bn_error_set("store", "%s: %s", path, strerror(errno));
            if (dbfd >= 0)
                close(dbfd);
            goto err;
        }
        close(dbfd);
        for (const char *const *sfx = (const char *const[]){"-wal", "-shm", NULL}; *sfx; sfx++) {
            char side[4200];
            snprintf(side, sizeof side, "%s%s", path, *sfx);
            chmod(side, 0600); /* left by an earlier broker, perhaps with looser bits; ENOENT is fine */
        }
    } else {
        s_shm_sweep();
        static int opened; /* one process may open several stores (tests) */
        snprintf(path, sizeof path, "/dev/shm/beiand.%d.%d", (int)getpid(), opened++);
        int rc = mkdir(path, 0700);
        if (rc < 0 && errno == EEXIST) { /* an earlier process with our pid (container restart) */
            s_rmtree(path);
            rc = mkdir(path, 0700);
        }
        if (rc == 0) {
            self->shm = strdup(path);
            snprintf(path, sizeof path, "%s/payloads", self->shm);
            self->arena = bd_arena_new(path, arena_cap, arena_cap / 32); /* slack: 96 MiB by default */
        }
        if (!self->arena)
            bn_warn("no payload file under /dev/shm (%s): large payloads stay in the broker's memory and "
                    "are sent to workers", strerror(errno));
        self->done = bd_memjobs_new();
        snprintf(path, sizeof path, ":memory:");
    }
    if (sqlite3_open(path, &self->db) != SQLITE_OK) {
        bn_error_set("store", "open %s: %s", path, sqlite3_errmsg(self->db));
        goto err;
    }
    /* Damaged pages are found now, with a message that says what to do, rather than as a
     * failed statement in the middle of the work (which aborts the broker, again and again). */
    if (durable && s_quick_check(self, path) < 0)
        goto err;
    /* secure_delete: a deleted or rewritten value (a purged job, a record sealed again) is
     * zeroed in the file instead of staying in a free page. */
    if (durable && (s_exec(self, "PRAGMA journal_mode=WAL") || s_exec(self, "PRAGMA synchronous=FULL")
                    || s_exec(self, "PRAGMA secure_delete=ON")))
        goto err;
    if (s_exec(self, "CREATE TABLE IF NOT EXISTS jobs ("
                     " id TEXT PRIMARY KEY, tenant TEXT NOT NULL, key TEXT, kind INTEGER NOT NULL,"
                     " priority INTEGER NOT NULL, status TEXT NOT NULL, spec TEXT NOT NULL, blobs TEXT NOT NULL, result TEXT,"
                     " created INTEGER NOT NULL, updated INTEGER NOT NULL)")
        || s_exec(self, "CREATE UNIQUE INDEX IF NOT EXISTS jobs_key ON jobs(tenant, key) WHERE key IS NOT NULL")
        || s_exec(self, "CREATE INDEX IF NOT EXISTS jobs_open ON jobs(status) WHERE status IN ('queued','running')")
        /* beian.list pages a tenant's jobs newest first */
        || s_exec(self, "CREATE INDEX IF NOT EXISTS jobs_tenant ON jobs(tenant, created, id)")
        || s_exec(self, "CREATE TABLE IF NOT EXISTS tasks (job TEXT NOT NULL, seq INTEGER NOT NULL,"
                        " reply TEXT NOT NULL, PRIMARY KEY(job, seq))")
        /* Which job holds which blob: content addressing shares a file between jobs, so a
         * file is deleted only when its last reference goes. */
        || s_exec(self, "CREATE TABLE IF NOT EXISTS blob_refs (sha TEXT NOT NULL, job TEXT NOT NULL,"
                        " PRIMARY KEY(sha, job)) WITHOUT ROWID")
        || s_exec(self, "CREATE INDEX IF NOT EXISTS blob_refs_job ON blob_refs(job)")
        /* Webhook outbox (docs/WEBHOOKS.md): a row per finished job of a tenant with a webhook,
         * written in the transaction that finishes the job, so no finish goes unannounced. */
        || s_exec(self, "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                        " tenant TEXT NOT NULL, job TEXT NOT NULL, body TEXT NOT NULL,"
                        " state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,"
                        " created INTEGER NOT NULL, next INTEGER NOT NULL, done INTEGER, last_error TEXT)")
        || s_exec(self, "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(seq) WHERE state = 'pending'"))
        goto err;
    if (s_prepare(self, &self->st_insert, "INSERT INTO jobs(id,tenant,key,kind,priority,status,spec,blobs,created,updated,result)"
                                          " VALUES(?,?,?,?,?,?,?,?,?,?,?)")
        || s_prepare(self, &self->st_bykey, "SELECT id FROM jobs WHERE tenant=? AND key=?")
        || s_prepare(self, &self->st_status, "UPDATE jobs SET status=?, result=COALESCE(?, result),"
                                             " updated=CAST(strftime('%s','now') AS INTEGER)*1000 WHERE id=?")
        || s_prepare(self, &self->st_get, "SELECT status, result, kind FROM jobs WHERE id=?1 AND (?2 IS NULL OR tenant=?2)")
        || s_prepare(self, &self->st_task, "INSERT OR REPLACE INTO tasks(job,seq,reply) VALUES(?,?,?)")
        || s_prepare(self, &self->st_del_job, "DELETE FROM jobs WHERE id=?")
        || s_prepare(self, &self->st_del_tasks, "DELETE FROM tasks WHERE job=?")
        || s_prepare(self, &self->st_ref, "INSERT OR IGNORE INTO blob_refs(sha, job) VALUES(?,?)")
        || s_prepare(self, &self->st_unref, "DELETE FROM blob_refs WHERE sha=? AND job=?")
        || s_prepare(self, &self->st_refs_of, "SELECT sha FROM blob_refs WHERE job=?")
        || s_prepare(self, &self->st_unref_job, "DELETE FROM blob_refs WHERE job=?")
        || s_prepare(self, &self->st_has_ref, "SELECT 1 FROM blob_refs WHERE sha=? LIMIT 1"))
        goto err;
    if (durable) {
        uint32_t ids[16];
        int nids = s_sqlite_key_ids(self, ids, 16);
        if (nids < 0 || s_keys_open(self, cfg, ids, nids) < 0 || s_reseal(self) < 0)
            goto err;
    }
    return self;
err:
    bd_store_close(&self);
    return NULL;
}

void bd_store_close(bd_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bd_store_t *self = *self_p;
    bd_pg_close(&self->pg);
    if (self->db && self->in_tx)
        (void)bd_store_commit(self); /* full: rolled back, as at a crash; nothing of it was acknowledged */
    sqlite3_stmt *sts[] = {self->st_insert, self->st_bykey, self->st_status, self->st_get,
                           self->st_task, self->st_del_job, self->st_del_tasks, self->st_ref,
                           self->st_unref, self->st_refs_of, self->st_unref_job, self->st_has_ref};
    for (size_t i = 0; i < sizeof sts / sizeof sts[0]; i++)
        sqlite3_finalize(sts[i]);
    if (self->db)
        sqlite3_close(self->db);
    if (self->spool_fd >= 0)
        close(self->spool_fd);
    bd_arena_destroy(&self->arena);
    bd_memjobs_destroy(&self->done);
    if (self->shm)
        s_rmtree(self->shm);
    free(self->shm);
    free(self->spool);
    free(self->dir);
    bd_keyring_destroy(&self->keys);
    free(self);
    *self_p = NULL;
}

int bd_store_durable(const bd_store_t *self) { return self->durable; }
int bd_store_dirty(const bd_store_t *self)
{
    return self->pg ? bd_pg_dirty(self->pg) : self->in_tx || self->nstaged || self->norphans;
}

static void s_begin(bd_store_t *self)
{
    /* A statement that failed for want of space may have rolled the transaction back (SQLite
     * does so on SQLITE_FULL): begin again, so the rest of the turn is still one transaction,
     * which the commit rolls back (tx_failed). */
    if (!self->in_tx || (self->tx_failed && sqlite3_get_autocommit(self->db))) {
        if (s_exec(self, "BEGIN IMMEDIATE") < 0)
            s_die("begin", bn_error_msg());
        self->in_tx = 1;
    }
}

/* A write statement's outcome: no room marks the transaction for rollback (bd_store_commit
 * reports store_full); anything else is fatal, as before. */
static void s_step_check(bd_store_t *self, int rc, const char *what)
{
    if (rc == SQLITE_DONE)
        return;
    if (s_sql_nospace(self, rc)) {
        self->tx_failed = 1;
        s_full(self, what);
        return;
    }
    s_die(what, sqlite3_errmsg(self->db));
}

/* OpenSSL's SHA-256 uses the CPU's SHA extensions (~1.4 GB/s here, libsodium's portable code
 * ~0.25 GB/s): hashing a 3 MB scan must not cost more than writing it. */
typedef struct {
    const void *data;
    size_t size;
    char hex[65];
    int ok;
} s_hash_t;

static void *s_hash(void *arg)
{
    s_hash_t *h = arg;
    h->ok = bn_sha256_hex(h->data, h->size, h->hex) == 0;
    return NULL;
}

/* Already durable or staged: content addressing makes the copy unnecessary. */
static int s_known(const bd_store_t *self, const char *sha_hex)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", self->spool, sha_hex);
    if (access(path, F_OK) == 0)
        return 1;
    for (int i = 0; i < self->nstaged; i++)
        if (strcmp(self->staged[i], sha_hex) == 0)
            return 1;
    return 0;
}

#define PARALLEL_HASH_MIN (1u << 20)

int bd_store_blob_put(bd_store_t *self, const void *data, size_t size, char sha_hex[65])
{
    if (!self->durable) {
        /* Nothing is stored, so nothing needs a content address: skip hashing (~3 ms per MB). */
        snprintf(sha_hex, 65, "mem-%llu", (unsigned long long)++self->tmp_seq);
        return 0;
    }
    if (self->pg)
        return bd_pg_blob_put(self->pg, data, size, sha_hex);
    /* A scan is hashed on a second thread while this one writes it under a temporary name:
     * the hash (~0.7 ms/MB) and the page-cache copy (~0.5 ms/MB) overlap instead of adding up,
     * and the content address names the file once both are done. The cost: a duplicate scan
     * is written before it is known to be one. Small blobs are hashed first and not written
     * twice. */
    s_hash_t h = {.data = data, .size = size};
    pthread_t th;
    int parallel = size >= PARALLEL_HASH_MIN && pthread_create(&th, NULL, s_hash, &h) == 0;
    if (!parallel) {
        s_hash(&h);
        if (!h.ok)
            return bn_error_set("store", "sha256 failed");
        snprintf(sha_hex, 65, "%s", h.hex);
        if (s_known(self, sha_hex))
            return 0;
    }
    char tmp[4096];
    if (parallel)
        snprintf(tmp, sizeof tmp, "%s/tmp/.w%llu", self->spool, (unsigned long long)++self->tmp_seq);
    else
        snprintf(tmp, sizeof tmp, "%s/tmp/%s", self->spool, sha_hex);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int e = fd < 0 ? errno : bd_seal_file_write(self->keys, fd, data, size) < 0 ? errno : 0;
    if (fd >= 0)
        close(fd);
    if (parallel)
        pthread_join(th, NULL);
    if (e || !h.ok) {
        unlink(tmp);
        if (e && s_nospace(e)) {
            s_full(self, "a spool write");
            return bn_error_set("store_full", "write %s: %s", tmp, strerror(e));
        }
        return e ? bn_error_set("store", "write %s: %s", tmp, strerror(e)) : bn_error_set("store", "sha256 failed");
    }
    if (parallel) {
        snprintf(sha_hex, 65, "%s", h.hex);
        if (s_known(self, sha_hex)) {
            unlink(tmp);
            return 0;
        }
        char named[4096];
        snprintf(named, sizeof named, "%s/tmp/%s", self->spool, sha_hex);
        if (rename(tmp, named) < 0) {
            e = errno;
            unlink(tmp);
            return bn_error_set("store", "rename %s: %s", tmp, strerror(e));
        }
    }
    if (self->nstaged == MAX_STAGED)
        bd_store_commit(self);
    self->staged[self->nstaged++] = strdup(sha_hex);
    return 0;
}

/* An arena payload's name carries where it is: "shm-<offset>-<bytes>". */
static int s_shm_name(const char *name, uint64_t *off, size_t *size)
{
    unsigned long long o, n;
    if (sscanf(name, "shm-%llu-%llu", &o, &n) != 2)
        return 0;
    *off = o, *size = (size_t)n;
    return 1;
}

int bd_store_shm_put(bd_store_t *self, const void *data, size_t size, char name[65])
{
    uint64_t off;
    if (!self->arena || bd_arena_put(self->arena, data, size, &off) < 0)
        return -1;
    snprintf(name, 65, "shm-%llu-%zu", (unsigned long long)off, size);
    return 0;
}

void bd_store_shm_release(bd_store_t *self, const char *name)
{
    uint64_t off;
    size_t size;
    if (self->arena && name && s_shm_name(name, &off, &size))
        bd_arena_free(self->arena, off, size);
}

int bd_store_blob_paths(const bd_store_t *self, const char *name, char paths[2][4096], uint64_t *offset)
{
    size_t size;
    *offset = 0;
    if (s_shm_name(name, offset, &size))
        return self->arena ? (snprintf(paths[0], 4096, "%s", bd_arena_path(self->arena)), 1) : 0;
    /* A durable blob's file is sealed (bd_seal): a worker could not read it without the
     * store key, which stays the broker's. Such payloads go as bytes. */
    return 0;
}

void bd_store_trim(bd_store_t *self)
{
    if (self->arena)
        bd_arena_trim(self->arena);
}

uint64_t bd_store_shm_bytes(const bd_store_t *self) { return self->arena ? bd_arena_size(self->arena) : 0; }

/* A spool file that does not match its name is moved aside as <sha>.corrupt: an upload of the
 * same image writes a good copy again (content addressing would otherwise reuse the damaged
 * one forever), the damage stays visible to the operator, and the file still goes with its
 * last reference (bd_store_commit). Logged with the name's prefix and the size only. */
static void s_quarantine(bd_store_t *self, const char *sha_hex, size_t size)
{
    char path[4096], aside[4200];
    snprintf(path, sizeof path, "%s/%s", self->spool, sha_hex);
    snprintf(aside, sizeof aside, "%s.corrupt", path);
    int moved = rename(path, aside) == 0;
    bn_error("spool file %.12s… (%zu bytes) does not match its content address: store_corrupt%s", sha_hex, size,
             moved ? "; moved aside as <sha>.corrupt" : "");
}

int bd_store_blob_map(bd_store_t *self, const char *sha_hex, void **data, size_t *size)
{
    uint64_t off;
    if (self->arena && s_shm_name(sha_hex, &off, size)) {
        static char empty;
        *data = *size ? mmap(NULL, *size, PROT_READ, MAP_SHARED, bd_arena_fd(self->arena), (off_t)off) : &empty;
        return *data == MAP_FAILED ? bn_error_set("blob_missing", "mmap: %s", strerror(errno)) : 0;
    }
    if (!self->durable)
        return bn_error_set("blob_missing", "memory store keeps no blobs");
    if (self->pg)
        return bd_pg_blob_map(self->pg, sha_hex, data, size);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", self->spool, sha_hex);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        char aside[4200];
        snprintf(aside, sizeof aside, "%s.corrupt", path);
        if (e == ENOENT && access(aside, F_OK) == 0) /* found corrupt earlier (below) */
            return bn_error_set("store_corrupt", "blob %.12s… does not match its content address", sha_hex);
        return bn_error_set("blob_missing", "blob %.12s…: %s", sha_hex, strerror(e));
    }
    struct stat st;
    fstat(fd, &st);
    /* Opened chunk by chunk into memory of its own (bd_seal); a file that fails authentication
     * (modified, truncated, not sealed) is damaged like one that does not match its name. */
    int rc = bd_seal_file_read(self->keys, fd, (size_t)st.st_size, data, size);
    close(fd);
    if (rc < 0) {
        if (!strcmp(bn_error_code(), "store_corrupt")) {
            s_quarantine(self, sha_hex, (size_t)st.st_size);
            return bn_error_set("store_corrupt", "blob %.12s… failed authentication", sha_hex);
        }
        return -1;
    }
    /* The name is the promise: a truncated, bit-flipped or swapped file must never be handed
     * on as the applicant's upload (a stage would judge the damage and blame the applicant). */
    if (!bn_sha256_matches(*data, *size, sha_hex)) {
        bd_store_blob_unmap(*data, *size);
        s_quarantine(self, sha_hex, *size);
        return bn_error_set("store_corrupt", "blob %.12s… does not match its content address", sha_hex);
    }
    return 0;
}

int bd_store_blob_check(bd_store_t *self, const char *name)
{
    void *data;
    size_t size;
    if (!self->durable || !name || strlen(name) != 64)
        return 0; /* the memory store's payloads have no content address */
    if (bd_store_blob_map(self, name, &data, &size) < 0)
        return -1;
    bd_store_blob_unmap(data, size);
    return 0;
}

void bd_store_blob_unmap(void *data, size_t size)
{
    if (size)
        munmap(data, size);
}

static int s_job_record(bd_store_t *self, const char *id, const char *tenant, const char *key, int kind,
                        int priority, const char *spec, size_t spec_len, const char *blobs, int64_t created,
                        const char *status, const char *result)
{
    s_begin(self);
    sqlite3_stmt *st = self->st_insert;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
    if (key)
        sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 3);
    sqlite3_bind_int(st, 4, kind);
    sqlite3_bind_int(st, 5, priority);
    sqlite3_bind_text(st, 6, status, -1, SQLITE_STATIC);
    char ad[96];
    s_bind_sealed(self, st, 7, spec, spec_len, bd_seal_ad(ad, "spec", id, -1));
    sqlite3_bind_text(st, 8, blobs, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, created);
    sqlite3_bind_int64(st, 10, created);
    if (result)
        s_bind_sealed(self, st, 11, result, strlen(result), bd_seal_ad(ad, "result", id, -1));
    else
        sqlite3_bind_null(st, 11);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE && s_sql_nospace(self, rc)) {
        self->tx_failed = 1;
        s_full(self, "a job insert");
        return bn_error_set("store_full", "insert job: %s", sqlite3_errmsg(self->db));
    }
    return rc == SQLITE_DONE ? 0 : bn_error_set("store", "insert job: %s", sqlite3_errmsg(self->db));
}

int bd_store_job_insert(bd_store_t *self, const char *id, const char *tenant, const char *key,
                        int kind, int priority, const char *spec, size_t spec_len, const char *blobs,
                        int64_t created)
{
    if (self->pg)
        return bd_pg_job_insert(self->pg, id, tenant, key, kind, priority, spec, spec_len, blobs, created);
    return s_job_record(self, id, tenant, key, kind, priority, spec, spec_len, blobs, created, "queued", NULL);
}

void bd_store_job_remember(bd_store_t *self, const char *id, const char *tenant, const char *key, int kind,
                           const char *status, json_t *result, int64_t now_ms)
{
    if (self->done)
        bd_memjobs_put(self->done, id, tenant, key, kind, status, result, now_ms);
}

int bd_store_job_by_key(bd_store_t *self, const char *tenant, const char *key, char id_out[33])
{
    if (self->done)
        return bd_memjobs_by_key(self->done, tenant, key, id_out);
    if (self->pg)
        return bd_pg_job_by_key(self->pg, tenant, key, id_out);
    sqlite3_stmt *st = self->st_bykey;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    int found = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(id_out, 33, "%s", (const char *)sqlite3_column_text(st, 0));
        found = 1;
    }
    sqlite3_reset(st);
    return found;
}

int bd_store_job_set_status(bd_store_t *self, const char *id, const char *status, const char *result)
{
    if (self->pg)
        return bd_pg_job_set_status(self->pg, id, status, result);
    s_begin(self);
    sqlite3_stmt *st = self->st_status;
    sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
    char ad[96];
    if (result)
        s_bind_sealed(self, st, 2, result, strlen(result), bd_seal_ad(ad, "result", id, -1));
    else
        sqlite3_bind_null(st, 2);
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    s_step_check(self, rc, "update");
    return 0;
}

int bd_store_job_get(bd_store_t *self, const char *id, const char *tenant, char **status, char **result,
                     int *kind)
{
    if (self->done)
        return bd_memjobs_get(self->done, id, tenant, status, result, kind);
    if (self->pg)
        return bd_pg_job_get(self->pg, id, tenant, status, result, kind);
    sqlite3_stmt *st = self->st_get;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (tenant)
        sqlite3_bind_text(st, 2, tenant, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    int found = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        found = 1;
        if (status)
            *status = strdup((const char *)sqlite3_column_text(st, 0));
        if (result) {
            char ad[96];
            int bad;
            *result = s_col_open(self, st, 1, bd_seal_ad(ad, "result", id, -1), &bad);
            if (bad)
                *result = bd_store_unreadable_result(id);
        }
        if (kind)
            *kind = sqlite3_column_int(st, 2);
    }
    sqlite3_reset(st);
    return found;
}

char *bd_store_unreadable_result(const char *id)
{
    bn_error("job %s: stored result unreadable: %s: %s", id, bn_error_code(), bn_error_msg());
    json_t *e = json_pack("{s:s, s:s, s:{s:s, s:s}}", "job", id, "status", "failed", "error", "code", bn_error_code(),
                          "message", "the stored result failed authentication");
    char *text = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    return text;
}

int bd_store_job_list(bd_store_t *self, const char *tenant, const char *status, int64_t cursor_created,
                      const char *cursor_id, int limit, bd_store_list_fn *fn, void *arg)
{
    if (self->done)
        return bn_error_set("not_implemented", "listing jobs needs the durable store (--store memory keeps none)");
    if (self->pg)
        return bd_pg_job_list(self->pg, tenant, status, cursor_created, cursor_id, limit, fn, arg);
    /* kind 0: beian.submit jobs (bd_broker's KIND_BEIAN); a Titanic request is no application.
     * Keyset paging on (created, id): stable while new jobs arrive, no OFFSET scan. */
    sqlite3_stmt *st = NULL;
    if (s_prepare(self, &st, "SELECT id, status, created FROM jobs WHERE tenant=?1 AND kind=0"
                             " AND (?2 IS NULL OR status=?2)"
                             " AND (?3 = 0 OR created < ?3 OR (created = ?3 AND id < ?4))"
                             " ORDER BY created DESC, id DESC LIMIT ?5") < 0)
        return -1;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    if (status)
        sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, cursor_created);
    sqlite3_bind_text(st, 4, cursor_id ? cursor_id : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, limit);
    while (sqlite3_step(st) == SQLITE_ROW)
        fn(arg, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
           sqlite3_column_int64(st, 2));
    sqlite3_finalize(st);
    return 0;
}

int64_t bd_store_hook_add(bd_store_t *self, const char *tenant, const char *job, const char *body, int64_t now_ms)
{
    if (self->pg)
        return bd_pg_hook_add(self->pg, tenant, job, body, now_ms);
    s_begin(self);
    sqlite3_stmt *st = NULL;
    if (s_prepare(self, &st, "INSERT INTO outbox(tenant, job, body, created, next) VALUES(?,?,?,?,?)") < 0)
        s_die("outbox", bn_error_msg());
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, job, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, body, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now_ms);
    sqlite3_bind_int64(st, 5, now_ms);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    s_step_check(self, rc, "outbox");
    return rc == SQLITE_DONE ? sqlite3_last_insert_rowid(self->db) : -1;
}

void bd_store_hook_update(bd_store_t *self, int64_t seq, const char *state, int attempts, int64_t next_ms,
                          int64_t done_ms, const char *last_error)
{
    if (self->pg) {
        bd_pg_hook_update(self->pg, seq, state, attempts, next_ms, done_ms, last_error);
        return;
    }
    s_begin(self);
    sqlite3_stmt *st = NULL;
    if (s_prepare(self, &st, "UPDATE outbox SET state=?, attempts=?, next=?, done=?, last_error=? WHERE seq=?") < 0)
        s_die("outbox", bn_error_msg());
    sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, attempts);
    sqlite3_bind_int64(st, 3, next_ms);
    if (done_ms)
        sqlite3_bind_int64(st, 4, done_ms);
    if (last_error)
        sqlite3_bind_text(st, 5, last_error, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, seq);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    s_step_check(self, rc, "outbox");
}

int bd_store_hook_each_pending(bd_store_t *self, bd_store_hook_fn *fn, void *arg)
{
    if (self->pg)
        return bd_pg_hook_each_pending(self->pg, fn, arg);
    sqlite3_stmt *st = NULL;
    if (s_prepare(self, &st, "SELECT seq, tenant, job, body, attempts, created, next FROM outbox"
                             " WHERE state = 'pending' ORDER BY seq") < 0)
        return -1;
    while (sqlite3_step(st) == SQLITE_ROW)
        fn(arg, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
           (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3),
           sqlite3_column_int(st, 4), sqlite3_column_int64(st, 5), sqlite3_column_int64(st, 6));
    sqlite3_finalize(st);
    return 0;
}

json_t *bd_store_hook_list(bd_store_t *self, const char *tenant, const char *state, int limit)
{
    if (self->pg)
        return bd_pg_hook_list(self->pg, tenant, state, limit);
    sqlite3_stmt *st = NULL;
    if (s_prepare(self, &st, "SELECT seq, tenant, job, state, attempts, created, next, done, last_error FROM outbox"
                             " WHERE (?1 IS NULL OR tenant=?1) AND (?2 IS NULL OR state=?2)"
                             " ORDER BY seq DESC LIMIT ?3") < 0)
        return NULL;
    if (tenant)
        sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    if (state)
        sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, limit);
    json_t *out = json_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *d = json_pack("{s:I, s:s, s:s, s:s, s:i, s:I}", "delivery", (json_int_t)sqlite3_column_int64(st, 0),
                              "tenant", (const char *)sqlite3_column_text(st, 1), "job",
                              (const char *)sqlite3_column_text(st, 2), "state", (const char *)sqlite3_column_text(st, 3),
                              "attempts", sqlite3_column_int(st, 4), "created_ms",
                              (json_int_t)sqlite3_column_int64(st, 5));
        if (!strcmp((const char *)sqlite3_column_text(st, 3), "pending"))
            json_object_set_new(d, "next_ms", json_integer(sqlite3_column_int64(st, 6)));
        if (sqlite3_column_type(st, 7) != SQLITE_NULL)
            json_object_set_new(d, "done_ms", json_integer(sqlite3_column_int64(st, 7)));
        if (sqlite3_column_type(st, 8) != SQLITE_NULL)
            json_object_set_new(d, "last_error", json_string((const char *)sqlite3_column_text(st, 8)));
        json_array_append_new(out, d);
    }
    sqlite3_finalize(st);
    return out;
}

int bd_store_task_done(bd_store_t *self, const char *job_id, int seq, const char *reply)
{
    if (self->pg)
        return bd_pg_task_done(self->pg, job_id, seq, reply);
    s_begin(self);
    sqlite3_stmt *st = self->st_task;
    sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, seq);
    char ad[96];
    s_bind_sealed(self, st, 3, reply, strlen(reply), bd_seal_ad(ad, "reply", job_id, seq));
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    s_step_check(self, rc, "task insert");
    return 0;
}

static void s_orphan(bd_store_t *self, const char *sha)
{
    if (self->norphans == MAX_STAGED)
        return; /* left for the next purge: a stray file costs disk, never correctness */
    self->orphans[self->norphans++] = strdup(sha);
}

int bd_store_job_delete(bd_store_t *self, const char *id)
{
    if (self->done) {
        bd_memjobs_delete(self->done, id);
        return 0;
    }
    if (self->pg)
        return bd_pg_job_delete(self->pg, id);
    s_begin(self);
    if (self->durable) {
        sqlite3_bind_text(self->st_refs_of, 1, id, -1, SQLITE_STATIC);
        while (sqlite3_step(self->st_refs_of) == SQLITE_ROW)
            s_orphan(self, (const char *)sqlite3_column_text(self->st_refs_of, 0));
        sqlite3_reset(self->st_refs_of);
        sqlite3_bind_text(self->st_unref_job, 1, id, -1, SQLITE_STATIC);
        sqlite3_step(self->st_unref_job);
        sqlite3_reset(self->st_unref_job);
    }
    sqlite3_bind_text(self->st_del_tasks, 1, id, -1, SQLITE_STATIC);
    sqlite3_step(self->st_del_tasks);
    sqlite3_reset(self->st_del_tasks);
    sqlite3_bind_text(self->st_del_job, 1, id, -1, SQLITE_STATIC);
    sqlite3_step(self->st_del_job);
    sqlite3_reset(self->st_del_job);
    return 0;
}

void bd_store_blob_ref(bd_store_t *self, const char *job, const char *sha)
{
    if (!self->durable)
        return;
    if (self->pg) {
        bd_pg_blob_ref(self->pg, job, sha);
        return;
    }
    s_begin(self);
    sqlite3_bind_text(self->st_ref, 1, sha, -1, SQLITE_STATIC);
    sqlite3_bind_text(self->st_ref, 2, job, -1, SQLITE_STATIC);
    int rc = sqlite3_step(self->st_ref);
    sqlite3_reset(self->st_ref);
    s_step_check(self, rc, "blob ref");
}

void bd_store_blob_release(bd_store_t *self, const char *job, const char *sha)
{
    if (!self->durable)
        return;
    if (self->pg) {
        bd_pg_blob_release(self->pg, job, sha);
        return;
    }
    s_begin(self);
    sqlite3_bind_text(self->st_unref, 1, sha, -1, SQLITE_STATIC);
    sqlite3_bind_text(self->st_unref, 2, job, -1, SQLITE_STATIC);
    sqlite3_step(self->st_unref);
    sqlite3_reset(self->st_unref);
    s_orphan(self, sha);
}

int bd_store_sweep(bd_store_t *self)
{
    if (!self->durable || self->pg)
        return 0; /* PostgreSQL deletes a scan with its last reference, in the same transaction */
    sqlite3_stmt *st = NULL;
    int legacy = 0;
    if (sqlite3_prepare_v2(self->db, "SELECT 1 FROM jobs WHERE blobs <> '[]' AND NOT EXISTS"
                                     " (SELECT 1 FROM blob_refs WHERE blob_refs.job = jobs.id) LIMIT 1",
                           -1, &st, NULL) == SQLITE_OK)
        legacy = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (legacy) {
        bn_warn("store: jobs without blob references (written before reference counting): "
                "unreferenced spool files are not swept");
        return 0;
    }
    DIR *d = opendir(self->spool);
    struct dirent *e;
    char **gone = NULL;
    int n = 0, cap = 0;
    while (d && (e = readdir(d))) {
        if (!s_blob_file_name(e->d_name, 1))
            continue;
        char sha[65];
        memcpy(sha, e->d_name, 64);
        sha[64] = '\0';
        sqlite3_bind_text(self->st_has_ref, 1, sha, -1, SQLITE_TRANSIENT);
        int referenced = sqlite3_step(self->st_has_ref) == SQLITE_ROW;
        sqlite3_reset(self->st_has_ref);
        if (referenced)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            gone = realloc(gone, (size_t)cap * sizeof *gone);
        }
        gone[n++] = strdup(e->d_name);
    }
    if (d)
        closedir(d);
    int deleted = 0;
    if (n > 2 * MAX_STAGED) {
        bn_warn("store: %d spool files no job refers to, more than an interrupted commit leaves: kept (is "
                "beian.db older than the spool? docs/STORE.md)", n);
    } else {
        for (int i = 0; i < n; i++) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%s", self->spool, gone[i]);
            deleted += unlink(path) == 0;
        }
        if (deleted) {
            fsync(self->spool_fd);
            bn_info("store: deleted %d spool files no job refers to (left by a broker stopped inside a commit)",
                    deleted);
        }
    }
    for (int i = 0; i < n; i++)
        free(gone[i]);
    free(gone);
    return deleted;
}

int bd_store_purge(bd_store_t *self, int64_t before_ms)
{
    if (self->done)
        return bd_memjobs_purge(self->done, before_ms);
    if (self->pg)
        return bd_pg_purge(self->pg, before_ms);
    sqlite3_stmt *st;
    if (s_prepare(self, &st, "SELECT id FROM jobs WHERE status IN ('done','failed','cancelled') AND updated < ? LIMIT 1000"))
        return -1;
    sqlite3_bind_int64(st, 1, before_ms);
    char (*ids)[33] = malloc(1000 * sizeof *ids);
    int n = 0;
    while (n < 1000 && sqlite3_step(st) == SQLITE_ROW)
        snprintf(ids[n++], 33, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    for (int i = 0; i < n; i++)
        bd_store_job_delete(self, ids[i]);
    free(ids);
    /* Webhook deliveries settled as long ago go with them (a pending one stays: it is owed). */
    if (s_prepare(self, &st, "DELETE FROM outbox WHERE state != 'pending' AND done < ?") == 0) {
        s_begin(self);
        sqlite3_bind_int64(st, 1, before_ms);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        s_step_check(self, rc, "outbox purge");
    }
    return n;
}

int bd_store_each_unfinished(bd_store_t *self, bd_store_job_fn *fn, void *arg)
{
    if (self->pg)
        return bd_pg_each_unfinished(self->pg, fn, arg);
    sqlite3_stmt *st, *tt;
    if (s_prepare(self, &st, "SELECT id, tenant, key, kind, priority, spec, blobs, created FROM jobs"
                             " WHERE status IN ('queued','running') ORDER BY created")
        || s_prepare(self, &tt, "SELECT seq, reply FROM tasks WHERE job=?"))
        return -1;
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        char ad[96];
        int bad;
        json_t *replies = json_array();
        sqlite3_bind_text(tt, 1, id, -1, SQLITE_STATIC);
        while (sqlite3_step(tt) == SQLITE_ROW) {
            int seq = sqlite3_column_int(tt, 0);
            /* A reply that does not open is left out: that task runs again. */
            char *text = s_col_open(self, tt, 1, bd_seal_ad(ad, "reply", id, seq), &bad);
            if (bad)
                bn_error("job %s task %d: stored reply unreadable (%s); the task runs again", id, seq, bn_error_code());
            while ((int)json_array_size(replies) <= seq)
                json_array_append_new(replies, json_null());
            json_array_set_new(replies, (size_t)seq, text ? json_loads(text, 0, NULL) : json_null());
            free(text);
        }
        sqlite3_reset(tt);
        /* A spec that does not open is passed as "": the broker fails the job store_corrupt. */
        char *spec = s_col_open(self, st, 5, bd_seal_ad(ad, "spec", id, -1), &bad);
        if (bad)
            bn_error("job %s: stored spec unreadable: %s", id, bn_error_code());
        fn(arg, id, (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2),
           sqlite3_column_int(st, 3), sqlite3_column_int(st, 4), spec ? spec : "",
           (const char *)sqlite3_column_text(st, 6), sqlite3_column_int64(st, 7), replies);
        free(spec);
        json_decref(replies);
        n++;
    }
    sqlite3_finalize(st);
    sqlite3_finalize(tt);
    return n;
}

int bd_store_commit(bd_store_t *self)
{
    if (self->pg)
        return bd_pg_commit(self->pg);
    int renamed = 0; /* staged blobs already moved into spool/ */
    const char *what = "a statement";
    if (self->tx_failed)
        goto full;
    if (self->nstaged) {
        /* One syncfs flushes every staged blob; then the renames publish them, and the
         * directory fsync makes the renames durable. */
        if (syncfs(self->spool_fd) < 0) {
            what = "syncfs of the spool";
            if (s_nospace(errno)) /* delayed allocation found no room: nothing published yet */
                goto full;
            s_die("syncfs", strerror(errno));
        }
        char from[4096], to[4096];
        for (; renamed < self->nstaged; renamed++) {
            snprintf(from, sizeof from, "%s/tmp/%s", self->spool, self->staged[renamed]);
            snprintf(to, sizeof to, "%s/%s", self->spool, self->staged[renamed]);
            if (rename(from, to) < 0) {
                what = "a spool rename";
                if (s_nospace(errno))
                    goto full;
                s_die("rename", strerror(errno));
            }
        }
        if (fsync(self->spool_fd) < 0)
            s_die("fsync spool dir", strerror(errno));
    }
    if (self->in_tx) {
        char *err = NULL;
        int rc = sqlite3_exec(self->db, "COMMIT", NULL, NULL, &err);
        if (rc != SQLITE_OK) {
            what = "the commit";
            if (s_sql_nospace(self, rc)) {
                sqlite3_free(err);
                goto full;
            }
            s_die("commit", err ? err : sqlite3_errmsg(self->db));
        }
        self->in_tx = 0;
    }
    for (int i = 0; i < self->nstaged; i++)
        free(self->staged[i]);
    self->nstaged = 0;
    /* Only now that the reference removals are durable may the files go. */
    for (int i = 0; i < self->norphans; i++) {
        sqlite3_bind_text(self->st_has_ref, 1, self->orphans[i], -1, SQLITE_STATIC);
        int referenced = sqlite3_step(self->st_has_ref) == SQLITE_ROW;
        sqlite3_reset(self->st_has_ref);
        if (!referenced) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%s", self->spool, self->orphans[i]);
            unlink(path);
            snprintf(path, sizeof path, "%s/%s.corrupt", self->spool, self->orphans[i]);
            unlink(path); /* a copy bd_store_blob_map moved aside goes with its last reference too */
        }
        free(self->orphans[i]);
    }
    self->norphans = 0;
    return 0;
full:
    /* No room: undo the whole turn, as a crash would have, but without stopping — nothing of it
     * was acknowledged. Reference removals are undone, so their files stay; blobs this turn
     * added go, unless a committed job refers to them. */
    s_full(self, what);
    if (self->in_tx)
        sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL); /* fails harmlessly if SQLite already did */
    self->in_tx = 0;
    self->tx_failed = 0;
    for (int i = 0; i < self->nstaged; i++) {
        char path[4200];
        sqlite3_bind_text(self->st_has_ref, 1, self->staged[i], -1, SQLITE_STATIC);
        int referenced = sqlite3_step(self->st_has_ref) == SQLITE_ROW;
        sqlite3_reset(self->st_has_ref);
        snprintf(path, sizeof path, i < renamed ? "%s/%s" : "%s/tmp/%s", self->spool, self->staged[i]);
        if (!referenced)
            unlink(path);
        free(self->staged[i]);
    }
    self->nstaged = 0;
    for (int i = 0; i < self->norphans; i++)
        free(self->orphans[i]);
    self->norphans = 0;
    return bn_error_set("store_full", "%s failed for want of space; the turn was rolled back", what);
}

/* ---- sealing what was written before (or under an old key) --------------------------- */

/* Seal a spool file again under the current key when it is plaintext (written before the
 * store was sealed) or sealed with an old key: checked against its name first, then written
 * to spool/tmp and renamed over the old file. counts[0] plaintext, counts[1] old key. */
static int s_reseal_spool(bd_store_t *self, int legacy, int counts[2])
{
    DIR *d = opendir(self->spool);
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && d && (e = readdir(d))) {
        if (!s_blob_file_name(e->d_name, 0))
            continue;
        char path[4200], tmp[4200];
        unsigned char hdr[8];
        uint32_t id;
        snprintf(path, sizeof path, "%s/%s", self->spool, e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
            if (fd >= 0)
                close(fd);
            continue;
        }
        ssize_t got = pread(fd, hdr, sizeof hdr, 0);
        int sealed = got == (ssize_t)sizeof hdr && bd_seal_file_id(hdr, sizeof hdr, &id);
        if ((sealed && id == bd_keyring_current(self->keys)) || (!sealed && !legacy)) {
            close(fd); /* current, or plaintext in a sealed store: a modification, which reads will report */
            continue;
        }
        static char empty;
        void *data = &empty;
        size_t size = (size_t)st.st_size;
        if (!sealed && size) {
            data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (data == MAP_FAILED) {
                close(fd);
                continue;
            }
        } else if (sealed && bd_seal_file_read(self->keys, fd, size, &data, &size) < 0) {
            close(fd);
            bn_warn("spool file %.12s… cannot be sealed again: %s (left for its job to find)", e->d_name, bn_error_msg());
            continue;
        }
        close(fd);
        if (!bn_sha256_matches(data, size, e->d_name)) {
            bd_store_blob_unmap(data, size);
            s_quarantine(self, e->d_name, size);
            continue;
        }
        snprintf(tmp, sizeof tmp, "%s/tmp/%s", self->spool, e->d_name);
        int wfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int err = wfd < 0 ? errno : bd_seal_file_write(self->keys, wfd, data, size) < 0 || fsync(wfd) < 0 ? errno : 0;
        if (wfd >= 0)
            close(wfd);
        bd_store_blob_unmap(data, size);
        if (err || rename(tmp, path) < 0) {
            err = err ? err : errno;
            unlink(tmp);
            rc = bn_error_set(s_nospace(err) ? "store_full" : "store", "sealing spool file %.12s…: %s", e->d_name, strerror(err));
            break;
        }
        counts[sealed]++;
    }
    if (d)
        closedir(d);
    if (counts[0] + counts[1] && fsync(self->spool_fd) < 0)
        s_die("fsync spool dir", strerror(errno));
    return rc;
}

/* The same for the database's sealed columns, in one transaction. */
static int s_reseal_rows(bd_store_t *self, int legacy, int counts[3])
{
    static const struct {
        const char *sel, *upd, *what;
    } cols[] = {
        {"SELECT id, spec, -1 FROM jobs", "UPDATE jobs SET spec=? WHERE id=?", "spec"},
        {"SELECT id, result, -1 FROM jobs WHERE result IS NOT NULL", "UPDATE jobs SET result=? WHERE id=?", "result"},
        {"SELECT job, reply, seq FROM tasks", "UPDATE tasks SET reply=? WHERE job=? AND seq=?", "reply"},
    };
    s_begin(self);
    for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
        sqlite3_stmt *sel, *upd;
        if (s_prepare(self, &sel, cols[c].sel))
            return -1;
        if (s_prepare(self, &upd, cols[c].upd)) {
            sqlite3_finalize(sel);
            return -1;
        }
        while (sqlite3_step(sel) == SQLITE_ROW) {
            const char *id = (const char *)sqlite3_column_text(sel, 0);
            int seq = sqlite3_column_int(sel, 2);
            const void *v = sqlite3_column_blob(sel, 1);
            size_t n = (size_t)sqlite3_column_bytes(sel, 1);
            uint32_t kid;
            int plain = sqlite3_column_type(sel, 1) == SQLITE_TEXT;
            if (plain ? !legacy : !bd_seal_rec_id(v, n, &kid) || kid == bd_keyring_current(self->keys))
                continue; /* sealed with the current key, or damage that reads will report */
            char ad[96];
            bd_seal_ad(ad, cols[c].what, id, seq);
            char *text = plain ? strndup(v, n) : bd_seal_rec_open(self->keys, v, n, ad, &n);
            if (!text) {
                bn_warn("job %s: a stored %s cannot be sealed again: %s", id, cols[c].what, bn_error_msg());
                counts[2]++;
                continue;
            }
            s_bind_sealed(self, upd, 1, text, n, ad);
            sqlite3_bind_text(upd, 2, id, -1, SQLITE_TRANSIENT);
            if (seq >= 0)
                sqlite3_bind_int(upd, 3, seq);
            int rc = sqlite3_step(upd);
            sqlite3_reset(upd);
            sqlite3_clear_bindings(upd);
            free(text);
            s_step_check(self, rc, "sealing a record");
            counts[!plain]++;
        }
        sqlite3_finalize(sel);
        sqlite3_finalize(upd);
    }
    return 0;
}

/* Plaintext is data from before sealing only in a database that was never sealed
 * (user_version 0); once sealed (1), plaintext is a modification: never sealed at open, where
 * it would be laundered, but store_corrupt when read. */
static int s_reseal(bd_store_t *self)
{
    int files[2] = {0, 0}, rows[3] = {0, 0, 0};
    sqlite3_stmt *st;
    if (s_prepare(self, &st, "PRAGMA user_version"))
        return -1;
    int legacy = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 0;
    sqlite3_finalize(st);
    if (s_reseal_spool(self, legacy, files) < 0 || s_reseal_rows(self, legacy, rows) < 0)
        return -1;
    if (legacy) {
        s_begin(self);
        if (s_exec(self, "PRAGMA user_version=1") < 0)
            return -1;
    }
    if (bd_store_commit(self) < 0)
        return -1;
    if (!files[0] && !files[1] && !rows[0] && !rows[1])
        return 0;
    /* What was plaintext (or under the old key) may linger in free pages and in the log:
     * rebuild the file and empty the log. */
    if (s_exec(self, "VACUUM") < 0 || s_exec(self, "PRAGMA wal_checkpoint(TRUNCATE)") < 0)
        return -1;
    char cur[9];
    bd_seal_id_hex(bd_keyring_current(self->keys), cur);
    bn_info("store: sealed with key %s %d records and %d spool files written before sealing, and %d records and %d "
            "spool files sealed with an old key", cur, rows[0], files[0], rows[1], files[1]);
    if (rows[2])
        bn_warn("store: %d damaged records could not be opened to be sealed again: they read as store_corrupt, and "
                "until their jobs are deleted the broker needs the key they name to start", rows[2]);
    else
        bn_info("store: no record needs an old key now");
    return 0;
}

static uint64_t s_file_bytes(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

void bd_store_stats(bd_store_t *self, bd_store_stats_t *out)
{
    memset(out, 0, sizeof *out);
    out->brokers = -1;
    out->shm_bytes = bd_store_shm_bytes(self);
    if (!self->durable) {
        out->done = out->failed = out->cancelled = -1;
        return;
    }
    if (self->pg) {
        bd_pg_stats(self->pg, out);
        return;
    }
    sqlite3_stmt *st = NULL;
    if (s_prepare(self, &st, "SELECT status, count(*) FROM jobs WHERE status NOT IN ('queued','running') GROUP BY status") == 0) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *status = (const char *)sqlite3_column_text(st, 0);
            int64_t n = sqlite3_column_int64(st, 1);
            if (!strcmp(status, "done")) out->done = n;
            else if (!strcmp(status, "failed")) out->failed = n;
            else if (!strcmp(status, "cancelled")) out->cancelled = n;
        }
        sqlite3_finalize(st);
    }
    if (s_prepare(self, &st, "SELECT count(*) FROM outbox WHERE state = 'pending'") == 0) {
        if (sqlite3_step(st) == SQLITE_ROW)
            out->outbox_pending = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    out->db_bytes = s_file_bytes(self->dir, "beian.db") + s_file_bytes(self->dir, "beian.db-wal");
    DIR *d = opendir(self->spool);
    struct dirent *e;
    struct stat fst;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' && fstatat(dirfd(d), e->d_name, &fst, 0) == 0 && S_ISREG(fst.st_mode))
            out->spool_bytes += (uint64_t)fst.st_size;
    if (d)
        closedir(d);
}
