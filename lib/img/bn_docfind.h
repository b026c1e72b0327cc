/* bn_docfind — find the document quadrilateral in a photo or scan and rectify it.
 *
 * Shared by every stage: quality measures and prepares the rectified image; OCR reads the known
 * field zones of it; face takes the portrait area from it. Geometry is in the coordinates of the
 * image passed in. */
#ifndef BN_DOCFIND_H
#define BN_DOCFIND_H
#include "img/bn_image.h"

typedef struct { double x, y; } bn_point_t;

typedef struct {
    int found;              /* a document quadrilateral was found */
    bn_point_t corners[4];  /* TL, TR, BR, BL in document-upright order (after rotation) */
    double area_fraction;   /* document area / image area */
    int corners_inside;     /* number of the 4 corners inside the image (with a small margin) */
    int rotation;           /* 0, 90, 180, 270: clockwise rotation needed to make it upright */
    double skew_deg;        /* residual small skew, degrees */
    double confidence;      /* 0..1 */
} bn_docgeom_t;

/* Canonical size in mm for a document type (ID-1 85.6×54 for cards and permits, 125×88 for the
 * passport data page, licences by measured aspect: 0 = keep aspect). */
int bn_doc_canonical_mm(const char *doc_type, double *w_mm, double *h_mm);

/* Find the document. doc_type may carry the side ("id-card:front"): up/down is then decided
 * against that side's layout only, else against both. Returns 0 (out->found may be 0) or -1 with bn_error on internal failure. */
int bn_doc_find(const bn_image_t *img, const char *doc_type, bn_docgeom_t *out);
/* The same, reusing a copy of img already shrunk to a long side <= 800 px (saves a resize when
 * the caller has one); small may be NULL. Geometry is still in img's coordinates. */
int bn_doc_find_small(const bn_image_t *img, const bn_image_t *small, const char *doc_type, bn_docgeom_t *out);

/* Warp the quadrilateral to the canonical size at dpi (>= 300 for output), upright.
 * Returns a new image or NULL with bn_error. */
bn_image_t *bn_doc_rectify(const bn_image_t *img, const bn_docgeom_t *geom, const char *doc_type, int dpi);

#endif
