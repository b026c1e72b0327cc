/* beian keygen — a CURVE key pair in CZMQ's certificate format.
 *
 * NAME.key holds the public key and metadata (copy it into the broker's --allow directory);
 * NAME.key_secret holds both keys (keep it on the client or worker; created 0600). For a worker,
 * --services lists the services it may register for: the broker refuses any other. For a
 * client, --tenant binds the key to a tenant: the broker scopes all its jobs to it (a key
 * without one is bound to "default"). */
#include "cli.h"
#include "core/bn_job.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Create the secret file empty and owner-only before a byte of key is written (issue #11).
 * zcert_save fopen()s with 0666 & ~umask and the chmod came after, so under umask 022 the
 * secret key lay world-readable for a moment. zcert_save_secret's fopen("w") then truncates
 * this file and keeps its mode. O_EXCL: an existing file would keep its old (maybe looser) mode
 * through that fopen, and a secret key is not something to replace silently anyway. */
static int s_create_private(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    int rc = fchmod(fd, 0600); /* a umask such as 0277 would leave the owner unable to write */
    close(fd);
    return rc;
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
    char path[4096], secret[4200];
    snprintf(path, sizeof path, "%s/%s.key", dir, name);
    snprintf(secret, sizeof secret, "%s_secret", path);
    if (s_create_private(secret) < 0) {
        int e = errno;
        fprintf(stderr, "beian keygen: %s: %s: %s\n", e == EEXIST ? "key_exists" : "file_unwritable", secret,
                e == EEXIST ? "already exists; not overwriting a secret key (remove it first)" : strerror(e));
        zcert_destroy(&cert);
        return EXIT_BAD_INPUT;
    }
    if (zcert_save_secret(cert, secret) < 0 || zcert_save_public(cert, path) < 0) {
        fprintf(stderr, "beian keygen: file_unwritable: cannot write %s\n", path);
        unlink(secret);
        zcert_destroy(&cert);
        return EXIT_BAD_INPUT;
    }
    printf("{\"name\":\"%s\",\"public\":\"%s\",\"public_file\":\"%s/%s.key\",\"secret_file\":\"%s\"}\n", name,
           zcert_public_txt(cert), dir, name, secret);
    zcert_destroy(&cert);
    return 0;
}
