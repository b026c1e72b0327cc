/* bn_mrzread — find and read the machine-readable zone on a whole photo or a rectified page.
 *
 * Why not OCR the whole image: the MRZ is a few thin lines of OCR-B among clutter; peers break
 * on rotation, clutter and low resolution. We locate text bands morphologically (black top-hat
 * → text mask → horizontal closing → long thin components), group 1–3 bands of equal width,
 * try the four orthogonal orientations and a deskew, upscale each line to a readable height,
 * read it with the project's MRZ model (models/mrz.traineddata, charset A-Z0-9<; falls back to
 * Debian's eng with a whitelist) and let bn_mrz parse, repair and check it. The candidate with
 * the most passing check digits wins. */
#ifndef BN_MRZREAD_H
#define BN_MRZREAD_H
#include "img/bn_image.h"
#include "ocr/bn_mrz.h"

typedef struct {
    int found;          /* an MRZ was located and parsed into a known format */
    bn_mrz_t mrz;       /* parsed, repaired, checked (valid when found) */
    char raw[3][64];    /* the lines as the OCR read them */
    int nraw;
    int box[4];         /* x, y, w, h of the zone in the input image's coordinates */
    int rotation;       /* 0/90/180/270: clockwise rotation applied to read it */
    double confidence;  /* mean OCR confidence 0..1 */
} bn_mrzread_t;

/* Locate and read. `today` as for bn_mrz_parse (NULL = now). `expect_lines` 0 = any, else the
 * number of lines the document type has (passport 2, permits 3 or 1): a hint, not a filter.
 * Returns 0 (out->found tells whether an MRZ was read) or -1 with bn_error on internal failure
 * (e.g. no OCR model at all). Never fails on odd image content. */
int bn_mrz_read_image(const bn_image_t *img, const char *today, int expect_lines, bn_mrzread_t *out);

#endif
