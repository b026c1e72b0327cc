/* beian keygen — a CURVE key pair in CZMQ's certificate format.
 *
 * NAME.key holds the public key and metadata (copy it into the broker's --allow directory);
 * NAME.key_secret holds both keys (keep it on the client or worker, mode 0600). For a worker,
 * --services lists the services it may register for: the broker refuses any other. For a
 * client, --tenant binds the key to a tenant: the broker scopes all its jobs to it (a key
 * without one is bound to "default"). */
#include "cli.h"
#include "core/bn_job.h"

#include <czmq.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* Every name in the comma-separated list a stage service (beian.quality ...): the broker
 * matches them exactly, so a misspelt one (beian.qualty) would make a certificate whose worker
 * is refused at every READY, found only when jobs stall. Returns 0, or -1 after naming it. */
static int s_services_ok(const char *services)
{
    const char *p = services;
    for (;;) {
        size_t n = strcspn(p, ",");
        int ok = 0;
        for (int s = 0; s < BN_STAGE_COUNT && !ok; s++)
            ok = strlen(bn_stage_service((bn_stage_id_t)s)) == n && !strncmp(p, bn_stage_service((bn_stage_id_t)s), n);
        if (!ok) {
            fprintf(stderr, "beian keygen: unknown service '%.*s' in --services (valid: beian.quality, "
                            "beian.ocr, beian.face; comma-separated, no spaces)\n", (int)n, p);
            return -1;
        }
        if (!p[n])
            return 0;
        p += n + 1;
    }
}

int cmd_keygen(int argc, char **argv)
{
    const char *dir = ".", *services = NULL, *name = NULL, *tenant = NULL;
    static struct option lo[] = {{"dir", 1, 0, 'd'}, {"services", 1, 0, 's'}, {"tenant", 1, 0, 't'},
                                 {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "d:s:t:h", lo, NULL)) != -1) {
        if (ch == 'd') dir = optarg;
        else if (ch == 's') services = optarg;
        else if (ch == 't') tenant = optarg;
        else if (ch == 'h') {
            printf("usage: beian keygen NAME [--dir DIR] [--tenant T] [--services beian.quality,beian.ocr]\n");
            return 0;
        } else return EXIT_BAD_INPUT;
    }
    if (optind < argc)
        name = argv[optind];
    if (!name || !*name || strchr(name, '/')) {
        fprintf(stderr, "beian keygen: a NAME (no '/') is required\n");
        return EXIT_BAD_INPUT;
    }
    if (services && s_services_ok(services) < 0)
        return EXIT_BAD_INPUT;
    if (tenant && !bn_job_tenant_ok(tenant)) {
        fprintf(stderr, "beian keygen: --tenant must be 1..%d characters A-Z a-z 0-9 . _ -\n", BN_TENANT_MAX);
        return EXIT_BAD_INPUT;
    }
    zsys_dir_create("%s", dir);
    zcert_t *cert = zcert_new();
    zcert_set_meta(cert, "name", "%s", name);
    if (services)
        zcert_set_meta(cert, "services", "%s", services);
    if (tenant)
        zcert_set_meta(cert, "tenant", "%s", tenant);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.key", dir, name);
    if (zcert_save(cert, path) < 0) {
        fprintf(stderr, "beian keygen: cannot write %s\n", path);
        zcert_destroy(&cert);
        return EXIT_BAD_INPUT;
    }
    snprintf(path, sizeof path, "%s/%s.key_secret", dir, name);
    chmod(path, 0600);
    printf("{\"name\":\"%s\",\"public\":\"%s\",\"public_file\":\"%s/%s.key\",\"secret_file\":\"%s\"}\n", name,
           zcert_public_txt(cert), dir, name, path);
    zcert_destroy(&cert);
    return 0;
}
