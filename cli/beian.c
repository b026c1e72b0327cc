/* beian — the command-line client: submit, status, result, cancel, list, webhooks, batch, check,
 * keygen, eval. JSON goes to stdout, human messages to stderr. Exit codes: 0 a result (and the
 * cancel of a job already finished), 1 bad input, 2 broker unreachable or timed out, 3 the job failed. */
#include "cli.h"
#include "core/bn_error.h"
#include "core/bn_log.h"
#include "core/bn_zsock.h"
#include "core/bn_version.h"
#include "ocr/bn_real_eval.h"
#include "img/bn_textdet.h"
#include "face/bn_face.h"
#include "img/bn_quality.h"
#include "ocr/bn_ocr.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Each command's usage: `beian CMD --help` prints its entry, `beian --help` the synopses. */
static const struct {
    const char *cmd, *synopsis, *details;
} s_cmds[] = {
    {"submit", "submit --doc TYPE[:SIDE]=FILE[#page=N]... [options]",
     "Submits an application to the broker and prints the acknowledgement (or, with --wait, the result).\n"
     "  --doc TYPE[:SIDE]=FILE[#page=N]  a document image or PDF page (repeatable)\n"
     "  --selfie FILE        the applicant's photo, matched against the document's portrait\n"
     "  --form FILE.json     the form as typed by the applicant, cross-checked against the documents\n"
     "  --priority batch     queue behind interactive submissions\n"
     "  --key K              idempotency key: the same key and content return the same job\n"
     "  --tenant T           tenant (ipc endpoints; CURVE clients are bound to their certificate's)\n"
     "  --profile P          validation profile (docs/VALIDATION.md)\n"
     "  --watermark          watermark the prepared images\n"
     "  --wait               wait for the result and print it\n"
     "  --out DIR            with --wait: write result.json and the prepared images to DIR\n"
     "  --json               JSON on stdout only, no summary on stderr\n"},
    {"status", "status ID", "Prints the job's status JSON.\n"},
    {"result", "result ID [--wait] [--out DIR]",
     "Prints the result document (exit 0), or the status while it is not finished; a failed job exits 3.\n"
     "  --wait               wait until the job finishes\n"
     "  --out DIR            write result.json and the prepared and review images to DIR\n"},
    {"cancel", "cancel ID",
     "Cancels a queued or running job. A job that has already finished is left as it is: its status\n"
     "is printed, 'already finished' on stderr, exit 0.\n"},
    {"list", "list [--status S] [--limit N] [--cursor C] [--tenant T] [--json]",
     "Lists a tenant's applications, newest first (beian.list, docs/PROTOCOL.md). JSON on stdout,\n"
     "a table on stderr unless --json.\n"
     "  --status S           queued, running, done, failed or cancelled\n"
     "  --limit N            1..100 (default 20)\n"
     "  --cursor C           the previous page's \"next\"\n"
     "  --tenant T           tenant (ipc endpoints; default 'default')\n"},
    {"webhooks", "webhooks [--tenant T] [--state pending|delivered|failed | --failed] [--limit N] [--json]",
     "Webhook deliveries of the outbox, newest first (docs/WEBHOOKS.md).\n"},
    {"batch", "batch MANIFEST --out DIR [--window N] [--allow-outside]",
     "Submits a CSV or JSON-lines manifest; resumable (`beian batch --help` for details).\n"},
    {"check", "check --doc ... [--selfie F] [--form F] [--out DIR] [--json]",
     "Runs quality, OCR and face in this process, no broker.\n"},
    {"keygen", "keygen NAME [--dir DIR] [--services a,b]",
     "Makes a CURVE key pair (NAME.key, NAME.key_secret).\n"},
    {"eval", "eval quality|ocr|face|real DIR...",
     "Accuracy over a directory with ground truth, run in this process.\n"
     "  eval quality [--config FILE] [-v] DIR\n"
     "  eval ocr [--subset S] [--limit N] [--today YYYY-MM-DD] [-v] [--standalone] DIR...\n"
     "  eval face [DIR] [--scenes SPECGEN_DIR] [--threshold T]\n"
     "  eval real [--today YYYY-MM-DD] [--limit N] [--only NAME] [--config F] [--json] [-v] DIR...\n"
     "           whole-pipeline accuracy over real photos (GROUND_TRUTH.json)\n"},
};

static const char s_exit_codes[] =
    "Exit codes: 0 result (also: cancel of a job already finished), 1 bad input,\n"
    "2 broker unreachable/timeout, 3 job failed.\n";

static void s_usage(void)
{
    printf("usage: beian [global options] COMMAND [options]\n\nCommands (beian COMMAND --help for each):\n");
    for (size_t i = 0; i < sizeof s_cmds / sizeof s_cmds[0]; i++)
        printf("  %s\n", s_cmds[i].synopsis);
    printf("\nDocument types: id-card passport hk-macao-permit taiwan-permit residence-permit\n"
           "business-license domain-certificate; sides: front (default) back (not for passport,\n"
           "business-license or domain-certificate).\n\n"
           "Global options:\n"
           "  -e, --endpoint EP[,EP...]  broker (default $BEIAN_ENDPOINT or ipc://var/beiand.sock);\n"
           "                       a comma-separated list names brokers sharing one store: a request\n"
           "                       goes to the next when one is down or silent (a submission without\n"
           "                       --key gets an automatic key, so it is never made twice)\n"
           "      --server-key K   broker public key (Z85), for tcp:// endpoints (all of a list)\n"
           "      --cert FILE      this client's secret certificate, for tcp:// endpoints\n"
           "  -t, --timeout S      seconds to wait for the broker (default 30; --wait: 600)\n"
           "  -C, --config FILE    configuration JSON (default $BEIAN_CONFIG): broker.max_upload, the\n"
           "                       largest image (default 30 MiB), is checked before anything is sent\n"
           "  -h, --help\n"
           "      --version\n\n%s", s_exit_codes);
}

/* `beian CMD --help`: that command's usage on stdout, 0; `beian help NOSUCH`: 1. */
static int s_cmd_usage(const char *cmd)
{
    for (size_t i = 0; i < sizeof s_cmds / sizeof s_cmds[0]; i++)
        if (strcmp(s_cmds[i].cmd, cmd) == 0) {
            printf("usage: beian %s\n%s\n%s", s_cmds[i].synopsis, s_cmds[i].details, s_exit_codes);
            return 0;
        }
    fprintf(stderr, "beian: unknown command '%s' (try --help)\n", cmd);
    return EXIT_BAD_INPUT;
}

/* submit: the application from --doc/--selfie/--form, then optionally wait. */
static int s_submit(int argc, char **argv, const cli_conn_t *conn)
{
    cli_app_t app;
    cli_app_init(&app);
    json_t *opt = json_object_get(app.spec, "options");
    int wait = 0, json_only = 0, rc = EXIT_BAD_INPUT;
    const char *out = NULL;
    static struct option lo[] = {
        {"doc", 1, 0, 'd'}, {"selfie", 1, 0, 's'}, {"form", 1, 0, 'f'}, {"priority", 1, 0, 'p'},
        {"key", 1, 0, 'k'}, {"tenant", 1, 0, 'T'}, {"profile", 1, 0, 'P'}, {"watermark", 0, 0, 'W'},
        {"wait", 0, 0, 'w'}, {"out", 1, 0, 'o'}, {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "d:s:f:o:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'd': if (cli_app_add_doc(&app, optarg, NULL) < 0) goto done; break;
        case 's': if (cli_app_set_selfie(&app, optarg, NULL) < 0) goto done; break;
        case 'f': if (cli_app_set_form(&app, optarg, NULL) < 0) goto done; break;
        case 'p': json_object_set_new(opt, "priority", json_string(optarg)); break;
        case 'k': json_object_set_new(opt, "key", json_string(optarg)); break;
        case 'T': json_object_set_new(opt, "tenant", json_string(optarg)); break;
        case 'P': json_object_set_new(opt, "profile", json_string(optarg)); break;
        case 'W': json_object_set_new(opt, "watermark", json_true()); break;
        case 'w': wait = 1; break;
        case 'o': out = optarg; break;
        case 'j': json_only = 1; break;
        case 'h': rc = s_cmd_usage("submit"); goto done;
        default: goto done;
        }
    }
    if (json_array_size(json_object_get(app.spec, "documents")) == 0) {
        fprintf(stderr, "beian submit: at least one --doc TYPE[:SIDE]=FILE is required\n");
        goto done;
    }
    bn_client_t *client = cli_connect(conn);
    if (!client)
        goto done;
    char id[33];
    json_t *ack = NULL, *result = NULL;
    rc = cli_submit(client, &app, id, conn->timeout_ms, &ack);
    if (rc == EXIT_RESULT && !wait) {
        char *text = json_dumps(ack, JSON_COMPACT);
        printf("%s\n", text);
        free(text);
        if (!json_only)
            fprintf(stderr, "submitted job %s\n", id);
    } else if (rc == EXIT_RESULT) {
        rc = cli_wait_result(client, id, &result, conn->timeout_ms > 600000 ? conn->timeout_ms : 600000);
        if (result) {
            cli_print_result(result, json_only);
            if (out) {
                char *text = json_dumps(result, JSON_INDENT(2));
                cli_write_file(out, "result.json", text, strlen(text));
                free(text);
                cli_fetch_blobs(client, id, result, out, conn->timeout_ms);
            }
        }
    }
    json_decref(ack);
    json_decref(result);
    bn_client_destroy(&client);
done:
    cli_app_clear(&app);
    return rc;
}

/* status / result / cancel ID */
static int s_job_cmd(const char *cmd, int argc, char **argv, const cli_conn_t *conn)
{
    int wait = 0;
    const char *out = NULL, *id = NULL;
    static struct option lo[] = {{"wait", 0, 0, 'w'}, {"out", 1, 0, 'o'}, {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
        if (ch == 'w') wait = 1;
        else if (ch == 'o') out = optarg;
        else if (ch == 'h') return s_cmd_usage(cmd);
        else if (ch != 'j') return EXIT_BAD_INPUT;
    }
    if (optind < argc)
        id = argv[optind];
    if (!id || strlen(id) != 32) {
        fprintf(stderr, "beian %s: a 32-character job id is required\n", cmd);
        return EXIT_BAD_INPUT;
    }
    bn_client_t *client = cli_connect(conn);
    if (!client)
        return EXIT_BAD_INPUT;
    int rc;
    json_t *body = NULL;
    char status[8];
    if (strcmp(cmd, "result") == 0 && wait) {
        rc = cli_wait_result(client, id, &body, conn->timeout_ms > 600000 ? conn->timeout_ms : 600000);
    } else {
        char service[32];
        snprintf(service, sizeof service, "beian.%s", cmd);
        const char *frames[] = {id};
        if (cli_call(client, service, frames, 1, status, &body, conn->timeout_ms) < 0) {
            cli_report_unreachable(conn->timeout_ms);
            bn_client_destroy(&client);
            return EXIT_UNREACHABLE;
        }
        /* 409: cancel of a job that has already finished. Nothing to stop, so not an error and
         * not "job failed" either: its status on stdout, a note on stderr, exit 0. */
        rc = strcmp(status, "200") == 0 || strcmp(status, "300") == 0 || strcmp(status, "409") == 0
           ? EXIT_RESULT : EXIT_BAD_INPUT;
        if (strcmp(status, "409") == 0)
            fprintf(stderr, "beian cancel: job %s already finished (%s), nothing cancelled\n", id,
                    json_string_value(json_object_get(body, "status")));
        const char *st = json_string_value(json_object_get(body, "status"));
        if (rc == EXIT_RESULT && strcmp(cmd, "result") == 0 && st && strcmp(st, "failed") == 0)
            rc = EXIT_JOB_FAILED;
    }
    if (body) {
        char *text = json_dumps(body, JSON_INDENT(2));
        printf("%s\n", text);
        free(text);
        if (out && strcmp(cmd, "result") == 0) {
            text = json_dumps(body, JSON_INDENT(2));
            cli_write_file(out, "result.json", text, strlen(text));
            free(text);
            cli_fetch_blobs(client, id, body, out, conn->timeout_ms);
        }
    }
    json_decref(body);
    bn_client_destroy(&client);
    return rc;
}

/* A query service (beian.webhooks, beian.list): the query JSON as one frame, the 200 body back;
 * any other answer is reported on stderr. Returns EXIT_RESULT with *body, or the exit code. */
static int s_query(const cli_conn_t *conn, const char *cmd, json_t *q, json_t **body)
{
    char service[32], status[8];
    snprintf(service, sizeof service, "beian.%s", cmd);
    char *text = json_dumps(q, JSON_COMPACT);
    bn_client_t *client = cli_connect(conn);
    const char *frames[] = {text};
    *body = NULL;
    int rc = client ? cli_call(client, service, frames, 1, status, body, conn->timeout_ms) : -1;
    free(text);
    bn_client_destroy(&client);
    if (rc < 0) {
        cli_report_unreachable(conn->timeout_ms);
        return EXIT_UNREACHABLE;
    }
    if (strcmp(status, "200") != 0) {
        json_t *err = json_object_get(*body, "error");
        fprintf(stderr, "beian %s: %s: %s\n", cmd, json_string_value(json_object_get(err, "code")),
                json_string_value(json_object_get(err, "message")));
        json_decref(*body);
        *body = NULL;
        return EXIT_BAD_INPUT;
    }
    char *out = json_dumps(*body, JSON_INDENT(2));
    printf("%s\n", out);
    free(out);
    return EXIT_RESULT;
}

/* "--limit N": 1..max, else a bad-input message. */
static int s_limit(const char *cmd, const char *arg, int max, json_t *q)
{
    char *end;
    long n = strtol(arg, &end, 10);
    if (*arg == '\0' || *end || n < 1 || n > max) {
        fprintf(stderr, "beian %s: --limit wants 1..%d, got '%s'\n", cmd, max, arg);
        return -1;
    }
    json_object_set_new(q, "limit", json_integer(n));
    return 0;
}

/* webhooks: the broker's outbox, newest first — what was delivered, what is being retried,
 * what was given up on. */
static int s_webhooks(int argc, char **argv, const cli_conn_t *conn)
{
    json_t *q = json_object(), *body;
    int json_only = 0, ch;
    static struct option lo[] = {{"tenant", 1, 0, 'T'}, {"state", 1, 0, 's'}, {"failed", 0, 0, 'f'},
                                 {"limit", 1, 0, 'n'}, {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        if (ch == 'T') json_object_set_new(q, "tenant", json_string(optarg));
        else if (ch == 's') json_object_set_new(q, "state", json_string(optarg));
        else if (ch == 'f') json_object_set_new(q, "state", json_string("failed"));
        else if (ch == 'n' && s_limit("webhooks", optarg, 1000, q) == 0) continue;
        else if (ch == 'j') json_only = 1;
        else { json_decref(q); return ch == 'h' ? s_cmd_usage("webhooks") : EXIT_BAD_INPUT; }
    }
    int rc = s_query(conn, "webhooks", q, &body);
    json_decref(q);
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(body, "deliveries"), i, d) {
        if (json_only)
            break;
        fprintf(stderr, "%8lld  %-10s %-16s %s  attempts %lld%s%s\n",
                (long long)json_integer_value(json_object_get(d, "delivery")),
                json_string_value(json_object_get(d, "state")), json_string_value(json_object_get(d, "tenant")),
                json_string_value(json_object_get(d, "job")), (long long)json_integer_value(json_object_get(d, "attempts")),
                json_object_get(d, "last_error") ? "  last error: " : "",
                json_object_get(d, "last_error") ? json_string_value(json_object_get(d, "last_error")) : "");
    }
    json_decref(body);
    return rc;
}

/* list: a tenant's applications, newest first, a page at a time (beian.list). */
static int s_list(int argc, char **argv, const cli_conn_t *conn)
{
    json_t *q = json_object(), *body;
    int json_only = 0, ch;
    static struct option lo[] = {{"tenant", 1, 0, 'T'}, {"status", 1, 0, 's'}, {"limit", 1, 0, 'n'},
                                 {"cursor", 1, 0, 'c'}, {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        if (ch == 'T') json_object_set_new(q, "tenant", json_string(optarg));
        else if (ch == 's') json_object_set_new(q, "status", json_string(optarg));
        else if (ch == 'c') json_object_set_new(q, "cursor", json_string(optarg));
        else if (ch == 'n' && s_limit("list", optarg, 100, q) == 0) continue;
        else if (ch == 'j') json_only = 1;
        else { json_decref(q); return ch == 'h' ? s_cmd_usage("list") : EXIT_BAD_INPUT; }
    }
    if (optind < argc) {
        fprintf(stderr, "beian list: unexpected argument '%s'\n", argv[optind]);
        json_decref(q);
        return EXIT_BAD_INPUT;
    }
    int rc = s_query(conn, "list", q, &body);
    json_decref(q);
    size_t i;
    json_t *j;
    json_array_foreach(json_object_get(body, "jobs"), i, j) {
        if (json_only)
            break;
        time_t t = (time_t)(json_integer_value(json_object_get(j, "created_ms")) / 1000);
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&t));
        fprintf(stderr, "%s  %-10s %s\n", json_string_value(json_object_get(j, "job")),
                json_string_value(json_object_get(j, "status")), when);
    }
    const char *next = json_string_value(json_object_get(body, "next"));
    if (!json_only && next)
        fprintf(stderr, "more: beian list --cursor %s\n", next);
    json_decref(body);
    return rc;
}

static int s_eval(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        s_cmd_usage("eval");
        return argc < 2 ? EXIT_BAD_INPUT : 0;
    }
    /* quality and ocr take their options by hand; their --help is the usage above. */
    for (int i = 2; i < argc && (!strcmp(argv[1], "quality") || !strcmp(argv[1], "ocr")); i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return s_cmd_usage("eval");
    if (strcmp(argv[1], "quality") == 0) return bn_quality_eval_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "ocr") == 0) return bn_ocr_eval_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "face") == 0) return bn_face_eval_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "real") == 0) {
        bn_stage_fn const stages[BN_STAGE_COUNT] = {bn_quality_run, bn_ocr_run, bn_face_run};
        bn_cv_set_threads(1); /* as the workers run: the CPU per image it reports is theirs */
        return bn_real_eval_main(argc - 1, argv + 1, stages);
    }
    fprintf(stderr, "beian eval: unknown stage '%s'\n", argv[1]);
    return EXIT_BAD_INPUT;
}

int main(int argc, char **argv)
{
    cli_conn_t conn = {.endpoint = getenv("BEIAN_ENDPOINT"), .timeout_ms = 30000};
    bn_log_init("beian", getenv("BEIAN_DEBUG") ? BN_LOG_DEBUG : BN_LOG_WARN);
    int i = 1;
    /* Global options come before the command. */
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "-e") || !strcmp(a, "--endpoint")) && i + 1 < argc) conn.endpoint = argv[++i];
        else if (!strcmp(a, "--server-key") && i + 1 < argc) conn.server_key = argv[++i];
        else if (!strcmp(a, "--cert") && i + 1 < argc) conn.cert = argv[++i];
        else if ((!strcmp(a, "-t") || !strcmp(a, "--timeout")) && i + 1 < argc) conn.timeout_ms = atoi(argv[++i]) * 1000;
        else if ((!strcmp(a, "-C") || !strcmp(a, "--config")) && i + 1 < argc) cli_set_config(argv[++i]);
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { s_usage(); return 0; }
        else if (!strcmp(a, "--version")) { bn_version_print("beian"); return 0; }
        else { fprintf(stderr, "beian: unknown option %s\n", a); return EXIT_BAD_INPUT; }
    }
    if (!conn.endpoint)
        conn.endpoint = "ipc://var/beiand.sock";
    char *eps[BN_ZSOCK_MAX_ENDPOINTS];
    int neps = bn_zsock_endpoints(conn.endpoint, eps);
    if (neps < 0) {
        fprintf(stderr, "beian: --endpoint: %s\n", bn_error_msg());
        return EXIT_BAD_INPUT;
    }
    while (neps > 0)
        free(eps[--neps]);
    if (conn.timeout_ms <= 0)
        conn.timeout_ms = 30000;
    if (i >= argc) {
        s_usage();
        return EXIT_BAD_INPUT;
    }
    const char *cmd = argv[i];
    int sub_argc = argc - i;
    char **sub_argv = argv + i;
    if (!strcmp(cmd, "submit")) return s_submit(sub_argc, sub_argv, &conn);
    if (!strcmp(cmd, "status") || !strcmp(cmd, "result") || !strcmp(cmd, "cancel"))
        return s_job_cmd(cmd, sub_argc, sub_argv, &conn);
    if (!strcmp(cmd, "batch")) return cmd_batch(sub_argc, sub_argv, &conn);
    if (!strcmp(cmd, "webhooks")) return s_webhooks(sub_argc, sub_argv, &conn);
    if (!strcmp(cmd, "list")) return s_list(sub_argc, sub_argv, &conn);
    if (!strcmp(cmd, "check")) return cmd_check(sub_argc, sub_argv);
    if (!strcmp(cmd, "keygen")) return cmd_keygen(sub_argc, sub_argv);
    if (!strcmp(cmd, "eval")) return s_eval(sub_argc, sub_argv);
    if (!strcmp(cmd, "help")) return sub_argc > 1 ? s_cmd_usage(sub_argv[1]) : (s_usage(), 0);
    if (!strcmp(cmd, "version")) { bn_version_print("beian"); return 0; }
    fprintf(stderr, "beian: unknown command '%s' (try --help)\n", cmd);
    return EXIT_BAD_INPUT;
}
