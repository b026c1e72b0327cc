/* bn_prepare — the image a portal uploads to the provider, and the annotated review image. */
#ifndef BN_PREPARE_H
#define BN_PREPARE_H
#include <jansson.h>
#include "img/bn_docfind.h"
#include "img/bn_layout.h"
#include "img/bn_metrics.h"
#include "img/bn_profile.h"

typedef struct {
    int width, height, quality;
    size_t bytes;
    int fits;  /* the byte window of the profile was met */
} bn_prepared_info_t;

/* Scale img into the profile's side limits and search the JPEG quality that lands in its byte
 * window (then scale further if quality alone cannot). Metadata-free. Returns malloc'd JPEG. */
void *bn_prepare_jpeg(const bn_image_t *img, const bn_profile_t *prof, bn_prepared_info_t *info);

/* Draw `text` (e.g. "仅供备案使用") semi-transparently where it covers no printed text and not
 * the portrait: candidate places are scored by ink and by the layout's zones (lay may be NULL).
 * Modifies img in place. 0, or -1 with bn_error. */
int bn_watermark_apply(bn_image_t *img, const bn_layout_t *lay, const char *text);

/* A flag marked on the review image: its short label (ASCII: the font is OpenCV's Hershey), and
 * a box when the flag is about a place (a glare region, an OCR field). A box is in a rectified
 * document of space_w x space_h pixels, mapped onto the frame through the document's corners (no
 * corners: not drawn), or with space_w 0 in pixels of the frame itself. */
typedef struct {
    const char *label;
    int has_box;
    double x, y, w, h;
    int space_w, space_h;
} bn_review_mark_t;

/* Review thumbnail (long side ~long_side): outline, corners, every mark's box with its label
 * beside it, and every label (once) in a list at the top left. g->corners in orig's pixels.
 * The one place the review image is drawn (docs/QUALITY.md "Review image"). */
bn_image_t *bn_review_render(const bn_image_t *orig, const bn_docgeom_t *g, const bn_review_mark_t *marks,
                             int nmarks, int long_side);

/* The review image of a document: a JPEG for the stage's blob "review" (*jpg, malloc'd; NULL
 * when it could not be drawn) and its JSON description ({"width", "height", "bytes", "mime",
 * "blob"}, or null). Its marks:
 * every flag of `flags` arrays (the table's label_en), each box of glare ({"size": [w, h] of the
 * rectified document, "boxes": [[x, y, w, h], ...]}, may be NULL), and the box of each flag's
 * field in fields (may be NULL), in a rectified document of fw x fh pixels (0: orig's pixels).
 * Called by the quality stage, and again by the ocr stage with the quality flags (hints) and its
 * own, whose review then replaces the quality stage's in the result. */
json_t *bn_review_blob(const bn_image_t *orig, const bn_docgeom_t *g, int long_side, const json_t *const *flags,
                       int nflags, const json_t *glare, const json_t *fields, int fw, int fh, void **jpg, size_t *len);

#endif
