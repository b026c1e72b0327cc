/* bn_crosscheck — checks that need two documents of one application.
 *
 * Each OCR task sees one document, but some rules join two: an ID card's validity span (5, 10
 * or 20 years, or long-term) follows the holder's age at issue, which only the front states and
 * only the back's dates can be checked against. bn_job_result runs these rules over the
 * finished documents, so the broker and `beian check` give the same answer.
 *
 * Rules (docs/VALIDATION.md "Across documents"):
 *   id-card front + back: the back's valid_from and valid_until against the front's birth
 *   date (the one in its validating id_number, else its printed birth_date) → `validity_span_invalid` on the back, `reject`, or `review` when a
 *   date's OCR confidence is below ocr.min_confidence_for_reject (0.80). Skipped when the back
 *   was already judged with a birth date (from the form) or a date is missing. A residence
 *   permit's span is 5 years at any age: its back alone decides.
 *   one front + one back of the same type (id-card, residence-permit, the permits): the values
 *   both sides print (id_number, document_number, name, name_latin, valid_from, valid_until;
 *   a permit back's valid MRZ for the number and the end date) must agree after bn_norm (dates
 *   as dates) → `document_sides_mismatch` on the back, field = the first that differs, reject
 *   or review at low confidence.
 * Every flag carries related_document (the front's index) and related_type (its type). */
#ifndef BN_CROSSCHECK_H
#define BN_CROSSCHECK_H

#include <jansson.h>

#include "core/bn_config.h"

/* docs: the result's "documents" array (each with type, side, fields, checks, flags); flags
 * raised are appended to the document's flags and to job_flags. Returns the number raised. */
int bn_crosscheck(json_t *docs, json_t *job_flags, const bn_config_t *config);

#endif
