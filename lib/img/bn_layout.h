/* bn_layout — where things are printed on each upright document (data/layouts.json, in mm).
 *
 * Document finding uses the text zones to tell upright from upside-down, and the preparation
 * step uses them to keep the watermark off text and off the portrait. */
#ifndef BN_LAYOUT_H
#define BN_LAYOUT_H

#define BN_LAYOUT_MAX_BOXES 48

typedef struct {
    double x, y, w, h; /* mm, origin top-left of the upright document */
} bn_box_t;

typedef struct {
    char key[48];            /* "id-card:front" */
    double w_mm, h_mm;
    int has_portrait;
    bn_box_t portrait;
    int ntext;               /* printed text: field values, labels, titles, MRZ */
    bn_box_t text[BN_LAYOUT_MAX_BOXES];
    int nneutral;            /* printed non-text: emblem, seal, QR code */
    bn_box_t neutral[8];
} bn_layout_t;

/* The layout for doc_type ("id-card", or "id-card:front") and side ("front"/"back"/NULL).
 * Returns 0, or -1 when the type is unknown or data/layouts.json is not found (looked up in
 * $BEIAN_LAYOUTS, $BEIAN_SRC/data, then the source tree the binary was built from). */
int bn_layout_get(const char *doc_type, const char *side, bn_layout_t *out);

/* The whole parsed data/layouts.json (same lookup), loaded once per process and read-only; NULL
 * when not found. For stages that need more of it than bn_layout_t holds (OCR field zones). */
typedef struct json_t json_t;
const json_t *bn_layout_json(void);

#endif
