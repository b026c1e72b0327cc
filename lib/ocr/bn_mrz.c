#include "ocr/bn_mrz.h"
#include "core/bn_error.h"
#include "core/bn_validate.h"

#include <stdio.h>
#include <string.h>

/* Bounds on untrusted OCR text: lines considered and characters kept per line. */
#define MAX_LINES 24
#define MAX_LINE 64
#define MAX_VARIANTS 12

/* Character classes of a layout position:
 *   d digit          c digit or '<' (check digits that may be fillers)
 *   a letter or '<'  (codes, names, sex)
 *   x any of [A-Z0-9<] (document numbers, optional data)
 *   f filler '<' (Chinese one-line format separators) */
typedef struct {
    int line, start, len;
} seg_t;

typedef struct {
    const char *name;
    seg_t segs[4];
    int nsegs;
    int cd_line, cd_pos;
    int filler_ok; /* '<' check digit accepted when the field is all fillers */
} check_def_t;

typedef struct {
    bn_mrz_format_t fmt;
    const char *prefix; /* required document code start ("CR"), or NULL */
    int nlines, len;
    const char *cls[3];
    check_def_t checks[BN_MRZ_MAX_CHECKS];
    int nchecks;
} layout_t;

#define A5 "aaaaa"
#define A10 A5 A5
#define X5 "xxxxx"
#define D6 "dddddd"

static const layout_t s_layouts[] = {
    {BN_MRZ_TD3, NULL, 2, 44,
     {A10 A10 A10 A10 "aaaa", "xxxxxxxxx" "c" "aaa" D6 "d" "a" D6 "d" X5 X5 "xxxx" "c" "d"},
     {{"document_number", {{1, 0, 9}}, 1, 1, 9, 0},
      {"birth_date", {{1, 13, 6}}, 1, 1, 19, 0},
      {"expiry_date", {{1, 21, 6}}, 1, 1, 27, 0},
      {"optional_data", {{1, 28, 14}}, 1, 1, 42, 1},
      {"composite", {{1, 0, 10}, {1, 13, 7}, {1, 21, 22}}, 3, 1, 43, 0}},
     5},
    {BN_MRZ_TD2, NULL, 2, 36,
     {A10 A10 A10 "aaaaaa", "xxxxxxxxx" "c" "aaa" D6 "d" "a" D6 "d" X5 "xx" "d"},
     {{"document_number", {{1, 0, 9}}, 1, 1, 9, 0},
      {"birth_date", {{1, 13, 6}}, 1, 1, 19, 0},
      {"expiry_date", {{1, 21, 6}}, 1, 1, 27, 0},
      {"composite", {{1, 0, 10}, {1, 13, 7}, {1, 21, 14}}, 3, 1, 35, 0}},
     4},
    {BN_MRZ_TD1, NULL, 3, 30,
     {"aaaaa" "xxxxxxxxx" "c" X5 X5 X5, D6 "d" "a" D6 "d" "aaa" X5 X5 "x" "d", A10 A10 A10},
     {{"document_number", {{0, 5, 9}}, 1, 0, 14, 0},
      {"birth_date", {{1, 0, 6}}, 1, 1, 6, 0},
      {"expiry_date", {{1, 8, 6}}, 1, 1, 14, 0},
      {"composite", {{0, 5, 25}, {1, 0, 7}, {1, 8, 7}, {1, 18, 11}}, 4, 1, 29, 0}},
     4},
    {BN_MRZ_MRVA, "V", 2, 44,
     {A10 A10 A10 A10 "aaaa", "xxxxxxxxx" "d" "aaa" D6 "d" "a" D6 "d" X5 X5 X5 "x"},
     {{"document_number", {{1, 0, 9}}, 1, 1, 9, 0},
      {"birth_date", {{1, 13, 6}}, 1, 1, 19, 0},
      {"expiry_date", {{1, 21, 6}}, 1, 1, 27, 0}},
     3},
    {BN_MRZ_MRVB, "V", 2, 36,
     {A10 A10 A10 "aaaaaa", "xxxxxxxxx" "d" "aaa" D6 "d" "a" D6 "d" X5 "xxx"},
     {{"document_number", {{1, 0, 9}}, 1, 1, 9, 0},
      {"birth_date", {{1, 13, 6}}, 1, 1, 19, 0},
      {"expiry_date", {{1, 21, 6}}, 1, 1, 27, 0}},
     3},
    {BN_MRZ_CN1, "C", 1, 30,
     {"aa" "xxxxxxxxx" "d" "f" D6 "d" "f" D6 "d" "f" "d"},
     {{"document_number", {{0, 2, 9}}, 1, 0, 11, 0},
      {"expiry_date", {{0, 13, 6}}, 1, 0, 19, 0},
      {"birth_date", {{0, 21, 6}}, 1, 0, 27, 0},
      {"composite", {{0, 2, 10}, {0, 13, 7}, {0, 21, 7}}, 3, 0, 29, 0}},
     4},
    {BN_MRZ_CN3, "CR", 3, 30,
     {"aa" "xxxxxxxxx" "d" "dd" "d" D6 "d" "a" D6 "d", X5 X5 X5 X5 X5 "xxxx" "d", A10 A10 A10},
     {{"document_number", {{0, 2, 9}}, 1, 0, 11, 0},
      {"renewal_count", {{0, 12, 2}}, 1, 0, 14, 0},
      {"expiry_date", {{0, 15, 6}}, 1, 0, 21, 0},
      {"birth_date", {{0, 23, 6}}, 1, 0, 29, 0},
      {"composite", {{0, 2, 20}, {0, 23, 7}, {1, 19, 10}}, 3, 1, 29, 0}},
     5},
    {BN_MRZ_CN3, "CT", 3, 30,
     {"aa" "xxxxxxxxx" "d" "dd" "d" D6 "d" "a" D6 "d", X5 X5 X5 X5 X5 "xxxx" "d", A10 A10 A5 "a" "xxxx"},
     {{"document_number", {{0, 2, 9}}, 1, 0, 11, 0},
      {"renewal_count", {{0, 12, 2}}, 1, 0, 14, 0},
      {"expiry_date", {{0, 15, 6}}, 1, 0, 21, 0},
      {"birth_date", {{0, 23, 6}}, 1, 0, 29, 0},
      {"composite", {{0, 2, 20}, {0, 23, 7}, {1, 19, 10}}, 3, 1, 29, 0}},
     5},
};
#define NLAYOUTS ((int)(sizeof s_layouts / sizeof s_layouts[0]))

/* ---- character repair ----------------------------------------------------------------- */

static char to_letter(char c)
{
    switch (c) {
    case '0': return 'O';
    case '1': return 'I';
    case '2': return 'Z';
    case '5': return 'S';
    case '8': return 'B';
    case '6': return 'G';
    }
    return c;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_upper(char c) { return c >= 'A' && c <= 'Z'; }

/* A character read in a digit-only position, as the digit it stands for: bn_char_as_digit's
 * O Q D I L Z S B G, and U and T: the MRZ model reads a thin, light print's 0 as U and its 1
 * (flag and foot) as T (measured on a German visa). In a mixed field U cannot be told from 0
 * at all: U = 30 ≡ 0 (mod 10) under every weight, so the check digit passes either way. */
static char mrz_digit(char c)
{
    return c == 'U' ? '0' : c == 'T' ? '1' : bn_char_as_digit(c);
}

/* The letters OCR confuses with each digit in OCR-B (a round 0 with O U D Q; 1 I; 2 Z...). */
static const char *const s_confusable[] = {"0OUDQ", "1I", "2Z", "5S", "6G", "8B"};

/* The other readings of a character in a mixed field, of the other kind, into alt
 * (NUL-terminated): a letter's digit (mrz_digit), a digit's confusable letters. Returns how
 * many. */
static int alternatives(char c, char alt[8])
{
    int n = 0;
    if (is_upper(c) && mrz_digit(c) != c)
        alt[n++] = mrz_digit(c);
    for (size_t g = 0; is_digit(c) && g < sizeof s_confusable / sizeof s_confusable[0]; g++)
        if (s_confusable[g][0] == c)
            for (const char *q = s_confusable[g] + 1; *q && n < 7; q++)
                alt[n++] = *q;
    alt[n] = 0;
    return n;
}

/* ---- input cleaning ------------------------------------------------------------------- */

/* Split text into cleaned lines: upper-case, only [A-Z0-9<], '«' → "<<", '‹' '＜' → '<'.
 * Lines shorter than 20 characters after cleaning cannot be MRZ lines and are skipped. */
static int split_lines(const char *text, char lines[MAX_LINES][MAX_LINE], int lens[MAX_LINES])
{
    int n = 0, len = 0, dropped = 0;
    char cur[MAX_LINE];
    for (const unsigned char *p = (const unsigned char *)text;; p++) {
        if (*p == '\n' || *p == '\0') {
            if (len >= 20 && len < MAX_LINE && n < MAX_LINES) {
                memcpy(lines[n], cur, (size_t)len);
                lines[n][len] = '\0';
                lens[n++] = len;
            }
            len = dropped = 0;
            if (*p == '\0')
                break;
            continue;
        }
        const char *add = NULL;
        char one[2] = {0, 0};
        if (*p >= 'a' && *p <= 'z')
            one[0] = (char)(*p - 32);
        else if (is_upper((char)*p) || is_digit((char)*p) || *p == '<')
            one[0] = (char)*p;
        else if (p[0] == 0xC2 && p[1] == 0xAB) { /* « */
            add = "<<";
            p++;
        } else if ((p[0] == 0xE2 && p[1] == 0x80 && p[2] == 0xB9) || /* ‹ */
                   (p[0] == 0xEF && p[1] == 0xBC && p[2] == 0x9C)) { /* ＜ */
            add = "<";
            p += 2;
        } else
            dropped++; /* spaces, punctuation, other scripts: not MRZ characters */
        if (one[0])
            add = one;
        for (; add && *add; add++)
            if (len < MAX_LINE - 1)
                cur[len++] = *add;
            else
                len = MAX_LINE; /* too long to be an MRZ line: poisoned until newline */
    }
    return n;
}

/* Candidate fixes of one line to length L: itself, minus or plus one '<' in each filler run,
 * a short name line padded with fillers, a long one with only fillers beyond L trimmed, and one
 * up to 3 characters too long cut at either end (a stamp, a card edge or the next field beside
 * the zone read as characters; the check digits decide which cut, if any, is right).
 * Returns the count; out[i] holds the line, cost[i] the characters changed, inner[i] those added
 * or removed inside the line (a length error of the zone itself; edge cuts are not). */
typedef struct {
    char (*out)[MAX_LINE];
    int *cost, *inner, k;
} variants_t;

static void add_variant(variants_t *v, const char *a, int na, const char *b, int nb, const char *c, int nc,
                        int cost, int inner)
{
    if (v->k >= MAX_VARIANTS)
        return;
    char *o = v->out[v->k];
    memcpy(o, a, (size_t)na);
    memcpy(o + na, b, (size_t)nb);
    memcpy(o + na + nb, c, (size_t)nc);
    o[na + nb + nc] = '\0';
    for (int i = 0; i < v->k; i++)
        if (!strcmp(v->out[i], o))
            return; /* the same line by another fix */
    v->cost[v->k] = cost;
    v->inner[v->k++] = inner;
}

static int line_variants(const char *s, int n, int L, int name_line, char out[MAX_VARIANTS][MAX_LINE],
                         int cost[MAX_VARIANTS], int inner[MAX_VARIANTS])
{
    variants_t v = {out, cost, inner, 0};
    char pad[MAX_LINE];
    if (n == L) {
        add_variant(&v, s, n, "", 0, "", 0, 0, 0);
        return v.k;
    }
    if (name_line && n < L && n >= L - 20) {
        memset(pad, '<', sizeof pad);
        add_variant(&v, s, n, pad, L - n, "", 0, L - n, L - n);
        return v.k;
    }
    if (n > L + 1) {
        int fillers = 1;
        for (int i = L; i < n; i++)
            fillers &= s[i] == '<';
        if (fillers)
            add_variant(&v, s, L, "", 0, "", 0, n - L, n - L);
    }
    if (n == L + 1) {
        /* A stray mark before the zone read as a character (seen on real specimens). */
        add_variant(&v, s + 1, L, "", 0, "", 0, 1, 1);
        /* Remove one filler from each run (runs of 2+, or a trailing one). */
        for (int i = 0; i < n; i++) {
            if (s[i] != '<' || (i > 0 && s[i - 1] == '<'))
                continue;
            int j = i;
            while (j < n && s[j] == '<')
                j++;
            if (j - i >= 2 || j == n)
                add_variant(&v, s, i, s + i + 1, n - i - 1, "", 0, 1, 1);
        }
    }
    if (n > L && n <= L + 3)
        for (int a = 0; a <= n - L; a++)
            add_variant(&v, s + a, L, "", 0, "", 0, n - L, 0);
    if (n == L - 1) {
        /* Add one filler to each run, or at the end. */
        for (int i = 0; i <= n; i++) {
            int run_start = i < n && s[i] == '<' && (i == 0 || s[i - 1] != '<');
            if (run_start || i == n)
                add_variant(&v, s, i, "<", 1, s + i, n - i, 1, 1);
        }
    }
    return v.k;
}

/* ---- parsing one candidate ------------------------------------------------------------ */

typedef struct {
    int line, pos;
} pos_t;

/* The characters a check covers, in order. For the document number of TD1/TD2/TD3 a '<' check
 * digit after a full 9-character field means the number overflows into the optional field
 * (Doc 9303 Part 5/6): the overflow runs to the next '<' and its last character is the check. */
static int check_positions(const layout_t *L, const check_def_t *c, char lines[3][48], pos_t *pos,
                           int max, pos_t *cd)
{
    int n = 0;
    for (int s = 0; s < c->nsegs; s++)
        for (int i = 0; i < c->segs[s].len && n < max; i++)
            pos[n++] = (pos_t){c->segs[s].line, c->segs[s].start + i};
    *cd = (pos_t){c->cd_line, c->cd_pos};
    if (strcmp(c->name, "document_number") == 0 &&
        (L->fmt == BN_MRZ_TD1 || L->fmt == BN_MRZ_TD2 || L->fmt == BN_MRZ_TD3) &&
        lines[cd->line][cd->pos] == '<' && lines[pos[n - 1].line][pos[n - 1].pos] != '<') {
        int opt_start = cd->pos + 1;
        int opt_end = L->fmt == BN_MRZ_TD1 ? 30 : L->fmt == BN_MRZ_TD2 ? 35 : 42;
        int j = opt_start;
        while (j < opt_end && lines[cd->line][j] != '<')
            j++;
        if (j - opt_start >= 2) {
            for (int i = opt_start; i < j - 1 && n < max; i++)
                pos[n++] = (pos_t){cd->line, i};
            *cd = (pos_t){cd->line, j - 1};
        }
    }
    return n;
}

static int eval_check(const check_def_t *c, char lines[3][48], const pos_t *pos, int n, pos_t cd,
                      char *expected)
{
    char buf[64];
    int all_filler = 1;
    for (int i = 0; i < n; i++) {
        buf[i] = lines[pos[i].line][pos[i].pos];
        all_filler &= buf[i] == '<';
    }
    int v = bn_icao_check_digit(buf, (size_t)n);
    char found = lines[cd.line][cd.pos];
    *expected = v < 0 ? '?' : (char)('0' + v);
    if (v < 0)
        return 0;
    if (found == '<')
        return c->filler_ok && all_filler;
    return found == *expected;
}

/* Kind of the character at a position of a mixed field: 'd' digit, 'l' letter, 0 filler, edge
 * of the field or another field. */
static char kind_at(const layout_t *L, char lines[3][48], int line, int pos)
{
    if (pos < 0 || pos >= L->len || L->cls[line][pos] != 'x')
        return 0;
    char c = lines[line][pos];
    return is_digit(c) ? 'd' : is_upper(c) ? 'l' : 0;
}

/* Suspicious positions of a mixed field: a letter with a digit beside it and no letter, or a
 * digit with a letter beside it and no digit, that OCR confuses with a character of the other
 * kind ("99OO3853<" but not the "ZE" of "ZE184226B"). */
static int suspicious(const layout_t *L, char lines[3][48], pos_t p)
{
    char c = lines[p.line][p.pos], alt[8];
    if (L->cls[p.line][p.pos] != 'x' || !alternatives(c, alt))
        return 0;
    char a = kind_at(L, lines, p.line, p.pos - 1), b = kind_at(L, lines, p.line, p.pos + 1);
    char same = is_upper(c) ? 'l' : 'd', other = is_upper(c) ? 'd' : 'l';
    return a != same && b != same && (a == other || b == other);
}

/* Try every single substitution of a suspicious character by a confusable one (a 0 among
 * letters may be O U D or Q) so that the check passes; apply it only when it is the one
 * substitution that does: two that pass mean the check digit cannot tell, and a guess would
 * invent a value. `skip` marks positions already vouched for by another passing check.
 * Returns 1 when repaired. */
static int repair_check(const layout_t *L, const check_def_t *c, char lines[3][48], const pos_t *pos,
                        int n, pos_t cd, unsigned char skip[3][48])
{
    int found = -1, count = 0;
    char exp, fix = 0, alt[8];
    for (int i = 0; i < n; i++) {
        pos_t p = pos[i];
        if (skip[p.line][p.pos] || !suspicious(L, lines, p))
            continue;
        char orig = lines[p.line][p.pos];
        alternatives(orig, alt);
        for (const char *q = alt; *q; q++) {
            lines[p.line][p.pos] = *q;
            if (eval_check(c, lines, pos, n, cd, &exp)) {
                found = i;
                fix = *q;
                count++;
            }
        }
        lines[p.line][p.pos] = orig;
    }
    if (count != 1)
        return 0;
    lines[pos[found].line][pos[found].pos] = fix;
    return 1;
}

/* Copy s[start, start+len) without fillers at either end; inner fillers become `inner`
 * (0 = dropped, ' ' = one space per run, '<' = kept). */
static void field(char *dst, size_t size, const char *s, int start, int len, char inner)
{
    size_t n = 0;
    int a = start, b = start + len;
    while (a < b && s[a] == '<')
        a++;
    while (b > a && s[b - 1] == '<')
        b--;
    for (int i = a; i < b && n + 1 < size; i++) {
        if (s[i] != '<')
            dst[n++] = s[i];
        else if (inner == '<' || (inner && dst[n - 1] != inner)) /* '<' kept as is; spaces not doubled */
            dst[n++] = inner;
    }
    dst[n] = '\0';
}

static void split_name(bn_mrz_t *m, const char *s, int start, int len)
{
    char buf[48];
    int n = len < 47 ? len : 47;
    memcpy(buf, s + start, (size_t)n);
    buf[n] = '\0';
    char *sep = strstr(buf, "<<");
    if (sep && sep != buf) {
        *sep = '\0';
        field(m->surname, sizeof m->surname, buf, 0, (int)strlen(buf), ' ');
        field(m->given_names, sizeof m->given_names, sep + 2, 0, (int)strlen(sep + 2), ' ');
    } else {
        field(m->surname, sizeof m->surname, buf, 0, n, ' ');
    }
}

static unsigned name_problems(const char *s, int start, int len)
{
    int letters = 0;
    if (s[start] == '<')
        return BN_MRZ_BAD_NAME;
    for (int i = start; i < start + len; i++) {
        if (is_upper(s[i]))
            letters++;
        else if (s[i] != '<')
            return BN_MRZ_BAD_NAME;
    }
    return letters ? 0 : BN_MRZ_BAD_NAME;
}

static void set_date(char *dst, const char *s, int ref_year, int window, unsigned bad, unsigned *problems,
                     int century)
{
    bn_date_t d;
    char buf[11];
    int ok = bn_date_parse_yymmdd(s, ref_year, window, &d) == 0;
    if (ok && century) {
        /* CN3 line 2 [18]: A = 18xx, B = 19xx (reader code); otherwise the pivot decides. */
        d.y = century + d.y % 100;
        ok = bn_date_valid(d.y, d.m, d.d);
    }
    if (!ok) {
        *problems |= bad;
        dst[0] = '\0';
        return;
    }
    snprintf(dst, 11, "%s", bn_date_format(&d, buf, sizeof buf));
}

/* Parse lines (already exact length) against layout L into m; returns a score. */
static int parse_candidate(const layout_t *L, char in[3][MAX_LINE], int fix_cost, int bad_len,
                           const bn_date_t *today, bn_mrz_t *m)
{
    memset(m, 0, sizeof *m);
    if (bad_len)
        m->problems |= BN_MRZ_BAD_LENGTH;
    m->format = L->fmt;
    m->nlines = L->nlines;
    m->repairs = fix_cost;
    char (*ln)[48] = m->lines;
    unsigned char skip[3][48];
    memset(skip, 0, sizeof skip);

    /* 1. repair by position class */
    for (int l = 0; l < L->nlines; l++) {
        memcpy(ln[l], in[l], (size_t)L->len + 1);
        for (int i = 0; i < L->len; i++) {
            char c = ln[l][i], r = c;
            switch (L->cls[l][i]) {
            case 'd': r = mrz_digit(c); break;
            case 'c': r = c == '<' ? c : mrz_digit(c); break;
            case 'a': r = to_letter(c); break;
            case 'f': r = '<'; break;
            }
            if (r != c) {
                ln[l][i] = r;
                m->repairs++;
            }
        }
    }
    if (L->prefix && strncmp(ln[0], L->prefix, strlen(L->prefix)) != 0)
        return -1000;

    /* 2. check digits: the fields' own first, then the composite over what they leave */
    pos_t pos[64], cd;
    for (int k = 0; k < L->nchecks; k++) {
        const check_def_t *c = &L->checks[k];
        int n = check_positions(L, c, ln, pos, 64, &cd);
        char exp;
        int ok = eval_check(c, ln, pos, n, cd, &exp);
        if (!ok && repair_check(L, c, ln, pos, n, cd, skip)) {
            m->repairs++;
            ok = eval_check(c, ln, pos, n, cd, &exp);
        }
        if (ok && strcmp(c->name, "composite") != 0)
            for (int i = 0; i < n; i++)
                skip[pos[i].line][pos[i].pos] = 1;
        m->checks[k] = (bn_mrz_check_t){c->name, ln[cd.line][cd.pos], exp, ok};
    }
    m->nchecks = L->nchecks;
    m->checks_ok = 1;
    for (int k = 0; k < m->nchecks; k++)
        m->checks_ok &= m->checks[k].ok;

    /* 3. fields */
    int ref = today->y;
    const char *l0 = ln[0], *l1 = L->nlines > 1 ? ln[1] : NULL;
    unsigned *pr = &m->problems;
    switch (L->fmt) {
    case BN_MRZ_TD3: case BN_MRZ_TD2: case BN_MRZ_MRVA: case BN_MRZ_MRVB: {
        int optend = L->fmt == BN_MRZ_TD3 ? 42 : L->fmt == BN_MRZ_TD2 ? 35 : L->len;
        field(m->document_code, sizeof m->document_code, l0, 0, 2, 0);
        field(m->issuing_country, sizeof m->issuing_country, l0, 2, 3, 0);
        split_name(m, l0, 5, L->len - 5);
        *pr |= name_problems(l0, 5, L->len - 5);
        check_positions(L, &L->checks[0], ln, pos, 64, &cd);
        field(m->document_number, sizeof m->document_number, l1, 0, 9, 0);
        int optstart = 28;
        if (cd.pos != 9) { /* overflow */
            for (int i = 28; i < cd.pos && strlen(m->document_number) + 1 < sizeof m->document_number; i++)
                strncat(m->document_number, &l1[i], 1);
            optstart = cd.pos + 1;
        }
        field(m->nationality, sizeof m->nationality, l1, 10, 3, 0);
        set_date(m->birth_date, l1 + 13, ref, 0, BN_MRZ_BAD_BIRTH_DATE, pr, 0);
        m->sex = l1[20];
        set_date(m->expiry_date, l1 + 21, ref, 50, BN_MRZ_BAD_EXPIRY_DATE, pr, 0);
        field(m->optional_data, sizeof m->optional_data, l1, optstart, optend - optstart, '<');
        char first = l0[0];
        if (L->fmt == BN_MRZ_TD3 ? first != 'P' : L->fmt == BN_MRZ_TD2 ? !strchr("IAC", first) : first != 'V')
            *pr |= BN_MRZ_BAD_DOC_CODE;
        break;
    }
    case BN_MRZ_TD1: {
        field(m->document_code, sizeof m->document_code, l0, 0, 2, 0);
        field(m->issuing_country, sizeof m->issuing_country, l0, 2, 3, 0);
        check_positions(L, &L->checks[0], ln, pos, 64, &cd);
        field(m->document_number, sizeof m->document_number, l0, 5, 9, 0);
        int optstart = 15;
        if (cd.pos != 14) {
            for (int i = 15; i < cd.pos && strlen(m->document_number) + 1 < sizeof m->document_number; i++)
                strncat(m->document_number, &l0[i], 1);
            optstart = cd.pos + 1;
        }
        field(m->optional_data, sizeof m->optional_data, l0, optstart, 30 - optstart, '<');
        set_date(m->birth_date, l1, ref, 0, BN_MRZ_BAD_BIRTH_DATE, pr, 0);
        m->sex = l1[7];
        set_date(m->expiry_date, l1 + 8, ref, 50, BN_MRZ_BAD_EXPIRY_DATE, pr, 0);
        field(m->nationality, sizeof m->nationality, l1, 15, 3, 0);
        field(m->optional_data2, sizeof m->optional_data2, l1, 18, 11, '<');
        split_name(m, ln[2], 0, 30);
        *pr |= name_problems(ln[2], 0, 30);
        if (!strchr("ACI", l0[0]))
            *pr |= BN_MRZ_BAD_DOC_CODE;
        break;
    }
    case BN_MRZ_CN1:
        field(m->document_code, sizeof m->document_code, l0, 0, 2, 0);
        field(m->document_number, sizeof m->document_number, l0, 2, 9, 0);
        set_date(m->expiry_date, l0 + 13, ref, 50, BN_MRZ_BAD_EXPIRY_DATE, pr, 0);
        set_date(m->birth_date, l0 + 21, ref, 0, BN_MRZ_BAD_BIRTH_DATE, pr, 0);
        if (strcmp(m->document_code, "CS") != 0 && strcmp(m->document_code, "CD") != 0)
            *pr |= BN_MRZ_BAD_DOC_CODE;
        break;
    case BN_MRZ_CN3: {
        int ct = l0[1] == 'T';
        field(m->document_code, sizeof m->document_code, l0, 0, 2, 0);
        field(m->document_number, sizeof m->document_number, l0, 2, 9, 0);
        field(m->renewal_count, sizeof m->renewal_count, l0, 12, 2, 0);
        set_date(m->expiry_date, l0 + 15, ref, 50, BN_MRZ_BAD_EXPIRY_DATE, pr, 0);
        m->sex = l0[22];
        int century = l1[18] == 'A' ? 1800 : l1[18] == 'B' ? 1900 : 0;
        set_date(m->birth_date, l0 + 23, ref, 0, BN_MRZ_BAD_BIRTH_DATE, pr, century);
        field(m->optional_data, sizeof m->optional_data, l1, 0, 19, '<');
        field(m->hmt_id_number, sizeof m->hmt_id_number, l1, 19, ct ? 10 : 9, 0);
        int namelen = ct ? 26 : 30;
        split_name(m, ln[2], 0, namelen);
        *pr |= name_problems(ln[2], 0, namelen);
        if (ct)
            field(m->issuing_office, sizeof m->issuing_office, ln[2], 26, 4, 0);
        break;
    }
    case BN_MRZ_NONE:
        break;
    }
    if (m->issuing_country[0] || L->fmt == BN_MRZ_TD1 || L->fmt == BN_MRZ_TD2 || L->fmt == BN_MRZ_TD3 ||
        L->fmt == BN_MRZ_MRVA || L->fmt == BN_MRZ_MRVB) {
        if (!bn_country_code_valid(m->issuing_country))
            *pr |= BN_MRZ_BAD_ISSUER;
        /* ID cards (TD1/TD2) of some issuers leave nationality blank (Macao); passports and
         * visas must state it. */
        int blank_ok = (L->fmt == BN_MRZ_TD1 || L->fmt == BN_MRZ_TD2) && !m->nationality[0];
        if (!blank_ok && !bn_country_code_valid(m->nationality))
            *pr |= BN_MRZ_BAD_NATIONALITY;
    }
    if (L->fmt != BN_MRZ_CN1) {
        if (!strchr("MFX<", m->sex) || !m->sex)
            *pr |= BN_MRZ_BAD_SEX;
        if (m->sex == '<')
            m->sex = 'X';
    }

    int score = 0;
    for (int k = 0; k < m->nchecks; k++)
        score += m->checks[k].ok ? 10 : -10;
    for (unsigned b = 1; b <= BN_MRZ_BAD_EXPIRY_DATE; b <<= 1)
        if (*pr & b)
            score -= 4;
    return score - m->repairs;
}

int bn_mrz_parse(const char *text, const char *today, bn_mrz_t *out)
{
    char ls[MAX_LINES][MAX_LINE];
    int lens[MAX_LINES];
    bn_mrz_t best, cand;
    int best_score = -100000, have = 0;
    bn_date_t now = bn_today(today);

    if (out)
        memset(out, 0, sizeof *out);
    if (!text || !out)
        return bn_error_set("mrz_not_found", "no text");
    int n = split_lines(text, ls, lens);

    for (int li = 0; li < NLAYOUTS; li++) {
        const layout_t *L = &s_layouts[li];
        for (int start = 0; start + L->nlines <= n; start++) {
            /* variants of each line, then every combination */
            char var[3][MAX_VARIANTS][MAX_LINE];
            int cost[3][MAX_VARIANTS], inner[3][MAX_VARIANTS], nv[3] = {1, 1, 1};
            int ok = 1;
            for (int l = 0; l < L->nlines && ok; l++) {
                int name_line = strspn(L->cls[l], "a") == (size_t)L->len;
                nv[l] = line_variants(ls[start + l], lens[start + l], L->len, name_line, var[l], cost[l], inner[l]);
                ok = nv[l] > 0;
            }
            if (!ok)
                continue;
            for (int a = 0; a < nv[0]; a++)
                for (int b = 0; b < (L->nlines > 1 ? nv[1] : 1); b++)
                    for (int c = 0; c < (L->nlines > 2 ? nv[2] : 1); c++) {
                        char in[3][MAX_LINE];
                        int fc = cost[0][a], fillers = 0;
                        memcpy(in[0], var[0][a], MAX_LINE);
                        if (L->nlines > 1) {
                            memcpy(in[1], var[1][b], MAX_LINE);
                            fc += cost[1][b];
                        }
                        if (L->nlines > 2) {
                            memcpy(in[2], var[2][c], MAX_LINE);
                            fc += cost[2][c];
                        }
                        /* More than one character off on a line is a length error, even
                         * when only fillers were lost. */
                        int bad_len = inner[0][a] > 1 || (L->nlines > 1 && inner[1][b] > 1) ||
                                      (L->nlines > 2 && inner[2][c] > 1);
                        int dpos = 0, dok = 0;
                        for (int l = 0; l < L->nlines; l++)
                            for (int i = 0; i < L->len; i++) {
                                char ch = in[l][i], k = L->cls[l][i];
                                fillers += ch == '<';
                                if (k == 'd' || k == 'c') {
                                    dpos++;
                                    dok += is_digit(ch) || (k == 'c' && ch == '<');
                                }
                            }
                        int s = parse_candidate(L, in, fc, bad_len, &now, &cand);
                        int passed = 0;
                        for (int k = 0; k < cand.nchecks; k++)
                            passed += cand.checks[k].ok;
                        /* Text that merely has the right length is not an MRZ: require
                         * fillers or a matching check digit, and digits in at least 70 % of
                         * the digit positions (before repair). */
                        if (s > -1000 && (fillers >= 2 || passed > 0) && dok * 10 >= dpos * 7 && s > best_score) {
                            best_score = s;
                            best = cand;
                            have = 1;
                        }
                    }
        }
    }
    if (!have)
        return bn_error_set("mrz_not_found", "no line set fits an MRZ format");
    *out = best;
    return 0;
}

/* ---- output --------------------------------------------------------------------------- */

const char *bn_mrz_format_name(bn_mrz_format_t f)
{
    static const char *names[] = {"none", "TD1", "TD2", "TD3", "MRV-A", "MRV-B", "CN1", "CN3"};
    return f >= BN_MRZ_NONE && f <= BN_MRZ_CN3 ? names[f] : "none";
}

const char *bn_mrz_problem_name(unsigned bit)
{
    switch (bit) {
    case BN_MRZ_BAD_LENGTH: return "line_length_invalid";
    case BN_MRZ_BAD_DOC_CODE: return "document_code_invalid";
    case BN_MRZ_BAD_ISSUER: return "issuing_country_invalid";
    case BN_MRZ_BAD_NATIONALITY: return "nationality_invalid";
    case BN_MRZ_BAD_SEX: return "sex_invalid";
    case BN_MRZ_BAD_NAME: return "name_invalid";
    case BN_MRZ_BAD_BIRTH_DATE: return "birth_date_invalid";
    case BN_MRZ_BAD_EXPIRY_DATE: return "expiry_date_invalid";
    }
    return NULL;
}

static void set_str(json_t *o, const char *key, const char *v)
{
    if (v && *v)
        json_object_set_new(o, key, json_string(v));
}

json_t *bn_mrz_to_json(const bn_mrz_t *m)
{
    if (!m)
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "format", json_string(bn_mrz_format_name(m->format)));
    set_str(o, "document_code", m->document_code);
    set_str(o, "issuing_country", m->issuing_country);
    set_str(o, "surname", m->surname);
    set_str(o, "given_names", m->given_names);
    set_str(o, "document_number", m->document_number);
    set_str(o, "nationality", m->nationality);
    set_str(o, "birth_date", m->birth_date);
    if (m->sex) {
        char sx[2] = {m->sex, 0};
        json_object_set_new(o, "sex", json_string(sx));
    }
    set_str(o, "expiry_date", m->expiry_date);
    set_str(o, "optional_data", m->optional_data);
    set_str(o, "optional_data_2", m->optional_data2);
    set_str(o, "renewal_count", m->renewal_count);
    set_str(o, "hmt_id_number", m->hmt_id_number);
    set_str(o, "issuing_office", m->issuing_office);
    json_t *lines = json_array();
    for (int i = 0; i < m->nlines && i < 3; i++)
        json_array_append_new(lines, json_string(m->lines[i]));
    json_object_set_new(o, "mrz", lines);
    json_t *checks = json_object();
    for (int k = 0; k < m->nchecks; k++)
        json_object_set_new(checks, m->checks[k].name, json_boolean(m->checks[k].ok));
    json_object_set_new(o, "checks", checks);
    json_object_set_new(o, "checks_valid", json_boolean(m->checks_ok));
    json_t *probs = json_array();
    for (unsigned b = 1; b <= BN_MRZ_BAD_EXPIRY_DATE; b <<= 1)
        if (m->problems & b)
            json_array_append_new(probs, json_string(bn_mrz_problem_name(b)));
    json_object_set_new(o, "problems", probs);
    json_object_set_new(o, "syntax_valid", json_boolean(m->problems == 0));
    json_object_set_new(o, "repairs", json_integer(m->repairs));
    return o;
}
