/* bn_mrz — parse, repair and verify a machine-readable zone read by OCR.
 *
 * Formats (ICAO 9303 and the Chinese permits, layouts in docs/VALIDATION.md):
 *   TD1 3x30 (ID cards), TD2 2x36, TD3 2x44 (passports), MRV-A 2x44 / MRV-B 2x36 (visas),
 *   CN1 1x30 (往来港澳/台湾通行证, codes CS/CD), CN3 3x30 (港澳/台湾居民来往内地通行证, CR/CT).
 *
 * Lenient in what it reads: spaces and stray punctuation are dropped, '«' counts as "<<", extra
 * lines (VIZ text) are skipped, a line one character too long or short is fixed by removing or
 * adding one '<' in a filler run (or dropping a stray first character), short name lines are
 * padded; the variant whose check digits and syntax fare best wins. Strict in what it reports:
 *  - characters are repaired *by position* only: digit fields map O Q D U→0, I L T→1, Z→2, S→5,
 *    B→8, G→6; letter fields (codes, names, sex) map 0→O, 1→I, 2→Z, 5→S, 8→B, 6→G;
 *  - in mixed fields (document number, optional data) a letter next to digits (and no letter)
 *    or a digit next to letters (and no digit) is replaced by a confusable character of the
 *    other kind (a letter by its digit; 0 by O U D or Q, 1 by I, 2 Z, 5 S, 6 G, 8 B) only when
 *    that makes the field's own check digit pass and exactly one such substitution does — a
 *    check digit never invents a value (U for 0 cannot be seen at all: U = 30 ≡ 0 mod 10);
 *  - fields no check digit covers (names, codes, sex) are validated by syntax and reported in
 *    `problems`, never "corrected" beyond the letter mapping.
 * Every check digit is reported separately. Pure C, no allocation except bn_mrz_to_json. */
#ifndef BN_MRZ_H
#define BN_MRZ_H
#include <jansson.h>

typedef enum {
    BN_MRZ_NONE = 0,
    BN_MRZ_TD1,
    BN_MRZ_TD2,
    BN_MRZ_TD3,
    BN_MRZ_MRVA,
    BN_MRZ_MRVB,
    BN_MRZ_CN1, /* 1 line CS / CD */
    BN_MRZ_CN3, /* 3 lines CR / CT */
} bn_mrz_format_t;

/* Syntax problems (bits of bn_mrz_t.problems): what check digits do not cover. */
enum {
    BN_MRZ_BAD_LENGTH = 1 << 0,      /* a line could not be brought to its exact length */
    BN_MRZ_BAD_DOC_CODE = 1 << 1,    /* first letter not allowed for the format */
    BN_MRZ_BAD_ISSUER = 1 << 2,      /* issuing state not ISO 3166 / ICAO */
    BN_MRZ_BAD_NATIONALITY = 1 << 3,
    BN_MRZ_BAD_SEX = 1 << 4,         /* not M F X < */
    BN_MRZ_BAD_NAME = 1 << 5,        /* not [A-Z<], or starts with a filler */
    BN_MRZ_BAD_BIRTH_DATE = 1 << 6,  /* not a real date */
    BN_MRZ_BAD_EXPIRY_DATE = 1 << 7,
};

#define BN_MRZ_MAX_CHECKS 5

typedef struct {
    const char *name; /* "document_number" "birth_date" "expiry_date" "optional_data"
                         "renewal_count" "composite" */
    char found;       /* the character on the document */
    char expected;    /* the computed check digit */
    int ok;
} bn_mrz_check_t;

typedef struct {
    bn_mrz_format_t format;
    int nlines;
    char lines[3][48];        /* the repaired lines, exact lengths */
    char document_code[3];    /* "P", "PO", "I", "CS", "CR" ... (fillers removed) */
    char issuing_country[4];  /* fillers removed ("D") */
    char nationality[4];
    char surname[48];         /* '<' → space */
    char given_names[48];
    char document_number[32]; /* fillers removed, overflow joined */
    char birth_date[11];      /* YYYY-MM-DD, "" when not a date */
    char expiry_date[11];
    char sex;                 /* 'M' 'F' 'X' ('<' is reported as 'X'), '\0' when the format has none */
    char optional_data[32];   /* TD1 line 1 / TD2 / TD3 / visa optional field; CN3 line 2 [0:19];
                                 outer fillers trimmed, inner ones kept ("121212<1239") */
    char optional_data2[16];  /* TD1 line 2 optional field */
    char renewal_count[3];    /* CN3 */
    char hmt_id_number[12];   /* CN3: Hong Kong / Macao / Taiwan identity card number */
    char issuing_office[5];   /* CT: line 3 [26:30] */
    bn_mrz_check_t checks[BN_MRZ_MAX_CHECKS];
    int nchecks;
    int checks_ok;            /* every check digit matches */
    unsigned problems;        /* BN_MRZ_BAD_* */
    int repairs;              /* characters changed, fillers added or removed */
} bn_mrz_t;

/* Parse OCR text (lines separated by '\n'; other text around the MRZ is tolerated). `today`
 * ("YYYY-MM-DD", NULL = now) picks the century of YYMMDD dates: birth dates are never in the
 * future, expiry dates within 50 years either side. Returns 0 with *out filled (check results
 * inside: a parsed MRZ may still be invalid), or -1 with bn_error "mrz_not_found" when no line
 * set fits any format (right lengths, fillers or a passing check, digits in >= 70 % of the
 * digit positions). Worst case a few ms on 24 candidate lines. */
int bn_mrz_parse(const char *text, const char *today, bn_mrz_t *out);

/* The result as a new JSON object: format, document_code, issuing_country, surname,
 * given_names, document_number, nationality, birth_date, sex, expiry_date, optional_data, mrz
 * (array of lines), checks {name: bool}, checks_valid, problems [names], syntax_valid, repairs;
 * CN3 adds renewal_count, hmt_id_number (and issuing_office for CT). Empty fields are omitted. */
json_t *bn_mrz_to_json(const bn_mrz_t *m);

const char *bn_mrz_format_name(bn_mrz_format_t f); /* "TD1" ... "CN1" "CN3", "none" */
/* Names of problem bits, e.g. "nationality_invalid"; NULL for an unknown bit. */
const char *bn_mrz_problem_name(unsigned bit);

#endif
