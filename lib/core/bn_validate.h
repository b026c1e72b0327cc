/* bn_validate — pure validators for the numbers and dates printed on identity documents.
 *
 * No I/O except the region table (data/regions.tsv, loaded lazily once), no allocation per call,
 * never crashes on untrusted input: every function takes NUL-terminated strings of any content
 * (NULL included) and answers "invalid" rather than failing. Facts and test vectors:
 * docs/VALIDATION.md and tests/test_ocr_validate.c.
 *
 *   dates      bn_date_parse, bn_date_parse_yymmdd, bn_date_days_between, bn_date_add_years,
 *              bn_age_years, bn_today
 *   GB 11643   bn_id_validate        citizen / HMT residence-permit ID numbers (18 and 15 digits)
 *   GB 32100   bn_uscc_validate      unified social credit codes (+ embedded GB 11714 check)
 *   ICAO 9303  bn_icao_check_digit   MRZ check digits
 *   permits    bn_permit_number_valid
 *   countries  bn_country_code_valid ISO 3166-1 alpha-3 + ICAO special codes
 *   rules      bn_id_validity_years, bn_validity_span_ok, bn_expiry_ok, bn_is_adult
 */
#ifndef BN_VALIDATE_H
#define BN_VALIDATE_H
#include <stddef.h>

#include "core/bn_config.h"

/* ---- dates ---------------------------------------------------------------------------- */

typedef struct {
    int y, m, d; /* all 0 = unset */
} bn_date_t;

/* 1 when y-m-d is a real Gregorian date in years 1..9999. */
int bn_date_valid(int y, int m, int d);
/* Parse "YYYY-MM-DD", "YYYY.MM.DD", "YYYY/MM/DD", "YYYYMMDD" or "YYYY年M月D日" (one-digit month
 * and day allowed with separators; surrounding spaces ignored). 0 on success, -1 otherwise. */
int bn_date_parse(const char *s, bn_date_t *out);
/* Parse the first 6 characters of s as YYMMDD (ICAO). The century is chosen so that the year
 * falls in (ref_year + window - 100, ref_year + window]: window 0 for birth dates (never in the
 * future), e.g. 50 for expiry dates. 0 on success, -1 when not six digits or not a real date. */
int bn_date_parse_yymmdd(const char *s, int ref_year, int window, bn_date_t *out);
/* "YYYY-MM-DD" into buf (>= 11 bytes); "" for an unset date. Returns buf. */
char *bn_date_format(const bn_date_t *d, char *buf, size_t size);
/* Days from a to b (negative when b is before a). */
long bn_date_days_between(const bn_date_t *a, const bn_date_t *b);
/* Same MM-DD n years later (n may be negative); 29 Feb becomes 28 Feb in a common year. */
bn_date_t bn_date_add_years(const bn_date_t *d, int n);
/* Completed years from birth to at (age on `at`); -1 when at is before birth. */
int bn_age_years(const bn_date_t *birth, const bn_date_t *at);
/* Parse `today` ("YYYY-MM-DD" etc.) or, when NULL/empty/invalid, take the current UTC date.
 * Tests and jobs pass a fixed "now" so results never depend on the wall clock. */
bn_date_t bn_today(const char *today);

/* ---- region codes (GB/T 2260) -------------------------------------------------------- */

/* Choose the table before first use: "ocr.regions_path" from cfg, else $BEIAN_DATA/regions.tsv,
 * else BEIAN_SOURCE_DIR "/data/regions.tsv". Only the first load counts (call it once at worker
 * start; later calls are ignored). Without a call the default path is loaded on first lookup. */
void bn_regions_configure(const bn_config_t *cfg);
/* Load an explicit file now, replacing any table (tests, start-up: names returned earlier
 * point into the old table and become invalid). Number of codes, or -1 (bn_error; the old
 * table stays). */
int bn_regions_load(const char *path);
/* Name of a 6-digit region code, or NULL when unknown. 810000/820000/830000 (HK/Macao/Taiwan
 * residence permits; 830000 is not a GB/T 2260 code) are always known. Thread-safe. */
const char *bn_region_name(const char *code6);
/* Number of codes in the loaded table (loads it if needed); 0 when the file is missing. */
int bn_regions_count(void);

/* ---- GB 11643 citizen ID numbers ------------------------------------------------------ */

typedef enum {
    BN_ID_VALID = 0,
    BN_ID_CHECKSUM_INVALID, /* well formed, real date, wrong check character */
    BN_ID_BAD_FORMAT,       /* not 18 (or 15) characters of digits with a final X allowed */
    BN_ID_BAD_DATE,         /* digits 7-14 are not a real date, or before 1880 */
    BN_ID_FUTURE_DATE,      /* birth date after today */
} bn_id_status_t;

typedef struct {
    bn_id_status_t status;
    char number[19];    /* normalised 18 characters (upper-case X; 15-digit numbers converted) */
    int legacy15;       /* the input was a first-generation 15-digit number */
    char check_expected; /* the correct check character ('\0' on bad format) */
    bn_date_t birth;
    char sex;           /* 'M' (odd sequence) or 'F' (even); '\0' on bad format */
    char region[7];     /* first 6 digits */
    int region_known;   /* in data/regions.tsv or 810000/820000/830000; unknown is not invalid */
    int hmt;            /* region is 810000/820000/830000 (HMT residence permit) */
} bn_id_info_t;

/* Validate an ID number. Spaces are ignored and a lower-case x accepted. Fills *out (always)
 * and returns out->status. `today` as for bn_today(). Priority when several things are wrong:
 * bad_format, bad_date, future_date, checksum_invalid. */
bn_id_status_t bn_id_validate(const char *s, const char *today, bn_id_info_t *out);
const char *bn_id_status_name(bn_id_status_t st); /* "valid" "checksum_invalid" ... */
/* The GB 11643 check character for 17 digits ('\0' when not 17 digits). */
char bn_id_check_char(const char *digits17);

/* Syntax-only repair of an OCR'd ID number into out: blanks dropped, full-width characters
 * folded, then by position — digits 1-17 map O Q D→0, I L→1, Z→2, S→5, B→8, G→6; the 18th
 * also maps x × to X. The check character is never used to choose a reading. Returns the
 * number of characters changed, or -1 when the result is not 15 or 18 characters long (out
 * still holds the cleaned text, truncated to 18). */
int bn_id_repair(const char *in, char out[19]);

/* ---- GB 32100 unified social credit codes --------------------------------------------- */

typedef struct {
    int format_ok;       /* 18 characters of 0-9A-HJ-NPQRTUWXY (after upper-casing, no spaces) */
    int check_ok;        /* GB 32100 mod-31 check character */
    int org_check_ok;    /* embedded GB 11714 organisation code check (chars 9-17) */
    char check_expected; /* '\0' when format_ok is 0 */
    char org_check_expected;
    char code[19];       /* normalised */
    char region[7];      /* chars 3-8: registering authority's region code */
    int region_known;
} bn_uscc_info_t;

/* 1 when format and mod-31 check pass (the org-code check is a secondary signal, reported in
 * out->org_check_ok); 0 otherwise. Real pre-2016 codes may fail: treat 0 as review, not reject. */
int bn_uscc_validate(const char *s, bn_uscc_info_t *out);

/* The 18-character windows of s (its letters and digits only, upper-cased; anything else is
 * skipped) that validate as an ID number (uscc 0: GB 11643) or a credit code (uscc 1: GB 32100
 * and the embedded organisation code): returns how many, the first copied to out. A number read
 * with a neighbour's characters at either end, or found anywhere in a line, is checked this
 * way; no character is ever added or changed. */
int bn_number_windows(const char *s, int uscc, char out[19]);

/* Syntax-only repair of an OCR'd credit code: blanks dropped, full-width folded, upper-cased;
 * letters the alphabet excludes become their look-alike digits (O→0, I→1, Z→2, S→5) and the
 * region code (characters 3-8) must be digits (also Q D→0, L→1, B→8, G→6). Returns the number
 * of characters changed, or -1 when the result is not 18 characters. */
int bn_uscc_repair(const char *in, char out[19]);

/* ---- ICAO 9303 ------------------------------------------------------------------------ */

/* Check digit (0-9) over the first n characters of s (weights 7 3 1; 0-9, A-Z=10-35, '<'=0);
 * -1 when a character is outside [0-9A-Z<] or s is shorter than n. */
int bn_icao_check_digit(const char *s, size_t n);

/* 1 when code (2 or 3 characters, trailing '<' fillers allowed, e.g. "D<<") is an ISO 3166-1
 * alpha-3 code or an ICAO 9303 special code (D, UTO, XXA, XXB, XXC, XXX, GBD, GBN, ...). */
int bn_country_code_valid(const char *code);

/* ---- travel permit numbers ------------------------------------------------------------ */

typedef enum {
    BN_PERMIT_HK_MACAO = 0, /* 港澳居民来往内地通行证: H/M + 8 (+2), HA/MA + 7 */
    BN_PERMIT_TAIWAN,       /* 台湾居民来往大陆通行证: 8 or 10 digits */
    BN_PERMIT_EEP_HK_MACAO, /* 往来港澳通行证 (CS): C + 8 digits, C + letter (no I/O) + 7 digits */
    BN_PERMIT_EEP_TAIWAN,   /* 往来台湾通行证 (CD): L + 8 digits */
} bn_permit_kind_t;

/* 1 when number (spaces ignored, letters upper-cased) has the kind's format. */
int bn_permit_number_valid(bn_permit_kind_t kind, const char *number);

/* ---- document rules ------------------------------------------------------------------- */

/* Parse a printed validity period, "2016.03.15-2036.03.15", "2016-03-15至2036-03-15",
 * "20160315-长期", "2016.03.15—长期" (any of - — – － ~ 至 between the two parts). *until is unset
 * ({0,0,0}) and *long_term 1 for 长期 / long-term. 0 on success, -1 otherwise. */
int bn_validity_parse(const char *s, bn_date_t *from, bn_date_t *until, int *long_term);

/* ID-card validity in years by age at issue: 5 (<16), 10 (16-25), 20 (26-45), 0 = long-term
 * (>=46); -1 when the age is negative. */
int bn_id_validity_years(int age_at_issue);
/* 1 when valid_until is valid_from + the expected years (same MM-DD; for 29 Feb starts both
 * 28 Feb and 1 Mar are accepted). expected_years 0 means long-term: valid_until must be unset.
 * expected_years < 0 accepts any of 5, 10, 20 years (age unknown). */
int bn_validity_span_ok(const bn_date_t *valid_from, const bn_date_t *valid_until, int expected_years);
/* Days from today to expiry (negative when expired). */
long bn_days_left(const bn_date_t *expiry, const bn_date_t *today);
/* 1 when expiry is at least min_days after today (the filing rule uses 90). */
int bn_expiry_ok(const bn_date_t *expiry, const bn_date_t *today, int min_days);
/* 1 when the holder is at least 18 on today. */
int bn_is_adult(const bn_date_t *birth, const bn_date_t *today);

/* The digit an OCR engine most likely misread as this letter (O/Q/D→0, I/L→1, Z→2, S→5, B→8,
 * G→6); any other character unchanged. Used in digit-only positions of numbers and MRZs. */
char bn_char_as_digit(char c);

/* The filing entity's coarse category from its wording (the form's entity_type, a licence's
 * printed 类型): BN_ENTITY_BUSINESS (企业, 公司, 个体工商户, 合作社), _GOVERNMENT (事业单位,
 * 机关), _SOCIAL (社会团体, 民办非企业单位, 基金会), _PERSON (个人, individual), 0 unknown.
 * Organisations (all but _PERSON) file with a licence, persons with an ID. */
enum { BN_ENTITY_BUSINESS = 'B', BN_ENTITY_GOVERNMENT = 'G', BN_ENTITY_SOCIAL = 'S', BN_ENTITY_PERSON = 'P' };
char bn_entity_category(const char *wording);

#endif
