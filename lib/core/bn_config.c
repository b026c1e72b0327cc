#include "core/bn_config.h"
#include "core/bn_error.h"

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
