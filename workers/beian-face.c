/* beian-face — the face stage as a worker process (service beian.face). */
#include "core/bn_worker.h"
#include "face/bn_face.h"

int main(int argc, char **argv)
{
    return bn_worker_main(argc, argv, "beian.face", bn_face_run);
}
