/* bn_zones — the field zones of a rectified document (data/layouts.json) and their pixels.
 *
 * The OCR stage never reads the whole photo: it reads each field's known zone on the upright,
 * rectified document, so every value has a box and a kind (digits, date, CJK...) that picks the
 * model, the page segmentation and the whitelist. Zones are in mm on the canonical document;
 * the rectified image's width gives the scale. */
#ifndef BN_ZONES_H
#define BN_ZONES_H
#include <leptonica/allheaders.h>

#include "img/bn_image.h"

#define BN_ZONES_MAX 24

typedef enum { BN_KIND_CJK = 0, BN_KIND_LATIN, BN_KIND_DIGITS, BN_KIND_DATE, BN_KIND_MIXED } bn_zone_kind_t;

typedef struct {
    char key[32];          /* field key: "name", "id_number", "mrz" ... */
    double x, y, w, h;     /* mm, upright document, origin top-left */
    int lines;             /* printed lines */
    bn_zone_kind_t kind;
    char label[32];        /* printed label (UTF-8), "" when none */
    int has_label;
    double lx, ly, lw, lh; /* where the label is printed, mm */
} bn_zone_t;

typedef struct {
    double w_mm, h_mm;
    int nzones;
    bn_zone_t zones[BN_ZONES_MAX];
    int has_mrz;
    bn_zone_t mrz;         /* when has_mrz: the MRZ area */
    int mrz_lines, mrz_chars;
} bn_zoneset_t;

/* Zones for "type:side" from data/layouts.json (looked up in $BEIAN_LAYOUTS (a file),
 * $BEIAN_SRC/data, then the source tree). 0, or -1 with bn_error (layout_unknown). */
int bn_zones_get(const char *doc_type, const char *side, bn_zoneset_t *out);

/* Residual offsets of the printed text against the layout on a rectified page (corners found a
 * few mm off, perspective, printing offsets): first the global shift within max_mm that puts
 * the most ink into all value and label boxes, then per zone a local refinement (within
 * max_mm / 2, less vertically: lines are close) using that zone's own boxes. The zones in *zs
 * are moved in place. Returns 0 (zones unchanged when the page carries no signal). */
int bn_zones_align(PIX *page, bn_zoneset_t *zs, double px_per_mm, double max_mm);

/* 8-bit grey Leptonica image of img (a copy). NULL on allocation failure. */
PIX *bn_pix_grey(const bn_image_t *img);

/* Crop zone z (plus mx_mm left/right and my_mm top/bottom, clipped) from the grey page whose
 * scale is px_per_mm; box_out gets x, y, w, h in page pixels. NULL when outside the page. */
PIX *bn_zone_crop(PIX *page, const bn_zone_t *z, double px_per_mm, double mx_mm, double my_mm, int box_out[4]);

/* Prepare a crop for Tesseract: background normalisation (uneven light, guilloche and
 * coloured security print fade), then upscale so a text line is about `line_px` high. The
 * result is 8-bit grey: Tesseract's LSTM does better on clean grey than on a hard binarisation
 * of small text. */
PIX *bn_zone_prepare(PIX *crop, int lines, double line_px);

#endif
