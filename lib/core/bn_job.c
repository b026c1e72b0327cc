#include "core/bn_job.h"
#include "core/bn_error.h"
#include "core/bn_crosscheck.h"
#include "core/bn_evidence.h"
#include "core/bn_flags.h"

#include <math.h>
#include <string.h>

static const char *s_stage_names[] = {"quality", "ocr", "face"};
static const char *s_stage_services[] = {"beian.quality", "beian.ocr", "beian.face"};

const char *bn_stage_name(bn_stage_id_t s) { return s < BN_STAGE_COUNT ? s_stage_names[s] : "?"; }
const char *bn_stage_service(bn_stage_id_t s) { return s < BN_STAGE_COUNT ? s_stage_services[s] : "?"; }

static const char *s_types[] = {"id-card", "passport", "hk-macao-permit", "taiwan-permit",
                                "residence-permit", "business-license", NULL};

int bn_doc_type_valid(const char *type)
{
    for (int i = 0; type && s_types[i]; i++)
        if (strcmp(type, s_types[i]) == 0)
            return 1;
    return 0;
}

int bn_doc_side_valid(const char *type, const char *side)
{
    if (!bn_doc_type_valid(type) || !side)
        return 0;
    return strcmp(side, "front") == 0 || strcmp(side, "back") == 0;
}

int bn_doc_has_portrait(const char *type, const char *side)
{
    if (!type || !side || strcmp(side, "front") != 0)
        return 0;
    return strcmp(type, "business-license") != 0 && bn_doc_type_valid(type);
}

/* Frame reference: an integer 1..nblobs (frame 0 is the spec itself). */
static int s_blob_ref(json_t *v, size_t nblobs)
{
    if (!json_is_integer(v))
        return 0;
    json_int_t i = json_integer_value(v);
    return i >= 1 && (size_t)i <= nblobs;
}

static void s_default(json_t *obj, const char *key, const char *value)
{
    if (!json_is_string(json_object_get(obj, key)))
        json_object_set_new(obj, key, json_string(value));
}

int bn_job_spec_validate(json_t *spec, size_t nblobs)
{
    if (!json_is_object(spec))
        return bn_error_set("bad_request", "the job spec must be a JSON object");
    json_t *docs = json_object_get(spec, "documents");
    if (!json_is_array(docs) || json_array_size(docs) == 0)
        return bn_error_set("bad_request", "'documents' must be a non-empty array");
    if (json_array_size(docs) > BN_MAX_DOCS)
        return bn_error_set("bad_request", "at most %d documents per job", BN_MAX_DOCS);
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d) {
        if (!json_is_object(d))
            return bn_error_set("bad_request", "documents[%zu] must be an object", i);
        const char *type = json_string_value(json_object_get(d, "type"));
        if (!bn_doc_type_valid(type))
            return bn_error_set("bad_request", "documents[%zu].type '%s' is not one of id-card, passport, "
                                "hk-macao-permit, taiwan-permit, residence-permit, business-license",
                                i, type ? type : "(missing)");
        s_default(d, "side", "front");
        if (!bn_doc_side_valid(type, json_string_value(json_object_get(d, "side"))))
            return bn_error_set("bad_request", "documents[%zu].side must be front or back", i);
        if (!s_blob_ref(json_object_get(d, "blob"), nblobs))
            return bn_error_set("bad_request", "documents[%zu].blob must name an attached frame 1..%zu", i, nblobs);
    }
    json_t *selfie = json_object_get(spec, "selfie");
    if (selfie && !json_is_null(selfie) && !s_blob_ref(selfie, nblobs))
        return bn_error_set("bad_request", "'selfie' must name an attached frame 1..%zu", nblobs);
    json_t *form = json_object_get(spec, "form");
    if (form && !json_is_null(form) && !json_is_object(form))
        return bn_error_set("bad_request", "'form' must be an object");
    json_t *opt = json_object_get(spec, "options");
    if (!opt) {
        opt = json_object();
        json_object_set_new(spec, "options", opt);
    }
    if (!json_is_object(opt))
        return bn_error_set("bad_request", "'options' must be an object");
    s_default(opt, "priority", "interactive");
    s_default(opt, "tenant", "default");
    s_default(opt, "profile", "default");
    const char *prio = json_string_value(json_object_get(opt, "priority"));
    if (strcmp(prio, "interactive") != 0 && strcmp(prio, "batch") != 0)
        return bn_error_set("bad_request", "options.priority must be interactive or batch");
    const char *tenant = json_string_value(json_object_get(opt, "tenant"));
    if (!*tenant || strlen(tenant) > 64)
        return bn_error_set("bad_request", "options.tenant must be 1..64 characters");
    json_t *now = json_object_get(opt, "now");
    if (now) {
        const char *day = json_string_value(now);
        int y, m, dd;
        char tail;
        if (!day || strlen(day) != 10 || sscanf(day, "%4d-%2d-%2d%c", &y, &m, &dd, &tail) != 3 || m < 1 || m > 12 || dd < 1 || dd > 31)
            return bn_error_set("bad_request", "options.now must be a date YYYY-MM-DD");
    }
    json_t *key = json_object_get(opt, "key");
    if (key && !(json_is_string(key) && strlen(json_string_value(key)) <= 128))
        return bn_error_set("bad_request", "options.key must be a string of at most 128 characters");
    return 0;
}

int bn_job_plan(const json_t *spec, bn_plan_task_t *tasks, int max)
{
    json_t *docs = json_object_get(spec, "documents");
    int n = 0, portrait = -1, portrait_quality = -1;
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d) {
        const char *type = json_string_value(json_object_get(d, "type"));
        const char *side = json_string_value(json_object_get(d, "side"));
        if (n + 2 > max)
            break;
        if (portrait < 0 && bn_doc_has_portrait(type, side)) {
            portrait = (int)i;
            portrait_quality = n;
        }
        tasks[n++] = (bn_plan_task_t){BN_STAGE_QUALITY, (int)i, -1};
        tasks[n] = (bn_plan_task_t){BN_STAGE_OCR, (int)i, n - 1};
        n++;
    }
    json_t *selfie = json_object_get(spec, "selfie");
    if (json_is_integer(selfie) && n < max)
        /* With no portrait document the face stage still runs (on the first document) so the
         * result says no_face rather than silently skipping the check. */
        tasks[n++] = (bn_plan_task_t){BN_STAGE_FACE, portrait >= 0 ? portrait : 0,
                                      portrait >= 0 ? portrait_quality : 0};
    return n;
}

/* Append the flags of a stage result to the document's and the job's flag lists, tagged with
 * the document index. */
static void s_collect_flags(json_t *src, int doc, json_t *doc_flags, json_t *job_flags)
{
    size_t i;
    json_t *f;
    json_array_foreach(src, i, f) {
        json_t *c = json_deep_copy(f);
        if (doc >= 0)
            json_object_set_new(c, "document", json_integer(doc));
        if (doc_flags)
            json_array_append(doc_flags, c);
        json_array_append_new(job_flags, c);
    }
}

/* A task that answered with an error still yields a flag, so the verdict is never a silent
 * pass: not_implemented → stage_not_implemented, anything else → stage_failed (both review). */
static json_t *s_error_flags(bn_stage_id_t stage, const json_t *err)
{
    json_t *flags = json_array();
    const char *code = json_string_value(json_object_get(err, "code"));
    json_t *f = bn_flag_add(flags, code && strcmp(code, "not_implemented") == 0 ? "stage_not_implemented"
                                                                                  : "stage_failed",
                            NAN, NAN, -1);
    json_object_set_new(f, "stage", json_string(bn_stage_name(stage)));
    if (code)
        json_object_set_new(f, "error", json_string(code));
    return flags;
}

json_t *bn_job_result(const char *job_id, const char *status, const json_t *spec,
                      const bn_plan_task_t *tasks, int ntasks, json_t *const *results,
                      const json_t *error, const bn_config_t *config)
{
    json_t *out = json_pack("{s:s, s:s}", "job", job_id, "status", status);
    json_t *job_flags = json_array();
    json_t *docs_out = json_array();
    json_t *docs = json_object_get(spec, "documents");
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d) {
        json_array_append_new(docs_out, json_pack("{s:i, s:O, s:O, s:s, s:[], s:{}, s:{}, s:{}, s:n}",
                                                  "index", (int)i, "type", json_object_get(d, "type"),
                                                  "side", json_object_get(d, "side"), "verdict", "pass",
                                                  "flags", "quality", "fields", "checks", "prepared"));
    }
    json_t *face = NULL;
    for (int t = 0; t < ntasks; t++) {
        json_t *r = results ? results[t] : NULL;
        if (!r)
            continue;
        json_t *doc = json_array_get(docs_out, (size_t)tasks[t].doc);
        json_t *res = json_object_get(r, "result");
        json_t *flags = json_is_true(json_object_get(r, "ok")) ? json_incref(json_object_get(res, "flags"))
                                                               : s_error_flags(tasks[t].stage, json_object_get(r, "error"));
        if (tasks[t].stage == BN_STAGE_FACE) {
            face = json_is_object(res) ? json_deep_copy(res) : json_object();
            json_object_set_new(face, "flags", json_array());
            s_collect_flags(flags, -1, json_object_get(face, "flags"), job_flags);
        } else if (doc) {
            s_collect_flags(flags, tasks[t].doc, json_object_get(doc, "flags"), job_flags);
            /* Copy the stage's result keys into the document, except flags (merged above). */
            const char *k;
            json_t *v;
            json_object_foreach(res, k, v) {
                json_t *have = json_object_get(doc, k);
                /* text_boxes: the quality stage's detected lines, the ocr stage's hint only */
                if (strcmp(k, "flags") == 0 || strcmp(k, "text_boxes") == 0)
                    continue;
                if (strcmp(k, "blobs") == 0 && json_is_object(have))
                    json_object_update(have, v); /* several stages may each produce images */
                else
                    json_object_set(doc, k, v);
            }
        }
        json_decref(flags);
    }
    int done = strcmp(status, "done") == 0, failed = strcmp(status, "failed") == 0;
    if (done) {
        bn_evidence_apply(docs_out, config);
        bn_crosscheck(docs_out, job_flags, config);
    }
    bn_severity_t worst = bn_flags_worst(job_flags);
    json_array_foreach(docs_out, i, d) {
        /* An unfinished job's documents may lack stages: never call them a pass. */
        const char *v = done ? bn_verdict_name(bn_flags_worst(json_object_get(d, "flags"))) : failed ? "review" : NULL;
        json_object_set_new(d, "verdict", v ? json_string(v) : json_null());
    }
    if (face)
        json_object_set_new(face, "verdict", json_string(bn_verdict_name(bn_flags_worst(json_object_get(face, "flags")))));
    /* A job that did not finish has no verdict worth acting on: failed → review by a person. */
    const char *verdict = done ? bn_verdict_name(worst) : failed ? "review" : NULL;
    json_object_set_new(out, "verdict", verdict ? json_string(verdict) : json_null());
    json_object_set_new(out, "flags", job_flags);
    json_object_set_new(out, "documents", docs_out);
    if (face)
        json_object_set_new(out, "face", face);
    if (error)
        json_object_set_new(out, "error", json_deep_copy(error));
    return out;
}
