/* bn_checks — validators and form cross-checks over the fields the OCR stage read.
 *
 * The OCR engine reads fields; this turns them into verdicts. Input `fields` is the stage's
 * field object, {"key": {"value": "...", "confidence": 0..1, "box": [...]}, ...}, keys as in
 * docs/VALIDATION.md (id_number, name, birth_date YYYY-MM-DD, valid_until date or "long-term",
 * mrz as a string with '\n' between lines or an array of lines, ...). A missing "confidence"
 * counts as 1.0. Output goes into two caller-owned JSON values:
 *   checks  an object, one member per check run, e.g.
 *           {"id_number": {"valid": true, "status": "valid", "region_known": true, ...},
 *            "expiry": {"valid_until": "2030-01-01", "days_left": 1200, "long_term": false},
 *            "mrz": {... bn_mrz_to_json ...}, "form": {"name": {"match": true, ...}}, ...}
 *   flags   an array; flags are added with bn_flag_add (codes in core/bn_flags.c):
 *           number_checksum_invalid, number_birth_mismatch, number_sex_mismatch,
 *           region_code_unknown, expired, expires_within_90_days, validity_span_invalid,
 *           under_18, temporary_id, mrz_checksum_invalid, field_unreadable,
 *           wrong_document_type, form_mismatch_name / _number / _address / _entity_type;
 *           domain certificates: domain_expired, domain_expires_soon, tld_not_filable,
 *           registrar_not_mainland (form "province"), form_mismatch_domain (form "domain").
 *           Flags about one field carry "field" (or "fields") naming it.
 * Severity rules (docs/VALIDATION.md): a form mismatch or a number/birth/sex failure is the
 * table's default (reject) unless the field's OCR confidence is below
 * ocr.min_confidence_for_reject, then review; credit-code failures are always review (real
 * pre-2016 codes fail); an unknown region is review.
 *
 * Config keys (defaults): ocr.min_confidence_for_reject (0.80), ocr.min_field_confidence
 * (0.50: below it a required field is unreadable), ocr.address_min_similarity (0.90: closer
 * addresses are a review, not a reject), ocr.expiry_min_days (90). */
#ifndef BN_CHECKS_H
#define BN_CHECKS_H
#include <jansson.h>

#include "core/bn_config.h"

/* Run every check for doc_type ("id-card" "passport" "hk-macao-permit" "taiwan-permit"
 * "residence-permit" "business-license" "domain-certificate") and side ("front" | "back"; NULL = front) with the
 * compiled-in defaults. form may be NULL; today is "YYYY-MM-DD" (NULL = now, UTC).
 * Returns 0, or -1 with bn_error "invalid_argument" (unknown type, checks/flags not an
 * object/array). Never fails on the content of fields or form. */
int bn_checks_run(const char *doc_type, const char *side, json_t *fields, const json_t *form,
                  const char *today, json_t *checks, json_t *flags);
/* Same with thresholds read from cfg (NULL = defaults); the first call with a cfg also picks
 * the region table (ocr.regions_path, see bn_regions_configure). */
int bn_checks_run_cfg(const bn_config_t *cfg, const char *doc_type, const char *side, json_t *fields,
                      const json_t *form, const char *today, json_t *checks, json_t *flags);

/* Same, with the task's options: options.profile picks profiles.<name>.domain_min_days (the
 * remaining registration a domain certificate needs, default 90 days). options may be NULL. */
int bn_checks_run_opts(const bn_config_t *cfg, const json_t *options, const char *doc_type, const char *side,
                       json_t *fields, const json_t *form, const char *today, json_t *checks, json_t *flags);

/* Required field keys for a type and side, NULL-terminated (an empty list for unknown ones); an
 * entry "a|b" is satisfied by either key (a licence's credit_code|registration_number). */
const char *const *bn_checks_required_fields(const char *doc_type, const char *side);

#endif
