/* beian-face — the face stage as a worker process (service beian.face). */
#include "core/bn_error.h"
#include "core/bn_worker.h"
#include "face/bn_face.h"
#include "face/bn_facenet.h"

/* Load the models before the first task (35–50 ms) rather than during it. */
static int s_init(const bn_config_t *cfg)
{
    return bn_facenet_get(cfg) ? 0 : -1;
}

int main(int argc, char **argv)
{
    return bn_worker_main_init(argc, argv, "beian.face", bn_face_run, s_init);
}
