/* bn_test — the few helpers every C unit test shares (header-only: one test, one file).
 *
 *   CHECK(cond)                      count and report a failure, keep going
 *   CHECK(cond, "fmt %s", args...)   the same with a message
 *   bn_test_read(path, &size)        a whole file (malloc'd, NULL if unreadable)
 *   return bn_test_end("name");      exit code: 0 all passed, 1 any failure
 * Tests that cannot run here (missing data or models) print "SKIP: why" and return 77. */
#ifndef BN_TEST_H
#define BN_TEST_H
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int bn_test_failures;

static inline void bn_test_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    fprintf(stderr, "FAIL %s:%d: %s", file, line, cond);
    if (fmt && *fmt) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, ": ");
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fprintf(stderr, "\n");
    bn_test_failures++;
}

#define CHECK(...) BN_CHECK_(__VA_ARGS__, "")
#define BN_CHECK_(cond, ...)                                         \
    do {                                                             \
        if (!(cond))                                                 \
            bn_test_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);    \
    } while (0)

static inline uint8_t *bn_test_read(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *size = b ? (size_t)n : 0;
    return b;
}

static inline int bn_test_end(const char *name)
{
    if (bn_test_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, bn_test_failures);
        return 1;
    }
    printf("%s: all passed\n", name);
    return 0;
}

#endif
