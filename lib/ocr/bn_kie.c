/* bn_kie — fields by labels and geometry: see bn_kie.h. */
#include "ocr/bn_kie.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bn_error.h"
#include "core/bn_validate.h"
#include "ocr/bn_domain.h"
#include "ocr/bn_ocr_norm.h"

#define SEG_TEXT (BN_LINE_TEXT_MAX * 2)
#define MAX_SEGS 256
#define MAX_HITS 64

/* A field of a document: its key, its labels (first the usual one), and how its value lies. */
enum { V_INLINE = 0, V_BELOW = 1 /* may be printed under its label (licence codes) */ };
#define NLAB 10
typedef struct {
    const char *key;
    const char *labels[NLAB];
    int place;
    int max_lines; /* lines a value may run over */
} spec_t;

static const spec_t s_id_front[] = {
    {"name", {"姓名", "娃名", "名"}, V_INLINE, 1}, /* 名: 姓 lost to glare or the frame */
    {"sex", {"性别"}, V_INLINE, 1},
    {"ethnicity", {"民族"}, V_INLINE, 1},
    {"birth_date", {"出生"}, V_INLINE, 1},
    {"address", {"住址", "往址", "址"}, V_INLINE, 4},
    {"id_number", {"公民身份号码", "公民身份证号码", "公民身份号"}, V_INLINE, 1},
    {NULL, {NULL}, 0, 0},
};
static const spec_t s_id_back[] = {
    {"issuing_authority", {"签发机关"}, V_INLINE, 2},
    {"validity", {"有效期限", "有效期"}, V_INLINE, 1},
    {NULL, {NULL}, 0, 0},
};
static const spec_t s_license[] = {
    {"credit_code", {"统一社会信用代码", "社会信用代码", "信用代码"}, V_BELOW, 1},
    {"registration_number", {"注册号"}, V_BELOW, 1},
    {"name", {"名称", "企业名称", "称"}, V_INLINE, 2},
    {"type", {"类型", "主体类型", "型"}, V_INLINE, 2},
    {"composition", {"组成形式"}, V_INLINE, 1}, /* an individual business's 个人经营 / 家庭经营 */
    {"legal_representative", {"法定代表人"}, V_INLINE, 1},
    {"person_in_charge", {"负责人"}, V_INLINE, 1},
    {"operator", {"经营者"}, V_INLINE, 1},
    {"investor", {"投资人"}, V_INLINE, 1},
    {"executive_partner", {"执行事务合伙人"}, V_INLINE, 1},
    {"registered_capital", {"注册资本", "出资额", "注册资金"}, V_INLINE, 1},
    {"established_date", {"成立日期", "注册日期"}, V_INLINE, 1},
    {"business_term", {"营业期限", "合伙期限", "经营期限"}, V_INLINE, 2},
    {"address", {"住所", "营业场所", "经营场所", "主要经营场所", "所"}, V_INLINE, 3},
    {"business_scope", {"经营范围"}, V_INLINE, 0}, /* read for its label only: stops values above it */
    {"authority", {"登记机关"}, V_INLINE, 0},
    {NULL, {NULL}, 0, 0},
};

/* Registrars print their own certificates: Chinese, bilingual or English labels (新网's
 * 域名/Domain Name, 注册所有人/Registrant, 注册时间/Registration Date, 到期时间/Expiration Date).
 * English labels are matched ignoring case and spaces. */
static const spec_t s_domain[] = {
    {"domain", {"域名名称", "域名", "Domain Name", "Domain"}, V_BELOW, 1},
    {"holder", {"域名持有者", "域名所有者", "注册所有人", "持有者", "所有者", "注册人", "Registrant Name", "Registrant",
                "Domain Holder", "Holder"}, V_BELOW, 2},
    {"registrar", {"域名注册服务机构", "注册服务机构", "注册商", "Sponsoring Registrar", "Registrar"}, V_INLINE, 2},
    {"registered_on", {"注册日期", "注册时间", "Registration Date", "Creation Date", "Registered On"}, V_INLINE, 1},
    {"expires_on", {"到期日期", "到期时间", "过期时间", "有效期至", "Expiration Date", "Expiry Date", "Expires On"},
     V_INLINE, 1},
    {"certificate_no", {"证书编号", "证书号码", "Certificate No", "Certificate Number"}, V_INLINE, 1},
    {"address", {"通信地址", "Address"}, V_INLINE, 0}, /* read for its label only: stops values above it */
    {NULL, {NULL}, 0, 0},
};

static int is_domain_cert(const char *type) { return type && !strcmp(type, "domain-certificate"); }

static const spec_t *spec_for(const char *type, const char *side)
{
    int back = side && !strcmp(side, "back");
    if (!type)
        return NULL;
    if (!strcmp(type, "id-card") || !strcmp(type, "residence-permit"))
        return back ? s_id_back : s_id_front;
    if (!strcmp(type, "business-license"))
        return s_license;
    if (is_domain_cert(type))
        return s_domain;
    return NULL;
}

int bn_kie_supports(const char *doc_type, const char *side)
{
    return spec_for(doc_type, side) != NULL;
}

/* ---- text ------------------------------------------------------------------------------ */

static int u8len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

static int u8count(const char *s)
{
    int n = 0;
    for (; *s; s += u8len((unsigned char)*s))
        n++;
    return n;
}

/* Spaces out (a label printed 名  称 reads "名 称"), full-width ASCII folded, so that labels
 * and values compare as printed. keep_spaces (documents with English text: a name "Beijing
 * Example Co., Ltd.") keeps one space where there were any, none at the start; labels are then
 * matched across them (label_find). */
static void clean(const char *in, char *out, size_t cap, int keep_spaces)
{
    size_t o = 0;
    while (*in && o + 4 < cap) {
        const unsigned char *u = (const unsigned char *)in;
        int n = u8len(u[0]);
        int space = u[0] == ' ' || u[0] == '\t' || (n == 3 && u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x80);
        if (space) {
            in += u[0] == 0xE3 ? 3 : 1;
            if (keep_spaces && o > 0 && out[o - 1] != ' ')
                out[o++] = ' ';
            continue;
        }
        if (n == 3 && u[0] == 0xEF && ((u[1] == 0xBC && u[2] >= 0x81) || (u[1] == 0xBD && u[2] <= 0x9E))) {
            unsigned cp = ((u[0] & 0x0F) << 12) | ((u[1] & 0x3F) << 6) | (u[2] & 0x3F); /* FF01..FF5E */
            out[o++] = (char)(cp - 0xFEE0);
            in += 3;
            continue;
        }
        for (int k = 0; k < n && in[k]; k++)
            out[o++] = in[k];
        in += n;
    }
    out[o] = 0;
}

/* Leading separators a value may start with after its label. */
static const char *skip_sep(const char *s)
{
    for (;;) {
        if (*s == ':' || *s == '.' || *s == ',' || *s == '-' || *s == '_' || *s == '|' || *s == ' ' || *s == '/')
            s++;
        else if (!strncmp(s, "：", 3) || !strncmp(s, "，", 3) || !strncmp(s, "、", 3))
            s += 3;
        else
            return s;
    }
}

static int is_cjk_char(const char *s)
{
    return u8len((unsigned char)*s) == 3 && (unsigned char)s[0] >= 0xE4 && (unsigned char)s[0] <= 0xE9;
}

/* ---- segments: lines on one row that touch --------------------------------------------- */

#define MAX_PARTS 16
typedef struct {
    char t[SEG_TEXT];
    float x, y, w, h;
    double conf;
    int used;      /* consumed as (part of) a value */
    int starts_label;
    int nparts;    /* the lines joined, in order: where each starts in t and on the page */
    size_t part_at[MAX_PARTS];
    float part_x[MAX_PARTS];
} seg_t;

/* Where the text at byte offset at of s starts on the page: the left edge of the line it came
 * from, moved along by the characters before it in that line. */
static float x_at(const seg_t *s, size_t at)
{
    int k = 0;
    while (k + 1 < s->nparts && s->part_at[k + 1] <= at)
        k++;
    if (s->nparts == 0)
        return s->x;
    float x1 = k + 1 < s->nparts ? s->part_x[k + 1] : s->x + s->w;
    size_t end = k + 1 < s->nparts ? s->part_at[k + 1] : strlen(s->t);
    int before = 0, all = 0;
    for (size_t i = s->part_at[k]; i < end; i += u8len((unsigned char)s->t[i]), all++)
        if (i < at)
            before++;
    return s->part_x[k] + (x1 - s->part_x[k]) * (float)before / (float)(all ? all : 1);
}

static float cy(const seg_t *s) { return s->y + s->h / 2; }

/* Is a box of top by and height bh on segment a's row (centres within half the lower height)? */
static int same_row(const seg_t *a, float by, float bh)
{
    float h = fminf(a->h, bh);
    return fabsf(cy(a) - (by + bh / 2)) < 0.5f * h;
}

static int cmp_line_x(const void *a, const void *b)
{
    const bn_line_t *p = *(const bn_line_t *const *)a, *q = *(const bn_line_t *const *)b;
    return p->x < q->x ? -1 : p->x > q->x;
}

static int cmp_seg_y(const void *a, const void *b)
{
    const seg_t *p = a, *q = b;
    return cy(p) < cy(q) ? -1 : cy(p) > cy(q);
}

/* A column of characters on an upright page (the label column 姓 性 出 住 read downwards, when
 * the detector joined it into one standing box) becomes one line per character, evenly down the
 * box: each then lies on the row of the value it labels. Other lines are kept as they are.
 * Returns the number of lines written to out (at most cap). */
static int explode_columns(const bn_lines_t *L, bn_line_t *out, int cap)
{
    int n = 0;
    for (int i = 0; i < L->n && n < cap; i++) {
        const bn_line_t *l = &L->v[i];
        int chars = u8count(l->text);
        if (l->h < 2.5f * l->w || chars < 2 || n + chars > cap) {
            out[n++] = *l;
            continue;
        }
        const char *p = l->text;
        for (int k = 0; k < chars; k++) {
            bn_line_t *c = &out[n++];
            *c = *l;
            int len = u8len((unsigned char)*p);
            memcpy(c->text, p, (size_t)len);
            c->text[len] = 0;
            p += len;
            c->h = l->h / (float)chars, c->y = l->y + c->h * (float)k;
        }
    }
    return n;
}

/* Is a the beginning of a label of sp whose next character starts b? A label printed with wide
 * letter spacing (名  称, 成  立  日  期) comes as a line per character; a value beside the
 * next label (男 … 民族汉) is not joined to it. */
static int label_halves(const spec_t *sp, const char *a, const char *b)
{
    size_t la = strlen(a);
    for (; sp && sp->key; sp++)
        for (int i = 0; i < NLAB && sp->labels[i]; i++) {
            const char *l = sp->labels[i];
            if (strlen(l) <= la || strncmp(l, a, la))
                continue;
            if (!strncmp(l + la, b, (size_t)u8len((unsigned char)l[la])))
                return 1;
        }
    return 0;
}

static int build_segments(const bn_lines_t *in, const spec_t *sp, seg_t *seg, int max, int keep_spaces)
{
    bn_lines_t L = *in;
    L.v = malloc((size_t)(MAX_SEGS + 1) * sizeof *L.v);
    const bn_line_t **order = malloc((size_t)(MAX_SEGS + 1) * sizeof *order);
    if (!order || !L.v) {
        free(order), free(L.v);
        return -1;
    }
    L.n = explode_columns(in, L.v, MAX_SEGS);
    for (int i = 0; i < L.n; i++)
        order[i] = &L.v[i];
    qsort(order, (size_t)L.n, sizeof *order, cmp_line_x);
    int n = 0;
    for (int i = 0; i < L.n; i++) {
        const bn_line_t *l = order[i];
        char t[BN_LINE_TEXT_MAX];
        clean(l->text, t, sizeof t, keep_spaces);
        /* specks, guilloche and stray marks read as one or two unlikely characters */
        if (!t[0] || (l->conf < 0.35 && u8count(t) <= 3))
            continue;
        int join = -1;
        for (int k = 0; k < n; k++) {
            seg_t *s = &seg[k];
            if (!same_row(s, l->y, l->h))
                continue;
            float gap = l->x - (s->x + s->w), h = fmaxf(s->h, l->h);
            /* a lone character of a label printed with wide spacing (名  称, 住  所) joins its
             * other half further away than two parts of one value would be apart */
            int spaced = label_halves(sp, s->t, t);
            if (gap > -0.5f * h && gap < (spaced ? 4.5f : 1.0f) * h) {
                join = k;
                break;
            }
        }
        if (join >= 0 && strlen(seg[join].t) + strlen(t) + 1 < SEG_TEXT) {
            seg_t *s = &seg[join];
            /* two boxes of one English phrase: the space the detector cut at */
            if (keep_spaces && s->t[0] && s->t[strlen(s->t) - 1] != ' ')
                strcat(s->t, " ");
            if (s->nparts < MAX_PARTS)
                s->part_at[s->nparts] = strlen(s->t), s->part_x[s->nparts++] = l->x;
            strcat(s->t, t);
            float x1 = fmaxf(s->x + s->w, l->x + l->w), y0 = fminf(s->y, l->y), y1 = fmaxf(s->y + s->h, l->y + l->h);
            s->w = x1 - s->x, s->y = y0, s->h = y1 - y0;
            s->conf = fmin(s->conf, l->conf);
        } else if (n < max) {
            seg_t *s = &seg[n++];
            memset(s, 0, sizeof *s);
            memcpy(s->t, t, strlen(t) + 1);
            s->x = l->x, s->y = l->y, s->w = l->w, s->h = l->h, s->conf = l->conf;
            s->nparts = 1, s->part_at[0] = 0, s->part_x[0] = l->x;
        }
    }
    free(order);
    memset(L.v, 0, (size_t)L.n * sizeof *L.v); /* personal data */
    free(L.v);
    qsort(seg, (size_t)n, sizeof *seg, cmp_seg_y);
    return n;
}

/* ---- labels ------------------------------------------------------------------------------ */

typedef struct {
    int seg, spec;
    size_t at, len; /* byte offset and length of the label in the segment's text */
} hit_t;

static int cmp_hit(const void *a, const void *b)
{
    const hit_t *p = a, *q = b;
    return p->seg != q->seg ? p->seg - q->seg : (int)p->at - (int)q->at;
}

static int is_ascii_label(const char *l) { return (unsigned char)l[0] < 0x80; }

/* The first occurrence of label in text, ASCII compared ignoring case, spaces in text skipped
 * between the label's characters (a CJK label has no case, and text without spaces compares as
 * strstr). *len: the bytes it spans in text. */
static const char *label_find(const char *text, const char *label, size_t *len)
{
    for (const char *start = text; *start; start += u8len((unsigned char)*start)) {
        if (*start == ' ')
            continue;
        const char *t = start, *l = label;
        while (*l) {
            if (*l == ' ') {
                l++;
                continue;
            }
            while (*t == ' ' && t != start)
                t++;
            char a = *t, b = *l;
            if (a >= 'A' && a <= 'Z')
                a = (char)(a + 32);
            if (b >= 'A' && b <= 'Z')
                b = (char)(b + 32);
            if (!a || a != b)
                break;
            t++, l++;
        }
        if (!*l) {
            *len = (size_t)(t - start);
            return start;
        }
    }
    return NULL;
}

/* Does text start with label but for exactly one character? *len: the bytes it spans. */
static int one_off_prefix(const char *text, const char *label, size_t *len)
{
    const char *t = text, *l = label;
    int diff = 0;
    while (*l) {
        if (!*t)
            return 0;
        int a = u8len((unsigned char)*t), b = u8len((unsigned char)*l);
        if (a != b || memcmp(t, l, (size_t)a) != 0)
            diff++;
        t += a, l += b;
    }
    *len = (size_t)(t - text);
    return diff == 1;
}

static int has_spec(const hit_t *h, int n, int spec)
{
    for (int i = 0; i < n; i++)
        if (h[i].spec == spec)
            return 1;
    return 0;
}

static int overlaps(const hit_t *h, int n, int seg, size_t at, size_t len)
{
    for (int i = 0; i < n; i++)
        if (h[i].seg == seg && at < h[i].at + h[i].len && h[i].at < at + len)
            return 1;
    return 0;
}

/* Every label occurrence. A label in the middle of a segment counts when it is long (four
 * characters or more), or when the segment starts with a label (性别男民族汉, a licence row
 * holding two columns): a short word inside running text (经营范围's list) is not a label.
 * A one-character label is the second half of a widely spaced one whose first half the
 * detector lost or stood in a column (名   称 read as 称…): it counts only where a segment starts,
 * and only when the whole label is nowhere. */
static int find_labels(const spec_t *sp, seg_t *seg, int ns, hit_t *hit, int max)
{
    int n = 0;
    /* longest labels first, so 营业场所 is not also taken as 场所 or 住所 inside it */
    for (int pass = 24; pass >= 1; pass--)
        for (int s = 0; s < ns; s++)
            for (int k = 0; sp[k].key; k++)
                for (int v = 0; v < NLAB && sp[k].labels[v]; v++) {
                    const char *lab = sp[k].labels[v];
                    if (u8count(lab) != pass)
                        continue;
                    size_t len = 0;
                    const char *p = label_find(seg[s].t, lab, &len);
                    if (!p || n >= max)
                        continue;
                    size_t at = (size_t)(p - seg[s].t);
                    if (overlaps(hit, n, s, at, len))
                        continue;
                    if (pass == 1 && (at != 0 || has_spec(hit, n, k)))
                        continue;
                    if (at == 0 || (at <= 3 && !is_cjk_char(seg[s].t)))
                        seg[s].starts_label = 1;
                    hit[n++] = (hit_t){s, k, at, len};
                }
    /* A label misread by one character (性别 read 住别) where a segment starts: taken when it
     * fits exactly one label not found elsewhere (住别 is one off 住址 too, but 住址 is printed
     * below, read right). */
    for (int s = 0; s < ns && n < max; s++) {
        int start_hit = 0;
        for (int i = 0; i < n; i++)
            start_hit |= hit[i].seg == s && hit[i].at == 0;
        if (start_hit)
            continue;
        int cand = -1, cands = 0;
        size_t clen = 0;
        /* 性别 lost but for a speck before the sex (住男): no label, and surely not 住址 */
        const char *second = seg[s].t + u8len((unsigned char)seg[s].t[0]);
        if (!strncmp(second, "男", 3) || !strncmp(second, "女", 3))
            continue;
        for (int k = 0; sp[k].key; k++) {
            if (has_spec(hit, n, k))
                continue;
            for (int v = 0; v < NLAB && sp[k].labels[v]; v++) {
                size_t len;
                if (u8count(sp[k].labels[v]) >= 2 && !is_ascii_label(sp[k].labels[v]) &&
                    one_off_prefix(seg[s].t, sp[k].labels[v], &len)) {
                    if (cand != k)
                        cands++;
                    cand = k, clen = len;
                    break;
                }
            }
        }
        if (cands == 1) {
            hit[n++] = (hit_t){s, cand, 0, clen};
            seg[s].starts_label = 1;
        }
    }
    qsort(hit, (size_t)n, sizeof *hit, cmp_hit);
    int m = 0, boundary_seg = -1;
    for (int i = 0; i < n; i++) {
        const hit_t *h = &hit[i];
        int mid = h->at > 3;
        /* English words inside a sentence ("the domain name … is registered by") are no label */
        const char *lab = sp[h->spec].labels[0];
        for (int v = 0; v < NLAB && sp[h->spec].labels[v]; v++) {
            size_t l2;
            if (label_find(seg[h->seg].t + h->at, sp[h->spec].labels[v], &l2) == seg[h->seg].t + h->at && l2 == h->len)
                lab = sp[h->spec].labels[v];
        }
        if (mid && (u8count(lab) < 4 || is_ascii_label(lab)) && !seg[h->seg].starts_label)
            continue;
        /* after 经营范围 in a segment comes running text, whatever words it holds */
        if (h->seg == boundary_seg)
            continue;
        if (sp[h->spec].max_lines == 0)
            boundary_seg = h->seg;
        hit[m++] = *h;
    }
    return m;
}

/* ---- values ------------------------------------------------------------------------------ */

static bn_kie_field_t *field_for(bn_kie_t *k, const char *key)
{
    for (int i = 0; i < k->n; i++)
        if (!strcmp(k->f[i].key, key))
            return &k->f[i];
    if (k->n >= BN_KIE_MAX)
        return NULL;
    bn_kie_field_t *f = &k->f[k->n++];
    memset(f, 0, sizeof *f);
    snprintf(f->key, sizeof f->key, "%s", key);
    return f;
}

const bn_kie_field_t *bn_kie_get(const bn_kie_t *k, const char *key)
{
    for (int i = 0; k && i < k->n; i++)
        if (!strcmp(k->f[i].key, key) && k->f[i].value[0])
            return &k->f[i];
    return NULL;
}

static void set_box(bn_kie_field_t *f, const seg_t *s)
{
    if (f->box[2] == 0) {
        f->box[0] = (int)s->x, f->box[1] = (int)s->y, f->box[2] = (int)s->w, f->box[3] = (int)s->h;
        return;
    }
    int x1 = (int)fmaxf((float)(f->box[0] + f->box[2]), s->x + s->w);
    int y1 = (int)fmaxf((float)(f->box[1] + f->box[3]), s->y + s->h);
    f->box[0] = (int)fminf((float)f->box[0], s->x), f->box[1] = (int)fminf((float)f->box[1], s->y);
    f->box[2] = x1 - f->box[0], f->box[3] = y1 - f->box[1];
}

static void append(bn_kie_field_t *f, const char *text, size_t len, const seg_t *s, int first)
{
    size_t have = strlen(f->value);
    if (have + len >= sizeof f->value)
        len = sizeof f->value - have - 1;
    memcpy(f->value + have, text, len);
    f->value[have + len] = 0;
    f->conf = first ? s->conf : fmin(f->conf, s->conf);
    set_box(f, s);
}

/* The first label hit in segment s, or NULL. */
static const hit_t *first_hit_in(const hit_t *hit, int nh, int s)
{
    for (int i = 0; i < nh; i++)
        if (hit[i].seg == s)
            return &hit[i];
    return NULL;
}

/* Text of segment s before its first label (all of it when it has none). */
static size_t text_before_label(const seg_t *seg, const hit_t *hit, int nh, int s)
{
    const hit_t *h = first_hit_in(hit, nh, s);
    return h ? h->at : strlen(seg[s].t);
}

static int looks_like_number(const char *t)
{
    int d = 0;
    for (; *t; t++)
        d += (*t >= '0' && *t <= '9') || *t == 'X' || *t == 'x';
    return d >= 15;
}

static int alnum_count(const char *t, size_t n)
{
    int k = 0;
    for (size_t i = 0; i < n && t[i]; i++)
        k += (t[i] >= '0' && t[i] <= '9') || (t[i] >= 'A' && t[i] <= 'Z');
    return k;
}

/* Could text (n bytes) be the value of field key at all? Codes are mostly letters and digits,
 * dates hold digits: a title or a watermark beside a label is not its value. */
static int plausible_value(const char *key, const char *t, size_t n)
{
    if (!strcmp(key, "credit_code") || !strcmp(key, "registration_number") || !strcmp(key, "id_number"))
        return alnum_count(t, n) >= 13;
    if (!strcmp(key, "domain")) {
        char buf[BN_KIE_VALUE_MAX], d[BN_DOMAIN_MAX];
        snprintf(buf, sizeof buf, "%.*s", (int)n, t);
        return bn_domain_plausible(bn_domain_norm(buf, d, sizeof d));
    }
    if (strstr(key, "date") || !strcmp(key, "registered_on") || !strcmp(key, "expires_on")) {
        /* digits, or Chinese numerals with 年 (二〇一〇年三月十五日) */
        char buf[BN_KIE_VALUE_MAX], d[32];
        snprintf(buf, sizeof buf, "%.*s", (int)n, t);
        return alnum_count(t, n) >= 4 || bn_norm_date(buf, d, sizeof d)[0];
    }
    return n > 0;
}

/* Lines below a value that continue it: they start about where the value starts, follow at
 * about a line's pitch and hold no label. */
/* Does s hold more opening brackets than closing ones? */
static int open_bracket(const char *s)
{
    int n = 0;
    for (const char *p = s; *p; p++)
        n += *p == '(' ? 1 : *p == ')' ? -1 : !strncmp(p, "（", 3) ? 1 : !strncmp(p, "）", 3) ? -1 : 0;
    return n > 0;
}

static void continuation(seg_t *seg, int ns, const hit_t *hit, int nh, bn_kie_field_t *f, float vx, int last,
                         int max_lines, int id_front, float reach)
{
    /* a company type wraps only inside its parenthesis (有限责任公司（自然人投资 / 或控股）): a
     * line under a closed type is the next field's (an address whose label was missed) */
    if (!strcmp(f->key, "type") && !open_bracket(f->value))
        return;
    for (int lines = 1; lines < max_lines; lines++) {
        const seg_t *prev = &seg[last];
        int best = -1;
        for (int s = last + 1; s < ns; s++) {
            seg_t *c = &seg[s];
            float h = fmaxf(prev->h, c->h);
            if (c->used || c->y < prev->y + 0.5f * prev->h || c->conf < 0.5)
                continue;
            if (c->y - (prev->y + prev->h) > 0.9f * h)
                break; /* segments are sorted by height: nothing further is closer */
            if (c->x < vx - 1.2f * h || c->x > vx + reach * h)
                continue;
            /* a line holding a label's words continues a value left inside a bracket when it
             * closes it (住所…（临时 / 经营场所有效期至…）) */
            int closes = open_bracket(f->value) && (strchr(c->t, ')') || strstr(c->t, "）"));
            if (!closes && first_hit_in(hit, nh, s) && text_before_label(seg, hit, nh, s) == 0)
                continue;
            if (id_front && looks_like_number(c->t))
                continue;
            best = s;
            break;
        }
        /* a line on the row of another label is that label's value (有效期限 under 签发机关) */
        for (int i = 0; best >= 0 && i < nh; i++) {
            const seg_t *o = &seg[hit[i].seg];
            if (hit[i].seg != best && same_row(o, seg[best].y, seg[best].h))
                return;
        }
        if (best < 0)
            return;
        size_t len = open_bracket(f->value) ? strlen(seg[best].t) : text_before_label(seg, hit, nh, best);
        append(f, seg[best].t, len, &seg[best], 0);
        seg[best].used = 1;
        last = best;
    }
}

/* The value of label hit i: after it in its segment, else the segment to its right on the same
 * row, else (codes) the segment under it. */
static void value_of(const spec_t *sp, seg_t *seg, int ns, const hit_t *hit, int nh, int i, bn_kie_t *out,
                     int id_front, float reach)
{
    const hit_t *h = &hit[i];
    const spec_t *fs = &sp[h->spec];
    if (fs->max_lines == 0)
        return;
    bn_kie_field_t *f = field_for(out, fs->key);
    if (!f || f->value[0])
        return;
    seg_t *s = &seg[h->seg];
    size_t end = i + 1 < nh && hit[i + 1].seg == h->seg ? hit[i + 1].at : strlen(s->t);
    const char *v = skip_sep(s->t + h->at + h->len);
    /* a bilingual label (域名 Domain Name：…): the value follows the second half */
    if (i + 1 < nh && hit[i + 1].seg == h->seg && hit[i + 1].spec == h->spec && v >= s->t + end)
        return;
    size_t vlen = v < s->t + end ? (size_t)(s->t + end - v) : 0;
    int src = -1;
    float vx = s->x;
    if (vlen > 0 && plausible_value(fs->key, v, vlen)) {
        append(f, v, vlen, s, 1);
        s->used = 1;
        src = h->seg;
        vx = x_at(s, (size_t)(v - s->t));
    } else {
        float best = 1e9f;
        for (int k = 0; k < ns; k++) {
            seg_t *c = &seg[k];
            if (k == h->seg || c->used || !same_row(c, s->y, s->h) || c->x < s->x + s->w - 0.5f * s->h ||
                c->x > s->x + s->w + reach * s->h)
                continue;
            size_t n = text_before_label(seg, hit, nh, k);
            if (n == 0 || !plausible_value(fs->key, c->t, n))
                continue;
            if (c->x - s->x < best)
                best = c->x - s->x, src = k;
        }
        /* printed a little lower than its label (a misregistered line, a slanted card): the
         * nearest segment to the right whose top lies within the label's height */
        for (int k = 0; src < 0 && k < ns; k++) {
            seg_t *c = &seg[k];
            if (k == h->seg || c->used || c->x < s->x + s->w - 1.5f * s->h || c->x > s->x + s->w + 3 * s->h ||
                c->y < s->y - 0.3f * s->h || c->y > s->y + s->h + 0.3f * s->h)
                continue;
            size_t n = text_before_label(seg, hit, nh, k);
            if (n > 0 && plausible_value(fs->key, c->t, n))
                src = k;
        }
        if (src < 0 && fs->place == V_BELOW) {
            for (int k = h->seg + 1; k < ns; k++) {
                seg_t *c = &seg[k];
                if (c->used || c->y - (s->y + s->h) > 2.5f * s->h)
                    continue;
                size_t n = text_before_label(seg, hit, nh, k);
                if (c->x > s->x + s->w || c->x + c->w < s->x || n == 0 || !plausible_value(fs->key, c->t, n))
                    continue;
                src = k;
                break;
            }
        }
        if (src < 0)
            return;
        append(f, seg[src].t, text_before_label(seg, hit, nh, src), &seg[src], 1);
        seg[src].used = 1;
        vx = seg[src].x;
    }
    f->by_label = 1;
    if (fs->max_lines > 1)
        /* an address's next lines may sit in the value column, right of where the first line's
         * value starts after a long label (经营场所); a wrapped name or type starts under it */
        continuation(seg, ns, hit, nh, f, vx, src, fs->max_lines, id_front, !strcmp(fs->key, "address") ? 4.0f : 2.5f);
}

/* ---- values by their form --------------------------------------------------------------- */

static void by_form_number(seg_t *seg, int ns, bn_kie_t *out, const char *key, int uscc)
{
    const bn_kie_field_t *have = bn_kie_get(out, key);
    char w[19];
    if (have && bn_number_windows(have->value, uscc, w))
        return;
    for (int s = 0; s < ns; s++) {
        if (!bn_number_windows(seg[s].t, uscc, w))
            continue;
        bn_kie_field_t *f = field_for(out, key);
        if (!f)
            return;
        if (f->value[0] && f->by_label)
            return; /* a label's value that fails its check stays: it is what is printed there */
        memset(f->value, 0, sizeof f->value);
        f->box[2] = 0;
        append(f, w, 18, &seg[s], 1);
        seg[s].used = 1;
        return;
    }
}

typedef struct {
    float x;
    int v, digits;
    int seg;
} num_t;

/* does one of the lines joined into s start at byte at? */
static int part_starts(const seg_t *s, size_t at)
{
    for (int k = 1; k < s->nparts; k++)
        if (s->part_at[k] == at)
            return 1;
    return 0;
}

static int cmp_num_x(const void *a, const void *b)
{
    const num_t *p = a, *q = b;
    return p->x < q->x ? -1 : p->x > q->x;
}

/* A date printed in pieces: the detector returns the year, the month and the day as lines of
 * their own when the digits are misregistered above or below the 年 月 日 line, or through a
 * seal. The numbers of the segments in the box (x >= x0, y0 <= y <= y1, no label's) are read
 * left to right: a year (1900-2100), then a month and a day. The value is written to key as
 * "YYYY年M月D日". Returns 1 when found. */
static int date_by_parts(seg_t *seg, int ns, const hit_t *hit, int nh, float x0, float y0, float y1, const char *key,
                         bn_kie_t *out)
{
    num_t nums[32];
    int nn = 0;
    for (int s = 0; s < ns && nn < 32; s++) {
        const seg_t *c = &seg[s];
        if (c->used || c->x < x0 || c->y < y0 || c->y > y1 || u8count(c->t) > 14 || first_hit_in(hit, nh, s))
            continue;
        for (const char *p = c->t; *p && nn < 32;) {
            if (*p < '0' || *p > '9') {
                p += u8len((unsigned char)*p);
                continue;
            }
            const char *q = p;
            int v = 0;
            /* a number ends where a joined line ends: the month's and the day's digits printed
             * above the line touch, but they are two reads */
            for (; *q >= '0' && *q <= '9' && (q == p || !part_starts(c, (size_t)(q - c->t))); q++)
                if (q - p < 4)
                    v = v * 10 + (*q - '0');
            if (q - p <= 4) /* a registration number nearby is no part of a date */
                nums[nn++] = (num_t){x_at(c, (size_t)(p - c->t)), v, (int)(q - p), s};
            p = q;
        }
    }
    qsort(nums, (size_t)nn, sizeof *nums, cmp_num_x);
    for (int i = 0; i + 2 < nn; i++) {
        const num_t *y = &nums[i], *m = &nums[i + 1], *d = &nums[i + 2];
        if (y->digits != 4 || y->v < 1900 || y->v > 2100 || m->digits > 2 || d->digits > 2 || m->v < 1 || m->v > 12 ||
            d->v < 1 || d->v > 31)
            continue;
        bn_kie_field_t *f = field_for(out, key);
        if (!f)
            return 0;
        char v[32];
        int n = snprintf(v, sizeof v, "%d年%d月%d日", y->v, m->v, d->v);
        append(f, v, (size_t)n, &seg[y->seg], 1);
        set_box(f, &seg[m->seg]), set_box(f, &seg[d->seg]);
        seg[y->seg].used = seg[m->seg].used = seg[d->seg].used = 1;
        return 1;
    }
    return 0;
}

/* A licence's issue date in pieces: under 登记机关 (or, without it, in the lower right of the
 * page). */
static int issue_date_by_parts(seg_t *seg, int ns, const hit_t *hit, int nh, int anchor, const bn_lines_t *L,
                               bn_kie_t *out)
{
    if (anchor >= 0) {
        const seg_t *a = &seg[anchor];
        return date_by_parts(seg, ns, hit, nh, a->x - 2 * a->h, a->y - 0.5f * a->h, a->y + 7 * a->h, "issue_date", out);
    }
    return date_by_parts(seg, ns, hit, nh, 0.45f * (float)L->width, 0.6f * (float)L->height, (float)L->height,
                         "issue_date", out);
}

/* A domain certificate: the domain printed large without its label (the tallest line that is
 * wholly a domain: a footer's "www.registrar.cn" is small print), and a holder printed in
 * Chinese then English ("北京示例科技有限公司 Beijing Shili Technology Co., Ltd.", or the English
 * line under it) split into holder and holder_en. */
static void by_form_domain(seg_t *seg, int ns, bn_kie_t *out)
{
    if (!bn_kie_get(out, "domain")) {
        int best = -1;
        char d[BN_DOMAIN_MAX];
        for (int s = 0; s < ns; s++)
            if (!seg[s].used && bn_domain_plausible(bn_domain_norm(seg[s].t, d, sizeof d)) && strchr(seg[s].t, '.') &&
                (best < 0 || seg[s].h > seg[best].h))
                best = s;
        bn_kie_field_t *f = best >= 0 ? field_for(out, "domain") : NULL;
        if (f)
            append(f, seg[best].t, strlen(seg[best].t), &seg[best], 1), seg[best].used = 1;
    }
    bn_kie_field_t *h = NULL;
    for (int i = 0; i < out->n; i++)
        if (!strcmp(out->f[i].key, "holder") && out->f[i].value[0])
            h = &out->f[i];
    if (!h || bn_kie_get(out, "holder_en"))
        return;
    /* the Latin text after the last Chinese character (or full-width bracket) */
    size_t cut = 0;
    for (size_t i = 0; h->value[i]; i += (size_t)u8len((unsigned char)h->value[i]))
        if ((unsigned char)h->value[i] >= 0x80)
            cut = i + (size_t)u8len((unsigned char)h->value[i]);
    const char *tail = h->value + cut;
    int letters = 0;
    for (const char *p = tail; *p; p++)
        letters += (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z');
    if (cut == 0 || letters < 3)
        return;
    bn_kie_field_t en = *h;
    while (*tail == ' ')
        tail++;
    snprintf(en.key, sizeof en.key, "holder_en");
    memmove(en.value, tail, strlen(tail) + 1);
    h->value[cut] = 0;
    if (out->n < BN_KIE_MAX)
        out->f[out->n++] = en;
}

/* Where the sex is printed on an ID card's front: the 男 or 女 among the first characters of a
 * short segment (性别男, 性男, 男 — 性别 misread or lost), or NULL. */
static const char *sex_in(const seg_t *s)
{
    if (u8count(s->t) > 10)
        return NULL;
    const char *p = s->t;
    for (int i = 0; i < 4 && *p; i++, p += u8len((unsigned char)*p))
        if (!strncmp(p, "男", 3) || !strncmp(p, "女", 3))
            return p;
    return NULL;
}

/* The group's name at the start of t, after what is left of 民族 (民, 族, 民?族: after the
 * last 族), when nothing but digits or Latin letters follow it (彝9月: the birth row's 月 read
 * into the same box). Written to out; 0 when t holds no name there. */
static int eth_name(const char *t, char *out, size_t cap)
{
    const char *z = strstr(t, "族");
    if (z && u8count(t) - u8count(z) <= 3)
        t = z + 3;
    else if (!strncmp(t, "民", 3))
        t += 3;
    t = skip_sep(t);
    for (int n = 4; n >= 1; n--) {
        const char *e = t;
        for (int i = 0; i < n && *e; i++)
            e += u8len((unsigned char)*e);
        if ((size_t)(e - t) >= cap || (*e && is_cjk_char(e)))
            continue;
        snprintf(out, cap, "%.*s", (int)(e - t), t);
        if (bn_ethnicity_valid(out))
            return 1;
    }
    out[0] = 0;
    return 0;
}

/* 民族 lost or misread on an ID card's front (性女民汉; 汉 a line of its own beside 性别男):
 * the ethnicity is the name of one of the 56 groups printed after the sex on its row. Only a
 * whole name counts, so nothing else on the row can be taken for it. */
static void ethnicity_by_row(seg_t *seg, int ns, bn_kie_t *out)
{
    for (int s = 0; s < ns; s++) {
        const char *sx = sex_in(&seg[s]);
        if (!sx)
            continue;
        char v[16];
        int src = eth_name(sx + 3, v, sizeof v) ? s : -1;
        for (int k = 0; src < 0 && k < ns; k++) {
            const seg_t *c = &seg[k];
            if (k != s && !c->used && same_row(c, seg[s].y, seg[s].h) && c->x > seg[s].x + seg[s].w - 0.5f * seg[s].h &&
                c->x < seg[s].x + seg[s].w + 8 * seg[s].h && eth_name(c->t, v, sizeof v))
                src = k;
        }
        bn_kie_field_t *f = src >= 0 ? field_for(out, "ethnicity") : NULL;
        if (f) {
            append(f, v, strlen(v), &seg[src], 1);
            seg[src].used = 1;
            return;
        }
    }
}

static int all_cjk(const char *t)
{
    for (; *t; t += 3)
        if (!is_cjk_char(t))
            return 0;
    return 1;
}

/* 姓名 lost altogether (cut by a tight crop, under glare): the name is the short line of
 * Chinese characters right above the sex row, where the value column starts. */
static void name_above_sex(seg_t *seg, int ns, const hit_t *hit, int nh, bn_kie_t *out)
{
    int row = -1;
    for (int s = 0; s < ns && row < 0; s++)
        if (sex_in(&seg[s]) || !strncmp(seg[s].t, "民族", 6))
            row = s;
    if (row < 0)
        return;
    const seg_t *r = &seg[row];
    int best = -1;
    for (int k = 0; k < row; k++) {
        const seg_t *c = &seg[k];
        int n = u8count(c->t);
        if (c->used || first_hit_in(hit, nh, k) || n < 2 || n > 4 || !all_cjk(c->t) || c->conf < 0.8 ||
            c->y + c->h > r->y + 0.2f * r->h || r->y - (c->y + c->h) > 2.5f * r->h || c->x < r->x - 4 * r->h ||
            c->x > r->x + 6 * r->h)
            continue;
        if (best < 0 || c->y > seg[best].y)
            best = k;
    }
    bn_kie_field_t *f = best >= 0 ? field_for(out, "name") : NULL;
    if (f) {
        append(f, seg[best].t, strlen(seg[best].t), &seg[best], 1);
        seg[best].used = 1;
    }
}

static void by_form(const char *type, const char *side, seg_t *seg, int ns, const hit_t *hit, int nh,
                    const spec_t *sp, const bn_lines_t *L, bn_kie_t *out)
{
    if (is_domain_cert(type)) {
        by_form_domain(seg, ns, out);
        return;
    }
    int lic = !strcmp(type, "business-license"), back = side && !strcmp(side, "back");
    char buf[64];
    if (lic) {
        if (!bn_kie_get(out, "registration_number"))
            by_form_number(seg, ns, out, "credit_code", 1);
        int anchor = -1;
        for (int i = 0; i < nh; i++)
            if (!strcmp(sp[hit[i].spec].key, "authority"))
                anchor = hit[i].seg;
        /* a term "自…至…" whose label was lost: two whole dates around 至 (the footer's
         * "每年1月1日至6月30日" has no year) */
        if (!bn_kie_get(out, "business_term"))
            for (int s = 0; s < ns; s++) {
                const char *to = strstr(seg[s].t, "至");
                char a[32], b2[32];
                if (seg[s].used || !to || u8count(seg[s].t) > 30)
                    continue;
                snprintf(buf, sizeof buf, "%.*s", (int)(to - seg[s].t), seg[s].t);
                if (!bn_norm_date(buf, a, sizeof a)[0])
                    continue;
                snprintf(buf, sizeof buf, "%s", to + strlen("至"));
                if (!bn_norm_date(buf, b2, sizeof b2)[0] && !strstr(buf, "长期") && !strstr(buf, "永久"))
                    continue;
                bn_kie_field_t *f = field_for(out, "business_term");
                if (f)
                    append(f, seg[s].t, strlen(seg[s].t), &seg[s], 1), seg[s].used = 1;
                break;
            }
        /* 成  立  日  期 printed spaced with only its 成 read (立 a speck, 日期 lost): the date
         * to its right on the row is the establishment date, not the issue date it would
         * otherwise be taken for below */
        if (!bn_kie_get(out, "established_date"))
            for (int s = 0; s < ns; s++) {
                if (seg[s].used || strcmp(seg[s].t, "成"))
                    continue;
                int best = -1;
                for (int v = 0; v < ns; v++)
                    if (!seg[v].used && v != s && same_row(&seg[v], seg[s].y, seg[s].h) && seg[v].x > seg[s].x &&
                        seg[v].x - (seg[s].x + seg[s].w) < 8 * seg[s].h && bn_norm_date(seg[v].t, buf, sizeof buf)[0] &&
                        (best < 0 || seg[v].x < seg[best].x))
                        best = v;
                bn_kie_field_t *f = best >= 0 ? field_for(out, "established_date") : NULL;
                if (f) {
                    append(f, seg[best].t, strlen(seg[best].t), &seg[best], 1), seg[best].used = seg[s].used = 1;
                    break;
                }
            }
        if (!bn_kie_get(out, "issue_date"))
            issue_date_by_parts(seg, ns, hit, nh, anchor, L, out);
        /* else the lowest date on the page that is no field's value */
        if (!bn_kie_get(out, "issue_date"))
            for (int s = ns - 1; s >= 0; s--) {
                /* a date alone on its row (not a sentence of the footer that holds one) */
                if (seg[s].used || !strstr(seg[s].t, "年") || u8count(seg[s].t) > 14 ||
                    !(seg[s].t[0] >= '0' && seg[s].t[0] <= '9' ? 1 : !strncmp(seg[s].t, "二", 3)) ||
                    !bn_norm_date(seg[s].t, buf, sizeof buf)[0])
                    continue;
                bn_kie_field_t *f = field_for(out, "issue_date");
                if (f)
                    append(f, seg[s].t, strlen(seg[s].t), &seg[s], 1), seg[s].used = 1;
                break;
            }
        return;
    }
    if (!back) {
        by_form_number(seg, ns, out, "id_number", 0);
        if (!bn_kie_get(out, "ethnicity"))
            ethnicity_by_row(seg, ns, out);
        if (!bn_kie_get(out, "name"))
            name_above_sex(seg, ns, hit, nh, out);
        if (!bn_kie_get(out, "birth_date"))
            for (int s = 0; s < ns; s++)
                if (!seg[s].used && strstr(seg[s].t, "年") && strstr(seg[s].t, "月") &&
                    bn_norm_date(seg[s].t, buf, sizeof buf)[0]) {
                    bn_kie_field_t *f = field_for(out, "birth_date");
                    if (f)
                        append(f, seg[s].t, strlen(seg[s].t), &seg[s], 1), seg[s].used = 1;
                    break;
                }
        /* ...or in pieces on the row of its 年 (a bilingual card's 月 read into a standing box) */
        for (int s = 0; s < ns && !bn_kie_get(out, "birth_date"); s++)
            if (!seg[s].used && strstr(seg[s].t, "年"))
                date_by_parts(seg, ns, hit, nh, 0, seg[s].y - 0.6f * seg[s].h, seg[s].y + 0.6f * seg[s].h, "birth_date",
                              out);
        return;
    }
    if (!bn_kie_get(out, "validity"))
        for (int s = 0; s < ns; s++) {
            bn_date_t a, b;
            int lt;
            if (seg[s].used || bn_validity_parse(seg[s].t, &a, &b, &lt) != 0)
                continue;
            bn_kie_field_t *f = field_for(out, "validity");
            if (f)
                append(f, seg[s].t, strlen(seg[s].t), &seg[s], 1), seg[s].used = 1;
            break;
        }
    if (!bn_kie_get(out, "issuing_authority"))
        for (int s = 0; s < ns; s++) {
            size_t n = strlen(seg[s].t);
            if (seg[s].used || n < 9 || strcmp(seg[s].t + n - 9, "公安局") != 0)
                continue;
            bn_kie_field_t *f = field_for(out, "issuing_authority");
            if (f)
                append(f, seg[s].t, n, &seg[s], 1), seg[s].used = 1;
            break;
        }
}

int bn_kie_extract(const char *doc_type, const char *side, const bn_lines_t *lines, bn_kie_t *out)
{
    memset(out, 0, sizeof *out);
    const spec_t *sp = spec_for(doc_type, side);
    if (!sp)
        return bn_error_set("invalid_argument", "no field table for %s", doc_type ? doc_type : "(null)");
    if (!lines || lines->n == 0)
        return 0;
    seg_t *seg = calloc(MAX_SEGS, sizeof *seg);
    hit_t *hit = calloc(MAX_HITS, sizeof *hit);
    if (!seg || !hit) {
        free(seg), free(hit);
        return bn_error_set("out_of_memory", "bn_kie_extract");
    }
    int ns = build_segments(lines, sp, seg, MAX_SEGS, is_domain_cert(doc_type));
    if (ns < 0) {
        free(seg), free(hit);
        return bn_error_set("out_of_memory", "bn_kie_extract");
    }
    int nh = find_labels(sp, seg, ns, hit, MAX_HITS);
    int seen[32] = {0};
    for (int i = 0; i < nh; i++)
        if (hit[i].spec < 32 && !seen[hit[i].spec]++)
            out->labels_seen++;
    int id_front = spec_for(doc_type, side) == s_id_front;
    /* mark label-only segments so that no value takes them */
    for (int i = 0; i < nh; i++)
        /* a certificate's value column may lie far right of short labels (REGISTRANT … name) */
        value_of(sp, seg, ns, hit, nh, i, out, id_front, is_domain_cert(doc_type) ? 20.0f : 6.0f);
    by_form(doc_type, side, seg, ns, hit, nh, sp, lines, out);
    /* fields whose label was found but no value: drop them */
    int m = 0;
    for (int i = 0; i < out->n; i++)
        if (out->f[i].value[0])
            out->f[m++] = out->f[i];
    out->n = m;
    memset(seg, 0, MAX_SEGS * sizeof *seg); /* personal data */
    free(seg);
    free(hit);
    return 0;
}
