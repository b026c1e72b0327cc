/* Cross-document checks: an ID card's validity span against the front's birth date, through
 * bn_crosscheck and through the job aggregation (the verdict follows the flag). */
#include "bn_test.h"
#include "core/bn_crosscheck.h"
#include "core/bn_job.h"
#include "core/bn_validate.h"

#include <string.h>

static char s_number[19]; /* a valid number for someone born 1990-05-01 */

static json_t *field(const char *value, double conf)
{
    return json_pack("{s:s, s:f}", "value", value, "confidence", conf);
}

/* docs: [front (number, printed birth), back (from, until)] as the OCR stage reports them. */
static json_t *docs(const char *number, const char *birth, const char *from, const char *until, double conf)
{
    json_t *span = json_pack("{s:s, s:s, s:b}", "valid_from", from, "valid_until", until, "ok", 1);
    return json_pack("[{s:i, s:s, s:s, s:{s:o, s:o}, s:{}, s:[]}, {s:i, s:s, s:s, s:{s:o, s:o}, s:{s:o}, s:[]}]",
                     "index", 0, "type", "id-card", "side", "front", "fields", "id_number", field(number, 0.95),
                     "birth_date", field(birth, 0.95), "checks", "flags",
                     "index", 1, "type", "id-card", "side", "back", "fields", "valid_from", field(from, conf),
                     "valid_until", field(until, conf), "checks", "validity_span", span, "flags");
}

/* Run the check; the back's flag severity, "" when none. */
static const char *check(json_t *d, const char *number, const char *birth, const char *from, const char *until,
                         double conf)
{
    static char sev[16];
    json_t *own = d ? NULL : (d = docs(number, birth, from, until, conf));
    json_t *job_flags = json_array();
    int n = bn_crosscheck(d, job_flags, NULL);
    json_t *f = json_array_get(json_object_get(json_array_get(d, 1), "flags"), 0);
    snprintf(sev, sizeof sev, "%s", f ? json_string_value(json_object_get(f, "severity")) : "");
    CHECK(n == (int)json_array_size(job_flags) && n == (f != NULL), "flag counted and copied to the job");
    if (f) {
        CHECK(strcmp(json_string_value(json_object_get(f, "code")), "validity_span_invalid") == 0);
        CHECK(json_integer_value(json_object_get(f, "related_document")) == 0, "names the front");
    }
    json_decref(job_flags);
    json_decref(own);
    return sev;
}

int main(void)
{
    char d17[18] = "11010119900501123";
    snprintf(s_number, sizeof s_number, "%s%c", d17, bn_id_check_char(d17));

    /* Age 20 at issue → 10 years. */
    CHECK(!strcmp(check(NULL, s_number, "1990-05-01", "2010-06-01", "2020-06-01", 0.95), ""), "10 years at 20: lawful");
    CHECK(!strcmp(check(NULL, s_number, "1990-05-01", "2010-06-01", "2030-06-01", 0.95), "reject"),
          "20 years at 20 → reject");
    CHECK(!strcmp(check(NULL, s_number, "1990-05-01", "2010-06-01", "2030-06-01", 0.5), "review"),
          "the same at low OCR confidence → review");
    /* Age 50 → long-term; age 30 with long-term is wrong. */
    CHECK(!strcmp(check(NULL, s_number, "1990-05-01", "2040-06-01", "long-term", 0.95), ""), "long-term at 50");
    CHECK(!strcmp(check(NULL, s_number, "1990-05-01", "2020-06-01", "long-term", 0.95), "reject"), "long-term at 30");
    /* Issued before birth. */
    CHECK(!strcmp(check(NULL, s_number, "1990-05-01", "1985-01-01", "1990-01-01", 0.95), "reject"), "before birth");
    /* The number does not validate: the printed birth date decides (born 1960 → age 50 → long-term). */
    CHECK(!strcmp(check(NULL, "110101199005011230", "1960-05-01", "2010-06-01", "2020-06-01", 0.95), "reject"),
          "printed birth date when the number fails its check");
    /* Nothing to go on: no flag. */
    CHECK(!strcmp(check(NULL, "garbage", "", "2010-06-01", "2030-06-01", 0.95), ""), "no birth date: no judgement");

    /* The back was already judged with the form's birth date: left alone. */
    json_t *d = docs(s_number, "1990-05-01", "2010-06-01", "2030-06-01", 0.95);
    json_object_set_new(json_object_get(json_object_get(json_array_get(d, 1), "checks"), "validity_span"),
                        "age_at_issue", json_integer(20));
    CHECK(!strcmp(check(d, NULL, NULL, NULL, NULL, 0), ""), "an already-judged span is not judged twice");
    json_decref(d);
    /* Two fronts: no pairing is guessed. */
    d = docs(s_number, "1990-05-01", "2010-06-01", "2030-06-01", 0.95);
    json_array_append_new(d, json_pack("{s:i, s:s, s:s, s:{}, s:[]}", "index", 2, "type", "id-card", "side", "front",
                                       "fields", "flags"));
    CHECK(!strcmp(check(d, NULL, NULL, NULL, NULL, 0), ""), "two fronts: skipped");
    json_decref(d);

    /* Through the aggregation: OCR replies for a front and a back → the job's verdict. */
    json_t *spec = json_loads("{\"documents\":[{\"type\":\"id-card\",\"side\":\"front\",\"blob\":1},"
                              "{\"type\":\"id-card\",\"side\":\"back\",\"blob\":2}]}", 0, NULL);
    CHECK(bn_job_spec_validate(spec, 2) == 0);
    bn_plan_task_t plan[8];
    int n = bn_job_plan(spec, plan, 8);
    json_t *two = docs(s_number, "1990-05-01", "2010-06-01", "2030-06-01", 0.95);
    json_t *replies[8] = {0};
    for (int i = 0; i < n; i++) {
        json_t *doc = json_array_get(two, (size_t)plan[i].doc);
        replies[i] = plan[i].stage == BN_STAGE_OCR
                         ? json_pack("{s:b, s:{s:O, s:O, s:[]}}", "ok", 1, "result", "fields", json_object_get(doc, "fields"),
                                     "checks", json_object_get(doc, "checks"), "flags")
                         : json_pack("{s:b, s:{s:[]}}", "ok", 1, "result", "flags");
    }
    json_t *res = bn_job_result("j", "done", spec, plan, n, replies, NULL, NULL);
    CHECK(!strcmp(json_string_value(json_object_get(res, "verdict")), "reject"), "the job is rejected");
    json_t *back = json_array_get(json_object_get(res, "documents"), 1);
    CHECK(!strcmp(json_string_value(json_object_get(back, "verdict")), "reject"), "on the back");
    CHECK(json_integer_value(json_object_get(json_object_get(json_object_get(back, "checks"), "validity_span"),
                                             "expected_years")) == 10, "the expected span is reported");
    json_decref(res);
    res = bn_job_result("j", "done", spec, plan, n, replies, NULL, NULL);
    CHECK(!strcmp(json_string_value(json_object_get(res, "verdict")), "reject"), "the stage replies were not altered");
    json_decref(res);
    res = bn_job_result("j", "cancelled", spec, plan, n, replies, NULL, NULL);
    CHECK(json_array_size(json_object_get(res, "flags")) == 0, "unfinished jobs are not cross-checked");
    json_decref(res);
    for (int i = 0; i < n; i++)
        json_decref(replies[i]);
    json_decref(two);
    json_decref(spec);
    return bn_test_end("crosscheck");
}
