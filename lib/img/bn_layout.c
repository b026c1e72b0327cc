#include "img/bn_layout.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef BEIAN_SOURCE_DIR
#define BEIAN_SOURCE_DIR "."
#endif

/* Parsed once per process and never freed: it is small and read-only after load. */
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static json_t *s_root;

static void s_load(void)
{
    char path[1024];
    const char *env = getenv("BEIAN_LAYOUTS");
    if (env && *env)
        s_root = json_load_file(env, 0, NULL);
    if (!s_root && (env = getenv("BEIAN_SRC")) && *env) {
        snprintf(path, sizeof path, "%s/data/layouts.json", env);
        s_root = json_load_file(path, 0, NULL);
    }
    if (!s_root) {
        snprintf(path, sizeof path, "%s/data/layouts.json", BEIAN_SOURCE_DIR);
        s_root = json_load_file(path, 0, NULL);
    }
}

static int s_box(const json_t *a, bn_box_t *b)
{
    if (!json_is_array(a) || json_array_size(a) != 4)
        return -1;
    b->x = json_number_value(json_array_get(a, 0));
    b->y = json_number_value(json_array_get(a, 1));
    b->w = json_number_value(json_array_get(a, 2));
    b->h = json_number_value(json_array_get(a, 3));
    return b->w > 0 && b->h > 0 ? 0 : -1;
}

static void s_add_text(bn_layout_t *o, const json_t *a)
{
    if (o->ntext < BN_LAYOUT_MAX_BOXES && s_box(a, &o->text[o->ntext]) == 0)
        o->ntext++;
}

const json_t *bn_layout_json(void)
{
    pthread_once(&s_once, s_load);
    return s_root;
}

int bn_layout_get(const char *doc_type, const char *side, bn_layout_t *out)
{
    memset(out, 0, sizeof *out);
    if (!doc_type)
        return -1;
    pthread_once(&s_once, s_load);
    if (!s_root)
        return -1;
    char key[48];
    if (strchr(doc_type, ':') || !side)
        snprintf(key, sizeof key, "%s%s", doc_type, strchr(doc_type, ':') ? "" : ":front");
    else
        snprintf(key, sizeof key, "%s:%s", doc_type, side);
    json_t *l = json_object_get(s_root, key);
    if (!json_is_object(l))
        return -1;
    snprintf(out->key, sizeof out->key, "%s", key);
    json_t *sz = json_object_get(l, "size_mm");
    out->w_mm = json_number_value(json_array_get(sz, 0));
    out->h_mm = json_number_value(json_array_get(sz, 1));
    if (out->w_mm <= 0 || out->h_mm <= 0)
        return -1;
    out->has_portrait = s_box(json_object_get(l, "portrait"), &out->portrait) == 0;
    const char *k;
    json_t *f;
    json_object_foreach(json_object_get(l, "fields"), k, f) {
        s_add_text(out, json_object_get(f, "box"));
        s_add_text(out, json_object_get(f, "label_box"));
    }
    json_t *mrz = json_object_get(l, "mrz");
    if (json_is_object(mrz))
        s_add_text(out, json_object_get(mrz, "box"));
    size_t i;
    json_array_foreach(json_object_get(l, "static"), i, f) {
        const char *kind = json_string_value(json_object_get(f, "kind"));
        if (!kind || strcmp(kind, "border") == 0)
            continue;
        if (strcmp(kind, "text") == 0 || strcmp(kind, "value") == 0 || strcmp(kind, "notes") == 0)
            s_add_text(out, json_object_get(f, "box"));
        else if (out->nneutral < 8 && s_box(json_object_get(f, "box"), &out->neutral[out->nneutral]) == 0)
            out->nneutral++;
    }
    return 0;
}
