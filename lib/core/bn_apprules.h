/* bn_apprules — the rules a filing bureau applies to an application as a whole.
 *
 * Each stage task sees one document; whether the documents of one application belong together
 * (the domain is the subject's, the certificate fits the entity, the person in charge may act)
 * is decided here, over the finished documents, by bn_job_result, so the broker and
 * `beian check` give the same answer (docs/VALIDATION.md "Application rules", the one table of
 * every rule and its source).
 *
 * Rules (flags in lib/core/bn_flags.c, stage "application" unless named otherwise):
 *   certificate_type_mismatch  the form's entity_type (bn_entity_category) is an organisation
 *                              and no business-license was sent, or a person and one was;
 *                              related_document = the document that does not fit.
 *   domain_holder_mismatch     a domain-certificate's holder (or holder_en) is not the subject:
 *                              the business-license's name for an organisation, the person's
 *                              name (ID, passport, permit; Latin either order) for an individual;
 *                              on the certificate, related_document = the subject's document.
 *   under_18 (ocr's code)      the person in charge is a minor on the filing date: a person
 *                              document whose checks.age says so without the flag, or, when no
 *                              person document gave an age, the form's valid id_number.
 *   id_expires_soon            a person document has fewer days left than the profile's
 *                              profiles.<name>.id_min_valid_days (default ocr.expiry_min_days).
 *   face flags                 gain related_document = the portrait document compared.
 * Severity: the table's (reject), review when a compared field's OCR confidence is below
 * ocr.min_confidence_for_reject. Every flag carries related_document (an index) and
 * related_type (that document's type). */
#ifndef BN_APPRULES_H
#define BN_APPRULES_H

#include <jansson.h>

#include "core/bn_config.h"

/* docs: the result's "documents" (index, type, side, fields, checks, flags); face: the result's
 * "face" object or NULL; spec: the validated job spec (form, options.now, options.profile);
 * face_doc: the portrait document's index, -1 none. Flags raised go to their document's flags
 * (when they have one) and to job_flags. Returns the number raised. */
int bn_apprules(json_t *docs, json_t *face, int face_doc, const json_t *spec, json_t *job_flags,
                const bn_config_t *config);

#endif
