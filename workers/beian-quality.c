/* beian-quality — the image-quality and preparation stage as a worker process (service
 * beian.quality). */
#include "core/bn_worker.h"
#include "img/bn_image.h"
#include "img/bn_quality.h"
#include "img/bn_textdet.h"

/* Start libvips (threads, caches off) and load the text detector before the first task rather
 * than during it. */
static int s_init(const bn_config_t *cfg)
{
    bn_cv_set_threads((int)bn_config_num(cfg, "worker.cv_threads", 1));
    bn_textdet_shared(cfg); /* missing: one warning, completeness then judged by the edges */
    return bn_vips_init(); /* sets the error itself */
}

int main(int argc, char **argv)
{
    return bn_worker_main_init(argc, argv, "beian.quality", bn_quality_run, s_init);
}
