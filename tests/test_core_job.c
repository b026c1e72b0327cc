/* Job specs, plans and aggregation: validation messages, the stage plan with dependencies,
 * verdicts from flags, failed and cancelled jobs never "pass", masking of personal data. */
#include "bn_test.h"
#include "core/bn_check.h"
#include "core/bn_error.h"
#include "core/bn_flags.h"
#include "core/bn_job.h"
#include "core/bn_log.h"

#include <math.h>
#include <stdio.h>
#include <string.h>


static int valid(const char *text, size_t nblobs)
{
    json_t *spec = json_loads(text, 0, NULL);
    int rc = bn_job_spec_validate(spec, nblobs);
    json_decref(spec);
    return rc == 0;
}

/* Fake stages for bn_check: quality flags "FLAG" images (a cut border: blur or glare on a
 * document whose fields all read would be info, bn_evidence), ocr reads a name, face fails. */
static int fake_quality(const bn_task_t *t, bn_stage_result_t *out)
{
    out->json = json_pack("{s:[], s:{s:I}}", "flags", "quality", "bytes", (json_int_t)t->image_size);
    bn_stage_result_add_blob(out, "prepared", "image/jpeg", strdup("jpg"), 3);
    if (t->image_size >= 4 && memcmp(t->image, "FLAG", 4) == 0)
        bn_flag_add(json_object_get(out->json, "flags"), "border_incomplete", 3, 4, -1);
    return 0;
}
static int fake_ocr(const bn_task_t *t, bn_stage_result_t *out)
{
    /* A later stage's own "blobs" must not hide the quality stage's images. */
    bn_stage_result_add_blob(out, "ocr-debug", "image/png", strdup("png"), 3);
    /* The OCR stage sees the quality stage's result as a hint. */
    json_t *q = json_object_get(t->hints, "quality");
    out->json = json_pack("{s:[], s:{s:{s:s}}, s:b}", "flags", "fields", "name", "value", "张三丰", "saw_hint",
                          json_is_object(q));
    return 0;
}
static int fake_face(const bn_task_t *t, bn_stage_result_t *out)
{
    (void)out;
    return bn_error_set("model_missing", "no model for %s", t->stage);
}

int main(void)
{
    CHECK(valid("{\"documents\":[{\"type\":\"id-card\",\"side\":\"back\",\"blob\":1}]}", 1), "minimal spec");
    CHECK(!valid("{\"documents\":[]}", 0), "no documents");
    CHECK(!valid("{\"documents\":[{\"type\":\"visa\",\"blob\":1}]}", 1), "unknown type");
    CHECK(!valid("{\"documents\":[{\"type\":\"passport\",\"side\":\"inside\",\"blob\":1}]}", 1), "unknown side");
    CHECK(!valid("{\"documents\":[{\"type\":\"passport\",\"blob\":2}]}", 1), "blob out of range");
    CHECK(!valid("{\"documents\":[{\"type\":\"passport\",\"blob\":1}],\"selfie\":0}", 1), "selfie out of range");
    CHECK(!valid("{\"documents\":[{\"type\":\"passport\",\"blob\":1}],\"options\":{\"priority\":\"now\"}}", 1), "bad priority");
    CHECK(!valid("[1,2]", 1), "not an object");
    CHECK(valid("{\"documents\":[{\"type\":\"passport\",\"blob\":1}],\"options\":{\"now\":\"2026-11-28\"}}", 1), "now");
    CHECK(!valid("{\"documents\":[{\"type\":\"passport\",\"blob\":1}],\"options\":{\"now\":\"28/11/2026\"}}", 1), "bad now");
    CHECK(!valid("{\"documents\":[{\"type\":\"passport\",\"blob\":1}],\"options\":{\"now\":20261128}}", 1), "now not a string");
    json_t *spec = json_loads("{\"documents\":[{\"type\":\"passport\",\"blob\":1}]}", 0, NULL);
    CHECK(bn_job_spec_validate(spec, 1) == 0, "defaults");
    CHECK(!strcmp(json_string_value(json_object_get(json_array_get(json_object_get(spec, "documents"), 0), "side")), "front")
          && !strcmp(json_string_value(json_object_get(json_object_get(spec, "options"), "priority")), "interactive"),
          "side defaults to front, priority to interactive");
    json_decref(spec);
    bn_error_set("x", "y");
    CHECK(!valid("{\"documents\":[{\"type\":\"visa\",\"blob\":1}]}", 1) && !strcmp(bn_error_code(), "bad_request")
          && strstr(bn_error_msg(), "visa"), "the error names the bad value");

    /* Plan: business licence (no portrait) then ID front: face depends on the ID front's quality. */
    spec = json_loads("{\"documents\":[{\"type\":\"business-license\",\"blob\":1},{\"type\":\"id-card\",\"blob\":2},"
                      "{\"type\":\"id-card\",\"side\":\"back\",\"blob\":3}],\"selfie\":4}", 0, NULL);
    bn_job_spec_validate(spec, 4);
    bn_plan_task_t plan[40];
    int n = bn_job_plan(spec, plan, 40);
    CHECK(n == 7, "2 tasks per document + face");
    CHECK(plan[1].stage == BN_STAGE_OCR && plan[1].dep == 0, "ocr after its quality");
    CHECK(plan[6].stage == BN_STAGE_FACE && plan[6].doc == 1 && plan[6].dep == 2, "face on the portrait document");

    /* In-process run with fake stages. */
    bn_bytes_t blobs[4] = {{"FLAG", 4}, {"idf", 3}, {"idb", 3}, {"me", 2}};
    bn_stage_fn const stages[BN_STAGE_COUNT] = {fake_quality, fake_ocr, fake_face};
    json_t *res = bn_check_run(spec, blobs, 4, stages, NULL, NULL, NULL);
    CHECK(res && !strcmp(json_string_value(json_object_get(res, "status")), "done"), "check runs");
    json_t *d0 = json_array_get(json_object_get(res, "documents"), 0);
    CHECK(!strcmp(json_string_value(json_object_get(d0, "verdict")), "reshoot"), "a cut border makes document 0 reshoot");
    CHECK(json_is_true(json_object_get(json_array_get(json_object_get(res, "documents"), 1), "saw_hint")),
          "ocr received the quality result as a hint");
    json_t *named = json_object_get(json_array_get(json_object_get(res, "documents"), 1), "blobs");
    CHECK(json_object_get(named, "ocr-debug") && json_object_get(named, "prepared") && json_object_size(named) == 2,
          "blobs of every stage are named in their document");
    json_t *face = json_object_get(res, "face");
    CHECK(face && !strcmp(json_string_value(json_object_get(json_array_get(json_object_get(face, "flags"), 0), "code")),
                          "stage_failed"), "a failing face stage becomes a stage_failed flag");
    CHECK(!strcmp(json_string_value(json_object_get(res, "verdict")), "reshoot"), "job verdict is the worst");
    CHECK(json_array_size(json_object_get(res, "flags")) == 2, "job flags collect every stage's flags");
    json_decref(res);

    /* Failed and cancelled jobs. */
    bn_plan_task_t p1[1] = {{BN_STAGE_QUALITY, 0, -1}};
    json_t *err = json_pack("{s:s}", "code", "task_attempts_exhausted");
    res = bn_job_result("j", "failed", spec, p1, 1, NULL, err, NULL);
    CHECK(!strcmp(json_string_value(json_object_get(res, "verdict")), "review")
          && !strcmp(json_string_value(json_object_get(json_array_get(json_object_get(res, "documents"), 0), "verdict")), "review"),
          "failed → review, documents too");
    json_decref(res);
    res = bn_job_result("j", "cancelled", spec, p1, 1, NULL, NULL, NULL);
    CHECK(json_is_null(json_object_get(res, "verdict")), "cancelled → no verdict");
    json_decref(res);
    json_decref(err);
    json_decref(spec);

    /* Flags table: every code resolves; unknown codes are refused. */
    int count;
    const bn_flag_def_t *tab = bn_flag_table(&count);
    json_t *arr = json_array();
    for (int i = 0; i < count; i++)
        CHECK(bn_flag_add(arr, tab[i].code, NAN, NAN, -1) && tab[i].message_en[0] && tab[i].message_zh[0], tab[i].code);
    CHECK(bn_flag_add(arr, "no_such_flag", NAN, NAN, -1) == NULL, "unknown flag refused");
    json_decref(arr);

    /* Masks. */
    char buf[64];
    CHECK(!strcmp(bn_mask_id("11010519491231002X", buf, sizeof buf), "110105********002X"), "mask 18-digit ID");
    CHECK(!strcmp(bn_mask_id("H12345678", buf, sizeof buf), "H1*****78"), "mask permit number");
    CHECK(!strcmp(bn_mask_name("张三丰", buf, sizeof buf), "张*丰"), "mask 3-char name");
    CHECK(!strcmp(bn_mask_name("张三", buf, sizeof buf), "张*"), "mask 2-char name");
    CHECK(!strcmp(bn_mask_name("欧阳娜娜", buf, sizeof buf), "欧**娜"), "mask 4-char name");
    CHECK(!strcmp(bn_mask_name("ZHANG SANFENG", buf, sizeof buf), "Z**** S******"), "mask Latin name");
    return bn_test_end("test_core_job");
}
