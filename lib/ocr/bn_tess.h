/* bn_tess — Tesseract engines for the ocr stage, created once per process and reused.
 *
 * Creating a TessBaseAPI loads the model (chi_sim: ~0.3 s); doing that per image or per zone
 * would dominate the stage, so engines are initialised lazily on first use and cached per
 * language ("chi_sim", "eng", "mrz"). Calls are serialised by one mutex: a worker runs one task
 * at a time, and Tesseract engines are not safe to share between threads.
 *
 * Model locations: Debian's models from $TESSDATA_PREFIX, else "ocr.tessdata" (config), else
 * /usr/share/tesseract-ocr/5/tessdata; the project's own models (mrz) from $BEIAN_MODELS, else
 * "ocr.models_dir", else the source tree's models/. Environment overrides config, as for the
 * face models. An engine keeps the directory it was created with. */
#ifndef BN_TESS_H
#define BN_TESS_H
#include <leptonica/allheaders.h>

#include "core/bn_config.h"

typedef enum {
    BN_TESS_LINE = 0,  /* one text line (PSM_SINGLE_LINE) */
    BN_TESS_BLOCK,     /* a block of lines (PSM_SINGLE_BLOCK), e.g. a wrapped address */
    BN_TESS_RAW_LINE,  /* one line, no layout analysis at all (PSM_RAW_LINE): MRZ lines */
    BN_TESS_SPARSE,    /* sparse text anywhere (PSM_SPARSE_TEXT): locating labels */
} bn_tess_mode_t;

#define BN_TESS_TEXT_MAX 1024
#define BN_TESS_MAX_WORDS 64

typedef struct {
    char text[BN_TESS_TEXT_MAX]; /* UTF-8, lines joined with '\n', trimmed */
    double confidence;           /* mean word confidence 0..1; 0 when nothing was read */
    int box[4];                  /* x, y, w, h of the text found, in the pix's coordinates */
    int nwords;
    struct { int box[4]; double conf; char text[96]; } words[BN_TESS_MAX_WORDS];
} bn_tess_result_t;

/* Model directories from the config (call once at worker start; optional). */
void bn_tess_configure(const bn_config_t *cfg);
/* 1 when the model for lang can be found (the engine is not created). */
int bn_tess_available(const char *lang);
/* Recognise pix (any depth; 8-bit grey preferred) with the engine for lang. whitelist limits
 * the characters (NULL = all). Returns 0, or -1 with bn_error (ocr_engine_unavailable). */
int bn_tess_read(const char *lang, PIX *pix, bn_tess_mode_t mode, const char *whitelist,
                 bn_tess_result_t *out);
/* Free every engine (end of process; also lets leak checkers see a clean exit). */
void bn_tess_shutdown(void);

#endif
