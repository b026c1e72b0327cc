#include "ocr/bn_ocr.h"
#include "core/bn_error.h"

/* Not built yet: answer with an explicit error, never a fake success. */
int bn_ocr_run(const bn_task_t *task, bn_stage_result_t *out)
{
    (void)task;
    (void)out;
    return bn_error_set("not_implemented", "the ocr stage is not implemented yet");
}

int bn_ocr_eval_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 1;
}
