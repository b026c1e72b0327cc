/* bn_error — a uniform error buffer, in the manner of libvips' vips_error().
 *
 * A function that fails sets a stable machine code (lower_snake_case, part of the public
 * contract: see docs/RESULTS.md "Error codes") and a human message, then returns -1 or NULL.
 * The caller reads them with bn_error_code()/bn_error_msg(). The buffer is thread-local, so a
 * worker's stage and its watchdog thread never see each other's errors. */
#ifndef BN_ERROR_H
#define BN_ERROR_H

/* Set the error; returns -1 so callers can write `return bn_error_set(...)`. */
int bn_error_set(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *bn_error_code(void); /* "" when none */
const char *bn_error_msg(void);
void bn_error_clear(void);

#endif
