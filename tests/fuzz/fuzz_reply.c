/* Fuzz a worker's stage reply: untrusted JSON that becomes part of the result document
 * (bn_job_reply_check, bn_job_reply_accept), then aggregated as the reply of every task of a
 * two-sided ID card job with a selfie (bn_job_result, which also runs the cross-document
 * checks over whatever the replies claim the documents say).
 * Input: the reply's bytes. */
#include "core/bn_error.h"
#include "core/bn_job.h"

#include <stdint.h>
#include <stdlib.h>

static json_t *s_spec;
static bn_plan_task_t s_tasks[8];
static int s_ntasks;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    json_error_t jerr;
    s_spec = json_loads("{\"documents\": [{\"type\": \"id-card\", \"side\": \"front\", \"blob\": 1},"
                        " {\"type\": \"id-card\", \"side\": \"back\", \"blob\": 2}], \"selfie\": 3,"
                        " \"form\": {\"name\": \"\u5f20\u4e09\", \"id_number\": \"11010119900307123X\"},"
                        " \"options\": {\"now\": \"2026-01-01\"}}", 0, &jerr);
    if (!s_spec || bn_job_spec_validate(s_spec, 3) != 0)
        abort();
    s_ntasks = bn_job_plan(s_spec, s_tasks, 8);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *reply = json_loadb((const char *)data, size, 0, &jerr);
    if (!reply)
        return 0;
    int plain = bn_job_reply_check(reply, 0), named = bn_job_reply_check(reply, 1);
    if (plain == 0 && named != 0)
        abort(); /* named_blobs only ever allows more */
    json_t *accepted = bn_job_reply_accept(reply);
    if (!json_is_object(accepted))
        abort();
    if (plain != 0 && json_is_true(json_object_get(accepted, "ok")))
        abort(); /* a malformed reply is never a pass */
    json_t *results[8] = {0};
    for (int i = 0; i < s_ntasks; i++)
        results[i] = accepted;
    json_t *r = bn_job_result("fuzz", "done", s_spec, s_tasks, s_ntasks, results, NULL, NULL);
    if (!json_is_object(r))
        abort();
    free(json_dumps(r, 0));
    json_decref(r);
    json_decref(accepted);
    bn_error_clear();
    return 0;
}
