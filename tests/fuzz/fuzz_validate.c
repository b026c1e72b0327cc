/* Fuzz the validators and the text normaliser: every bn_validate function promises to take any
 * NUL-terminated string and answer "invalid" rather than fail (lib/core/bn_validate.h), and
 * bn_norm bounds its input and output (lib/core/bn_normalize.h).
 * Input: up to four strings separated by '\n'; each goes through everything, the first two are
 * also compared. Properties checked, beyond not crashing: a parsed date formats and parses back
 * to itself, a valid ID number carries its own check character, a string is fully similar to
 * itself, a normalisation into a small buffer is a prefix of the one into a large buffer. */
#include "core/bn_error.h"
#include "core/bn_validate.h"
#include "core/bn_normalize.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void s_one(const char *s)
{
    bn_date_t d, e;
    char buf[16];
    if (bn_date_parse(s, &d) == 0) {
        if (!bn_date_valid(d.y, d.m, d.d) || bn_date_parse(bn_date_format(&d, buf, sizeof buf), &e) != 0
            || e.y != d.y || e.m != d.m || e.d != d.d)
            abort();
        bn_date_t t = bn_today("2026-01-01");
        bn_age_years(&d, &t);
        bn_date_days_between(&d, &t);
        bn_date_add_years(&d, 20);
        bn_is_adult(&d, &t);
        bn_expiry_ok(&d, &t, 90);
    }
    bn_date_parse_yymmdd(s, 2026, 0, &d);
    bn_date_parse_yymmdd(s, 2026, 50, &d);
    bn_id_info_t id;
    if (bn_id_validate(s, "2026-01-01", &id) == BN_ID_VALID
        && (strlen(id.number) != 18 || bn_id_check_char(id.number) != id.number[17]))
        abort();
    char out[19];
    bn_id_repair(s, out);
    bn_id_check_char(s);
    bn_uscc_info_t u;
    bn_uscc_validate(s, &u);
    bn_uscc_repair(s, out);
    bn_number_windows(s, 0, out);
    bn_number_windows(s, 1, out);
    bn_icao_check_digit(s, strlen(s));
    bn_country_code_valid(s);
    bn_region_name(s);
    for (int k = BN_PERMIT_HK_MACAO; k <= BN_PERMIT_EEP_TAIWAN; k++)
        bn_permit_number_valid((bn_permit_kind_t)k, s);
    bn_date_t from, until;
    int long_term;
    if (bn_validity_parse(s, &from, &until, &long_term) == 0)
        bn_validity_span_ok(&from, &until, -1);
    for (int k = BN_NORM_TEXT; k <= BN_NORM_NUMBER; k++) {
        char small[24], big[4 * BN_NORM_MAX_CP + 8];
        int nb = bn_norm(s, (bn_norm_kind_t)k, big, sizeof big);
        bn_norm(s, (bn_norm_kind_t)k, small, sizeof small);
        if (nb < 0 || strncmp(small, big, strlen(small)) != 0)
            abort();
        char *dup = bn_norm_dup(s, (bn_norm_kind_t)k);
        if (!dup || strcmp(dup, big) != 0)
            abort();
        free(dup);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *parts[4] = {0};
    memcpy(text, data, size);
    text[size] = '\0';
    int n = 0;
    for (char *p = text; p && n < 4; n++) {
        parts[n] = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = '\0';
    }
    for (int i = 0; i < n; i++)
        s_one(parts[i]);
    /* similarity is quadratic in the (bounded) length: once per kind, not per string */
    for (int k = BN_NORM_TEXT; k <= BN_NORM_NUMBER; k++)
        if (bn_norm_similarity(parts[0], parts[0], (bn_norm_kind_t)k) != 1.0)
            abort();
    if (n >= 2)
        for (int k = BN_NORM_TEXT; k <= BN_NORM_NUMBER; k++) {
            double a = bn_norm_similarity(parts[0], parts[1], (bn_norm_kind_t)k);
            if (!(a >= 0.0 && a <= 1.0))
                abort();
            bn_norm_equal(parts[0], parts[1], (bn_norm_kind_t)k);
        }
    bn_error_clear();
    free(text);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    bn_regions_count(); /* the region table is loaded once per process, not per input */
    return 0;
}
