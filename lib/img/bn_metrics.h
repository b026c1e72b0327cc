/* bn_metrics — measurements of image quality on the (rectified) document region.
 *
 * Every metric is computed on an image the caller has brought to a fixed working width, so the
 * numbers do not depend on the upload's resolution; thresholds live in configuration
 * (docs/QUALITY.md). Each function is independent so each can be unit-tested on a synthetic
 * image. */
#ifndef BN_METRICS_H
#define BN_METRICS_H
#include "img/bn_image.h"

#define BN_MAX_GLARE 8

typedef struct {
    int x, y, w, h;
} bn_rect_t;

typedef struct {
    double sharpness;         /* 1 - Crete et al. re-blur ratio, 0 (flat/blurred) .. 1 (crisp) */
    double laplacian_var;     /* variance of the 3x3 Laplacian of luma (classic, scale-dependent) */
    double brightness_mean;   /* luma 0..255 */
    double brightness_p5, brightness_p50, brightness_p95;
    double clipped_fraction;  /* luma >= 250 */
    double glare_fraction;    /* area of bright, colourless blobs / area */
    int nglare;
    bn_rect_t glare[BN_MAX_GLARE];
    double colourfulness;     /* Hasler–Süsstrunk M */
    double chroma_mean;       /* mean |a|+|b|-like chroma (max-min of RGB), 0..255 */
    double midtone_fraction;  /* luma in (paper-100, paper-40): few in a photocopy */
    double paper_white;       /* luma p90: the paper / card background level */
    double colour_nonred;     /* fraction of chromatic pixels (max-min >= 20) not red or magenta:
                                 a card's or licence's print; a copy has only its stamped seals */
    double moire;             /* spectral peak prominence of periodic patterns (screens) */
} bn_metrics_t;

/* Glare detection knobs (from configuration). */
typedef struct {
    double min_luma;      /* default 248 */
    double max_chroma;    /* default 28: glare is colourless */
    double min_blob;      /* minimum blob area as a fraction of the image, default 0.0015 */
} bn_glare_params_t;

double bn_metric_sharpness(const bn_image_t *img);
double bn_metric_laplacian_var(const bn_image_t *img);
void bn_metric_brightness(const bn_image_t *img, double *mean, double *p5, double *p95, double *clipped);
double bn_metric_colourfulness(const bn_image_t *img, double *chroma_mean);
/* Fraction of pixels with chroma (max - min of RGB) >= 20 whose hue is not red/magenta
 * (330..30 degrees, the colour of seals stamped on a copy); 0 for grey images. */
double bn_metric_colour_nonred(const bn_image_t *img);
/* Fraction of the area in glare blobs; up to BN_MAX_GLARE boxes (largest first). */
double bn_metric_glare(const bn_image_t *img, const bn_glare_params_t *p, bn_rect_t *boxes, int *nboxes);
void bn_metric_tones(const bn_image_t *img, double *midtone_fraction, double *paper_white);
/* Periodic-pattern score (C++/OpenCV DFT): max over the mid/high band of a peak's height over
 * its neighbourhood's median, in log-magnitude units. Text scores low; a screen's pixel grid or
 * moiré high. */
double bn_metric_moire(const bn_image_t *img);

/* All of the above except moiré, which needs the upload's own resolution (the caller measures
 * it on a crop, bn_quality.c); m->moire is left 0. img is RGB. */
void bn_metrics_compute(const bn_image_t *img, const bn_glare_params_t *gp, bn_metrics_t *m);

/* Helpers (OpenCV, bn_imgops.cpp). */
bn_image_t *bn_image_resize(const bn_image_t *img, int width, int height);
/* Copy of the part of the rectangle inside the image; NULL when nothing is inside. */
bn_image_t *bn_image_crop(const bn_image_t *img, int x, int y, int w, int h);
bn_image_t *bn_image_rotate90(const bn_image_t *img, int cw_degrees); /* 0, 90, 180, 270 */

#endif
