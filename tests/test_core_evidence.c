/* test_core_evidence — quality flags judged by the reading (bn_evidence): a blurred or glared
 * capture whose fields were all read and validated passes with the flag kept as info; one whose
 * field could not be read stays reshoot; a number failing its check digit on a glared capture is
 * reshoot (cause named), on a clean capture still reject; an expired card does not count as
 * unread; a document without ocr fields, or the rule switched off, is left alone. */
#include "bn_test.h"
#include <string.h>

#include "core/bn_config.h"
#include "core/bn_evidence.h"
#include "core/bn_flags.h"

static json_t *doc_with(const char *const *codes, int with_fields)
{
    json_t *flags = json_array();
    for (; *codes; codes++)
        bn_flag_add(flags, *codes, 0.1, 0.2, -1);
    json_t *d = json_pack("{s:s, s:o}", "type", "id-card", "flags", flags);
    if (with_fields)
        json_object_set_new(d, "fields", json_pack("{s:{s:s}}", "name", "value", "x"));
    return d;
}

static const char *sev(json_t *doc, const char *code)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(doc, "flags"), i, f)
        if (!strcmp(json_string_value(json_object_get(f, "code")), code))
            return json_string_value(json_object_get(f, "severity"));
    return "";
}

int main(void)
{
    static const char *const legible[] = {"blurry", "glare", "expired", NULL};
    static const char *const unread[] = {"glare", "field_unreadable", NULL};
    static const char *const misread[] = {"glare", "number_checksum_invalid", NULL};
    static const char *const clean_bad[] = {"number_checksum_invalid", NULL};
    static const char *const no_ocr[] = {"blurry", NULL};
    json_t *docs = json_array();
    json_array_append_new(docs, doc_with(legible, 1));
    json_array_append_new(docs, doc_with(unread, 1));
    json_array_append_new(docs, doc_with(misread, 1));
    json_array_append_new(docs, doc_with(clean_bad, 1));
    json_array_append_new(docs, doc_with(no_ocr, 0));
    /* a reading with nothing in it is no evidence (an empty "fields" let a blurry capture pass) */
    json_t *empty = doc_with(no_ocr, 0);
    json_object_set_new(empty, "fields", json_object());
    json_array_append_new(docs, empty);

    int n = bn_evidence_apply(docs, NULL);
    CHECK(n == 3, "changed %d", n);
    json_t *d0 = json_array_get(docs, 0), *d1 = json_array_get(docs, 1), *d2 = json_array_get(docs, 2);
    CHECK(!strcmp(sev(d0, "blurry"), "info") && !strcmp(sev(d0, "glare"), "info"), "legible: capture flags are info");
    CHECK(!strcmp(sev(d0, "expired"), "reject"), "an expired card was read: still rejected");
    CHECK(!strcmp(bn_verdict_name(bn_flags_worst(json_object_get(d0, "flags"))), "reject"));
    CHECK(!strcmp(sev(d1, "glare"), "reshoot"), "unread: glare stays reshoot");
    CHECK(!strcmp(sev(d2, "number_checksum_invalid"), "reshoot"), "misread under glare: reshoot");
    json_t *f = json_array_get(json_object_get(d2, "flags"), 1);
    CHECK(!strcmp(json_string_value(json_object_get(f, "cause")) ?: "", "glare"), "cause named");
    CHECK(!strcmp(sev(json_array_get(docs, 3), "number_checksum_invalid"), "reject"), "clean capture: reject");
    CHECK(!strcmp(sev(json_array_get(docs, 4), "blurry"), "reshoot"), "no ocr evidence: unchanged");
    CHECK(!strcmp(sev(json_array_get(docs, 5), "blurry"), "reshoot"), "nothing read: unchanged");

    /* switched off */
    json_t *docs2 = json_array();
    json_array_append_new(docs2, doc_with(legible, 1));
    json_t *root = json_pack("{s:{s:b}}", "job", "legibility_evidence", 0);
    bn_config_t *cfg = bn_config_from_json(root); /* takes its own reference */
    json_decref(root);
    CHECK(cfg != NULL);
    CHECK(bn_evidence_apply(docs2, cfg) == 0, "switched off: nothing changes");
    CHECK(!strcmp(sev(json_array_get(docs2, 0), "blurry"), "reshoot"));
    bn_config_destroy(&cfg);
    CHECK(bn_evidence_apply(NULL, NULL) == 0, "no documents");
    json_decref(docs2);
    json_decref(docs);
    return bn_test_end("test_core_evidence");
}
