#include "bd_store.h"
#include "bd_arena.h"
#include "bd_memjobs.h"
#include "core/bn_error.h"
#include "core/bn_log.h"
#include "core/bn_sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_STAGED 4096

struct bd_store {
    sqlite3 *db;
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
};

/* Storage failures after a submission was accepted are fatal by design (see header). */
static void s_die(const char *what, const char *detail)
{
    bn_error("FATAL store %s failed: %s — stopping rather than acknowledging data that may be lost", what, detail);
    abort();
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

bd_store_t *bd_store_open(const char *dir, int durable, uint64_t arena_cap)
{
    bd_store_t *self = calloc(1, sizeof *self);
    self->durable = durable;
    self->spool_fd = -1;
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
    if (durable && (s_exec(self, "PRAGMA journal_mode=WAL") || s_exec(self, "PRAGMA synchronous=FULL")))
        goto err;
    if (s_exec(self, "CREATE TABLE IF NOT EXISTS jobs ("
                     " id TEXT PRIMARY KEY, tenant TEXT NOT NULL, key TEXT, kind INTEGER NOT NULL,"
                     " priority INTEGER NOT NULL, status TEXT NOT NULL, spec TEXT NOT NULL, blobs TEXT NOT NULL, result TEXT,"
                     " created INTEGER NOT NULL, updated INTEGER NOT NULL)")
        || s_exec(self, "CREATE UNIQUE INDEX IF NOT EXISTS jobs_key ON jobs(tenant, key) WHERE key IS NOT NULL")
        || s_exec(self, "CREATE INDEX IF NOT EXISTS jobs_open ON jobs(status) WHERE status IN ('queued','running')")
        || s_exec(self, "CREATE TABLE IF NOT EXISTS tasks (job TEXT NOT NULL, seq INTEGER NOT NULL,"
                        " reply TEXT NOT NULL, PRIMARY KEY(job, seq))")
        /* Which job holds which blob: content addressing shares a file between jobs, so a
         * file is deleted only when its last reference goes. */
        || s_exec(self, "CREATE TABLE IF NOT EXISTS blob_refs (sha TEXT NOT NULL, job TEXT NOT NULL,"
                        " PRIMARY KEY(sha, job)) WITHOUT ROWID")
        || s_exec(self, "CREATE INDEX IF NOT EXISTS blob_refs_job ON blob_refs(job)"))
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
    if (self->db && self->in_tx)
        bd_store_commit(self);
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
    free(self);
    *self_p = NULL;
}

int bd_store_durable(const bd_store_t *self) { return self->durable; }
int bd_store_dirty(const bd_store_t *self) { return self->in_tx || self->nstaged || self->norphans; }

static void s_begin(bd_store_t *self)
{
    if (!self->in_tx) {
        if (s_exec(self, "BEGIN IMMEDIATE") < 0)
            s_die("begin", bn_error_msg());
        self->in_tx = 1;
    }
}

static void s_hex(const unsigned char *in, size_t n, char *out)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[in[i] >> 4];
        out[2 * i + 1] = h[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int s_write_all(int fd, const void *data, size_t size)
{
    const char *p = data;
    while (size) {
        ssize_t n = write(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        size -= (size_t)n;
    }
    return 0;
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
    unsigned char md[32];
    unsigned int n = 0;
    h->ok = EVP_Digest(h->data, h->size, md, &n, EVP_sha256(), NULL) && n == 32;
    if (h->ok)
        s_hex(md, sizeof md, h->hex);
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
    int e = fd < 0 ? errno : s_write_all(fd, data, size) < 0 ? errno : 0;
    if (fd >= 0)
        close(fd);
    if (parallel)
        pthread_join(th, NULL);
    if (e || !h.ok) {
        unlink(tmp);
        return e ? bn_error_set("store", "write %s: %s", tmp, strerror(e)) /* e.g. ENOSPC: refuse this submission */
                 : bn_error_set("store", "sha256 failed");
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
    if (!self->durable || !strncmp(name, "mem-", 4))
        return 0;
    /* The same two for the blob's whole life (the broker keeps the text): committed first,
     * staged second; the commit's rename moves it from one to the other. */
    snprintf(paths[0], 4096, "%s/%s", self->spool, name);
    snprintf(paths[1], 4096, "%s/tmp/%s", self->spool, name);
    return 2;
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
    *size = (size_t)st.st_size;
    /* mmap(0 bytes) fails; give empty blobs a static address instead. */
    static char empty;
    *data = *size ? mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0) : &empty;
    close(fd);
    if (*data == MAP_FAILED)
        return bn_error_set("blob_missing", "mmap: %s", strerror(errno));
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
    sqlite3_bind_text(st, 7, spec, (int)spec_len, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, blobs, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, created);
    sqlite3_bind_int64(st, 10, created);
    if (result)
        sqlite3_bind_text(st, 11, result, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 11);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : bn_error_set("store", "insert job: %s", sqlite3_errmsg(self->db));
}

int bd_store_job_insert(bd_store_t *self, const char *id, const char *tenant, const char *key,
                        int kind, int priority, const char *spec, size_t spec_len, const char *blobs,
                        int64_t created)
{
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
    s_begin(self);
    sqlite3_stmt *st = self->st_status;
    sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
    if (result)
        sqlite3_bind_text(st, 2, result, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        s_die("update", sqlite3_errmsg(self->db));
    return 0;
}

int bd_store_job_get(bd_store_t *self, const char *id, const char *tenant, char **status, char **result,
                     int *kind)
{
    if (self->done)
        return bd_memjobs_get(self->done, id, tenant, status, result, kind);
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
        if (result)
            *result = sqlite3_column_type(st, 1) == SQLITE_NULL ? NULL : strdup((const char *)sqlite3_column_text(st, 1));
        if (kind)
            *kind = sqlite3_column_int(st, 2);
    }
    sqlite3_reset(st);
    return found;
}

int bd_store_task_done(bd_store_t *self, const char *job_id, int seq, const char *reply)
{
    s_begin(self);
    sqlite3_stmt *st = self->st_task;
    sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, seq);
    sqlite3_bind_text(st, 3, reply, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        s_die("task insert", sqlite3_errmsg(self->db));
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
    s_begin(self);
    sqlite3_bind_text(self->st_ref, 1, sha, -1, SQLITE_STATIC);
    sqlite3_bind_text(self->st_ref, 2, job, -1, SQLITE_STATIC);
    int rc = sqlite3_step(self->st_ref);
    sqlite3_reset(self->st_ref);
    if (rc != SQLITE_DONE)
        s_die("blob ref", sqlite3_errmsg(self->db));
}

void bd_store_blob_release(bd_store_t *self, const char *job, const char *sha)
{
    if (!self->durable)
        return;
    s_begin(self);
    sqlite3_bind_text(self->st_unref, 1, sha, -1, SQLITE_STATIC);
    sqlite3_bind_text(self->st_unref, 2, job, -1, SQLITE_STATIC);
    sqlite3_step(self->st_unref);
    sqlite3_reset(self->st_unref);
    s_orphan(self, sha);
}

int bd_store_purge(bd_store_t *self, int64_t before_ms)
{
    if (self->done)
        return bd_memjobs_purge(self->done, before_ms);
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
    return n;
}

int bd_store_each_unfinished(bd_store_t *self, bd_store_job_fn *fn, void *arg)
{
    sqlite3_stmt *st, *tt;
    if (s_prepare(self, &st, "SELECT id, tenant, key, kind, priority, spec, blobs, created FROM jobs"
                             " WHERE status IN ('queued','running') ORDER BY created")
        || s_prepare(self, &tt, "SELECT seq, reply FROM tasks WHERE job=?"))
        return -1;
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        json_t *replies = json_array();
        sqlite3_bind_text(tt, 1, id, -1, SQLITE_STATIC);
        while (sqlite3_step(tt) == SQLITE_ROW) {
            int seq = sqlite3_column_int(tt, 0);
            while ((int)json_array_size(replies) <= seq)
                json_array_append_new(replies, json_null());
            json_array_set_new(replies, (size_t)seq, json_loads((const char *)sqlite3_column_text(tt, 1), 0, NULL));
        }
        sqlite3_reset(tt);
        fn(arg, id, (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2),
           sqlite3_column_int(st, 3), sqlite3_column_int(st, 4), (const char *)sqlite3_column_text(st, 5),
           (const char *)sqlite3_column_text(st, 6), sqlite3_column_int64(st, 7), replies);
        json_decref(replies);
        n++;
    }
    sqlite3_finalize(st);
    sqlite3_finalize(tt);
    return n;
}

void bd_store_commit(bd_store_t *self)
{
    if (self->nstaged) {
        /* One syncfs flushes every staged blob; then the renames publish them, and the
         * directory fsync makes the renames durable. */
        if (syncfs(self->spool_fd) < 0)
            s_die("syncfs", strerror(errno));
        char from[4096], to[4096];
        for (int i = 0; i < self->nstaged; i++) {
            snprintf(from, sizeof from, "%s/tmp/%s", self->spool, self->staged[i]);
            snprintf(to, sizeof to, "%s/%s", self->spool, self->staged[i]);
            if (rename(from, to) < 0)
                s_die("rename", strerror(errno));
            free(self->staged[i]);
        }
        self->nstaged = 0;
        if (fsync(self->spool_fd) < 0)
            s_die("fsync spool dir", strerror(errno));
    }
    if (self->in_tx) {
        if (s_exec(self, "COMMIT") < 0)
            s_die("commit", bn_error_msg());
        self->in_tx = 0;
    }
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
}
