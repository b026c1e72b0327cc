/* tw_worker — a test worker for the integration tests. It registers for any service
 * (--service) and behaves by the first bytes of the document it receives:
 *   "CRASH"      abort() — every attempt crashes its worker
 *   "SLOW:<ms>"  sleep that long, then answer like echo
 *   "REPLY:<json>" a rogue stage: the JSON value (any, e.g. "str") is its result as is
 *   anything     echo: a result with the image size, its FNV-1a hash and no flags
 * With TW_NOOP set in the environment it returns no blob (benchmarks).
 * so one broker run can mix healthy, slow and poisonous tasks. */
#include "core/bn_error.h"
#include "core/bn_flags.h"
#include "core/bn_worker.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int s_stage(const bn_task_t *task, bn_stage_result_t *out)
{
    if (task->image_size >= 5 && memcmp(task->image, "CRASH", 5) == 0)
        abort();
    if (task->image_size >= 5 && memcmp(task->image, "SLOW:", 5) == 0) {
        char ms[16] = {0};
        memcpy(ms, task->image + 5, task->image_size - 5 < 15 ? task->image_size - 5 : 15);
        usleep((useconds_t)atoi(ms) * 1000);
    }
    if (task->image_size >= 4 && memcmp(task->image, "FAIL", 4) == 0)
        return bn_error_set("not_implemented", "test worker refuses this task");
    if (task->image_size >= 6 && memcmp(task->image, "REPLY:", 6) == 0) {
        out->json = json_loadb((const char *)task->image + 6, task->image_size - 6, JSON_DECODE_ANY, NULL);
        return 0;
    }
    out->json = json_pack("{s:s, s:{s:I}, s:[]}", "stage", task->stage, "quality", "bytes",
                          (json_int_t)task->image_size, "flags");
    if (!getenv("TW_NOOP")) {
        /* FNV-1a of the payload: tests check the bytes arrived intact, sent or mapped. */
        uint64_t h = 14695981039346656037ull;
        for (size_t i = 0; i < task->image_size; i++)
            h = (h ^ task->image[i]) * 1099511628211ull;
        char hex[17];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
        json_object_set_new(json_object_get(out->json, "quality"), "fnv1a", json_string(hex));
    }
    json_t *now = json_object_get(task->options, "now");
    if (now)
        json_object_set(out->json, "now", now); /* lets tests see the date the stage judged by */
    if (task->image_size >= 4 && memcmp(task->image, "FLAG", 4) == 0)
        bn_flag_add(json_object_get(out->json, "flags"), "border_incomplete", 3, 4, -1);
    if (getenv("TW_NOOP"))
        return 0; /* benchmarks: no output blob */
    char *copy = malloc(task->image_size ? task->image_size : 1);
    memcpy(copy, task->image, task->image_size);
    bn_stage_result_add_blob(out, "prepared", "application/octet-stream", copy, task->image_size);
    return 0;
}

int main(int argc, char **argv)
{
    return bn_worker_main(argc, argv, "beian.quality", s_stage);
}
