/* Fuzz a client's submit spec: the JSON a portal sends as beian.submit's first frame, as the
 * broker takes it (s_submit: json_loadb, bn_job_spec_validate, profile and option checks) and
 * then uses it (form check, plan, the result document of a job with no stage run yet, and of
 * one that finished: the application rules over the form).
 * Input: the spec's bytes. It is validated against 3 attached frames and against none. */
#include "core/bn_error.h"
#include "core/bn_job.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    for (size_t nblobs = 0; nblobs <= 3; nblobs += 3) {
        json_t *spec = json_loadb((const char *)data, size, 0, &jerr);
        if (!spec)
            return 0;
        if (bn_job_spec_validate(spec, nblobs) == 0) {
            bn_job_profile_check(spec, NULL);
            bn_job_options_check(spec, NULL);
            bn_job_form_check(spec);
            bn_plan_task_t tasks[BN_MAX_DOCS * 2 + 1];
            int n = bn_job_plan(spec, tasks, (int)(sizeof tasks / sizeof tasks[0]));
            if (n < 0 || n > (int)(sizeof tasks / sizeof tasks[0]))
                abort();
            for (int i = 0; i < n; i++)
                if (tasks[i].dep >= i || tasks[i].dep < -1)
                    abort(); /* a task waits only for an earlier one */
            json_t *results[BN_MAX_DOCS * 2 + 1] = {0};
            for (int done = 0; done < 2; done++) {
                json_t *r = bn_job_result("fuzz", done ? "done" : "queued", spec, tasks, n, results, NULL, NULL);
                if (!json_is_object(r))
                    abort();
                free(json_dumps(r, 0));
                json_decref(r);
            }
        }
        json_decref(spec);
        bn_error_clear();
    }
    return 0;
}
