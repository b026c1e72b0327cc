/* The `beian` command-line tool: shared pieces of its subcommands. */
#ifndef BEIAN_CLI_H
#define BEIAN_CLI_H
#include <beian/client.h>
#include <jansson.h>
#include <stddef.h>

#include "core/bn_check.h"

/* Exit codes (documented in `beian --help` and README). */
#define EXIT_RESULT 0
#define EXIT_BAD_INPUT 1
#define EXIT_UNREACHABLE 2
#define EXIT_JOB_FAILED 3

/* An application being put together from --doc/--selfie/--form options or a manifest line. */
typedef struct {
    json_t *spec;             /* job spec */
    bn_bytes_t blobs[24];     /* frame i+1 of the submission */
    int nblobs;
    const char *root;         /* when set (a real path, no trailing '/'), every file must resolve
                                 inside it: beian batch confines a manifest to its folder */
} cli_app_t;

void cli_app_init(cli_app_t *app);
void cli_app_clear(cli_app_t *app);
/* "TYPE[:SIDE]=FILE" → a document; base: directory relative paths are resolved in (or NULL).
 * With app->root set, a file that resolves (symbolic links and '..' followed) outside root is
 * refused: -1 with bn_error path_outside_manifest, nothing read. */
int cli_app_add_doc(cli_app_t *app, const char *arg, const char *base);
int cli_app_set_selfie(cli_app_t *app, const char *path, const char *base);
int cli_app_set_form(cli_app_t *app, const char *path, const char *base);
/* The configuration file the client reads (beian --config; NULL: $BEIAN_CONFIG). */
void cli_set_config(const char *path);
/* Bytes per image a submission may carry: broker.max_upload from that file, default
 * BN_DEFAULT_MAX_UPLOAD (docs/CONFIG.md). -1 (reported on stderr) when the file is invalid. */
int cli_upload_limit(size_t *limit);
/* Write result blobs and the result JSON to a directory. */
int cli_write_file(const char *dir, const char *name, const void *data, size_t size);

/* Connection settings shared by the client subcommands. */
typedef struct {
    const char *endpoint;
    const char *server_key;
    const char *cert;
    int timeout_ms;
} cli_conn_t;
bn_client_t *cli_connect(const cli_conn_t *conn);
/* Call a beian.* service with string frames; returns the reply status ("200"...) in status
 * (>= 8 bytes) and the JSON body (or NULL). -1 on timeout/unreachable. */
int cli_call(bn_client_t *client, const char *service, const char *const *frames, int n,
             char *status, json_t **body, int timeout_ms);
/* After a failed call: the cause when known (bn_error: endpoint_missing, auth_refused, ...),
 * else "no answer ... within timeout_ms", on stderr. */
void cli_report_unreachable(int timeout_ms);
/* Submit an application; fills job_id (33 bytes). Retries while the broker is busy.
 * Returns EXIT_RESULT, EXIT_BAD_INPUT (refused spec) or EXIT_UNREACHABLE. */
int cli_submit(bn_client_t *client, cli_app_t *app, char job_id[33], int timeout_ms, json_t **ack);
/* Wait for a job's result. Returns EXIT_RESULT / EXIT_JOB_FAILED / EXIT_UNREACHABLE. */
int cli_wait_result(bn_client_t *client, const char *job_id, json_t **result, int timeout_ms);
/* Download the blobs a result names into dir. */
int cli_fetch_blobs(bn_client_t *client, const char *job_id, const json_t *result, const char *dir, int timeout_ms);

int cmd_check(int argc, char **argv);
int cmd_batch(int argc, char **argv, const cli_conn_t *conn);
int cmd_keygen(int argc, char **argv);

/* The agency report (docs/REPORT.md): DIR/report.csv and DIR/report.html from records
 * [{"id", "line" (the manifest entry), "result" (result JSON or input_error record)}], in
 * manifest order; thumbnails from DIR/<id>/d<i>.review.jpg. counts_out (may be NULL) gets the
 * count per verdict, in the order of cli_report_name(0..CLI_REPORT_NVERDICTS-1). */
#define CLI_REPORT_NVERDICTS 7
int cli_report_write(const char *dir, const json_t *records, int counts_out[CLI_REPORT_NVERDICTS]);
const char *cli_report_name(int k);
/* pass | review | reshoot | reject, or the status when there is no verdict of the documents:
 * input_error, failed, cancelled. */
const char *cli_report_verdict(const json_t *result);

/* Print a result: JSON on stdout always; a short human summary on stderr unless quiet. */
void cli_print_result(const json_t *result, int json_only);

#endif
