/* bn_config — thresholds, limits and provider profiles from a JSON file (etc/beian.json).
 *
 * Every tunable is read with a compiled-in default, so a missing key or a missing file never
 * changes behaviour silently: the default is the documented value (docs/CONFIG.md). Keys are
 * dotted paths: bn_config_num(cfg, "quality.blur.min_laplacian_var", 60). */
#ifndef BN_CONFIG_H
#define BN_CONFIG_H
#include <jansson.h>

typedef struct bn_config bn_config_t;

/* Load path; NULL loads $BEIAN_CONFIG if set, else defaults only. NULL on a parse error
 * (bn_error set: config_invalid). */
bn_config_t *bn_config_load(const char *path);
/* A config from an in-memory JSON object (takes a reference); for tests. */
bn_config_t *bn_config_from_json(json_t *root);
void bn_config_destroy(bn_config_t **self_p);

json_t *bn_config_get(const bn_config_t *self, const char *path); /* borrowed or NULL */
double bn_config_num(const bn_config_t *self, const char *path, double dflt);
const char *bn_config_str(const bn_config_t *self, const char *path, const char *dflt);
int bn_config_bool(const bn_config_t *self, const char *path, int dflt);

#endif
