/* bn_ocr — the ocr stage's pure core (see core/bn_stage.h). */
#ifndef BN_OCR_H
#define BN_OCR_H
#include "core/bn_stage.h"

int bn_ocr_run(const bn_task_t *task, bn_stage_result_t *out);

/* `beian eval ocr DIR ...`: accuracy over a directory with ground truth; prints a report,
 * returns a process exit code. */
int bn_ocr_eval_main(int argc, char **argv);

#endif
