/* bn_textdet — PaddleOCR's PP-OCRv4 text detector (DB) behind OpenCV DNN, seen from C.
 *
 * Where the printed text lines of a photo are, and which way up the page is, whatever the document's edges do: the quality
 * stage judges resolution, blur, glare and completeness on them, the ocr stage recognises them
 * (ocr/bn_lines). The model is models/ppocr_det.onnx (scripts/fetch-models.sh, models/README.md);
 * without it bn_textdet_shared() returns NULL and both stages fall back to their older paths.
 * Thin C++ (bn_textdet.cpp) with an extern "C" interface; one instance per process. */
#ifndef BN_TEXTDET_H
#define BN_TEXTDET_H
#ifdef __cplusplus
extern "C" {
#endif
#include <stdint.h>

#include "core/bn_config.h"

typedef struct bn_textdet bn_textdet_t;

/* A detected text line: its quadrilateral in image pixels, corners clockwise from the top left
 * of its minimum-area rectangle, and the detector's mean probability inside it. */
typedef struct {
    float pts[8]; /* x0,y0 .. x3,y3 */
    float score;
} bn_textbox_t;

/* Load dir/ppocr_det.onnx. NULL with bn_error (ocr_models_missing, ocr_model_error;
 * ocr_models_outdated: prepared by an older scripts/fix-ppocr.py, whose detector one net cannot
 * run at several canvas sides). */
bn_textdet_t *bn_textdet_new(const char *dir);
void bn_textdet_destroy(bn_textdet_t **self);

/* The process-wide instance from $BEIAN_MODELS, else "ocr.models_dir", else the source tree's
 * models/. Created on first call; NULL (warned once) when the model is missing. */
bn_textdet_t *bn_textdet_shared(const bn_config_t *cfg);
void bn_textdet_shutdown(void);

/* DB text detection on an 8-bit image (bands 1 or 3, RGB), scaled so that its long side is
 * max_side (rounded up to a multiple of 32; small images are enlarged) on a square canvas of
 * that side. One net serves every side. The cost grows with the square of the side (~0.12 s
 * CPU at 480, ~0.55 s at 960). PaddleOCR's post-processing:
 * probability > 0.3, box score >= min_score (0.6), unclip ratio 1.5. Writes up to max_out boxes,
 * in image pixels, sorted top to bottom then left to right; returns how many were found (may
 * exceed max_out), or -1 with bn_error. */
int bn_textdet_run(bn_textdet_t *self, const uint8_t *data, int w, int h, int stride, int bands, int max_side,
                   double min_score, bn_textbox_t *out, int max_out);

/* The page's turn from its detected lines (b, n, in the image's pixels): 0, 90, 180 or 270, the
 * clockwise rotation that makes it upright; -1 with bn_error on bad arguments. Most long lines
 * standing means 90 or 270, lying 0 or 180; the direction classifier (models/ppocr_cls.onnx,
 * optional: without it 0 or 270) votes on the 7 longest lines of the majority. The rule alone
 * (tall and wide counts, mean upside-down probability) is bn_textdet_orientation_rule. */
int bn_textdet_orientation(bn_textdet_t *self, const uint8_t *data, int w, int h, int stride, int bands,
                           const bn_textbox_t *b, int n);
int bn_textdet_orientation_rule(int tall, int wide, double p180);

/* The detector's canvas side for a document type: "ocr.det_side" (480) for cards,
 * "ocr.det_side_license" (960) for licences, whose print is small on a large page. The quality
 * and ocr stages use the same side, so the ocr stage can take the quality stage's boxes. */
int bn_textdet_side(const bn_config_t *cfg, const char *doc_type);

/* OpenCV's worker threads for every DNN of this process (detector, recogniser). Workers run
 * one thread each (worker.cv_threads, 1): a stage then costs the least CPU per image (two
 * threads on two cores burned ~40 % more CPU for the same OCR, in spinning and splitting), and
 * throughput comes from one worker process per core. */
void bn_cv_set_threads(int n);

#ifdef __cplusplus
}
#endif
#endif
