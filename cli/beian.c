/* beian — the command-line client: submit, status, result, cancel, batch, check, keygen, eval.
 * JSON goes to stdout, human messages to stderr. Exit codes: 0 a result, 1 bad input,
 * 2 broker unreachable or timed out, 3 the job failed. */
#include "cli.h"
#include "core/bn_log.h"
#include "ocr/bn_real_eval.h"
#include "img/bn_textdet.h"
#include "face/bn_face.h"
#include "img/bn_quality.h"
#include "ocr/bn_ocr.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_usage(void)
{
    printf("usage: beian [global options] COMMAND [options]\n\n"
           "Commands:\n"
           "  submit --doc TYPE[:SIDE]=FILE[#page=N]... [--selfie F] [--form F.json] [--priority batch]\n"
           "         [--key K] [--tenant T] [--profile P] [--watermark] [--wait] [--out DIR] [--json]\n"
           "  status ID                     job status\n"
           "  result ID [--wait] [--out DIR] the result document (and prepared images with --out)\n"
           "  cancel ID\n"
           "  webhooks [--tenant T] [--state pending|delivered|failed | --failed] [--limit N] [--json]\n"
           "                                webhook deliveries, newest first (docs/WEBHOOKS.md)\n"
           "  batch MANIFEST --out DIR [--window N] [--allow-outside]\n"
           "                                submit a CSV or JSON-lines manifest; resumable; files must\n"
           "                                lie in the manifest's folder unless --allow-outside\n"
           "  check --doc ... [--selfie F] [--form F] [--out DIR] [--json]   run in-process, no daemon\n"
           "  keygen NAME [--dir DIR] [--services a,b]   make a CURVE key pair (NAME.key, NAME.key_secret)\n"
           "  eval quality|ocr|face DIR     accuracy over a directory with ground truth\n"
           "  eval real DIR...              whole-pipeline accuracy over real photos (GROUND_TRUTH.json)\n\n"
           "Document types: id-card passport hk-macao-permit taiwan-permit residence-permit\n"
           "business-license domain-certificate; sides: front (default) back (not for passport,\n"
           "business-license or domain-certificate).\n\n"
           "Global options:\n"
           "  -e, --endpoint EP    broker (default $BEIAN_ENDPOINT or ipc://var/beiand.sock)\n"
           "      --server-key K   broker public key (Z85), for tcp:// endpoints\n"
           "      --cert FILE      this client's secret certificate, for tcp:// endpoints\n"
           "  -t, --timeout S      seconds to wait for the broker (default 30; --wait: 600)\n"
           "  -C, --config FILE    configuration JSON (default $BEIAN_CONFIG): broker.max_upload, the\n"
           "                       largest image (default 30 MiB), is checked before anything is sent\n\n"
           "Exit codes: 0 result, 1 bad input, 2 broker unreachable/timeout, 3 job failed.\n");
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
        case 'h': s_usage(); rc = 0; goto done;
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
        else if (ch == 'h') { s_usage(); return 0; }
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
        rc = strcmp(status, "200") == 0 || strcmp(status, "300") == 0 ? EXIT_RESULT
           : strcmp(status, "409") == 0 ? EXIT_JOB_FAILED : EXIT_BAD_INPUT;
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

/* webhooks: the broker's outbox, newest first — what was delivered, what is being retried,
 * what was given up on. */
static int s_webhooks(int argc, char **argv, const cli_conn_t *conn)
{
    json_t *q = json_object();
    int json_only = 0, ch;
    static struct option lo[] = {{"tenant", 1, 0, 'T'}, {"state", 1, 0, 's'}, {"failed", 0, 0, 'f'},
                                 {"limit", 1, 0, 'n'}, {"json", 0, 0, 'j'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        if (ch == 'T') json_object_set_new(q, "tenant", json_string(optarg));
        else if (ch == 's') json_object_set_new(q, "state", json_string(optarg));
        else if (ch == 'f') json_object_set_new(q, "state", json_string("failed"));
        else if (ch == 'n') json_object_set_new(q, "limit", json_integer(atoi(optarg)));
        else if (ch == 'j') json_only = 1;
        else { json_decref(q); if (ch == 'h') s_usage(); return ch == 'h' ? 0 : EXIT_BAD_INPUT; }
    }
    char *text = json_dumps(q, JSON_COMPACT);
    json_decref(q);
    bn_client_t *client = cli_connect(conn);
    char status[8];
    json_t *body = NULL;
    const char *frames[] = {text};
    int rc = client ? cli_call(client, "beian.webhooks", frames, 1, status, &body, conn->timeout_ms) : -1;
    free(text);
    bn_client_destroy(&client);
    if (rc < 0) {
        cli_report_unreachable(conn->timeout_ms);
        return EXIT_UNREACHABLE;
    }
    if (strcmp(status, "200") != 0) {
        json_t *err = json_object_get(body, "error");
        fprintf(stderr, "beian webhooks: %s: %s\n", json_string_value(json_object_get(err, "code")),
                json_string_value(json_object_get(err, "message")));
        json_decref(body);
        return EXIT_BAD_INPUT;
    }
    char *out = json_dumps(body, JSON_INDENT(2));
    printf("%s\n", out);
    free(out);
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
    return EXIT_RESULT;
}

static int s_eval(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: beian eval quality|ocr|face|real DIR...\n");
        return EXIT_BAD_INPUT;
    }
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
        else { fprintf(stderr, "beian: unknown option %s\n", a); return EXIT_BAD_INPUT; }
    }
    if (!conn.endpoint)
        conn.endpoint = "ipc://var/beiand.sock";
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
    if (!strcmp(cmd, "check")) return cmd_check(sub_argc, sub_argv);
    if (!strcmp(cmd, "keygen")) return cmd_keygen(sub_argc, sub_argv);
    if (!strcmp(cmd, "eval")) return s_eval(sub_argc, sub_argv);
    if (!strcmp(cmd, "help")) { s_usage(); return 0; }
    fprintf(stderr, "beian: unknown command '%s' (try --help)\n", cmd);
    return EXIT_BAD_INPUT;
}
