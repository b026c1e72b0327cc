/* Application rules (issue 12) through the job's aggregation, with synthetic stage results:
 * certificate type against entity type, domain holder against the subject, the person in
 * charge (age on the filing date, ID validity per profile, both sides of one card, the face's
 * document), and the form's schema check. Every flag must name its related document. */
#include "bn_test.h"
#include "core/bn_config.h"
#include "core/bn_error.h"
#include "core/bn_job.h"
#include "core/bn_validate.h"

#include <string.h>

#define NOW "2026-01-15"

static json_t *field(const char *value, double conf) { return json_pack("{s:s, s:f}", "value", value, "confidence", conf); }

/* A document as the OCR stage reports it: type, side, fields {k: v}, checks, flags. */
static json_t *doc(const char *type, const char *side, json_t *fields, json_t *checks, json_t *flags)
{
    return json_pack("{s:s, s:s, s:o, s:o, s:o}", "type", type, "side", side, "fields", fields ? fields : json_object(),
                     "checks", checks ? checks : json_object(), "flags", flags ? flags : json_array());
}

/* Run the whole aggregation over docs (owned), with form (owned, may be NULL) and, when
 * face_flags (owned) is given, a selfie whose face stage raised them. */
static json_t *run(json_t *docs, json_t *form, json_t *face_flags, const char *profile, const bn_config_t *cfg)
{
    json_t *spec = json_pack("{s:[], s:{s:s, s:s}}", "documents", "options", "now", NOW, "profile",
                             profile ? profile : "default");
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d)
        json_array_append_new(json_object_get(spec, "documents"),
                              json_pack("{s:O, s:O, s:i}", "type", json_object_get(d, "type"), "side",
                                        json_object_get(d, "side"), "blob", (int)i + 1));
    if (form)
        json_object_set_new(spec, "form", form);
    if (face_flags)
        json_object_set_new(spec, "selfie", json_integer((json_int_t)json_array_size(docs) + 1));
    CHECK(bn_job_spec_validate(spec, json_array_size(docs) + 1) == 0 && bn_job_form_check(spec) == 0, "%s",
          bn_error_msg());
    bn_plan_task_t plan[40];
    int n = bn_job_plan(spec, plan, 40);
    json_t *replies[40] = {0};
    for (int t = 0; t < n; t++) {
        d = json_array_get(docs, (size_t)plan[t].doc);
        if (plan[t].stage == BN_STAGE_OCR)
            replies[t] = json_pack("{s:b, s:{s:O, s:O, s:O}}", "ok", 1, "result", "fields", json_object_get(d, "fields"),
                                   "checks", json_object_get(d, "checks"), "flags", json_object_get(d, "flags"));
        else if (plan[t].stage == BN_STAGE_FACE)
            replies[t] = json_pack("{s:b, s:{s:f, s:O}}", "ok", 1, "result", "score", 0.1, "flags", face_flags);
        else
            replies[t] = json_pack("{s:b, s:{s:[]}}", "ok", 1, "result", "flags");
    }
    json_t *res = bn_job_result("j", "done", spec, plan, n, replies, NULL, cfg);
    for (int t = 0; t < n; t++)
        json_decref(replies[t]);
    json_decref(spec);
    json_decref(docs);
    json_decref(face_flags);
    return res;
}

/* The job's flags of this code. */
static int count(const json_t *res, const char *code)
{
    int n = 0;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(res, "flags"), i, f)
        n += !strcmp(json_string_value(json_object_get(f, "code")), code);
    return n;
}

static json_t *first(const json_t *res, const char *code)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(res, "flags"), i, f)
        if (!strcmp(json_string_value(json_object_get(f, "code")), code))
            return f;
    return NULL;
}

static int related(const json_t *f, int index, const char *type)
{
    return f && json_integer_value(json_object_get(f, "related_document")) == index
        && !strcmp(json_string_value(json_object_get(f, "related_type")), type);
}

static const char *sev(const json_t *f) { return f ? json_string_value(json_object_get(f, "severity")) : ""; }

static json_t *licence(const char *name)
{
    return doc("business-license", "front", json_pack("{s:o}", "name", field(name, 0.95)), NULL, NULL);
}

static json_t *id_front(const char *name) { return doc("id-card", "front", json_pack("{s:o}", "name", field(name, 0.95)), NULL, NULL); }

static json_t *id_back(void) { return doc("id-card", "back", NULL, NULL, NULL); }

static json_t *domain_cert(const char *holder, const char *holder_en, double conf)
{
    json_t *f = json_pack("{s:o}", "domain", field("example.cn", 0.95));
    if (holder)
        json_object_set_new(f, "holder", field(holder, conf));
    if (holder_en)
        json_object_set_new(f, "holder_en", field(holder_en, conf));
    return doc("domain-certificate", "front", f, NULL, NULL);
}

static void test_certificate_type(void)
{
    /* An enterprise that sends only an ID card. */
    json_t *r = run(json_pack("[o, o]", id_front("张三"), id_back()), json_pack("{s:s}", "entity_type", "有限责任公司"),
                    NULL, NULL, NULL);
    json_t *f = first(r, "certificate_type_mismatch");
    CHECK(related(f, 0, "id-card") && !strcmp(sev(f), "reject")
              && !strcmp(json_string_value(json_object_get(f, "expected")), "business-license"),
          "enterprise with an ID card only → certificate_type_mismatch about the ID card");
    CHECK(!strcmp(json_string_value(json_object_get(r, "verdict")), "reject"), "the application is rejected");
    json_decref(r);
    /* The same enterprise with its licence and the person in charge's ID: fits. */
    r = run(json_pack("[o, o, o]", licence("北京某某科技有限公司"), id_front("张三"), id_back()),
            json_pack("{s:s}", "entity_type", "企业"), NULL, NULL, NULL);
    CHECK(count(r, "certificate_type_mismatch") == 0, "enterprise with a licence: fits");
    json_decref(r);
    /* A sole proprietorship (个人独资企业) is a business, not a person. */
    r = run(json_pack("[o]", licence("某某商店")), json_pack("{s:s}", "entity_type", "个人独资企业"), NULL, NULL, NULL);
    CHECK(count(r, "certificate_type_mismatch") == 0, "个人独资企业 files with a licence");
    json_decref(r);
    /* An individual who sends a business licence. */
    r = run(json_pack("[o, o]", id_front("张三"), licence("北京某某科技有限公司")), json_pack("{s:s}", "entity_type", "个人"),
            NULL, NULL, NULL);
    f = first(r, "certificate_type_mismatch");
    CHECK(related(f, 1, "business-license") && json_integer_value(json_object_get(f, "document")) == 1,
          "individual with a licence → on the licence");
    json_decref(r);
    /* A government body files with its certificate (the licence type) too; an individual with a passport fits. */
    r = run(json_pack("[o]", id_front("张三")), json_pack("{s:s}", "entity_type", "事业单位"), NULL, NULL, NULL);
    CHECK(count(r, "certificate_type_mismatch") == 1, "事业单位 with an ID only");
    json_decref(r);
    r = run(json_pack("[o]", doc("passport", "front", NULL, NULL, NULL)), json_pack("{s:s}", "entity_type", "individual"),
            NULL, NULL, NULL);
    CHECK(count(r, "certificate_type_mismatch") == 0, "individual with a passport fits");
    json_decref(r);
    /* No entity type declared, or wording no rule knows: no judgement. */
    r = run(json_pack("[o]", id_front("张三")), json_pack("{s:s}", "entity_type", "其他"), NULL, NULL, NULL);
    CHECK(count(r, "certificate_type_mismatch") == 0, "unknown wording: not judged");
    json_decref(r);
    CHECK(bn_entity_category("个体工商户") == BN_ENTITY_BUSINESS && bn_entity_category("民办非企业单位") == BN_ENTITY_SOCIAL
              && bn_entity_category("个人") == BN_ENTITY_PERSON && bn_entity_category(NULL) == 0,
          "entity categories");
}

static void test_domain_holder(void)
{
    /* Organisation: the holder is the licence's name (full-width brackets, traditional forms). */
    json_t *r = run(json_pack("[o, o]", licence("北京某某科技有限公司"), domain_cert("北京某某科技有限公司", NULL, 0.95)),
                    json_pack("{s:s}", "entity_type", "企业"), NULL, NULL, NULL);
    CHECK(count(r, "domain_holder_mismatch") == 0, "holder = licence name");
    json_decref(r);
    r = run(json_pack("[o, o]", licence("广州某某（集团）有限公司"), domain_cert("廣州某某(集團)有限公司", NULL, 0.95)), NULL, NULL,
            NULL, NULL);
    CHECK(count(r, "domain_holder_mismatch") == 0, "normalised: brackets, traditional characters; a licence makes it an organisation");
    json_decref(r);
    r = run(json_pack("[o, o, o]", licence("北京某某科技有限公司"), id_front("张三"), domain_cert("张三", "ZHANG SAN", 0.95)),
            json_pack("{s:s}", "entity_type", "企业"), NULL, NULL, NULL);
    json_t *f = first(r, "domain_holder_mismatch");
    CHECK(related(f, 0, "business-license") && json_integer_value(json_object_get(f, "document")) == 2
              && !strcmp(sev(f), "reject") && !strcmp(json_string_value(json_object_get(f, "field")), "holder"),
          "an organisation's domain held by its person in charge → mismatch on the certificate, related to the licence");
    json_t *cert = json_array_get(json_object_get(r, "documents"), 2);
    CHECK(!strcmp(json_string_value(json_object_get(cert, "verdict")), "reject"), "the certificate's verdict");
    json_decref(r);
    /* Individual: the person's name; either holder or holder_en may match. */
    r = run(json_pack("[o, o, o]", id_front("张三"), id_back(), domain_cert("张三", NULL, 0.95)), NULL, NULL, NULL, NULL);
    CHECK(count(r, "domain_holder_mismatch") == 0, "individual: holder = ID name");
    json_decref(r);
    r = run(json_pack("[o, o]", doc("passport", "front", json_pack("{s:o, s:o}", "surname", field("ZHANG", 0.9),
                                                                   "given_names", field("SAN", 0.9)), NULL, NULL),
                      domain_cert("某某", "San Zhang", 0.95)),
            json_pack("{s:s}", "entity_type", "个人"), NULL, NULL, NULL);
    CHECK(count(r, "domain_holder_mismatch") == 0, "holder_en matches the passport's Latin name, either order");
    json_decref(r);
    r = run(json_pack("[o, o]", id_front("张三"), domain_cert("李四", "LI SI", 0.95)), NULL, NULL, NULL, NULL);
    f = first(r, "domain_holder_mismatch");
    CHECK(related(f, 0, "id-card") && json_number_value(json_object_get(f, "metric")) < 1, "another person's domain");
    json_decref(r);
    r = run(json_pack("[o, o]", id_front("张三"), domain_cert("李四", NULL, 0.5)), NULL, NULL, NULL, NULL);
    CHECK(!strcmp(sev(first(r, "domain_holder_mismatch")), "review"), "low OCR confidence → review");
    json_decref(r);
    /* Nothing read, or no subject document: no judgement here. */
    r = run(json_pack("[o, o]", id_front("张三"), domain_cert(NULL, NULL, 0.9)), NULL, NULL, NULL, NULL);
    CHECK(count(r, "domain_holder_mismatch") == 0, "holder unread: not judged");
    json_decref(r);
}

static void test_person(void)
{
    json_t *root = json_pack("{s:{s:{s:i}}}", "profiles", "aliyun", "id_min_valid_days", 180);
    bn_config_t *cfg = bn_config_from_json(root); /* takes its own reference */
    json_decref(root);
    /* Age: a minor whose document's age was not flagged by the stage. */
    json_t *r = run(json_pack("[o]", doc("id-card", "front", NULL, json_pack("{s:{s:i, s:b}}", "age", "years", 16, "adult", 0),
                                         NULL)), NULL, NULL, NULL, NULL);
    json_t *f = first(r, "under_18");
    CHECK(related(f, 0, "id-card") && json_number_value(json_object_get(f, "metric")) == 16, "under_18 at application level");
    json_decref(r);
    r = run(json_pack("[o]", doc("id-card", "front", NULL, json_pack("{s:{s:i}}", "age", "years", 16),
                                 json_pack("[{s:s, s:s}]", "code", "under_18", "severity", "reject"))),
            NULL, NULL, NULL, NULL);
    CHECK(count(r, "under_18") == 1, "the stage's under_18 is not raised twice");
    json_decref(r);
    /* Only the back was sent: the form's number tells the age on the filing date. */
    char d17[18] = "11010120100501123", minor[19], adult[19];
    snprintf(minor, sizeof minor, "%s%c", d17, bn_id_check_char(d17));
    memcpy(d17 + 6, "1990", 4);
    snprintf(adult, sizeof adult, "%s%c", d17, bn_id_check_char(d17));
    r = run(json_pack("[o]", id_back()), json_pack("{s:s}", "id_number", minor), NULL, NULL, NULL);
    f = first(r, "under_18");
    CHECK(related(f, 0, "id-card") && !strcmp(json_string_value(json_object_get(f, "field")), "form.id_number")
              && json_number_value(json_object_get(f, "metric")) == 15,
          "a minor's number on the form → under_18 (15 on " NOW ")");
    json_decref(r);
    r = run(json_pack("[o]", id_back()), json_pack("{s:s}", "id_number", adult), NULL, NULL, NULL);
    CHECK(count(r, "under_18") == 0, "an adult's number: no flag");
    json_decref(r);
    /* ID validity against the profile's minimum. */
    json_t *back = doc("id-card", "back", NULL, json_pack("{s:{s:i}}", "expiry", "days_left", 120), NULL);
    r = run(json_pack("[O]", back), NULL, NULL, "aliyun", cfg);
    f = first(r, "id_expires_soon");
    CHECK(related(f, 0, "id-card") && json_number_value(json_object_get(f, "metric")) == 120
              && json_number_value(json_object_get(f, "threshold")) == 180,
          "120 days left, the profile wants 180 → id_expires_soon");
    json_decref(r);
    r = run(json_pack("[O]", back), NULL, NULL, "default", cfg);
    CHECK(count(r, "id_expires_soon") == 0, "the default profile: ocr.expiry_min_days (90)");
    json_decref(r);
    r = run(json_pack("[o]", back), NULL, NULL, "aliyun", NULL);
    CHECK(count(r, "id_expires_soon") == 0, "no configuration: 90 days");
    json_decref(r);
    /* Both sides of one permit: numbers differ (the back's MRZ), dates printed differently agree. */
    json_t *front = doc("hk-macao-permit", "front",
                        json_pack("{s:o, s:o, s:o}", "document_number", field("H12345678", 0.95), "name", field("张三", 0.95),
                                  "valid_until", field("2030-01-01", 0.95)), NULL, NULL);
    json_t *mback = doc("hk-macao-permit", "back", json_pack("{s:o}", "valid_until", field("2030.01.01", 0.9)),
                        json_pack("{s:{s:b, s:s}}", "mrz", "checks_valid", 1, "document_number", "H87654321"), NULL);
    r = run(json_pack("[O, O]", front, mback), NULL, NULL, NULL, NULL);
    f = first(r, "document_sides_mismatch");
    CHECK(related(f, 0, "hk-macao-permit") && json_integer_value(json_object_get(f, "document")) == 1
              && !strcmp(json_string_value(json_object_get(f, "field")), "document_number") && !strcmp(sev(f), "reject"),
          "front and back of two permits → document_sides_mismatch on the back");
    json_decref(r);
    json_object_set_new(json_object_get(json_object_get(mback, "checks"), "mrz"), "document_number", json_string("H12345678"));
    r = run(json_pack("[o, o]", front, mback), NULL, NULL, NULL, NULL);
    CHECK(count(r, "document_sides_mismatch") == 0, "same number, same end date in two spellings: agree");
    json_decref(r);
    /* The face check names the document whose portrait it compared. */
    r = run(json_pack("[o, o]", licence("北京某某科技有限公司"), id_front("张三")), NULL,
            json_pack("[{s:s, s:s}]", "code", "face_mismatch", "severity", "reject"), NULL, NULL);
    f = first(r, "face_mismatch");
    CHECK(related(f, 1, "id-card"), "face_mismatch → related_document = the ID front");
    CHECK(related(json_array_get(json_object_get(json_object_get(r, "face"), "flags"), 0), 1, "id-card"),
          "also in the face part");
    json_decref(r);
    bn_config_destroy(&cfg);
}

static void test_form(void)
{
    static const struct {
        const char *form;
        const char *err; /* NULL: valid; else the message's start */
    } cases[] = {
        {"{}", NULL},
        {"{\"name\":\"张三\",\"id_number\":\"11010519491231002x\",\"domain\":\"例子.中国\",\"province\":\"北京\"}", NULL},
        {"{\"company_name\":\"某某有限公司\",\"credit_code\":\"91350100M000100Y43\",\"entity_type\":\"企业\",\"domain\":\"www.example.com.cn\"}", NULL},
        {"{\"nmae\":\"张三\"}", "form.nmae: unknown key"},
        {"{\"name\":5}", "form.name must be a string"},
        {"{\"name\":null}", "form.name must be a string"},
        {"{\"name\":\"\"}", "form.name must be 1..128"},
        {"{\"domain\":\"https://example.com\"}", "form.domain must be"},
        {"{\"domain\":\"localhost\"}", "form.domain must be"},
        {"{\"domain\":\"a..com\"}", "form.domain must be"},
        {"{\"credit_code\":\"91350100-M000\"}", "form.credit_code must be"},
        {"{\"id_number\":\" 110105\"}", "form.id_number must be"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *spec = json_pack("{s:o}", "form", json_loads(cases[i].form, 0, NULL));
        int rc = bn_job_form_check(spec);
        CHECK(cases[i].err ? rc < 0 && !strcmp(bn_error_code(), "form_invalid")
                                 && !strncmp(bn_error_msg(), cases[i].err, strlen(cases[i].err))
                           : rc == 0,
              "%s → %s (got %s)", cases[i].form, cases[i].err ? cases[i].err : "valid", rc ? bn_error_msg() : "valid");
        json_decref(spec);
    }
    /* Lengths count characters: 128 Chinese characters (384 bytes) are a valid name, 129 are not. */
    char name[4 * 130] = "";
    for (int i = 0; i < 128; i++)
        strcat(name, "张");
    json_t *spec = json_pack("{s:{s:s}}", "form", "name", name);
    CHECK(bn_job_form_check(spec) == 0, "128 characters");
    strcat(name, "张");
    json_object_set_new(json_object_get(spec, "form"), "name", json_string(name));
    CHECK(bn_job_form_check(spec) < 0, "129 characters");
    json_decref(spec);
    /* A key longer than the message shows is cut on a character boundary. */
    spec = json_pack("{s:{s:s}}", "form", "名名名名名名名名名名名名名名名名名名名名名名名名名名名名", "x");
    CHECK(bn_job_form_check(spec) < 0);
    json_t *msg = json_string(bn_error_msg());
    CHECK(msg != NULL, "the message stays valid UTF-8");
    json_decref(msg);
    json_decref(spec);
}

int main(void)
{
    /* Only the aggregation raises them: a worker's reply carrying one is refused. */
    json_t *reply = json_pack("{s:b, s:{s:[{s:s, s:s}]}}", "ok", 1, "result", "flags", "code", "certificate_type_mismatch",
                              "severity", "reject");
    CHECK(bn_job_reply_check(reply, 0) < 0 && !strcmp(bn_error_code(), "stage_reply_invalid"),
          "an application flag from a stage → stage_reply_invalid");
    json_decref(reply);
    test_certificate_type();
    test_domain_holder();
    test_person();
    test_form();
    return bn_test_end("apprules");
}
