/* Building applications and talking to the broker, shared by the client subcommands. */
#include "cli.h"
#include "core/bn_config.h"
#include "core/bn_error.h"
#include "core/bn_file.h"
#include "core/bn_log.h"
#include "core/bn_msg.h"

#include <beian/proto.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *s_config_path; /* beian --config; NULL: $BEIAN_CONFIG */
static size_t s_upload_limit;      /* 0: not read yet */

void cli_set_config(const char *path) { s_config_path = path; s_upload_limit = 0; }

int cli_upload_limit(size_t *limit)
{
    if (!s_upload_limit) {
        /* The broker's own key from the same file: the two must agree, and a larger image
         * would only be refused by the broker after it was sent. */
        bn_config_t *cfg = bn_config_load(s_config_path);
        if (!cfg) {
            fprintf(stderr, "beian: %s: %s\n", bn_error_code(), bn_error_msg());
            return -1;
        }
        double v = bn_config_num(cfg, "broker.max_upload", BN_DEFAULT_MAX_UPLOAD);
        bn_config_destroy(&cfg);
        if (!(v >= 1)) {
            bn_error_set("config_invalid", "broker.max_upload must be a positive number of bytes");
            fprintf(stderr, "beian: config_invalid: %s\n", bn_error_msg());
            return -1;
        }
        s_upload_limit = (size_t)v;
    }
    *limit = s_upload_limit;
    return 0;
}

void cli_app_init(cli_app_t *app)
{
    memset(app, 0, sizeof *app);
    app->spec = json_pack("{s:[], s:{}}", "documents", "options");
}

void cli_app_clear(cli_app_t *app)
{
    for (int i = 0; i < app->nblobs; i++)
        free((void *)app->blobs[i].data);
    json_decref(app->spec);
    memset(app, 0, sizeof *app);
}

/* Report a failed read. An image over the limit gets its own code and the limit, so the
 * user learns before anything is sent what the broker would have refused. */
static void s_read_failed(const char *name, int upload, size_t limit)
{
    if (upload && strcmp(bn_error_code(), "file_too_large") == 0) {
        struct stat st;
        long long bytes = stat(name, &st) == 0 ? (long long)st.st_size : -1;
        bn_error_set("upload_too_large", "%s: %lld bytes; the limit is %zu bytes per image (broker.max_upload, "
                     "docs/CONFIG.md)", name, bytes, limit);
        fprintf(stderr, "beian: upload_too_large: %s\n", bn_error_msg());
        return;
    }
    fprintf(stderr, "beian: %s\n", bn_error_msg());
}

static const char *s_path(const char *path, const char *base, char *buf, size_t size)
{
    if (!base || path[0] == '/')
        return path;
    snprintf(buf, size, "%s/%s", base, path);
    return buf;
}

/* Is real (a resolved path) root itself or below it? */
static int s_inside(const char *real, const char *root)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return 1;
    return strncmp(real, root, n) == 0 && (real[n] == '/' || real[n] == '\0');
}

/* Read a file named by the application (a manifest entry, or the command line when no root).
 * Confined: the path must resolve inside app->root, and so must the file actually opened — a
 * link swapped in between the check and the open is caught by asking the kernel what was
 * opened (/proc/self/fd). Nothing outside is opened at all, so not even a FIFO or a device
 * outside the folder is touched. */
static void *s_read(const cli_app_t *app, const char *path, const char *base, int upload, size_t *size)
{
    char buf[4096];
    const char *full = s_path(path, base, buf, sizeof buf);
    size_t limit;
    if (cli_upload_limit(&limit) < 0)
        return NULL;
    if (!app->root) {
        void *data = bn_file_read(full, limit, size);
        if (!data)
            s_read_failed(full, upload, limit);
        return data;
    }
    char real[PATH_MAX], opened[PATH_MAX], link[64];
    if (!realpath(full, real)) {
        bn_error_set("file_unreadable", "%s: %s", full, strerror(errno));
        fprintf(stderr, "beian: %s\n", bn_error_msg());
        return NULL;
    }
    int fd = -1;
    void *data = NULL;
    if (!s_inside(real, app->root))
        goto outside;
    fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        bn_error_set("file_unreadable", "%s: %s", full, strerror(errno));
        fprintf(stderr, "beian: %s\n", bn_error_msg());
        return NULL;
    }
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, opened, sizeof opened - 1);
    if (n >= 0) { /* without /proc the realpath check above stands alone */
        opened[n] = '\0';
        if (!s_inside(opened, app->root))
            goto outside;
    }
    data = bn_file_read_fd(fd, full, limit, size);
    if (!data)
        s_read_failed(full, upload, limit);
    close(fd);
    return data;
outside:
    if (fd >= 0)
        close(fd);
    bn_error_set("path_outside_manifest", "'%s' resolves outside the manifest's folder %s", path, app->root);
    fprintf(stderr, "beian: path_outside_manifest: %s (beian batch --allow-outside permits it)\n", bn_error_msg());
    return NULL;
}

static int s_add_blob(cli_app_t *app, const char *path, const char *base)
{
    if (app->nblobs == (int)(sizeof app->blobs / sizeof app->blobs[0])) {
        fprintf(stderr, "beian: too many images in one application\n");
        return -1;
    }
    size_t size;
    void *data = s_read(app, path, base, 1, &size);
    if (!data)
        return -1;
    app->blobs[app->nblobs].data = data;
    app->blobs[app->nblobs].size = size;
    return ++app->nblobs; /* frame number */
}

int cli_app_add_doc(cli_app_t *app, const char *arg, const char *base)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) {
        bn_error_set("bad_document", "--doc wants TYPE[:SIDE]=FILE, got '%s'", arg);
        fprintf(stderr, "beian: %s\n", bn_error_msg());
        return -1;
    }
    char type[64] = "", side[16] = "front";
    const char *colon = memchr(arg, ':', (size_t)(eq - arg));
    size_t tl = (size_t)((colon ? colon : eq) - arg);
    if (tl >= sizeof type || (colon && (size_t)(eq - colon - 1) >= sizeof side)) {
        bn_error_set("bad_document", "bad --doc '%s'", arg);
        fprintf(stderr, "beian: %s\n", bn_error_msg());
        return -1;
    }
    memcpy(type, arg, tl);
    if (colon) {
        memcpy(side, colon + 1, (size_t)(eq - colon - 1));
        side[eq - colon - 1] = '\0';
    }
    if (!strcmp(side, "back") && bn_doc_type_valid(type) && !bn_doc_has_back(type)) {
        bn_error_set("bad_document", "--doc '%s:%s': %s has no back side (sides: front)", type, side, type);
        fprintf(stderr, "beian: %s\n", bn_error_msg());
        return -1;
    }
    if (!bn_doc_side_valid(type, side)) {
        bn_error_set("bad_document", "unknown document '%s:%s' (types: id-card passport hk-macao-permit "
                     "taiwan-permit residence-permit business-license domain-certificate; sides: front back)", type, side);
        fprintf(stderr, "beian: %s\n", bn_error_msg());
        return -1;
    }
    /* FILE#page=N names the page of a PDF (the fragment syntax of PDF URLs, RFC 8118). Only a
     * suffix of that exact form is taken: any other '#' is part of the file's name. */
    char path[4096];
    long page = 0;
    snprintf(path, sizeof path, "%s", eq + 1);
    char *frag = strrchr(path, '#');
    if (frag && !strncmp(frag, "#page=", 6) && frag[6] && strspn(frag + 6, "0123456789") == strlen(frag + 6)) {
        page = strtol(frag + 6, NULL, 10);
        if (page < 1 || page > BN_PDF_PAGE_MAX || strlen(frag + 6) > 6) {
            bn_error_set("bad_document", "--doc '%s': page must be 1..%d", arg, BN_PDF_PAGE_MAX);
            fprintf(stderr, "beian: %s\n", bn_error_msg());
            return -1;
        }
        *frag = '\0';
    }
    int frame = s_add_blob(app, path, base);
    if (frame < 0)
        return -1;
    json_t *doc = json_pack("{s:s, s:s, s:i}", "type", type, "side", side, "blob", frame);
    if (page > 0)
        json_object_set_new(doc, "page", json_integer(page));
    json_array_append_new(json_object_get(app->spec, "documents"), doc);
    return 0;
}

int cli_app_set_selfie(cli_app_t *app, const char *path, const char *base)
{
    int frame = s_add_blob(app, path, base);
    if (frame < 0)
        return -1;
    json_object_set_new(app->spec, "selfie", json_integer(frame));
    return 0;
}

int cli_app_set_form(cli_app_t *app, const char *path, const char *base)
{
    json_error_t err;
    size_t size;
    char *text = s_read(app, path, base, 0, &size);
    if (!text)
        return -1;
    json_t *form = json_loadb(text, size, 0, &err);
    free(text);
    if (!json_is_object(form)) {
        bn_error_set("form_invalid", "form %s: %s", path, form ? "not a JSON object" : err.text);
        fprintf(stderr, "beian: %s\n", bn_error_msg());
        json_decref(form);
        return -1;
    }
    json_object_set_new(app->spec, "form", form);
    return 0;
}

int cli_write_file(const char *dir, const char *name, const void *data, size_t size)
{
    char path[4096], tmp[4200];
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    /* Issue #11: results and prepared images hold personal data: 0600 whatever the umask
     * (fchmod for a .tmp left behind by an interrupted run with looser bits). */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    FILE *f = fd >= 0 && fchmod(fd, 0600) == 0 ? fdopen(fd, "wb") : NULL;
    if (!f && fd >= 0)
        close(fd);
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        fprintf(stderr, "beian: cannot write %s\n", path);
        return -1;
    }
    return rename(tmp, path); /* a reader never sees half a file: batch resume relies on it */
}

bn_client_t *cli_connect(const cli_conn_t *conn)
{
    bn_client_t *c = bn_client_new(conn->endpoint);
    if (!c) {
        fprintf(stderr, "beian: --endpoint: %s\n", bn_error_msg());
        return NULL;
    }
    if (conn->server_key && bn_client_set_curve(c, conn->server_key, conn->cert) < 0) {
        fprintf(stderr, "beian: --server-key must be a 40-character Z85 key\n");
        bn_client_destroy(&c);
    }
    return c;
}

void cli_report_unreachable(int timeout_ms)
{
    if (*bn_error_code())
        fprintf(stderr, "beian: %s: %s\n", bn_error_code(), bn_error_msg());
    else
        fprintf(stderr, "beian: no answer from the broker within %d ms\n", timeout_ms);
}

int cli_call(bn_client_t *client, const char *service, const char *const *frames, int n,
             char *status, json_t **body, int timeout_ms)
{
    bn_msg_t *req = bn_msg_new(), *rep = NULL;
    for (int i = 0; i < n; i++)
        bn_msg_addstr(req, frames[i]);
    *body = NULL;
    if (bn_client_call(client, service, &req, &rep, timeout_ms) < 0)
        return -1;
    snprintf(status, 8, "%.*s", (int)bn_msg_len(rep, 0), (const char *)bn_msg_data(rep, 0));
    if (bn_msg_size(rep) > 1)
        *body = json_loadb(bn_msg_data(rep, 1), bn_msg_len(rep, 1), 0, NULL);
    bn_msg_destroy(&rep);
    return 0;
}

int cli_submit(bn_client_t *client, cli_app_t *app, char job_id[33], int timeout_ms, json_t **ack)
{
    for (int attempt = 0;; attempt++) {
        bn_msg_t *req = bn_msg_new(), *rep = NULL;
        char *spec = json_dumps(app->spec, JSON_COMPACT);
        bn_msg_addstr(req, spec);
        free(spec);
        /* The image bytes are added by reference: no copy on the way out. */
        for (int i = 0; i < app->nblobs; i++)
            bn_msg_addzc(req, (void *)app->blobs[i].data, app->blobs[i].size, NULL, NULL);
        if (bn_client_call(client, BN_SVC_SUBMIT, &req, &rep, timeout_ms) < 0) {
            /* With an idempotency key a resend is safe (the broker answers with the same job):
             * ride out a broker restart. Without one, a resend could duplicate the job. A known
             * cause (a refused key, no socket file) would only fail again. */
            if (!*bn_error_code() && json_object_get(json_object_get(app->spec, "options"), "key") && attempt < 3)
                continue;
            cli_report_unreachable(timeout_ms);
            return EXIT_UNREACHABLE;
        }
        json_t *body = bn_msg_size(rep) > 1 ? json_loadb(bn_msg_data(rep, 1), bn_msg_len(rep, 1), 0, NULL) : NULL;
        int ok = bn_msg_streq(rep, 0, BN_ST_OK), busy = bn_msg_streq(rep, 0, BN_ST_BUSY);
        bn_msg_destroy(&rep);
        if (ok) {
            snprintf(job_id, 33, "%s", json_string_value(json_object_get(body, "job")));
            if (ack)
                *ack = body;
            else
                json_decref(body);
            return EXIT_RESULT;
        }
        if (busy && attempt < 30) {
            int ms = (int)json_integer_value(json_object_get(body, "retry_after_ms"));
            json_decref(body);
            usleep((useconds_t)(ms > 0 ? ms : 1000) * 1000);
            continue;
        }
        json_t *err = json_object_get(body, "error");
        const char *code = json_string_value(json_object_get(err, "code"));
        bn_error_set(code ? code : "bad_request", "%s", json_string_value(json_object_get(err, "message")) ?: "");
        fprintf(stderr, "beian: submission refused: %s: %s\n", bn_error_code(), bn_error_msg());
        json_decref(body);
        return busy ? EXIT_UNREACHABLE : EXIT_BAD_INPUT;
    }
}

int cli_wait_result(bn_client_t *client, const char *job_id, json_t **result, int timeout_ms)
{
    /* Long-poll in slices so a broker restart costs one slice, not the whole wait. */
    int waited = 0, slice = timeout_ms < 30000 ? timeout_ms : 30000;
    for (;;) {
        char status[8];
        json_t *body;
        const char *frames[] = {job_id, "wait"};
        if (cli_call(client, "beian.result", frames, 2, status, &body, slice) == 0) {
            if (strcmp(status, "200") == 0) {
                *result = body;
                const char *st = json_string_value(json_object_get(body, "status"));
                return st && strcmp(st, "failed") == 0 ? EXIT_JOB_FAILED : EXIT_RESULT;
            }
            json_decref(body);
            if (strcmp(status, "404") == 0) {
                fprintf(stderr, "beian: unknown job %s\n", job_id);
                return EXIT_BAD_INPUT;
            }
            usleep(200000); /* 300: too many waiters; poll again */
        } else if (*bn_error_code()) {
            cli_report_unreachable(slice); /* a refused key or no socket: waiting cannot help */
            return EXIT_UNREACHABLE;
        }
        waited += slice;
        if (waited >= timeout_ms) {
            fprintf(stderr, "beian: no result for %s within %d ms\n", job_id, timeout_ms);
            return EXIT_UNREACHABLE;
        }
    }
}

int cli_fetch_blobs(bn_client_t *client, const char *job_id, const json_t *result, const char *dir, int timeout_ms)
{
    size_t i;
    json_t *doc;
    int rc = 0;
    json_array_foreach(json_object_get(result, "documents"), i, doc) {
        const char *name;
        json_t *b;
        json_object_foreach(json_object_get(doc, "blobs"), name, b) {
            const char *sha = json_string_value(json_object_get(b, "sha256"));
            bn_msg_t *req = bn_msg_new(), *rep = NULL;
            bn_msg_addstr(req, job_id);
            bn_msg_addstr(req, sha ? sha : "");
            if (bn_client_call(client, "beian.blob", &req, &rep, timeout_ms) < 0)
                return -1;
            if (bn_msg_streq(rep, 0, "200") && bn_msg_size(rep) > 1) {
                char file[128];
                snprintf(file, sizeof file, "d%zu.%s.jpg", i, name);
                rc |= cli_write_file(dir, file, bn_msg_data(rep, 1), bn_msg_len(rep, 1));
            }
            bn_msg_destroy(&rep);
        }
    }
    return rc;
}

void cli_print_result(const json_t *result, int json_only)
{
    char *text = json_dumps(result, JSON_INDENT(2));
    printf("%s\n", text);
    free(text);
    if (json_only)
        return;
    fprintf(stderr, "job %s: %s, verdict %s\n", json_string_value(json_object_get(result, "job")),
            json_string_value(json_object_get(result, "status")),
            json_string_value(json_object_get(result, "verdict")) ? json_string_value(json_object_get(result, "verdict")) : "-");
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(result, "flags"), i, f) {
        json_t *d = json_object_get(f, "document");
        fprintf(stderr, "  %-8s %-22s %s%s%s\n", json_string_value(json_object_get(f, "severity")),
                json_string_value(json_object_get(f, "code")), json_is_integer(d) ? "doc " : "",
                json_is_integer(d) ? "" : "", json_string_value(json_object_get(f, "message_zh")));
    }
}
