/* bn_normalize — text normalisation for comparing what a document says with what a form says.
 *
 * Both sides go through the same steps, so "张 三" typed on a phone matches 张三 read by OCR:
 *   - full-width ASCII (ＡＢＣ１２３（）) → half-width; U+3000 ideographic space → space;
 *   - whitespace removed (ASCII, NBSP, U+2000-U+200B, U+3000, BOM);
 *   - middle-dot variants removed (· ・ ‧ • ･ ∙ ⋅ ...), as in 阿卜杜拉·买买提;
 *   - bracket variants unified to ( ): （）【】〔〕［］[]｛｝{}〈〉《》「」;
 *   - Latin letters upper-cased;
 *   - traditional → simplified for ~590 characters common in names, addresses and company
 *     names (pairs checked by round trip against OpenCC's s2t/s2hk/s2tw tables), e.g. 陳→陈,
 *     臺灣→台湾, 廣東→广东;
 * plus per kind: NAME also drops ASCII punctuation and MRZ fillers ('<', '-', '.', ','), ADDRESS
 * and COMPANY drop commas (，,、), ADDRESS turns Chinese numerals into digits (一百二十三号 →
 * 123号, 三组 → 3组), NUMBER keeps only [0-9A-Z].
 * Invalid UTF-8 bytes are skipped; inputs are bounded (BN_NORM_MAX_CP code points). */
#ifndef BN_NORMALIZE_H
#define BN_NORMALIZE_H
#include <stddef.h>
#include <stdint.h>

typedef enum {
    BN_NORM_TEXT = 0, /* the common steps only */
    BN_NORM_NAME,
    BN_NORM_ADDRESS,
    BN_NORM_COMPANY,
    BN_NORM_NUMBER,
} bn_norm_kind_t;

#define BN_NORM_MAX_CP 512 /* code points kept from one input; the rest is ignored */

/* Normalise `in` into out (UTF-8, NUL-terminated, at most size bytes). Returns the number of
 * code points written, or -1 when out was too small (out then holds a truncated prefix). */
int bn_norm(const char *in, bn_norm_kind_t kind, char *out, size_t size);
/* Same into a malloc'd string (free() it); NULL only on allocation failure. */
char *bn_norm_dup(const char *in, bn_norm_kind_t kind);
/* Simplified form of one code point (itself when not in the table). */
uint32_t bn_norm_t2s(uint32_t cp);
/* 1 - Levenshtein distance / longer length, over code points of the normalised strings:
 * 1.0 for equal (including both empty), 0.0 when nothing is shared or one side is empty. */
double bn_norm_similarity(const char *a, const char *b, bn_norm_kind_t kind);
/* 1 when both normalise to the same string. */
int bn_norm_equal(const char *a, const char *b, bn_norm_kind_t kind);

#endif
