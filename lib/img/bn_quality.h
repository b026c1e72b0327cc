/* bn_quality — the quality stage's pure core (see core/bn_stage.h). */
#ifndef BN_QUALITY_H
#define BN_QUALITY_H
#include "core/bn_stage.h"

int bn_quality_run(const bn_task_t *task, bn_stage_result_t *out);

/* `beian eval quality DIR ...`: accuracy over a directory with ground truth; prints a report,
 * returns a process exit code. */
int bn_quality_eval_main(int argc, char **argv);

/* The evaluation itself: prints the per-flag table for DIR; returns the number of samples, -2
 * when a target is missed or a sample errored, -1 when DIR cannot be read. */
int bn_quality_eval_dir(const char *dir, const bn_config_t *cfg, int verbose);

#endif
