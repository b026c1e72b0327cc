/* bn_lines — the first passes of the ocr stage: find the text lines of a photo, turn the page
 * upright, recognise each line (PaddleOCR's pipeline shape: detect -> orient -> recognise).
 *
 * The result is a plain list of lines with their text and geometry on the upright page; which
 * line is which field is bn_kie's job. Nothing here depends on finding the document's edges: a
 * tight crop, a card on a busy table and a licence in a frame read alike. */
#ifndef BN_LINES_H
#define BN_LINES_H
#include "img/bn_image.h"
#include "img/bn_textdet.h"
#include "ocr/bn_ppocr.h"

#define BN_LINE_TEXT_MAX 384

typedef struct {
    float q[8];        /* corners TL, TR, BR, BL in pixels of the upright page */
    float x, y, w, h;  /* their box on the page straightened by skew (rows of a slanted card
                          stay rows); on a straight page the quad's axis-aligned box */
    float score;       /* detector's mean probability */
    char text[BN_LINE_TEXT_MAX]; /* as recognised, UTF-8 (personal data: never logged) */
    double conf;       /* recogniser's mean character probability, 0..1 */
} bn_line_t;

typedef struct {
    bn_line_t *v;
    int n;
    int rotation;      /* 0, 90, 180, 270: clockwise turn applied to the input to make it upright */
    int width, height; /* of the upright page */
    double line_h;     /* median height of the lines, pixels */
    double skew;       /* degrees the lines slant (median of the long lines), straightened in x..h */
} bn_lines_t;

typedef struct {
    int det_side;      /* detector input's long side (default 960) */
    int max_lines;     /* lines recognised at most (default 200) */
    const bn_textbox_t *boxes; /* lines already detected on img at det_side (the quality stage's),
                                  or NULL to detect here */
    int nboxes;
    int rotation_given, rotation; /* the page's turn already decided (the quality stage's) */
} bn_lines_opts_t;

/* Detect, orient and recognise. img is the decoded upload (RGB or grey). On success out holds
 * the lines (possibly none) and, when the page had to be turned, *upright (if not NULL) gets the
 * turned image (the caller destroys it; NULL when rotation is 0). Returns 0, or -1 with bn_error
 * (ocr_models_missing when the detector is not installed). */
int bn_lines_read(bn_textdet_t *det, bn_ppocr_t *pp, const bn_image_t *img, const bn_lines_opts_t *opts, bn_lines_t *out,
                  bn_image_t **upright);

void bn_lines_clear(bn_lines_t *self);

/* Add a line read again by a later pass at the page box (x, y, w, h). Lines found there before
 * are the same text read worse: they are emptied (bn_kie skips empty lines) so that nothing is
 * taken twice — except those keep() says to keep (NULL: none). 0, or -1 with bn_error. */
int bn_lines_add(bn_lines_t *L, const char *text, double conf, float x, float y, float w, float h,
                 int (*keep)(const char *text));

#endif
