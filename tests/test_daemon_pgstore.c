/* The PostgreSQL store (daemon/bd_pgstore.c) without ZeroMQ: two stores opened in this process
 * are two brokers sharing one database. Checked: reference-counted, content-addressed scans
 * (shared between jobs, and between two frames of one job); the idempotency key across brokers;
 * the owner fence (only a job's owner writes its end); a broker not seen for a lease is buried
 * and its jobs taken over, and it learns so at its next tick; a cancel from another broker;
 * announcements reach the other broker and not the one that made them; purge; a key file that
 * does not open the store's records is refused.
 *
 * The server: $BEIAN_PG_URL, or a private cluster started here with scripts/pg-cluster.sh and
 * stopped at exit (docs/TESTING.md). Without PostgreSQL's binaries: SKIP (77), a failure in CI. */
#include "bn_test.h"
#include "bd_store.h"
#include "core/bn_config.h"
#include "core/bn_error.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char s_cluster[64];

static void s_stop_cluster(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/scripts/pg-cluster.sh stop %s >/dev/null 2>&1; rm -rf %s", BEIAN_SOURCE_DIR,
             s_cluster, s_cluster);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", s_cluster);
}

static const char *s_url(void)
{
    static char url[256];
    if (getenv("BEIAN_PG_URL"))
        return getenv("BEIAN_PG_URL");
    snprintf(s_cluster, sizeof s_cluster, "/tmp/beian-pg-unit-XXXXXX");
    if (!mkdtemp(s_cluster))
        return NULL;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/scripts/pg-cluster.sh start %s 2>&1", BEIAN_SOURCE_DIR, s_cluster);
    FILE *p = popen(cmd, "r");
    char line[256] = "";
    while (p && fgets(line, sizeof line, p))
        if (!strncmp(line, "postgres://", 11))
            snprintf(url, sizeof url, "%.*s", (int)strcspn(line, "\n"), line);
        else
            fputs(line, stderr);
    int rc = p ? pclose(p) : -1;
    atexit(s_stop_cluster);
    return rc == 0 && *url ? url : NULL;
}

static int n_taken, n_noted;
static char noted[33];

static void on_job(void *arg, const char *id, const char *tenant, const char *key, int kind, int prio,
                   const char *spec, const char *blobs, int64_t created, json_t *replies)
{
    (void)arg, (void)tenant, (void)key, (void)kind, (void)prio, (void)blobs, (void)created;
    /* a's unfinished jobs: j1 (no task done) and j5 (one) */
    int j5 = !strcmp(id, "55555555555555555555555555555555");
    CHECK(j5 || !strcmp(id, "11111111111111111111111111111111") || !strcmp(id, "77777777777777777777777777777777"),
          "the take-over hands on the dead (or stopped) broker's jobs");
    CHECK(strstr(spec, "documents") != NULL, "with their spec (sealed, opened by the shared key)");
    CHECK(json_array_size(replies) == (size_t)j5 && (!j5 || json_is_object(json_array_get(replies, 0))),
          "and their finished tasks");
    n_taken++;
}

static int n_hooks;
static void on_hook(void *arg, int64_t seq, const char *tenant, const char *job, const char *body, int attempts,
                    int64_t created, int64_t next)
{
    (void)arg, (void)seq, (void)tenant, (void)job, (void)body, (void)attempts, (void)created, (void)next;
    n_hooks++;
}

static void on_note(void *arg, const char *id, const char *tenant, const char *status, const char *verdict)
{
    (void)arg, (void)tenant;
    CHECK(!strcmp(status, "done") && verdict && !strcmp(verdict, "pass"), "announcement carries status and verdict");
    snprintf(noted, sizeof noted, "%s", id);
    n_noted++;
}

static int s_blob_there(bd_store_t *st, const char *sha)
{
    void *d;
    size_t n;
    if (bd_store_blob_map(st, sha, &d, &n) < 0)
        return 0;
    bd_store_blob_unmap(d, n);
    return 1;
}

static bd_store_t *s_open(const char *dir, const char *url, const char *key_file)
{
    json_t *j = json_pack("{s:{s:s, s:i, s:i}}", "store", "key_file", key_file, "broker_lease_ms", 2000,
                          "lock_timeout_ms", 300);
    bn_config_t *cfg = bn_config_from_json(j);
    json_decref(j);
    bd_store_t *st = bd_store_open_pg(dir, url, cfg);
    bn_config_destroy(&cfg);
    return st;
}

int main(void)
{
    const char *url = s_url();
    if (!url) {
        if (getenv("CI")) {
            fprintf(stderr, "FAIL: no PostgreSQL test cluster (scripts/setup.sh installs the server)\n");
            return 1;
        }
        printf("SKIP: no PostgreSQL server binaries for a test cluster\n");
        return 77;
    }
    char dir[] = "/tmp/beian-pgstore-XXXXXX", key[300], other[300];
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    snprintf(key, sizeof key, "%s/beian.key", dir);
    snprintf(other, sizeof other, "%s/other.key", dir);
    bd_store_t *a = s_open(dir, url, key), *b = s_open(dir, url, key);
    CHECK(a && b, "two brokers open one database (%s)", a && b ? "" : bn_error_msg());
    CHECK(bd_store_shared(a) && bd_store_durable(a) && bd_store_fd(a) >= 0, "a shared, durable store to poll");
    const char *spec = "{\"documents\":[]}";
    const char *j1 = "11111111111111111111111111111111", *j2 = "22222222222222222222222222222222",
               *j3 = "33333333333333333333333333333333", *j5 = "55555555555555555555555555555555",
               *j6 = "66666666666666666666666666666666";

    /* Scans: stored once, kept while a job refers to them. */
    char sha[65], sha2[65], sha3[65];
    CHECK(bd_store_blob_put(a, "scan one", 8, sha) == 0, "put");
    bd_store_blob_ref(a, j1, sha);
    /* (One thread: a's turn commits before b stores the same bytes, which would otherwise wait
     * for it, as a broker waits for another's turn that holds the same scan.) */
    CHECK(bd_store_commit(a) == 0, "commit a");
    CHECK(bd_store_blob_put(b, "scan one", 8, sha2) == 0 && !strcmp(sha, sha2), "the same bytes, the same address");
    bd_store_blob_ref(b, j2, sha2);
    CHECK(bd_store_commit(b) == 0, "commit b");
    void *d;
    size_t n;
    CHECK(bd_store_blob_map(b, sha, &d, &n) == 0 && n == 8 && !memcmp(d, "scan one", 8), "read back, authenticated");
    bd_store_blob_unmap(d, n);
    bd_store_blob_release(a, j1, sha);
    CHECK(bd_store_commit(a) == 0 && s_blob_there(b, sha), "one reference released: the scan stays for the other job");
    bd_store_blob_release(b, j2, sha);
    CHECK(bd_store_commit(b) == 0 && !s_blob_there(a, sha) && !strcmp(bn_error_code(), "blob_missing"),
          "the last reference takes the scan with it");
    /* Two frames of one job with the same bytes: one reference, gone with one release. */
    bd_store_blob_put(a, "twice", 5, sha3);
    bd_store_blob_ref(a, j3, sha3);
    bd_store_blob_put(a, "twice", 5, sha3);
    bd_store_blob_ref(a, j3, sha3);
    bd_store_commit(a);
    bd_store_blob_release(a, j3, sha3);
    CHECK(bd_store_commit(a) == 0 && !s_blob_there(a, sha3), "a job's one reference to a scan it holds twice");

    /* A broker stalled inside its turn holds the row lock of a scan: another broker storing the
     * same bytes gives up after store.lock_timeout_ms (its turn rolls back, its clients retry)
     * rather than stalling its own event loop behind it. (Without the timeout this waits for
     * ever: a is never going to commit while this thread waits.) */
    char sha4[65];
    bd_store_blob_put(a, "held", 4, sha4);
    bd_store_blob_ref(a, j1, sha4);
    CHECK(bd_store_dirty(a), "a's turn is open, holding the scan's row");
    bd_store_blob_put(b, "held", 4, sha4);
    bd_store_blob_ref(b, j2, sha4);
    CHECK(bd_store_commit(b) < 0 && !strcmp(bn_error_code(), "store_conflict"),
          "b's turn gives up on the lock and rolls back: %s", bn_error_code());
    CHECK(bd_store_commit(a) == 0, "a's turn commits");
    bd_store_blob_put(b, "held", 4, sha4);
    bd_store_blob_ref(b, j2, sha4);
    CHECK(bd_store_commit(b) == 0, "b's retry goes through");
    bd_store_blob_release(a, j1, sha4);
    CHECK(bd_store_commit(a) == 0 && s_blob_there(b, sha4), "one released: kept");
    bd_store_blob_release(b, j2, sha4);
    CHECK(bd_store_commit(b) == 0 && !s_blob_there(a, sha4), "both released: gone");

    /* The idempotency key across brokers. */
    CHECK(bd_store_job_insert(a, j1, "t", "k1", 0, 0, spec, strlen(spec), "[]", 1) == 0 && bd_store_commit(a) == 0,
          "broker a takes key k1");
    CHECK(bd_store_job_insert(b, j2, "t", "k1", 0, 0, spec, strlen(spec), "[]", 2) < 0
          && !strcmp(bn_error_code(), "duplicate"), "broker b cannot take it again: duplicate");
    char id[33] = "";
    CHECK(bd_store_job_by_key(b, "t", "k1", id) && !strcmp(id, j1), "and finds a's job by the key");
    CHECK(bd_store_commit(b) == 0, "b's turn commits (a refused duplicate does not abort it)");
    CHECK(bd_store_job_insert(b, j2, "u", "k1", 0, 0, spec, strlen(spec), "[]", 2) == 0 && bd_store_commit(b) == 0,
          "the same key in another tenant is another job");

    /* Only the owner writes a job's end. */
    CHECK(bd_store_job_set_status(b, j1, "done", "{}") == 1, "b cannot end a's job");
    bd_store_commit(b);
    char *status = NULL, *result = NULL;
    CHECK(bd_store_job_get(b, j1, NULL, &status, NULL, NULL) && !strcmp(status, "queued"), "a's job still queued");
    free(status);

    /* A broker not seen for a lease: buried, its job taken over with its finished task. */
    bd_store_job_insert(a, j5, "t", NULL, 0, 0, spec, strlen(spec), "[]", 5);
    bd_store_task_done(a, j5, 0, "{\"flags\":[]}");
    int64_t seq = bd_store_hook_add(a, "t", j1, "{}", 1);
    CHECK(bd_store_commit(a) == 0 && seq > 0, "a holds a job with one finished task, and a webhook delivery");
    CHECK(bd_store_tick(b, on_job, NULL) == 0 && bd_store_commit(b) == 0 && n_taken == 0,
          "a live broker's jobs are not taken");
    n_hooks = 0;
    bd_store_hook_each_pending(b, on_hook, NULL);
    CHECK(n_hooks == 0, "nor its webhook deliveries");
    usleep(2300 * 1000); /* a's lease (2000 ms) runs out: it does not tick */
    int f = bd_store_tick(b, on_job, NULL);
    CHECK(bd_store_commit(b) == 0 && n_taken == 2 && (f & BD_STORE_HOOKS), "b buried a and took its jobs (%d) and "
          "its delivery", n_taken);
    n_hooks = 0;
    bd_store_hook_each_pending(b, on_hook, NULL);
    CHECK(n_hooks == 1, "b delivers a's pending webhook now (%d)", n_hooks);
    CHECK(bd_store_job_set_status(a, j5, "done", "{\"by\":\"a\"}") == 1, "a's end of it is refused: not a's now");
    bd_store_commit(a);
    f = bd_store_tick(a, on_job, NULL);
    CHECK((f & BD_STORE_LOST) && bd_store_commit(a) == 0, "a learns at its next tick that it was presumed dead");
    CHECK(bd_store_job_set_status(b, j5, "done", "{\"verdict\":\"pass\"}") == 0, "b ends the job");
    bd_store_announce(b, j5, "t", "done", "pass");
    CHECK(bd_store_commit(b) == 0, "commit");
    CHECK(bd_store_job_get(a, j5, "t", &status, &result, NULL) && !strcmp(status, "done") && strstr(result, "pass"),
          "a reads b's result");
    free(status);
    free(result);
    CHECK(!bd_store_job_get(a, j5, "other", NULL, NULL, NULL), "another tenant does not see it");

    /* The announcement reaches a, not b. */
    struct pollfd pfd = {bd_store_fd(a), POLLIN, 0};
    for (int i = 0; i < 50 && !n_noted; i++) {
        poll(&pfd, 1, 100);
        bd_store_notified(a, on_note, NULL);
    }
    CHECK(n_noted == 1 && !strcmp(noted, j5), "a hears that b ended the job");
    n_noted = 0;
    usleep(200 * 1000);
    bd_store_notified(b, on_note, NULL);
    CHECK(n_noted == 0, "b does not hear its own announcement");

    /* A cancel from the other broker. */
    bd_store_job_insert(a, j6, "t6", NULL, 0, 0, spec, strlen(spec), "[]", 6);
    CHECK(bd_store_commit(a) == 0, "a (registered afresh) takes a job");
    char tenant[64] = "";
    CHECK(bd_store_job_cancel(b, j6, tenant, sizeof tenant) == 1 && !strcmp(tenant, "t6") && bd_store_commit(b) == 0,
          "b cancels a's job and learns its tenant");
    CHECK(bd_store_job_set_status(a, j6, "done", "{}") == 1, "a's end of a cancelled job is not written");
    bd_store_commit(a);
    CHECK(bd_store_job_cancel(b, j6, tenant, sizeof tenant) == 0, "a second cancel: already ended");
    bd_store_commit(b);

    /* A broker that stops cleanly hands its jobs over at once: no lease to wait for. */
    bd_store_t *c = s_open(dir, url, key);
    bd_store_job_insert(c, "77777777777777777777777777777777", "t", NULL, 0, 0, spec, strlen(spec), "[]", 7);
    CHECK(bd_store_commit(c) == 0, "a third broker takes a job");
    bd_store_close(&c);
    pfd.fd = bd_store_fd(b);
    poll(&pfd, 1, 2000);
    bd_store_notified(b, on_note, NULL); /* the stop's notice: tick now */
    n_taken = 0;
    bd_store_tick(b, on_job, NULL);
    CHECK(bd_store_commit(b) == 0 && n_taken == 1, "b took the stopped broker's job at once (%d)", n_taken);

    /* Listing and purge. */
    int rows = 0;
    bd_store_stats_t s;
    bd_store_stats(a, &s);
    CHECK(s.done == 1 && s.cancelled == 1, "stats count the ended jobs (done %lld, cancelled %lld)",
          (long long)s.done, (long long)s.cancelled);
    char psha[65];
    bd_store_blob_put(b, "result image", 12, psha);
    bd_store_blob_ref(b, j5, psha);
    bd_store_commit(b);
    rows = bd_store_purge(b, INT64_MAX);
    CHECK(rows == 2 && bd_store_commit(b) == 0, "purge deletes the ended jobs (%d)", rows);
    CHECK(!bd_store_job_get(a, j5, NULL, NULL, NULL, NULL) && !s_blob_there(a, psha), "with their scans");
    CHECK(bd_store_job_get(a, j1, NULL, NULL, NULL, NULL), "unfinished jobs stay");

    /* Migrations: all of them ran (version 2 stores scans out of line, uncompressed); a
     * database migrated by a newer beiand is refused rather than misread. */
    PGconn *pq = PQconnectdb(url);
    PGresult *r = PQexec(pq, "SELECT (SELECT max(version) FROM beian_schema), (SELECT attstorage FROM pg_attribute"
                             " WHERE attrelid = 'blobs'::regclass AND attname = 'data')");
    CHECK(PQresultStatus(r) == PGRES_TUPLES_OK && !strcmp(PQgetvalue(r, 0, 0), "2") && !strcmp(PQgetvalue(r, 0, 1), "e"),
          "schema at version 2, scans stored external (%s, %s)", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
    PQclear(r);
    PQclear(PQexec(pq, "INSERT INTO beian_schema VALUES (99)"));
    bd_store_t *newer = s_open(dir, url, key);
    CHECK(!newer && !strcmp(bn_error_code(), "store") && strstr(bn_error_msg(), "newer"),
          "a database from a newer beiand is refused: %s", bn_error_msg());
    PQclear(PQexec(pq, "DELETE FROM beian_schema WHERE version = 99"));
    PQfinish(pq);

    /* Key files that do not open the store's records: missing, or another key. */
    c = s_open(dir, url, other);
    CHECK(!c && !strcmp(bn_error_code(), "store_key_missing"), "a missing key file is refused: %s", bn_error_code());
    FILE *kf = fopen(other, "w");
    fprintf(kf, "%064d\n", 7);
    fclose(kf);
    chmod(other, 0600);
    c = s_open(dir, url, other);
    CHECK(!c && !strcmp(bn_error_code(), "store_key_mismatch"), "another key is refused: %s", bn_error_code());
    bd_store_close(&a);
    bd_store_close(&b);
    CHECK(a == NULL && b == NULL, "close nulls the caller's pointer");
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    return bn_test_end("test_daemon_pgstore");
}
