/* bn_kie — key information extraction: which recognised line is which field, by the printed
 * labels and the geometry of the page (PaddleOCR's KIE pass, with rules instead of a model).
 *
 * Input is a bn_lines_t (text + boxes on the upright page); output the raw text of each field
 * (labels stripped, not yet normalised) with its box and confidence. Pure: no image, no model,
 * so it is tested on line lists written by hand (tests/test_ocr_kie.c).
 *
 * How a field is found, per document type and side (a table in bn_kie.c):
 *   1. lines on one row are joined into segments when they nearly touch (a label printed with
 *      wide letter spacing, 名  称, is joined across the gap);
 *   2. every label (姓名 性别 民族 出生 住址 公民身份号码; 签发机关 有效期限; 统一社会信用代码 注册号
 *      名称 类型 法定代表人|负责人|经营者|投资人|执行事务合伙人 注册资本 成立日期 营业期限
 *      住所|营业场所|经营场所 ...) is looked for in every segment; a segment holding several
 *      (性别男民族汉) is split at them;
 *   3. a label's value is the text after it, else the nearest segment to its right on the same
 *      row, else (for codes printed under their label) the segment below; multi-line values
 *      (addresses, names) take the lines below that start where the value starts;
 *   4. a value whose label is hidden or misread is found by its form: a valid ID number or credit
 *      code anywhere, a birth date, a validity period, an issuing authority ending in 公安局,
 *      the lowest date of a licence (its issue date). */
#ifndef BN_KIE_H
#define BN_KIE_H
#include "ocr/bn_lines.h"

#define BN_KIE_MAX 24
#define BN_KIE_VALUE_MAX 512

typedef struct {
    char key[32];
    char value[BN_KIE_VALUE_MAX]; /* raw UTF-8 as printed, label removed */
    double conf;                  /* lowest recogniser confidence of the lines it came from */
    int box[4];                   /* x, y, w, h on the upright page */
    int by_label;                 /* 1: found next to its label; 0: by its form alone */
} bn_kie_field_t;

typedef struct {
    bn_kie_field_t f[BN_KIE_MAX];
    int n;
    int labels_seen;              /* how many of the type's labels were found at all */
} bn_kie_t;

/* Extract the fields of doc_type ("id-card", "residence-permit", "business-license") and side
 * ("front" | "back"). Returns 0 (out->n may be 0), or -1 with bn_error for a type it has no
 * table for (the caller reads such types by zones). */
int bn_kie_extract(const char *doc_type, const char *side, const bn_lines_t *lines, bn_kie_t *out);

/* Does the type/side have a table here? */
int bn_kie_supports(const char *doc_type, const char *side);

/* The field named key, or NULL. */
const bn_kie_field_t *bn_kie_get(const bn_kie_t *k, const char *key);

#endif
