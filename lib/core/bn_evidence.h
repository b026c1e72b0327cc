/* bn_evidence — a capture's flaws judged by what they did to the reading.
 *
 * The quality stage measures blur, glare and exposure on the image; whether they matter is
 * known only once the OCR stage has read the document. A filing bureau sends a capture back
 * when its fields cannot be read, not because a metric crossed a line, so bn_job_result joins
 * the two stages' evidence for each document:
 *   - every required field read, none failing its check digit, not the other side (no ocr
 *     flag field_unreadable, number_*, mrz_*, wrong_side, wrong_document_type of severity
 *     review or more; an expired card was still read): the quality stage's blurry, glare, too_dark and
 *     overexposed flags become `info` and carry "legible": true (the metric and threshold stay);
 *   - a number that fails its check (number_checksum_invalid, number_birth_mismatch,
 *     number_sex_mismatch) on a capture the quality stage found blurred, glared or badly
 *     exposed is `reshoot`, not `reject`: the printed number may be right and misread, so the
 *     applicant is asked for a better photo of that field ("cause" names the quality flag).
 * The evidence rules need the ocr stage: a document without ocr fields is left as it is. */
#ifndef BN_EVIDENCE_H
#define BN_EVIDENCE_H
#include <jansson.h>

#include "core/bn_config.h"

/* docs: the result's "documents" array; flags are changed in place (each flag object is shared
 * with the job's list). "job.legibility_evidence" false turns the rules off. Returns the number
 * of flags changed. */
int bn_evidence_apply(json_t *docs, const bn_config_t *config);

#endif
