#include "bd_memjobs.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char id[33];
    char *status;
    json_t *result;
    char *tenant;
    char *key;              /* "tenant\x1fkey" or NULL */
    int kind;
    int64_t finished;
} s_job_t;

struct bd_memjobs {
    zhashx_t *jobs;         /* id → s_job_t */
    zhashx_t *keys;         /* "tenant\x1fkey" → s_job_t (borrowed) */
    zlistx_t *order;        /* ids (copies) in the order they finished, for the purge */
};

static void s_job_free(void **item)
{
    s_job_t *j = *item;
    if (!j)
        return;
    free(j->status);
    free(j->tenant);
    json_decref(j->result);
    free(j->key);
    free(j);
    *item = NULL;
}

bd_memjobs_t *bd_memjobs_new(void)
{
    bd_memjobs_t *self = calloc(1, sizeof *self);
    self->jobs = zhashx_new();
    zhashx_set_destructor(self->jobs, s_job_free);
    self->keys = zhashx_new();
    self->order = zlistx_new();
    zlistx_set_destructor(self->order, (zlistx_destructor_fn *)zstr_free);
    return self;
}

void bd_memjobs_destroy(bd_memjobs_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bd_memjobs_t *self = *self_p;
    zhashx_destroy(&self->keys);
    zhashx_destroy(&self->jobs);
    zlistx_destroy(&self->order);
    free(self);
    *self_p = NULL;
}

void bd_memjobs_delete(bd_memjobs_t *self, const char *id)
{
    s_job_t *j = zhashx_lookup(self->jobs, id);
    if (!j)
        return; /* its id stays in `order` until the purge reaches it and finds nothing */
    if (j->key)
        zhashx_delete(self->keys, j->key);
    zhashx_delete(self->jobs, id);
}

void bd_memjobs_put(bd_memjobs_t *self, const char *id, const char *tenant, const char *key, int kind,
                    const char *status, json_t *result, int64_t now_ms)
{
    bd_memjobs_delete(self, id);
    s_job_t *j = calloc(1, sizeof *j);
    snprintf(j->id, sizeof j->id, "%s", id);
    j->status = strdup(status);
    j->result = json_incref(result);
    j->tenant = strdup(tenant);
    j->kind = kind;
    j->finished = now_ms;
    if (key) {
        size_t n = strlen(tenant) + strlen(key) + 2;
        j->key = malloc(n);
        snprintf(j->key, n, "%s\x1f%s", tenant, key);
        zhashx_update(self->keys, j->key, j);
    }
    zhashx_insert(self->jobs, j->id, j);
    zlistx_add_end(self->order, strdup(j->id));
}

int bd_memjobs_get(bd_memjobs_t *self, const char *id, const char *tenant, char **status, char **result, int *kind)
{
    s_job_t *j = zhashx_lookup(self->jobs, id);
    if (!j || (tenant && strcmp(j->tenant, tenant) != 0))
        return 0;
    if (status)
        *status = strdup(j->status);
    if (result)
        *result = j->result ? json_dumps(j->result, JSON_COMPACT) : NULL;
    if (kind)
        *kind = j->kind;
    return 1;
}

int bd_memjobs_by_key(bd_memjobs_t *self, const char *tenant, const char *key, char id_out[33])
{
    char k[600];
    snprintf(k, sizeof k, "%s\x1f%s", tenant, key);
    s_job_t *j = zhashx_lookup(self->keys, k);
    if (j)
        memcpy(id_out, j->id, 33);
    return j != NULL;
}

int bd_memjobs_purge(bd_memjobs_t *self, int64_t before_ms)
{
    int n = 0;
    char *id;
    while ((id = zlistx_first(self->order))) {
        s_job_t *j = zhashx_lookup(self->jobs, id);
        if (j && j->finished >= before_ms)
            break; /* finish order: the rest are younger */
        if (j) {
            bd_memjobs_delete(self, id);
            n++;
        }
        zlistx_delete(self->order, zlistx_cursor(self->order));
    }
    return n;
}

int bd_memjobs_test(void)
{
    bd_memjobs_t *m = bd_memjobs_new();
    int bad = 0;
    json_t *r = json_pack("{s:s}", "verdict", "pass");
    bd_memjobs_put(m, "aaaa", "t", "k1", 0, "done", r, 10);
    bd_memjobs_put(m, "bbbb", "t", NULL, 1, "failed", r, 20);
    json_decref(r); /* the table holds its own references */
    char *st = NULL, *res = NULL, id[33];
    int kind = -1;
    bad |= bd_memjobs_get(m, "aaaa", NULL, &st, &res, &kind) != 1 || strcmp(st, "done") || strcmp(res, "{\"verdict\":\"pass\"}") || kind;
    free(st);
    free(res);
    bad |= bd_memjobs_get(m, "aaaa", "t", NULL, NULL, NULL) != 1 || bd_memjobs_get(m, "aaaa", "u", NULL, NULL, NULL);
    bad |= !bd_memjobs_by_key(m, "t", "k1", id) || strcmp(id, "aaaa") || bd_memjobs_by_key(m, "u", "k1", id);
    bad |= bd_memjobs_purge(m, 15) != 1 || bd_memjobs_get(m, "aaaa", NULL, NULL, NULL, NULL) || bd_memjobs_by_key(m, "t", "k1", id);
    bad |= bd_memjobs_get(m, "bbbb", NULL, NULL, NULL, &kind) != 1 || kind != 1;
    bd_memjobs_delete(m, "bbbb");
    bad |= bd_memjobs_get(m, "bbbb", NULL, NULL, NULL, NULL) || bd_memjobs_purge(m, 100) != 0;
    bd_memjobs_destroy(&m);
    bad |= m != NULL;
    return bad ? -1 : 0;
}
