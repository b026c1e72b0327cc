/* bn_quality — the quality stage's pure core (see core/bn_stage.h). */
#ifndef BN_QUALITY_H
#define BN_QUALITY_H
#include "core/bn_stage.h"

int bn_quality_run(const bn_task_t *task, bn_stage_result_t *out);

/* The quality stage's result for task's image as the hints a later stage gets ({"quality":
 * result}, as bn_worker_decode_task hands them over), or NULL when the stage fails. For
 * in-process runs of one stage after another (evaluation, benchmarks). */
json_t *bn_quality_hints(const bn_task_t *task);

/* `beian eval quality DIR ...`: accuracy over a directory with ground truth; prints a report,
 * returns a process exit code. */
int bn_quality_eval_main(int argc, char **argv);

typedef struct {
    const char *code;
    int expected, hit;    /* samples expecting the flag; of those, flagged */
    int clean, false_hit; /* clean samples; of those, flagged */
} bn_quality_eval_row_t;

/* The evaluation itself: prints the per-flag table for DIR (quality flags, up to 64 rows copied
 * to rows when given). Mild samples and samples degraded only for other stages are skipped;
 * max_per_kind > 0 caps the samples per degradation kind (tests). Returns the number of samples,
 * -2 when a target is missed or a sample errored, -1 when DIR cannot be read. */
int bn_quality_eval_dir(const char *dir, const bn_config_t *cfg, int verbose, int max_per_kind,
                        bn_quality_eval_row_t *rows, int *nrows);

#endif
