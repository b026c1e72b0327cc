#include "core/bn_check.h"
#include "core/bn_error.h"

#include <sodium.h>
#include <string.h>

static void s_sha256_hex(const void *data, size_t size, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, size);
    for (size_t i = 0; i < sizeof h; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

json_t *bn_check_run(json_t *spec, const bn_bytes_t *blobs, int nblobs,
                     bn_stage_fn const stages[BN_STAGE_COUNT], const bn_config_t *config,
                     bn_check_blob_fn *on_blob, void *arg)
{
    if (sodium_init() < 0 || bn_job_spec_validate(spec, (size_t)nblobs) < 0 || bn_job_profile_check(spec, config) < 0
        || bn_job_form_check(spec) < 0)
        return NULL;
    bn_plan_task_t plan[2 * BN_MAX_DOCS + 1];
    json_t *replies[2 * BN_MAX_DOCS + 1] = {0};
    int n = bn_job_plan(spec, plan, 2 * BN_MAX_DOCS + 1);
    json_t *docs = json_object_get(spec, "documents");
    json_t *selfie = json_object_get(spec, "selfie");
    /* The plan lists every task after the task it depends on, so one pass in order works. */
    for (int i = 0; i < n; i++) {
        json_t *doc = json_array_get(docs, (size_t)plan[i].doc);
        const bn_bytes_t *img = &blobs[json_integer_value(json_object_get(doc, "blob")) - 1];
        json_t *hints = json_object();
        if (plan[i].dep >= 0 && json_is_true(json_object_get(replies[plan[i].dep], "ok")))
            json_object_set(hints, "quality", json_object_get(replies[plan[i].dep], "result"));
        bn_task_t task = {
            .stage = bn_stage_name(plan[i].stage),
            .doc_type = json_string_value(json_object_get(doc, "type")),
            .doc_side = json_string_value(json_object_get(doc, "side")),
            .doc_page = (int)json_integer_value(json_object_get(doc, "page")),
            .image = img->data,
            .image_size = img->size,
            .form = json_object_get(spec, "form"),
            .options = json_object_get(spec, "options"),
            .hints = hints,
            .config = config,
        };
        if (plan[i].stage == BN_STAGE_FACE && json_is_integer(selfie)) {
            task.selfie = blobs[json_integer_value(selfie) - 1].data;
            task.selfie_size = blobs[json_integer_value(selfie) - 1].size;
        }
        bn_stage_result_t r = {0};
        bn_error_clear();
        int rc = stages[plan[i].stage] ? stages[plan[i].stage](&task, &r)
                                       : bn_error_set("not_implemented", "stage %s not available", task.stage);
        /* Checked as the broker checks a worker's reply: a stage that answers nonsense is a
         * stage_failed flag here too, not a pass (and its images are not named). */
        replies[i] = bn_job_reply_accept(bn_stage_reply(rc, &r));
        /* Name the blobs the way the broker does: {"blobs": {name: {sha256, bytes}}}. */
        json_t *res = json_object_get(replies[i], "result");
        if (rc == 0 && json_is_object(res) && r.nblobs) {
            json_t *named = json_object();
            for (int b = 0; b < r.nblobs; b++) {
                char sha[65];
                s_sha256_hex(r.blobs[b].data, r.blobs[b].size, sha);
                json_object_set_new(named, r.blobs[b].name,
                                    json_pack("{s:s, s:I}", "sha256", sha, "bytes", (json_int_t)r.blobs[b].size));
                if (on_blob)
                    on_blob(arg, plan[i].doc, r.blobs[b].name, r.blobs[b].data, r.blobs[b].size);
            }
            json_object_set_new(res, "blobs", named);
        }
        json_object_del(replies[i], "blobs");
        bn_stage_result_clear(&r);
        json_decref(hints);
    }
    json_t *result = bn_job_result("local", "done", spec, plan, n, replies, NULL, config);
    for (int i = 0; i < n; i++)
        json_decref(replies[i]);
    return result;
}
