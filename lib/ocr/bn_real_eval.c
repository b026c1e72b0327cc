/* bn_real_eval — `beian eval real DIR...` (see bn_real_eval.h). */
#include "ocr/bn_real_eval.h"
#include "core/bn_normalize.h"
#include "core/bn_config.h"
#include "core/bn_error.h"
#include "core/bn_file.h"
#include "core/bn_flags.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- UTF-8 ------------------------------------------------------------------------------ */

/* Decode one code point at s (advances *n bytes); an invalid byte decodes as itself. */
static uint32_t s_utf8(const unsigned char *s, int *n)
{
    if (s[0] < 0x80) {
        *n = 1;
        return s[0];
    }
    int len = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    uint32_t cp = len == 2 ? s[0] & 0x1Fu : len == 3 ? s[0] & 0x0Fu : s[0] & 0x07u;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            len = 0;
            break;
        }
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if (!len) {
        *n = 1;
        return 0xFFFD;
    }
    *n = len;
    return cp;
}

/* Append cp to out[*k] if it fits (with the NUL). */
static void s_put(char *out, size_t size, size_t *k, uint32_t cp)
{
    char b[4];
    int n;
    if (cp < 0x80) b[0] = (char)cp, n = 1;
    else if (cp < 0x800) b[0] = (char)(0xC0 | cp >> 6), b[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        b[0] = (char)(0xE0 | cp >> 12), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        b[0] = (char)(0xF0 | cp >> 18), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F)), b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)),
        b[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    if (*k + (size_t)n < size) {
        memcpy(out + *k, b, (size_t)n);
        *k += (size_t)n;
    }
    out[*k] = '\0';
}

static int s_cjk(uint32_t cp)
{
    return (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
           (cp >= 0x20000 && cp <= 0x3FFFF) || cp == 0x3007 /* 〇 */;
}

/* The next code point of *p, full-width ASCII folded to ASCII; *p moves past it. */
static uint32_t s_next_folded(const unsigned char **p)
{
    int n;
    uint32_t cp = s_utf8(*p, &n);
    *p += n;
    return cp >= 0xFF01 && cp <= 0xFF5E ? cp - 0xFEE0 : cp;
}

char *bn_real_norm(const char *in, int upper, char *out, size_t size)
{
    size_t k = 0;
    if (!size)
        return out;
    out[0] = '\0';
    for (const unsigned char *p = (const unsigned char *)(in ? in : ""); *p;) {
        uint32_t cp = s_next_folded(&p);
        if (cp == 0x3000 || cp == 0xA0 || (cp < 0x80 && isspace((int)cp)))
            continue;
        if ((cp >= 0x2012 && cp <= 0x2015) || cp == 0x2212)
            cp = '-';
        if (upper && cp >= 'a' && cp <= 'z')
            cp -= 'a' - 'A';
        s_put(out, size, &k, cp);
    }
    return out;
}

char *bn_real_mask(const char *in, char *out, size_t size)
{
    size_t k = 0;
    if (!size)
        return out;
    out[0] = '\0';
    for (const unsigned char *p = (const unsigned char *)(in ? in : ""); *p;) {
        uint32_t cp = s_next_folded(&p);
        if (s_cjk(cp))
            s_put(out, size, &k, 0x5B57); /* 字 */
        else if (cp >= '0' && cp <= '9')
            s_put(out, size, &k, '9');
        else if ((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z'))
            s_put(out, size, &k, 'A');
        else if ((cp < 0x80 && cp >= 0x20) || (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0x2000 && cp <= 0x206F) ||
                 (cp >= 0xFF00 && cp <= 0xFF65))
            s_put(out, size, &k, cp); /* punctuation and spaces */
        else
            s_put(out, size, &k, '?');
    }
    return out;
}

char *bn_real_mask_file(const char *path, char *out, size_t size)
{
    const char *base = path ? strrchr(path, '/') : NULL;
    base = base ? base + 1 : path ? path : "";
    size_t k = 0;
    if (!size)
        return out;
    out[0] = '\0';
    for (const unsigned char *p = (const unsigned char *)base; *p;) {
        size_t run = strspn((const char *)p, "0123456789");
        if (run >= 15) {
            for (size_t i = 0; i < run; i++)
                s_put(out, size, &k, '9');
            p += run;
            if (*p == 'X' || *p == 'x')
                s_put(out, size, &k, '9'), p++;
            continue;
        }
        if (run) {
            for (size_t i = 0; i < run; i++)
                s_put(out, size, &k, p[i]);
            p += run;
            continue;
        }
        int n;
        uint32_t cp = s_utf8(p, &n);
        p += n;
        s_put(out, size, &k, s_cjk(cp) ? 0x5B57 : cp < 0x20 ? '?' : cp);
    }
    return out;
}

/* ---- dates ------------------------------------------------------------------------------ */

/* 长期 (and 永久, "permanent", which some licences print) */
static int s_long_term(const char *s)
{
    return !strcmp(s, "长期") || !strcmp(s, "長期") || !strcmp(s, "永久") || !strcasecmp(s, "long-term");
}

int bn_real_term_end(const char *term, bn_date_t *until, int *long_term)
{
    char a[512], b[512];
    bn_date_t from;
    *until = (bn_date_t){0, 0, 0};
    *long_term = 0;
    if (!term)
        return -1;
    /* Chinese numerals → digits (二〇一五年三月十二日 → 2015年3月12日) as addresses are compared */
    bn_real_norm(term, 0, a, sizeof a);
    if (bn_norm(a, BN_NORM_ADDRESS, b, sizeof b) < 0)
        return -1;
    if (s_long_term(b)) {
        *long_term = 1;
        return 0;
    }
    if (bn_validity_parse(b, &from, until, long_term) == 0)
        return 0;
    const char *to = strstr(b, "至");
    if (to) {
        to += strlen("至");
        if (s_long_term(to)) {
            *long_term = 1;
            return 0;
        }
        if (bn_date_parse(to, until) == 0)
            return 0;
    }
    *until = (bn_date_t){0, 0, 0};
    return -1;
}

static int s_date_eq(const bn_date_t *a, const bn_date_t *b)
{
    return a->y == b->y && a->m == b->m && a->d == b->d;
}

/* ---- field mapping ---------------------------------------------------------------------- */

typedef enum {
    CMP_TEXT,     /* normalised strings equal */
    CMP_CODE,     /* the same, Latin letters upper-cased */
    CMP_DATE,     /* equal dates (any format bn_date_parse reads), else equal strings */
    CMP_VALIDITY, /* GT "YYYY.MM.DD-YYYY.MM.DD|长期" vs our valid_from + valid_until: both must match */
    CMP_TERM,     /* licence business term: our business_term (normalised string) when present,
                     else the term's end vs our valid_until (a date or long-term) */
} s_cmp_t;

/* Ground-truth key → our result's key (documents[0].fields.KEY.value), per document type. A
 * new key is one line; GT keys not listed here are reported as "unmapped". */
static const struct {
    const char *type, *gt, *ours;
    s_cmp_t cmp;
} s_map[] = {
    {"id-card", "name", "name", CMP_TEXT},
    {"id-card", "sex", "sex", CMP_TEXT},
    {"id-card", "ethnicity", "ethnicity", CMP_TEXT},
    {"id-card", "birth_date", "birth_date", CMP_DATE},
    {"id-card", "address", "address", CMP_TEXT},
    {"id-card", "id_number", "id_number", CMP_CODE},
    {"id-card", "authority", "issuing_authority", CMP_TEXT},
    {"id-card", "validity", "valid_from+valid_until", CMP_VALIDITY},
    {"business-license", "credit_code", "credit_code", CMP_CODE},
    {"business-license", "name", "name", CMP_TEXT},
    {"business-license", "type", "type", CMP_TEXT},
    {"business-license", "legal_representative", "legal_representative", CMP_TEXT},
    {"business-license", "operator", "operator", CMP_TEXT},
    {"business-license", "investor", "investor", CMP_TEXT},
    {"business-license", "person_in_charge", "person_in_charge", CMP_TEXT},
    {"business-license", "registered_capital", "registered_capital", CMP_TEXT},
    {"business-license", "address", "address", CMP_TEXT},
    {"business-license", "date_of_establishment", "established_date", CMP_DATE},
    {"business-license", "issue_date", "issue_date", CMP_DATE},
    {"business-license", "business_term", "business_term|valid_until", CMP_TERM},
    {"business-license", "registration_number", "registration_number", CMP_CODE},
};
#define NMAP (sizeof s_map / sizeof s_map[0])

static int s_map_find(const char *type, const char *key)
{
    for (size_t i = 0; i < NMAP; i++)
        if (!strcmp(s_map[i].type, type) && !strcmp(s_map[i].gt, key))
            return (int)i;
    return -1;
}

/* Our value of a field, or NULL when absent / not a string / empty. */
static const char *s_ours(const json_t *fields, const char *key)
{
    const char *v = json_string_value(json_object_get(json_object_get(fields, key), "value"));
    return v && *v ? v : NULL;
}

static int s_date_match(const char *ours, const char *truth)
{
    char a[256], b[256];
    bn_date_t da, db;
    bn_real_norm(ours, 0, a, sizeof a);
    bn_real_norm(truth, 0, b, sizeof b);
    if (bn_date_parse(a, &da) == 0 && bn_date_parse(b, &db) == 0)
        return s_date_eq(&da, &db);
    return strcmp(a, b) == 0;
}

/* "long-term" or a date vs an end date / long_term. */
static int s_until_match(const char *ours, const bn_date_t *until, int long_term)
{
    char a[256];
    bn_date_t d;
    if (!ours)
        return 0;
    bn_real_norm(ours, 0, a, sizeof a);
    if (long_term)
        return s_long_term(a);
    return bn_date_parse(a, &d) == 0 && s_date_eq(&d, until);
}

/* Score one field. Returns 1 ok, 0 miss, -1 not scorable (ground truth unparsable). ours_shown
 * gets the value compared (for the masked display). */
static int s_score(int m, const json_t *fields, const char *truth, char *ours_shown, size_t size)
{
    char a[1024], b[1024];
    ours_shown[0] = '\0';
    switch (s_map[m].cmp) {
    case CMP_TEXT:
    case CMP_CODE: {
        const char *o = s_ours(fields, s_map[m].ours);
        int up = s_map[m].cmp == CMP_CODE;
        bn_real_norm(o, up, ours_shown, size);
        return o && strcmp(bn_real_norm(o, up, a, sizeof a), bn_real_norm(truth, up, b, sizeof b)) == 0;
    }
    case CMP_DATE: {
        const char *o = s_ours(fields, s_map[m].ours);
        bn_real_norm(o, 0, ours_shown, size);
        return o && s_date_match(o, truth);
    }
    case CMP_VALIDITY: {
        const char *f = s_ours(fields, "valid_from"), *u = s_ours(fields, "valid_until");
        bn_date_t from, until, df;
        int lt;
        snprintf(ours_shown, size, "%s-%s", f ? f : "", u ? u : "");
        bn_real_norm(truth, 0, b, sizeof b);
        if (bn_validity_parse(b, &from, &until, &lt) != 0)
            return -1;
        if (!f || bn_date_parse(bn_real_norm(f, 0, a, sizeof a), &df) != 0 || !s_date_eq(&df, &from))
            return 0;
        return s_until_match(u, &until, lt);
    }
    case CMP_TERM: {
        const char *t = s_ours(fields, "business_term");
        if (t) {
            bn_real_norm(t, 0, ours_shown, size);
            return strcmp(bn_real_norm(t, 0, a, sizeof a), bn_real_norm(truth, 0, b, sizeof b)) == 0;
        }
        const char *u = s_ours(fields, "valid_until");
        bn_date_t until;
        int lt;
        bn_real_norm(u, 0, ours_shown, size);
        if (bn_real_term_end(truth, &until, &lt) != 0)
            return -1;
        return s_until_match(u, &until, lt);
    }
    }
    return 0;
}

/* Did we output anything for a mapped field? */
static int s_any_output(int m, const json_t *fields)
{
    if (s_map[m].cmp == CMP_VALIDITY)
        return s_ours(fields, "valid_from") || s_ours(fields, "valid_until");
    if (s_map[m].cmp == CMP_TERM)
        return s_ours(fields, "business_term") || s_ours(fields, "valid_until");
    return s_ours(fields, s_map[m].ours) != NULL;
}

/* ---- one image -------------------------------------------------------------------------- */

/* GT booleans: false, "false", "no", "invalid", 0 → 0; true, "true", "yes", "valid", nonzero → 1;
 * anything else (null, absent, unknown) → -1. */
static int s_truth_bool(const json_t *v)
{
    if (json_is_boolean(v))
        return json_is_true(v);
    if (json_is_integer(v))
        return json_integer_value(v) != 0;
    const char *s = json_string_value(v);
    if (s && (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "invalid")))
        return 0;
    if (s && (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "valid")))
        return 1;
    return -1;
}

/* An expectation: rule name, flag, and whether the GT says the flag is due (1), not due (0),
 * or says nothing (-1: not added). */
static void s_expect(json_t *arr, const char *rule, const char *flag, int due, const json_t *flags)
{
    if (due < 0)
        return;
    json_array_append_new(arr, json_pack("{s:s, s:s, s:b, s:b}", "rule", rule, "flag", flag, "expected", due,
                                         "raised", bn_flags_has(flags, flag)));
}

/* Is an end date before today? 1 yes, 0 no (or long-term), -1 unknown. */
static int s_expired(int parsed, const bn_date_t *until, int long_term, const bn_date_t *today)
{
    if (!parsed)
        return -1;
    if (long_term)
        return 0;
    return bn_date_days_between(today, until) < 0;
}

json_t *bn_real_eval_image(const json_t *gt, const json_t *result, const char *error, const char *today_s,
                           const char *label, double cpu_s)
{
    const char *type = json_string_value(json_object_get(gt, "type"));
    const char *side = json_string_value(json_object_get(gt, "side"));
    if (!type)
        type = "";
    if (!side)
        side = "front";
    int acceptable = json_is_true(json_object_get(gt, "acceptable"));
    json_t *doc = json_array_get(json_object_get(result, "documents"), 0);
    json_t *flags = json_object_get(doc, "flags"), *fields = json_object_get(doc, "fields");
    const char *verdict = json_string_value(json_object_get(result, "verdict"));
    json_t *reasons = json_object_get(gt, "reasons");
    reasons = json_is_array(reasons) ? json_deep_copy(reasons) : json_array();
    json_t *rec = json_pack("{s:s, s:s, s:s, s:b, s:o, s:s?, s:f}", "label", label ? label : "", "type", type,
                            "side", side, "acceptable", acceptable, "reasons", reasons, "verdict", verdict,
                            "cpu_s", cpu_s);
    if (error || !result)
        json_object_set_new(rec, "error", json_string(error ? error : "no result"));

    /* flags: code, stage, severity, metric and threshold (image measures, never field values) */
    json_t *fl = json_array(), *sent = json_array();
    int caught = 0;
    size_t i;
    json_t *f;
    json_array_foreach(flags, i, f) {
        const char *code = json_string_value(json_object_get(f, "code"));
        const char *stage = json_string_value(json_object_get(f, "stage"));
        const char *sev = json_string_value(json_object_get(f, "severity"));
        if (!code)
            continue;
        json_t *o = json_pack("{s:s, s:s, s:s}", "code", code, "stage", stage ? stage : "", "severity", sev ? sev : "");
        if (json_is_number(json_object_get(f, "metric")))
            json_object_set(o, "metric", json_object_get(f, "metric"));
        if (json_is_number(json_object_get(f, "threshold")))
            json_object_set(o, "threshold", json_object_get(f, "threshold"));
        json_array_append_new(fl, o);
        int hard = sev && (!strcmp(sev, "reshoot") || !strcmp(sev, "reject"));
        if (hard && stage && !strcmp(stage, "quality"))
            json_array_append_new(sent, json_string(code));
        if (hard && stage && (!strcmp(stage, "quality") || !strcmp(stage, "ocr")))
            caught = 1;
    }
    json_object_set_new(rec, "flags", fl);
    json_object_set_new(rec, "sent_back", sent);
    json_object_set_new(rec, "caught", json_boolean(caught));

    /* fields */
    json_t *out = json_array(), *unmapped = json_array();
    int unreadable = 0, unparsed = 0, not_printed = 0, np_output = 0;
    const char *key;
    json_t *tv;
    /* an image the job could not run on (unreadable file, refused spec) is an error, not scored */
    json_object_foreach(result ? json_object_get(gt, "fields") : NULL, key, tv) {
        int m = s_map_find(type, key);
        if (m < 0) {
            json_array_append_new(unmapped, json_string(key));
            continue;
        }
        const char *truth = json_string_value(tv);
        if (!truth || !*truth || !strcmp(truth, "unreadable")) {
            unreadable++;
            continue;
        }
        if (!strcmp(truth, "not_printed")) {
            not_printed++;
            np_output += s_any_output(m, fields);
            continue;
        }
        char shown[1024], mo[1024], mt[1024], nt[1024];
        /* '*' in a ground-truth value: redacted there, nothing can match it */
        int ok = strchr(truth, '*') ? -1 : s_score(m, fields, truth, shown, sizeof shown);
        if (ok < 0) {
            unparsed++;
            continue;
        }
        /* a value filled in from another field (sex and birth date from the ID number) */
        int derived = json_object_get(json_object_get(fields, s_map[m].ours), "source") != NULL;
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:s, s:s}", "type", type, "key", key, "ours",
                                             s_map[m].ours, "ok", ok, "derived", derived, "absent", !s_any_output(m, fields),
                                             "ours_masked", bn_real_mask(shown, mo, sizeof mo), "truth_masked",
                                             bn_real_mask(bn_real_norm(truth, 0, nt, sizeof nt), mt, sizeof mt)));
    }
    json_object_set_new(rec, "fields", out);
    json_object_set_new(rec, "unreadable", json_integer(unreadable));
    json_object_set_new(rec, "unparsed", json_integer(unparsed));
    json_object_set_new(rec, "not_printed", json_integer(not_printed));
    json_object_set_new(rec, "not_printed_output", json_integer(np_output));
    json_object_set_new(rec, "unmapped", unmapped);

    /* validation flags the ground truth implies */
    json_t *exp = json_array();
    bn_date_t today = bn_today(today_s), until;
    int lt = 0; /* read only when ok, but passed by value either way */
    const json_t *checks = json_object_get(gt, "checks");
    const char *tf = NULL;
    if (!result) {
        /* nothing to expect of a job that did not run */
    } else if (!strcmp(type, "id-card") && strcmp(side, "back") != 0) {
        int v = s_truth_bool(json_object_get(checks, "id_check_digit_valid"));
        s_expect(exp, "id_check_digit", "number_checksum_invalid", v < 0 ? -1 : !v, flags);
        v = s_truth_bool(json_object_get(checks, "id_birth_matches_printed"));
        s_expect(exp, "id_birth_matches_printed", "number_birth_mismatch", v < 0 ? -1 : !v, flags);
    } else if (!strcmp(type, "id-card")) {
        tf = json_string_value(json_object_get(json_object_get(gt, "fields"), "validity"));
        char nb[512];
        bn_date_t from;
        int ok = tf && bn_validity_parse(bn_real_norm(tf, 0, nb, sizeof nb), &from, &until, &lt) == 0;
        s_expect(exp, "id_validity_ended", "expired", s_expired(ok, &until, lt, &today), flags);
    } else if (!strcmp(type, "business-license")) {
        const json_t *cc = json_object_get(gt, "credit_code_check");
        int v = s_truth_bool(json_is_object(cc) ? json_object_get(cc, "validates") : cc);
        s_expect(exp, "credit_code_check", "number_checksum_invalid", v < 0 ? -1 : !v, flags);
        tf = json_string_value(json_object_get(json_object_get(gt, "fields"), "business_term"));
        int ok = tf && bn_real_term_end(tf, &until, &lt) == 0;
        s_expect(exp, "business_term_ended", "expired", s_expired(ok, &until, lt, &today), flags);
    }
    json_object_set_new(rec, "expect", exp);
    return rec;
}

/* ---- summary ---------------------------------------------------------------------------- */

static void s_inc(json_t *obj, const char *key, const char *member, int by)
{
    json_t *o = json_object_get(obj, key);
    if (!o) {
        o = json_object();
        json_object_set_new(obj, key, o);
    }
    json_object_set_new(o, member, json_integer(json_integer_value(json_object_get(o, member)) + by));
}

static void s_inc1(json_t *obj, const char *key, int by)
{
    json_object_set_new(obj, key, json_integer(json_integer_value(json_object_get(obj, key)) + by));
}

static const char *const s_verdicts[] = {"pass", "review", "reshoot", "reject", "other"};
/* the validation rules in report order, with the flag each expects */
static const char *const s_rules[][2] = {
    {"id_check_digit", "number_checksum_invalid"},
    {"id_birth_matches_printed", "number_birth_mismatch"},
    {"credit_code_check", "number_checksum_invalid"},
    {"id_validity_ended", "expired"},
    {"business_term_ended", "expired"},
};

json_t *bn_real_eval_summary(const json_t *records, const char *today, double wall_s)
{
    json_t *types = json_object(), *keys = json_object(), *kinds = json_object(),
           *all = json_pack("{s:i, s:i, s:i}", "n", 0, "exact", 0, "derived", 0);
    json_t *unmapped = json_object(), *sent_by = json_object(), *reason = json_object(), *rules = json_object();
    json_t *verd = json_object();
    json_object_set_new(verd, "acceptable", json_object());
    json_object_set_new(verd, "unacceptable", json_object());
    for (int v = 0; v < 5; v++) {
        json_object_set_new(json_object_get(verd, "acceptable"), s_verdicts[v], json_integer(0));
        json_object_set_new(json_object_get(verd, "unacceptable"), s_verdicts[v], json_integer(0));
    }
    for (size_t r = 0; r < sizeof s_rules / sizeof s_rules[0]; r++)
        json_object_set_new(rules, s_rules[r][0], json_pack("{s:s, s:i, s:i, s:i, s:i}", "flag", s_rules[r][1], "expected", 0,
                                                             "raised", 0, "negatives", 0, "false_alarms", 0));
    int images = 0, errors = 0, unreadable = 0, unparsed = 0, np = 0, np_out = 0;
    int acc = 0, sent = 0, unacc = 0, caught = 0;
    double cpu = 0;
    size_t i, j;
    json_t *rec, *x;
    json_array_foreach(records, i, rec) {
        images++;
        const char *type = json_string_value(json_object_get(rec, "type"));
        s_inc1(types, type, 1);
        if (json_object_get(rec, "error")) {
            errors++; /* not scored */
            continue;
        }
        cpu += json_real_value(json_object_get(rec, "cpu_s"));
        unreadable += (int)json_integer_value(json_object_get(rec, "unreadable"));
        unparsed += (int)json_integer_value(json_object_get(rec, "unparsed"));
        np += (int)json_integer_value(json_object_get(rec, "not_printed"));
        np_out += (int)json_integer_value(json_object_get(rec, "not_printed_output"));
        json_array_foreach(json_object_get(rec, "unmapped"), j, x) {
            char k[160];
            snprintf(k, sizeof k, "%s.%s", type, json_string_value(x));
            s_inc1(unmapped, k, 1);
        }
        json_array_foreach(json_object_get(rec, "fields"), j, x) {
            int ok = json_is_true(json_object_get(x, "ok"));
            char k[160];
            snprintf(k, sizeof k, "%s.%s", type, json_string_value(json_object_get(x, "key")));
            if (!json_object_get(keys, k))
                json_object_set_new(keys, k, json_pack("{s:s, s:s, s:s, s:i, s:i, s:i}", "type", type, "key",
                                                       json_string_value(json_object_get(x, "key")), "ours",
                                                       json_string_value(json_object_get(x, "ours")), "n", 0,
                                                       "exact", 0, "absent", 0));
            s_inc(keys, k, "n", 1);
            s_inc(keys, k, "exact", ok);
            s_inc(keys, k, "absent", json_is_true(json_object_get(x, "absent")));
            s_inc(kinds, type, "n", 1);
            s_inc(kinds, type, "exact", ok);
            s_inc1(all, "n", 1);
            s_inc1(all, "exact", ok);
            s_inc1(all, "derived", ok && json_is_true(json_object_get(x, "derived")));
        }
        int a = json_is_true(json_object_get(rec, "acceptable"));
        if (a) {
            acc++;
            json_t *sb = json_object_get(rec, "sent_back");
            sent += json_array_size(sb) > 0;
            /* each code once per image */
            json_array_foreach(sb, j, x) {
                size_t k2;
                json_t *y;
                int dup = 0;
                json_array_foreach(sb, k2, y) if (k2 < j && json_equal(x, y)) dup = 1;
                if (!dup)
                    s_inc1(sent_by, json_string_value(x), 1);
            }
        } else {
            unacc++;
            int c = json_is_true(json_object_get(rec, "caught"));
            caught += c;
            json_t *rs = json_object_get(rec, "reasons");
            if (json_array_size(rs) == 0) {
                s_inc(reason, "(none given)", "n", 1);
                s_inc(reason, "(none given)", "caught", c);
            }
            json_array_foreach(rs, j, x) {
                if (!json_is_string(x))
                    continue;
                s_inc(reason, json_string_value(x), "n", 1);
                s_inc(reason, json_string_value(x), "caught", c);
            }
        }
        const char *v = json_string_value(json_object_get(rec, "verdict"));
        int vi = 4;
        for (int k = 0; v && k < 4; k++)
            if (!strcmp(v, s_verdicts[k]))
                vi = k;
        s_inc(verd, a ? "acceptable" : "unacceptable", s_verdicts[vi], 1);
        json_array_foreach(json_object_get(rec, "expect"), j, x) {
            const char *rule = json_string_value(json_object_get(x, "rule"));
            int raised = json_is_true(json_object_get(x, "raised"));
            if (json_is_true(json_object_get(x, "expected"))) {
                s_inc(rules, rule, "expected", 1);
                s_inc(rules, rule, "raised", raised);
            } else {
                s_inc(rules, rule, "negatives", 1);
                s_inc(rules, rule, "false_alarms", raised);
            }
        }
    }
    /* keys in the mapping table's order */
    json_t *key_list = json_array();
    for (size_t m = 0; m < NMAP; m++) {
        char k[160];
        snprintf(k, sizeof k, "%s.%s", s_map[m].type, s_map[m].gt);
        if (json_object_get(keys, k))
            json_array_append(key_list, json_object_get(keys, k));
    }
    json_decref(keys);
    json_t *rule_list = json_array();
    for (size_t r = 0; r < sizeof s_rules / sizeof s_rules[0]; r++) {
        json_t *o = json_object_get(rules, s_rules[r][0]);
        json_object_set_new(o, "rule", json_string(s_rules[r][0]));
        json_array_append(rule_list, o);
    }
    json_decref(rules);
    return json_pack("{s:s, s:i, s:i, s:o, "
                     "s:{s:o, s:o, s:o, s:i, s:i, s:{s:i, s:i}, s:o}, "
                     "s:{s:i, s:i, s:o, s:i, s:i, s:o}, "
                     "s:o, s:o, "
                     "s:{s:f, s:f, s:f}}",
                     "today", today ? today : "", "images", images, "errors", errors, "types", types,
                     "fields", "keys", key_list, "kinds", kinds, "all", all, "unreadable", unreadable, "unparsed",
                     unparsed, "not_printed", "n", np, "output", np_out, "unmapped", unmapped,
                     "quality", "acceptable", acc, "sent_back", sent, "sent_back_by", sent_by, "unacceptable", unacc,
                     "caught", caught, "caught_by_reason", reason,
                     "validation", rule_list, "verdicts", verd,
                     "time", "wall_s", wall_s, "cpu_s", cpu, "cpu_per_image_s", images > errors ? cpu / (images - errors) : 0.0);
}

/* ---- report ----------------------------------------------------------------------------- */

static int s_geti(const json_t *o, const char *k) { return (int)json_integer_value(json_object_get(o, k)); }

static double s_pct(int a, int n) { return n ? 100.0 * a / n : 0.0; }

static void s_print_image(const json_t *rec, int verbose)
{
    size_t i;
    json_t *x;
    printf("  %-46s %s:%-5s %-7s %s", json_string_value(json_object_get(rec, "label")),
           json_string_value(json_object_get(rec, "type")), json_string_value(json_object_get(rec, "side")),
           json_string_value(json_object_get(rec, "verdict")) ? json_string_value(json_object_get(rec, "verdict")) : "-",
           json_is_true(json_object_get(rec, "acceptable")) ? "acceptable" : "unacceptable");
    json_array_foreach(json_object_get(rec, "reasons"), i, x)
        printf("%s%s", i ? "," : " (", json_string_value(x));
    if (json_array_size(json_object_get(rec, "reasons")))
        printf(")");
    if (json_object_get(rec, "error"))
        printf(" ERROR %s", json_string_value(json_object_get(rec, "error")));
    printf("\n    flags:");
    if (json_array_size(json_object_get(rec, "flags")) == 0)
        printf(" none");
    json_array_foreach(json_object_get(rec, "flags"), i, x) {
        printf(" %s(%s", json_string_value(json_object_get(x, "code")), json_string_value(json_object_get(x, "severity")));
        if (json_is_number(json_object_get(x, "metric")))
            printf(" %.3g/%.3g", json_number_value(json_object_get(x, "metric")),
                   json_number_value(json_object_get(x, "threshold")));
        printf(")");
    }
    printf("\n    fields:");
    json_array_foreach(json_object_get(rec, "fields"), i, x)
        printf(" %s %s", json_string_value(json_object_get(x, "key")),
               json_is_true(json_object_get(x, "ok")) ? "ok" : json_is_true(json_object_get(x, "absent")) ? "MISS(none)" : "MISS");
    printf("\n");
    if (verbose >= 2)
        json_array_foreach(json_object_get(rec, "fields"), i, x)
            printf("      %-22s ours '%s'  truth '%s'\n", json_string_value(json_object_get(x, "key")),
                   json_string_value(json_object_get(x, "ours_masked")),
                   json_string_value(json_object_get(x, "truth_masked")));
    json_array_foreach(json_object_get(rec, "expect"), i, x)
        if (json_is_true(json_object_get(x, "expected")) || json_is_true(json_object_get(x, "raised")))
            printf("    expect %s: %s %s, %s\n", json_string_value(json_object_get(x, "rule")),
                   json_string_value(json_object_get(x, "flag")),
                   json_is_true(json_object_get(x, "expected")) ? "due" : "not due",
                   json_is_true(json_object_get(x, "raised")) ? "raised" : "not raised");
}

void bn_real_eval_print(const json_t *s, const json_t *records, int verbose)
{
    size_t i;
    json_t *x;
    const char *k;
    if (verbose >= 1) {
        printf("per image (values are never shown%s):\n", verbose >= 2 ? "; masked: CJK 字, digit 9, letter A" : "");
        json_array_foreach(records, i, x)
            s_print_image(x, verbose);
        printf("\n");
    }
    json_t *types = json_object_get(s, "types");
    printf("real-photo eval: %d images (", s_geti(s, "images"));
    int first = 1;
    json_object_foreach(types, k, x) {
        printf("%s%d %s", first ? "" : ", ", (int)json_integer_value(x), k);
        first = 0;
    }
    printf("), %d errors, today %s\n\n", s_geti(s, "errors"), json_string_value(json_object_get(s, "today")));

    json_t *f = json_object_get(s, "fields");
    printf("Fields (exact after normalisation; 'unreadable' not scored)\n");
    printf("  %-40s %-28s %5s %6s %7s %7s\n", "field", "our key", "n", "exact", "rate", "absent");
    json_array_foreach(json_object_get(f, "keys"), i, x) {
        char name[96];
        snprintf(name, sizeof name, "%s.%s", json_string_value(json_object_get(x, "type")),
                 json_string_value(json_object_get(x, "key")));
        printf("  %-40s %-28s %5d %6d %6.1f%% %7d\n", name, json_string_value(json_object_get(x, "ours")), s_geti(x, "n"),
               s_geti(x, "exact"), s_pct(s_geti(x, "exact"), s_geti(x, "n")), s_geti(x, "absent"));
    }
    json_object_foreach(json_object_get(f, "kinds"), k, x) {
        char name[96];
        snprintf(name, sizeof name, "%s (all fields)", k);
        printf("  %-40s %-28s %5d %6d %6.1f%%\n", name, "", s_geti(x, "n"), s_geti(x, "exact"),
               s_pct(s_geti(x, "exact"), s_geti(x, "n")));
    }
    json_t *all = json_object_get(f, "all");
    printf("  %-40s %-28s %5d %6d %6.1f%%\n", "all fields", "", s_geti(all, "n"), s_geti(all, "exact"),
           s_pct(s_geti(all, "exact"), s_geti(all, "n")));
    printf("  of the exact, %d not read but filled in from the ID number (sex, birth date; \"source\")\n",
           s_geti(all, "derived"));
    json_t *np = json_object_get(f, "not_printed");
    printf("  not scored: %d unreadable, %d redacted/unparsable in the ground truth; not_printed %d (we output a value for %d)\n",
           s_geti(f, "unreadable"), s_geti(f, "unparsed"), s_geti(np, "n"), s_geti(np, "output"));
    if (json_object_size(json_object_get(f, "unmapped"))) {
        printf("  ground-truth keys without a mapping:");
        json_object_foreach(json_object_get(f, "unmapped"), k, x)
            printf(" %s (%d)", k, (int)json_integer_value(x));
        printf("\n");
    }

    json_t *q = json_object_get(s, "quality");
    printf("\nQuality verdicts\n");
    printf("  acceptable captures %d, sent back (quality flag reshoot/reject) %d (%.1f%%)\n", s_geti(q, "acceptable"),
           s_geti(q, "sent_back"), s_pct(s_geti(q, "sent_back"), s_geti(q, "acceptable")));
    json_object_foreach(json_object_get(q, "sent_back_by"), k, x)
        printf("    %-24s %4d\n", k, (int)json_integer_value(x));
    printf("  unacceptable captures %d, caught (quality/ocr flag reshoot/reject) %d (%.1f%%)\n", s_geti(q, "unacceptable"),
           s_geti(q, "caught"), s_pct(s_geti(q, "caught"), s_geti(q, "unacceptable")));
    printf("    %-24s %4s %7s\n", "reason", "n", "caught");
    json_object_foreach(json_object_get(q, "caught_by_reason"), k, x)
        printf("    %-24s %4d %7d\n", k, s_geti(x, "n"), s_geti(x, "caught"));

    printf("\nExpected validation flags\n");
    printf("  %-26s %-24s %8s %7s %10s %7s\n", "rule (ground truth)", "flag", "expected", "raised", "negatives", "false");
    json_array_foreach(json_object_get(s, "validation"), i, x)
        printf("  %-26s %-24s %8d %7d %10d %7d\n", json_string_value(json_object_get(x, "rule")),
               json_string_value(json_object_get(x, "flag")), s_geti(x, "expected"), s_geti(x, "raised"),
               s_geti(x, "negatives"), s_geti(x, "false_alarms"));

    printf("\nVerdicts (job)\n  %-16s", "acceptable");
    for (int v = 0; v < 5; v++)
        printf(" %8s", s_verdicts[v]);
    printf("\n");
    for (int a = 0; a < 2; a++) {
        json_t *row = json_object_get(json_object_get(s, "verdicts"), a ? "unacceptable" : "acceptable");
        printf("  %-16s", a ? "no" : "yes");
        for (int v = 0; v < 5; v++)
            printf(" %8d", s_geti(row, s_verdicts[v]));
        printf("\n");
    }
    json_t *t = json_object_get(s, "time");
    printf("\nTime: %.1f s total, %.2f s CPU per image (mean)\n", json_real_value(json_object_get(t, "wall_s")),
           json_real_value(json_object_get(t, "cpu_per_image_s")));
}

/* ---- the command ------------------------------------------------------------------------ */

static double s_clock(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void s_usage(FILE *to)
{
    fprintf(to, "usage: beian eval real [--today YYYY-MM-DD] [--json] [-v [-v]] [--limit N] [--only SUBSTRING]\n"
                "                       [--config FILE] DIR...\n"
                "  DIR holds GROUND_TRUTH.json (an array of {file, type, side, fields, checks, acceptable, reasons})\n"
                "  and the images it names. Runs the job `beian check` runs on each image and scores fields,\n"
                "  quality verdicts, expected validation flags and verdicts. Values are never printed\n"
                "  (-v: ok/miss per field; -v -v: values masked, CJK 字, digit 9, letter A).\n");
}

int bn_real_eval_main(int argc, char **argv, bn_stage_fn const stages[BN_STAGE_COUNT])
{
    const char *today = NULL, *only = NULL, *cfgpath = NULL;
    int json_out = 0, verbose = 0, limit = 0;
    static struct option lo[] = {{"today", 1, 0, 't'}, {"json", 0, 0, 'j'}, {"verbose", 0, 0, 'v'},
                                 {"limit", 1, 0, 'n'}, {"only", 1, 0, 'o'}, {"config", 1, 0, 'C'},
                                 {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
        switch (ch) {
        case 't': today = optarg; break;
        case 'j': json_out = 1; break;
        case 'v': verbose++; break;
        case 'n': limit = atoi(optarg); break;
        case 'o': only = optarg; break;
        case 'C': cfgpath = optarg; break;
        case 'h': s_usage(stdout); return 0;
        default: s_usage(stderr); return 1;
        }
    }
    if (optind >= argc) {
        s_usage(stderr);
        return 1;
    }
    bn_date_t td;
    int y, m, d;
    char tail;
    if (today && (strlen(today) != 10 || sscanf(today, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
                  bn_date_parse(today, &td) != 0)) {
        fprintf(stderr, "beian eval real: --today wants YYYY-MM-DD, got '%s'\n", today);
        return 1;
    }
    int ndirs = argc - optind;
    json_t **truth = calloc((size_t)ndirs, sizeof *truth);
    for (int i = 0; i < ndirs; i++) {
        char path[4096];
        json_error_t err;
        snprintf(path, sizeof path, "%s/GROUND_TRUTH.json", argv[optind + i]);
        truth[i] = json_load_file(path, 0, &err);
        if (!json_is_array(truth[i])) {
            if (access(path, F_OK) != 0)
                fprintf(stderr, "beian eval real: %s: no GROUND_TRUTH.json there\n", argv[optind + i]);
            else
                fprintf(stderr, "beian eval real: %s: %s\n", path,
                        truth[i] ? "not a JSON array" : err.text);
            for (int k = 0; k <= i; k++)
                json_decref(truth[k]);
            free(truth);
            return 1;
        }
    }
    bn_config_t *cfg = bn_config_load(cfgpath);
    if (!cfg) {
        fprintf(stderr, "beian eval real: %s\n", bn_error_msg());
        for (int k = 0; k < ndirs; k++)
            json_decref(truth[k]);
        free(truth);
        return 1;
    }
    bn_date_t now = bn_today(today);
    char today_s[16];
    bn_date_format(&now, today_s, sizeof today_s);

    /* the images to run, for the progress line */
    int total = 0;
    for (int i = 0; i < ndirs; i++) {
        size_t k;
        json_t *e;
        json_array_foreach(truth[i], k, e) {
            const char *file = json_string_value(json_object_get(e, "file"));
            if (file && (!only || strstr(file, only)) && (limit <= 0 || total < limit))
                total++;
        }
    }
    int progress = !json_out && isatty(STDERR_FILENO);
    json_t *records = json_array();
    double wall0 = s_clock(CLOCK_MONOTONIC);
    int done = 0;
    for (int i = 0; i < ndirs && done < total; i++) {
        const char *dir = argv[optind + i];
        char dlabel[128];
        size_t dl = strlen(dir);
        while (dl > 1 && dir[dl - 1] == '/')
            dl--;
        const char *ds = dir + dl;
        while (ds > dir && ds[-1] != '/')
            ds--;
        snprintf(dlabel, sizeof dlabel, "%.*s", (int)(dir + dl - ds), ds);
        size_t k;
        json_t *e;
        json_array_foreach(truth[i], k, e) {
            const char *file = json_string_value(json_object_get(e, "file"));
            if (!file || (only && !strstr(file, only)))
                continue;
            if (done >= total)
                break;
            done++;
            char masked[256], label[400], path[4096];
            snprintf(label, sizeof label, "%s#%zu %s", dlabel, k, bn_real_mask_file(file, masked, sizeof masked));
            if (progress)
                fprintf(stderr, "\r  %d/%d ", done, total);
            const char *type = json_string_value(json_object_get(e, "type"));
            const char *side = json_string_value(json_object_get(e, "side"));
            snprintf(path, sizeof path, "%s/%s", dir, file);
            size_t size = 0;
            void *bytes = bn_file_read(path, 64u << 20, &size);
            json_t *result = NULL;
            char error[256] = "";
            double cpu = 0;
            if (!bytes) {
                snprintf(error, sizeof error, "cannot read the image");
            } else {
                json_t *spec = json_pack("{s:[{s:s, s:s, s:i}], s:{}}", "documents", "type", type ? type : "",
                                         "side", side ? side : "front", "blob", 1, "options");
                if (today)
                    json_object_set_new(json_object_get(spec, "options"), "now", json_string(today));
                bn_bytes_t blob = {bytes, size};
                double c0 = s_clock(CLOCK_PROCESS_CPUTIME_ID);
                bn_error_clear();
                result = bn_check_run(spec, &blob, 1, stages, cfg, NULL, NULL);
                cpu = s_clock(CLOCK_PROCESS_CPUTIME_ID) - c0;
                if (!result)
                    snprintf(error, sizeof error, "%s: %s", bn_error_code(), bn_error_msg());
                json_decref(spec);
                free(bytes);
            }
            if (error[0])
                fprintf(stderr, "%seval real: %s: %s\n", progress ? "\n" : "", label, error);
            json_array_append_new(records, bn_real_eval_image(e, result, error[0] ? error : NULL, today_s, label, cpu));
            json_decref(result);
        }
    }
    if (progress)
        fprintf(stderr, "\r%*s\r", 20, "");
    double wall = s_clock(CLOCK_MONOTONIC) - wall0;
    json_t *summary = bn_real_eval_summary(records, today_s, wall);
    if (json_out) {
        if (verbose) {
            /* per-image records; masked values only with -v -v */
            size_t k;
            json_t *r, *x;
            json_array_foreach(records, k, r) {
                size_t j;
                if (verbose < 2)
                    json_array_foreach(json_object_get(r, "fields"), j, x) {
                        json_object_del(x, "ours_masked");
                        json_object_del(x, "truth_masked");
                    }
            }
            json_object_set(summary, "per_image", records);
        }
        char *text = json_dumps(summary, JSON_INDENT(2));
        printf("%s\n", text);
        free(text);
    } else {
        bn_real_eval_print(summary, records, verbose);
    }
    json_decref(summary);
    json_decref(records);
    bn_config_destroy(&cfg);
    for (int i = 0; i < ndirs; i++)
        json_decref(truth[i]);
    free(truth);
    return 0;
}
