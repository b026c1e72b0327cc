/* Bearer tokens bound to tenants, stored hashed (gw_tokens.h). */
#include "gw_tokens.h"
#include "core/bn_error.h"
#include "core/bn_job.h"
#include "core/bn_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GW_TOKEN_PREFIX "bnt_"

typedef struct {
    char tenant[65];
    unsigned char hash[crypto_generichash_BYTES];
} s_entry_t;

struct gw_tokens {
    char *path;
    s_entry_t *entries;
    size_t count;
    struct timespec mtime;
    off_t size;
    int loaded;
};

gw_tokens_t *gw_tokens_new(const char *path)
{
    gw_tokens_t *self = calloc(1, sizeof *self);
    self->path = strdup(path);
    return self;
}

void gw_tokens_destroy(gw_tokens_t **self_p)
{
    gw_tokens_t *self = *self_p;
    if (!self)
        return;
    sodium_memzero(self->entries, self->count * sizeof *self->entries);
    free(self->entries);
    free(self->path);
    free(self);
    *self_p = NULL;
}

static void s_hash(const char *token, unsigned char out[crypto_generichash_BYTES])
{
    crypto_generichash(out, crypto_generichash_BYTES, (const unsigned char *)token, strlen(token), NULL, 0);
}

static void s_load(gw_tokens_t *self)
{
    free(self->entries);
    self->entries = NULL;
    self->count = 0;
    FILE *f = fopen(self->path, "r");
    if (!f) {
        bn_warn("tokens file %s: %s; every request is refused", self->path, strerror(errno));
        return;
    }
    char line[512];
    size_t cap = 0;
    for (int n = 1; fgets(line, sizeof line, f); n++) {
        char tenant[128], hex[128];
        if (line[0] == '#' || strspn(line, " \t\r\n") == strlen(line))
            continue;
        unsigned char hash[crypto_generichash_BYTES];
        size_t bin = 0;
        if (sscanf(line, "%127s blake2b:%127s", tenant, hex) != 2 || !bn_job_tenant_ok(tenant)
            || strlen(hex) != 2 * sizeof hash
            || sodium_hex2bin(hash, sizeof hash, hex, strlen(hex), NULL, &bin, NULL) != 0 || bin != sizeof hash) {
            bn_warn("tokens file %s line %d: not 'TENANT blake2b:HEX64'; ignored", self->path, n);
            continue;
        }
        if (self->count == cap) {
            cap = cap ? 2 * cap : 16;
            self->entries = realloc(self->entries, cap * sizeof *self->entries);
        }
        memcpy(self->entries[self->count].tenant, tenant, strlen(tenant) + 1); /* 1..64: tenant_ok */
        memcpy(self->entries[self->count++].hash, hash, sizeof hash);
    }
    fclose(f);
    bn_info("tokens file %s: %zu tokens", self->path, self->count);
}

int gw_tokens_check(gw_tokens_t *self, const char *token, char tenant[65])
{
    struct stat st;
    if (stat(self->path, &st) < 0)
        memset(&st, 0, sizeof st);
    if (!self->loaded || st.st_mtim.tv_sec != self->mtime.tv_sec || st.st_mtim.tv_nsec != self->mtime.tv_nsec
        || st.st_size != self->size) {
        s_load(self);
        self->loaded = 1;
        self->mtime = st.st_mtim;
        self->size = st.st_size;
    }
    if (!token || strncmp(token, GW_TOKEN_PREFIX, strlen(GW_TOKEN_PREFIX)) != 0)
        return -1;
    unsigned char hash[crypto_generichash_BYTES];
    s_hash(token, hash);
    /* Every entry is compared, in constant time: the time taken tells nothing of which one. */
    int found = -1;
    for (size_t i = 0; i < self->count; i++)
        if (sodium_memcmp(hash, self->entries[i].hash, sizeof hash) == 0 && found < 0)
            found = (int)i;
    if (found < 0)
        return -1;
    memcpy(tenant, self->entries[found].tenant, 65);
    return 0;
}

int gw_tokens_add(const char *path, const char *tenant, const char *label, char out[69])
{
    if (!bn_job_tenant_ok(tenant))
        return bn_error_set("bad_request", "tenant must be 1..64 characters A-Z a-z 0-9 . _ -");
    if (label && strpbrk(label, "\r\n"))
        return bn_error_set("bad_request", "the label must be one line");
    if (sodium_init() < 0)
        return bn_error_set("internal", "libsodium did not initialise");
    unsigned char raw[32], hash[crypto_generichash_BYTES];
    char hex[2 * sizeof hash + 1];
    randombytes_buf(raw, sizeof raw);
    memcpy(out, GW_TOKEN_PREFIX, 4);
    sodium_bin2hex(out + 4, 65, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    s_hash(out, hash);
    sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
    /* The hash only, but still the list of who may call: 0600 whatever the umask. */
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || fchmod(fd, 0600) < 0) {
        bn_error_set("file_unwritable", "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char line[600];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int n = snprintf(line, sizeof line, "%s blake2b:%s %s%s%s\n", tenant, hex, when, label ? " " : "", label ? label : "");
    int rc = n > 0 && n < (int)sizeof line && write(fd, line, (size_t)n) == n && fsync(fd) == 0 ? 0 : -1;
    if (rc < 0)
        bn_error_set("file_unwritable", "%s: %s", path, strerror(errno));
    close(fd);
    return rc;
}
