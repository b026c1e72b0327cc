/* Fuzz the OCR stage's checks (bn_checks_run): the fields a recogniser read (any text at all)
 * and the applicant's form, through every validator, the MRZ parser, the normaliser and the
 * form comparisons. Input: JSON {"type": ..., "side": ..., "fields": {...}, "form": {...}};
 * a missing or unknown type is tried as each document type in turn. */
#include "core/bn_error.h"
#include "core/bn_validate.h"
#include "ocr/bn_checks.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *s_types[] = {"id-card", "passport", "hk-macao-permit", "taiwan-permit",
                                "residence-permit", "business-license", "domain-certificate"};

static void s_run(const char *type, const char *side, json_t *fields, const json_t *form)
{
    json_t *checks = json_object(), *flags = json_array();
    if (bn_checks_run(type, side, fields, form, "2026-01-01", checks, flags) == 0) {
        free(json_dumps(checks, 0));
        free(json_dumps(flags, 0));
    }
    json_decref(checks);
    json_decref(flags);
    bn_error_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *in = json_loadb((const char *)data, size, 0, &jerr);
    if (!json_is_object(in)) {
        json_decref(in);
        return 0;
    }
    /* the stage hands bn_checks its own field object, which it may annotate: a copy per run */
    json_t *fields = json_object_get(in, "fields"), *form = json_object_get(in, "form");
    const char *type = json_string_value(json_object_get(in, "type"));
    const char *side = json_string_value(json_object_get(in, "side"));
    int known = 0;
    for (size_t i = 0; type && i < sizeof s_types / sizeof *s_types; i++)
        known |= !strcmp(type, s_types[i]);
    for (size_t i = 0; i < sizeof s_types / sizeof *s_types; i++) {
        json_t *f = json_is_object(fields) ? json_deep_copy(fields) : json_object();
        s_run(known ? type : s_types[i], side, f, json_is_object(form) ? form : NULL);
        json_decref(f);
        if (known)
            break;
    }
    json_decref(in);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    bn_regions_count(); /* loaded once per process, not per input */
    return 0;
}
