/* bn_stage — the pure core of every stage: image(s) + options in, result out.
 *
 * A stage knows nothing of ZeroMQ or the store. The worker runtime (bn_worker) decodes a task
 * from the wire into a bn_task_t and encodes the bn_stage_result_t back; `beian check` builds
 * the same structs in-process. So a stage is tested by calling its function directly.
 *
 * Stages:  quality  bn_quality_run  (lib/img)   document finding, metrics, flags, prepared image
 *          ocr      bn_ocr_run      (lib/ocr)   fields, validators, form cross-checks
 *          face     bn_face_run     (lib/face)  portrait vs selfie
 */
#ifndef BN_STAGE_H
#define BN_STAGE_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bn_config.h"

#define BN_MAX_BLOBS 4

typedef struct {
    char name[32];  /* "prepared", "review" */
    char mime[32];  /* "image/jpeg" */
    void *data;     /* malloc'd, owned by the result */
    size_t size;
} bn_blob_t;

typedef struct {
    const char *stage;     /* "quality" | "ocr" | "face" */
    const char *doc_type;  /* "id-card" "passport" "hk-macao-permit" "taiwan-permit"
                              "residence-permit" "business-license" */
    const char *doc_side;  /* "front" | "back" */
    int doc_page;          /* the page of a PDF upload (documents[i].page, 1-based); 0 = the first */
    const uint8_t *image;  /* the document image as uploaded (untrusted bytes) */
    size_t image_size;
    const uint8_t *selfie; /* face stage: the live selfie (untrusted bytes), else NULL */
    size_t selfie_size;
    const json_t *form;    /* applicant's form data, or NULL */
    const json_t *options; /* job options: {"profile": "...", "watermark": bool, "now": "YYYY-MM-DD"} */
    const json_t *hints;   /* earlier stages' results for this document, e.g. {"quality": {...}};
                              may be NULL: a stage must work without them */
    const bn_config_t *config;
} bn_task_t;

typedef struct {
    json_t *json;  /* stage result object (docs/RESULTS.md), owned */
    bn_blob_t blobs[BN_MAX_BLOBS];
    int nblobs;
} bn_stage_result_t;

/* Returns 0 with out->json set, or -1 with bn_error set (the task failed; it is not a verdict
 * about the document — bad images are verdicts, e.g. a format_unsupported flag, not errors). */
typedef int (*bn_stage_fn)(const bn_task_t *task, bn_stage_result_t *out);

/* Add a blob to a result, taking ownership of data (malloc'd). -1 when full. */
int bn_stage_result_add_blob(bn_stage_result_t *r, const char *name, const char *mime, void *data, size_t size);
void bn_stage_result_clear(bn_stage_result_t *r);

/* The reply object of a stage run, as workers send it and the broker stores it:
 * {"ok":true,"result":{...},"blobs":["prepared",...]} or {"ok":false,"error":{"code","message"}}.
 * rc is the stage's return value; on -1 the error comes from the bn_error buffer. */
json_t *bn_stage_reply(int rc, const bn_stage_result_t *r);

#endif
