/* test_ocr_checks — bn_checks_run end to end on synthetic field sets: every flag it can raise,
 * its severity rules, and the form cross-checks. All people and numbers are synthetic (or the
 * standards' own examples). */
#include "bn_test.h"
#include "core/bn_config.h"
#include "core/bn_flags.h"
#include "ocr/bn_checks.h"
#include "ocr/bn_ocr.h"
#include "core/bn_validate.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char *TODAY = "2026-11-28";

/* fields("key", "value", conf, ..., NULL) → {"key": {"value", "confidence", "box"}} */
static json_t *fields(const char *key, ...)
{
    json_t *o = json_object();
    va_list ap;
    va_start(ap, key);
    for (const char *k = key; k; k = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        double conf = va_arg(ap, double);
        json_object_set_new(o, k, json_pack("{s:s, s:f, s:[i,i,i,i]}", "value", v, "confidence", conf, "box", 0, 0, 10, 10));
    }
    va_end(ap);
    return o;
}

typedef struct {
    json_t *checks, *flags;
} result_t;

static result_t run(const char *type, const char *side, json_t *f, json_t *form)
{
    result_t r = {json_object(), json_array()};
    int rc = bn_checks_run(type, side, f, form, TODAY, r.checks, r.flags);
    CHECK(rc == 0);
    json_decref(f);
    json_decref(form);
    return r;
}

static void result_free(result_t *r)
{
    json_decref(r->checks);
    json_decref(r->flags);
}

static json_t *find(const result_t *r, const char *code)
{
    size_t i;
    json_t *f;
    json_array_foreach(r->flags, i, f)
        if (strcmp(json_string_value(json_object_get(f, "code")), code) == 0)
            return f;
    return NULL;
}

static const char *sev(const result_t *r, const char *code)
{
    json_t *f = find(r, code);
    return f ? json_string_value(json_object_get(f, "severity")) : "none";
}

static void dump(const char *what, const result_t *r)
{
    char *a = json_dumps(r->checks, JSON_COMPACT), *b = json_dumps(r->flags, JSON_COMPACT);
    fprintf(stderr, "%s\n  checks %s\n  flags %s\n", what, a, b);
    free(a);
    free(b);
}

static int no_flags(const char *what, const result_t *r)
{
    if (json_array_size(r->flags) == 0)
        return 1;
    dump(what, r);
    return 0;
}

/* A valid synthetic ID number for a region, birth date and sequence. */
static void make_id(char out[19], const char *region, const char *yyyymmdd, const char *seq)
{
    snprintf(out, 19, "%s%s%s", region, yyyymmdd, seq);
    out[17] = bn_id_check_char(out);
    out[18] = '\0';
}

static json_t *id_front(const char *num, const char *sex, const char *birth)
{
    return fields("name", "张三", 0.97, "sex", sex, 0.99, "ethnicity", "汉", 0.99, "birth_date", birth, 0.98,
                  "address", "北京市东城区某某路1号", 0.93, "id_number", num, 0.99, NULL);
}

static void test_id_front(void)
{
    result_t r = run("id-card", "front", id_front("11010519491231002X", "女", "1949-12-31"),
                     json_pack("{s:s, s:s, s:s}", "name", "張 三", "id_number", "110105 19491231 002x", "address",
                               "北京市东城区，某某路１号"));
    CHECK(no_flags("clean id front", &r));
    json_t *id = json_object_get(r.checks, "id_number");
    CHECK(json_is_true(json_object_get(id, "valid")) && json_is_true(json_object_get(id, "region_known")));
    CHECK(json_is_true(json_object_get(id, "birth_matches")) && json_is_true(json_object_get(id, "sex_matches")));
    CHECK(json_integer_value(json_object_get(json_object_get(r.checks, "age"), "years")) == 76);
    CHECK(json_is_true(json_object_get(json_object_get(json_object_get(r.checks, "form"), "name"), "match")));
    result_free(&r);

    /* check character wrong: reject; with a low OCR confidence a reshoot (most likely misread:
     * a clearer photo of the number, the field named) */
    r = run("id-card", "front", id_front("110105194912310021", "女", "1949-12-31"), NULL);
    CHECK(strcmp(sev(&r, "number_checksum_invalid"), "reject") == 0);
    CHECK(strcmp(json_string_value(json_object_get(find(&r, "number_checksum_invalid"), "field")), "id_number") == 0);
    result_free(&r);
    json_t *f = id_front("110105194912310021", "女", "1949-12-31");
    json_object_set_new(json_object_get(f, "id_number"), "confidence", json_real(0.6));
    r = run("id-card", "front", f, NULL);
    CHECK(strcmp(sev(&r, "number_checksum_invalid"), "reshoot") == 0);
    result_free(&r);
    /* the vendor-doc and crate-doc numbers that regex-only validators accept */
    r = run("id-card", "front", id_front("511324199612163557", "男", "1996-12-16"), NULL);
    CHECK(find(&r, "number_checksum_invalid") != NULL);
    result_free(&r);

    /* birth date and sex mismatches */
    r = run("id-card", "front", id_front("11010519491231002X", "男", "1949-12-30"), NULL);
    CHECK(strcmp(sev(&r, "number_birth_mismatch"), "reject") == 0);
    CHECK(strcmp(sev(&r, "number_sex_mismatch"), "reject") == 0);
    CHECK(!find(&r, "number_checksum_invalid"));
    result_free(&r);

    /* abolished county (潮阳县 1983-1992) in a known province: valid number, info (real cards
     * carry abolished codes for life; 53 % of the codes since 1980 are not in the current list) */
    r = run("id-card", "front", id_front("440524188001010014", "男", "1880-01-01"), NULL);
    CHECK(strcmp(sev(&r, "region_code_unknown"), "info") == 0 && !find(&r, "number_checksum_invalid"));
    CHECK(json_array_size(r.flags) == 1);
    result_free(&r);
    /* a province that does not exist (99): review */
    r = run("id-card", "front", id_front("990524188001010011", "男", "1880-01-01"), NULL);
    CHECK(strcmp(sev(&r, "region_code_unknown"), "review") == 0 && !find(&r, "number_checksum_invalid"),
          "unknown province: %s", sev(&r, "region_code_unknown"));
    result_free(&r);

    /* 15-digit legacy number converts */
    r = run("id-card", "front", id_front("110105491231002", "女", "1949-12-31"), NULL);
    CHECK(no_flags("legacy 15", &r) && json_is_true(json_object_get(json_object_get(r.checks, "id_number"), "legacy_15")));
    result_free(&r);

    /* under 18 on "today" */
    char num[19];
    make_id(num, "110101", "20081129", "001");
    r = run("id-card", "front", id_front(num, "男", "2008-11-29"), NULL);
    CHECK(strcmp(sev(&r, "under_18"), "reject") == 0 && json_array_size(r.flags) == 1);
    result_free(&r);
    make_id(num, "110101", "20081128", "001");
    r = run("id-card", "front", id_front(num, "男", "2008-11-28"), NULL);
    CHECK(no_flags("18 today", &r));
    result_free(&r);

    /* temporary ID */
    f = id_front("11010519491231002X", "女", "1949-12-31");
    json_object_set_new(f, "title", json_pack("{s:s, s:f}", "value", "中华人民共和国临时居民身份证", "confidence", 0.9));
    r = run("id-card", "front", f, NULL);
    CHECK(strcmp(sev(&r, "temporary_id"), "reject") == 0);
    result_free(&r);
    f = id_front("11010519491231002X", "女", "1949-12-31");
    json_object_set_new(f, "address", json_pack("{s:s, s:f}", "value", "某某县临时安置区1号", "confidence", 0.9));
    r = run("id-card", "front", f, NULL);
    CHECK(!find(&r, "temporary_id"));
    result_free(&r);

    /* unreadable: missing address, name at low confidence */
    f = id_front("11010519491231002X", "女", "1949-12-31");
    json_object_del(f, "address");
    json_object_set_new(json_object_get(f, "name"), "confidence", json_real(0.3));
    r = run("id-card", "front", f, NULL);
    json_t *fu = find(&r, "field_unreadable");
    CHECK(fu && strcmp(json_string_value(json_object_get(fu, "severity")), "reshoot") == 0);
    CHECK(json_array_size(json_object_get(fu, "fields")) == 2);
    result_free(&r);

    /* read right at low confidence: a number whose check digit validates and the birth date it
     * confirms are not unreadable (real cards: valid_from read exactly at 0.2 was a reshoot) */
    f = id_front("11010519491231002X", "女", "1949-12-31");
    json_object_set_new(json_object_get(f, "id_number"), "confidence", json_real(0.2));
    json_object_set_new(json_object_get(f, "birth_date"), "confidence", json_real(0.1));
    r = run("id-card", "front", f, NULL);
    CHECK(!find(&r, "field_unreadable"), "validated fields are read");
    result_free(&r);
    f = id_front("11010519491231002X", "女", "1949-12-30"); /* the number says the 31st */
    json_object_set_new(json_object_get(f, "birth_date"), "confidence", json_real(0.1));
    r = run("id-card", "front", f, NULL);
    CHECK(find(&r, "field_unreadable"), "an unconfirmed low-confidence date stays unreadable");
    result_free(&r);

    /* form mismatches: reject when the OCR is confident, review when not */
    r = run("id-card", "front", id_front("11010519491231002X", "女", "1949-12-31"),
            json_pack("{s:s, s:s, s:s}", "name", "李四", "id_number", "11010219781027232X", "address", "上海市黄浦区某某路1号"));
    CHECK(strcmp(sev(&r, "form_mismatch_name"), "reject") == 0);
    CHECK(strcmp(sev(&r, "form_mismatch_number"), "reject") == 0);
    CHECK(strcmp(sev(&r, "form_mismatch_address"), "reject") == 0);
    result_free(&r);
    f = id_front("11010519491231002X", "女", "1949-12-31");
    json_object_set_new(json_object_get(f, "name"), "confidence", json_real(0.7));
    r = run("id-card", "front", f, json_pack("{s:s}", "name", "张山"));
    CHECK(strcmp(sev(&r, "form_mismatch_name"), "review") == 0);
    result_free(&r);
    /* an address one character apart (玄武 read as 文武) is never passed silently: review */
    f = id_front("11010519491231002X", "女", "1949-12-31");
    json_object_set_new(f, "address", json_pack("{s:s, s:f}", "value", "南京市文武区中山路一百二十三号某某小区", "confidence", 0.95));
    r = run("id-card", "front", f, json_pack("{s:s}", "address", "南京市玄武区中山路一百二十三号某某小区"));
    CHECK(strcmp(sev(&r, "form_mismatch_address"), "review") == 0);
    result_free(&r);

    /* residence permit: HMT numbers belong there, not on an ID card */
    r = run("residence-permit", "front", id_front("810000199001010019", "男", "1990-01-01"), NULL);
    CHECK(no_flags("residence permit", &r));
    result_free(&r);
    r = run("id-card", "front", id_front("810000199001010019", "男", "1990-01-01"), NULL);
    CHECK(find(&r, "wrong_document_type") != NULL);
    result_free(&r);
    r = run("residence-permit", "front", id_front("11010519491231002X", "女", "1949-12-31"), NULL);
    CHECK(find(&r, "wrong_document_type") != NULL);
    result_free(&r);
}

static json_t *id_back(const char *from, const char *until)
{
    return fields("issuing_authority", "北京市公安局东城分局", 0.95, "valid_from", from, 0.97, "valid_until", until,
                  0.97, NULL);
}

static void test_id_back(void)
{
    /* born 1978-10-27: 37 at issue → 20 years */
    json_t *form = json_pack("{s:s}", "id_number", "11010219781027232X");
    result_t r = run("id-card", "back", id_back("2016-03-15", "2036-03-15"), json_incref(form));
    CHECK(no_flags("id back 20y", &r));
    json_t *span = json_object_get(r.checks, "validity_span");
    CHECK(json_is_true(json_object_get(span, "ok")) && json_integer_value(json_object_get(span, "expected_years")) == 20);
    CHECK(json_integer_value(json_object_get(span, "age_at_issue")) == 37);
    CHECK(json_integer_value(json_object_get(json_object_get(r.checks, "expiry"), "days_left")) == 3395);
    result_free(&r);
    r = run("id-card", "back", id_back("2016.03.15", "2026.03.15"), json_incref(form));
    CHECK(strcmp(sev(&r, "validity_span_invalid"), "reject") == 0 && strcmp(sev(&r, "expired"), "reject") == 0);
    result_free(&r);
    r = run("id-card", "back", id_back("2016-03-15", "长期"), json_incref(form));
    CHECK(find(&r, "validity_span_invalid") != NULL && !find(&r, "expired"));
    result_free(&r);
    /* span off by a day */
    r = run("id-card", "back", id_back("2016-03-15", "2036-03-16"), json_incref(form));
    CHECK(find(&r, "validity_span_invalid") != NULL);
    result_free(&r);
    /* expires in 48 days */
    r = run("id-card", "back", id_back("2007-01-15", "2027-01-15"), json_incref(form));
    json_t *e = find(&r, "expires_within_90_days");
    CHECK(e && json_real_value(json_object_get(e, "metric")) == 48 && json_real_value(json_object_get(e, "threshold")) == 90);
    CHECK(!find(&r, "validity_span_invalid") && !find(&r, "expired"));
    result_free(&r);
    /* 46+ at issue: long-term is right */
    r = run("id-card", "back", id_back("2010-01-01", "long-term"),
            json_pack("{s:s}", "id_number", "11010519491231002X"));
    CHECK(no_flags("long-term 60y", &r));
    result_free(&r);
    /* no form: any lawful span passes, an unlawful one does not */
    r = run("id-card", "back", id_back("2020-05-01", "2030-05-01"), NULL);
    CHECK(no_flags("id back 10y no form", &r));
    result_free(&r);
    r = run("id-card", "back", id_back("2020-05-01", "2032-05-01"), NULL);
    CHECK(find(&r, "validity_span_invalid") != NULL);
    result_free(&r);
    /* issued in the future */
    r = run("id-card", "back", id_back("2027-05-01", "2037-05-01"), NULL);
    CHECK(find(&r, "validity_span_invalid") != NULL);
    result_free(&r);
    /* the period read as one string, as the card prints it; the caller's fields stay as read */
    json_t *one = fields("issuing_authority", "北京市公安局东城分局", 0.95, "valid_until", "2016.03.15-2036.03.15", 0.96, NULL);
    json_t *checks = json_object(), *flags = json_array();
    CHECK(bn_checks_run("id-card", "back", one, form, TODAY, checks, flags) == 0);
    r = (result_t){checks, flags};
    CHECK(no_flags("id back one-string period", &r));
    CHECK(json_is_true(json_object_get(json_object_get(checks, "validity_span"), "ok")));
    CHECK(json_object_size(one) == 2 && strcmp(json_string_value(json_object_get(json_object_get(one, "valid_until"), "value")),
                                               "2016.03.15-2036.03.15") == 0);
    result_free(&r);
    json_decref(one);
    /* residence permit: 5 years whatever the age */
    r = run("residence-permit", "back", id_back("2024-05-01", "2029-05-01"), NULL);
    CHECK(no_flags("residence permit 5y", &r));
    result_free(&r);
    r = run("residence-permit", "back", id_back("2024-05-01", "2034-05-01"), NULL);
    CHECK(find(&r, "validity_span_invalid") != NULL);
    result_free(&r);
    /* unparseable date */
    r = run("id-card", "back", id_back("2016-03-15", "20X6-03-15"), NULL);
    CHECK(find(&r, "field_unreadable") != NULL);
    result_free(&r);
    json_decref(form);
}

/* TD3 lines with correct check digits for the given parts. */
static void make_td3(char l1[45], char l2[45], const char *name, const char *doc, const char *nat, const char *dob,
                     char sex, const char *exp)
{
    snprintf(l1, 45, "P<%s%-39s", nat, name);
    for (int i = 0; i < 44; i++)
        if (l1[i] == ' ')
            l1[i] = '<';
    char d[10];
    snprintf(d, sizeof d, "%-9s", doc);
    for (int i = 0; i < 9; i++)
        if (d[i] == ' ')
            d[i] = '<';
    snprintf(l2, 45, "%s%d%s%s%d%c%s%d%s<%d", d, bn_icao_check_digit(d, 9), nat, dob, bn_icao_check_digit(dob, 6),
             sex, exp, bn_icao_check_digit(exp, 6), "<<<<<<<<<<<<<<", 0);
    l2[42] = '0';
    char comp[64];
    snprintf(comp, sizeof comp, "%.10s%.7s%.22s", l2, l2 + 13, l2 + 21);
    l2[43] = (char)('0' + bn_icao_check_digit(comp, strlen(comp)));
    l2[44] = '\0';
}

static json_t *passport(const char *l1, const char *l2, const char *birth, const char *exp)
{
    json_t *f = fields("document_code", "P", 0.99, "issuing_country", "UTO", 0.99, "surname", "ERIKSSON", 0.96,
                       "given_names", "ANNA MARIA", 0.96, "document_number", "L898902C3", 0.98, "nationality", "UTO",
                       0.99, "birth_date", birth, 0.98, "sex", "F", 0.99, "expiry_date", exp, 0.98, NULL);
    json_object_set_new(f, "mrz", json_pack("{s:[s,s], s:f}", "value", l1, l2, "confidence", 0.95));
    return f;
}

static void test_passport(void)
{
    char l1[45], l2[45];
    make_td3(l1, l2, "ERIKSSON<<ANNA<MARIA", "L898902C3", "UTO", "740812", 'F', "320415");
    result_t r = run("passport", "front", passport(l1, l2, "1974-08-12", "2032-04-15"),
                     json_pack("{s:s, s:s}", "name", "Anna Maria Eriksson", "id_number", "L898902C3"));
    CHECK(no_flags("clean passport", &r));
    json_t *m = json_object_get(r.checks, "mrz");
    CHECK(json_is_true(json_object_get(m, "checks_valid")) && json_array_size(json_object_get(m, "viz_mismatch")) == 0);
    CHECK(strcmp(json_string_value(json_object_get(m, "expiry_date")), "2032-04-15") == 0);
    result_free(&r);

    /* the ICAO specimen itself expired in 2012 */
    r = run("passport", "front",
            passport("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
                     "1974-08-12", "2012-04-15"),
            NULL);
    CHECK(strcmp(sev(&r, "expired"), "reject") == 0 && !find(&r, "mrz_checksum_invalid"));
    result_free(&r);

    /* a wrong composite: review */
    char bad[45];
    memcpy(bad, l2, 45);
    bad[43] = bad[43] == '9' ? '0' : (char)(bad[43] + 1);
    r = run("passport", "front", passport(l1, bad, "1974-08-12", "2032-04-15"), NULL);
    CHECK(strcmp(sev(&r, "mrz_checksum_invalid"), "review") == 0);
    result_free(&r);

    /* VIZ and MRZ disagree on the birth date: a person looks */
    r = run("passport", "front", passport(l1, l2, "1974-08-13", "2032-04-15"), NULL);
    json_t *fu = find(&r, "field_unreadable");
    CHECK(fu && strcmp(json_string_value(json_object_get(fu, "severity")), "review") == 0);
    CHECK(json_array_size(json_object_get(json_object_get(r.checks, "mrz"), "viz_mismatch")) == 1);
    result_free(&r);

    /* nationality misread with every check digit valid (MLD): review */
    char l1b[45], l2b[45];
    make_td3(l1b, l2b, "ERIKSSON<<ANNA<MARIA", "L898902C3", "MLD", "740812", 'F', "320415");
    json_t *f = passport(l1b, l2b, "1974-08-12", "2032-04-15");
    json_object_del(f, "nationality");
    json_object_del(f, "issuing_country");
    r = run("passport", "front", f, NULL);
    CHECK(find(&r, "field_unreadable") && !find(&r, "mrz_checksum_invalid"));
    result_free(&r);

    /* expiring in 60 days; form number differs */
    make_td3(l1, l2, "ERIKSSON<<ANNA<MARIA", "L898902C3", "UTO", "740812", 'F', "270127");
    r = run("passport", "front", passport(l1, l2, "1974-08-12", "2027-01-27"),
            json_pack("{s:s, s:s}", "name", "ERIKSSON ANNA MARIA", "id_number", "L898902C4"));
    CHECK(strcmp(sev(&r, "expires_within_90_days"), "reject") == 0);
    CHECK(strcmp(sev(&r, "form_mismatch_number"), "reject") == 0 && !find(&r, "form_mismatch_name"));
    result_free(&r);

    /* form name that is someone else */
    make_td3(l1, l2, "ERIKSSON<<ANNA<MARIA", "L898902C3", "UTO", "740812", 'F', "320415");
    r = run("passport", "front", passport(l1, l2, "1974-08-12", "2032-04-15"), json_pack("{s:s}", "name", "ANNA SVENSSON"));
    CHECK(strcmp(sev(&r, "form_mismatch_name"), "reject") == 0);
    result_free(&r);

    /* minor holder: born 2010 */
    make_td3(l1, l2, "ERIKSSON<<ANNA", "L898902C3", "UTO", "100101", 'F', "320415");
    r = run("passport", "front", passport(l1, l2, "2010-01-01", "2032-04-15"), NULL);
    CHECK(find(&r, "under_18") != NULL);
    result_free(&r);

    /* nothing but the MRZ read: required fields missing, expiry taken from the MRZ */
    make_td3(l1, l2, "ERIKSSON<<ANNA", "L898902C3", "UTO", "740812", 'F', "261215");
    f = json_object();
    char text[100];
    snprintf(text, sizeof text, "%s\n%s", l1, l2);
    json_object_set_new(f, "mrz", json_pack("{s:s}", "value", text));
    r = run("passport", "front", f, NULL);
    CHECK(find(&r, "field_unreadable") && find(&r, "expires_within_90_days"));
    result_free(&r);
}

static void test_permits(void)
{
    /* 3-line CR MRZ with computed composite */
    const char *r1 = "CRH1234567830132906070M9001011";
    char r2[31] = "<<<<<<<<<<<<<<<<<<<A1234563<<<", comp[64], text[128];
    snprintf(comp, sizeof comp, "%.20s%.7s%.10s", r1 + 2, r1 + 23, r2 + 19);
    r2[29] = (char)('0' + bn_icao_check_digit(comp, strlen(comp)));
    snprintf(text, sizeof text, "%s\n%s\n%s", r1, r2, "CHAN<<TAI<MAN<<<<<<<<<<<<<<<<<");

    json_t *f = fields("name", "陈大文", 0.95, "name_latin", "CHAN TAI MAN", 0.95, "sex", "男", 0.99, "birth_date",
                       "1990-01-01", 0.98, "document_number", "H12345678", 0.98, "valid_from", "2019-06-08", 0.97,
                       "valid_until", "2029-06-07", 0.97, "mrz", text, 0.9, NULL);
    result_t r = run("hk-macao-permit", "front", f, json_pack("{s:s, s:s}", "name", "陳大文", "id_number", "H12345678"));
    CHECK(no_flags("clean hk permit", &r));
    CHECK(json_is_true(json_object_get(json_object_get(r.checks, "document_number"), "valid_format")));
    result_free(&r);

    f = fields("name", "陈大文", 0.95, "birth_date", "1990-01-01", 0.98, "document_number", "H1234567", 0.98,
               "valid_until", "2029-06-07", 0.97, NULL);
    r = run("hk-macao-permit", "front", f, NULL);
    CHECK(strcmp(sev(&r, "number_checksum_invalid"), "reject") == 0);
    result_free(&r);

    f = fields("name", "林美华", 0.95, "birth_date", "1976-01-01", 0.98, "document_number", "12345678", 0.98,
               "valid_until", "2027-01-01", 0.97, NULL);
    r = run("taiwan-permit", "front", f, json_pack("{s:s}", "name", "林美華"));
    CHECK(strcmp(sev(&r, "expires_within_90_days"), "reject") == 0 && json_array_size(r.flags) == 1);
    result_free(&r);
    f = fields("name", "林美华", 0.95, "birth_date", "1976-01-01", 0.98, "document_number", "T1234567", 0.98,
               "valid_until", "2030-01-01", 0.97, NULL);
    r = run("taiwan-permit", "front", f, NULL);
    CHECK(find(&r, "number_checksum_invalid") != NULL);
    result_free(&r);
}

static json_t *licence(const char *code, const char *until)
{
    return fields("credit_code", code, 0.97, "name", "某某（北京）科技有限公司", 0.95, "type", "有限责任公司（自然人投资或控股）",
                  0.95, "legal_representative", "张三", 0.96, "registered_capital", "100万元", 0.9, "established_date",
                  "2015-03-15", 0.96, "valid_until", until, 0.95, "address", "北京市海淀区某某路1号", 0.92, NULL);
}

static void test_licence(void)
{
    result_t r = run("business-license", "front", licence("91350100M000100Y43", "长期"),
                     json_pack("{s:s, s:s, s:s, s:s}", "company_name", "某某(北京)科技有限公司", "credit_code",
                               "91350100m000100y43", "address", "北京市海淀区某某路1号", "entity_type", "企业"));
    CHECK(no_flags("clean licence", &r));
    json_t *cc = json_object_get(r.checks, "credit_code");
    CHECK(json_is_true(json_object_get(cc, "check_ok")) && json_is_true(json_object_get(cc, "org_check_ok")));
    CHECK(json_is_true(json_object_get(json_object_get(r.checks, "expiry"), "long_term")));
    result_free(&r);

    /* GB 32100 failures are reviews, never rejects (legacy codes fail) */
    static const char *bad[] = {"91350100M000100Y44", "91350203M0001QKT19", "123456789012345678",
                                "91350100MOOO100Y43"};
    for (int i = 0; i < 4; i++) {
        r = run("business-license", "front", licence(bad[i], "长期"), NULL);
        CHECK(strcmp(sev(&r, "number_checksum_invalid"), "review") == 0);
        result_free(&r);
    }
    /* ...and a failing code read with low confidence is asked for again */
    json_t *lf = licence("91350100M000100Y44", "长期");
    json_object_set_new(json_object_get(lf, "credit_code"), "confidence", json_real(0.5));
    r = run("business-license", "front", lf, NULL);
    CHECK(strcmp(sev(&r, "number_checksum_invalid"), "reshoot") == 0);
    result_free(&r);

    /* term ending soon, printed as a range */
    r = run("business-license", "front", licence("91350100M000100Y43", "2015年03月15日至2026年12月01日"), NULL);
    CHECK(strcmp(sev(&r, "expires_within_90_days"), "reject") == 0);
    result_free(&r);

    /* form disagreements */
    r = run("business-license", "front", licence("91350100M000100Y43", "长期"),
            json_pack("{s:s, s:s, s:s}", "company_name", "某某(上海)科技有限公司", "credit_code", "91440300708461136T",
                      "entity_type", "事业单位"));
    CHECK(strcmp(sev(&r, "form_mismatch_name"), "reject") == 0);
    CHECK(strcmp(sev(&r, "form_mismatch_number"), "reject") == 0);
    CHECK(strcmp(sev(&r, "form_mismatch_entity_type"), "reject") == 0);
    result_free(&r);
    /* 个体工商户 is a business; wording we cannot classify is not a verdict */
    r = run("business-license", "front", licence("92141127MA0KD1Y64A", "长期"), json_pack("{s:s}", "entity_type", "个体工商户"));
    CHECK(no_flags("individual business", &r));
    result_free(&r);
    r = run("business-license", "front", licence("91350100M000100Y43", "长期"), json_pack("{s:s}", "entity_type", "其他"));
    CHECK(no_flags("unknown entity wording", &r));
    result_free(&r);
}

static void test_config_and_bad_input(void)
{
    /* thresholds from config */
    json_t *root = json_pack("{s:{s:f, s:f}}", "ocr", "min_confidence_for_reject", 0.99, "min_field_confidence", 0.98);
    bn_config_t *cfg = bn_config_from_json(root);
    json_decref(root);
    json_t *checks = json_object(), *flags = json_array();
    json_t *f = id_front("11010519491231002X", "女", "1949-12-31");
    json_t *form = json_pack("{s:s}", "name", "李四");
    CHECK(bn_checks_run_cfg(cfg, "id-card", "front", f, form, TODAY, checks, flags) == 0);
    result_t r = {checks, flags};
    CHECK(strcmp(sev(&r, "form_mismatch_name"), "review") == 0); /* 0.97 < 0.99 */
    CHECK(find(&r, "field_unreadable") != NULL);                  /* name 0.97 < 0.98 */
    result_free(&r);
    json_decref(f);
    json_decref(form);
    bn_config_destroy(&cfg);

    /* invalid arguments */
    checks = json_object();
    flags = json_array();
    CHECK(bn_checks_run("driving-licence", "front", NULL, NULL, TODAY, checks, flags) == -1);
    CHECK(bn_checks_run("id-card", "front", NULL, NULL, TODAY, NULL, flags) == -1);
    /* hostile content: wrong JSON types, huge values, no fields at all */
    CHECK(bn_checks_run("id-card", "front", NULL, NULL, TODAY, checks, flags) == 0);
    CHECK(find(&(result_t){checks, flags}, "field_unreadable") != NULL);
    json_decref(checks);
    json_decref(flags);
    char *huge = malloc(100001);
    memset(huge, '9', 100000);
    huge[100000] = '\0';
    static const char *types[] = {"id-card", "passport", "hk-macao-permit", "taiwan-permit", "residence-permit",
                                  "business-license"};
    for (int t = 0; t < 6; t++)
        for (int side = 0; side < 2; side++) {
            json_t *h = json_pack("{s:i, s:{s:[]}, s:s, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}",
                                  "name", 5, "id_number", "value", "birth_date", "x", "valid_until", "value", huge,
                                  "valid_from", "value", huge, "mrz", "value", huge, "credit_code", "value", huge,
                                  "document_number", "value", huge, "expiry_date", "value", huge);
            json_t *hf = json_pack("{s:s, s:i, s:s, s:s}", "name", huge, "id_number", 3, "address", huge,
                                   "entity_type", huge);
            checks = json_object();
            flags = json_array();
            CHECK(bn_checks_run(types[t], side ? "back" : "front", h, hf, NULL, checks, flags) == 0);
            json_decref(h);
            json_decref(hf);
            json_decref(checks);
            json_decref(flags);
        }
    free(huge);
}

static void test_required_lists(void)
{
    const char *const *req = bn_checks_required_fields("id-card", "front");
    int n = 0;
    for (; req[n]; n++)
        ;
    CHECK(n == 5);
    CHECK(bn_checks_required_fields("nope", "front")[0] == NULL);
    CHECK(bn_flag_lookup("form_mismatch_entity_type") != NULL);

    /* a pre-2015 branch licence: 注册号 and 负责人 stand for the credit code and the legal
     * representative; with neither, the first alternative is the one reported missing */
    result_t r = run("business-license", "front",
                     fields("registration_number", "320100000123456", 0.95, "name", "测试分公司", 0.95,
                            "person_in_charge", "王五", 0.95, "address", "测试路1号", 0.95, NULL),
                     NULL);
    CHECK(!find(&r, "field_unreadable"), "alternatives satisfy the required fields");
    result_free(&r);
    r = run("business-license", "front", fields("name", "测试分公司", 0.95, "address", "测试路1号", 0.95, NULL), NULL);
    json_t *miss = json_object_get(json_object_get(r.checks, "fields"), "missing");
    CHECK(json_array_size(miss) == 2 && !strcmp(json_string_value(json_array_get(miss, 0)), "credit_code") &&
              !strcmp(json_string_value(json_array_get(miss, 1)), "legal_representative"),
          "missing names the usual key");
    result_free(&r);
}

/* sex and birth date unread on a front: the valid number gives them, marked as its */
static void test_fields_from_number(void)
{
    char num[19];
    make_id(num, "110101", "19870123", "003"); /* 17th digit odd: a man */
    json_t *f = fields("name", "张三", 0.97, "id_number", num, 0.91, NULL);
    bn_ocr_fields_from_number(f);
    json_t *sx = json_object_get(f, "sex"), *bd = json_object_get(f, "birth_date");
    CHECK(sx && !strcmp(json_string_value(json_object_get(sx, "value")), "男"));
    CHECK(bd && !strcmp(json_string_value(json_object_get(bd, "value")), "1987-01-23"));
    CHECK(!strcmp(json_string_value(json_object_get(bd, "source")), "id_number"));
    CHECK(fabs(json_number_value(json_object_get(bd, "confidence")) - 0.91) < 1e-9, "the number's confidence");
    /* filled in is not read: the printed rows are still reported unreadable */
    json_t *checks = json_object(), *flags = json_array();
    CHECK(bn_checks_run("id-card", "front", f, NULL, "2026-01-01", checks, flags) == 0);
    json_t *missing = json_object_get(json_object_get(checks, "fields"), "missing");
    int sex_missing = 0;
    for (size_t i = 0; i < json_array_size(missing); i++)
        sex_missing |= !strcmp(json_string_value(json_array_get(missing, i)), "sex");
    CHECK(sex_missing && bn_flags_has(flags, "field_unreadable"), "a derived sex is not a printed one");
    json_decref(checks), json_decref(flags);
    json_decref(f);
    /* a printed birth date stays as read (the checks compare it with the number) */
    make_id(num, "110101", "19870123", "004");
    f = fields("birth_date", "1987-01-24", 0.9, "id_number", num, 0.99, NULL);
    bn_ocr_fields_from_number(f);
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(f, "birth_date"), "value")), "1987-01-24"));
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(f, "sex"), "value")), "女"));
    json_decref(f);
    /* a number that fails its check digit says nothing */
    num[17] = num[17] == '0' ? '1' : '0';
    f = fields("id_number", num, 0.99, NULL);
    bn_ocr_fields_from_number(f);
    CHECK(!json_object_get(f, "sex") && !json_object_get(f, "birth_date"));
    json_decref(f);
    f = json_object();
    bn_ocr_fields_from_number(f);
    CHECK(json_object_size(f) == 0);
    json_decref(f);
}

int main(void)
{
    test_fields_from_number();
    test_id_front();
    test_id_back();
    test_passport();
    test_permits();
    test_licence();
    test_config_and_bad_input();
    test_required_lists();
    return bn_test_end("test_ocr_checks");
}
