/* beian-ocr — the ocr stage as a worker process (service beian.ocr). */
#include "core/bn_worker.h"
#include "ocr/bn_ocr.h"

int main(int argc, char **argv)
{
    return bn_worker_main(argc, argv, "beian.ocr", bn_ocr_run);
}
