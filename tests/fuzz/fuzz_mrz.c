/* Fuzz the MRZ parser (bn_mrz_parse): OCR text in, lines separated by '\n', other text around
 * the MRZ tolerated. Whatever it parses must come out as bounded, NUL-terminated fields and as
 * JSON (bn_mrz_to_json). Input: the OCR text (cut at the first NUL, as a C string is). */
#include "core/bn_error.h"
#include "ocr/bn_mrz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    bn_mrz_t m;
    if (bn_mrz_parse(text, "2026-01-01", &m) == 0) {
        if (m.nlines < 1 || m.nlines > 3 || m.nchecks < 0 || m.nchecks > BN_MRZ_MAX_CHECKS)
            abort();
        for (int i = 0; i < m.nlines; i++)
            if (strnlen(m.lines[i], sizeof m.lines[i]) == sizeof m.lines[i])
                abort(); /* an unterminated line */
        if (strcmp(bn_mrz_format_name(m.format), "none") == 0)
            abort(); /* parsed, so some format */
        json_t *j = bn_mrz_to_json(&m);
        if (!json_is_object(j))
            abort();
        free(json_dumps(j, 0));
        json_decref(j);
    }
    bn_error_clear();
    free(text);
    return 0;
}
