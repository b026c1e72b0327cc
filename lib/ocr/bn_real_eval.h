/* bn_real_eval — `beian eval real DIR...`: accuracy of the whole in-process pipeline (the job
 * `beian check --doc TYPE:SIDE=FILE` runs: bn_check_run with the quality, OCR and face stages)
 * over real photos with ground truth (DIR/GROUND_TRUTH.json, an array of
 * {"file", "type", "side", "fields", "checks" | "credit_code_check", "acceptable", "reasons"}).
 *
 * Scored: fields (exact after bn_real_norm), quality verdicts (acceptable captures sent back,
 * unacceptable ones caught), the validation flags the ground truth implies (checksum, birth
 * mismatch, expired), the verdict table, time. docs/OCR.md "Real-photo evaluation".
 *
 * The photos show real people's documents: nothing here prints or stores a field value, only
 * ok/miss and values masked by bn_real_mask (file names by bn_real_mask_file). The stages are
 * passed in (like bn_check_run); it lives beside the ocr stage to read the ground truth's dates
 * with bn_normalize (Chinese numerals). */
#ifndef BN_REAL_EVAL_H
#define BN_REAL_EVAL_H
#include <jansson.h>
#include <stddef.h>

#include "core/bn_check.h"
#include "core/bn_validate.h"

/* Comparison form of a value (both sides): full-width ASCII (U+FF01..U+FF5E) → ASCII, U+3000
 * and all white space removed, （）→ (), dashes (－ — – ‒ ― −) → '-'; upper: Latin letters
 * upper-cased (ID numbers, credit codes). Returns out (always NUL-terminated). */
char *bn_real_norm(const char *in, int upper, char *out, size_t size);

/* Printable form that shows the format, not the value: CJK ideographs (and 〇) → 字, digits →
 * 9, Latin letters → A, punctuation kept, anything else → '?'. Returns out. */
char *bn_real_mask(const char *in, char *out, size_t size);

/* A file's base name safe to print: CJK → 字 and runs of 15+ digits (ID numbers some file names
 * carry, with a trailing X) → 9s. Returns out. */
char *bn_real_mask_file(const char *path, char *out, size_t size);

/* End of a licence's business term as the ground truth writes it ("2015年01月01日至2035年12月31日",
 * "2015年01月01日至长期" or 永久, "长期", Chinese numerals "二〇一五年十二月三十一日"). 0 with *until set or
 * *long_term = 1; -1 when no end can be read (e.g. a redacted date). */
int bn_real_term_end(const char *term, bn_date_t *until, int *long_term);

/* Score one ground-truth entry against the result document of its image (result NULL: the job
 * could not run, error names why, and nothing is scored: the summary counts it as an error). today "YYYY-MM-DD" decides "expired" expectations. Returns a
 * new per-image record (no unmasked values):
 * {"label", "type", "side", "acceptable", "reasons", "verdict", "error"?, "cpu_s",
 *  "flags": [{"code","stage","severity"}], "sent_back": [codes], "caught": bool,
 *  "fields": [{"type","key","ours","ok","absent","ours_masked","truth_masked"}],
 *  "unreadable": n, "unparsed": n (redacted '*' or unparsable ground truth), "not_printed": n, "not_printed_output": n, "unmapped": [keys],
 *  "expect": [{"rule","flag","expected": bool,"raised": bool}]} */
json_t *bn_real_eval_image(const json_t *gt, const json_t *result, const char *error, const char *today,
                           const char *label, double cpu_s);

/* Summary over an array of per-image records (the --json object; same numbers as the text). */
json_t *bn_real_eval_summary(const json_t *records, const char *today, double wall_s);

/* Plain-text report of a summary; verbose >= 1 adds a line per image (fields ok/miss),
 * >= 2 masked values. */
void bn_real_eval_print(const json_t *summary, const json_t *records, int verbose);

/* The command. argv[0] is "real". Exit 0 after a report, 1 on bad usage or a missing/invalid
 * GROUND_TRUTH.json. */
int bn_real_eval_main(int argc, char **argv, bn_stage_fn const stages[BN_STAGE_COUNT]);

#endif
