/* bn_ppocr — PaddleOCR's PP-OCRv4 Chinese text-line recogniser behind OpenCV DNN, seen from C
 * (the detector and the direction classifier are img/bn_textdet, which the quality stage uses
 * too).
 *
 * The only C++ in the ocr stage (bn_ppocr.cpp): model plumbing and pixel geometry only; which
 * line is which field is decided in C (bn_lines, bn_kie). The model files are installed
 * by scripts/fetch-models.sh (models/README.md): ppocr_rec_<W>.onnx, the recognition network
 * fixed to a 1x3x48xW input for each width W (OpenCV 4.6 cannot run it with a dynamic width),
 * and ppocr_keys_v1.txt, its character list. A line is resized to 48 px high keeping its
 * aspect ratio and fed to the narrowest network it fits (wider lines are squeezed into the
 * widest); CTC greedy decoding.
 *
 * One instance per process is enough (loading takes ~0.1 s per width): bn_ppocr_shared()
 * creates it on first use and keeps it, like bn_tess's engines. Calls on an instance are
 * serialised by its own lock (cv::dnn::Net is not re-entrant). */
#ifndef BN_PPOCR_H
#define BN_PPOCR_H
#ifdef __cplusplus
extern "C" {  /* the core headers are C without guards of their own */
#endif
#include <stddef.h>
#include <stdint.h>

#include "core/bn_config.h"

typedef struct bn_ppocr bn_ppocr_t;

/* Load the keys and every ppocr_rec_<W>.onnx found in dir. NULL with bn_error set
 * (ocr_models_missing: run scripts/fetch-models.sh; ocr_model_error: OpenCV refused a file). */
bn_ppocr_t *bn_ppocr_new(const char *dir);
void bn_ppocr_destroy(bn_ppocr_t **self);

/* The process-wide instance from $BEIAN_MODELS, else "ocr.models_dir", else the source tree's
 * models/ (as bn_tess's project models). Created on first call; NULL when the files are missing
 * (warned once, then the caller falls back to Tesseract) — later calls return NULL quickly. */
bn_ppocr_t *bn_ppocr_shared(const bn_config_t *cfg);
/* Free the process-wide instance (end of process, for leak checkers). */
void bn_ppocr_shutdown(void);

/* Recognise the text line in an 8-bit image (bands 1 = grey, 3 = RGB), rows `stride` bytes
 * apart. Writes UTF-8 (no trailing spaces) into utf8 (cap bytes, always terminated) and the
 * mean per-character probability (0..1, 0 when nothing was read) into *conf (may be NULL).
 * Returns the number of characters, or -1 with bn_error. */
int bn_ppocr_read(bn_ppocr_t *self, const uint8_t *data, int w, int h, int stride, int bands,
                  char *utf8, size_t cap, double *conf);

/* Cut the quadrilateral pts out of the image as an upright line (img/bn_cutline.hpp) and
 * recognise it as bn_ppocr_read does. Returns the number of characters or -1 with bn_error. */
int bn_ppocr_read_quad(bn_ppocr_t *self, const uint8_t *data, int w, int h, int stride, int bands,
                       const float pts[8], char *utf8, size_t cap, double *conf);

/* The same at the line's full width: lines are squeezed to ocr.rec_squeeze (3/4) of their width
 * before recognition, which costs a little on long runs of digits; a number that fails its
 * check is read again this way. */
int bn_ppocr_read_quad_wide(bn_ppocr_t *self, const uint8_t *data, int w, int h, int stride, int bands,
                            const float pts[8], char *utf8, size_t cap, double *conf);

#ifdef __cplusplus
}
#endif
#endif
