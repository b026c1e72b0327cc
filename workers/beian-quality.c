/* beian-quality — the quality stage as a worker process (service beian.quality). */
#include "core/bn_worker.h"
#include "img/bn_quality.h"

int main(int argc, char **argv)
{
    return bn_worker_main(argc, argv, "beian.quality", bn_quality_run);
}
