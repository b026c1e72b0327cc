/* bn_check — run a job in-process, without a broker: the same plan (bn_job_plan), the same
 * stage functions, the same aggregation (bn_job_result) as the daemon. `beian check` and the
 * tests use it, so a document gives the same result either way. */
#ifndef BN_CHECK_H
#define BN_CHECK_H
#include "core/bn_job.h"
#include "core/bn_stage.h"

typedef struct {
    const void *data;
    size_t size;
} bn_bytes_t;

/* Called for every blob a stage produces (e.g. the prepared image) before it is freed. */
typedef void (bn_check_blob_fn)(void *arg, int doc, const char *name, const void *data, size_t size);

/* spec: a job spec (validated here); blobs[i] is the spec's frame i+1. stages[s] may be NULL
 * (that stage answers not_implemented). Returns the result document, or NULL with bn_error
 * when the spec is invalid: bad_request, or unknown_profile (bn_job_profile_check against
 * config). */
json_t *bn_check_run(json_t *spec, const bn_bytes_t *blobs, int nblobs,
                     bn_stage_fn const stages[BN_STAGE_COUNT], const bn_config_t *config,
                     bn_check_blob_fn *on_blob, void *arg);

#endif
