#include "core/bn_stage.h"

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
