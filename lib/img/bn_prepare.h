/* bn_prepare — the image a portal uploads to the provider, and the annotated review image. */
#ifndef BN_PREPARE_H
#define BN_PREPARE_H
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

/* Review thumbnail (long side ~long_side): outline, corners, glare regions (given in the
 * rectified image's coordinates, mapped back through the geometry), flag codes. */
bn_image_t *bn_review_render(const bn_image_t *orig, const bn_docgeom_t *g, int rect_w, int rect_h,
                             const bn_rect_t *glare, int nglare, const char *const *codes, int ncodes,
                             int long_side);

#endif
