#include "img/bn_profile.h"

#include <stdio.h>
#include <string.h>

#define KB 1024u
#define MB (1024u * 1024u)

/* The strictest reading of each provider's published limits (../notes/filing-rules.md): where a
 * provider publishes no lower bound, the conservative 55 KB of Huawei domain real-name is kept,
 * since a tiny file is also what reviewers reject as unreadable. */
static const bn_profile_t s_profiles[] = {
    {"default", 55 * KB, 3 * MB, 1000, 5000, 0, 300},
    {"aliyun", 55 * KB, 3 * MB, 1000, 5000, 0, 300},     /* reseller limit < 3 MB, jpg/png */
    {"tencent", 55 * KB, 5 * MB, 1000, 5000, 500, 300},  /* OCR input <= 7 MB base64, >= 500 px */
    {"huawei", 55 * KB, 4 * MB, 1000, 8000, 300, 300},   /* ICP <= 4 MB; OCR 300-8000 px/side */
    {"volcengine", 55 * KB, 5 * MB, 1000, 5000, 300, 300}, /* <= 5 MB, >= 500x300, <= 5000x5000 */
    {"cnnic", 50 * KB, 500 * KB, 1000, 5000, 0, 300},    /* 50-500 KB recommended, >= 300 DPI */
};

static const char *const s_names[] = {"default", "aliyun", "tencent", "huawei", "volcengine", "cnnic", NULL};

const char *const *bn_profile_names(void) { return s_names; }

int bn_profile_get(const bn_config_t *cfg, const char *name, bn_profile_t *out)
{
    int rc = 0;
    if (!name || !*name)
        name = "default";
    const bn_profile_t *base = &s_profiles[0];
    for (size_t i = 0; i < sizeof s_profiles / sizeof s_profiles[0]; i++)
        if (strcmp(s_profiles[i].name, name) == 0)
            base = &s_profiles[i];
    /* A profile defined only in configuration starts from the default. */
    char key[96];
    snprintf(key, sizeof key, "profiles.%s", name);
    int in_config = cfg && bn_config_get(cfg, key) != NULL;
    if (base == &s_profiles[0] && strcmp(name, "default") != 0 && !in_config) {
        rc = -1;
        name = "default";
        snprintf(key, sizeof key, "profiles.%s", name);
    }
    *out = *base;
    snprintf(out->name, sizeof out->name, "%s", name);
#define NUM(field, k)                                                      \
    do {                                                                   \
        char p_[128];                                                      \
        snprintf(p_, sizeof p_, "%s.%s", key, k);                          \
        double v_ = bn_config_num(cfg, p_, (double)out->field);            \
        if (v_ >= 0)                                                       \
            out->field = (__typeof__(out->field))v_;                       \
    } while (0)
    NUM(min_bytes, "min_bytes");
    NUM(max_bytes, "max_bytes");
    NUM(min_long_side, "min_long_side");
    NUM(max_long_side, "max_long_side");
    NUM(min_short_side, "min_short_side");
    NUM(dpi, "dpi");
#undef NUM
    if (out->dpi < 300)
        out->dpi = 300;
    if (out->max_bytes < out->min_bytes)
        out->max_bytes = out->min_bytes;
    if (out->max_long_side < out->min_long_side)
        out->max_long_side = out->min_long_side;
    return rc;
}
