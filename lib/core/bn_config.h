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

/* Keys in the file that no part of beian reads: a misspelling (broker.max_jbos) would
 * otherwise leave the default in force without a word. Dotted paths of every unknown key under
 * broker.*, store.*, job.*, worker.* and of every unknown top-level section (or a known one that is not
 * an object); the stage sections quality.*, profiles.*, ocr.*, face.* are not looked into.
 * Returns a new array (empty for NULL). */
json_t *bn_config_unknown_keys(const bn_config_t *self);
/* Log a warning naming each of bn_config_unknown_keys (beiand and workers at start); returns
 * their number. */
int bn_config_warn_unknown(const bn_config_t *self);

#endif
