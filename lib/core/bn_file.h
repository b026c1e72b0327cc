/* bn_file — read a whole file, capped. */
#ifndef BN_FILE_H
#define BN_FILE_H
#include <stddef.h>

/* The file's bytes, malloc'd, with a NUL after them (so text can be parsed in place);
 * *size excludes the NUL. NULL with bn_error file_unreadable or file_too_large (> max_bytes). */
void *bn_file_read(const char *path, size_t max_bytes, size_t *size);
/* The same from a file already open (fd stays open; name is for messages only): for callers
 * that check what they opened before reading it (beian batch's folder confinement). */
void *bn_file_read_fd(int fd, const char *name, size_t max_bytes, size_t *size);

#endif
