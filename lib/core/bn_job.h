/* bn_job — what a job is, independent of transport and storage: the submission spec, the plan
 * of stage tasks it expands to, and the aggregation of task results into the one result
 * document (docs/RESULTS.md). Broker and `beian check` both use it, so a job gives the same
 * result in the daemon and in-process. */
#ifndef BN_JOB_H
#define BN_JOB_H
#include <jansson.h>

#include "core/bn_config.h"

#define BN_MAX_DOCS 16
/* documents[i].page, the page of a PDF upload, is 1..this (the decoder's own cap,
 * quality.decode.pdf_max_pages, is far lower; this only keeps the number sane on the wire). */
#define BN_PDF_PAGE_MAX 100000

/* Stages in pipeline order. */
typedef enum { BN_STAGE_QUALITY = 0, BN_STAGE_OCR, BN_STAGE_FACE, BN_STAGE_COUNT } bn_stage_id_t;
const char *bn_stage_name(bn_stage_id_t s);     /* "quality" "ocr" "face" */
const char *bn_stage_service(bn_stage_id_t s);  /* "beian.quality" ... */

int bn_doc_type_valid(const char *type);
/* front for every type; back for all but passport and the page documents (bn_doc_has_back). */
int bn_doc_side_valid(const char *type, const char *side);
int bn_doc_has_back(const char *type);
/* A printed page rather than a card: business-license, domain-certificate (one side, no
 * portrait, measured size; the quality stage judges them alike). */
int bn_doc_is_page(const char *type);
/* Does this type/side carry the holder's portrait (the face stage's document)? */
int bn_doc_has_portrait(const char *type, const char *side);

#define BN_PROFILE_NAME_MAX 32

/* Validate a submission spec against the number of attached blobs (frames after the spec).
 * On success returns 0 and normalises the spec in place (an absent or null side defaulted to
 * "front", options: priority "interactive", tenant "default", profile "default"; a key present
 * with another type is refused, never defaulted). options.profile must be 1..32 characters
 * a-z 0-9 _ -. On failure -1 with bn_error: bad_request + a message naming the field. */
int bn_job_spec_validate(json_t *spec, size_t nblobs);

/* Is the validated spec's options.profile a profile this installation knows: a compiled-in
 * one (bn_job_profile_names) or an object under the configuration's profiles.* (config may be
 * NULL: compiled-in only)? The quality stage would otherwise measure against "default" and
 * only log it. Returns 0, or -1 with bn_error unknown_profile naming it. */
int bn_job_profile_check(const json_t *spec, const bn_config_t *config);
/* The compiled-in profile names (a copy of bn_profile_names(), which is in the image library),
 * NULL-terminated. */
const char *const *bn_job_profile_names(void);

/* The application form's keys (docs/form.schema.json), NULL-terminated: those the OCR stage
 * compares (lib/ocr/bn_checks.c) and the domain certificate's domain and province. */
const char *const *bn_job_form_keys(void);
/* Validate spec.form (absent or null: nothing to check) against docs/form.schema.json, before
 * anything runs: every key one of bn_job_form_keys() — a misspelt key is an error, never
 * ignored — every value a string of 1..max characters, id_number, credit_code and domain of
 * their pattern. Returns 0, or -1 with bn_error form_invalid and a message starting with the
 * path ("form.nmae: unknown key …"). The broker answers 400 with it, `beian check` exits 1.
 * Not part of bn_job_spec_validate, which also reads back stored jobs that predate the rule. */
int bn_job_form_check(const json_t *spec);

/* One planned task. deps: index of the task whose result is its hint (-1 none). */
typedef struct {
    bn_stage_id_t stage;
    int doc;       /* document index, for face: the portrait document */
    int dep;       /* task index it waits for, -1 */
} bn_plan_task_t;

/* Expand a validated spec to tasks: quality(d) and ocr(d) for each document (ocr after quality),
 * and face (after the portrait document's quality) when a selfie is present. Returns the task
 * count (<= max). */
int bn_job_plan(const json_t *spec, bn_plan_task_t *tasks, int max);

/* Options only the operator may set. options.now (and its alias options.today, which the OCR
 * stage reads when now is absent) is the date expiry and age are judged by: a submitter who
 * could move it could switch the under_18 and expired checks off. The broker refuses a
 * submission carrying either unless the configuration sets job.allow_client_clock (default
 * false). `beian check` (bn_check_run) is the operator's own tool and does not ask.
 * Returns 0, or -1 with bn_error option_not_allowed naming the option. */
int bn_job_options_check(const json_t *spec, const bn_config_t *config);

/* Tenants a CURVE certificate binds its key to (`beian keygen --tenant`, metadata "tenant"):
 * 1..BN_TENANT_MAX characters A-Z a-z 0-9 . _ -. Narrower than options.tenant (any 1..64
 * characters): the name is written into a ZPL certificate file and travels as the ZAP user id. */
#define BN_TENANT_MAX 64
int bn_job_tenant_ok(const char *tenant);
/* Bind a submission to the tenant of the client's certificate (call before
 * bn_job_spec_validate): an absent options.tenant becomes tenant; the same one is kept; another
 * is refused: -1 with bn_error tenant_mismatch. A spec or options of the wrong type is left for
 * bn_job_spec_validate to refuse. */
int bn_job_bind_tenant(json_t *spec, const char *tenant);

/* Bounds on a stage reply (bn_job_reply_check). */
#define BN_REPLY_MAX_DEPTH 32         /* nesting of the result */
#define BN_REPLY_MAX_STRING 16384     /* bytes of any string or key in a result */
#define BN_REPLY_MAX_FLAG_STRING 512  /* bytes of any string in a flag (detail, field, ...) */
#define BN_REPLY_MAX_FLAGS 256

/* Is a stage reply well formed? A worker's reply is untrusted input to the result document:
 * {"ok":true,"result":{...,"flags":[...]}[,"blobs":[names]]} where result is an object that
 * does not set the document's own keys (index, type, side; blobs unless named_blobs), flags is
 * an array of objects with a code from the flag table (not a job-level one: a stage that failed
 * answers ok:false) and a severity info|review|reshoot|reject, strings and nesting are bounded;
 * or {"ok":false,"error":{"code":"lower_snake_case",...}}. named_blobs: the result may carry
 * "blobs" as the broker and bn_check_run name them ({name: {sha256, bytes}}), i.e. the reply
 * was already accepted once. Returns 0, or -1 with bn_error stage_reply_invalid and a message
 * that names the problem but never a value (values may be personal data). */
int bn_job_reply_check(const json_t *reply, int named_blobs);
/* Take a stage reply (owned) and return it when well formed; otherwise free it and return
 * {"ok":false,"error":{"code":"stage_reply_invalid","message":...}} (bn_error still says why),
 * which bn_job_result turns into a stage_failed flag: a malformed check is never a pass. */
json_t *bn_job_reply_accept(json_t *reply);

/* Aggregate. results[i] is task i's reply object ({"ok":true,"result":{...}} or
 * {"ok":false,"error":{"code","message"}}) or NULL when not run; a reply that fails
 * bn_job_reply_check (named_blobs) counts as the error stage_reply_invalid. status is the job status;
 * error (may be NULL) the job-level error. A finished job's documents are also checked against
 * each other (bn_crosscheck; config may be NULL). Returns a new result document. */
json_t *bn_job_result(const char *job_id, const char *status, const json_t *spec,
                      const bn_plan_task_t *tasks, int ntasks, json_t *const *results,
                      const json_t *error, const bn_config_t *config);

#endif
