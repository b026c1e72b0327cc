/* bn_log — one logging path for every binary, and the masks that keep personal data out of it.
 *
 * Logs go to stderr as "2026-11-28T20:50:01Z beiand I message". Personal data never reaches a log
 * line in clear: call bn_mask_id() / bn_mask_name() on anything that came from a document or a
 * form. Masks follow the PIPL guidance in the filing notes: 110101********1234, 张*丰. */
#ifndef BN_LOG_H
#define BN_LOG_H
#include <stddef.h>

typedef enum { BN_LOG_DEBUG = 0, BN_LOG_INFO, BN_LOG_WARN, BN_LOG_ERROR } bn_log_level_t;

void bn_log_init(const char *program, bn_log_level_t min_level);
void bn_log(bn_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define bn_debug(...) bn_log(BN_LOG_DEBUG, __VA_ARGS__)
#define bn_info(...)  bn_log(BN_LOG_INFO, __VA_ARGS__)
#define bn_warn(...)  bn_log(BN_LOG_WARN, __VA_ARGS__)
#define bn_error(...) bn_log(BN_LOG_ERROR, __VA_ARGS__)

/* Mask an identity-document number: keep the first 6 and last 4 characters of numbers of 12 or
 * more characters (110101********1234), first 2 and last 2 of shorter ones (H1*****78), all stars
 * when shorter than 6. Writes a NUL-terminated string into out (UTF-8, size bytes). */
char *bn_mask_id(const char *number, char *out, size_t size);
/* Mask a name: for 2 characters keep the first (张*), for 3+ keep first and last with one star
 * per hidden character (张*丰, 欧阳**); Latin names keep first letter of each word (J*** S****). */
char *bn_mask_name(const char *name, char *out, size_t size);

#endif
