/* bn_domain — see bn_domain.h. */
#include "ocr/bn_domain.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bn_error.h"
#include "core/bn_log.h"

/* ---- UTF-8 ------------------------------------------------------------------------------- */

static uint32_t u8get(const char **p)
{
    const unsigned char *s = (const unsigned char *)*p;
    uint32_t cp;
    int n;
    if (s[0] < 0x80)
        cp = s[0], n = 1;
    else if (s[0] < 0xE0 && s[1])
        cp = ((s[0] & 0x1Fu) << 6) | (s[1] & 0x3Fu), n = 2;
    else if (s[0] < 0xF0 && s[1] && s[2])
        cp = ((s[0] & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu), n = 3;
    else if (s[1] && s[2] && s[3])
        cp = ((s[0] & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu), n = 4;
    else
        cp = 0xFFFD, n = 1;
    *p += n;
    return cp;
}

/* Append cp to out (size bytes, o used); returns the new length, or size when it does not fit. */
static size_t u8put(char *out, size_t o, size_t size, uint32_t cp)
{
    char b[4];
    int n;
    if (cp < 0x80)
        b[0] = (char)cp, n = 1;
    else if (cp < 0x800)
        b[0] = (char)(0xC0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        b[0] = (char)(0xE0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        b[0] = (char)(0xF0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    if (o + (size_t)n >= size)
        return size;
    memcpy(out + o, b, (size_t)n);
    out[o + (size_t)n] = 0;
    return o + (size_t)n;
}

static int is_cjk(uint32_t cp) { return (cp >= 0x3400 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF); }

/* ---- normalisation ----------------------------------------------------------------------- */

char *bn_domain_norm(const char *raw, char *out, size_t size)
{
    if (!out || size == 0)
        return out;
    out[0] = 0;
    if (!raw)
        return out;
    size_t o = 0;
    const char *p = raw;
    while (*p && o < size) {
        uint32_t cp = u8get(&p);
        if (cp >= 0xFF01 && cp <= 0xFF5E)
            cp -= 0xFEE0; /* full-width ASCII */
        if (cp == 0x3002 || cp == 0xFF61 || cp == 0x3001 || cp == 0xB7)
            cp = '.'; /* 。 ｡ and the 、 · an OCR reads for a small dot */
        if (cp == ' ' || cp == '\t' || cp == '\n' || cp == 0x3000)
            continue;
        if (cp >= 'A' && cp <= 'Z')
            cp += 32;
        if (cp == '/' && o > 0 && out[o - 1] == ':') { /* "http://": the scheme goes */
            o = 0, out[0] = 0;
            while (*p == '/')
                p++;
            continue;
        }
        if (cp == '/' || cp == '?' || cp == '#')
            break; /* a path after the host */
        o = u8put(out, o, size, cp);
    }
    if (o >= size) {
        out[0] = 0;
        return out;
    }
    /* stray separators at either end ("：example.com。") */
    size_t len = strlen(out), a = 0;
    while (a < len && (out[a] == '.' || out[a] == ':' || out[a] == '-'))
        a++;
    while (len > a && (out[len - 1] == '.' || out[len - 1] == ':'))
        len--;
    memmove(out, out + a, len - a);
    out[len - a] = 0;
    return out;
}

int bn_domain_plausible(const char *s)
{
    if (!s || !*s)
        return 0;
    int labels = 1, in_label = 0;
    for (const char *p = s; *p;) {
        uint32_t cp = u8get(&p);
        if (cp == '.') {
            if (!in_label)
                return 0;
            labels++, in_label = 0;
        } else if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') || cp == '-' || is_cjk(cp)) {
            in_label = 1;
        } else {
            return 0;
        }
    }
    return labels >= 2 && in_label;
}

/* ---- punycode (RFC 3492) ----------------------------------------------------------------- */

enum { PC_BASE = 36, PC_TMIN = 1, PC_TMAX = 26, PC_SKEW = 38, PC_DAMP = 700 };

static uint32_t adapt(uint32_t delta, uint32_t points, int first)
{
    delta = first ? delta / PC_DAMP : delta / 2;
    delta += delta / points;
    uint32_t k = 0;
    while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2)
        delta /= PC_BASE - PC_TMIN, k += PC_BASE;
    return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

int bn_punycode_decode(const char *in, char *out, size_t size)
{
    uint32_t cps[64];
    size_t n_out = 0, len = strlen(in);
    const char *dash = strrchr(in, '-');
    size_t pos = 0;
    if (dash) {
        for (const char *p = in; p < dash; p++) {
            if ((unsigned char)*p >= 0x80 || n_out >= 64)
                return -1;
            cps[n_out++] = (unsigned char)*p;
        }
        pos = (size_t)(dash - in) + 1;
    }
    uint32_t n = 128, i = 0, bias = 72;
    while (pos < len) {
        uint32_t oldi = i, w = 1;
        for (uint32_t k = PC_BASE;; k += PC_BASE) {
            if (pos >= len)
                return -1;
            char c = in[pos++];
            uint32_t digit = c >= 'a' && c <= 'z' ? (uint32_t)(c - 'a') : c >= 'A' && c <= 'Z' ? (uint32_t)(c - 'A')
                           : c >= '0' && c <= '9' ? (uint32_t)(c - '0' + 26) : PC_BASE;
            if (digit >= PC_BASE || digit > (UINT32_MAX - i) / w)
                return -1;
            i += digit * w;
            uint32_t t = k <= bias ? PC_TMIN : k >= bias + PC_TMAX ? PC_TMAX : k - bias;
            if (digit < t)
                break;
            if (w > UINT32_MAX / (PC_BASE - t))
                return -1;
            w *= PC_BASE - t;
        }
        if (n_out >= 64)
            return -1;
        bias = adapt(i - oldi, (uint32_t)n_out + 1, oldi == 0);
        if (i / (n_out + 1) > 0x10FFFF - n)
            return -1;
        n += i / (uint32_t)(n_out + 1);
        i %= (uint32_t)(n_out + 1);
        if (n < 0x80 || (n >= 0xD800 && n <= 0xDFFF))
            return -1;
        memmove(cps + i + 1, cps + i, (n_out - i) * sizeof *cps);
        cps[i++] = n;
        n_out++;
    }
    size_t o = 0;
    out[0] = 0;
    for (size_t k = 0; k < n_out; k++)
        if ((o = u8put(out, o, size, cps[k])) >= size)
            return -1;
    return 0;
}

char *bn_domain_canonical(const char *raw, char *out, size_t size)
{
    char d[BN_DOMAIN_MAX];
    bn_domain_norm(raw, d, sizeof d);
    out[0] = 0;
    size_t o = 0;
    for (char *label = d, *next; label; label = next) {
        next = strchr(label, '.');
        if (next)
            *next++ = 0;
        char dec[BN_DOMAIN_MAX];
        const char *use = label;
        if (!strncmp(label, "xn--", 4)) {
            if (bn_punycode_decode(label + 4, dec, sizeof dec) != 0) {
                out[0] = 0;
                return out;
            }
            use = dec;
        }
        int n = snprintf(out + o, size - o, "%s%s", o ? "." : "", use);
        if (n < 0 || (size_t)n >= size - o) {
            out[0] = 0;
            return out;
        }
        o += (size_t)n;
    }
    return out;
}

char *bn_domain_tld(const char *raw, char *out, size_t size)
{
    char c[BN_DOMAIN_MAX];
    bn_domain_canonical(raw, c, sizeof c);
    const char *dot = strrchr(c, '.');
    snprintf(out, size, "%s", dot ? dot + 1 : "");
    return out;
}

/* ---- tables ------------------------------------------------------------------------------ */

typedef struct {
    char a[128], b[128];
    int yes;
} row_t;

typedef struct {
    row_t *v;
    int n;
} table_t;

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static int s_loaded;
static char s_dir[1024];
static table_t s_tlds, s_regs, s_provs;

/* Registrar text as it is matched: lower-case ASCII letters and digits and CJK, nothing else. */
static void reg_key(const char *in, char *out, size_t size)
{
    size_t o = 0;
    out[0] = 0;
    for (const char *p = in; *p && o < size;) {
        uint32_t cp = u8get(&p);
        if (cp >= 0xFF01 && cp <= 0xFF5E)
            cp -= 0xFEE0;
        if (cp >= 'A' && cp <= 'Z')
            cp += 32;
        if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') || is_cjk(cp))
            o = u8put(out, o, size, cp);
    }
    if (o >= size)
        out[0] = 0;
}

/* Rows of "col0 <TAB> col1 <TAB> col2 ..." ('#' comments). kind: 't' tlds (a, unicode b),
 * 'r' registrars (pattern, yes/no), 'p' provinces (code, name, yes/no). */
static int load_table(const char *dir, const char *file, int kind, table_t *t)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    if (!f)
        return bn_error_set("domain_data_missing", "cannot open %s", path);
    char line[512];
    int cap = 0, lineno = 0;
    t->n = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#')
            continue;
        char *col[4] = {line, NULL, NULL, NULL};
        int nc = 1;
        for (char *p = line; *p && nc < 4; p++)
            if (*p == '\t')
                *p = 0, col[nc++] = p + 1;
        if (nc < (kind == 'p' ? 3 : 2)) {
            fclose(f);
            return bn_error_set("domain_data_invalid", "%s line %d: too few columns", path, lineno);
        }
        if (t->n == cap) {
            cap = cap ? cap * 2 : 64;
            row_t *nv = realloc(t->v, (size_t)cap * sizeof *nv);
            if (!nv) {
                fclose(f);
                return bn_error_set("out_of_memory", "domain tables");
            }
            t->v = nv;
        }
        row_t *r = &t->v[t->n++];
        memset(r, 0, sizeof *r);
        if (kind == 't') {
            snprintf(r->a, sizeof r->a, "%.127s", col[0]);
            snprintf(r->b, sizeof r->b, "%.127s", strcmp(col[1], "-") ? col[1] : "");
        } else if (kind == 'r') {
            reg_key(col[0], r->a, sizeof r->a);
            r->yes = !strcmp(col[1], "yes");
        } else {
            snprintf(r->a, sizeof r->a, "%.127s", col[0]);
            snprintf(r->b, sizeof r->b, "%.127s", col[1]);
            r->yes = !strcmp(col[2], "yes");
        }
    }
    fclose(f);
    return t->n;
}

static void default_dir(char *buf, size_t size)
{
    const char *d = getenv("BEIAN_DATA");
    if (d && *d)
        snprintf(buf, size, "%s", d);
    else
        snprintf(buf, size, "%s/data", BEIAN_SOURCE_DIR);
}

static int load_locked(const char *dir)
{
    int n = 0, r;
    if ((r = load_table(dir, "tlds.tsv", 't', &s_tlds)) < 0)
        return -1;
    n += r;
    if ((r = load_table(dir, "registrars.tsv", 'r', &s_regs)) < 0)
        return -1;
    n += r;
    if ((r = load_table(dir, "province-rules.tsv", 'p', &s_provs)) < 0)
        return -1;
    s_loaded = 1;
    return n + r;
}

void bn_domain_configure(const bn_config_t *cfg)
{
    pthread_mutex_lock(&s_lock);
    if (!s_loaded && !s_dir[0]) {
        const char *d = bn_config_str(cfg, "ocr.domain_data_dir", NULL);
        if (d && *d)
            snprintf(s_dir, sizeof s_dir, "%s", d);
    }
    pthread_mutex_unlock(&s_lock);
}

int bn_domain_load_dir(const char *dir)
{
    pthread_mutex_lock(&s_lock);
    s_tlds.n = s_regs.n = s_provs.n = 0;
    int n = load_locked(dir);
    if (n < 0)
        s_tlds.n = s_regs.n = s_provs.n = 0;
    s_loaded = 1; /* tried: a failed load is not retried on every document */
    pthread_mutex_unlock(&s_lock);
    return n;
}

static void ensure(void)
{
    pthread_mutex_lock(&s_lock);
    if (!s_loaded) {
        if (!s_dir[0])
            default_dir(s_dir, sizeof s_dir);
        if (load_locked(s_dir) < 0) {
            bn_warn("domain tables unavailable (%s): TLD, registrar and province checks are skipped", bn_error_msg());
            s_tlds.n = s_regs.n = s_provs.n = 0;
        }
        s_loaded = 1;
    }
    pthread_mutex_unlock(&s_lock);
}

int bn_domain_tld_filable(const char *domain)
{
    ensure();
    if (s_tlds.n == 0)
        return -1;
    char tld[BN_DOMAIN_MAX];
    bn_domain_tld(domain, tld, sizeof tld);
    if (!tld[0])
        return 0;
    for (int i = 0; i < s_tlds.n; i++)
        if (!strcmp(tld, s_tlds.v[i].a) || (s_tlds.v[i].b[0] && !strcmp(tld, s_tlds.v[i].b)))
            return 1;
    return 0;
}

int bn_registrar_mainland(const char *registrar)
{
    ensure();
    char k[512];
    reg_key(registrar ? registrar : "", k, sizeof k);
    if (!k[0])
        return -1;
    for (int i = 0; i < s_regs.n; i++)
        if (s_regs.v[i].a[0] && strstr(k, s_regs.v[i].a))
            return s_regs.v[i].yes;
    return -1;
}

int bn_province_requires_mainland(const char *province, char code3[3])
{
    ensure();
    code3[0] = 0;
    if (!province)
        return -1;
    char p[128];
    snprintf(p, sizeof p, "%s", province);
    /* surrounding spaces, and a 6-digit code's county part ("110000") */
    char *s = p;
    while (*s == ' ')
        s++;
    size_t len = strlen(s);
    while (len && s[len - 1] == ' ')
        s[--len] = 0;
    if (len == 6 && strspn(s, "0123456789") == 6 && !strcmp(s + 2, "0000"))
        s[2] = 0, len = 2;
    for (int i = 0; i < s_provs.n; i++) {
        const row_t *r = &s_provs.v[i];
        size_t nl = strlen(r->b);
        if (!strcmp(s, r->a) || (nl && !strncmp(s, r->b, nl))) {
            /* a name may carry its suffix (北京市, 内蒙古自治区), nothing else */
            static const char *const suffix[] = {"", "省", "市", "自治区", "壮族自治区", "回族自治区",
                                                 "维吾尔自治区", "特别行政区", NULL};
            int ok = !strcmp(s, r->a);
            for (int k = 0; !ok && suffix[k]; k++)
                ok = !strcmp(s + nl, suffix[k]);
            if (!ok)
                continue;
            snprintf(code3, 3, "%.2s", r->a); /* the province's 2-digit code */
            return r->yes;
        }
    }
    return -1;
}
