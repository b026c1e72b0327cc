/* bd_memjobs — the memory store's finished jobs: each result is kept as the JSON tree the
 * broker built, and serialised only when someone asks for it.
 *
 * Why not SQLite :memory: like the durable store: serialising every result and inserting it
 * was a quarter of the broker's work per job in the benchmark (~35 000 instructions), for
 * results that most submitters of a memory-mode broker (benchmarks, tests) never read. The
 * cost: a query serialises the result each time it is asked for. */
#ifndef BD_MEMJOBS_H
#define BD_MEMJOBS_H
#include <jansson.h>
#include <stdint.h>

typedef struct bd_memjobs bd_memjobs_t;

bd_memjobs_t *bd_memjobs_new(void);
void bd_memjobs_destroy(bd_memjobs_t **self_p);
/* Remember a finished job (a reference to result is taken). key may be NULL. */
void bd_memjobs_put(bd_memjobs_t *self, const char *id, const char *tenant, const char *key, int kind,
                    const char *status, json_t *result, int64_t now_ms);
/* 1 and malloc'd status/result text (either may be NULL if not wanted), or 0 if unknown or, with
 * tenant (NULL: any), another tenant's. */
int bd_memjobs_get(bd_memjobs_t *self, const char *id, const char *tenant, char **status, char **result, int *kind);
int bd_memjobs_by_key(bd_memjobs_t *self, const char *tenant, const char *key, char id_out[33]);
void bd_memjobs_delete(bd_memjobs_t *self, const char *id);
/* Forget jobs finished before before_ms (oldest first); returns how many. */
int bd_memjobs_purge(bd_memjobs_t *self, int64_t before_ms);

int bd_memjobs_test(void);

#endif
