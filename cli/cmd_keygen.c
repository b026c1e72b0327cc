/* beian keygen — a CURVE key pair in CZMQ's certificate format.
 *
 * NAME.key holds the public key and metadata (copy it into the broker's --allow directory);
 * NAME.key_secret holds both keys (keep it on the client or worker, mode 0600). For a worker,
 * --services lists the services it may register for: the broker refuses any other. */
#include "cli.h"

#include <czmq.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

int cmd_keygen(int argc, char **argv)
{
    const char *dir = ".", *services = NULL, *name = NULL;
    static struct option lo[] = {{"dir", 1, 0, 'd'}, {"services", 1, 0, 's'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "d:s:h", lo, NULL)) != -1) {
        if (ch == 'd') dir = optarg;
        else if (ch == 's') services = optarg;
        else if (ch == 'h') {
            printf("usage: beian keygen NAME [--dir DIR] [--services beian.quality,beian.ocr]\n");
            return 0;
        } else return EXIT_BAD_INPUT;
    }
    if (optind < argc)
        name = argv[optind];
    if (!name || !*name || strchr(name, '/')) {
        fprintf(stderr, "beian keygen: a NAME (no '/') is required\n");
        return EXIT_BAD_INPUT;
    }
    zsys_dir_create("%s", dir);
    zcert_t *cert = zcert_new();
    zcert_set_meta(cert, "name", "%s", name);
    if (services)
        zcert_set_meta(cert, "services", "%s", services);
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
