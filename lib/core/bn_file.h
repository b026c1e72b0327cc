/* bn_file — read a whole file, capped. */
#ifndef BN_FILE_H
#define BN_FILE_H
#include <stddef.h>

/* The file's bytes, malloc'd, with a NUL after them (so text can be parsed in place);
 * *size excludes the NUL. NULL with bn_error file_unreadable or file_too_large (> max_bytes). */
void *bn_file_read(const char *path, size_t max_bytes, size_t *size);

#endif
