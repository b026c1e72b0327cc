#include "ocr/bn_ocr_norm.h"
#include "core/bn_normalize.h"
#include "ocr/bn_domain.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/bn_validate.h"

#define BN_NORM_MAX 1024

/* Decode one UTF-8 code point; returns bytes consumed (>= 1, invalid bytes count as U+FFFD). */
static int utf8_next(const char *s, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) { *cp = u[0]; return 1; }
    if ((u[0] & 0xE0) == 0xC0 && (u[1] & 0xC0) == 0x80) { *cp = ((u[0] & 0x1Fu) << 6) | (u[1] & 0x3Fu); return 2; }
    if ((u[0] & 0xF0) == 0xE0 && (u[1] & 0xC0) == 0x80 && (u[2] & 0xC0) == 0x80) {
        *cp = ((u[0] & 0x0Fu) << 12) | ((u[1] & 0x3Fu) << 6) | (u[2] & 0x3Fu);
        return 3;
    }
    if ((u[0] & 0xF8) == 0xF0 && (u[1] & 0xC0) == 0x80 && (u[2] & 0xC0) == 0x80 && (u[3] & 0xC0) == 0x80) {
        *cp = ((u[0] & 0x07u) << 18) | ((u[1] & 0x3Fu) << 12) | ((u[2] & 0x3Fu) << 6) | (u[3] & 0x3Fu);
        return 4;
    }
    *cp = 0xFFFD;
    return 1;
}

static size_t utf8_put(char *out, size_t k, size_t size, uint32_t cp)
{
    char b[4];
    int n;
    if (cp < 0x80) b[0] = (char)cp, n = 1;
    else if (cp < 0x800) b[0] = (char)(0xC0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        b[0] = (char)(0xE0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        b[0] = (char)(0xF0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    if (k + (size_t)n + 1 > size)
        return k;
    memcpy(out + k, b, (size_t)n);
    return k + (size_t)n;
}

/* Full-width ASCII (U+FF01..FF5E) → ASCII, ideographic space → space. */
static uint32_t fold(uint32_t cp)
{
    if (cp == 0x300A || cp == 0x3008 || cp == 0x3010) /* 《 〈 【 read for （ */
        return '(';
    if (cp == 0x300B || cp == 0x3009 || cp == 0x3011)
        return ')';
    if (cp >= 0xFF01 && cp <= 0xFF5E)
        return cp - 0xFEE0;
    if (cp == 0x3000)
        return ' ';
    return cp;
}

static int is_cjk(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF);
}

enum { KEEP_CJK = 1, KEEP_DIGIT = 2, KEEP_UPPER = 4, KEEP_PUNCT = 8, KEEP_SPACE = 16, KEEP_DOT = 32, KEEP_POINT = 64 };

static char *filter(const char *raw, unsigned keep, char *out, size_t size)
{
    size_t k = 0;
    int pending_space = 0;
    for (const char *p = raw ? raw : ""; *p;) {
        uint32_t cp;
        p += utf8_next(p, &cp);
        cp = fold(cp);
        if ((keep & KEEP_UPPER) && cp >= 'a' && cp <= 'z')
            cp -= 32;
        if ((keep & KEEP_PUNCT) && ((cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212))
            cp = '-'; /* a dash as printed in 12—3号 (the recogniser returns em and en dashes) */
        int ok = ((keep & KEEP_CJK) && is_cjk(cp)) || ((keep & KEEP_DIGIT) && cp >= '0' && cp <= '9') ||
                 ((keep & KEEP_UPPER) && cp >= 'A' && cp <= 'Z') ||
                 ((keep & KEEP_DOT) && cp == 0xB7) || ((keep & KEEP_POINT) && cp == '.') ||
                 ((keep & KEEP_PUNCT) && (cp == '(' || cp == ')' || cp == 0xFF08 || cp == 0xFF09 || cp == '-' ||
                                          cp == ',' || cp == '#' || cp == 0x3001));
        if ((keep & KEEP_SPACE) && (cp == ' ' || cp == '\n' || cp == '\t')) {
            pending_space = k > 0;
            continue;
        }
        if (!ok)
            continue;
        if (pending_space && k + 2 < size)
            out[k++] = ' ';
        pending_space = 0;
        k = utf8_put(out, k, size, cp);
    }
    out[k] = 0;
    return out;
}

char *bn_norm_date(const char *raw, char *out, size_t size)
{
    static const char *mon[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
    out[0] = 0;
    if (!raw)
        return out;
    /* a date in Chinese numerals, as pre-2015 licences print it (二〇一〇年三月十五日): the
     * address normaliser's numerals → digits (2010年3月15日) */
    static const char *const cn = "〇零一二三四五六七八九十";
    char digits[256];
    int has_cn = 0;
    for (const char *p = raw; *p && !has_cn; p++)
        if ((unsigned char)*p >= 0xE3)
            for (const char *c = cn; *c && !has_cn; c += 3)
                has_cn = !strncmp(p, c, 3);
    if (has_cn && strstr(raw, "年") && bn_norm(raw, BN_NORM_ADDRESS, digits, sizeof digits) > 0)
        return bn_norm_date(digits, out, size);
    if (strstr(raw, "长期") || strstr(raw, "长") || strstr(raw, "期")) {
        snprintf(out, size, "long-term");
        return out;
    }
    char a[256];
    filter(raw, KEEP_DIGIT | KEEP_UPPER | KEEP_SPACE, a, sizeof a);
    /* groups of digits, and a month name for "07 JUN 1985" */
    int g[8], gl[8], ng = 0, month = 0;
    for (const char *p = raw; *p && ng < 8;) {
        uint32_t cp;
        int n = utf8_next(p, &cp);
        cp = fold(cp);
        if (cp >= '0' && cp <= '9') {
            int v = 0, l = 0;
            while (*p) {
                uint32_t c2;
                int n2 = utf8_next(p, &c2);
                c2 = fold(c2);
                if (c2 < '0' || c2 > '9')
                    break;
                if (l < 9)
                    v = v * 10 + (int)(c2 - '0');
                l++;
                p += n2;
            }
            g[ng] = v, gl[ng] = l, ng++;
        } else {
            p += n;
        }
    }
    for (int m = 0; m < 12; m++)
        if (strstr(a, mon[m]))
            month = m + 1;
    int y = 0, mo = 0, d = 0;
    if (month && ng >= 2 && gl[ng - 1] == 4) {
        d = g[0], mo = month, y = g[ng - 1];
    } else {
        /* the first plausible date in the groups: stray marks ('-', '8') may come first */
        for (int i = 0; i < ng && !bn_date_valid(y, mo, d); i++) {
            if (gl[i] == 8)
                y = g[i] / 10000, mo = g[i] / 100 % 100, d = g[i] % 100;
            else if (gl[i] == 4 && i + 2 < ng && gl[i + 1] <= 2 && gl[i + 2] <= 2)
                y = g[i], mo = g[i + 1], d = g[i + 2];
            else if (gl[i] == 4 && i + 1 < ng && gl[i + 1] == 4) /* "2002 0514": separator lost */
                y = g[i], mo = g[i + 1] / 100, d = g[i + 1] % 100;
            else if (gl[i] == 4 && i + 1 < ng && gl[i + 1] == 3) /* "1987年123日": 1 月 lost as 1 */
                y = g[i], mo = g[i + 1] / 100, d = g[i + 1] % 100;
            if (y < 1880 || y > 2200)
                y = mo = d = 0;
        }
        if (!bn_date_valid(y, mo, d) && ng >= 3 && gl[ng - 1] == 4) /* DD MM YYYY */
            d = g[ng - 3], mo = g[ng - 2], y = g[ng - 1];
    }
    if (bn_date_valid(y, mo, d) && y >= 1880)
        snprintf(out, size, "%04d-%02d-%02d", y, mo, d);
    return out;
}

/* Digits where a field can only hold digits: the usual letter look-alikes. */
static void digitise(char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case 'O': case 'Q': case 'D': *s = '0'; break;
        case 'I': case 'L': *s = '1'; break;
        case 'Z': *s = '2'; break;
        case 'S': *s = '5'; break;
        case 'B': *s = '8'; break;
        case 'G': *s = '6'; break;
        default: break;
        }
    }
}

/* ---- address prefix against the region gazetteer ---------------------------------------- */

#ifndef BEIAN_SOURCE_DIR
#define BEIAN_SOURCE_DIR "."
#endif
#define MAX_PLACE 24

typedef struct {
    uint32_t cp[MAX_PLACE];
    int n;
} place_t;

static pthread_once_t s_places_once = PTHREAD_ONCE_INIT;
static place_t *s_places;
static int s_nplaces;

static int decode_cps(const char *s, uint32_t *cp, int max)
{
    int n = 0;
    while (*s && n < max) {
        uint32_t c;
        s += utf8_next(s, &c);
        cp[n++] = c;
    }
    return n;
}

/* Full county-level names "省 + 市 + 区" from data/regions.tsv (GB/T 2260): what an address
 * starts with. Municipal "市辖区"/"县" levels are skipped, as addresses do. */
static void load_places(void)
{
    char path[1024];
    const char *d = getenv("BEIAN_DATA");
    if (d && *d)
        snprintf(path, sizeof path, "%s/regions.tsv", d);
    else
        snprintf(path, sizeof path, "%s/data/regions.tsv", BEIAN_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    int cap = 4096, n = 0;
    char (*code)[7] = malloc((size_t)cap * 7);
    char (*name)[64] = malloc((size_t)cap * 64);
    char line[256];
    while (code && name && fgets(line, sizeof line, f) && n < cap) {
        if (line[0] == '#' || strlen(line) < 8 || line[6] != '\t')
            continue;
        memcpy(code[n], line, 6);
        code[n][6] = 0;
        snprintf(name[n], 64, "%.60s", line + 7);
        name[n][strcspn(name[n], "\r\n")] = 0;
        n++;
    }
    fclose(f);
    s_places = code && name ? calloc((size_t)n, sizeof *s_places) : NULL;
    for (int i = 0; s_places && i < n; i++) {
        if (!strcmp(code[i] + 2, "0000") || !strcmp(code[i] + 4, "00"))
            continue; /* provinces and cities alone are not a full prefix */
        char prov[7], city[7], full[256] = "";
        snprintf(prov, sizeof prov, "%.2s0000", code[i]);
        snprintf(city, sizeof city, "%.4s00", code[i]);
        const char *pn = NULL, *cn = NULL;
        for (int j = 0; j < n; j++) {
            if (!strcmp(code[j], prov)) pn = name[j];
            if (!strcmp(code[j], city)) cn = name[j];
        }
        if (!pn)
            continue;
        strcat(full, pn);
        if (cn && strcmp(cn, "市辖区") && strcmp(cn, "县") && strcmp(cn, "省直辖县级行政区划") &&
            strcmp(cn, "自治区直辖县级行政区划"))
            strncat(full, cn, sizeof full - strlen(full) - 1);
        strncat(full, name[i], sizeof full - strlen(full) - 1);
        place_t *pl = &s_places[s_nplaces];
        pl->n = decode_cps(full, pl->cp, MAX_PLACE);
        if (pl->n >= 4 && pl->n < MAX_PLACE)
            s_nplaces++;
    }
    free(code);
    free(name);
}

/* Replace a misread administrative prefix ("湖南省长沙市岳芒区" → "湖南省长沙市岳麓区") when one
 * gazetteer name matches it with at most one wrong character in five and no other name matches
 * as well. Same length only: substitutions, the usual chi_sim error. */
static void fix_address_prefix(char *addr, size_t size)
{
    pthread_once(&s_places_once, load_places);
    if (!s_nplaces)
        return;
    uint32_t a[256];
    int na = decode_cps(addr, a, 256);
    int best = -1, best_d = 3, ambiguous = 0;
    for (int i = 0; i < s_nplaces; i++) {
        const place_t *p = &s_places[i];
        if (p->n > na)
            continue;
        int lim = p->n / 5 < 2 ? p->n / 5 : 2, d = 0;
        for (int k = 0; k < p->n && d <= lim; k++)
            d += a[k] != p->cp[k];
        if (d > lim)
            continue;
        const place_t *q = best >= 0 ? &s_places[best] : NULL;
        if (!q || d < best_d || (d == best_d && p->n > q->n)) {
            best = i, best_d = d, ambiguous = 0;
        } else if (d == best_d && p->n == q->n) {
            ambiguous = 1;
        }
    }
    if (best < 0 || best_d == 0 || ambiguous)
        return; /* nothing to fix, or no single answer */
    const place_t *p = &s_places[best];
    for (int k = 0; k < p->n; k++)
        a[k] = p->cp[k];
    size_t k = 0;
    for (int i = 0; i < na; i++)
        k = utf8_put(addr, k, size, a[i]);
    addr[k] = 0;
}

/* A number read with extra characters (a speck or a neighbour's character at either end):
 * when exactly one 18-character window validates, that window is the reading. Never adds or
 * changes a character. */
static void pick_window(char *v, int uscc)
{
    size_t n = strlen(v);
    char w[19];
    if (n > 18 && n <= 24 && bn_number_windows(v, uscc, w) == 1)
        memcpy(v, w, 19);
}

/* A business term starts with its first date (2015年03月25日至长期) or is 长期 alone: what comes
 * before the first digit is its label read into the value (期限, 业期限), and a year of five
 * digits whose last four are one (12015年) took a stroke of the label's colon. In place. */
static void trim_term(char *s)
{
    char *d = s + strcspn(s, "0123456789");
    if (!*d)
        return; /* 长期, 永久: no date */
    size_t n = strspn(d, "0123456789");
    if (n == 5 && !strncmp(d + 5, "年", 3) && (!strncmp(d + 1, "19", 2) || !strncmp(d + 1, "20", 2)))
        d++;
    memmove(s, d, strlen(d) + 1);
}

/* English text as printed: full-width folded, one space between words, case kept
 * ("Beijing Example Technology Co., Ltd."). */
static char *latin_text(const char *raw, char *out, size_t size)
{
    size_t k = 0;
    int pending_space = 0;
    for (const char *p = raw ? raw : ""; *p;) {
        uint32_t cp;
        p += utf8_next(p, &cp);
        cp = fold(cp);
        if (cp == ' ' || cp == '\t' || cp == '\n' || cp == 0x3000) {
            pending_space = k > 0;
            continue;
        }
        if (cp < 0x21 || cp == 0x7F)
            continue;
        if (pending_space && k + 2 < size)
            out[k++] = ' ';
        pending_space = 0;
        k = utf8_put(out, k, size, cp);
    }
    out[k] = 0;
    return out;
}

static int letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

/* Is the word ending at end-1 (start of text at s) one of the company abbreviations that take a
 * period? */
static int abbrev_before(const char *s, size_t end)
{
    static const char *const ab[] = {"Co", "Ltd", "Inc", "Corp", "CO", "LTD", "INC", "CORP", NULL};
    for (int i = 0; ab[i]; i++) {
        size_t n = strlen(ab[i]);
        if (end >= n && !strncmp(s + end - n, ab[i], n) && (end == n || !letter(s[end - n - 1])))
            return 1;
    }
    return 0;
}

/* The recogniser drops the space after a comma or an abbreviation's period and a final period
 * ("Co.,Ltd" for "Co., Ltd."): English company names get their conventional punctuation. */
static void latin_company(char *s, size_t size)
{
    char o[BN_NORM_MAX];
    size_t k = 0, n = strlen(s);
    for (size_t i = 0; i < n && k + 3 < sizeof o; i++) {
        o[k++] = s[i];
        if (i + 1 < n && letter(s[i + 1]) && (s[i] == ',' || (s[i] == '.' && abbrev_before(s, i))))
            o[k++] = ' ';
    }
    if (k > 0 && k + 2 < sizeof o && abbrev_before(o, k))
        o[k++] = '.';
    o[k] = 0;
    snprintf(s, size, "%s", o);
}

/* Does a word of a company's name start at p? */
static int company_word_at(const char *p)
{
    static const char *const w[] = {"Technology", "Technologies", "Corporation", "Computing", "Cloud", "Network",
                                    "Information", "Services", "Software", "Limited", "Ltd", "Co.", "Inc", "LLC",
                                    "Group", "Company", "SAS", "GmbH", NULL};
    for (int i = 0; w[i]; i++) {
        size_t n = strlen(w[i]);
        if (!strncmp(p, w[i], n) && !(p[n] >= 'a' && p[n] <= 'z'))
            return 1;
    }
    return 0;
}

/* A name whose spaces the recogniser lost (small serif print): "ShenzhenQimingE-CommerceCo.,Ltd"
 * has its words back where a capital follows a small letter. A holder's English name is the
 * pinyin of the Chinese one (Tencent: 所有者(英文) is its full pinyin), which has no capital inside
 * a word. A registrar's brand is written so (GoDaddy, HiChina): there (words_only) only before
 * the words of a company's name (XinnetTechnologyCorporation). */
static void camel_split(char *s, size_t size, int words_only)
{
    char o[BN_NORM_MAX];
    size_t k = 0, n = strlen(s);
    for (size_t i = 0; i < n && k + 2 < sizeof o; i++) {
        if (i > 0 && s[i] >= 'A' && s[i] <= 'Z' && s[i - 1] >= 'a' && s[i - 1] <= 'z' &&
            (!words_only || company_word_at(s + i)))
            o[k++] = ' ';
        o[k++] = s[i];
    }
    o[k] = 0;
    snprintf(s, size, "%s", o);
}

/* A domain certificate's fields (docs/OCR.md): the domain by bn_domain_norm, dates YYYY-MM-DD,
 * a Chinese holder or registrar as a licence's name, an English one as printed. */
static char *norm_domain_cert(const char *key, const char *raw, char *out, size_t size)
{
    if (!strcmp(key, "domain"))
        return bn_domain_norm(raw, out, size);
    if (!strcmp(key, "registered_on") || !strcmp(key, "expires_on")) {
        /* a month's O read as a zero ("11 0ct 2026"): a 0 before a letter is one */
        char d[128];
        snprintf(d, sizeof d, "%s", raw ? raw : "");
        for (char *p = d; *p; p++)
            if (*p == '0' && letter(p[1]))
                *p = 'O';
        bn_norm_date(d, out, size);
        if (!strcmp(out, "long-term")) /* a registration always ends */
            out[0] = 0;
        return out;
    }
    if (!strcmp(key, "certificate_no"))
        return filter(raw, KEEP_DIGIT | KEEP_UPPER, out, size);
    int cjk = 0;
    for (const char *p = raw ? raw : ""; *p && !cjk;) {
        uint32_t cp;
        p += utf8_next(p, &cp);
        cjk = is_cjk(cp);
    }
    if (cjk)
        return bn_norm_field("business-license", "name", raw, out, size);
    latin_text(raw, out, size);
    camel_split(out, size, !strcmp(key, "registrar"));
    latin_company(out, size);
    return out;
}

char *bn_norm_field(const char *doc_type, const char *key, const char *raw, char *out, size_t size)
{
    out[0] = 0;
    if (!key || size < 2)
        return out;
    doc_type = doc_type ? doc_type : "";
    if (!strcmp(doc_type, "domain-certificate"))
        return norm_domain_cert(key, raw, out, size);
    int passport = !strcmp(doc_type, "passport");
    if (!strcmp(key, "id_number")) {
        filter(raw, KEEP_DIGIT | KEEP_UPPER, out, size);
        /* only digits and a final X: drop stray letters the whitelist let through */
        size_t k = 0;
        for (size_t i = 0; out[i]; i++)
            if ((out[i] >= '0' && out[i] <= '9') || (out[i] == 'X'))
                out[k++] = out[i];
        out[k] = 0;
        /* an X anywhere but last is a misread 'X'-like stroke or noise */
        for (size_t i = 0; k > 0 && i + 1 < k; i++)
            if (out[i] == 'X') {
                memmove(out + i, out + i + 1, k - i);
                k--, i--;
            }
        if (size >= 19)
            pick_window(out, 0);
        return out;
    }
    if (!strcmp(key, "credit_code")) {
        filter(raw, KEEP_DIGIT | KEEP_UPPER, out, size);
        for (char *p = out; *p; p++) /* letters GB 32100 excludes */
            *p = *p == 'O' ? '0' : *p == 'I' ? '1' : *p == 'S' ? '5' : *p == 'Z' ? '2' : *p == 'V' ? 'U' : *p;
        if (size >= 19)
            pick_window(out, 1);
        return out;
    }
    if (!strcmp(key, "document_number")) {
        filter(raw, KEEP_DIGIT | KEEP_UPPER, out, size);
        if (!strcmp(doc_type, "hk-macao-permit") && out[0]) {
            if (out[0] == '4' || out[0] == 'N') out[0] = 'H'; /* H/M misreads at the start */
            digitise(out + (out[1] == 'A' ? 2 : 1));
        } else if (!strcmp(doc_type, "taiwan-permit")) {
            digitise(out);
        }
        return out;
    }
    if (!strcmp(key, "sex")) {
        const char *m = raw ? raw : "";
        int male = strstr(m, "男") != NULL, female = strstr(m, "女") != NULL;
        if (!male && !female) {
            char a[64];
            filter(m, KEEP_UPPER, a, sizeof a);
            male = strchr(a, 'M') != NULL;
            female = strchr(a, 'F') != NULL;
        }
        if (male != female)
            snprintf(out, size, "%s", passport ? (male ? "M" : "F") : (male ? "男" : "女"));
        return out;
    }
    if (!strcmp(key, "valid_until") && raw && strstr(raw, "至")) /* "from 至 until": the until */
        return bn_norm_date(strstr(raw, "至") + strlen("至"), out, size);
    if (!strcmp(key, "valid_until") && !strcmp(doc_type, "business-license") && raw) {
        /* 至 not read: the last date on the line (the first is the start of the term) */
        bn_norm_date(raw, out, size);
        if (!strcmp(out, "long-term"))
            return out;
        out[0] = 0;
        int n = 0;
        char last[16] = "", prev[16] = "";
        for (const char *p = raw; *p; p++)
            if (p[0] >= '0' && p[0] <= '9' && (p == raw || p[-1] < '0' || p[-1] > '9')) {
                char d[16];
                if (bn_norm_date(p, d, sizeof d)[0] && strcmp(d, prev) != 0) {
                    snprintf(last, sizeof last, "%s", d);
                    snprintf(prev, sizeof prev, "%s", d);
                    n++;
                }
            }
        if (n >= 2) /* one date only is the start of the term: the end was not read */
            snprintf(out, size, "%s", last);
        return out;
    }
    if (strstr(key, "date") || !strcmp(key, "valid_from") || !strcmp(key, "valid_until"))
        return bn_norm_date(raw, out, size);
    if (!strcmp(key, "name_latin")) {
        char a[256];
        filter(raw, KEEP_UPPER | KEEP_SPACE | KEEP_PUNCT, a, sizeof a);
        /* "LI , JIAGANG" / "LI,JIAGANG" → "LI, JIAGANG" */
        size_t k = 0;
        for (size_t i = 0; a[i] && k + 3 < size; i++) {
            if (a[i] == ' ' && (a[i + 1] == ',' || (k && out[k - 1] == ' ')))
                continue;
            if (a[i] == '(' || a[i] == ')' || a[i] == '#')
                continue;
            out[k++] = a[i];
            if (a[i] == ',' && a[i + 1] != ' ')
                out[k++] = ' ';
        }
        out[k] = 0;
        return out;
    }
    if (passport) {
        char a[256];
        if (!strcmp(key, "nationality")) {
            filter(raw, KEEP_UPPER | KEEP_CJK, a, sizeof a);
            snprintf(out, size, "%s", (strstr(a, "CHIN") || strstr(a, "中国")) ? "CHN" : "");
            return out;
        }
        /* '汉字 PINYIN' lines and codes: the Latin part */
        filter(raw, KEEP_UPPER | KEEP_SPACE | KEEP_DIGIT, a, sizeof a);
        snprintf(out, size, "%s", a);
        return out;
    }
    if (!strcmp(key, "address") || !strcmp(key, "type") || (!strcmp(key, "name") && !strcmp(doc_type, "business-license"))) {
        /* Chinese text uses full-width brackets: （自然人独资） */
        char a[BN_NORM_MAX];
        filter(raw, KEEP_CJK | KEEP_DIGIT | KEEP_UPPER | KEEP_PUNCT, a, sizeof a);
        size_t k = 0;
        char last = 0; /* the last bracket written, to drop a doubled one ("（（" read twice) */
        for (const char *p = a; *p; p++) {
            if (*p == '(' || *p == ')' || *p == '[' || *p == ']') {
                char b = (*p == '(' || *p == '[') ? '(' : ')';
                if (b != last)
                    k = utf8_put(out, k, size, b == '(' ? 0xFF08 : 0xFF09);
                last = b;
                continue;
            }
            last = 0;
            /* a dash between numbers read as 一 (1001—1003号 → 1001一1003号) */
            if (!strncmp(p, "一", 3) && k > 0 && out[k - 1] >= '0' && out[k - 1] <= '9' && p[3] >= '0' && p[3] <= '9') {
                if (k + 2 < size)
                    out[k++] = '-';
                p += 2;
                continue;
            }
            if (k + 2 < size)
                out[k++] = *p;
        }
        out[k] = 0;
        /* the last character of its label (住所, 经营场所, 住址) read into the value: no address
         * starts with it */
        if (!strcmp(key, "address") && (!strncmp(out, "所", 3) || !strncmp(out, "址", 3)) && strlen(out) >= 5 * 3)
            memmove(out, out + 3, strlen(out + 3) + 1);
        if (!strcmp(key, "address"))
            fix_address_prefix(out, size);
        /* an entity type ends at its bracket: what follows on the row is a watermark or the
         * next column (有限责任公司（自然人独资）测试公司) */
        char *close = !strcmp(key, "type") ? strstr(out, "）") : NULL;
        if (close)
            close[strlen("）")] = 0;
        /* ...and a type that has no bracket ends with its name (个体工商户维库网专用: a web
         * site's watermark on the row) */
        static const char *const bare[] = {"个体工商户", "个人独资企业", "普通合伙企业", "有限合伙企业", "农民专业合作社", NULL};
        for (int i = 0; !close && !strcmp(key, "type") && bare[i]; i++)
            if (!strncmp(out, bare[i], strlen(bare[i])) && strncmp(out + strlen(bare[i]), "（", 3))
                out[strlen(bare[i])] = 0;
        return out;
    }
    if (!strcmp(key, "name"))
        return filter(raw, KEEP_CJK | KEEP_DOT, out, size);
    if (!strcmp(key, "registered_capital")) /* 100.5万元人民币: the decimal point is the amount */
        return filter(raw, KEEP_CJK | KEEP_DIGIT | KEEP_POINT, out, size);
    filter(raw, KEEP_CJK | KEEP_DIGIT | KEEP_UPPER, out, size);
    if (!strcmp(key, "business_term"))
        trim_term(out);
    return out;
}

/* The 56 ethnic groups as printed on ID cards (GB/T 3304, without the 族 suffix). */
int bn_ethnicity_valid(const char *v)
{
    static const char *const k[] = {
        "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白",
        "土家", "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西",
        "景颇", "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌",
        "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔",
        "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺"};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (!strcmp(v, k[i]))
            return 1;
    return 0;
}
