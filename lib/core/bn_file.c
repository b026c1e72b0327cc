#include "core/bn_file.h"
#include "core/bn_error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void *bn_file_read(const char *path, size_t max_bytes, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        bn_error_set("file_unreadable", "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    char *buf = NULL;
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        bn_error_set("file_unreadable", "%s: not a regular file", path);
        goto done;
    }
    if ((size_t)st.st_size > max_bytes) {
        bn_error_set("file_too_large", "%s: %lld bytes, more than %zu", path, (long long)st.st_size, max_bytes);
        goto done;
    }
    buf = malloc((size_t)st.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    if (!buf || n != (size_t)st.st_size) {
        bn_error_set("file_unreadable", "%s: short read", path);
        free(buf);
        buf = NULL;
        goto done;
    }
    buf[n] = '\0';
    *size = n;
done:
    fclose(f);
    return buf;
}
