#include "core/bn_stage.h"
#include "core/bn_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bn_stage_result_add_blob(bn_stage_result_t *r, const char *name, const char *mime, void *data, size_t size)
{
    if (r->nblobs >= BN_MAX_BLOBS) {
        free(data);
        return -1;
    }
    bn_blob_t *b = &r->blobs[r->nblobs++];
    snprintf(b->name, sizeof b->name, "%s", name);
    snprintf(b->mime, sizeof b->mime, "%s", mime);
    b->data = data;
    b->size = size;
    return 0;
}

void bn_stage_result_clear(bn_stage_result_t *r)
{
    json_decref(r->json);
    for (int i = 0; i < r->nblobs; i++)
        free(r->blobs[i].data);
    memset(r, 0, sizeof *r);
}

json_t *bn_stage_reply(int rc, const bn_stage_result_t *r)
{
    if (rc == 0 && r->json) {
        json_t *names = json_array();
        for (int i = 0; i < r->nblobs; i++)
            json_array_append_new(names, json_string(r->blobs[i].name));
        return json_pack("{s:b, s:O, s:o}", "ok", 1, "result", r->json, "blobs", names);
    }
    const char *code = rc == 0 ? "internal" : (*bn_error_code() ? bn_error_code() : "internal");
    const char *msg = rc == 0 ? "stage returned no result" : bn_error_msg();
    return json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code, "message", msg);
}
