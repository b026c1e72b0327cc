/* beian batch — submit a manifest of applications with a window of N in flight.
 *
 * Manifest: CSV with a header naming at least `id` and `documents` (TYPE:SIDE=FILE entries
 * separated by ';'), optionally `selfie` and `form` (a JSON file); or JSON lines
 * {"id":..., "documents":["id-card:front=a.jpg",...], "selfie":"s.jpg", "form":{...}|"f.json"}.
 * Paths are relative to the manifest and must stay inside its folder (after '..' and symbolic
 * links): a manifest is often written by someone else (an agency), and `=/etc/shadow` would
 * otherwise be read and uploaded with the operator's rights. --allow-outside lifts that for a
 * manifest the operator trusts. Each application's id is its idempotency key, and its
 * result lands in OUT/<id>.json (written atomically), so a rerun skips what is finished and a
 * crash or a lost acknowledgement never submits an application twice. */
#include "cli.h"
#include "core/bn_error.h"
#include "core/bn_msg.h"

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
    json_t *line; /* {"documents":[...], "selfie":..., "form":...} */
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
        snprintf(v[n].id, sizeof v[n].id, "%s", id);
        v[n].line = obj;
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

static int s_build(cli_app_t *app, const entry_t *e, const char *base, const char *root, const char *tenant,
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
    json_t *opt = json_object_get(app->spec, "options");
    json_object_set_new(opt, "key", json_string(e->id));
    json_object_set_new(opt, "priority", json_string(priority));
    if (tenant)
        json_object_set_new(opt, "tenant", json_string(tenant));
    return 0;
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
                   "(only for a manifest you trust).\n");
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
    int *todo = calloc((size_t)n + 1, sizeof *todo), ntodo = 0, skipped = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.json", out, entries[i].id);
        if (access(path, F_OK) == 0)
            skipped++; /* finished in an earlier run */
        else
            todo[ntodo++] = i;
    }
    int tty = isatty(2), next = 0, done = 0, failed = 0, bad = 0, outside = 0;
    int verdicts[5] = {0}; /* pass review reshoot reject other */
    static const char *vnames[] = {"pass", "review", "reshoot", "reject", "-"};
    slot_t slots[MAX_WINDOW];
    memset(slots, 0, sizeof slots);
    for (int i = 0; i < window; i++) {
        slots[i].client = cli_connect(conn);
        slots[i].entry = -1;
    }
    if (!tty)
        fprintf(stderr, "batch: %d applications, %d already finished, window %d\n", n, skipped, window);
    double start = s_now();
    while (done < ntodo) {
        /* Fill free slots. */
        for (int i = 0; i < window && next < ntodo; i++) {
            slot_t *s = &slots[i];
            if (s->state)
                continue;
            cli_app_t app;
            const entry_t *e = &entries[todo[next]];
            bn_error_clear();
            if (s_build(&app, e, base, allow_outside ? NULL : root, tenant, priority) < 0) {
                /* The code, when there is one, says what to fix (path_outside_manifest, ...). */
                int out_of_folder = !strcmp(bn_error_code(), "path_outside_manifest");
                fprintf(stderr, "%sbatch: %s: bad application%s%s%s, skipped\n", tty ? "\n" : "", e->id,
                        *bn_error_code() ? " (" : "", bn_error_code(), *bn_error_code() ? ")" : "");
                cli_app_clear(&app);
                outside += out_of_folder;
                bad++;
                done++;
                next++;
                continue;
            }
            char job[33];
            int rc = cli_submit(s->client, &app, job, conn->timeout_ms, NULL);
            cli_app_clear(&app);
            if (rc == EXIT_UNREACHABLE) {
                fprintf(stderr, "%sbatch: broker unreachable; rerun to resume\n", tty ? "\n" : "");
                goto stop;
            }
            if (rc != EXIT_RESULT) {
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
                    /* Reconnect and ask again: the job is durable, only our long-poll was lost. */
                    bn_client_destroy(&s->client);
                    s->client = cli_connect(conn);
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
            json_t *res = json_loadb(bn_msg_data(rep, 1), bn_msg_len(rep, 1), 0, NULL);
            char name[200];
            snprintf(name, sizeof name, "%s.json", entries[s->entry].id);
            char *text = json_dumps(res, JSON_INDENT(2));
            cli_write_file(out, name, text, strlen(text));
            free(text);
            const char *st = json_string_value(json_object_get(res, "status"));
            const char *v = json_string_value(json_object_get(res, "verdict"));
            int vi = 4;
            for (int k = 0; v && k < 4; k++)
                if (!strcmp(v, vnames[k]))
                    vi = k;
            verdicts[vi]++;
            if (st && strcmp(st, "done") != 0)
                failed++;
            if (!tty)
                fprintf(stderr, "done %s job=%s status=%s verdict=%s\n", entries[s->entry].id, s->job,
                        st ? st : "?", v ? v : "-");
            json_decref(res);
            bn_msg_destroy(&rep);
            s->state = 0;
            s->entry = -1;
            done++;
            s_progress(tty, done, ntodo, start);
        }
    }
stop:
    if (tty)
        fprintf(stderr, "\n");
    double el = s_now() - start;
    fprintf(stderr, "\n  applications  %6d\n  skipped       %6d  (finished earlier)\n  finished      %6d  in %.1f s (%.1f/s)\n",
            n, skipped, done - bad, el, el > 0 ? (done - bad) / el : 0.0);
    for (int k = 0; k < 5; k++)
        if (verdicts[k])
            fprintf(stderr, "    %-10s  %6d\n", vnames[k], verdicts[k]);
    fprintf(stderr, "  failed jobs   %6d\n  bad input     %6d\n", failed, bad);
    if (outside)
        fprintf(stderr, "    of which    %6d  path_outside_manifest (files outside %s; --allow-outside)\n",
                outside, root);
    for (int i = 0; i < window; i++)
        bn_client_destroy(&slots[i].client);
    for (int i = 0; i < n; i++)
        json_decref(entries[i].line);
    free(entries);
    free(todo);
    free(mpath);
    if (done < ntodo)
        return EXIT_UNREACHABLE;
    return failed ? EXIT_JOB_FAILED : bad ? EXIT_BAD_INPUT : EXIT_RESULT;
}
