#include "core/bn_crosscheck.h"
#include "core/bn_flags.h"
#include "core/bn_normalize.h"
#include "core/bn_validate.h"

#include <math.h>
#include <string.h>

/* The one document of this type and side, or NULL (none, or several: no pairing is guessed). */
static json_t *s_only(json_t *docs, const char *type, const char *side)
{
    json_t *found = NULL, *d;
    size_t i;
    json_array_foreach(docs, i, d) {
        const char *t = json_string_value(json_object_get(d, "type")), *s = json_string_value(json_object_get(d, "side"));
        if (t && s && strcmp(t, type) == 0 && strcmp(s, side) == 0) {
            if (found)
                return NULL;
            found = d;
        }
    }
    return found;
}

static const char *s_field(json_t *doc, const char *key, double *conf)
{
    json_t *f = json_object_get(json_object_get(doc, "fields"), key);
    *conf = json_is_number(json_object_get(f, "confidence")) ? json_number_value(json_object_get(f, "confidence")) : 0;
    return json_string_value(json_object_get(f, "value"));
}

/* The holder's birth date on an ID front: the number's when it validates (its check character
 * guards it), else the printed date. */
static int s_front_birth(json_t *front, bn_date_t *birth, double *conf)
{
    const char *num = s_field(front, "id_number", conf);
    bn_id_info_t id;
    if (num && bn_id_validate(num, NULL, &id) == BN_ID_VALID) {
        *birth = id.birth;
        return 1;
    }
    const char *printed = s_field(front, "birth_date", conf);
    return printed && bn_date_parse(printed, birth) == 0;
}

static int s_id_span(json_t *front, json_t *back, json_t *job_flags, double min_conf)
{
    json_t *span = json_object_get(json_object_get(back, "checks"), "validity_span");
    if (!json_is_object(span) || json_object_get(span, "age_at_issue"))
        return 0; /* no dates read, or the OCR stage already knew the birth date (form) */
    /* The document shares its checks with the stage's reply: judge a copy, never the input. */
    json_t *checks = json_deep_copy(json_object_get(back, "checks"));
    json_object_set_new(back, "checks", checks);
    span = json_object_get(checks, "validity_span");
    bn_date_t birth, from, until = {0, 0, 0};
    double cb, cf, cu;
    const char *fs = s_field(back, "valid_from", &cf), *us = s_field(back, "valid_until", &cu);
    if (!s_front_birth(front, &birth, &cb) || !fs || !us || bn_date_parse(fs, &from) != 0)
        return 0;
    int long_term = strcmp(us, "long-term") == 0;
    if (!long_term && bn_date_parse(us, &until) != 0)
        return 0;
    int age = bn_age_years(&birth, &from);
    int expected = bn_id_validity_years(age);
    int ok = age >= 0 && bn_validity_span_ok(&from, &until, expected); /* age < 0: issued before birth */
    json_object_set_new(span, "age_at_issue", json_integer(age));
    if (expected >= 0)
        json_object_set_new(span, "expected_years", json_integer(expected));
    json_object_set_new(span, "birth_date_from", json_incref(json_object_get(front, "index")));
    json_object_set_new(span, "ok", json_boolean(ok && json_is_true(json_object_get(span, "ok"))));
    if (ok)
        return 0;
    double conf = fmin(cb, fmin(cf, cu));
    json_t *flags = json_object_get(back, "flags");
    json_t *f = bn_flag_add(flags, "validity_span_invalid", NAN, NAN, conf < min_conf ? BN_SEV_REVIEW : -1);
    if (!f)
        return 0;
    json_object_set_new(f, "field", json_string("valid_until"));
    json_object_set_new(f, "document", json_incref(json_object_get(back, "index")));
    json_object_set_new(f, "related_document", json_incref(json_object_get(front, "index")));
    json_object_set_new(f, "related_type", json_incref(json_object_get(front, "type")));
    json_array_append(job_flags, f);
    return 1;
}

/* Do two printed values say the same? Dates by date (2030.06.01 = 2030-06-01), the rest after
 * bn_norm of its kind. */
static int s_same(const char *a, const char *b, bn_norm_kind_t kind)
{
    bn_date_t da, db;
    if (kind == BN_NORM_TEXT && bn_date_parse(a, &da) == 0 && bn_date_parse(b, &db) == 0)
        return da.y == db.y && da.m == db.m && da.d == db.d;
    return bn_norm_equal(a, b, kind);
}

/* Both sides of one card: whatever each side prints of the number, the name and the validity
 * must agree (a front and a back of two different cards, or of a renewed one). A mainland ID's
 * front has no dates and its back no name or number: its sides are joined by the span rule
 * above. A permit's back MRZ (when its check digits pass) stands for the back's number and end
 * date. Raised once per pair, on the back, field = the first key that differs. */
static int s_sides(json_t *front, json_t *back, json_t *job_flags, double min_conf)
{
    static const struct {
        const char *key, *mrz;
        bn_norm_kind_t kind;
    } cmp[] = {{"id_number", NULL, BN_NORM_NUMBER}, {"document_number", "document_number", BN_NORM_NUMBER},
               {"name", NULL, BN_NORM_NAME}, {"name_latin", NULL, BN_NORM_NAME},
               {"valid_from", NULL, BN_NORM_TEXT}, {"valid_until", "expiry_date", BN_NORM_TEXT}};
    json_t *mrz = json_object_get(json_object_get(back, "checks"), "mrz");
    int mrz_ok = json_is_true(json_object_get(mrz, "checks_valid"));
    for (size_t i = 0; i < sizeof cmp / sizeof cmp[0]; i++) {
        double cf, cb;
        const char *a = s_field(front, cmp[i].key, &cf), *b = s_field(back, cmp[i].key, &cb);
        if (!b && mrz_ok && cmp[i].mrz) {
            b = json_string_value(json_object_get(mrz, cmp[i].mrz));
            cb = 1.0; /* its check digits vouch for it */
        }
        if (!a || !b || !*a || !*b || s_same(a, b, cmp[i].kind))
            continue;
        json_t *f = bn_flag_add(json_object_get(back, "flags"), "document_sides_mismatch", NAN, NAN,
                                fmin(cf, cb) < min_conf ? BN_SEV_REVIEW : -1);
        if (!f)
            return 0;
        json_object_set_new(f, "field", json_string(cmp[i].key));
        json_object_set_new(f, "document", json_incref(json_object_get(back, "index")));
        json_object_set_new(f, "related_document", json_incref(json_object_get(front, "index")));
        json_object_set_new(f, "related_type", json_incref(json_object_get(front, "type")));
        json_array_append(job_flags, f);
        return 1;
    }
    return 0;
}

int bn_crosscheck(json_t *docs, json_t *job_flags, const bn_config_t *config)
{
    double min_conf = bn_config_num(config, "ocr.min_confidence_for_reject", 0.80);
    static const char *two_sided[] = {"id-card", "residence-permit", "hk-macao-permit", "taiwan-permit"};
    int n = 0;
    for (size_t i = 0; i < sizeof two_sided / sizeof two_sided[0]; i++) {
        json_t *front = s_only(docs, two_sided[i], "front"), *back = s_only(docs, two_sided[i], "back");
        if (front && back)
            n += s_sides(front, back, job_flags, min_conf);
    }
    json_t *front = s_only(docs, "id-card", "front"), *back = s_only(docs, "id-card", "back");
    return n + (front && back ? s_id_span(front, back, job_flags, min_conf) : 0);
}
