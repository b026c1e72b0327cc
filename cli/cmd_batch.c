/* beian batch — submit a manifest of applications with a window of N in flight.
 *
 * Manifest: CSV with a header naming at least `id` and `documents` (TYPE:SIDE=FILE entries
 * separated by ';'), optionally `selfie` and `form` (a JSON file); or JSON lines
 * {"id":..., "documents":["id-card:front=a.jpg",...], "selfie":"s.jpg", "form":{...}|"f.json"}.
 * Paths are relative to the manifest and must stay inside its folder (after '..' and symbolic
 * links): a manifest is often written by someone else (an agency), and `=/etc/shadow` would
 * otherwise be read and uploaded with the operator's rights. --allow-outside lifts that for a
 * manifest the operator trusts. Each application's id (with its content's digest) is its
 * idempotency key, and its result lands in OUT/<id>.json (written atomically), so a rerun skips
 * what is finished and a crash or a lost acknowledgement never submits an application twice.
 * The agency report (cli_report.c, docs/REPORT.md) covers every row of the manifest. */
#include "cli.h"
#include "core/bn_error.h"
#include "core/bn_msg.h"
#include "core/bn_sha256.h"

#include <beian/proto.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_WINDOW 64
/* A long-poll silent this long is asked again: after a broker restart the broker has forgotten
 * it, while the job itself is durable. */
#define REPOLL_S 5.0

typedef struct {
    char id[129];
    json_t *line;   /* {"documents":[...], "selfie":..., "form":...} */
    int dup;        /* the id was on an earlier row */
    char sha[65];   /* digest of what is checked (s_digest) */
    json_t *record; /* its result, or its input_error record, once known */
} entry_t;

typedef struct {
    bn_client_t *client;
    int entry;        /* -1 free */
    int state;        /* 0 free, 1 submitting, 2 waiting */
    char job[33];
    double since;
} slot_t;

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Split a CSV line on commas (no quoting: ids and paths with commas are not supported; use
 * JSON lines for those). */
static int s_split(char *line, char **cols, int max)
{
    int n = 0;
    for (char *p = line; n < max;) {
        cols[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

static void s_trim(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
}

static int s_load(const char *path, entry_t **out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "beian batch: cannot open %s\n", path);
        return -1;
    }
    entry_t *v = NULL;
    int n = 0, cap = 0, lineno = 0, csv = -1;
    int col_id = -1, col_docs = -1, col_selfie = -1, col_form = -1;
    char line[16384];
    while (fgets(line, sizeof line, f)) {
        lineno++;
        s_trim(line);
        if (!line[0] || line[0] == '#')
            continue;
        if (csv < 0)
            csv = line[0] != '{';
        json_t *obj;
        if (csv) {
            char *cols[32];
            int nc = s_split(line, cols, 32);
            if (col_id < 0) { /* header */
                for (int i = 0; i < nc; i++) {
                    if (!strcmp(cols[i], "id")) col_id = i;
                    else if (!strcmp(cols[i], "documents")) col_docs = i;
                    else if (!strcmp(cols[i], "selfie")) col_selfie = i;
                    else if (!strcmp(cols[i], "form")) col_form = i;
                }
                if (col_id < 0 || col_docs < 0) {
                    fprintf(stderr, "beian batch: %s: the CSV header needs id and documents columns\n", path);
                    goto err;
                }
                continue;
            }
            if (col_id >= nc || col_docs >= nc) {
                fprintf(stderr, "beian batch: %s:%d: missing columns\n", path, lineno);
                goto err;
            }
            obj = json_pack("{s:s, s:[]}", "id", cols[col_id], "documents");
            for (char *d = strtok(cols[col_docs], ";"); d; d = strtok(NULL, ";"))
                json_array_append_new(json_object_get(obj, "documents"), json_string(d));
            if (col_selfie >= 0 && col_selfie < nc && *cols[col_selfie])
                json_object_set_new(obj, "selfie", json_string(cols[col_selfie]));
            if (col_form >= 0 && col_form < nc && *cols[col_form])
                json_object_set_new(obj, "form", json_string(cols[col_form]));
        } else {
            json_error_t e;
            obj = json_loads(line, 0, &e);
            if (!json_is_object(obj)) {
                fprintf(stderr, "beian batch: %s:%d: %s\n", path, lineno, obj ? "not an object" : e.text);
                json_decref(obj);
                goto err;
            }
        }
        const char *id = json_string_value(json_object_get(obj, "id"));
        if (!id || !*id || strlen(id) > 128 || strchr(id, '/') || id[0] == '.') {
            fprintf(stderr, "beian batch: %s:%d: each application needs an id (1..128 chars, no '/')\n", path, lineno);
            json_decref(obj);
            goto err;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            v = realloc(v, (size_t)cap * sizeof *v);
        }
        memset(&v[n], 0, sizeof v[n]);
        snprintf(v[n].id, sizeof v[n].id, "%s", id);
        v[n].line = obj;
        for (int k = 0; k < n; k++)
            v[n].dup |= !strcmp(v[k].id, id);
        n++;
    }
    fclose(f);
    *out = v;
    return n;
err:
    fclose(f);
    for (int i = 0; i < n; i++)
        json_decref(v[i].line);
    free(v);
    return -1;
}

/* A digest of what is checked — the spec without its options, and every image's bytes — so
 * that the same id with other content is told apart (docs/REPORT.md, "Corrected applications"). */
static void s_digest(const cli_app_t *app, char hex[65])
{
    json_t *c = json_deep_copy(app->spec);
    json_object_del(c, "options");
    char *t = json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(c);
    size_t tl = strlen(t), n = tl + (size_t)app->nblobs * 64;
    char *buf = malloc(n + 1);
    memcpy(buf, t, tl);
    for (int i = 0; i < app->nblobs; i++) {
        char h[65];
        bn_sha256_hex(app->blobs[i].data, app->blobs[i].size, h);
        memcpy(buf + tl + (size_t)i * 64, h, 64);
    }
    bn_sha256_hex(buf, n, hex);
    free(buf);
    free(t);
}

static int s_build(cli_app_t *app, entry_t *e, const char *base, const char *root, const char *tenant,
                   const char *priority)
{
    cli_app_init(app);
    app->root = root;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(e->line, "documents"), i, d)
        if (!json_is_string(d) || cli_app_add_doc(app, json_string_value(d), base) < 0)
            return -1;
    json_t *selfie = json_object_get(e->line, "selfie");
    if (json_is_string(selfie) && cli_app_set_selfie(app, json_string_value(selfie), base) < 0)
        return -1;
    json_t *form = json_object_get(e->line, "form");
    if (json_is_string(form) && cli_app_set_form(app, json_string_value(form), base) < 0)
        return -1;
    if (json_is_object(form))
        json_object_set(app->spec, "form", form);
    /* The idempotency key is the id and the content's digest: a resubmission of the same
     * application finds its job, a corrected one under the same id is a new job, never the old
     * result (options.key is at most 128 characters; the id is cut, the digest kept). */
    s_digest(app, e->sha);
    char key[129];
    snprintf(key, sizeof key, "%.16s:%.111s", e->sha, e->id);
    json_t *opt = json_object_get(app->spec, "options");
    json_object_set_new(opt, "key", json_string(key));
    json_object_set_new(opt, "priority", json_string(priority));
    if (tenant)
        json_object_set_new(opt, "tenant", json_string(tenant));
    return 0;
}

/* The record of an application that was not checked: in the report, and (write) as OUT/<id>.json
 * so that the agency sees it next to the results; a rerun tries it again. */
static void s_input_error(entry_t *e, const char *out, int write, const char *code, const char *msg)
{
    json_decref(e->record);
    e->record = json_pack("{s:s, s:n, s:s, s:n, s:{s:s, s:s}}", "application_id", e->id, "job", "status", "input_error",
                          "verdict", "error", "code", code, "message", msg);
    if (write) {
        char name[200], *text = json_dumps(e->record, JSON_INDENT(2));
        snprintf(name, sizeof name, "%s.json", e->id);
        cli_write_file(out, name, text, strlen(text));
        free(text);
    }
}

static void s_send(slot_t *s, const char *service, const char *job)
{
    bn_msg_t *m = bn_msg_new();
    bn_msg_addstr(m, job);
    if (!strcmp(service, BN_SVC_RESULT))
        bn_msg_addstr(m, "wait");
    bn_client_send(s->client, service, &m);
    s->since = s_now();
}

static void s_progress(int tty, int done, int total, double start)
{
    if (!tty)
        return;
    double el = s_now() - start, rate = el > 0 ? done / el : 0;
    int eta = rate > 0 ? (int)((total - done) / rate) : 0, width = 30, fill = total ? done * width / total : width;
    fprintf(stderr, "\r[%.*s%*s] %d/%d  %.1f/s  ETA %02d:%02d ", fill, "==============================",
            width - fill, "", done, total, rate, eta / 60, eta % 60);
}

int cmd_batch(int argc, char **argv, const cli_conn_t *conn)
{
    const char *out = NULL, *tenant = NULL, *priority = "batch";
    int window = 8, allow_outside = 0;
    static struct option lo[] = {{"out", 1, 0, 'o'}, {"window", 1, 0, 'w'}, {"tenant", 1, 0, 'T'},
                                 {"priority", 1, 0, 'p'}, {"allow-outside", 0, 0, 'A'}, {"help", 0, 0, 'h'},
                                 {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "o:w:h", lo, NULL)) != -1) {
        if (ch == 'o') out = optarg;
        else if (ch == 'w') window = atoi(optarg);
        else if (ch == 'T') tenant = optarg;
        else if (ch == 'p') priority = optarg;
        else if (ch == 'A') allow_outside = 1;
        else if (ch == 'h') {
            printf("usage: beian batch MANIFEST --out DIR [--window N] [--tenant T] [--priority batch|interactive]\n"
                   "                   [--allow-outside]\n"
                   "Submits every application of a CSV or JSON-lines manifest; resumable (OUT/<id>.json).\n"
                   "File paths are relative to the manifest and must resolve inside its folder: an entry\n"
                   "naming a file elsewhere (absolute, '..', a symbolic link out) is skipped with\n"
                   "path_outside_manifest and the batch goes on. --allow-outside permits such paths\n"
                   "(only for a manifest you trust).\n"
                   "DIR gets, per application, <id>.json (its result with application_id, or an input_error\n"
                   "record) and <id>/ (prepared and review images), and for the whole manifest, earlier runs\n"
                   "included, report.html (self-contained, filters by verdict) and report.csv (UTF-8 with BOM).\n"
                   "An id already finished with other files is refused (application_changed). docs/REPORT.md.\n");
            return 0;
        } else return EXIT_BAD_INPUT;
    }
    if (optind >= argc || !out || window < 1 || window > MAX_WINDOW) {
        fprintf(stderr, "beian batch: MANIFEST and --out DIR are required; --window 1..%d\n", MAX_WINDOW);
        return EXIT_BAD_INPUT;
    }
    char *mpath = strdup(argv[optind]);
    char *base = dirname(mpath);
    /* The folder every path must resolve into, itself resolved so a manifest reached through a
     * symbolic link confines to where it really lives. */
    char root[PATH_MAX];
    if (!realpath(base, root)) {
        fprintf(stderr, "beian batch: %s: %s\n", base, strerror(errno));
        free(mpath);
        return EXIT_BAD_INPUT;
    }
    entry_t *entries = NULL;
    int n = s_load(argv[optind], &entries);
    if (n < 0) {
        free(mpath);
        return EXIT_BAD_INPUT;
    }
    mkdir(out, 0700);
    int *todo = calloc((size_t)n + 1, sizeof *todo), ntodo = 0, skipped = 0, bad = 0;
    for (int i = 0; i < n; i++) {
        entry_t *e = &entries[i];
        if (e->dup) {
            s_input_error(e, out, 0, "duplicate_application_id",
                          "an earlier row of the manifest has this application id; this row was not checked");
            bad++;
            continue;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.json", out, e->id);
        json_t *old = json_load_file(path, 0, NULL);
        const char *st = json_string_value(json_object_get(old, "status"));
        if (!st || !strcmp(st, "input_error")) { /* not run yet, or its input was bad: (again) */
            json_decref(old);
            todo[ntodo++] = i;
            continue;
        }
        /* Finished in an earlier run: only if it is still the same application. */
        const char *was = json_string_value(json_object_get(old, "application_sha256"));
        cli_app_t app;
        int built = was && s_build(&app, e, base, allow_outside ? NULL : root, tenant, priority) == 0;
        if (was)
            cli_app_clear(&app);
        if (built && strcmp(was, e->sha) != 0) {
            json_decref(old);
            fprintf(stderr, "batch: %s: application_changed: other files than its result in %s were checked for\n",
                    e->id, out);
            s_input_error(e, out, 0, "application_changed",
                          "the result OUT/<id>.json of this application id was for other files; give the corrected "
                          "application a new id, or delete that result to check it under this one");
            bad++;
            continue;
        }
        e->record = old;
        skipped++;
    }
    int tty = isatty(2), next = 0, done = 0, failed = 0, submitted = 0, outside = 0;
    slot_t slots[MAX_WINDOW];
    memset(slots, 0, sizeof slots);
    for (int i = 0; i < window; i++) {
        slots[i].client = cli_connect(conn);
        slots[i].entry = -1;
    }
    double start = s_now();
    if (!slots[0].client) /* a bad --endpoint or --server-key, said on stderr */
        goto stop;
    if (!tty)
        fprintf(stderr, "batch: %d applications, %d already finished, window %d\n", n, skipped, window);
    while (done < ntodo) {
        /* Fill free slots. */
        for (int i = 0; i < window && next < ntodo; i++) {
            slot_t *s = &slots[i];
            if (s->state)
                continue;
            cli_app_t app;
            entry_t *e = &entries[todo[next]];
            bn_error_clear();
            int rc = s_build(&app, e, base, allow_outside ? NULL : root, tenant, priority) < 0 ? EXIT_BAD_INPUT : -1;
            char job[33];
            if (rc < 0)
                rc = cli_submit(s->client, &app, job, conn->timeout_ms, NULL);
            cli_app_clear(&app);
            if (rc == EXIT_UNREACHABLE) {
                fprintf(stderr, "%sbatch: broker unreachable; rerun to resume\n", tty ? "\n" : "");
                goto stop;
            }
            if (rc != EXIT_RESULT) {
                /* The code, when there is one, says what to fix (path_outside_manifest, ...);
                 * the message may name files, so it goes to the record, not to the log. */
                const char *code = *bn_error_code() ? bn_error_code() : "bad_application";
                fprintf(stderr, "%sbatch: %s: bad application (%s), skipped\n", tty ? "\n" : "", e->id, code);
                outside += !strcmp(code, "path_outside_manifest");
                s_input_error(e, out, 1, code, *bn_error_msg() ? bn_error_msg() : "the application could not be read");
                bad++;
                done++;
                next++;
                continue;
            }
            s->entry = todo[next++];
            memcpy(s->job, job, 33);
            s->state = 2;
            s_send(s, BN_SVC_RESULT, s->job);
        }
        /* Wait for any result. */
        zmq_pollitem_t items[MAX_WINDOW];
        for (int i = 0; i < window; i++)
            items[i] = (zmq_pollitem_t){slots[i].state ? bn_client_socket(slots[i].client) : NULL, 0,
                                        slots[i].state ? ZMQ_POLLIN : 0, 0};
        zmq_poll(items, window, 1000);
        for (int i = 0; i < window; i++) {
            slot_t *s = &slots[i];
            if (!s->state)
                continue;
            if (!(items[i].revents & ZMQ_POLLIN)) {
                if (s_now() - s->since > REPOLL_S) {
                    /* Reconnect and ask again: the job is durable, only our long-poll was lost.
                     * With several brokers the next one is asked (they share the store). */
                    bn_client_next(s->client);
                    s_send(s, BN_SVC_RESULT, s->job);
                }
                continue;
            }
            bn_msg_t *rep = NULL;
            if (bn_client_recv(s->client, &rep, NULL, 0) < 0)
                continue;
            if (!bn_msg_streq(rep, 0, BN_ST_OK)) {
                bn_msg_destroy(&rep);
                usleep(100000);
                s_send(s, BN_SVC_RESULT, s->job); /* 300: ask again */
                continue;
            }
            entry_t *e = &entries[s->entry];
            json_t *res = json_loadb(bn_msg_data(rep, 1), bn_msg_len(rep, 1), 0, NULL);
            bn_msg_destroy(&rep);
            if (!json_is_object(res)) {
                json_decref(res);
                res = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "job", s->job, "status", "failed", "verdict",
                                "review", "error", "code", "bad_reply", "message", "the result was not JSON");
            }
            json_object_set_new(res, "application_id", json_string(e->id));
            json_object_set_new(res, "application_sha256", json_string(e->sha));
            /* The images first: a result on disk means a finished application (resume). */
            char dir[4200], name[200];
            snprintf(dir, sizeof dir, "%s/%s", out, e->id);
            cli_fetch_blobs(s->client, s->job, res, dir, conn->timeout_ms);
            snprintf(name, sizeof name, "%s.json", e->id);
            char *text = json_dumps(res, JSON_INDENT(2));
            cli_write_file(out, name, text, strlen(text));
            free(text);
            const char *st = json_string_value(json_object_get(res, "status"));
            const char *v = json_string_value(json_object_get(res, "verdict"));
            if (st && strcmp(st, "done") != 0)
                failed++;
            if (!tty)
                fprintf(stderr, "done %s job=%s status=%s verdict=%s\n", e->id, s->job, st ? st : "?", v ? v : "-");
            json_decref(e->record);
            e->record = res;
            s->state = 0;
            s->entry = -1;
            done++;
            submitted++;
            s_progress(tty, done, ntodo, start);
        }
    }
stop:
    if (tty)
        fprintf(stderr, "\n");
    /* The report covers every application of the manifest known so far, earlier runs included. */
    json_t *records = json_array();
    for (int i = 0; i < n; i++)
        if (entries[i].record)
            json_array_append_new(records, json_pack("{s:s, s:O, s:O}", "id", entries[i].id, "line",
                                                     entries[i].line, "result", entries[i].record));
    int counts[CLI_REPORT_NVERDICTS];
    int report_rc = cli_report_write(out, records, counts);
    double el = s_now() - start;
    fprintf(stderr, "\n  applications  %6d\n  skipped       %6d  (finished earlier)\n  finished      %6d  in %.1f s (%.1f/s)\n",
            n, skipped, submitted, el, el > 0 ? submitted / el : 0.0);
    for (int k = 0; k < CLI_REPORT_NVERDICTS; k++)
        if (counts[k])
            fprintf(stderr, "    %-11s %6d\n", cli_report_name(k), counts[k]);
    if (n > (int)json_array_size(records))
        fprintf(stderr, "    %-11s %6d\n", "unfinished", n - (int)json_array_size(records));
    fprintf(stderr, "  failed jobs   %6d\n  bad input     %6d\n", failed, bad);
    if (outside)
        fprintf(stderr, "    of which    %6d  path_outside_manifest (files outside %s; --allow-outside)\n",
                outside, root);
    fprintf(stderr, "  report        %s/report.html, %s/report.csv%s\n", out, out, report_rc ? " (not written)" : "");
    json_decref(records);
    for (int i = 0; i < window; i++)
        bn_client_destroy(&slots[i].client);
    for (int i = 0; i < n; i++) {
        json_decref(entries[i].line);
        json_decref(entries[i].record);
    }
    free(entries);
    free(todo);
    free(mpath);
    if (done < ntodo)
        return EXIT_UNREACHABLE;
    return failed ? EXIT_JOB_FAILED : bad ? EXIT_BAD_INPUT : EXIT_RESULT;
}
