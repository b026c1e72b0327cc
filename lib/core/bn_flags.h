/* bn_flags — the one table of flag codes. Codes, stages and default severities are a contract
 * with portals (docs/RESULTS.md lists them); add new codes at the end of their stage's block and
 * document them, never rename one. */
#ifndef BN_FLAGS_H
#define BN_FLAGS_H
#include <jansson.h>

typedef enum { BN_SEV_INFO = 0, BN_SEV_REVIEW, BN_SEV_RESHOOT, BN_SEV_REJECT } bn_severity_t;

typedef struct {
    const char *code;
    const char *stage;      /* quality | ocr | face | application | job */
    bn_severity_t severity; /* default; a stage may raise or lower it per case */
    const char *message_en;
    const char *message_zh;
    const char *label_en;   /* a few words (ASCII) marking it on the review image */
} bn_flag_def_t;

const bn_flag_def_t *bn_flag_lookup(const char *code);
const bn_flag_def_t *bn_flag_table(int *count);

const char *bn_severity_name(bn_severity_t s);   /* "info" "review" "reshoot" "reject" */
bn_severity_t bn_severity_parse(const char *s);  /* unknown → BN_SEV_REVIEW */
/* Verdict for the worst severity: info → "pass", review, reshoot, reject. */
const char *bn_verdict_name(bn_severity_t worst);
bn_severity_t bn_verdict_parse(const char *v);   /* "pass" → INFO */

/* Append a flag object {code, severity, stage, message_en, message_zh[, metric, threshold]} to
 * the JSON array `flags`. metric/threshold are omitted when NAN. severity < 0 uses the table's
 * default. Returns the new object (borrowed) or NULL for an unknown code (a programming error,
 * logged). */
json_t *bn_flag_add(json_t *flags, const char *code, double metric, double threshold, int severity);
/* Is a flag of this code in the array (NULL or not an array: no)? */
int bn_flags_has(const json_t *flags, const char *code);
/* Worst severity over an array of flags (BN_SEV_INFO when empty). */
bn_severity_t bn_flags_worst(const json_t *flags);

#endif
