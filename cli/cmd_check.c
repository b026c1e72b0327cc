/* beian check — the stages in-process, without a daemon (bn_check). */
#include "cli.h"
#include "core/bn_config.h"
#include "core/bn_error.h"
#include "face/bn_face.h"
#include "img/bn_quality.h"
#include "ocr/bn_ocr.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_save_blob(void *arg, int doc, const char *name, const void *data, size_t size)
{
    const char *dir = arg;
    char file[128];
    snprintf(file, sizeof file, "d%d.%s.jpg", doc, name);
    cli_write_file(dir, file, data, size);
}

int cmd_check(int argc, char **argv)
{
    cli_app_t app;
    cli_app_init(&app);
    json_t *opt = json_object_get(app.spec, "options");
    int json_only = 0, rc = EXIT_BAD_INPUT;
    const char *out = NULL, *config_path = NULL;
    static struct option lo[] = {
        {"doc", 1, 0, 'd'}, {"selfie", 1, 0, 's'}, {"form", 1, 0, 'f'}, {"profile", 1, 0, 'P'},
        {"watermark", 0, 0, 'W'}, {"out", 1, 0, 'o'}, {"json", 0, 0, 'j'}, {"config", 1, 0, 'C'},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    /* The upload limit (broker.max_upload) comes from the configuration, and --doc reads its
     * file as the options are parsed: find --config first. */
    for (int i = 1; i < argc; i++)
        if ((!strcmp(argv[i], "--config") || !strcmp(argv[i], "-C")) && i + 1 < argc)
            cli_set_config(argv[i + 1]);
        else if (!strncmp(argv[i], "--config=", 9))
            cli_set_config(argv[i] + 9);
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "d:s:f:o:C:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'd': if (cli_app_add_doc(&app, optarg, NULL) < 0) goto done; break;
        case 's': if (cli_app_set_selfie(&app, optarg, NULL) < 0) goto done; break;
        case 'f': if (cli_app_set_form(&app, optarg, NULL) < 0) goto done; break;
        case 'P': json_object_set_new(opt, "profile", json_string(optarg)); break;
        case 'W': json_object_set_new(opt, "watermark", json_true()); break;
        case 'o': out = optarg; break;
        case 'j': json_only = 1; break;
        case 'C': config_path = optarg; break;
        case 'h':
            printf("usage: beian check --doc TYPE[:SIDE]=FILE[#page=N]... [--selfie F] [--form F.json]\n"
                   "                   [--profile P] [--watermark] [--out DIR] [--config F] [--json]\n"
                   "Runs quality, OCR and face in this process and prints the result document.\n");
            rc = 0;
            goto done;
        default: goto done;
        }
    }
    if (json_array_size(json_object_get(app.spec, "documents")) == 0) {
        fprintf(stderr, "beian check: at least one --doc TYPE[:SIDE]=FILE is required\n");
        goto done;
    }
    bn_config_t *cfg = bn_config_load(config_path);
    if (!cfg) {
        fprintf(stderr, "beian check: %s\n", bn_error_msg());
        goto done;
    }
    bn_stage_fn const stages[BN_STAGE_COUNT] = {bn_quality_run, bn_ocr_run, bn_face_run};
    json_t *result = bn_check_run(app.spec, app.blobs, app.nblobs, stages, cfg, out ? s_save_blob : NULL, (void *)out);
    if (!result) {
        fprintf(stderr, "beian check: %s: %s\n", bn_error_code(), bn_error_msg());
    } else {
        cli_print_result(result, json_only);
        if (out) {
            char *text = json_dumps(result, JSON_INDENT(2));
            cli_write_file(out, "result.json", text, strlen(text));
            free(text);
        }
        json_decref(result);
        rc = EXIT_RESULT;
    }
    bn_config_destroy(&cfg);
done:
    cli_app_clear(&app);
    return rc;
}
