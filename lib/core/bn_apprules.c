#include "core/bn_apprules.h"
#include "core/bn_flags.h"
#include "core/bn_normalize.h"
#include "core/bn_validate.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    json_t *docs, *job_flags;
    double min_conf;
    int raised;
} ctx_t;

static const char *s_type(const json_t *doc) { return json_string_value(json_object_get(doc, "type")); }

static int s_is(const json_t *doc, const char *type)
{
    const char *t = s_type(doc);
    return t && strcmp(t, type) == 0;
}

/* A document that names a person: the person in charge's ID, passport or permit. */
static int s_is_person(const json_t *doc)
{
    static const char *types[] = {"id-card", "passport", "hk-macao-permit", "taiwan-permit", "residence-permit"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (s_is(doc, types[i]))
            return 1;
    return 0;
}

static int s_is_front(const json_t *doc)
{
    const char *s = json_string_value(json_object_get(doc, "side"));
    return !s || strcmp(s, "front") == 0;
}

/* The first document of a kind (is, else type), its front when it has one, or NULL. */
static json_t *s_first(json_t *docs, int (*is)(const json_t *), const char *type)
{
    json_t *any = NULL, *d;
    size_t i;
    json_array_foreach(docs, i, d) {
        if (!(is ? is(d) : s_is(d, type)))
            continue;
        if (s_is_front(d))
            return d;
        any = any ? any : d;
    }
    return any;
}

static const char *s_field(const json_t *doc, const char *key, double *conf)
{
    json_t *f = json_object_get(json_object_get(doc, "fields"), key);
    json_t *c = json_object_get(f, "confidence");
    const char *v = json_string_value(json_object_get(f, "value"));
    if (v && conf)
        *conf = fmin(*conf, json_is_number(c) ? json_number_value(c) : 1.0);
    return v && *v ? v : NULL;
}

/* Raise code on doc (NULL: the job only), about rel: related_document + related_type. */
static json_t *s_raise(ctx_t *c, json_t *doc, const json_t *rel, const char *code, int sev, double metric,
                       double threshold)
{
    json_t *f = bn_flag_add(doc ? json_object_get(doc, "flags") : c->job_flags, code, metric, threshold, sev);
    if (!f)
        return NULL;
    if (doc)
        json_object_set_new(f, "document", json_incref(json_object_get(doc, "index")));
    if (rel) {
        json_object_set_new(f, "related_document", json_incref(json_object_get(rel, "index")));
        json_object_set_new(f, "related_type", json_string(s_type(rel)));
    }
    if (doc)
        json_array_append(c->job_flags, f);
    c->raised++;
    return f;
}

/* The subject's kind: the form's entity_type when its wording says (explicit: 'P' or an
 * organisation's category), else 0. */
static char s_form_entity(const json_t *spec)
{
    return bn_entity_category(json_string_value(json_object_get(json_object_get(spec, "form"), "entity_type")));
}

/* ---- certificate type against entity type ------------------------------------------------ */

static void s_certificate_type(ctx_t *c, char entity)
{
    if (!entity)
        return; /* no declared entity type: nothing to fit the certificates to */
    json_t *licence = s_first(c->docs, NULL, "business-license"), *person = s_first(c->docs, s_is_person, NULL);
    json_t *f = NULL;
    if (entity == BN_ENTITY_PERSON && licence)
        f = s_raise(c, licence, licence, "certificate_type_mismatch", -1, NAN, NAN);
    else if (entity != BN_ENTITY_PERSON && !licence)
        f = s_raise(c, person, person, "certificate_type_mismatch", -1, NAN, NAN);
    else if (entity == BN_ENTITY_PERSON && !person)
        f = s_raise(c, NULL, NULL, "certificate_type_mismatch", -1, NAN, NAN);
    if (f)
        json_object_set_new(f, "expected", json_string(entity == BN_ENTITY_PERSON ? "person" : "business-license"));
}

/* ---- domain holder = subject ------------------------------------------------------------ */

/* Best similarity of holder with the subject's name(s); 1 when one is equal after bn_norm. */
static double s_holder_sim(const char *holder, const json_t *subject, int org, double *conf)
{
    if (!holder)
        return -1;
    if (org) {
        const char *name = s_field(subject, "name", conf);
        if (!name)
            return -1;
        return bn_norm_equal(holder, name, BN_NORM_COMPANY) ? 1.0 : bn_norm_similarity(holder, name, BN_NORM_COMPANY);
    }
    /* a person: the printed name, the Latin name, or surname + given names in either order */
    const char *sur = s_field(subject, "surname", conf), *giv = s_field(subject, "given_names", conf);
    char a[160] = "", b[160] = "";
    if (sur || giv) {
        snprintf(a, sizeof a, "%s %s", sur ? sur : "", giv ? giv : "");
        snprintf(b, sizeof b, "%s %s", giv ? giv : "", sur ? sur : "");
    }
    const char *cand[] = {s_field(subject, "name", conf), s_field(subject, "name_latin", conf), a[0] ? a : NULL,
                          b[0] ? b : NULL};
    double best = -1;
    for (size_t i = 0; i < sizeof cand / sizeof cand[0]; i++) {
        if (!cand[i])
            continue;
        double s = bn_norm_equal(holder, cand[i], BN_NORM_NAME) ? 1.0 : bn_norm_similarity(holder, cand[i], BN_NORM_NAME);
        best = fmax(best, s);
    }
    return best;
}

static void s_domain_holder(ctx_t *c, char entity)
{
    json_t *licence = s_first(c->docs, NULL, "business-license"), *person = s_first(c->docs, s_is_person, NULL);
    /* The subject: as declared, else a licence makes it an organisation. */
    int org = entity ? entity != BN_ENTITY_PERSON : licence != NULL;
    json_t *subject = org ? licence : person;
    size_t i;
    json_t *d;
    json_array_foreach(c->docs, i, d) {
        if (!s_is(d, "domain-certificate") || !subject)
            continue;
        double conf = 1.0;
        const char *h = s_field(d, "holder", &conf), *he = s_field(d, "holder_en", &conf);
        double sim = fmax(s_holder_sim(h, subject, org, &conf), s_holder_sim(he, subject, org, &conf));
        if (sim < 0 || sim >= 1.0)
            continue; /* nothing to compare (unread: the certificate's own field_unreadable), or equal */
        json_t *f = s_raise(c, d, subject, "domain_holder_mismatch", conf < c->min_conf ? BN_SEV_REVIEW : -1, sim, NAN);
        if (f)
            json_object_set_new(f, "field", json_string(h ? "holder" : "holder_en"));
    }
}

/* ---- the person in charge --------------------------------------------------------------- */

static void s_person(ctx_t *c, const json_t *spec, const bn_config_t *config)
{
    json_t *opt = json_object_get(spec, "options");
    const char *now = json_string_value(json_object_get(opt, "now"));
    if (!now)
        now = json_string_value(json_object_get(opt, "today"));
    bn_date_t today = bn_today(now);
    const char *profile = json_string_value(json_object_get(opt, "profile"));
    char path[96];
    snprintf(path, sizeof path, "profiles.%s.id_min_valid_days", profile ? profile : "default");
    double min_days = bn_config_num(config, path, bn_config_num(config, "ocr.expiry_min_days", 90));
    int aged = 0;
    size_t i;
    json_t *d;
    json_array_foreach(c->docs, i, d) {
        if (!s_is_person(d))
            continue;
        json_t *checks = json_object_get(d, "checks"), *flags = json_object_get(d, "flags");
        json_t *age = json_object_get(json_object_get(checks, "age"), "years");
        if (json_is_integer(age)) {
            aged = 1;
            json_int_t y = json_integer_value(age);
            if (y >= 0 && y < 18 && !bn_flags_has(flags, "under_18")) {
                json_t *f = s_raise(c, d, d, "under_18", -1, (double)y, 18);
                if (f)
                    json_object_set_new(f, "field", json_string("birth_date"));
            }
        }
        json_t *left = json_object_get(json_object_get(checks, "expiry"), "days_left");
        if (json_is_integer(left) && json_integer_value(left) < min_days && !bn_flags_has(flags, "expired")
            && !bn_flags_has(flags, "expires_within_90_days"))
            s_raise(c, d, d, "id_expires_soon", -1, (double)json_integer_value(left), min_days);
    }
    /* No document gave the person's age (a back alone, an unread birth date): the form's number,
     * when it validates, still says whether the person in charge is an adult on the filing date. */
    const char *num = json_string_value(json_object_get(json_object_get(spec, "form"), "id_number"));
    char td[16];
    bn_id_info_t id;
    if (aged || !num || bn_id_validate(num, bn_date_format(&today, td, sizeof td), &id) != BN_ID_VALID)
        return;
    int y = bn_age_years(&id.birth, &today);
    if (y >= 0 && y < 18) {
        json_t *person = s_first(c->docs, s_is_person, NULL); /* a back alone is still the person's */
        json_t *f = s_raise(c, person, person, "under_18", -1, (double)y, 18);
        if (f)
            json_object_set_new(f, "field", json_string("form.id_number"));
    }
}

int bn_apprules(json_t *docs, json_t *face, int face_doc, const json_t *spec, json_t *job_flags,
                const bn_config_t *config)
{
    ctx_t c = {docs, job_flags, bn_config_num(config, "ocr.min_confidence_for_reject", 0.80), 0};
    char entity = s_form_entity(spec);
    s_certificate_type(&c, entity);
    s_domain_holder(&c, entity);
    s_person(&c, spec, config);
    /* The face check compares the selfie with one document's portrait: say which. */
    json_t *portrait = face_doc >= 0 ? json_array_get(docs, (size_t)face_doc) : NULL;
    size_t i;
    json_t *f;
    if (portrait && face) {
        json_array_foreach(json_object_get(face, "flags"), i, f) {
            json_object_set_new(f, "related_document", json_incref(json_object_get(portrait, "index")));
            json_object_set_new(f, "related_type", json_string(s_type(portrait)));
        }
    }
    return c.raised;
}
