/* bn_ocr_norm — turn raw OCR text of one field into the stage's normalised value.
 *
 * Normalised forms (docs/OCR.md): dates YYYY-MM-DD or "long-term" (长期); ID numbers 18
 * characters with upper-case X; codes upper-case without spaces; Chinese text without spaces,
 * full-width digits/letters folded to ASCII; sex 男/女 (M/F on passports); Latin names as
 * printed ("LI, JIAGANG"). Pure string functions, no allocation. */
#ifndef BN_OCR_NORM_H
#define BN_OCR_NORM_H
#include <stddef.h>

/* Normalise raw (UTF-8) for field `key` of `doc_type` into out. Returns out. */
char *bn_norm_field(const char *doc_type, const char *key, const char *raw, char *out, size_t size);

/* Dates as printed ("2002年5月14日", "2043.11.27", "07 JUN 1985", "20021231", "长期") →
 * "YYYY-MM-DD" / "long-term" / "" when not a date. */
char *bn_norm_date(const char *raw, char *out, size_t size);

/* Is v one of the 56 ethnic groups as printed on an ID card (汉, 蒙古, 维吾尔…, no 族)? */
int bn_ethnicity_valid(const char *v);

#endif
