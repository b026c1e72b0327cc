/* bn_profile — an access provider's file limits for the prepared image.
 *
 * Compiled-in defaults (from the providers' published limits, docs/QUALITY.md) are overridden
 * key by key by "profiles.<name>" in etc/beian.json. */
#ifndef BN_PROFILE_H
#define BN_PROFILE_H
#include <stddef.h>

#include "core/bn_config.h"

typedef struct {
    char name[32];
    size_t min_bytes, max_bytes;   /* prepared JPEG size window */
    int min_long_side, max_long_side;
    int min_short_side;            /* 0 = none */
    int dpi;                       /* rectification resolution of the document, >= 300 */
} bn_profile_t;

/* Fill *out for name (NULL or "" = "default"). Unknown names fall back to "default" and return
 * -1 (the caller may flag or log it); 0 otherwise. */
int bn_profile_get(const bn_config_t *cfg, const char *name, bn_profile_t *out);

/* Names of the compiled-in profiles, NULL-terminated. */
const char *const *bn_profile_names(void);

#endif
