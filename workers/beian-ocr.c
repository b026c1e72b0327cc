/* beian-ocr — the OCR and validation stage as a worker process (service beian.ocr). */
#include "core/bn_error.h"
#include "core/bn_worker.h"
#include "img/bn_textdet.h"
#include "ocr/bn_ocr.h"
#include "ocr/bn_ppocr.h"
#include "ocr/bn_tess.h"

/* Point Tesseract at its models once; engines are created per language and kept for the life
 * of the process (never per image). The PP-OCR networks are loaded here, before the first task
 * (0.4-0.7 s) with the text detector; missing ones only cost a warning: the stage then reads
 * by zones, Chinese with Tesseract. */
static int s_init(const bn_config_t *cfg)
{
    bn_tess_configure(cfg);
    if (!bn_tess_available("chi_sim") || !bn_tess_available("eng"))
        return bn_error_set("ocr_engine_unavailable", "Tesseract chi_sim/eng models not found");
    bn_cv_set_threads((int)bn_config_num(cfg, "worker.cv_threads", 1));
    bn_ppocr_shared(cfg);
    bn_textdet_shared(cfg);
    return 0;
}

int main(int argc, char **argv)
{
    return bn_worker_main_init(argc, argv, "beian.ocr", bn_ocr_run, s_init);
}
