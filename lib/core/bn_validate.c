#include "core/bn_validate.h"
#include "core/bn_error.h"
#include "core/bn_file.h"
#include "core/bn_log.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifndef BEIAN_SOURCE_DIR
#define BEIAN_SOURCE_DIR "."
#endif

/* Inputs come from OCR and forms: never scan more than this many bytes of one. */
#define MAX_INPUT 64

/* Copy s into buf without ASCII blanks, upper-cased; -1 when longer than size - 1. */
static int compact_upper(const char *s, char *buf, size_t size)
{
    size_t n = 0;
    if (!s)
        return -1;
    for (size_t i = 0; s[i] && i < 4 * MAX_INPUT; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (n + 1 >= size)
            return -1;
        buf[n++] = (char)toupper(c);
    }
    buf[n] = '\0';
    return (int)n;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* ---- dates ---------------------------------------------------------------------------- */

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(int y, int m)
{
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : md[m - 1];
}

int bn_date_valid(int y, int m, int d)
{
    return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= month_days(y, m);
}

/* Read 1..maxd digits; returns the count read. */
static int read_int(const char **p, int maxd, int *v)
{
    int n = 0;
    *v = 0;
    while (n < maxd && isdigit((unsigned char)**p)) {
        *v = *v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    return n;
}

/* Skip one date separator: - . / or the UTF-8 年 月 (E5 B9 B4, E6 9C 88). */
static int skip_sep(const char **p)
{
    if (**p == '-' || **p == '.' || **p == '/') {
        (*p)++;
        return 1;
    }
    if (strncmp(*p, "\xE5\xB9\xB4", 3) == 0 || strncmp(*p, "\xE6\x9C\x88", 3) == 0) {
        *p += 3;
        return 1;
    }
    return 0;
}

int bn_date_parse(const char *s, bn_date_t *out)
{
    bn_date_t d = {0, 0, 0};
    if (out)
        *out = d;
    if (!s || !out)
        return -1;
    while (*s == ' ')
        s++;
    const char *p = s;
    int y, m, dd;
    if (read_int(&p, 8, &y) == 8) {
        m = (y / 100) % 100;
        dd = y % 100;
        y /= 10000;
    } else {
        p = s;
        if (read_int(&p, 4, &y) != 4 || !skip_sep(&p) || read_int(&p, 2, &m) < 1 || !skip_sep(&p) ||
            read_int(&p, 2, &dd) < 1)
            return -1;
        if (strncmp(p, "\xE6\x97\xA5", 3) == 0) /* 日 */
            p += 3;
    }
    while (*p == ' ')
        p++;
    if (*p || !bn_date_valid(y, m, dd))
        return -1;
    out->y = y;
    out->m = m;
    out->d = dd;
    return 0;
}

int bn_date_parse_yymmdd(const char *s, int ref_year, int window, bn_date_t *out)
{
    bn_date_t d = {0, 0, 0};
    if (out)
        *out = d;
    if (!s || !out || strnlen(s, 6) < 6 || !all_digits(s, 6))
        return -1;
    int yy = num(s, 2), m = num(s + 2, 2), dd = num(s + 4, 2);
    int top = ref_year + window; /* latest year allowed */
    int y = top - ((top - yy) % 100 + 100) % 100;
    if (!bn_date_valid(y, m, dd))
        return -1;
    out->y = y;
    out->m = m;
    out->d = dd;
    return 0;
}

char *bn_date_format(const bn_date_t *d, char *buf, size_t size)
{
    if (!buf || size == 0)
        return buf;
    if (!d || !bn_date_valid(d->y, d->m, d->d))
        buf[0] = '\0';
    else
        snprintf(buf, size, "%04d-%02d-%02d", d->y, d->m, d->d);
    return buf;
}

/* Days since 1970-01-01 (H. Hinnant's days_from_civil): exact for any Gregorian date. */
static long days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

long bn_date_days_between(const bn_date_t *a, const bn_date_t *b)
{
    return days_from_civil(b->y, b->m, b->d) - days_from_civil(a->y, a->m, a->d);
}

bn_date_t bn_date_add_years(const bn_date_t *d, int n)
{
    bn_date_t r = *d;
    r.y += n;
    if (r.m == 2 && r.d == 29 && !is_leap(r.y))
        r.d = 28;
    return r;
}

int bn_age_years(const bn_date_t *birth, const bn_date_t *at)
{
    int age = at->y - birth->y;
    if (at->m < birth->m || (at->m == birth->m && at->d < birth->d))
        age--;
    return age < 0 ? -1 : age;
}

bn_date_t bn_today(const char *today)
{
    bn_date_t d;
    if (today && bn_date_parse(today, &d) == 0)
        return d;
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    d.y = tm.tm_year + 1900;
    d.m = tm.tm_mon + 1;
    d.d = tm.tm_mday;
    return d;
}

/* ---- region codes --------------------------------------------------------------------- */

typedef struct {
    char code[7];
    const char *name;
} region_t;

static pthread_mutex_t s_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static region_t *s_regions;
static int s_nregions;
static char *s_reg_blob; /* the file's bytes; names point into it */
static int s_reg_loaded;
static char s_reg_path[1024];

static int region_cmp(const void *a, const void *b)
{
    return strcmp(((const region_t *)a)->code, ((const region_t *)b)->code);
}

/* Caller holds s_reg_lock. */
static int regions_load_locked(const char *path)
{
    region_t *regs = NULL;
    int n = 0, cap = 0;
    size_t size;
    /* The real table is ~100 KB; refuse anything absurd rather than read it all. */
    char *blob = bn_file_read(path, 8u << 20, &size);
    if (!blob) {
        bn_error_set("regions_missing", "cannot read region table %s: %s", path, bn_error_msg());
        return -1;
    }

    for (char *line = blob, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *cr = strchr(line, '\r');
        if (cr)
            *cr = '\0';
        char *tab = strchr(line, '\t');
        if (line[0] == '#' || !tab || tab - line != 6 || !all_digits(line, 6))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            region_t *r = realloc(regs, (size_t)cap * sizeof *regs);
            if (!r)
                goto err_read;
            regs = r;
        }
        memcpy(regs[n].code, line, 6);
        regs[n].code[6] = '\0';
        regs[n].name = tab + 1;
        n++;
    }
    qsort(regs, (size_t)n, sizeof *regs, region_cmp);
    free(s_regions);
    free(s_reg_blob);
    s_regions = regs;
    s_nregions = n;
    s_reg_blob = blob;
    s_reg_loaded = 1;
    return n;

err_read:
    bn_error_set("regions_invalid", "cannot read region table %s", path);
    free(blob);
    free(regs);
    return -1;
}

static void default_path(char *buf, size_t size)
{
    const char *dir = getenv("BEIAN_DATA");
    if (dir && *dir)
        snprintf(buf, size, "%s/regions.tsv", dir);
    else
        snprintf(buf, size, "%s/data/regions.tsv", BEIAN_SOURCE_DIR);
}

void bn_regions_configure(const bn_config_t *cfg)
{
    pthread_mutex_lock(&s_reg_lock);
    if (!s_reg_loaded) {
        const char *p = bn_config_str(cfg, "ocr.regions_path", NULL);
        if (p && *p)
            snprintf(s_reg_path, sizeof s_reg_path, "%s", p);
        else
            default_path(s_reg_path, sizeof s_reg_path);
    }
    pthread_mutex_unlock(&s_reg_lock);
}

int bn_regions_load(const char *path)
{
    pthread_mutex_lock(&s_reg_lock);
    int n = regions_load_locked(path);
    pthread_mutex_unlock(&s_reg_lock);
    return n;
}

/* Load the configured (or default) table once; a missing file leaves an empty table, logged
 * once, so every region is "unknown" (review) rather than the stage failing. */
static void regions_ensure(void)
{
    pthread_mutex_lock(&s_reg_lock);
    if (!s_reg_loaded) {
        if (!s_reg_path[0])
            default_path(s_reg_path, sizeof s_reg_path);
        if (regions_load_locked(s_reg_path) < 0) {
            bn_warn("region table unavailable (%s): every region code will be unknown", bn_error_msg());
            s_reg_loaded = 1;
        }
    }
    pthread_mutex_unlock(&s_reg_lock);
}

int bn_regions_count(void)
{
    regions_ensure();
    return s_nregions;
}

const char *bn_region_name(const char *code6)
{
    if (!code6 || strnlen(code6, 7) != 6 || !all_digits(code6, 6))
        return NULL;
    if (strcmp(code6, "810000") == 0)
        return "香港特别行政区";
    if (strcmp(code6, "820000") == 0)
        return "澳门特别行政区";
    if (strcmp(code6, "830000") == 0)
        return "台湾地区";
    regions_ensure();
    region_t key;
    memcpy(key.code, code6, 7);
    pthread_mutex_lock(&s_reg_lock);
    const region_t *r = s_regions ? bsearch(&key, s_regions, (size_t)s_nregions, sizeof *s_regions, region_cmp) : NULL;
    const char *name = r ? r->name : NULL;
    pthread_mutex_unlock(&s_reg_lock);
    return name;
}

/* ---- GB 11643 ------------------------------------------------------------------------- */

char bn_id_check_char(const char *d)
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    if (!d || strnlen(d, 17) < 17 || !all_digits(d, 17))
        return '\0';
    int s = 0;
    for (int i = 0; i < 17; i++)
        s += (d[i] - '0') * w[i];
    return "10X98765432"[s % 11];
}

const char *bn_id_status_name(bn_id_status_t st)
{
    switch (st) {
    case BN_ID_VALID: return "valid";
    case BN_ID_CHECKSUM_INVALID: return "checksum_invalid";
    case BN_ID_BAD_FORMAT: return "bad_format";
    case BN_ID_BAD_DATE: return "bad_date";
    case BN_ID_FUTURE_DATE: return "future_date";
    }
    return "bad_format";
}

bn_id_status_t bn_id_validate(const char *s, const char *today, bn_id_info_t *out)
{
    bn_id_info_t tmp;
    if (!out)
        out = &tmp;
    memset(out, 0, sizeof *out);
    out->status = BN_ID_BAD_FORMAT;

    char buf[MAX_INPUT];
    int n = compact_upper(s, buf, sizeof buf);
    if (n == 15 && all_digits(buf, 15)) {
        /* First generation: 6 region + YYMMDD + 3 sequence, all born 19xx. */
        memcpy(out->number, buf, 6);
        memcpy(out->number + 6, "19", 2);
        memcpy(out->number + 8, buf + 6, 9);
        out->number[17] = bn_id_check_char(out->number);
        out->legacy15 = 1;
    } else if (n == 18 && all_digits(buf, 17) && (isdigit((unsigned char)buf[17]) || buf[17] == 'X')) {
        memcpy(out->number, buf, 18);
    } else {
        return out->status;
    }
    out->number[18] = '\0';
    out->check_expected = bn_id_check_char(out->number);
    memcpy(out->region, out->number, 6);
    out->region[6] = '\0';
    out->hmt = strcmp(out->region, "810000") == 0 || strcmp(out->region, "820000") == 0 ||
               strcmp(out->region, "830000") == 0;
    out->region_known = bn_region_name(out->region) != NULL;
    out->sex = ((out->number[16] - '0') % 2) ? 'M' : 'F';

    int y = num(out->number + 6, 4), m = num(out->number + 10, 2), d = num(out->number + 12, 2);
    if (y < 1880 || !bn_date_valid(y, m, d))
        return out->status = BN_ID_BAD_DATE;
    out->birth.y = y;
    out->birth.m = m;
    out->birth.d = d;
    bn_date_t now = bn_today(today);
    if (bn_date_days_between(&out->birth, &now) < 0)
        return out->status = BN_ID_FUTURE_DATE;
    if (out->number[17] != out->check_expected)
        return out->status = BN_ID_CHECKSUM_INVALID;
    return out->status = BN_ID_VALID;
}

/* Clean OCR text for a number: drop blanks and dashes, fold full-width digits and letters
 * (U+FF10-FF19, FF21-FF3A, FF41-FF5A) and × (U+00D7), upper-case. Returns the length kept
 * (at most max), or -1 when longer. */
static int clean_number(const char *in, char *out, int max)
{
    int n = 0;
    if (!in)
        return -1;
    const unsigned char *p = (const unsigned char *)in;
    for (int guard = 0; *p && guard < 4 * MAX_INPUT; guard++) {
        char c = 0;
        if (p[0] == 0xEF && p[1] == 0xBC && p[2] >= 0x90 && p[2] <= 0x99) {
            c = (char)('0' + p[2] - 0x90);
            p += 3;
        } else if (p[0] == 0xEF && p[1] == 0xBC && p[2] >= 0xA1 && p[2] <= 0xBA) {
            c = (char)('A' + p[2] - 0xA1);
            p += 3;
        } else if (p[0] == 0xEF && p[1] == 0xBD && p[2] >= 0x81 && p[2] <= 0x9A) {
            c = (char)('A' + p[2] - 0x81);
            p += 3;
        } else if (p[0] == 0xC3 && p[1] == 0x97) { /* × */
            c = 'X';
            p += 2;
        } else if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) { /* ideographic space */
            p += 3;
            continue;
        } else {
            c = (char)toupper(*p);
            p++;
            if (c == ' ' || c == '\t' || c == '-' || c == '\r' || c == '\n')
                continue;
        }
        if (n >= max)
            return -1;
        out[n++] = c;
    }
    out[n] = '\0';
    return n;
}

char bn_char_as_digit(char c)
{
    switch (c) {
    case 'O': case 'Q': case 'D': return '0';
    case 'I': case 'L': return '1';
    case 'Z': return '2';
    case 'S': return '5';
    case 'B': return '8';
    case 'G': return '6';
    }
    return c;
}

/* The cleaned number, at most 18 characters, into out; its whole length, or -1. */
static int s_clean_into(const char *in, char out[19])
{
    char buf[MAX_INPUT];
    int n = clean_number(in, buf, MAX_INPUT - 1);
    out[0] = '\0';
    if (n >= 0)
        snprintf(out, 19, "%.18s", buf);
    return n;
}

int bn_id_repair(const char *in, char out[19])
{
    int n = s_clean_into(in, out), changes = 0;
    if (n != 15 && n != 18)
        return -1;
    for (int i = 0; i < n; i++) {
        char r = (n == 18 && i == 17 && out[i] == 'X') ? 'X' : bn_char_as_digit(out[i]);
        if (r != out[i]) {
            out[i] = r;
            changes++;
        }
    }
    return changes;
}

/* ---- GB 32100 ------------------------------------------------------------------------- */

static const char s_uscc_alpha[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";

static int uscc_value(char c)
{
    const char *p = c ? strchr(s_uscc_alpha, c) : NULL;
    return p ? (int)(p - s_uscc_alpha) : -1;
}

int bn_uscc_validate(const char *s, bn_uscc_info_t *out)
{
    static const int w[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
    static const int ow[8] = {3, 7, 9, 10, 5, 8, 4, 2};
    bn_uscc_info_t tmp;
    if (!out)
        out = &tmp;
    memset(out, 0, sizeof *out);

    char buf[MAX_INPUT];
    if (compact_upper(s, buf, sizeof buf) != 18)
        return 0;
    int sum = 0;
    for (int i = 0; i < 18; i++) {
        int v = uscc_value(buf[i]);
        if (v < 0)
            return 0;
        if (i < 17)
            sum += v * w[i];
    }
    memcpy(out->code, buf, 19);
    out->format_ok = 1;
    out->check_expected = s_uscc_alpha[(31 - sum % 31) % 31];
    out->check_ok = buf[17] == out->check_expected;

    /* GB 11714: digits keep their value, letters A=10..Z=35 (the USCC alphabet has no I O S V Z,
     * so the excluded letters never occur here). */
    int osum = 0;
    for (int i = 0; i < 8; i++) {
        char c = buf[8 + i];
        osum += (isdigit((unsigned char)c) ? c - '0' : c - 'A' + 10) * ow[i];
    }
    int oc = 11 - osum % 11;
    out->org_check_expected = oc == 10 ? 'X' : oc == 11 ? '0' : (char)('0' + oc);
    out->org_check_ok = buf[16] == out->org_check_expected;

    memcpy(out->region, buf + 2, 6);
    out->region[6] = '\0';
    out->region_known = bn_region_name(out->region) != NULL;
    return out->check_ok;
}

int bn_uscc_repair(const char *in, char out[19])
{
    int n = s_clean_into(in, out), changes = 0;
    if (n != 18)
        return -1;
    for (int i = 0; i < 18; i++) {
        char c = out[i], r = c;
        if (i >= 2 && i <= 7)
            r = bn_char_as_digit(c);
        else if (c == 'O' || c == 'I' || c == 'Z' || c == 'S')
            r = bn_char_as_digit(c);
        if (r != c) {
            out[i] = r;
            changes++;
        }
    }
    return changes;
}

/* ---- ICAO 9303 ------------------------------------------------------------------------ */

int bn_icao_check_digit(const char *s, size_t n)
{
    static const int w[3] = {7, 3, 1};
    if (!s)
        return -1;
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int v;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'A' && c <= 'Z')
            v = c - 'A' + 10;
        else if (c == '<')
            v = 0;
        else
            return -1; /* includes the terminating NUL of a short string */
        sum += v * w[i % 3];
    }
    return sum % 10;
}

/* ISO 3166-1 alpha-3 (249 codes) and the ICAO 9303 Part 3 codes for organisations, stateless
 * persons, refugees and British nationality classes, plus the codes still found on documents in
 * circulation (ANT, RKS). Sorted for bsearch; "D" is Germany's MRZ code. */
static const char *const s_countries[] = {
    "ABW", "AFG", "AGO", "AIA", "ALA", "ALB", "AND", "ANT", "ARE", "ARG", "ARM", "ASM", "ATA", "ATF",
    "ATG", "AUS", "AUT", "AZE", "BDI", "BEL", "BEN", "BES", "BFA", "BGD", "BGR", "BHR", "BHS", "BIH",
    "BLM", "BLR", "BLZ", "BMU", "BOL", "BRA", "BRB", "BRN", "BTN", "BVT", "BWA", "CAF", "CAN", "CCK",
    "CHE", "CHL", "CHN", "CIV", "CMR", "COD", "COG", "COK", "COL", "COM", "CPV", "CRI", "CUB", "CUW",
    "CXR", "CYM", "CYP", "CZE", "D", "DEU", "DJI", "DMA", "DNK", "DOM", "DZA", "ECU", "EGY", "ERI",
    "ESH", "ESP", "EST", "ETH", "EUE", "FIN", "FJI", "FLK", "FRA", "FRO", "FSM", "GAB", "GBD", "GBN",
    "GBO", "GBP", "GBR", "GBS", "GEO", "GGY", "GHA", "GIB", "GIN", "GLP", "GMB", "GNB", "GNQ", "GRC",
    "GRD", "GRL", "GTM", "GUF", "GUM", "GUY", "HKG", "HMD", "HND", "HRV", "HTI", "HUN", "IDN", "IMN",
    "IND", "IOT", "IRL", "IRN", "IRQ", "ISL", "ISR", "ITA", "JAM", "JEY", "JOR", "JPN", "KAZ", "KEN",
    "KGZ", "KHM", "KIR", "KNA", "KOR", "KWT", "LAO", "LBN", "LBR", "LBY", "LCA", "LIE", "LKA", "LSO",
    "LTU", "LUX", "LVA", "MAC", "MAF", "MAR", "MCO", "MDA", "MDG", "MDV", "MEX", "MHL", "MKD", "MLI",
    "MLT", "MMR", "MNE", "MNG", "MNP", "MOZ", "MRT", "MSR", "MTQ", "MUS", "MWI", "MYS", "MYT", "NAM",
    "NCL", "NER", "NFK", "NGA", "NIC", "NIU", "NLD", "NOR", "NPL", "NRU", "NZL", "OMN", "PAK", "PAN",
    "PCN", "PER", "PHL", "PLW", "PNG", "POL", "PRI", "PRK", "PRT", "PRY", "PSE", "PYF", "QAT", "REU",
    "RKS", "ROU", "RUS", "RWA", "SAU", "SDN", "SEN", "SGP", "SGS", "SHN", "SJM", "SLB", "SLE", "SLV",
    "SMR", "SOM", "SPM", "SRB", "SSD", "STP", "SUR", "SVK", "SVN", "SWE", "SWZ", "SXM", "SYC", "SYR",
    "TCA", "TCD", "TGO", "THA", "TJK", "TKL", "TKM", "TLS", "TON", "TTO", "TUN", "TUR", "TUV", "TWN",
    "TZA", "UGA", "UKR", "UMI", "UNA", "UNK", "UNO", "URY", "USA", "UTO", "UZB", "VAT", "VCT", "VEN",
    "VGB", "VIR", "VNM", "VUT", "WLF", "WSM", "XBA", "XCC", "XCE", "XCO", "XDC", "XEC", "XES", "XIM",
    "XOM", "XPO", "XXA", "XXB", "XXC", "XXX", "YEM", "ZAF", "ZMB", "ZWE",
};

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int bn_country_code_valid(const char *code)
{
    char c[4];
    size_t n = 0;
    if (!code)
        return 0;
    for (; code[n] && n < 3; n++)
        c[n] = code[n];
    if (code[n]) /* longer than 3 */
        return 0;
    while (n > 0 && c[n - 1] == '<')
        n--;
    c[n] = '\0';
    if (n == 0)
        return 0;
    const char *key = c;
    return bsearch(&key, s_countries, sizeof s_countries / sizeof s_countries[0], sizeof s_countries[0],
                   str_cmp) != NULL;
}

/* ---- permits -------------------------------------------------------------------------- */

int bn_permit_number_valid(bn_permit_kind_t kind, const char *number)
{
    char b[MAX_INPUT];
    int n = compact_upper(number, b, sizeof b);
    if (n < 0)
        return 0;
    switch (kind) {
    case BN_PERMIT_HK_MACAO:
        if ((b[0] == 'H' || b[0] == 'M') && b[1] == 'A')
            return n == 9 && all_digits(b + 2, 7);
        return (b[0] == 'H' || b[0] == 'M') && (n == 9 || n == 11) && all_digits(b + 1, (size_t)n - 1);
    case BN_PERMIT_TAIWAN:
        return (n == 8 || n == 10) && all_digits(b, (size_t)n);
    case BN_PERMIT_EEP_HK_MACAO:
        if (n != 9 || b[0] != 'C')
            return 0;
        if (isdigit((unsigned char)b[1]))
            return all_digits(b + 1, 8);
        return b[1] >= 'A' && b[1] <= 'Z' && b[1] != 'I' && b[1] != 'O' && all_digits(b + 2, 7);
    case BN_PERMIT_EEP_TAIWAN:
        return n == 9 && b[0] == 'L' && all_digits(b + 1, 8);
    }
    return 0;
}

/* ---- document rules ------------------------------------------------------------------- */

int bn_id_validity_years(int age)
{
    if (age < 0)
        return -1;
    if (age < 16)
        return 5;
    if (age <= 25)
        return 10;
    if (age <= 45)
        return 20;
    return 0;
}

static int long_term_word(const char *s)
{
    while (*s == ' ')
        s++;
    return strncmp(s, "长期", 6) == 0 || strncmp(s, "長期", 6) == 0 || strncasecmp(s, "long-term", 9) == 0 ||
           strncasecmp(s, "long term", 9) == 0;
}

int bn_validity_parse(const char *s, bn_date_t *from, bn_date_t *until, int *long_term)
{
    static const char *seps[] = {"\xE8\x87\xB3" /* 至 */, "\xE2\x80\x94" /* — */, "\xE2\x80\x93" /* – */,
                                 "\xEF\xBC\x8D" /* － */, "~", "-"};
    char left[MAX_INPUT];
    if (!s || !from || !until || !long_term || strnlen(s, 4 * MAX_INPUT) >= 4 * MAX_INPUT)
        return -1;
    for (size_t k = 0; k < sizeof seps / sizeof seps[0]; k++) {
        size_t sl = strlen(seps[k]);
        /* try every occurrence: '-' also separates the parts of YYYY-MM-DD */
        for (const char *p = strstr(s, seps[k]); p; p = strstr(p + 1, seps[k])) {
            size_t ln = (size_t)(p - s);
            if (ln >= sizeof left)
                break;
            memcpy(left, s, ln);
            left[ln] = '\0';
            if (bn_date_parse(left, from) != 0)
                continue;
            const char *right = p + sl;
            if (long_term_word(right)) {
                *until = (bn_date_t){0, 0, 0};
                *long_term = 1;
                return 0;
            }
            if (bn_date_parse(right, until) == 0) {
                *long_term = 0;
                return 0;
            }
        }
    }
    /* no separator at all (the dash lost between two lines read apart, 2006.11.2120261121): the
     * one split where a date is followed by a year (19xx, 20xx) that begins a date or by 长期 */
    size_t n = strlen(s);
    for (size_t i = 8; i + 2 <= n && i < sizeof left; i++) {
        const char *right = s + i;
        if (!long_term_word(right) && !(right[0] == '1' && right[1] == '9') && !(right[0] == '2' && right[1] == '0'))
            continue;
        memcpy(left, s, i);
        left[i] = '\0';
        if (bn_date_parse(left, from) != 0)
            continue;
        if (long_term_word(right)) {
            *until = (bn_date_t){0, 0, 0};
            *long_term = 1;
            return 0;
        }
        if (bn_date_parse(right, until) == 0) {
            *long_term = 0;
            return 0;
        }
    }
    return -1;
}

static int same_date(const bn_date_t *a, const bn_date_t *b)
{
    return a->y == b->y && a->m == b->m && a->d == b->d;
}

int bn_validity_span_ok(const bn_date_t *from, const bn_date_t *until, int expected)
{
    if (!from || !bn_date_valid(from->y, from->m, from->d))
        return 0;
    int until_set = until && bn_date_valid(until->y, until->m, until->d);
    if (expected == 0)
        return !until_set;
    if (!until_set)
        return 0;
    if (expected < 0)
        return bn_validity_span_ok(from, until, 5) || bn_validity_span_ok(from, until, 10) ||
               bn_validity_span_ok(from, until, 20);
    bn_date_t end = bn_date_add_years(from, expected);
    if (same_date(&end, until))
        return 1;
    /* Issued on 29 Feb: offices print either 28 Feb or 1 Mar in a common year. */
    if (from->m == 2 && from->d == 29 && end.d == 28 && until->y == end.y && until->m == 3 && until->d == 1)
        return 1;
    return 0;
}

long bn_days_left(const bn_date_t *expiry, const bn_date_t *today)
{
    return bn_date_days_between(today, expiry);
}

int bn_expiry_ok(const bn_date_t *expiry, const bn_date_t *today, int min_days)
{
    return bn_days_left(expiry, today) >= min_days;
}

int bn_is_adult(const bn_date_t *birth, const bn_date_t *today)
{
    return bn_age_years(birth, today) >= 18;
}

int bn_number_windows(const char *s, int uscc, char out[19])
{
    char a[512];
    size_t n = 0;
    for (; s && *s && n + 1 < sizeof a; s++)
        if ((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
            a[n++] = (char)((*s >= 'a' && *s <= 'z') ? *s - 32 : *s);
    int count = 0;
    for (size_t i = 0; i + 18 <= n; i++) {
        char w[19];
        memcpy(w, a + i, 18);
        w[18] = 0;
        bn_id_info_t ii;
        bn_uscc_info_t ui;
        if (uscc ? (bn_uscc_validate(w, &ui) && ui.org_check_ok) : bn_id_validate(w, NULL, &ii) == BN_ID_VALID) {
            if (!count++ && out)
                memcpy(out, w, 19);
        }
    }
    return count;
}

char bn_entity_category(const char *s)
{
    if (!s)
        return 0;
    static const struct {
        const char *word;
        char cat;
    } m[] = {{"个体", 'B'}, {"企业", 'B'}, {"公司", 'B'}, {"合作社", 'B'}, {"enterprise", 'B'}, {"company", 'B'},
             {"business", 'B'}, {"事业", 'G'}, {"政府", 'G'}, {"机关", 'G'},
             {"government", 'G'}, {"institution", 'G'}, {"社会团体", 'S'}, {"基金会", 'S'}, {"民办非", 'S'},
             {"social", 'S'}, {"foundation", 'S'}, {"个人", 'P'}, {"individual", 'P'}};
    /* 民办非企业单位 contains 企业: test the social words first; the person words last, so
     * 个人独资企业 (a sole proprietorship) is a business. */
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (m[i].cat == 'S' && strcasestr(s, m[i].word))
            return 'S';
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (strcasestr(s, m[i].word))
            return m[i].cat;
    return 0;
}
