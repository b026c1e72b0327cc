#include "core/bn_file.h"
#include "core/bn_error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void *bn_file_read_fd(int fd, const char *name, size_t max_bytes, size_t *size)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        bn_error_set("file_unreadable", "%s: not a regular file", name);
        return NULL;
    }
    if ((size_t)st.st_size > max_bytes) {
        bn_error_set("file_too_large", "%s: %lld bytes, more than %zu", name, (long long)st.st_size, max_bytes);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = 0;
    while (buf && n < (size_t)st.st_size) {
        ssize_t r = pread(fd, buf + n, (size_t)st.st_size - n, (off_t)n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    if (!buf || n != (size_t)st.st_size) {
        bn_error_set("file_unreadable", "%s: short read", name);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *size = n;
    return buf;
}

void *bn_file_read(const char *path, size_t max_bytes, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        bn_error_set("file_unreadable", "%s: %s", path, strerror(errno));
        return NULL;
    }
    void *buf = bn_file_read_fd(fd, path, max_bytes, size);
    close(fd);
    return buf;
}
