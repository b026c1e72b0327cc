/* bn_evidence — quality flags judged by the reading: see bn_evidence.h. */
#include "core/bn_evidence.h"

#include <string.h>

#include "core/bn_flags.h"

static int is_one_of(const char *code, const char *const *list)
{
    for (; code && *list; list++)
        if (!strcmp(code, *list))
            return 1;
    return 0;
}

static const char *const s_capture[] = {"blurry", "glare", "too_dark", "overexposed", NULL};
static const char *const s_number[] = {"number_checksum_invalid", "number_birth_mismatch", "number_sex_mismatch", NULL};
/* ocr flags that say a field was not read, or not read right (an expired card was read fine) */
static const char *const s_unread[] = {"field_unreadable", "number_checksum_invalid", "number_birth_mismatch",
                                       "number_sex_mismatch", "mrz_not_found", "mrz_checksum_invalid",
                                       "wrong_side", "wrong_document_type", NULL};

static bn_severity_t sev_of(const json_t *f)
{
    return bn_severity_parse(json_string_value(json_object_get(f, "severity")));
}

static const char *str_of(const json_t *f, const char *key)
{
    return json_string_value(json_object_get(f, key));
}

int bn_evidence_apply(json_t *docs, const bn_config_t *config)
{
    if (!json_is_array(docs) || !bn_config_bool(config, "job.legibility_evidence", 1))
        return 0;
    int changed = 0;
    size_t i, k;
    json_t *d, *f;
    json_array_foreach(docs, i, d) {
        json_t *flags = json_object_get(d, "flags");
        /* evidence is what was read: no field read, no evidence (a stage answering with an
         * empty reading must not turn a blurry capture into a pass) */
        if (json_object_size(json_object_get(d, "fields")) == 0 || !json_is_array(flags))
            continue;
        int unread = 0;
        const char *cause = NULL;
        json_array_foreach(flags, k, f) {
            const char *stage = str_of(f, "stage"), *code = str_of(f, "code");
            if (stage && !strcmp(stage, "ocr") && is_one_of(code, s_unread) && sev_of(f) >= BN_SEV_REVIEW)
                unread = 1;
            if (stage && !strcmp(stage, "quality") && is_one_of(code, s_capture) && sev_of(f) >= BN_SEV_RESHOOT)
                cause = code;
        }
        json_array_foreach(flags, k, f) {
            const char *stage = str_of(f, "stage"), *code = str_of(f, "code");
            if (!stage)
                continue;
            if (!unread && !strcmp(stage, "quality") && is_one_of(code, s_capture) && sev_of(f) > BN_SEV_INFO) {
                json_object_set_new(f, "severity", json_string(bn_severity_name(BN_SEV_INFO)));
                json_object_set_new(f, "legible", json_true());
                changed++;
            } else if (cause && !strcmp(stage, "ocr") && is_one_of(code, s_number) && sev_of(f) == BN_SEV_REJECT) {
                json_object_set_new(f, "severity", json_string(bn_severity_name(BN_SEV_RESHOOT)));
                json_object_set_new(f, "cause", json_string(cause));
                changed++;
            }
        }
    }
    return changed;
}
