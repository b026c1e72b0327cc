#include "core/bn_config.h"
#include "core/bn_error.h"
#include "core/bn_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bn_config {
    json_t *root;
};

bn_config_t *bn_config_from_json(json_t *root)
{
    bn_config_t *self = calloc(1, sizeof *self);
    self->root = root ? json_incref(root) : json_object();
    return self;
}

bn_config_t *bn_config_load(const char *path)
{
    if (!path)
        path = getenv("BEIAN_CONFIG");
    if (!path || !*path)
        return bn_config_from_json(NULL);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root || !json_is_object(root)) {
        bn_error_set("config_invalid", "%s:%d: %s", path, jerr.line, root ? "not an object" : jerr.text);
        json_decref(root);
        return NULL;
    }
    bn_config_t *self = bn_config_from_json(root);
    json_decref(root);
    return self;
}

void bn_config_destroy(bn_config_t **self_p)
{
    if (self_p && *self_p) {
        json_decref((*self_p)->root);
        free(*self_p);
        *self_p = NULL;
    }
}

json_t *bn_config_get(const bn_config_t *self, const char *path)
{
    if (!self || !path)
        return NULL;
    json_t *node = self->root;
    char key[128];
    while (node && *path) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        if (len >= sizeof key)
            return NULL;
        memcpy(key, path, len);
        key[len] = '\0';
        node = json_object_get(node, key);
        path += len + (dot ? 1 : 0);
    }
    return node;
}

double bn_config_num(const bn_config_t *self, const char *path, double dflt)
{
    json_t *v = bn_config_get(self, path);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

const char *bn_config_str(const bn_config_t *self, const char *path, const char *dflt)
{
    json_t *v = bn_config_get(self, path);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

int bn_config_bool(const bn_config_t *self, const char *path, int dflt)
{
    json_t *v = bn_config_get(self, path);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* The keys this program reads outside the stage sections (docs/CONFIG.md): broker.*, job.*,
 * worker.*, store.*, webhooks.*. The stage sections quality.*, profiles.*, ocr.* and face.* are accepted whole:
 * their keys are read in many places with computed paths (profiles.<name>.*, per-check
 * thresholds) and documented in docs/QUALITY.md, docs/OCR.md and docs/FACE.md, so a list here
 * would drift from the code that reads them; only the section name is checked. */
static const char *const s_known_keys[] = {
    "broker.heartbeat_ms", "broker.lease_ms", "broker.max_attempts", "broker.max_jobs", "broker.max_bytes",
    "broker.max_upload", "broker.max_frame", "broker.retention_hours", "broker.max_queued_bytes",
    "broker.request_timeout_ms", "store.key_file", "store.old_key_files", "store.min_free_bytes", "store.broker_lease_ms", "store.lock_timeout_ms",
    "job.allow_client_clock", "job.legibility_evidence",
    "worker.task_timeout_ms", "worker.nice", "worker.cv_threads", "worker.max_memory_mb",
    "webhooks.tenants", "webhooks.retry_for_ms", "webhooks.backoff_ms", "webhooks.max_backoff_ms",
    "webhooks.timeout_ms",
    NULL};
static const char *const s_stage_sections[] = {"quality", "profiles", "ocr", "face", NULL};

static int s_in(const char *const *list, const char *s)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

/* Is section the first component of one of the known keys? */
static int s_known_section(const char *section)
{
    size_t n = strlen(section);
    for (int i = 0; s_known_keys[i]; i++)
        if (strncmp(s_known_keys[i], section, n) == 0 && s_known_keys[i][n] == '.')
            return 1;
    return 0;
}

json_t *bn_config_unknown_keys(const bn_config_t *self)
{
    json_t *out = json_array();
    if (!self)
        return out;
    const char *sec, *k;
    json_t *v, *x;
    json_object_foreach(self->root, sec, v) {
        if (s_in(s_stage_sections, sec))
            continue;
        if (!s_known_section(sec) || !json_is_object(v)) {
            json_array_append_new(out, json_string(sec));
            continue;
        }
        json_object_foreach(v, k, x) {
            char path[256];
            snprintf(path, sizeof path, "%s.%s", sec, k);
            if (!s_in(s_known_keys, path))
                json_array_append_new(out, json_string(path));
        }
    }
    return out;
}

int bn_config_warn_unknown(const bn_config_t *self)
{
    json_t *unknown = bn_config_unknown_keys(self);
    size_t i;
    json_t *p;
    json_array_foreach(unknown, i, p)
        bn_warn("config: unknown key %s is ignored (misspelt, or not an object where a section is expected? "
                "docs/CONFIG.md lists the keys)", json_string_value(p));
    int n = (int)json_array_size(unknown);
    json_decref(unknown);
    return n;
}
