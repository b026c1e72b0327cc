#include "core/bn_job.h"
#include "core/bn_error.h"
#include "core/bn_apprules.h"
#include "core/bn_crosscheck.h"
#include "core/bn_evidence.h"
#include "core/bn_flags.h"
#include "core/bn_stage.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *s_stage_names[] = {"quality", "ocr", "face"};
static const char *s_stage_services[] = {"beian.quality", "beian.ocr", "beian.face"};

const char *bn_stage_name(bn_stage_id_t s) { return s < BN_STAGE_COUNT ? s_stage_names[s] : "?"; }
const char *bn_stage_service(bn_stage_id_t s) { return s < BN_STAGE_COUNT ? s_stage_services[s] : "?"; }

static const char *s_types[] = {"id-card", "passport", "hk-macao-permit", "taiwan-permit",
                                "residence-permit", "business-license", "domain-certificate", NULL};

int bn_doc_type_valid(const char *type)
{
    for (int i = 0; type && s_types[i]; i++)
        if (strcmp(type, s_types[i]) == 0)
            return 1;
    return 0;
}

/* A business licence and a domain certificate are printed pages (A-series paper, measured, not
 * a card of fixed size): one side, no portrait, large print. */
int bn_doc_is_page(const char *type)
{
    return type && (strcmp(type, "business-license") == 0 || strcmp(type, "domain-certificate") == 0);
}

/* A passport is read on its data page and a page document has one printed side: neither has a
 * back to check, and accepting one would run the back's checks on a page that is not there. */
int bn_doc_has_back(const char *type)
{
    return bn_doc_type_valid(type) && strcmp(type, "passport") != 0 && !bn_doc_is_page(type);
}

int bn_doc_side_valid(const char *type, const char *side)
{
    if (!bn_doc_type_valid(type) || !side)
        return 0;
    return strcmp(side, "front") == 0 || (strcmp(side, "back") == 0 && bn_doc_has_back(type));
}

int bn_doc_has_portrait(const char *type, const char *side)
{
    if (!type || !side || strcmp(side, "front") != 0)
        return 0;
    return !bn_doc_is_page(type) && bn_doc_type_valid(type);
}

/* Frame reference: an integer 1..nblobs (frame 0 is the spec itself). */
static int s_blob_ref(json_t *v, size_t nblobs)
{
    if (!json_is_integer(v))
        return 0;
    json_int_t i = json_integer_value(v);
    return i >= 1 && (size_t)i <= nblobs;
}

/* Fill in an absent (or null) key; a key present with another type is the caller's mistake
 * (`"priority": 5`) and is refused, never replaced by the default. where names the object in the
 * message ("options", "documents[2]"). */
static int s_default(json_t *obj, const char *where, const char *key, const char *value)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        json_object_set_new(obj, key, json_string(value));
        return 0;
    }
    if (!json_is_string(v))
        return bn_error_set("bad_request", "%s.%s must be a string", where, key);
    return 0;
}

/* Compiled-in profile names: a copy of lib/img/bn_profile.c s_names, which beian_core cannot
 * link (beiand does not carry the image library). tests/test_img_metrics.c checks the two
 * lists agree. */
static const char *const s_profile_names[] = {"default", "aliyun", "tencent", "huawei", "volcengine", "cnnic", NULL};

const char *const *bn_job_profile_names(void) { return s_profile_names; }

/* A profile name becomes a configuration path (profiles.<name>) and appears in logs: keep it to
 * a conservative alphabet so "../../etc/passwd" or a dotted path is never looked up. */
static int s_profile_name_ok(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (len < 1 || len > BN_PROFILE_NAME_MAX)
        return 0;
    return strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

int bn_job_tenant_ok(const char *tenant)
{
    size_t len = tenant ? strlen(tenant) : 0;
    return len >= 1 && len <= BN_TENANT_MAX
        && strspn(tenant, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

int bn_job_bind_tenant(json_t *spec, const char *tenant)
{
    if (!json_is_object(spec))
        return 0;
    json_t *opt = json_object_get(spec, "options");
    if (!opt) {
        opt = json_object();
        json_object_set_new(spec, "options", opt);
    }
    if (!json_is_object(opt))
        return 0;
    json_t *named = json_object_get(opt, "tenant");
    if (!named || json_is_null(named))
        return json_object_set_new(opt, "tenant", json_string(tenant));
    /* Any other value, of any type, is a claim on a tenant this client is not: refused before
     * anything is looked up under it (its idempotency key would otherwise find that tenant's
     * job). The message names the bound tenant only: the client knows its own certificate. */
    if (!json_is_string(named) || strcmp(json_string_value(named), tenant) != 0)
        return bn_error_set("tenant_mismatch", "options.tenant does not match this client's certificate, which "
                            "is bound to tenant '%s' (omit options.tenant or name that one)", tenant);
    return 0;
}

int bn_job_spec_validate(json_t *spec, size_t nblobs)
{
    if (!json_is_object(spec))
        return bn_error_set("bad_request", "the job spec must be a JSON object");
    json_t *docs = json_object_get(spec, "documents");
    if (!json_is_array(docs) || json_array_size(docs) == 0)
        return bn_error_set("bad_request", "'documents' must be a non-empty array");
    if (json_array_size(docs) > BN_MAX_DOCS)
        return bn_error_set("bad_request", "at most %d documents per job", BN_MAX_DOCS);
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d) {
        if (!json_is_object(d))
            return bn_error_set("bad_request", "documents[%zu] must be an object", i);
        const char *type = json_string_value(json_object_get(d, "type"));
        if (!bn_doc_type_valid(type))
            return bn_error_set("bad_request", "documents[%zu].type '%s' is not one of id-card, passport, "
                                "hk-macao-permit, taiwan-permit, residence-permit, business-license, domain-certificate",
                                i, type ? type : "(missing)");
        char where[32];
        snprintf(where, sizeof where, "documents[%zu]", i);
        if (s_default(d, where, "side", "front") < 0)
            return -1;
        const char *side = json_string_value(json_object_get(d, "side"));
        if (strcmp(side, "back") == 0 && !bn_doc_has_back(type))
            return bn_error_set("bad_request", "documents[%zu].side: %s has no back side", i, type);
        if (!bn_doc_side_valid(type, side))
            return bn_error_set("bad_request", "documents[%zu].side must be front or back", i);
        if (!s_blob_ref(json_object_get(d, "blob"), nblobs))
            return bn_error_set("bad_request", "documents[%zu].blob must name an attached frame 1..%zu", i, nblobs);
        /* The page of a PDF upload (ignored for an image). Whether the PDF has it is the
         * decoder's to say (pdf_page_missing); only its form is checked here. */
        json_t *page = json_object_get(d, "page");
        if (page && !json_is_null(page) &&
            !(json_is_integer(page) && json_integer_value(page) >= 1 && json_integer_value(page) <= BN_PDF_PAGE_MAX))
            return bn_error_set("bad_request", "documents[%zu].page must be an integer 1..%d", i, BN_PDF_PAGE_MAX);
    }
    json_t *selfie = json_object_get(spec, "selfie");
    if (selfie && !json_is_null(selfie) && !s_blob_ref(selfie, nblobs))
        return bn_error_set("bad_request", "'selfie' must name an attached frame 1..%zu", nblobs);
    json_t *form = json_object_get(spec, "form");
    if (form && !json_is_null(form) && !json_is_object(form))
        return bn_error_set("bad_request", "'form' must be an object");
    json_t *opt = json_object_get(spec, "options");
    if (!opt) {
        opt = json_object();
        json_object_set_new(spec, "options", opt);
    }
    if (!json_is_object(opt))
        return bn_error_set("bad_request", "'options' must be an object");
    if (s_default(opt, "options", "priority", "interactive") < 0 || s_default(opt, "options", "tenant", "default") < 0
        || s_default(opt, "options", "profile", "default") < 0)
        return -1;
    const char *profile = json_string_value(json_object_get(opt, "profile"));
    if (!s_profile_name_ok(profile))
        return bn_error_set("bad_request", "options.profile must be 1..%d characters a-z 0-9 _ -", BN_PROFILE_NAME_MAX);
    const char *prio = json_string_value(json_object_get(opt, "priority"));
    if (strcmp(prio, "interactive") != 0 && strcmp(prio, "batch") != 0)
        return bn_error_set("bad_request", "options.priority must be interactive or batch");
    const char *tenant = json_string_value(json_object_get(opt, "tenant"));
    if (!*tenant || strlen(tenant) > 64)
        return bn_error_set("bad_request", "options.tenant must be 1..64 characters");
    /* "today" is the OCR stage's older name for "now": both are dates, both the operator's
     * (bn_job_options_check). */
    static const char *clock_keys[] = {"now", "today"};
    for (int k = 0; k < 2; k++) {
        json_t *now = json_object_get(opt, clock_keys[k]);
        if (!now)
            continue;
        const char *day = json_string_value(now);
        int y, m, dd;
        char tail;
        if (!day || strlen(day) != 10 || sscanf(day, "%4d-%2d-%2d%c", &y, &m, &dd, &tail) != 3 || m < 1 || m > 12 || dd < 1 || dd > 31)
            return bn_error_set("bad_request", "options.%s must be a date YYYY-MM-DD", clock_keys[k]);
    }
    json_t *key = json_object_get(opt, "key");
    if (key && !(json_is_string(key) && strlen(json_string_value(key)) <= 128))
        return bn_error_set("bad_request", "options.key must be a string of at most 128 characters");
    return 0;
}

int bn_job_profile_check(const json_t *spec, const bn_config_t *config)
{
    const char *name = json_string_value(json_object_get(json_object_get(spec, "options"), "profile"));
    if (!name)
        name = "default";
    for (int i = 0; s_profile_names[i]; i++)
        if (strcmp(name, s_profile_names[i]) == 0)
            return 0;
    /* A profile defined only in configuration (bn_profile_get starts it from the default). */
    json_t *defined = json_object_get(bn_config_get(config, "profiles"), name);
    if (s_profile_name_ok(name) && json_is_object(defined))
        return 0;
    return bn_error_set("unknown_profile", "options.profile '%s' is not a known profile (compiled in: default "
                        "aliyun tencent huawei volcengine cnnic; others from the configuration's profiles.*)",
                        s_profile_name_ok(name) ? name : "(invalid name)");
}

int bn_job_options_check(const json_t *spec, const bn_config_t *config)
{
    if (bn_config_bool(config, "job.allow_client_clock", 0))
        return 0;
    json_t *opt = json_object_get(spec, "options");
    static const char *clock_keys[] = {"now", "today"};
    for (int k = 0; k < 2; k++)
        if (json_object_get(opt, clock_keys[k]))
            return bn_error_set("option_not_allowed", "options.%s is set by the operator, not the submitter "
                                "(job.allow_client_clock is off): leave it out and the submission date is used",
                                clock_keys[k]);
    return 0;
}

/* ---- the application form ------------------------------------------------------------ */

/* A form value's own check beyond its length (the schema's "pattern"). */
static int s_alnum(unsigned char c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

/* ^[0-9A-Za-z][0-9A-Za-z -]*$ */
static int s_number_ok(const char *v)
{
    if (!s_alnum((unsigned char)*v))
        return 0;
    for (; *v; v++)
        if (!s_alnum((unsigned char)*v) && *v != ' ' && *v != '-')
            return 0;
    return 1;
}

/* ^[0-9A-Za-z]+$ */
static int s_code_chars_ok(const char *v)
{
    for (; *v; v++)
        if (!s_alnum((unsigned char)*v))
            return 0;
    return 1;
}

/* ^[^ \t\n\r/:@.]+(\.[^ \t\n\r/:@.]+)+$ : labels, at least two, none empty, no URL parts
 * (a scheme, path, port or user), any script (例子.中国). */
static int s_domain_ok(const char *v)
{
    int labels = 0;
    size_t run = 0;
    for (;; v++) {
        if (*v == '.' || !*v) {
            if (!run)
                return 0;
            labels++, run = 0;
            if (!*v)
                return labels >= 2;
        } else if (strchr(" \t\n\r/:@", *v)) {
            return 0;
        } else {
            run++;
        }
    }
}

/* The form keys: exactly docs/form.schema.json's properties (tests/it_form_schema.py checks the
 * two agree). name .. entity_type are compared with the documents by lib/ocr/bn_checks.c (form_str
 * / form_cmp in check_form, form_name_latin, check_entity_type, and id_number for an ID back's
 * birth date and the person in charge's age, bn_apprules); domain and province are the domain
 * certificate's (docs/VALIDATION.md "form key"). Every value is a string. */
static const char *const s_form_keys[] = {"name", "id_number", "address", "company_name", "credit_code",
                                          "entity_type", "domain", "province", NULL};
/* Per key, in the same order: */
static const struct {
    int max;                   /* code points; at least 1 */
    int (*ok)(const char *);   /* the schema's pattern, NULL none */
    const char *pattern;       /* its text, for the message */
} s_form[] = {
    {128, NULL, NULL},
    {32, s_number_ok, "letters, digits, spaces and -, starting with a letter or digit"},
    {256, NULL, NULL},
    {256, NULL, NULL},
    {32, s_code_chars_ok, "letters and digits"},
    {64, NULL, NULL},
    {253, s_domain_ok, "a domain name such as example.com (no scheme, path, port or spaces)"},
    {32, NULL, NULL},
};
#define FORM_KEYS (sizeof s_form / sizeof s_form[0])
_Static_assert(FORM_KEYS + 1 == sizeof s_form_keys / sizeof s_form_keys[0], "one rule per form key");

const char *const *bn_job_form_keys(void) { return s_form_keys; }

/* UTF-8 code points (the schema's lengths count characters, not bytes). */
static size_t s_code_points(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

int bn_job_form_check(const json_t *spec)
{
    json_t *form = json_object_get(spec, "form");
    const char *k;
    json_t *v;
    /* Keys are the submitter's text: printed at most 64 bytes, and only up to a whole character. */
    json_object_foreach((json_t *)form, k, v) {
        size_t i = 0, cut = strnlen(k, 64);
        while (cut > 0 && cut < strlen(k) && ((unsigned char)k[cut] & 0xC0) == 0x80)
            cut--;
        while (i < FORM_KEYS && strcmp(k, s_form_keys[i]) != 0)
            i++;
        if (i == FORM_KEYS) {
            char known[160] = "";
            for (size_t j = 0; j < FORM_KEYS; j++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", j ? ", " : "", s_form_keys[j]);
            return bn_error_set("form_invalid", "form.%.*s: unknown key; the form's keys are %s (docs/form.schema.json)",
                                (int)cut, k, known);
        }
        const char *s = json_string_value(v);
        if (!s)
            return bn_error_set("form_invalid", "form.%s must be a string", k);
        size_t n = s_code_points(s);
        if (n < 1 || n > (size_t)s_form[i].max)
            return bn_error_set("form_invalid", "form.%s must be 1..%d characters", k, s_form[i].max);
        if (s_form[i].ok && !s_form[i].ok(s))
            return bn_error_set("form_invalid", "form.%s must be %s", k, s_form[i].pattern);
    }
    return 0;
}

/* ---- stage replies ---------------------------------------------------------------------- */

#define INVALID "stage_reply_invalid"

/* Every string and key in v at most max bytes, v nested at most BN_REPLY_MAX_DEPTH deep. */
static int s_bounded(const json_t *v, size_t max, int depth)
{
    if (depth > BN_REPLY_MAX_DEPTH)
        return 0;
    if (json_is_string(v))
        return json_string_length(v) <= max;
    size_t i;
    const char *k;
    json_t *x;
    if (json_is_array(v)) {
        json_array_foreach(v, i, x)
            if (!s_bounded(x, max, depth + 1))
                return 0;
    } else if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, x)
            if (strlen(k) > max || !s_bounded(x, max, depth + 1))
                return 0;
    }
    return 1;
}

/* lower_snake_case, as bn_error codes are (they fit its 48-byte buffer). */
static int s_code_ok(const char *c)
{
    if (!c || *c < 'a' || *c > 'z')
        return 0;
    size_t n = 0;
    for (; c[n]; n++)
        if (!((c[n] >= 'a' && c[n] <= 'z') || (c[n] >= '0' && c[n] <= '9') || c[n] == '_'))
            return 0;
    return n < 48;
}

/* A blob name becomes a key of the document's "blobs" and part of a file name (`--out`). */
static int s_blob_name_ok(const char *c)
{
    size_t n = 0;
    for (; c && c[n]; n++)
        if (!((c[n] >= 'a' && c[n] <= 'z') || (c[n] >= '0' && c[n] <= '9') || c[n] == '_' || c[n] == '-'))
            return 0;
    return n >= 1 && n < sizeof ((bn_blob_t *)0)->name;
}

static int s_flag_check(const json_t *f, size_t i)
{
    if (!json_is_object(f))
        return bn_error_set(INVALID, "result.flags[%zu] is not an object", i);
    const bn_flag_def_t *d = bn_flag_lookup(json_string_value(json_object_get(f, "code")));
    if (!d)
        return bn_error_set(INVALID, "result.flags[%zu].code is not a code of the flag table", i);
    if (strcmp(d->stage, "job") == 0 || strcmp(d->stage, "application") == 0)
        return bn_error_set(INVALID, "result.flags[%zu]: %s is the job's flag (a stage that failed answers ok:false; "
                            "application rules are the aggregation's)", i, d->code);
    /* An unknown severity is not quietly read as review: the stage said something we do not
     * understand, so its whole answer is not trusted. */
    const char *sev = json_string_value(json_object_get(f, "severity"));
    if (!sev || strcmp(bn_severity_name(bn_severity_parse(sev)), sev) != 0)
        return bn_error_set(INVALID, "result.flags[%zu].severity is not info, review, reshoot or reject", i);
    static const char *numbers[] = {"metric", "threshold"};
    for (int k = 0; k < 2; k++) {
        json_t *v = json_object_get(f, numbers[k]);
        if (v && !json_is_number(v))
            return bn_error_set(INVALID, "result.flags[%zu].%s is not a number", i, numbers[k]);
    }
    /* Which documents a flag is about is the aggregation's to say (bn_job_result, bn_crosscheck). */
    if (json_object_get(f, "document") || json_object_get(f, "related_document"))
        return bn_error_set(INVALID, "result.flags[%zu] names a document; only the job does", i);
    if (!s_bounded(f, BN_REPLY_MAX_FLAG_STRING, 0))
        return bn_error_set(INVALID, "result.flags[%zu] holds a string over %d bytes or nests too deep", i,
                            BN_REPLY_MAX_FLAG_STRING);
    return 0;
}

/* result.blobs as the broker and bn_check_run write it: {name: {"sha256": id, "bytes": n}}, the
 * id 64 hex digits (the memory store's are "mem-<n>"). */
static int s_named_blobs_ok(const json_t *blobs)
{
    if (!json_is_object(blobs))
        return 0;
    const char *k;
    json_t *b;
    json_object_foreach((json_t *)blobs, k, b) {
        const char *sha = json_string_value(json_object_get(b, "sha256"));
        json_t *bytes = json_object_get(b, "bytes");
        if (!s_blob_name_ok(k) || !sha || !*sha || strlen(sha) > 64 || strspn(sha, "0123456789abcdefm-") != strlen(sha)
            || !json_is_integer(bytes) || json_integer_value(bytes) < 0)
            return 0;
    }
    return 1;
}

int bn_job_reply_check(const json_t *reply, int named_blobs)
{
    if (!json_is_object(reply) || !json_is_boolean(json_object_get(reply, "ok")))
        return bn_error_set(INVALID, "the reply is not an object with a boolean \"ok\"");
    if (!json_is_true(json_object_get(reply, "ok"))) {
        json_t *err = json_object_get(reply, "error");
        json_t *msg = json_object_get(err, "message");
        if (!json_is_object(err) || !s_code_ok(json_string_value(json_object_get(err, "code"))))
            return bn_error_set(INVALID, "an error reply needs error.code in lower_snake_case, at most 47 characters");
        if ((msg && !json_is_string(msg)) || !s_bounded(err, BN_REPLY_MAX_STRING, 0))
            return bn_error_set(INVALID, "error.message is not a string of at most %d bytes", BN_REPLY_MAX_STRING);
        return 0;
    }
    json_t *names = json_object_get(reply, "blobs");
    if (names) {
        size_t i;
        json_t *nm;
        if (!json_is_array(names) || json_array_size(names) > BN_MAX_BLOBS)
            return bn_error_set(INVALID, "blobs is not an array of at most %d names", BN_MAX_BLOBS);
        json_array_foreach(names, i, nm)
            if (!s_blob_name_ok(json_string_value(nm)))
                return bn_error_set(INVALID, "blobs[%zu] is not a name of 1..31 characters a-z 0-9 _ -", i);
    }
    json_t *res = json_object_get(reply, "result");
    if (!json_is_object(res))
        return bn_error_set(INVALID, "result is not an object");
    /* Keys the result document owns: a stage's result is merged into its document. */
    static const char *owned[] = {"index", "type", "side"};
    for (int k = 0; k < 3; k++)
        if (json_object_get(res, owned[k]))
            return bn_error_set(INVALID, "result sets \"%s\", which the job owns", owned[k]);
    json_t *blobs = json_object_get(res, "blobs");
    if (blobs && !(named_blobs && s_named_blobs_ok(blobs)))
        return bn_error_set(INVALID, "result.blobs is the broker's to fill (a stage names its images in reply.blobs)");
    static const char *objects[] = {"quality", "geometry", "fields", "checks"};
    for (int k = 0; k < 4; k++) {
        json_t *v = json_object_get(res, objects[k]);
        if (v && !json_is_object(v))
            return bn_error_set(INVALID, "result.%s is not an object", objects[k]);
    }
    json_t *flags = json_object_get(res, "flags");
    if (!json_is_array(flags) || json_array_size(flags) > BN_REPLY_MAX_FLAGS)
        return bn_error_set(INVALID, "result.flags is not an array of at most %d flags", BN_REPLY_MAX_FLAGS);
    size_t i;
    json_t *f;
    json_array_foreach(flags, i, f)
        if (s_flag_check(f, i) < 0)
            return -1;
    if (!s_bounded(res, BN_REPLY_MAX_STRING, 0))
        return bn_error_set(INVALID, "result holds a string or key over %d bytes or nests deeper than %d",
                            BN_REPLY_MAX_STRING, BN_REPLY_MAX_DEPTH);
    return 0;
}

json_t *bn_job_reply_accept(json_t *reply)
{
    if (bn_job_reply_check(reply, 0) == 0)
        return reply;
    json_decref(reply);
    return json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", INVALID, "message", bn_error_msg());
}

int bn_job_plan(const json_t *spec, bn_plan_task_t *tasks, int max)
{
    json_t *docs = json_object_get(spec, "documents");
    int n = 0, portrait = -1, portrait_quality = -1;
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d) {
        const char *type = json_string_value(json_object_get(d, "type"));
        const char *side = json_string_value(json_object_get(d, "side"));
        if (n + 2 > max)
            break;
        if (portrait < 0 && bn_doc_has_portrait(type, side)) {
            portrait = (int)i;
            portrait_quality = n;
        }
        tasks[n++] = (bn_plan_task_t){BN_STAGE_QUALITY, (int)i, -1};
        tasks[n] = (bn_plan_task_t){BN_STAGE_OCR, (int)i, n - 1};
        n++;
    }
    json_t *selfie = json_object_get(spec, "selfie");
    if (json_is_integer(selfie) && n < max)
        /* With no portrait document the face stage still runs (on the first document) so the
         * result says no_face rather than silently skipping the check. */
        tasks[n++] = (bn_plan_task_t){BN_STAGE_FACE, portrait >= 0 ? portrait : 0,
                                      portrait >= 0 ? portrait_quality : 0};
    return n;
}

/* Append the flags of a stage result to the document's and the job's flag lists, tagged with
 * the document index. */
static void s_collect_flags(json_t *src, int doc, json_t *doc_flags, json_t *job_flags)
{
    size_t i;
    json_t *f;
    json_array_foreach(src, i, f) {
        json_t *c = json_deep_copy(f);
        /* The words a portal shows are the flag table's, never a worker's own text; a job-level
         * flag keeps the stage that failed (s_error_flags). */
        const bn_flag_def_t *d = bn_flag_lookup(json_string_value(json_object_get(c, "code")));
        if (d) {
            json_object_set_new(c, "message_en", json_string(d->message_en));
            json_object_set_new(c, "message_zh", json_string(d->message_zh));
            if (strcmp(d->stage, "job") != 0)
                json_object_set_new(c, "stage", json_string(d->stage));
        }
        if (doc >= 0)
            json_object_set_new(c, "document", json_integer(doc));
        if (doc_flags)
            json_array_append(doc_flags, c);
        json_array_append_new(job_flags, c);
    }
}

/* A task that answered with an error still yields a flag, so the verdict is never a silent
 * pass: not_implemented → stage_not_implemented, anything else → stage_failed (both review). */
static json_t *s_error_flags(bn_stage_id_t stage, const json_t *err)
{
    json_t *flags = json_array();
    const char *code = json_string_value(json_object_get(err, "code"));
    json_t *f = bn_flag_add(flags, code && strcmp(code, "not_implemented") == 0 ? "stage_not_implemented"
                                                                                  : "stage_failed",
                            NAN, NAN, -1);
    json_object_set_new(f, "stage", json_string(bn_stage_name(stage)));
    if (code)
        json_object_set_new(f, "error", json_string(code));
    return flags;
}

json_t *bn_job_result(const char *job_id, const char *status, const json_t *spec,
                      const bn_plan_task_t *tasks, int ntasks, json_t *const *results,
                      const json_t *error, const bn_config_t *config)
{
    json_t *out = json_pack("{s:s, s:s}", "job", job_id, "status", status);
    json_t *job_flags = json_array();
    json_t *docs_out = json_array();
    json_t *docs = json_object_get(spec, "documents");
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d) {
        json_array_append_new(docs_out, json_pack("{s:i, s:O, s:O, s:s, s:[], s:{}, s:{}, s:{}, s:n}",
                                                  "index", (int)i, "type", json_object_get(d, "type"),
                                                  "side", json_object_get(d, "side"), "verdict", "pass",
                                                  "flags", "quality", "fields", "checks", "prepared"));
    }
    json_t *face = NULL;
    int face_doc = -1;
    for (int t = 0; t < ntasks; t++) {
        json_t *r = results ? results[t] : NULL;
        if (!r)
            continue;
        json_t *doc = json_array_get(docs_out, (size_t)tasks[t].doc);
        /* Checked again here, not only where a reply arrives: a stored reply, or one from a
         * code path that forgot, must not make an unchecked document a pass. */
        json_t *invalid = bn_job_reply_check(r, 1) < 0 ? json_pack("{s:s}", "code", INVALID) : NULL;
        int ok = !invalid && json_is_true(json_object_get(r, "ok"));
        json_t *res = ok ? json_object_get(r, "result") : NULL;
        json_t *flags = ok ? json_incref(json_object_get(res, "flags"))
                           : s_error_flags(tasks[t].stage, invalid ? invalid : json_object_get(r, "error"));
        json_decref(invalid);
        if (tasks[t].stage == BN_STAGE_FACE) {
            json_t *fd = json_array_get(docs, (size_t)tasks[t].doc);
            if (bn_doc_has_portrait(json_string_value(json_object_get(fd, "type")), json_string_value(json_object_get(fd, "side"))))
                face_doc = tasks[t].doc;
            face = json_is_object(res) ? json_deep_copy(res) : json_object();
            json_object_set_new(face, "flags", json_array());
            s_collect_flags(flags, -1, json_object_get(face, "flags"), job_flags);
        } else if (doc) {
            s_collect_flags(flags, tasks[t].doc, json_object_get(doc, "flags"), job_flags);
            /* Copy the stage's result keys into the document, except flags (merged above). */
            const char *k;
            json_t *v;
            json_object_foreach(res, k, v) {
                json_t *have = json_object_get(doc, k);
                /* text_boxes: the quality stage's detected lines, the ocr stage's hint only */
                if (strcmp(k, "flags") == 0 || strcmp(k, "text_boxes") == 0)
                    continue;
                if (strcmp(k, "blobs") == 0 && json_is_object(have))
                    json_object_update(have, v); /* several stages may each produce images */
                else
                    json_object_set(doc, k, v);
            }
        }
        json_decref(flags);
    }
    int done = strcmp(status, "done") == 0, failed = strcmp(status, "failed") == 0;
    if (done) {
        bn_evidence_apply(docs_out, config);
        bn_crosscheck(docs_out, job_flags, config);
        bn_apprules(docs_out, face, face_doc, spec, job_flags, config);
    }
    bn_severity_t worst = bn_flags_worst(job_flags);
    json_array_foreach(docs_out, i, d) {
        /* An unfinished job's documents may lack stages: never call them a pass. */
        const char *v = done ? bn_verdict_name(bn_flags_worst(json_object_get(d, "flags"))) : failed ? "review" : NULL;
        json_object_set_new(d, "verdict", v ? json_string(v) : json_null());
    }
    if (face)
        json_object_set_new(face, "verdict", json_string(bn_verdict_name(bn_flags_worst(json_object_get(face, "flags")))));
    /* A job that did not finish has no verdict worth acting on: failed → review by a person. */
    const char *verdict = done ? bn_verdict_name(worst) : failed ? "review" : NULL;
    json_object_set_new(out, "verdict", verdict ? json_string(verdict) : json_null());
    json_object_set_new(out, "flags", job_flags);
    json_object_set_new(out, "documents", docs_out);
    if (face)
        json_object_set_new(out, "face", face);
    if (error)
        json_object_set_new(out, "error", json_deep_copy(error));
    return out;
}
