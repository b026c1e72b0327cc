/* The durable store: content-addressed blobs survive a reopen, jobs and task replies survive a
 * reopen, idempotency keys are unique per tenant, finished jobs are not resumed. */
#include "bn_test.h"
#include "bd_arena.h"
#include "bd_memjobs.h"
#include "bd_store.h"
#include "core/bn_error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static int seen;
static char seen_replies[256];
static void on_job(void *arg, const char *id, const char *tenant, const char *key, int kind, int prio,
                   const char *spec, const char *blobs, int64_t created, json_t *replies)
{
    (void)arg; (void)tenant; (void)key; (void)kind; (void)prio; (void)created;
    CHECK(strcmp(blobs, "[]") == 0, "blob list kept");
    seen++;
    CHECK(strcmp(id, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") == 0, "only the unfinished job is resumed");
    CHECK(strstr(spec, "documents") != NULL, "spec kept");
    char *t = json_dumps(replies, JSON_COMPACT);
    snprintf(seen_replies, sizeof seen_replies, "%s", t);
    free(t);
}

int main(void)
{
    char dir[] = "/tmp/beian-store-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    bd_store_t *st = bd_store_open(dir, 1, 0, NULL);
    CHECK(st != NULL, "open");
    char sha[65], sha2[65];
    CHECK(bd_store_blob_put(st, "hello", 5, sha) == 0, "blob put");
    CHECK(strcmp(sha, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824") == 0, "sha256 names the blob");
    CHECK(bd_store_blob_put(st, "hello", 5, sha2) == 0 && strcmp(sha, sha2) == 0, "same content, same name");
    void *data;
    size_t size;
    CHECK(bd_store_blob_map(st, sha, &data, &size) < 0, "a staged blob is not visible before commit");
    CHECK(bd_store_job_insert(st, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "t1", "k1", 0, 0, "{\"documents\":[]}", 16, "[]", 1) == 0, "insert");
    CHECK(bd_store_job_insert(st, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "t1", "k1", 0, 0, "{\"documents\":[]}", 16, "[]", 2) < 0,
          "a duplicate idempotency key in the same tenant is refused");
    CHECK(bd_store_job_insert(st, "cccccccccccccccccccccccccccccccc", "t2", "k1", 0, 1, "{\"documents\":[]}", 16, "[]", 3) == 0,
          "the same key in another tenant is fine");
    char id[33];
    CHECK(bd_store_job_by_key(st, "t1", "k1", id) && strcmp(id, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") == 0,
          "lookup by key sees the uncommitted insert");
    CHECK(bd_store_task_done(st, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 1, "{\"ok\":true}") == 0, "task reply");
    CHECK(bd_store_job_set_status(st, "cccccccccccccccccccccccccccccccc", "done", "{\"verdict\":\"pass\"}") == 0, "finish");
    bd_store_commit(st);
    CHECK(!bd_store_dirty(st), "clean after commit");
    CHECK(bd_store_blob_map(st, sha, &data, &size) == 0 && size == 5 && memcmp(data, "hello", 5) == 0, "blob readable");
    bd_store_blob_unmap(data, size);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s/spool/tmp/%s", dir, sha);
    CHECK(access(tmp, F_OK) != 0, "the temp file was renamed away");
    /* A scan (>= 1 MiB) is hashed on a second thread while it is written: same name, same
     * bytes, and a second copy of it is not kept. 2 MiB of 'z': its sha256 is known. */
    size_t bign = 2u << 20;
    char *scan = malloc(bign);
    memset(scan, 'z', bign);
    char bsha[65], bsha2[65];
    CHECK(bd_store_blob_put(st, scan, bign, bsha) == 0 && bd_store_blob_put(st, scan, bign, bsha2) == 0
          && strcmp(bsha, bsha2) == 0, "a scan: put twice, one name");
    FILE *sh = popen("head -c 2097152 /dev/zero | tr '\\0' z | sha256sum", "r");
    char want[80] = "";
    if (sh && fgets(want, sizeof want, sh))
        CHECK(strncmp(want, bsha, 64) == 0, "a scan's name is its sha256 (as sha256sum computes it)");
    if (sh)
        pclose(sh);
    bd_store_commit(st);
    CHECK(bd_store_blob_map(st, bsha, &data, &size) == 0 && size == bign && memcmp(data, scan, bign) == 0,
          "the scan is readable after the commit");
    bd_store_blob_unmap(data, size);
    free(scan);
    char ls[400];
    snprintf(ls, sizeof ls, "ls -A %s/spool/tmp | wc -l", dir);
    sh = popen(ls, "r");
    CHECK(sh && fgets(want, sizeof want, sh) && atoi(want) == 0, "no temporary file is left behind");
    if (sh)
        pclose(sh);
    bd_store_close(&st);
    CHECK(st == NULL, "close nulls the pointer");
    /* What a broker that died before its commit staged was never acknowledged: gone at open. */
    snprintf(tmp, sizeof tmp, "%s/spool/tmp/.w99", dir);
    FILE *junk = fopen(tmp, "w");
    if (junk)
        fclose(junk);

    /* Reopen: everything committed is there. */
    st = bd_store_open(dir, 1, 0, NULL);
    CHECK(access(tmp, F_OK) != 0, "reopen removes uncommitted temporary files");
    CHECK(bd_store_blob_map(st, sha, &data, &size) == 0 && size == 5, "blob survives a reopen");
    bd_store_blob_unmap(data, size);
    char *status = NULL, *result = NULL;
    int kind = -1;
    CHECK(bd_store_job_get(st, "cccccccccccccccccccccccccccccccc", NULL, &status, &result, &kind) == 1
          && strcmp(status, "done") == 0 && strstr(result, "pass") && kind == 0, "finished job and result survive");
    free(status);
    free(result);
    CHECK(bd_store_each_unfinished(st, on_job, NULL) == 1 && seen == 1, "one unfinished job to resume");
    CHECK(strcmp(seen_replies, "[null,{\"ok\":true}]") == 0, "its finished task replies come back by index");
    CHECK(bd_store_job_get(st, "dddddddddddddddddddddddddddddddd", NULL, NULL, NULL, NULL) == 0, "unknown job");
    CHECK(bd_store_job_get(st, "cccccccccccccccccccccccccccccccc", "t2", NULL, NULL, NULL) == 1
          && bd_store_job_get(st, "cccccccccccccccccccccccccccccccc", "t1", NULL, NULL, NULL) == 0,
          "a lookup scoped to a tenant finds only that tenant's job");
    CHECK(bd_store_job_delete(st, "cccccccccccccccccccccccccccccccc") == 0, "delete");
    bd_store_commit(st);
    CHECK(bd_store_job_get(st, "cccccccccccccccccccccccccccccccc", NULL, NULL, NULL, NULL) == 0, "deleted");
    bd_store_close(&st);

    /* References: a shared blob stays until its last job lets go; files go after the commit. */
    st = bd_store_open(dir, 1, 0, NULL);
    char a[65], b[65], path[400];
    bd_store_blob_put(st, "shared", 6, a);
    bd_store_blob_put(st, "only-j1", 7, b);
    bd_store_job_insert(st, "11111111111111111111111111111111", "t", NULL, 0, 0, "{}", 2, "[]", 1);
    bd_store_job_insert(st, "22222222222222222222222222222222", "t", NULL, 0, 0, "{}", 2, "[]", 1);
    bd_store_blob_ref(st, "11111111111111111111111111111111", a);
    bd_store_blob_ref(st, "11111111111111111111111111111111", b);
    bd_store_blob_ref(st, "22222222222222222222222222222222", a);
    bd_store_commit(st);
    bd_store_blob_release(st, "11111111111111111111111111111111", b);
    snprintf(path, sizeof path, "%s/spool/%s", dir, b);
    CHECK(access(path, F_OK) == 0, "a released blob stays until the commit");
    bd_store_commit(st);
    CHECK(access(path, F_OK) != 0, "the last release deletes the file after the commit");
    bd_store_job_set_status(st, "11111111111111111111111111111111", "done", "{}");
    bd_store_commit(st);
    CHECK(bd_store_purge(st, 0) == 0, "purge keeps jobs updated after the cut-off");
    CHECK(bd_store_purge(st, INT64_MAX) == 1, "purge deletes the finished job, not the queued one");
    bd_store_commit(st);
    snprintf(path, sizeof path, "%s/spool/%s", dir, a);
    CHECK(access(path, F_OK) == 0, "a blob another job still refers to survives the purge");
    CHECK(bd_store_job_get(st, "11111111111111111111111111111111", NULL, NULL, NULL, NULL) == 0, "purged job gone");
    bd_store_job_delete(st, "22222222222222222222222222222222");
    bd_store_commit(st);
    CHECK(access(path, F_OK) != 0, "deleting the last job deletes the shared blob");
    bd_store_close(&st);

    /* Issue #11, bug 4: a spool file is checked against its content address when it is read
     * back. A bit-flipped, truncated or swapped file is store_corrupt, never bytes handed on
     * as the applicant's upload; it is moved aside so that the same image uploaded again is
     * stored afresh, and goes with its last reference. */
    st = bd_store_open(dir, 1, 0, NULL);
    char c1[65], c2[65], c3[65], p1[400], p2[400], p3[400], aside[420];
    const char *body1 = "the applicant's front side", *body2 = "the applicant's back side",
               *body3 = "a third upload, to be cut short";
    bd_store_blob_put(st, body1, strlen(body1), c1);
    bd_store_blob_put(st, body2, strlen(body2), c2);
    bd_store_blob_put(st, body3, strlen(body3), c3);
    bd_store_job_insert(st, "33333333333333333333333333333333", "t", NULL, 0, 0, "{}", 2, "[]", 1);
    bd_store_blob_ref(st, "33333333333333333333333333333333", c1);
    bd_store_blob_ref(st, "33333333333333333333333333333333", c2);
    bd_store_blob_ref(st, "33333333333333333333333333333333", c3);
    bd_store_commit(st);
    snprintf(p1, sizeof p1, "%s/spool/%s", dir, c1);
    snprintf(p2, sizeof p2, "%s/spool/%s", dir, c2);
    snprintf(p3, sizeof p3, "%s/spool/%s", dir, c3);
    CHECK(bd_store_blob_check(st, c1) == 0 && bd_store_blob_check(st, c2) == 0, "intact spool files pass the check");
    FILE *fp = fopen(p1, "r+b"); /* flip one bit of the first */
    if (fp) {
        int ch0 = fgetc(fp);
        fseek(fp, 0, SEEK_SET);
        fputc(ch0 ^ 1, fp);
        fclose(fp);
    }
    bn_error_clear();
    CHECK(bd_store_blob_map(st, c1, &data, &size) < 0 && !strcmp(bn_error_code(), "store_corrupt"),
          "a bit-flipped spool file is store_corrupt, not mapped (got '%s')", bn_error_code());
    snprintf(aside, sizeof aside, "%s.corrupt", p1);
    CHECK(access(p1, F_OK) != 0 && access(aside, F_OK) == 0, "it is moved aside as <sha>.corrupt");
    bn_error_clear();
    CHECK(bd_store_blob_check(st, c1) < 0 && !strcmp(bn_error_code(), "store_corrupt"),
          "and stays store_corrupt (not blob_missing) for later readers");
    CHECK(truncate(p3, 5) == 0, "truncate the third");
    bn_error_clear();
    CHECK(bd_store_blob_check(st, c3) < 0 && !strcmp(bn_error_code(), "store_corrupt"), "a truncated spool file is store_corrupt");
    /* Swap: the second's name now holds the third's bytes (which are the right length for
     * nothing) — a file that is whole but not the one its name promises. */
    snprintf(aside, sizeof aside, "%s/spool/%s.corrupt", dir, c3);
    CHECK(rename(aside, p2) == 0, "swap another file in under the second's name");
    bn_error_clear();
    CHECK(bd_store_blob_map(st, c2, &data, &size) < 0 && !strcmp(bn_error_code(), "store_corrupt"),
          "a swapped spool file is store_corrupt");
    bn_error_clear();
    CHECK(bd_store_blob_check(st, "0000000000000000000000000000000000000000000000000000000000000000") < 0
          && !strcmp(bn_error_code(), "blob_missing"), "a file that is simply gone stays blob_missing");
    CHECK(bd_store_blob_put(st, body1, strlen(body1), sha) == 0 && !strcmp(sha, c1), "the same image uploaded again");
    bd_store_commit(st);
    CHECK(bd_store_blob_map(st, c1, &data, &size) == 0 && size == strlen(body1) && !memcmp(data, body1, size),
          "is stored afresh, not deduplicated against the damaged copy");
    bd_store_blob_unmap(data, size);
    bd_store_job_delete(st, "33333333333333333333333333333333");
    bd_store_commit(st);
    snprintf(aside, sizeof aside, "%s.corrupt", p1);
    CHECK(access(p1, F_OK) != 0 && access(aside, F_OK) != 0, "a damaged copy goes with its last reference");
    snprintf(aside, sizeof aside, "%s.corrupt", p2);
    CHECK(access(p2, F_OK) != 0 && access(aside, F_OK) != 0, "(the swapped one too)");
    bd_store_close(&st);

    /* Issue #11 (found by it_fault_loop): a broker killed inside a commit leaves spool files no
     * job refers to — renamed in before a COMMIT that never came, or released by one whose
     * unlinks never ran. bd_store_sweep, at the broker's start, deletes them, and only them. */
    char sdir[] = "/tmp/beian-sweep-XXXXXX";
    if (mkdtemp(sdir)) {
        char held[65], orphan[65], aside2[65], sp[420], cp[440];
        st = bd_store_open(sdir, 1, 0, NULL);
        bd_store_blob_put(st, "a document its job holds", 24, held);
        bd_store_blob_put(st, "an upload never acknowledged", 28, orphan);
        bd_store_blob_put(st, "a damaged copy, moved aside", 27, aside2);
        bd_store_job_insert(st, "44444444444444444444444444444444", "t", NULL, 0, 0, "{}", 2, "[\"held\"]", 1);
        bd_store_blob_ref(st, "44444444444444444444444444444444", held);
        bd_store_commit(st); /* the same files on disk as a crash leaves: no reference to two */
        snprintf(sp, sizeof sp, "%s/spool/%s", sdir, aside2);
        snprintf(cp, sizeof cp, "%s.corrupt", sp);
        CHECK(rename(sp, cp) == 0, "move one aside as <sha>.corrupt");
        snprintf(sp, sizeof sp, "%s/spool/notes.txt", sdir);
        fp = fopen(sp, "w");
        if (fp)
            fclose(fp);
        bd_store_close(&st);
        st = bd_store_open(sdir, 1, 0, NULL);
        CHECK(bd_store_sweep(st) == 2, "the sweep deletes the two files no job refers to");
        CHECK(access(cp, F_OK) != 0, "(a .corrupt one too)");
        snprintf(path, sizeof path, "%s/spool/%s", sdir, orphan);
        CHECK(access(path, F_OK) != 0, "the unacknowledged upload is gone");
        snprintf(path, sizeof path, "%s/spool/%s", sdir, held);
        CHECK(access(path, F_OK) == 0 && access(sp, F_OK) == 0, "a referenced file and a file not named like a blob stay");
        CHECK(bd_store_sweep(st) == 0, "a second sweep finds nothing");
        /* A store written before reference counting: a job names images but holds no
         * reference. Its files are not orphans; the sweep leaves the whole spool alone. */
        bd_store_blob_put(st, "an upload never acknowledged", 28, orphan);
        bd_store_job_insert(st, "55555555555555555555555555555555", "t", NULL, 0, 0, "{}", 2, "[\"old\"]", 1);
        bd_store_commit(st);
        CHECK(bd_store_sweep(st) == 0 && access(path, F_OK) == 0, "jobs without references: nothing is swept");
        bd_store_job_delete(st, "55555555555555555555555555555555");
        bd_store_commit(st);
        /* More unreferenced files than an interrupted commit can leave (2 x 4096): an older
         * beian.db beside a newer spool. Kept, for the operator. */
        int made = 0;
        for (int i = 0; i < 2 * 4096 + 1; i++) {
            snprintf(sp, sizeof sp, "%s/spool/%064x", sdir, i + 1);
            fp = fopen(sp, "w");
            made += fp != NULL;
            if (fp)
                fclose(fp);
        }
        CHECK(made == 2 * 4096 + 1 && bd_store_sweep(st) == 0 && access(sp, F_OK) == 0,
              "more orphans than a crash leaves: none deleted");
        bd_store_close(&st);
        snprintf(sp, sizeof sp, "rm -rf %s", sdir);
        if (system(sp) != 0)
            fprintf(stderr, "could not remove %s\n", sdir);
    }

    /* Memory mode keeps jobs, not blobs. */
    st = bd_store_open(dir, 0, 1u << 20, NULL);
    CHECK(bd_store_blob_put(st, "x", 1, sha) == 0 && bd_store_blob_map(st, sha, &data, &size) < 0, "memory: no spool");
    CHECK(bd_store_blob_put(st, "x", 1, sha2) == 0 && strcmp(sha, sha2) != 0, "memory: unique names");
    json_t *res = json_pack("{s:s}", "verdict", "reshoot");
    bd_store_job_remember(st, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "t", "k9", 0, "done", res, 1);
    json_decref(res);
    bd_store_commit(st);
    char *text = NULL;
    status = NULL;
    CHECK(bd_store_job_get(st, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", NULL, &status, &text, NULL) == 1 && !strcmp(status, "done")
          && !strcmp(text, "{\"verdict\":\"reshoot\"}"), "memory: a finished job's result, serialised when asked");
    free(status);
    free(text);
    CHECK(bd_store_job_by_key(st, "t", "k9", id) && !strcmp(id, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"), "memory: by key");
    CHECK(bd_store_purge(st, 2) == 1 && !bd_store_job_get(st, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", NULL, NULL, NULL, NULL),
          "memory: purged after its retention");
    /* Large payloads go to the tmpfs payload file, which a worker on this host maps. */
    static char big[100000];
    memset(big, 'p', sizeof big);
    char name[65], paths[2][4096];
    uint64_t off = 1;
    int shm_ok = bd_store_shm_put(st, big, sizeof big, name) == 0;
    CHECK(shm_ok || access("/dev/shm", W_OK) != 0, "memory: a writable /dev/shm holds the payload file");
    if (shm_ok) {
        CHECK(bd_store_blob_paths(st, name, paths, &off) == 1 && off == 0 && access(paths[0], R_OK) == 0,
              "memory: the payload file is named to workers");
        CHECK(strncmp(paths[0], "/dev/shm/", 9) == 0, "memory: it is on tmpfs");
        CHECK(bd_store_blob_map(st, name, &data, &size) == 0 && size == sizeof big && !memcmp(data, big, size),
              "memory: the broker maps it back for workers that take bytes");
        bd_store_blob_unmap(data, size);
        CHECK(bd_store_shm_bytes(st) >= sizeof big, "memory: counted");
        bd_store_shm_release(st, name);
        CHECK(bd_store_shm_bytes(st) >= sizeof big, "memory: released, its pages stay for the next payloads");
        bd_store_trim(st);
        bd_store_trim(st);
        CHECK(bd_store_shm_bytes(st) <= (1u << 20) / 32, "memory: once quiet, the file gives its pages back but the slack");
        CHECK(bd_store_shm_put(st, big, (1u << 20) + 1, name) < 0, "memory: beyond the cap it refuses");
        bd_store_close(&st);
        CHECK(access(paths[0], F_OK) != 0, "memory: the payload file goes with the store");
    } else {
        printf("note: no /dev/shm here: payload-file checks not run\n");
        bd_store_close(&st);
    }
    CHECK(bd_arena_test() == 0, "bd_arena self-test");
    CHECK(bd_memjobs_test() == 0, "bd_memjobs self-test");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return bn_test_end("test_daemon_store");
}
