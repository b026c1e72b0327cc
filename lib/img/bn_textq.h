/* bn_textq — what the printed text says about a capture: is there text, how tall it is in the
 * upload's pixels, does the frame cut through it. The quality stage judges resolution and
 * completeness on this, as a filing bureau does ("can the fields be read?"), rather than on the
 * document's edges: a tight crop whose card edges touch the frame is complete, and a 500 px wide
 * card whose text is 15 px tall is legible. */
#ifndef BN_TEXTQ_H
#define BN_TEXTQ_H
#include "core/bn_config.h"
#include "img/bn_image.h"

#define BN_TEXTQ_CENTRES 64

typedef struct {
    int lines;     /* text lines found */
    double text_h; /* median line height, pixels of the upload (decoded pixels times shrink) */
    int cut;       /* lines that run into the frame's edge */
    int rotation;  /* 0/90/180/270: clockwise turn that makes the text upright (bn_textdet_orientation) */
    int ncentres;  /* the first BN_TEXTQ_CENTRES lines' centres, decoded pixels */
    float centres[BN_TEXTQ_CENTRES][2];
} bn_textq_t;

/* Detect the text lines of img (decoded at 1/shrink of the upload) with the shared detector at
 * bn_textdet_side(cfg, doc_type). When boxes is not NULL it gets every box found, as an array of
 * [x0,y0,..,x3,y3] in upload pixels (the ocr stage reads them from the quality stage's hints
 * instead of detecting again). Returns 0, or -1 with bn_error when there is no detector
 * (ocr_models_missing: the caller keeps its edge-based judgement). */
int bn_textq_measure(const bn_config_t *cfg, const bn_image_t *img, double shrink, const char *doc_type,
                     bn_textq_t *out, json_t **boxes);

/* The fraction of the lines whose centre lies inside the quadrilateral q (x,y pairs, in order,
 * decoded pixels); 1 when there are no lines. A document outline that leaves most of the text
 * outside is not the document (a pattern on the table, a photo on the card). */
double bn_textq_inside(const bn_textq_t *tq, const double q[8]);

#endif
