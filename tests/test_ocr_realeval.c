/* test_ocr_realeval — `beian eval real` scoring without images: normalisation, masking, the
 * business-term parser, one ground-truth entry scored against a hand-made result document, and
 * the summary's counts. All values are synthetic. */
#include "bn_test.h"
#include "ocr/bn_real_eval.h"

#include <string.h>

static const char *TODAY = "2026-11-28";

static void test_norm(void)
{
    char b[256];
    CHECK(!strcmp(bn_real_norm("有限责任公司（自然人独资）", 0, b, sizeof b), "有限责任公司(自然人独资)"), "%s", b);
    CHECK(!strcmp(bn_real_norm(" 北京市\u3000朝阳区 1 号\t", 0, b, sizeof b), "北京市朝阳区1号"), "%s", b);
    CHECK(!strcmp(bn_real_norm("ＡＢＣ１２３", 0, b, sizeof b), "ABC123"), "%s", b);
    CHECK(!strcmp(bn_real_norm("2016.03.15－2036.03.15", 0, b, sizeof b), "2016.03.15-2036.03.15"), "%s", b);
    CHECK(!strcmp(bn_real_norm("a—b–c", 0, b, sizeof b), "a-b-c"), "%s", b);
    CHECK(!strcmp(bn_real_norm("11010119900307803x", 1, b, sizeof b), "11010119900307803X"), "%s", b);
    CHECK(!strcmp(bn_real_norm("91350100m000100y43", 1, b, sizeof b), "91350100M000100Y43"), "%s", b);
    CHECK(!strcmp(bn_real_norm("abc", 0, b, sizeof b), "abc"), "no upper-casing unless asked");
    CHECK(!strcmp(bn_real_norm(NULL, 0, b, sizeof b), ""));
    char small[4];
    bn_real_norm("北京", 0, small, sizeof small); /* never a partial character */
    CHECK(!strcmp(small, "北"), "%s", small);
}

static void test_mask(void)
{
    char b[256];
    CHECK(!strcmp(bn_real_mask("张三", b, sizeof b), "字字"), "%s", b);
    CHECK(!strcmp(bn_real_mask("11010119900307803X", b, sizeof b), "99999999999999999A"), "%s", b);
    CHECK(!strcmp(bn_real_mask("有限公司(法人独资)", b, sizeof b), "字字字字(字字字字)"), "%s", b);
    CHECK(!strcmp(bn_real_mask("2016.03.15-长期", b, sizeof b), "9999.99.99-字字"), "%s", b);
    CHECK(!strcmp(bn_real_mask("二〇一五年", b, sizeof b), "字字字字字"), "%s", b);
    CHECK(!strcmp(bn_real_mask("Ｘé", b, sizeof b), "A?"), "%s", b);
    CHECK(!strcmp(bn_real_mask_file("images/a+b__TestData_11010119900307803X.jpg", b, sizeof b),
                  "a+b__TestData_999999999999999999.jpg"), "%s", b);
    CHECK(!strcmp(bn_real_mask_file("x/营业执照.jpg", b, sizeof b), "字字字字.jpg"), "%s", b);
    CHECK(!strcmp(bn_real_mask_file("img_0042.jpg", b, sizeof b), "img_0042.jpg"), "%s", b);
}

static void test_term(void)
{
    bn_date_t u;
    int lt;
    CHECK(bn_real_term_end("2015年01月01日至2035年12月31日", &u, &lt) == 0 && !lt && u.y == 2035 && u.m == 12 && u.d == 31);
    CHECK(bn_real_term_end("2015年1月1日 至 长期", &u, &lt) == 0 && lt);
    CHECK(bn_real_term_end("长期", &u, &lt) == 0 && lt);
    CHECK(bn_real_term_end("2015年01月01日至永久", &u, &lt) == 0 && lt);
    CHECK(bn_real_term_end("自2015年01月01日至2035年1月1日", &u, &lt) == 0 && u.y == 2035 && u.m == 1 && u.d == 1);
    CHECK(bn_real_term_end("2015年01月01日至", &u, &lt) == -1);
    CHECK(bn_real_term_end("二〇〇五年十二月三日至二〇二五年十二月二十日", &u, &lt) == 0 && !lt && u.y == 2025 && u.m == 12 &&
          u.d == 20, "%d-%d-%d", u.y, u.m, u.d);
    CHECK(bn_real_term_end("二〇〇五年十月十日至二〇二五年十月三十日", &u, &lt) == 0 && u.y == 2025 && u.m == 10 && u.d == 30,
          "%d-%d-%d", u.y, u.m, u.d);
    CHECK(bn_real_term_end("2015-01-01至2035-01-01", &u, &lt) == 0 && u.y == 2035);
    CHECK(bn_real_term_end("2015年01月01日至****", &u, &lt) == -1);
    CHECK(bn_real_term_end("", &u, &lt) == -1);
    CHECK(bn_real_term_end(NULL, &u, &lt) == -1);
}

static json_t *s_field(const char *v) { return json_pack("{s:s, s:f}", "value", v, "confidence", 0.9); }

/* one field record of an image record by key */
static json_t *s_rec_field(json_t *rec, const char *key)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(rec, "fields"), i, x)
        if (!strcmp(json_string_value(json_object_get(x, "key")), key))
            return x;
    return NULL;
}

static int s_ok(json_t *rec, const char *key)
{
    json_t *f = s_rec_field(rec, key);
    return f ? json_is_true(json_object_get(f, "ok")) : -1;
}

static json_t *s_expect(json_t *rec, const char *rule)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(rec, "expect"), i, x)
        if (!strcmp(json_string_value(json_object_get(x, "rule")), rule))
            return x;
    return NULL;
}

static json_t *s_result(const char *verdict, json_t *fields, json_t *flags)
{
    return json_pack("{s:s, s:s, s:[{s:i, s:s, s:o, s:o}]}", "status", "done", "verdict", verdict, "documents", "index", 0,
                     "verdict", verdict, "fields", fields, "flags", flags);
}

static void test_score(void)
{
    /* ID front: one field wrong, one absent, one unreadable, one unmapped key; a bad check digit */
    json_t *gt1 = json_loads("{\"file\": \"images/a.jpg\", \"type\": \"id-card\", \"side\": \"front\","
                             " \"fields\": {\"name\": \"张三\", \"sex\": \"男\", \"ethnicity\": \"汉\","
                             "  \"birth_date\": \"1990-03-07\", \"address\": \"北京市 朝阳区\", \"id_number\": \"11010119900307803x\","
                             "  \"nickname\": \"x\"},"
                             " \"checks\": {\"id_check_digit_valid\": false, \"id_birth_matches_printed\": true},"
                             " \"acceptable\": true, \"reasons\": []}", 0, NULL);
    json_t *f1 = json_pack("{s:o, s:o, s:o, s:o, s:o}", "name", s_field("张三"), "sex", s_field("女"), "birth_date",
                           s_field("1990-03-07"), "address", s_field("北京市朝阳区"), "id_number", s_field("11010119900307803X"));
    json_t *fl1 = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "code", "glare", "stage", "quality", "severity", "reshoot",
                            "code", "number_checksum_invalid", "stage", "ocr", "severity", "reject");
    json_t *r1 = s_result("reject", f1, fl1);
    json_t *rec1 = bn_real_eval_image(gt1, r1, NULL, TODAY, "t#0 a.jpg", 0.5);
    CHECK(s_ok(rec1, "name") == 1 && s_ok(rec1, "address") == 1 && s_ok(rec1, "id_number") == 1 && s_ok(rec1, "birth_date") == 1);
    CHECK(s_ok(rec1, "sex") == 0 && s_ok(rec1, "ethnicity") == 0);
    CHECK(json_is_true(json_object_get(s_rec_field(rec1, "ethnicity"), "absent")));
    CHECK(json_array_size(json_object_get(rec1, "fields")) == 6);
    CHECK(json_array_size(json_object_get(rec1, "unmapped")) == 1);
    CHECK(json_array_size(json_object_get(rec1, "sent_back")) == 1 && json_is_true(json_object_get(rec1, "caught")));
    json_t *e = s_expect(rec1, "id_check_digit");
    CHECK(e && json_is_true(json_object_get(e, "expected")) && json_is_true(json_object_get(e, "raised")));
    e = s_expect(rec1, "id_birth_matches_printed");
    CHECK(e && json_is_false(json_object_get(e, "expected")) && json_is_false(json_object_get(e, "raised")));
    /* nothing unmasked in the record */
    char *dump = json_dumps(rec1, 0);
    CHECK(!strstr(dump, "张三") && !strstr(dump, "110101") && !strstr(dump, "朝阳"), "%s", dump);
    free(dump);

    /* ID back: validity split into valid_from + valid_until, long-term; expired by the end date */
    json_t *gt2 = json_loads("{\"file\": \"b.jpg\", \"type\": \"id-card\", \"side\": \"back\","
                             " \"fields\": {\"authority\": \"北京市公安局\", \"validity\": \"2016.03.15-长期\"},"
                             " \"checks\": {}, \"acceptable\": false, \"reasons\": [\"blurry\", \"glare\"]}", 0, NULL);
    json_t *r2 = s_result("pass", json_pack("{s:o, s:o, s:o}", "issuing_authority", s_field("北京市公安局"), "valid_from",
                                            s_field("2016-03-15"), "valid_until", s_field("long-term")), json_array());
    json_t *rec2 = bn_real_eval_image(gt2, r2, NULL, TODAY, "t#1 b.jpg", 0.25);
    CHECK(s_ok(rec2, "authority") == 1 && s_ok(rec2, "validity") == 1);
    e = s_expect(rec2, "id_validity_ended");
    CHECK(e && json_is_false(json_object_get(e, "expected")));
    CHECK(!json_is_true(json_object_get(rec2, "caught")));
    json_t *gt2b = json_loads("{\"file\": \"c.jpg\", \"type\": \"id-card\", \"side\": \"back\","
                              " \"fields\": {\"validity\": \"2006.03.15-2016.03.15\"}, \"acceptable\": true}", 0, NULL);
    json_t *r2b = s_result("reject", json_pack("{s:o, s:o}", "valid_from", s_field("2006-03-15"), "valid_until",
                                               s_field("2016-03-16")),
                           json_pack("[{s:s, s:s, s:s}]", "code", "expired", "stage", "ocr", "severity", "reject"));
    json_t *rec2b = bn_real_eval_image(gt2b, r2b, NULL, TODAY, "t#2 c.jpg", 0.25);
    CHECK(s_ok(rec2b, "validity") == 0, "one date wrong: the validity is a miss");
    e = s_expect(rec2b, "id_validity_ended");
    CHECK(e && json_is_true(json_object_get(e, "expected")) && json_is_true(json_object_get(e, "raised")));
    CHECK(json_array_size(json_object_get(rec2b, "sent_back")) == 0, "an ocr flag does not send a capture back");

    /* licence: no side; not_printed with a value output; business term vs valid_until; check false */
    json_t *gt3 = json_loads("{\"file\": \"d.jpg\", \"type\": \"business-license\","
                             " \"fields\": {\"credit_code\": \"91350100m000100y43\", \"type\": \"有限责任公司（自然人独资）\","
                             "  \"date_of_establishment\": \"2015-01-01\", \"business_term\": \"2015年01月01日至2025年12月31日\","
                             "  \"registered_capital\": \"not_printed\", \"issue_date\": \"unreadable\", \"operator\": \"not_printed\"},"
                             " \"credit_code_check\": {\"standard\": \"GB 32100\", \"validates\": false},"
                             " \"acceptable\": false, \"reasons\": [\"photocopy\"]}", 0, NULL);
    json_t *r3 = s_result("reject", json_pack("{s:o, s:o, s:o, s:o, s:o}", "credit_code", s_field("91350100M000100Y43"), "type",
                                              s_field("有限责任公司(自然人独资)"), "established_date", s_field("2015-01-01"),
                                              "valid_until", s_field("2025-12-31"), "registered_capital", s_field("壹佰万元")),
                          json_pack("[{s:s, s:s, s:s}]", "code", "photocopy", "stage", "quality", "severity", "reject"));
    json_t *rec3 = bn_real_eval_image(gt3, r3, NULL, TODAY, "t#3 d.jpg", 0.25);
    CHECK(s_ok(rec3, "credit_code") == 1 && s_ok(rec3, "type") == 1 && s_ok(rec3, "date_of_establishment") == 1 &&
          s_ok(rec3, "business_term") == 1);
    CHECK(json_integer_value(json_object_get(rec3, "not_printed")) == 2 &&
          json_integer_value(json_object_get(rec3, "not_printed_output")) == 1);
    CHECK(json_integer_value(json_object_get(rec3, "unreadable")) == 1);
    e = s_expect(rec3, "credit_code_check");
    CHECK(e && json_is_true(json_object_get(e, "expected")) && json_is_false(json_object_get(e, "raised")));
    e = s_expect(rec3, "business_term_ended");
    CHECK(e && json_is_true(json_object_get(e, "expected")) && json_is_false(json_object_get(e, "raised")));
    /* a business_term field of ours, when present, is compared as a normalised string */
    json_object_set_new(json_object_get(json_array_get(json_object_get(r3, "documents"), 0), "fields"), "business_term",
                        s_field("2015年01月01日 至 2025年12月31日"));
    json_t *rec3b = bn_real_eval_image(gt3, r3, NULL, TODAY, "t#3 d.jpg", 0.25);
    CHECK(s_ok(rec3b, "business_term") == 1);
    json_decref(rec3b);
    /* a redacted ground-truth value is not scored */
    json_t *gt3c = json_deep_copy(gt3);
    json_object_set_new(json_object_get(gt3c, "fields"), "business_term", json_string("2015年01月01日至****"));
    rec3b = bn_real_eval_image(gt3c, r3, NULL, TODAY, "t#3 d.jpg", 0.25);
    CHECK(s_ok(rec3b, "business_term") == -1 && json_integer_value(json_object_get(rec3b, "unparsed")) == 1);
    json_decref(rec3b);
    json_decref(gt3c);

    /* an image that could not be run: an error, nothing scored */
    json_t *rec4 = bn_real_eval_image(gt1, NULL, "cannot read the image", TODAY, "t#4 e.jpg", 0);
    CHECK(json_object_get(rec4, "error") && json_array_size(json_object_get(rec4, "fields")) == 0 &&
          json_array_size(json_object_get(rec4, "expect")) == 0);

    /* summary */
    json_t *recs = json_pack("[o, o, o, o, o]", rec1, rec2, rec2b, rec3, rec4);
    json_t *s = bn_real_eval_summary(recs, TODAY, 2.0);
    CHECK(json_integer_value(json_object_get(s, "images")) == 5 && json_integer_value(json_object_get(s, "errors")) == 1);
    json_t *f = json_object_get(s, "fields");
    json_t *all = json_object_get(f, "all");
    CHECK(json_integer_value(json_object_get(all, "n")) == 6 + 2 + 1 + 4, "%d", (int)json_integer_value(json_object_get(all, "n")));
    CHECK(json_integer_value(json_object_get(all, "exact")) == 4 + 2 + 0 + 4);
    json_t *ids = json_object_get(json_object_get(f, "kinds"), "id-card");
    CHECK(json_integer_value(json_object_get(ids, "n")) == 9 && json_integer_value(json_object_get(ids, "exact")) == 6);
    int n = 0;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(f, "keys"), i, x)
        n += (int)json_integer_value(json_object_get(x, "n"));
    CHECK(n == 13, "per-key counts add up to all fields");
    CHECK(!strcmp(json_string_value(json_object_get(json_array_get(json_object_get(f, "keys"), 0), "key")), "name"),
          "keys in mapping order");
    CHECK(json_integer_value(json_object_get(f, "unreadable")) == 1);
    CHECK(json_integer_value(json_object_get(json_object_get(f, "not_printed"), "output")) == 1);
    CHECK(json_integer_value(json_object_get(json_object_get(f, "unmapped"), "id-card.nickname")) == 1);
    json_t *q = json_object_get(s, "quality");
    CHECK(json_integer_value(json_object_get(q, "acceptable")) == 2 && json_integer_value(json_object_get(q, "sent_back")) == 1);
    CHECK(json_integer_value(json_object_get(json_object_get(q, "sent_back_by"), "glare")) == 1);
    CHECK(json_integer_value(json_object_get(q, "unacceptable")) == 2 && json_integer_value(json_object_get(q, "caught")) == 1);
    json_t *cr = json_object_get(q, "caught_by_reason");
    CHECK(json_integer_value(json_object_get(json_object_get(cr, "photocopy"), "caught")) == 1);
    CHECK(json_integer_value(json_object_get(json_object_get(cr, "blurry"), "n")) == 1 &&
          json_integer_value(json_object_get(json_object_get(cr, "blurry"), "caught")) == 0);
    json_t *v = json_object_get(s, "verdicts");
    CHECK(json_integer_value(json_object_get(json_object_get(v, "acceptable"), "reject")) == 2);
    CHECK(json_integer_value(json_object_get(json_object_get(v, "unacceptable"), "pass")) == 1);
    CHECK(json_integer_value(json_object_get(json_object_get(v, "unacceptable"), "reject")) == 1);
    json_array_foreach(json_object_get(s, "validation"), i, x) {
        const char *rule = json_string_value(json_object_get(x, "rule"));
        int ex = (int)json_integer_value(json_object_get(x, "expected")), ra = (int)json_integer_value(json_object_get(x, "raised"));
        if (!strcmp(rule, "id_check_digit")) CHECK(ex == 1 && ra == 1);
        if (!strcmp(rule, "id_validity_ended")) CHECK(ex == 1 && ra == 1 && json_integer_value(json_object_get(x, "negatives")) == 1);
        if (!strcmp(rule, "credit_code_check")) CHECK(ex == 1 && ra == 0);
        if (!strcmp(rule, "business_term_ended")) CHECK(ex == 1 && ra == 0);
    }
    json_t *t = json_object_get(s, "time");
    CHECK(json_real_value(json_object_get(t, "cpu_per_image_s")) > 0.3124 &&
          json_real_value(json_object_get(t, "cpu_per_image_s")) < 0.3126, "mean over the 4 scored images");
    json_decref(s);
    json_decref(recs);
    json_decref(gt1);
    json_decref(gt2);
    json_decref(gt2b);
    json_decref(gt3);
    json_decref(r1);
    json_decref(r2);
    json_decref(r2b);
    json_decref(r3);
}

int main(void)
{
    test_norm();
    test_mask();
    test_term();
    test_score();
    return bn_test_end("test_ocr_realeval");
}
