#include "ocr/bn_checks.h"
#include "core/bn_error.h"
#include "core/bn_flags.h"
#include "ocr/bn_domain.h"
#include "ocr/bn_mrz.h"
#include "core/bn_normalize.h"
#include "core/bn_validate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct {
    json_t *fields;
    const json_t *form;
    json_t *checks;
    json_t *flags;
    bn_date_t today;
    double min_conf_reject, min_field_conf, addr_sim;
    int min_days;
    int domain_min_days; /* profiles.<profile>.domain_min_days */
    /* what earlier checks learnt, for later ones */
    bn_date_t birth;     /* best birth date: valid ID number, else printed, else MRZ */
    int have_birth;
    json_t *unreadable;  /* field names for one field_unreadable flag */
    int unreadable_review_only;
} ctx_t;

/* ---- required fields ------------------------------------------------------------------ */

static const char *const s_req_id_front[] = {"name", "sex", "birth_date", "address", "id_number", NULL};
static const char *const s_req_id_back[] = {"issuing_authority", "valid_from", "valid_until", NULL};
static const char *const s_req_passport[] = {"document_number", "surname", "birth_date", "expiry_date", NULL};
static const char *const s_req_permit_front[] = {"name", "birth_date", "document_number", "valid_until", NULL};
/* "a|b": either. A pre-2015 licence has a 注册号, not a credit code; a branch names its 负责人, an
 * individual business its 经营者, a sole proprietorship its 投资人, a partnership its
 * 执行事务合伙人 instead of a 法定代表人. */
static const char *const s_req_license[] = {
    "credit_code|registration_number", "name",
    "legal_representative|person_in_charge|operator|investor|executive_partner", "address", NULL};
/* a certificate need not print its registrar: the registrar rule then has nothing to judge */
static const char *const s_req_domain[] = {"domain", "holder", "expires_on", NULL};
static const char *const s_req_none[] = {NULL};

static int is_back(const char *side) { return side && strcmp(side, "back") == 0; }

const char *const *bn_checks_required_fields(const char *t, const char *side)
{
    if (!t)
        return s_req_none;
    if (strcmp(t, "id-card") == 0 || strcmp(t, "residence-permit") == 0)
        return is_back(side) ? s_req_id_back : s_req_id_front;
    if (strcmp(t, "passport") == 0)
        return s_req_passport;
    if (strcmp(t, "hk-macao-permit") == 0 || strcmp(t, "taiwan-permit") == 0)
        return is_back(side) ? s_req_none : s_req_permit_front;
    if (strcmp(t, "business-license") == 0)
        return s_req_license;
    if (strcmp(t, "domain-certificate") == 0)
        return s_req_domain;
    return s_req_none;
}

/* ---- field access --------------------------------------------------------------------- */

/* The field's value as a non-empty string, or NULL. */
static const char *fval(const ctx_t *c, const char *key)
{
    json_t *f = json_object_get(c->fields, key);
    json_t *v = json_is_object(f) ? json_object_get(f, "value") : f;
    const char *s = json_string_value(v);
    return s && *s ? s : NULL;
}

static double fconf(const ctx_t *c, const char *key)
{
    json_t *f = json_object_get(c->fields, key);
    json_t *v = json_is_object(f) ? json_object_get(f, "confidence") : NULL;
    return json_is_number(v) ? json_number_value(v) : 1.0;
}

static const char *form_str(const ctx_t *c, const char *key)
{
    const char *s = json_string_value(json_object_get(c->form, key));
    return s && *s ? s : NULL;
}

/* Default severity, or review when the OCR confidence of the field is too low to reject on. */
static int sev_for(const ctx_t *c, double conf) { return conf < c->min_conf_reject ? BN_SEV_REVIEW : -1; }

/* A number that fails its check, read with low confidence, was most likely read wrong: the
 * applicant is asked for a clearer photo of it (reshoot, the field named), not a clerk. */
static int sev_number(const ctx_t *c, double conf) { return conf < c->min_conf_reject ? BN_SEV_RESHOOT : -1; }

static json_t *flag(ctx_t *c, const char *code, double metric, double threshold, int sev, const char *field)
{
    json_t *f = bn_flag_add(c->flags, code, metric, threshold, sev);
    if (f && field)
        json_object_set_new(f, "field", json_string(field));
    return f;
}

static void mark_unreadable(ctx_t *c, const char *field, int review)
{
    json_array_append_new(c->unreadable, json_string(field));
    if (!review)
        c->unreadable_review_only = 0;
}

static int parse_date_field(const char *s, bn_date_t *d)
{
    return s && bn_date_parse(s, d) == 0;
}

static int is_long_term(const char *s)
{
    return s && (strcasecmp(s, "long-term") == 0 || strcmp(s, "长期") == 0 || strcmp(s, "长期有效") == 0 ||
                 strcmp(s, "長期") == 0 || strcasecmp(s, "long term") == 0);
}

static void set_date(json_t *o, const char *key, const bn_date_t *d)
{
    char buf[16];
    json_object_set_new(o, key, json_string(bn_date_format(d, buf, sizeof buf)));
}

/* ---- the checks ----------------------------------------------------------------------- */

/* A value that passes its own check was read right, whatever the recogniser's confidence: a
 * number whose check digit validates, a birth date the number confirms, a date that parses. */
static int validates(ctx_t *c, const char *key)
{
    const char *v = fval(c, key);
    bn_id_info_t id;
    bn_uscc_info_t u;
    bn_date_t d;
    char buf[16];
    if (!v)
        return 0;
    if (!strcmp(key, "id_number"))
        return bn_id_validate(v, NULL, &id) == BN_ID_VALID;
    if (!strcmp(key, "credit_code"))
        return bn_uscc_validate(v, &u) && u.org_check_ok;
    if (!strcmp(key, "birth_date")) {
        const char *n = fval(c, "id_number");
        return n && bn_id_validate(n, NULL, &id) == BN_ID_VALID && id.birth.y &&
               !strcmp(bn_date_format(&id.birth, buf, sizeof buf), v);
    }
    if (!strcmp(key, "valid_from") || !strcmp(key, "valid_until") || !strcmp(key, "expiry_date"))
        return is_long_term(v) || parse_date_field(v, &d);
    return 0;
}

/* Was the field read off the document (not filled in from another one, "source": "id_number")? */
static int printed(const ctx_t *c, const char *key)
{
    return fval(c, key) && !json_object_get(json_object_get(c->fields, key), "source");
}

/* The first of the alternatives in spec ("a|b|c") that was read, or NULL; *first gets "a". */
static const char *alt_read(ctx_t *c, const char *spec, char *first, size_t cap)
{
    char buf[160];
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL, *k = strtok_r(buf, "|", &save);
    snprintf(first, cap, "%s", k ? k : spec);
    for (; k; k = strtok_r(NULL, "|", &save))
        if (printed(c, k))
            return strstr(spec, k);
    return NULL;
}

static void check_required(ctx_t *c, const char *type, const char *side)
{
    json_t *missing = json_array(), *low = json_array();
    for (const char *const *k = bn_checks_required_fields(type, side); *k; k++) {
        char first[64], key[64];
        const char *hit = alt_read(c, *k, first, sizeof first);
        if (!hit) {
            json_array_append_new(missing, json_string(first));
            mark_unreadable(c, first, 0);
            continue;
        }
        snprintf(key, sizeof key, "%.*s", (int)strcspn(hit, "|"), hit);
        if (fconf(c, key) < c->min_field_conf && !validates(c, key)) {
            json_array_append_new(low, json_string(key));
            mark_unreadable(c, key, 0);
        }
    }
    json_object_set_new(c->checks, "fields", json_pack("{s:o, s:o}", "missing", missing, "low_confidence", low));
}

static void check_temporary(ctx_t *c)
{
    const char *key;
    json_t *f;
    json_object_foreach(c->fields, key, f) {
        /* the card's title or a stamp says 临时; an address or a name may contain the word */
        if (strcmp(key, "address") == 0 || strcmp(key, "name") == 0 || strcmp(key, "issuing_authority") == 0)
            continue;
        json_t *v = json_is_object(f) ? json_object_get(f, "value") : f;
        const char *s = json_string_value(v);
        if (s && strstr(s, "临时")) {
            json_object_set_new(c->checks, "temporary", json_true());
            flag(c, "temporary_id", NAN, NAN, -1, key);
            return;
        }
    }
    json_object_set_new(c->checks, "temporary", json_false());
}

static char printed_sex(const char *s)
{
    if (!s)
        return 0;
    if (strstr(s, "男") || strcasecmp(s, "M") == 0 || strcasecmp(s, "male") == 0)
        return 'M';
    if (strstr(s, "女") || strcasecmp(s, "F") == 0 || strcasecmp(s, "female") == 0)
        return 'F';
    return 0;
}

/* GB 11643 number on the ID card / residence permit front. */
static void check_id_number(ctx_t *c, const char *type)
{
    const char *num = fval(c, "id_number");
    if (!num)
        return;
    double conf = fconf(c, "id_number");
    bn_id_info_t id;
    char today[16], buf[16];
    bn_date_format(&c->today, today, sizeof today);
    bn_id_status_t st = bn_id_validate(num, today, &id);
    json_t *o = json_object();
    json_object_set_new(o, "valid", json_boolean(st == BN_ID_VALID));
    json_object_set_new(o, "status", json_string(bn_id_status_name(st)));
    json_object_set_new(c->checks, "id_number", o);
    if (st == BN_ID_BAD_FORMAT) {
        flag(c, "number_checksum_invalid", NAN, NAN, sev_number(c, conf), "id_number");
        return;
    }
    json_object_set_new(o, "legacy_15", json_boolean(id.legacy15));
    json_object_set_new(o, "region", json_string(id.region));
    json_object_set_new(o, "region_known", json_boolean(id.region_known));
    json_object_set_new(o, "hmt", json_boolean(id.hmt));
    char sx[2] = {id.sex, 0};
    json_object_set_new(o, "sex", json_string(sx));
    if (id.birth.y)
        json_object_set_new(o, "birth_date", json_string(bn_date_format(&id.birth, buf, sizeof buf)));
    if (st != BN_ID_VALID) {
        flag(c, "number_checksum_invalid", NAN, NAN, sev_number(c, conf), "id_number");
        return; /* a number that does not validate says nothing reliable about birth or sex */
    }
    c->birth = id.birth;
    c->have_birth = 1;
    if (!id.region_known) {
        /* Numbers keep their county code for life and half of all codes since 1980 are
         * abolished (the table is the current list): in a known province that is expected, so
         * info; an unknown province is worth a look (review). */
        char prov[8];
        snprintf(prov, sizeof prov, "%.2s0000", id.region);
        flag(c, "region_code_unknown", NAN, NAN, bn_region_name(prov) ? BN_SEV_INFO : -1, "id_number");
    }
    /* An HMT number on an ID card, or a mainland one on a residence permit. */
    int want_hmt = strcmp(type, "residence-permit") == 0;
    if (id.hmt != want_hmt) {
        json_object_set_new(o, "type_matches", json_false());
        flag(c, "wrong_document_type", NAN, NAN, -1, "id_number");
    }

    const char *pb = fval(c, "birth_date");
    bn_date_t printed;
    if (pb && parse_date_field(pb, &printed)) {
        int same = printed.y == id.birth.y && printed.m == id.birth.m && printed.d == id.birth.d;
        json_object_set_new(o, "birth_matches", json_boolean(same));
        if (!same) {
            double cf = fmin(conf, fconf(c, "birth_date"));
            flag(c, "number_birth_mismatch", NAN, NAN, sev_for(c, cf), "birth_date");
        }
    } else if (pb) {
        mark_unreadable(c, "birth_date", 0);
    }
    char ps = printed_sex(fval(c, "sex"));
    if (ps) {
        json_object_set_new(o, "sex_matches", json_boolean(ps == id.sex));
        if (ps != id.sex) {
            double cf = fmin(conf, fconf(c, "sex"));
            flag(c, "number_sex_mismatch", NAN, NAN, sev_for(c, cf), "sex");
        }
    } else if (fval(c, "sex")) {
        mark_unreadable(c, "sex", 0);
    }
}

static void check_credit_code(ctx_t *c)
{
    const char *code = fval(c, "credit_code");
    if (!code)
        return;
    bn_uscc_info_t u;
    int ok = bn_uscc_validate(code, &u);
    json_t *o = json_object();
    json_object_set_new(o, "valid", json_boolean(ok && u.org_check_ok));
    json_object_set_new(o, "format_ok", json_boolean(u.format_ok));
    json_object_set_new(o, "check_ok", json_boolean(u.check_ok));
    json_object_set_new(o, "org_check_ok", json_boolean(u.org_check_ok));
    if (u.format_ok) {
        json_object_set_new(o, "region", json_string(u.region));
        json_object_set_new(o, "region_known", json_boolean(u.region_known));
    }
    json_object_set_new(c->checks, "credit_code", o);
    /* Real pre-2016 codes can fail (documents.md §1.3): never reject on this alone; a code
     * read with low confidence is asked for again (reshoot). */
    if (!ok || !u.org_check_ok)
        flag(c, "number_checksum_invalid", NAN, NAN,
             fconf(c, "credit_code") < c->min_conf_reject ? BN_SEV_RESHOOT : BN_SEV_REVIEW, "credit_code");
}

static void check_permit_number(ctx_t *c, const char *type, const bn_mrz_t *mrz)
{
    const char *num = fval(c, "document_number");
    double conf = fconf(c, "document_number");
    if (!num && mrz && mrz->document_number[0]) {
        num = mrz->document_number;
        conf = 1.0;
    }
    if (!num)
        return;
    bn_permit_kind_t kind = strcmp(type, "taiwan-permit") == 0 ? BN_PERMIT_TAIWAN : BN_PERMIT_HK_MACAO;
    int ok = bn_permit_number_valid(kind, num);
    json_object_set_new(c->checks, "document_number", json_pack("{s:b}", "valid_format", ok));
    if (!ok)
        flag(c, "number_checksum_invalid", NAN, NAN, sev_number(c, conf), "document_number");
}

/* The MRZ text of the fields: a string, or an array of lines. */
static int mrz_text(const ctx_t *c, char *buf, size_t size)
{
    json_t *f = json_object_get(c->fields, "mrz");
    json_t *v = json_is_object(f) ? json_object_get(f, "value") : f;
    if (json_is_string(v)) {
        snprintf(buf, size, "%s", json_string_value(v));
        return 1;
    }
    if (!json_is_array(v) || json_array_size(v) == 0)
        return 0;
    size_t i, n = 0;
    json_t *line;
    buf[0] = '\0';
    json_array_foreach(v, i, line) {
        const char *s = json_string_value(line);
        if (s)
            n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s\n", s);
        if (n >= size)
            break;
    }
    return 1;
}

/* Compare an MRZ value with the printed (VIZ) field of the same meaning. */
static void viz_cmp(ctx_t *c, json_t *mism, const char *key, const char *mrz_val, bn_norm_kind_t kind)
{
    const char *viz = fval(c, key);
    if (!viz || !mrz_val || !*mrz_val)
        return;
    int same;
    if (strcmp(key, "birth_date") == 0 || strcmp(key, "expiry_date") == 0 || strcmp(key, "valid_until") == 0) {
        bn_date_t a, b;
        same = parse_date_field(viz, &a) && parse_date_field(mrz_val, &b) && a.y == b.y && a.m == b.m && a.d == b.d;
    } else if (strcmp(key, "sex") == 0) {
        same = printed_sex(viz) == printed_sex(mrz_val) || mrz_val[0] == 'X';
    } else {
        same = bn_norm_equal(viz, mrz_val, kind);
    }
    if (!same)
        json_array_append_new(mism, json_string(key));
}

static int check_mrz(ctx_t *c, const char *type, bn_mrz_t *m)
{
    char text[1024], today[16];
    if (!mrz_text(c, text, sizeof text))
        return 0;
    bn_date_format(&c->today, today, sizeof today);
    if (bn_mrz_parse(text, today, m) != 0) {
        json_object_set_new(c->checks, "mrz", json_pack("{s:b}", "found", 0));
        mark_unreadable(c, "mrz", 0);
        return 0;
    }
    json_t *o = bn_mrz_to_json(m);
    json_object_set_new(o, "found", json_true());
    json_object_set_new(c->checks, "mrz", o);
    if (!m->checks_ok)
        flag(c, "mrz_checksum_invalid", NAN, NAN, -1, "mrz");
    /* What check digits do not cover was misread: a person should look (review). */
    if (m->problems)
        mark_unreadable(c, "mrz", 1);

    int passport = strcmp(type, "passport") == 0;
    json_t *mism = json_array();
    viz_cmp(c, mism, "document_number", m->document_number, BN_NORM_NUMBER);
    viz_cmp(c, mism, "birth_date", m->birth_date, BN_NORM_TEXT);
    viz_cmp(c, mism, passport ? "expiry_date" : "valid_until", m->expiry_date, BN_NORM_TEXT);
    viz_cmp(c, mism, "sex", (char[2]){m->sex, 0}, BN_NORM_TEXT);
    if (passport) {
        viz_cmp(c, mism, "surname", m->surname, BN_NORM_NAME);
        viz_cmp(c, mism, "given_names", m->given_names, BN_NORM_NAME);
        viz_cmp(c, mism, "nationality", m->nationality, BN_NORM_NUMBER);
        viz_cmp(c, mism, "issuing_country", m->issuing_country, BN_NORM_NUMBER);
    } else if (fval(c, "name_latin") && m->surname[0]) {
        /* name_latin is printed as one string, in either order */
        char a[100], b[100];
        snprintf(a, sizeof a, "%s %s", m->surname, m->given_names);
        snprintf(b, sizeof b, "%s %s", m->given_names, m->surname);
        if (!bn_norm_equal(fval(c, "name_latin"), a, BN_NORM_NAME) && !bn_norm_equal(fval(c, "name_latin"), b, BN_NORM_NAME))
            json_array_append_new(mism, json_string("name_latin"));
    }
    json_object_set(o, "viz_mismatch", mism);
    size_t i;
    json_t *k;
    json_array_foreach(mism, i, k) {
        char name[64];
        snprintf(name, sizeof name, "mrz/%s", json_string_value(k));
        mark_unreadable(c, name, 1);
    }
    json_decref(mism);
    return 1;
}

/* Expiry of the document: `s` is the printed value of field `key` (date, "long-term", or a
 * licence's "2015年03月15日至长期"). */
static void check_expiry_value(ctx_t *c, const char *key, const char *s)
{
    if (!s)
        return;
    const char *to = strstr(s, "至"); /* licences print a range: the end is after 至 */
    if (to)
        s = to + strlen("至");
    json_t *o = json_object();
    json_object_set_new(o, "field", json_string(key));
    json_object_set_new(c->checks, "expiry", o);
    if (is_long_term(s)) {
        json_object_set_new(o, "long_term", json_true());
        return;
    }
    bn_date_t d;
    if (!parse_date_field(s, &d)) {
        json_object_set_new(o, "parsed", json_false());
        mark_unreadable(c, key, 0);
        return;
    }
    long left = bn_days_left(&d, &c->today);
    set_date(o, "valid_until", &d);
    json_object_set_new(o, "long_term", json_false());
    json_object_set_new(o, "days_left", json_integer(left));
    if (left < 0)
        flag(c, "expired", (double)left, 0, -1, key);
    else if (left < c->min_days)
        flag(c, "expires_within_90_days", (double)left, c->min_days, -1, key);
}

static void check_expiry(ctx_t *c, const char *key) { check_expiry_value(c, key, fval(c, key)); }

/* ID card / residence permit back: the span between valid_from and valid_until must follow
 * the law (age at issue for ID cards, 5 years for residence permits). The birth date comes
 * from the front (form id_number when it validates). */
static void check_span(ctx_t *c, const char *type)
{
    const char *fs = fval(c, "valid_from"), *us = fval(c, "valid_until");
    bn_date_t from, until = {0, 0, 0};
    if (!fs || !us)
        return;
    if (!parse_date_field(fs, &from)) {
        mark_unreadable(c, "valid_from", 0);
        return;
    }
    int long_term = is_long_term(us);
    if (!long_term && !parse_date_field(us, &until))
        return; /* check_expiry reported it */
    int expected;
    int age = -1;
    if (strcmp(type, "residence-permit") == 0) {
        expected = 5;
    } else if (c->have_birth) {
        age = bn_age_years(&c->birth, &from);
        expected = bn_id_validity_years(age);
    } else {
        expected = long_term ? 0 : -1; /* age unknown: any lawful span */
    }
    int ok = bn_validity_span_ok(&from, &until, expected);
    if (age < 0 && c->have_birth)
        ok = 0; /* issued before birth */
    if (bn_date_days_between(&c->today, &from) > 0)
        ok = 0; /* issued in the future */
    json_t *o = json_object();
    set_date(o, "valid_from", &from);
    if (long_term)
        json_object_set_new(o, "valid_until", json_string("long-term"));
    else
        set_date(o, "valid_until", &until);
    if (age >= 0)
        json_object_set_new(o, "age_at_issue", json_integer(age));
    if (expected >= 0)
        json_object_set_new(o, "expected_years", json_integer(expected));
    json_object_set_new(o, "ok", json_boolean(ok));
    json_object_set_new(c->checks, "validity_span", o);
    if (!ok)
        flag(c, "validity_span_invalid", NAN, NAN, sev_for(c, fmin(fconf(c, "valid_from"), fconf(c, "valid_until"))),
             "valid_until");
}

static void check_age(ctx_t *c)
{
    if (!c->have_birth)
        return;
    int age = bn_age_years(&c->birth, &c->today);
    json_object_set_new(c->checks, "age", json_pack("{s:i, s:b}", "years", age, "adult", age >= 18));
    if (age >= 0 && age < 18)
        flag(c, "under_18", age, 18, -1, "birth_date");
}

/* ---- form cross-checks ---------------------------------------------------------------- */

static json_t *form_obj(ctx_t *c)
{
    json_t *o = json_object_get(c->checks, "form");
    if (!o) {
        o = json_object();
        json_object_set_new(c->checks, "form", o);
    }
    return o;
}

/* Compare form[form_key] with the document's value; exact after normalisation, or (for
 * addresses) similar enough for a review rather than a reject. */
static void form_cmp(ctx_t *c, const char *form_key, const char *doc_val, double conf, bn_norm_kind_t kind,
                     const char *code, const char *field)
{
    const char *fv = form_str(c, form_key);
    if (!fv || !doc_val)
        return;
    int same = bn_norm_equal(fv, doc_val, kind);
    double sim = same ? 1.0 : bn_norm_similarity(fv, doc_val, kind);
    json_object_set_new(form_obj(c), form_key,
                        json_pack("{s:b, s:f, s:s}", "match", same, "similarity", sim, "field", field));
    if (same)
        return;
    int sev = sev_for(c, conf);
    if (kind == BN_NORM_ADDRESS && sim >= c->addr_sim)
        sev = BN_SEV_REVIEW; /* one or two characters apart: likely OCR, a person decides */
    flag(c, code, sim, NAN, sev, field);
}

/* Person's name on passports and permits: the Chinese name, or the Latin name in either
 * order (form "ANNA MARIA ERIKSSON" vs MRZ surname ERIKSSON). */
static void form_name_latin(ctx_t *c, const char *surname, const char *given, double conf)
{
    const char *fv = form_str(c, "name");
    if (!fv)
        return;
    const char *cn = fval(c, "name");
    if (cn && bn_norm_equal(fv, cn, BN_NORM_NAME)) {
        json_object_set_new(form_obj(c), "name", json_pack("{s:b, s:s}", "match", 1, "field", "name"));
        return;
    }
    char a[160], b[160];
    snprintf(a, sizeof a, "%s %s", surname ? surname : "", given ? given : "");
    snprintf(b, sizeof b, "%s %s", given ? given : "", surname ? surname : "");
    if ((surname || given) && (bn_norm_equal(fv, a, BN_NORM_NAME) || bn_norm_equal(fv, b, BN_NORM_NAME))) {
        json_object_set_new(form_obj(c), "name", json_pack("{s:b, s:s}", "match", 1, "field", "name_latin"));
        return;
    }
    if (!cn && !surname && !given)
        return; /* nothing read to compare with: field_unreadable covers it */
    double sim = fmax(cn ? bn_norm_similarity(fv, cn, BN_NORM_NAME) : 0, bn_norm_similarity(fv, a, BN_NORM_NAME));
    json_object_set_new(form_obj(c), "name", json_pack("{s:b, s:f}", "match", 0, "similarity", sim));
    flag(c, "form_mismatch_name", sim, NAN, sev_for(c, conf), cn ? "name" : "surname");
}

static char entity_of_doc(const ctx_t *c)
{
    bn_uscc_info_t u;
    const char *code = fval(c, "credit_code");
    if (code && bn_uscc_validate(code, &u)) {
        switch (u.code[0]) {
        case '9': return 'B';
        case '1': return 'G';
        case '5': return 'S';
        }
    }
    return bn_entity_category(fval(c, "type"));
}

static void check_entity_type(ctx_t *c)
{
    const char *fv = form_str(c, "entity_type");
    if (!fv)
        return;
    char want = bn_entity_category(fv), have = entity_of_doc(c);
    json_t *o = json_object();
    json_object_set_new(form_obj(c), "entity_type", o);
    /* unknown wording is not a verdict; a person filing with a licence is the application's
     * certificate_type_mismatch (bn_apprules), not a second flag here */
    if (!want || !have || want == BN_ENTITY_PERSON) {
        json_object_set_new(o, "compared", json_false());
        return;
    }
    json_object_set_new(o, "compared", json_true());
    json_object_set_new(o, "match", json_boolean(want == have));
    if (want != have)
        flag(c, "form_mismatch_entity_type", NAN, NAN, sev_for(c, fconf(c, "type")), "type");
}

/* ---- domain certificate ----------------------------------------------------------------- */

/* The domain's registration period, its TLD and its registrar (docs/VALIDATION.md "Domain
 * certificates"): checks.domain = {domain, tld, tld_filable, expires_on, days_left, min_days,
 * registrar_mainland, province, province_requires_mainland}; unknown is null, never a guess. */
static void check_domain(ctx_t *c)
{
    json_t *o = json_object();
    json_object_set_new(c->checks, "domain", o);
    const char *dom = fval(c, "domain");
    if (dom) {
        char tld[BN_DOMAIN_MAX];
        json_object_set_new(o, "domain", json_string(dom));
        json_object_set_new(o, "tld", json_string(bn_domain_tld(dom, tld, sizeof tld)));
        int ok = bn_domain_tld_filable(dom);
        json_object_set_new(o, "tld_filable", ok < 0 ? json_null() : json_boolean(ok));
        if (ok == 0)
            flag(c, "tld_not_filable", NAN, NAN, sev_for(c, fconf(c, "domain")), "domain");
    }
    const char *exp = fval(c, "expires_on");
    bn_date_t d;
    if (exp && !parse_date_field(exp, &d)) {
        mark_unreadable(c, "expires_on", 0);
    } else if (exp) {
        long left = bn_days_left(&d, &c->today);
        set_date(o, "expires_on", &d);
        json_object_set_new(o, "days_left", json_integer(left));
        json_object_set_new(o, "min_days", json_integer(c->domain_min_days));
        int sev = sev_for(c, fconf(c, "expires_on"));
        if (left < 0)
            flag(c, "domain_expired", (double)left, 0, sev, "expires_on");
        else if (left < c->domain_min_days)
            flag(c, "domain_expires_soon", (double)left, c->domain_min_days, sev, "expires_on");
    }
    /* the registrar rule is the filing province's: without a province it is not judged */
    const char *prov = form_str(c, "province"), *reg = fval(c, "registrar");
    int mainland = reg ? bn_registrar_mainland(reg) : -1;
    json_object_set_new(o, "registrar_mainland", mainland < 0 ? json_null() : json_boolean(mainland));
    if (!prov)
        return;
    char code[3];
    int req = bn_province_requires_mainland(prov, code);
    json_object_set_new(o, "province", code[0] ? json_string(code) : json_null());
    json_object_set_new(o, "province_requires_mainland", req < 0 ? json_null() : json_boolean(req));
    /* not printed (新网's certificate names its registrar only in its logo and seal): nothing to
     * judge, and nothing the applicant could reshoot; checks say registrar_mainland null */
    if (req != 1 || mainland == 1 || !reg)
        return;
    /* a registrar the table does not know may be an approved one it lacks: a person decides */
    flag(c, "registrar_not_mainland", NAN, NAN, mainland == 0 ? sev_for(c, fconf(c, "registrar")) : BN_SEV_REVIEW,
         "registrar");
}

/* form "domain" = the certificate's, compared in canonical form (case, full-width dots,
 * spaces, a scheme; an IDN in punycode or in Chinese alike). */
static void form_domain(ctx_t *c)
{
    const char *fv = form_str(c, "domain"), *dv = fval(c, "domain");
    if (!fv || !dv)
        return;
    char a[BN_DOMAIN_MAX], b[BN_DOMAIN_MAX];
    bn_domain_canonical(fv, a, sizeof a);
    bn_domain_canonical(dv, b, sizeof b);
    int same = a[0] && !strcmp(a, b);
    json_object_set_new(form_obj(c), "domain", json_pack("{s:b, s:s}", "match", same, "field", "domain"));
    if (!same)
        flag(c, "form_mismatch_domain", NAN, NAN, sev_for(c, fconf(c, "domain")), "domain");
}

static void check_form(ctx_t *c, const char *type, const bn_mrz_t *mrz)
{
    if (!json_is_object(c->form))
        return;
    if (strcmp(type, "id-card") == 0 || strcmp(type, "residence-permit") == 0) {
        form_cmp(c, "name", fval(c, "name"), fconf(c, "name"), BN_NORM_NAME, "form_mismatch_name", "name");
        form_cmp(c, "id_number", fval(c, "id_number"), fconf(c, "id_number"), BN_NORM_NUMBER,
                 "form_mismatch_number", "id_number");
        form_cmp(c, "address", fval(c, "address"), fconf(c, "address"), BN_NORM_ADDRESS, "form_mismatch_address",
                 "address");
    } else if (strcmp(type, "business-license") == 0) {
        form_cmp(c, "company_name", fval(c, "name"), fconf(c, "name"), BN_NORM_COMPANY, "form_mismatch_name", "name");
        form_cmp(c, "credit_code", fval(c, "credit_code"), fconf(c, "credit_code"), BN_NORM_NUMBER,
                 "form_mismatch_number", "credit_code");
        form_cmp(c, "address", fval(c, "address"), fconf(c, "address"), BN_NORM_ADDRESS, "form_mismatch_address",
                 "address");
        check_entity_type(c);
    } else if (strcmp(type, "domain-certificate") == 0) {
        form_domain(c);
    } else {
        /* passport and permits: names may be Latin; numbers from the VIZ or else the MRZ */
        const char *sur = fval(c, "surname"), *giv = fval(c, "given_names");
        double nconf = fconf(c, sur ? "surname" : "name");
        if (!sur && fval(c, "name_latin"))
            sur = fval(c, "name_latin");
        if (!sur && mrz && mrz->surname[0]) {
            sur = mrz->surname;
            giv = mrz->given_names;
        }
        form_name_latin(c, sur, giv, nconf);
        const char *num = fval(c, "document_number");
        double conf = fconf(c, "document_number");
        if (!num && mrz && mrz->document_number[0]) {
            num = mrz->document_number;
            conf = 1.0;
        }
        form_cmp(c, "id_number", num, conf, BN_NORM_NUMBER, "form_mismatch_number", "document_number");
    }
}

static void set_value(json_t *fields, const char *key, const char *value, json_t *like)
{
    json_t *f = json_is_object(like) ? json_deep_copy(like) : json_object();
    json_object_set_new(f, "value", json_string(value));
    json_object_set_new(fields, key, f);
}

static void split_period(json_t *fields)
{
    json_t *f = json_object_get(fields, "valid_until");
    json_t *v = json_is_object(f) ? json_object_get(f, "value") : f;
    bn_date_t from, until;
    int lt;
    char buf[16];
    if (!json_is_string(v) || bn_validity_parse(json_string_value(v), &from, &until, &lt) != 0)
        return;
    if (!json_object_get(fields, "valid_from"))
        set_value(fields, "valid_from", bn_date_format(&from, buf, sizeof buf), f);
    set_value(fields, "valid_until", lt ? "long-term" : bn_date_format(&until, buf, sizeof buf), f);
}

/* ---- entry points --------------------------------------------------------------------- */

static int known_type(const char *t)
{
    static const char *types[] = {"id-card", "passport", "hk-macao-permit", "taiwan-permit", "residence-permit",
                                  "business-license", "domain-certificate"};
    for (size_t i = 0; t && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(t, types[i]) == 0)
            return 1;
    return 0;
}

/* profiles.<name>.domain_min_days, else the default profile's, else 90: more than 3 months left
 * is what Huawei Cloud and QingCloud ask for (../shared/notes/filing-application.md B). */
static int domain_min_days(const bn_config_t *cfg, const json_t *options)
{
    const char *prof = json_string_value(json_object_get(options, "profile"));
    double d = bn_config_num(cfg, "profiles.default.domain_min_days", 90);
    char key[96];
    if (prof && *prof && strlen(prof) < 40 && !strchr(prof, '.')) {
        snprintf(key, sizeof key, "profiles.%s.domain_min_days", prof);
        d = bn_config_num(cfg, key, d);
    }
    return d >= 0 && d < 100000 ? (int)d : 90;
}

int bn_checks_run_cfg(const bn_config_t *cfg, const char *type, const char *side, json_t *fields,
                      const json_t *form, const char *today, json_t *checks, json_t *flags)
{
    return bn_checks_run_opts(cfg, NULL, type, side, fields, form, today, checks, flags);
}

int bn_checks_run_opts(const bn_config_t *cfg, const json_t *options, const char *type, const char *side,
                       json_t *fields, const json_t *form, const char *today, json_t *checks, json_t *flags)
{
    if (!known_type(type) || !json_is_object(checks) || !json_is_array(flags))
        return bn_error_set("invalid_argument", "bn_checks_run: unknown document type or bad output containers");
    if (cfg) {
        bn_regions_configure(cfg); /* first call picks ocr.regions_path; later ones are no-ops */
        bn_domain_configure(cfg);  /* and ocr.domain_data_dir */
    }
    /* Work on a copy: the caller's fields stay as read, while a period printed in one field
     * ("2016.03.15-2036.03.15", as ID backs print it) is split into valid_from/valid_until. */
    json_t *own = json_is_object(fields) ? json_deep_copy(fields) : json_object();
    fields = own;
    split_period(fields);

    ctx_t c = {
        .fields = fields,
        .form = form,
        .checks = checks,
        .flags = flags,
        .today = bn_today(today),
        .min_conf_reject = bn_config_num(cfg, "ocr.min_confidence_for_reject", 0.80),
        .min_field_conf = bn_config_num(cfg, "ocr.min_field_confidence", 0.50),
        .addr_sim = bn_config_num(cfg, "ocr.address_min_similarity", 0.90),
        .min_days = (int)bn_config_num(cfg, "ocr.expiry_min_days", 90),
        .domain_min_days = domain_min_days(cfg, options),
        .unreadable = json_array(),
        .unreadable_review_only = 1,
    };
    int back = is_back(side);
    int person_id = strcmp(type, "id-card") == 0 || strcmp(type, "residence-permit") == 0;
    int permit = strcmp(type, "hk-macao-permit") == 0 || strcmp(type, "taiwan-permit") == 0;
    int passport = strcmp(type, "passport") == 0;
    bn_mrz_t mrz;
    int have_mrz = 0;

    check_required(&c, type, side);
    if (strcmp(type, "id-card") == 0)
        check_temporary(&c);

    if (person_id && !back) {
        check_id_number(&c, type);
    } else if (person_id && back) {
        /* the back has no birth date: take it from the form's number when that validates */
        const char *fn = form_str(&c, "id_number");
        bn_id_info_t id;
        char td[16];
        if (fn && bn_id_validate(fn, bn_date_format(&c.today, td, sizeof td), &id) == BN_ID_VALID) {
            c.birth = id.birth;
            c.have_birth = 1;
        }
        check_expiry(&c, "valid_until");
        check_span(&c, type);
    } else if (passport || permit) {
        have_mrz = check_mrz(&c, type, &mrz);
        if (permit && !back)
            check_permit_number(&c, type, have_mrz ? &mrz : NULL);
        check_expiry(&c, passport ? "expiry_date" : "valid_until");
        if (!json_object_get(checks, "expiry") && have_mrz && mrz.expiry_date[0])
            check_expiry_value(&c, "mrz", mrz.expiry_date); /* stands in for an unread VIZ date */
    } else if (strcmp(type, "domain-certificate") == 0) {
        check_domain(&c);
    } else { /* business-license */
        check_credit_code(&c);
        check_expiry(&c, "valid_until");
    }

    /* age: from the valid number, else the printed birth date, else the MRZ */
    int page = strcmp(type, "business-license") == 0 || strcmp(type, "domain-certificate") == 0;
    if (!back && !c.have_birth && !page) {
        if (parse_date_field(fval(&c, "birth_date"), &c.birth))
            c.have_birth = 1;
        else if (have_mrz && mrz.checks_ok && parse_date_field(mrz.birth_date, &c.birth))
            c.have_birth = 1;
    }
    if (!back && !page)
        check_age(&c);

    check_form(&c, type, have_mrz ? &mrz : NULL);

    if (json_array_size(c.unreadable) > 0) {
        json_t *f = bn_flag_add(flags, "field_unreadable", NAN, NAN, c.unreadable_review_only ? BN_SEV_REVIEW : -1);
        if (f)
            json_object_set(f, "fields", c.unreadable);
    }
    json_decref(c.unreadable);
    json_decref(own);
    return 0;
}

int bn_checks_run(const char *doc_type, const char *side, json_t *fields, const json_t *form, const char *today,
                  json_t *checks, json_t *flags)
{
    return bn_checks_run_cfg(NULL, doc_type, side, fields, form, today, checks, flags);
}
