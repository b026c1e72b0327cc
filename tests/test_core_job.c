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
#include <stdlib.h>
#include <string.h>


static int valid(const char *text, size_t nblobs)
{
    json_t *spec = json_loads(text, 0, NULL);
    int rc = bn_job_spec_validate(spec, nblobs);
    json_decref(spec);
    return rc == 0;
}

/* A config from a new JSON value (bn_config_from_json takes its own reference). */
static bn_config_t *s_config(json_t *root)
{
    bn_config_t *c = bn_config_from_json(root);
    json_decref(root);
    return c;
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

/* A rogue quality stage: its result is a string, not an object (issue #11, bug 5). */
static int rogue_quality(const bn_task_t *t, bn_stage_result_t *out)
{
    (void)t;
    out->json = json_string("str");
    return 0;
}

/* bn_job_reply_check on a reply given as JSON text; 1 when accepted. A refusal must carry the
 * stable code and must not echo the reply's values (they may be personal data). */
static int reply_ok(const char *text, int named_blobs)
{
    json_t *r = json_loads(text, JSON_DECODE_ANY, NULL);
    bn_error_clear();
    int rc = bn_job_reply_check(r, named_blobs);
    json_decref(r);
    if (rc < 0 && (strcmp(bn_error_code(), "stage_reply_invalid") != 0 || strstr(bn_error_msg(), "11010519491231002X")))
        return -1; /* neither accepted nor refused properly */
    return rc == 0;
}

/* The one job-level flag of a result and its document's verdict. */
static int result_is_stage_failed(json_t *res, const char *error)
{
    json_t *f = json_array_get(json_object_get(res, "flags"), 0);
    json_t *d0 = json_array_get(json_object_get(res, "documents"), 0);
    return res && !strcmp(json_string_value(json_object_get(res, "verdict")), "review")
        && !strcmp(json_string_value(json_object_get(d0, "verdict")), "review")
        && !strcmp(json_string_value(json_object_get(f, "code")), "stage_failed")
        && !strcmp(json_string_value(json_object_get(f, "error")), error);
}

static void test_stage_replies(void)
{
    /* Well-formed replies. */
    CHECK(reply_ok("{\"ok\":true,\"result\":{\"flags\":[]}}", 0) == 1, "minimal result");
    CHECK(reply_ok("{\"ok\":true,\"result\":{\"flags\":[{\"code\":\"blurry\",\"severity\":\"reshoot\",\"metric\":3,"
                   "\"threshold\":60,\"message_en\":\"x\"}],\"quality\":{},\"verdict\":\"reshoot\"},\"blobs\":[\"prepared\",\"ocr-debug\"]}", 0) == 1,
          "a flag with metric and threshold, named images");
    CHECK(reply_ok("{\"ok\":false,\"error\":{\"code\":\"model_missing\",\"message\":\"no model\"}}", 0) == 1, "an error reply");
    CHECK(reply_ok("{\"ok\":true,\"result\":{\"flags\":[],\"blobs\":{\"prepared\":{\"sha256\":\""
                   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"bytes\":3}}}}", 1) == 1,
          "blobs named by the broker, checked again at aggregation");
    /* Malformed: each refused with stage_reply_invalid. */
    static const char *bad[] = {
        "{\"ok\":true,\"result\":\"str\"}",                                  /* the reported case */
        "{\"ok\":true}",
        "{\"ok\":true,\"result\":{}}",                                          /* no flags: an unfinished check */
        "{\"ok\":true,\"result\":{\"flags\":{}}}",
        "{\"ok\":true,\"result\":{\"flags\":[\"blurry\"]}}",
        "{\"ok\":true,\"result\":{\"flags\":[{\"code\":\"11010519491231002X\",\"severity\":\"info\"}]}}",
        "{\"ok\":true,\"result\":{\"flags\":[{\"code\":\"stage_failed\",\"severity\":\"info\"}]}}",
        "{\"ok\":true,\"result\":{\"flags\":[{\"code\":\"expired\",\"severity\":\"catastrophic\"}]}}",
        "{\"ok\":true,\"result\":{\"flags\":[{\"code\":\"expired\",\"severity\":\"Reject\"}]}}",
        "{\"ok\":true,\"result\":{\"flags\":[{\"code\":\"expired\"}]}}",
        "{\"ok\":true,\"result\":{\"flags\":[{\"code\":\"blurry\",\"severity\":\"info\",\"metric\":\"3\"}]}}",
        "{\"ok\":true,\"result\":{\"flags\":[{\"code\":\"blurry\",\"severity\":\"info\",\"document\":3}]}}",
        "{\"ok\":true,\"result\":{\"flags\":[],\"type\":\"passport\"}}",     /* would relabel the document */
        "{\"ok\":true,\"result\":{\"flags\":[],\"fields\":[]}}",
        "{\"ok\":true,\"result\":{\"flags\":[],\"blobs\":{\"prepared\":{\"sha256\":\"ab\",\"bytes\":1}}}}",
        "{\"ok\":true,\"result\":{\"flags\":[]},\"blobs\":[\"../../x\"]}",
        "{\"ok\":true,\"result\":{\"flags\":[]},\"blobs\":\"prepared\"}",
        "{\"ok\":false}",
        "{\"ok\":false,\"error\":{\"code\":\"Not Implemented!\"}}",
        "{\"ok\":false,\"error\":{\"code\":\"x\",\"message\":7}}",
        "{\"ok\":\"yes\",\"result\":{\"flags\":[]}}",
        "[1]",
        "\"str\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(reply_ok(bad[i], 0) == 0, "malformed reply %zu refused with stage_reply_invalid: %s", i, bad[i]);
    CHECK(bn_job_reply_check(NULL, 0) < 0, "no reply at all");
    CHECK(reply_ok("{\"ok\":true,\"result\":{\"flags\":[],\"blobs\":{}}}", 0) == 0,
          "a stage may not fill result.blobs itself (it could name another job's images)");
    /* Bounds: strings, flag strings, nesting. */
    char *big = malloc(BN_REPLY_MAX_STRING + 64);
    memset(big, 'a', BN_REPLY_MAX_STRING + 1);
    big[BN_REPLY_MAX_STRING + 1] = '\0';
    json_t *r = json_pack("{s:b, s:{s:[], s:{s:s}}}", "ok", 1, "result", "flags", "fields", "x", big);
    CHECK(bn_job_reply_check(r, 0) < 0, "a string over the bound");
    json_decref(r);
    big[BN_REPLY_MAX_FLAG_STRING + 1] = '\0';
    r = json_pack("{s:b, s:{s:[{s:s, s:s, s:s}]}}", "ok", 1, "result", "flags", "code", "format_unsupported",
                  "severity", "reject", "detail", big);
    CHECK(bn_job_reply_check(r, 0) < 0, "free text in a flag over its bound");
    json_decref(r);
    free(big);
    json_t *deep = json_object();
    for (int i = 0; i < BN_REPLY_MAX_DEPTH + 2; i++)
        deep = json_pack("{s:o}", "x", deep);
    r = json_pack("{s:b, s:{s:[], s:o}}", "ok", 1, "result", "flags", "checks", deep);
    CHECK(bn_job_reply_check(r, 0) < 0, "nesting over the bound");
    json_decref(r);

    /* Aggregation: a malformed reply makes its document review with stage_failed /
     * stage_reply_invalid, never pass — even when it reaches bn_job_result unchecked. */
    json_t *spec = json_loads("{\"documents\":[{\"type\":\"passport\",\"blob\":1}]}", 0, NULL);
    bn_job_spec_validate(spec, 1);
    bn_plan_task_t p1[1] = {{BN_STAGE_QUALITY, 0, -1}};
    json_t *rep[1] = {json_loads("{\"ok\":true,\"result\":\"str\"}", JSON_DECODE_ANY, NULL)};
    json_t *res = bn_job_result("j", "done", spec, p1, 1, rep, NULL, NULL);
    CHECK(result_is_stage_failed(res, "stage_reply_invalid"), "result \"str\" → review, stage_failed (stage_reply_invalid)");
    json_decref(res);
    json_decref(rep[0]);
    rep[0] = json_loads("{\"ok\":true,\"result\":{\"flags\":[{\"code\":\"under_18\",\"severity\":\"fine\"}]}}", 0, NULL);
    res = bn_job_result("j", "done", spec, p1, 1, rep, NULL, NULL);
    CHECK(result_is_stage_failed(res, "stage_reply_invalid") && json_array_size(json_object_get(res, "flags")) == 1,
          "an unknown severity is an invalid reply; the flag is not copied");
    json_decref(res);
    json_decref(rep[0]);
    /* A worker's own words never reach the portal: messages and stage are the flag table's. */
    rep[0] = json_loads("{\"ok\":true,\"result\":{\"flags\":[{\"code\":\"border_incomplete\",\"severity\":\"reshoot\","
                        "\"stage\":\"face\",\"message_en\":\"Call 555-0100\",\"message_zh\":\"请致电\"}]}}", 0, NULL);
    res = bn_job_result("j", "done", spec, p1, 1, rep, NULL, NULL);
    json_t *f = json_array_get(json_object_get(res, "flags"), 0);
    const bn_flag_def_t *cut = bn_flag_lookup("border_incomplete");
    CHECK(!strcmp(json_string_value(json_object_get(f, "message_en")), cut->message_en)
          && !strcmp(json_string_value(json_object_get(f, "message_zh")), cut->message_zh)
          && !strcmp(json_string_value(json_object_get(f, "stage")), "quality")
          && !strcmp(json_string_value(json_object_get(res, "verdict")), "reshoot"),
          "flag messages and stage come from the flag table");
    json_decref(res);
    json_decref(rep[0]);
    /* An error code that is not a code is not copied either. */
    rep[0] = json_loads("{\"ok\":false,\"error\":{\"code\":\"<script>\"}}", 0, NULL);
    res = bn_job_result("j", "done", spec, p1, 1, rep, NULL, NULL);
    CHECK(result_is_stage_failed(res, "stage_reply_invalid"), "a free-text error code becomes stage_reply_invalid");
    json_decref(res);
    json_decref(rep[0]);
    /* bn_job_reply_accept: what the broker and bn_check_run keep of a reply. */
    json_t *acc = bn_job_reply_accept(json_loads("{\"ok\":true,\"result\":\"str\"}", JSON_DECODE_ANY, NULL));
    CHECK(json_is_false(json_object_get(acc, "ok"))
          && !strcmp(json_string_value(json_object_get(json_object_get(acc, "error"), "code")), "stage_reply_invalid"),
          "an invalid reply is replaced by the error stage_reply_invalid");
    json_decref(acc);
    acc = json_loads("{\"ok\":true,\"result\":{\"flags\":[]}}", 0, NULL);
    CHECK(bn_job_reply_accept(acc) == acc, "a valid reply is kept as it is");
    json_decref(acc);
    /* In-process (beian check): the same. */
    bn_bytes_t blob = {"img", 3};
    bn_stage_fn const rogue[BN_STAGE_COUNT] = {rogue_quality, NULL, NULL};
    res = bn_check_run(spec, &blob, 1, rogue, NULL, NULL, NULL);
    json_t *codes = json_object_get(res, "flags");
    CHECK(res && !strcmp(json_string_value(json_object_get(res, "verdict")), "review")
          && !strcmp(json_string_value(json_object_get(json_array_get(codes, 0), "error")), "stage_reply_invalid"),
          "beian check: a stage returning a string is review (stage_reply_invalid), not pass");
    json_decref(res);
    json_decref(spec);
}

/* options.now / options.today: the operator's, not the submitter's (issue #11). */
static void test_client_clock(void)
{
    json_t *spec = json_loads("{\"documents\":[{\"type\":\"id-card\",\"blob\":1}],\"options\":{\"now\":\"0000-01-01\"}}", 0, NULL);
    json_t *spec2 = json_loads("{\"documents\":[{\"type\":\"id-card\",\"blob\":1}],\"options\":{\"today\":\"0000-01-01\"}}", 0, NULL);
    json_t *plain = json_loads("{\"documents\":[{\"type\":\"id-card\",\"blob\":1}]}", 0, NULL);
    CHECK(bn_job_spec_validate(spec, 1) == 0 && bn_job_spec_validate(spec2, 1) == 0 && bn_job_spec_validate(plain, 1) == 0,
          "well-formed dates");
    bn_error_clear();
    CHECK(bn_job_options_check(spec, NULL) < 0 && !strcmp(bn_error_code(), "option_not_allowed")
          && strstr(bn_error_msg(), "options.now"), "a submitter's options.now is refused by default");
    CHECK(bn_job_options_check(spec2, NULL) < 0 && !strcmp(bn_error_code(), "option_not_allowed")
          && strstr(bn_error_msg(), "options.today"), "and its alias options.today");
    CHECK(bn_job_options_check(plain, NULL) == 0, "a spec without a date is fine");
    json_t *j_off = json_pack("{s:{s:b}}", "job", "allow_client_clock", 0);
    json_t *j_on = json_pack("{s:{s:b}}", "job", "allow_client_clock", 1);
    bn_config_t *off = bn_config_from_json(j_off), *on = bn_config_from_json(j_on);
    json_decref(j_off);
    json_decref(j_on);
    CHECK(bn_job_options_check(spec, off) < 0, "refused when the operator said no");
    CHECK(bn_job_options_check(spec, on) == 0 && bn_job_options_check(spec2, on) == 0,
          "allowed when the operator's configuration says so");
    bn_config_destroy(&off);
    bn_config_destroy(&on);
    json_decref(spec);
    json_decref(spec2);
    json_decref(plain);
    CHECK(!valid("{\"documents\":[{\"type\":\"passport\",\"blob\":1}],\"options\":{\"today\":\"1.1.2020\"}}", 1),
          "options.today must be a date too");
}

/* A CURVE client's tenant comes from its certificate (issue #11): bn_job_bind_tenant. */
static void test_bind_tenant(void)
{
    json_t *none = json_loads("{\"documents\":[{\"type\":\"id-card\",\"blob\":1}]}", 0, NULL);
    json_t *same = json_loads("{\"documents\":[{\"type\":\"id-card\",\"blob\":1}],\"options\":{\"tenant\":\"acme\"}}", 0, NULL);
    json_t *other = json_loads("{\"documents\":[{\"type\":\"id-card\",\"blob\":1}],\"options\":{\"tenant\":\"beta\"}}", 0, NULL);
    json_t *typed = json_loads("{\"documents\":[{\"type\":\"id-card\",\"blob\":1}],\"options\":{\"tenant\":7}}", 0, NULL);
    CHECK(bn_job_bind_tenant(none, "acme") == 0 && bn_job_spec_validate(none, 1) == 0
          && !strcmp(json_string_value(json_object_get(json_object_get(none, "options"), "tenant")), "acme"),
          "an absent options.tenant becomes the certificate's, not \"default\"");
    CHECK(bn_job_bind_tenant(same, "acme") == 0, "the certificate's own tenant is accepted");
    bn_error_clear();
    CHECK(bn_job_bind_tenant(other, "acme") < 0 && !strcmp(bn_error_code(), "tenant_mismatch")
          && strstr(bn_error_msg(), "'acme'") && !strstr(bn_error_msg(), "beta"),
          "another tenant is tenant_mismatch, naming only the client's own");
    CHECK(bn_job_bind_tenant(typed, "acme") < 0 && !strcmp(bn_error_code(), "tenant_mismatch"), "so is a non-string");
    CHECK(bn_job_tenant_ok("acme-2.cn_x") && !bn_job_tenant_ok("") && !bn_job_tenant_ok("a b")
          && !bn_job_tenant_ok("a\"b") && !bn_job_tenant_ok(NULL), "certificate tenants: 1..64 of A-Z a-z 0-9 . _ -");
    char long_name[BN_TENANT_MAX + 2];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[BN_TENANT_MAX + 1] = '\0';
    CHECK(!bn_job_tenant_ok(long_name) && (long_name[BN_TENANT_MAX] = '\0', bn_job_tenant_ok(long_name)),
          "at most %d characters", BN_TENANT_MAX);
    json_decref(none);
    json_decref(same);
    json_decref(other);
    json_decref(typed);
}

int main(void)
{
    test_stage_replies();
    test_client_clock();
    test_bind_tenant();
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

    /* Issue #11: no silent defaults. A present option of the wrong type is refused, not
     * replaced by the default. */
#define PASSPORT "{\"documents\":[{\"type\":\"passport\",\"blob\":1}],\"options\":"
    CHECK(!valid(PASSPORT "{\"priority\":5}}", 1) && !strcmp(bn_error_code(), "bad_request")
          && strstr(bn_error_msg(), "options.priority"), "priority 5 → bad_request naming options.priority");
    CHECK(!valid(PASSPORT "{\"tenant\":7}}", 1) && strstr(bn_error_msg(), "options.tenant"), "tenant 7 refused");
    CHECK(!valid(PASSPORT "{\"profile\":true}}", 1) && strstr(bn_error_msg(), "options.profile"), "profile true refused");
    CHECK(!valid("{\"documents\":[{\"type\":\"id-card\",\"side\":1,\"blob\":1}]}", 1)
          && strstr(bn_error_msg(), "documents[0].side"), "side 1 refused");
    CHECK(valid(PASSPORT "{\"priority\":null,\"profile\":null}}", 1), "null is absent: defaulted");
    CHECK(!valid(PASSPORT "{\"profile\":\"../../etc/passwd\"}}", 1) && !strcmp(bn_error_code(), "bad_request")
          && strstr(bn_error_msg(), "options.profile"), "a path as profile → bad_request");
    CHECK(!valid(PASSPORT "{\"profile\":\"aliyun.default\"}}", 1), "a dotted profile refused");
    CHECK(!valid(PASSPORT "{\"profile\":\"\"}}", 1), "an empty profile refused");
    CHECK(!valid(PASSPORT "{\"profile\":\"abcdefghijklmnopqrstuvwxyz0123456\"}}", 1), "33 characters refused");
    CHECK(valid(PASSPORT "{\"profile\":\"abcdefghijklmnopqrstuvwxyz012345\"}}", 1), "32 characters pass the pattern");
    /* documents[i].page, the page of a PDF upload: an integer 1..BN_PDF_PAGE_MAX or absent. */
#define LICENCE_PAGE "{\"documents\":[{\"type\":\"business-license\",\"blob\":1,\"page\":"
    CHECK(valid(LICENCE_PAGE "2}]}", 1) && valid(LICENCE_PAGE "null}]}", 1) && valid(LICENCE_PAGE "100000}]}", 1),
          "page 2, null and the maximum accepted");
    CHECK(!valid(LICENCE_PAGE "0}]}", 1) && !strcmp(bn_error_code(), "bad_request") &&
          strstr(bn_error_msg(), "documents[0].page"), "page 0 → bad_request naming documents[0].page");
    CHECK(!valid(LICENCE_PAGE "\"2\"}]}", 1) && !valid(LICENCE_PAGE "1.5}]}", 1) && !valid(LICENCE_PAGE "-1}]}", 1) &&
          !valid(LICENCE_PAGE "100001}]}", 1), "a string, a fraction, a negative and an over-large page refused");
    /* Sides that do not exist. */
    CHECK(!valid("{\"documents\":[{\"type\":\"passport\",\"side\":\"back\",\"blob\":1}]}", 1)
          && !strcmp(bn_error_code(), "bad_request") && strstr(bn_error_msg(), "passport has no back side"),
          "passport:back → bad_request 'passport has no back side'");
    CHECK(!valid("{\"documents\":[{\"type\":\"business-license\",\"side\":\"back\",\"blob\":1}]}", 1)
          && strstr(bn_error_msg(), "business-license has no back side"), "business-license:back refused");
    /* the domain certificate (issue 12): one printed page, no portrait */
    CHECK(valid("{\"documents\":[{\"type\":\"domain-certificate\",\"blob\":1}]}", 1), "domain-certificate accepted");
    CHECK(!valid("{\"documents\":[{\"type\":\"domain-certificate\",\"side\":\"back\",\"blob\":1}]}", 1)
          && strstr(bn_error_msg(), "domain-certificate has no back side"), "domain-certificate:back refused");
    CHECK(bn_doc_is_page("domain-certificate") && bn_doc_is_page("business-license") && !bn_doc_is_page("id-card") &&
          !bn_doc_is_page(NULL), "page documents");
    CHECK(!bn_doc_has_portrait("domain-certificate", "front") && !bn_doc_has_back("domain-certificate"),
          "a domain certificate has neither portrait nor back");
    CHECK(!valid("{\"documents\":[{\"type\":\"domain-cert\",\"blob\":1}]}", 1)
          && strstr(bn_error_msg(), "domain-certificate"), "the message lists domain-certificate");
    CHECK(valid("{\"documents\":[{\"type\":\"hk-macao-permit\",\"side\":\"back\",\"blob\":1}]}", 1)
          && valid("{\"documents\":[{\"type\":\"residence-permit\",\"side\":\"back\",\"blob\":1}]}", 1)
          && valid("{\"documents\":[{\"type\":\"taiwan-permit\",\"side\":\"back\",\"blob\":1}]}", 1),
          "permits and the residence permit have backs");
    /* Known profiles: compiled-in or configured; anything else unknown_profile. */
    {
        json_t *p = json_loads(PASSPORT "{\"profile\":\"tencent\"}}", 0, NULL);
        json_t *q = json_loads(PASSPORT "{\"profile\":\"acme\"}}", 0, NULL);
        json_t *d = json_loads("{\"documents\":[{\"type\":\"passport\",\"blob\":1}]}", 0, NULL);
        CHECK(bn_job_spec_validate(p, 1) == 0 && bn_job_spec_validate(q, 1) == 0 && bn_job_spec_validate(d, 1) == 0,
              "profile specs valid");
        bn_config_t *acme = s_config(json_pack("{s:{s:{s:i}}}", "profiles", "acme", "max_bytes", 100000));
        bn_config_t *flat = s_config(json_pack("{s:{s:i}}", "profiles", "acme", 1));
        CHECK(bn_job_profile_check(p, NULL) == 0 && bn_job_profile_check(d, NULL) == 0, "compiled-in and default known");
        CHECK(bn_job_profile_check(q, NULL) < 0 && !strcmp(bn_error_code(), "unknown_profile")
              && strstr(bn_error_msg(), "'acme'"), "unknown profile → unknown_profile naming it");
        CHECK(bn_job_profile_check(q, acme) == 0, "a profile defined in the configuration is known");
        CHECK(bn_job_profile_check(q, flat) < 0, "profiles.acme that is not an object is not a profile");
        bn_config_destroy(&acme);
        bn_config_destroy(&flat);
        json_decref(p);
        json_decref(q);
        json_decref(d);
    }
    /* bn_check_run refuses an unknown profile too (beian check). */
    {
        json_t *q = json_loads(PASSPORT "{\"profile\":\"acme\"}}", 0, NULL);
        bn_bytes_t one = {"x", 1};
        bn_stage_fn const none[BN_STAGE_COUNT] = {NULL, NULL, NULL};
        json_t *r = bn_check_run(q, &one, 1, none, NULL, NULL, NULL);
        CHECK(!r && !strcmp(bn_error_code(), "unknown_profile"), "bn_check_run: unknown_profile");
        json_decref(r);
        json_decref(q);
    }
    /* The form is checked before anything runs: a misspelt key is form_invalid naming it (it
     * used to be only an unknown_form_key warning in the result), in bn_check_run as in the
     * broker's submit. */
    {
        json_t *sp = json_loads("{\"documents\":[{\"type\":\"id-card\",\"blob\":1}],"
                                "\"form\":{\"name\":\"y\",\"nmae\":\"x\",\"id_number\":\"z\"}}", 0, NULL);
        CHECK(bn_job_spec_validate(sp, 1) == 0, "the spec itself is valid (a stored job still loads)");
        CHECK(bn_job_form_check(sp) < 0 && !strcmp(bn_error_code(), "form_invalid")
              && !strncmp(bn_error_msg(), "form.nmae: unknown key", 22), "form key nmae → form_invalid: %s", bn_error_msg());
        bn_bytes_t one = {"x", 1};
        bn_stage_fn const none[BN_STAGE_COUNT] = {NULL, NULL, NULL};
        json_t *r = bn_check_run(sp, &one, 1, none, NULL, NULL, NULL);
        CHECK(!r && !strcmp(bn_error_code(), "form_invalid"), "bn_check_run: form_invalid before any stage");
        json_object_del(json_object_get(sp, "form"), "nmae");
        CHECK(bn_job_form_check(sp) == 0, "known keys: valid");
        json_decref(sp);
        const char *const *fk = bn_job_form_keys();
        int n = 0;
        while (fk[n])
            n++;
        CHECK(n == 8 && !strcmp(fk[6], "domain") && !strcmp(fk[7], "province"),
              "eight form keys: bn_checks.c's six, domain, province");
    }
    /* Config keys nothing reads are named: a misspelling is not a silent default. */
    {
        bn_config_t *c = s_config(json_loads(
            "{\"broker\":{\"max_jbos\":5,\"max_jobs\":5},\"job\":{\"allow_client_clock\":false},"
            "\"qualty\":{},\"worker\":3,\"quality\":{\"anything\":{}},\"profiles\":{\"x\":{}},"
            "\"ocr\":{},\"face\":{}}", 0, NULL));
        json_t *u = bn_config_unknown_keys(c);
        char *text = json_dumps(u, JSON_COMPACT);
        CHECK(text && !strcmp(text, "[\"broker.max_jbos\",\"qualty\",\"worker\"]"), text ? text : "unknown keys");
        free(text);
        json_decref(u);
        CHECK(bn_config_warn_unknown(c) == 3, "three warnings logged");
        bn_config_destroy(&c);
        u = bn_config_unknown_keys(NULL);
        CHECK(json_array_size(u) == 0, "no config: nothing unknown");
        json_decref(u);
    }
#undef PASSPORT

    /* Plan: business licence (no portrait) then ID front: face depends on the ID front's quality. */
    spec = json_loads("{\"documents\":[{\"type\":\"business-license\",\"blob\":1},{\"type\":\"id-card\",\"blob\":2},"
                      "{\"type\":\"id-card\",\"side\":\"back\",\"blob\":3}],\"selfie\":4}", 0, NULL);
    bn_job_spec_validate(spec, 4);
    bn_plan_task_t plan[40];
    int n = bn_job_plan(spec, plan, 40);
    CHECK(n == 7, "2 tasks per document + face");
    CHECK(plan[1].stage == BN_STAGE_OCR && plan[1].dep == 0, "ocr after its quality");
    CHECK(plan[6].stage == BN_STAGE_FACE && plan[6].doc == 1 && plan[6].dep == 2, "face on the portrait document");
    {
        /* a domain certificate first: the face stage skips it for the ID front */
        json_t *sp = json_loads("{\"documents\":[{\"type\":\"domain-certificate\",\"blob\":1},"
                                "{\"type\":\"id-card\",\"blob\":2}],\"selfie\":3}", 0, NULL);
        CHECK(bn_job_spec_validate(sp, 3) == 0);
        bn_plan_task_t pl[10];
        CHECK(bn_job_plan(sp, pl, 10) == 5 && pl[4].stage == BN_STAGE_FACE && pl[4].doc == 1 && pl[4].dep == 2,
              "face on the ID front, not the domain certificate");
        json_decref(sp);
    }

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
