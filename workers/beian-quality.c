/* beian-quality — the image-quality and preparation stage as a worker process (service
 * beian.quality). */
#include "core/bn_worker.h"
#include "img/bn_image.h"
#include "img/bn_quality.h"

/* Start libvips (threads, caches off) before the first task rather than during it. */
static int s_init(const bn_config_t *cfg)
{
    (void)cfg;
    return bn_vips_init(); /* sets the error itself */
}

int main(int argc, char **argv)
{
    return bn_worker_main_init(argc, argv, "beian.quality", bn_quality_run, s_init);
}
