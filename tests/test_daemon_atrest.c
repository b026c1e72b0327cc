/* Issue #11, the store at rest (docs/STORE.md): records and spool files are sealed with the
 * store key, so neither beian.db (and its log) nor the spool holds a name, an ID number or an
 * image's bytes; a modified record or file fails authentication (store_corrupt); a wrong or
 * missing key, damaged database pages and an empty database beside a full spool stop the
 * store from opening with their own codes; data from before sealing (and under an old key) is
 * sealed again at open; a write that finds no room rolls the turn back (store_full) instead
 * of aborting. All values here are made up. */
#include "bn_test.h"
#include "bd_seal.h"
#include "bd_store.h"
#include "core/bn_error.h"

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Synthetic personal data: a made-up name and an ID number of the right shape. */
#define NAME "\xe6\xb5\x8b\xe8\xaf\x95\xe7\x94\xb2\xe4\xb9\x99" /* 测试甲乙 */
#define IDNO "110105194912310021"
#define IMG_MARK "SYNTHETIC-IMAGE-BYTES-7f3a"
#define JOB "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static char dir[64];

/* Does any file of the state directory (beian.db, -wal, -shm, the spool) contain needle? */
static int s_found(const char *needle)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "grep -rlaF --exclude=beian.key -- '%s' %s >/dev/null 2>&1", needle, dir);
    return system(cmd) == 0;
}

static void s_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

static int s_sql(const char *sql)
{
    char path[128];
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/beian.db", dir);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return -1;
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

static int s_open_fails_with(const char *code)
{
    bn_error_clear();
    bd_store_t *st = bd_store_open(dir, 1, 0, NULL);
    int ok = !st && !strcmp(bn_error_code(), code);
    if (!ok)
        fprintf(stderr, "  open: %s: %s\n", bn_error_code(), bn_error_msg());
    bd_store_close(&st);
    return ok;
}

static void test_seal(void)
{
    char k1[128], k2[128];
    snprintf(k1, sizeof k1, "%s/k1", dir);
    snprintf(k2, sizeof k2, "%s/k2", dir);
    bn_error_clear();
    CHECK(bd_keyring_open(k1, 0, NULL, 0) == NULL && !strcmp(bn_error_code(), "store_key_missing"),
          "a missing key file is not created unless asked");
    bd_keyring_t *a = bd_keyring_open(k1, 1, NULL, 0);
    struct stat st;
    CHECK(a && stat(k1, &st) == 0 && (st.st_mode & 0777) == 0600, "a new key file is 0600");
    bd_keyring_t *a2 = bd_keyring_open(k1, 1, NULL, 0);
    CHECK(a2 && bd_keyring_current(a2) == bd_keyring_current(a), "the same file, the same key (not made again)");
    bd_keyring_destroy(&a2);
    chmod(k1, 0644);
    a2 = bd_keyring_open(k1, 0, NULL, 0);
    CHECK(a2 && stat(k1, &st) == 0 && (st.st_mode & 0777) == 0600, "a key file readable by others is tightened");
    bd_keyring_destroy(&a2);

    size_t n, pn;
    void *rec = bd_seal_rec(a, "{\"name\":\"" NAME "\"}", 20, "spec:x", &n);
    CHECK(!memmem(rec, n, NAME, strlen(NAME)), "a sealed record does not hold its plaintext");
    char *p = bd_seal_rec_open(a, rec, n, "spec:x", &pn);
    CHECK(p && pn == 20 && !memcmp(p, "{\"name\":\"" NAME "\"}", 20), "and opens to it");
    free(p);
    bn_error_clear();
    CHECK(!bd_seal_rec_open(a, rec, n, "spec:y", NULL) && !strcmp(bn_error_code(), "store_corrupt"),
          "a record moved to another row does not open");
    ((unsigned char *)rec)[n - 3] ^= 1;
    bn_error_clear();
    CHECK(!bd_seal_rec_open(a, rec, n, "spec:x", NULL) && !strcmp(bn_error_code(), "store_corrupt"),
          "a modified record does not open");
    free(rec);

    /* Rotation: the new key seals, the old one still opens what it sealed. */
    rec = bd_seal_rec(a, "old", 3, "r", &n);
    const char *olds[] = {k1};
    bd_keyring_t *b = bd_keyring_open(k2, 1, olds, 1);
    CHECK(b && bd_keyring_current(b) != bd_keyring_current(a), "a second key file, another key");
    p = bd_seal_rec_open(b, rec, n, "r", NULL);
    CHECK(p && !strcmp(p, "old"), "the old key opens its records after a rotation");
    free(p);
    free(rec);
    rec = bd_seal_rec(b, "new", 3, "r", &n);
    bn_error_clear();
    CHECK(!bd_seal_rec_open(a, rec, n, "r", NULL) && !strcmp(bn_error_code(), "store_key_missing"),
          "a record sealed with a key not loaded: store_key_missing");
    free(rec);

    /* Spool files: streamed in 64 KiB chunks; sizes around the chunk boundary. */
    size_t sizes[] = {0, 1, 65536, 65537, 200000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t sz = sizes[i];
        unsigned char *buf = malloc(sz + 1);
        for (size_t j = 0; j < sz; j++)
            buf[j] = (unsigned char)(j * 7 + i);
        char path[128];
        snprintf(path, sizeof path, "%s/f%zu", dir, i);
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        CHECK(bd_seal_file_write(b, fd, buf, sz) == 0, "write %zu bytes", sz);
        struct stat fst;
        fstat(fd, &fst);
        void *out;
        size_t got;
        CHECK(bd_seal_file_read(b, fd, (size_t)fst.st_size, &out, &got) == 0 && got == sz && !memcmp(out, buf, sz),
              "read back %zu bytes", sz);
        if (got)
            munmap(out, got);
        if (sz > 65536) {
            /* Cut after the first chunk: whole chunks, but no FINAL one. */
            CHECK(ftruncate(fd, 4 + 4 + 24 + 65536 + 17) == 0, "cut");
            bn_error_clear();
            CHECK(bd_seal_file_read(b, fd, 4 + 4 + 24 + 65536 + 17, &out, &got) < 0
                  && !strcmp(bn_error_code(), "store_corrupt"), "a file cut at a chunk boundary fails (%zu)", sz);
        }
        close(fd);
        free(buf);
    }
    bd_keyring_destroy(&a);
    bd_keyring_destroy(&b);
    unlink(k1);
    unlink(k2);
}

static char seen_spec[400];
static void on_job(void *arg, const char *id, const char *tenant, const char *key, int kind, int prio,
                   const char *spec, const char *blobs, int64_t created, json_t *replies)
{
    (void)tenant; (void)key; (void)kind; (void)prio; (void)blobs; (void)created;
    int *ok = arg;
    if (strcmp(id, JOB))
        return;
    snprintf(seen_spec, sizeof seen_spec, "%s", spec);
    *ok = strstr(spec, IDNO) && json_array_size(replies) == 1 && json_is_object(json_array_get(replies, 0));
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/beian-atrest-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    test_seal();

    /* Nothing personal in the files. */
    bd_store_t *st = bd_store_open(dir, 1, 0, NULL);
    CHECK(st != NULL, "open");
    char keyp[128];
    struct stat kst;
    snprintf(keyp, sizeof keyp, "%s/beian.key", dir);
    CHECK(stat(keyp, &kst) == 0 && (kst.st_mode & 0777) == 0600, "the store key is made at the first open, 0600");
    const char *spec = "{\"documents\":[],\"form\":{\"name\":\"" NAME "\",\"id_number\":\"" IDNO "\"}}";
    const char *reply = "{\"ok\":true,\"result\":{\"fields\":{\"name\":\"" NAME "\",\"id_number\":\"" IDNO "\"}}}";
    const char *result = "{\"verdict\":\"pass\",\"name\":\"" NAME "\",\"id_number\":\"" IDNO "\"}";
    char img[4096], sha[65];
    for (size_t i = 0; i + sizeof IMG_MARK <= sizeof img; i += sizeof IMG_MARK)
        memcpy(img + i, IMG_MARK, sizeof IMG_MARK);
    CHECK(bd_store_blob_put(st, img, sizeof img, sha) == 0, "put an image");
    CHECK(bd_store_job_insert(st, JOB, "t", NULL, 0, 0, spec, strlen(spec), "[]", 1) == 0, "insert");
    bd_store_blob_ref(st, JOB, sha);
    bd_store_task_done(st, JOB, 0, reply);
    bd_store_job_insert(st, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "t", NULL, 0, 0, spec, strlen(spec), "[]", 1);
    bd_store_job_set_status(st, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "done", result);
    CHECK(bd_store_commit(st) == 0, "commit");
    CHECK(!s_found(NAME) && !s_found(IDNO) && !s_found(IMG_MARK),
          "neither beian.db, its log nor the spool holds the name, the ID number or the image bytes");
    void *data;
    size_t size;
    CHECK(bd_store_blob_map(st, sha, &data, &size) == 0 && size == sizeof img && !memcmp(data, img, size),
          "the image reads back");
    bd_store_blob_unmap(data, size);
    char *status = NULL, *res = NULL;
    CHECK(bd_store_job_get(st, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", NULL, &status, &res, NULL) == 1 && res && !strcmp(res, result),
          "the result reads back");
    free(status);
    free(res);
    int ok = 0;
    CHECK(bd_store_each_unfinished(st, on_job, &ok) >= 1 && ok, "spec and task reply read back for a restart");
    bd_store_close(&st);
    CHECK(!s_found(NAME) && !s_found(IDNO) && !s_found(IMG_MARK), "nor after close");

    /* A modified result: it does not open, and the caller is told store_corrupt. */
    CHECK(s_sql("UPDATE jobs SET result = CAST(substr(result,1,40) || X'00' || substr(result,42) AS BLOB)"
                " WHERE id='bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'") == 0, "tamper with a result");
    st = bd_store_open(dir, 1, 0, NULL);
    res = NULL;
    CHECK(st && bd_store_job_get(st, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", NULL, NULL, &res, NULL) == 1 && res
          && strstr(res, "store_corrupt") && !strstr(res, NAME), "a modified result reads as store_corrupt (%s)", res);
    free(res);
    bd_store_job_delete(st, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"); /* (a damaged record never opens, under any key) */
    bd_store_commit(st);

    /* No room: a commit that cannot write rolls back and says store_full, instead of aborting. */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    char big[300000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 23);
    lim = old;
    lim.rlim_cur = 256 * 1024; /* below a 300 kB spool file */
    setrlimit(RLIMIT_FSIZE, &lim);
    bn_error_clear();
    CHECK(bd_store_blob_put(st, big, sizeof big, sha) < 0 && !strcmp(bn_error_code(), "store_full"),
          "a spool write that finds no room: store_full (got %s)", bn_error_code());
    CHECK(bd_store_full(st), "and the store says it is full");
    /* The log's next frames cross the limit part-way: a short write, which SQLite reports as
     * SQLITE_FULL, as it does ENOSPC. */
    char walp[160];
    struct stat wst;
    snprintf(walp, sizeof walp, "%s/beian.db-wal", dir);
    lim.rlim_cur = (stat(walp, &wst) == 0 ? (rlim_t)wst.st_size : 0) + 2048;
    setrlimit(RLIMIT_FSIZE, &lim);
    bd_store_job_insert(st, "cccccccccccccccccccccccccccccccc", "t", NULL, 0, 0, big, sizeof big - 1, "[]", 1);
    bn_error_clear();
    CHECK(bd_store_commit(st) < 0 && !strcmp(bn_error_code(), "store_full"),
          "a commit whose log cannot grow: store_full (got %s)", bn_error_code());
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK(bd_store_job_get(st, "cccccccccccccccccccccccccccccccc", NULL, NULL, NULL, NULL) == 0, "the turn was rolled back");
    CHECK(bd_store_job_get(st, JOB, NULL, NULL, NULL, NULL) == 1, "what was committed before is still there");
    bd_store_job_insert(st, "cccccccccccccccccccccccccccccccc", "t", NULL, 0, 0, big, sizeof big - 1, "[]", 1);
    CHECK(bd_store_commit(st) == 0 && bd_store_job_get(st, "cccccccccccccccccccccccccccccccc", NULL, NULL, NULL, NULL) == 1,
          "with room again the same write commits");
    bd_store_close(&st);

    /* Wrong key, missing key. */
    char keep[160];
    snprintf(keep, sizeof keep, "%s.keep", keyp);
    CHECK(rename(keyp, keep) == 0, "put the key aside");
    CHECK(s_open_fails_with("store_key_missing"), "no key file, sealed records: store_key_missing, no new key made");
    CHECK(access(keyp, F_OK) != 0, "(no key file was made)");
    s_write_file(keyp, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 65);
    chmod(keyp, 0600);
    CHECK(s_open_fails_with("store_key_mismatch"), "another key: store_key_mismatch");

    /* Rotation: the old key as beian.key.old, a new beian.key is made and everything is
     * sealed again with it; after that the old key is not needed. */
    char oldp[160];
    snprintf(oldp, sizeof oldp, "%s.old", keyp);
    unlink(keyp);
    CHECK(rename(keep, oldp) == 0, "old key in place");
    st = bd_store_open(dir, 1, 0, NULL);
    CHECK(st && access(keyp, F_OK) == 0, "a rotation makes a new key");
    bd_store_close(&st);
    unlink(oldp);
    st = bd_store_open(dir, 1, 0, NULL);
    ok = 0;
    CHECK(st && bd_store_each_unfinished(st, on_job, &ok) >= 1 && ok,
          "without the old key, what it sealed still reads (sealed again at the rotation)");
    bd_store_close(&st);

    /* Data from before sealing (a database that was never sealed: user_version 0): plaintext
     * records and spool files are sealed at open. */
    char legacy_sha[65], lpath[200];
    const char *limg = IMG_MARK "-legacy";
    FILE *sh = popen("printf '%s' '" IMG_MARK "-legacy' | sha256sum", "r");
    CHECK(sh && fgets(legacy_sha, sizeof legacy_sha, sh), "sha256sum");
    if (sh)
        pclose(sh);
    snprintf(lpath, sizeof lpath, "%s/spool/%s", dir, legacy_sha);
    s_write_file(lpath, limg, strlen(limg));
    CHECK(s_sql("UPDATE jobs SET spec='{\"documents\":[],\"form\":{\"id_number\":\"" IDNO "\"}}' WHERE id='" JOB "';"
                "UPDATE tasks SET reply='{\"ok\":true}' WHERE job='" JOB "'; PRAGMA user_version=0") == 0,
          "write plaintext rows as a broker before sealing did");
    CHECK(s_found(IDNO) && s_found(IMG_MARK "-legacy"), "(the plaintext is there: %d %d %s)", s_found(IDNO), s_found(IMG_MARK "-legacy"), lpath);
    st = bd_store_open(dir, 1, 0, NULL);
    CHECK(st != NULL, "a store with plaintext from before sealing opens");
    CHECK(!s_found(IDNO) && !s_found(IMG_MARK "-legacy"), "and its plaintext records and spool files are sealed");
    CHECK(st && bd_store_blob_map(st, legacy_sha, &data, &size) == 0 && size == strlen(limg) && !memcmp(data, limg, size),
          "the old image reads back");
    if (st)
        bd_store_blob_unmap(data, size);
    ok = 0;
    CHECK(st && bd_store_each_unfinished(st, on_job, &ok) >= 1 && ok, "the old spec and reply read back");
    bd_store_close(&st);
    /* Once sealed, plaintext is not taken for data from before: it is a modification. */
    CHECK(s_sql("UPDATE jobs SET spec='{\"documents\":[],\"form\":{\"id_number\":\"" IDNO "\"}}' WHERE id='" JOB "'") == 0,
          "plaintext written into a sealed store");
    s_write_file(lpath, limg, strlen(limg));
    st = bd_store_open(dir, 1, 0, NULL);
    ok = 1;
    CHECK(st && bd_store_each_unfinished(st, on_job, &ok) >= 1 && !ok && !seen_spec[0],
          "is not sealed at open, and does not read (the broker fails the job store_corrupt)");
    bn_error_clear();
    CHECK(st && bd_store_blob_map(st, legacy_sha, &data, &size) < 0 && !strcmp(bn_error_code(), "store_corrupt"),
          "a plaintext spool file in a sealed store is store_corrupt");
    bd_store_close(&st);

    /* Damaged pages: refuse to open. */
    char dbp[128];
    snprintf(dbp, sizeof dbp, "%s/beian.db", dir);
    struct stat dst;
    stat(dbp, &dst);
    CHECK(dst.st_size >= 3 * 4096, "the database has pages to damage (%lld bytes)", (long long)dst.st_size);
    int fd = open(dbp, O_WRONLY);
    char junk[4096];
    memset(junk, 0x5a, sizeof junk);
    for (off_t off = 4096; off + 4096 <= dst.st_size; off += 4096)
        CHECK(pwrite(fd, junk, sizeof junk, off) == (ssize_t)sizeof junk, "damage page");
    close(fd);
    CHECK(s_open_fails_with("store_db_corrupt"), "damaged database pages: store_db_corrupt");

    /* An empty database beside a spool with files: refuse, naming the spool. */
    CHECK(truncate(dbp, 0) == 0, "empty the database");
    CHECK(s_open_fails_with("store_db_empty") && strstr(bn_error_msg(), "/spool"), "store_db_empty, naming the spool");
    char cmd[200];
    snprintf(cmd, sizeof cmd, "find %s/spool -maxdepth 1 -type f -delete", dir);
    CHECK(system(cmd) == 0, "empty the spool");
    st = bd_store_open(dir, 1, 0, NULL);
    CHECK(st != NULL, "an empty database with an empty spool is a new store");
    bd_store_close(&st);

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return bn_test_end("daemon_atrest");
}
