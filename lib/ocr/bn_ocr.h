/* bn_ocr — the ocr stage's pure core (see core/bn_stage.h). */
#ifndef BN_OCR_H
#define BN_OCR_H
#include "core/bn_stage.h"

int bn_ocr_run(const bn_task_t *task, bn_stage_result_t *out);

/* A card front's sex and birth date that were not read, from its id_number field when that
 * validates (GB 11643: digits 7-14 the birth date, the 17th odd for a man; a genuine card
 * prints them alike): added with the number's confidence and box and "source": "id_number".
 * Fields already read are left alone, so a printed birth date still meets the number's in the
 * checks (number_birth_mismatch). */
void bn_ocr_fields_from_number(json_t *fields);

/* `beian eval ocr DIR ...`: accuracy over a directory with ground truth; prints a report,
 * returns a process exit code. */
int bn_ocr_eval_main(int argc, char **argv);

#endif
