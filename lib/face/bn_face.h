/* bn_face — the face stage's pure core (see core/bn_stage.h). */
#ifndef BN_FACE_H
#define BN_FACE_H
#include "core/bn_stage.h"

int bn_face_run(const bn_task_t *task, bn_stage_result_t *out);

/* `beian eval face DIR ...`: accuracy over a directory with ground truth; prints a report,
 * returns a process exit code. */
int bn_face_eval_main(int argc, char **argv);

#endif
