#include "core/bn_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *s_program = "beian";
static bn_log_level_t s_min = BN_LOG_INFO;

void bn_log_init(const char *program, bn_log_level_t min_level)
{
    s_program = program;
    s_min = min_level;
}

void bn_log(bn_log_level_t level, const char *fmt, ...)
{
    if (level < s_min)
        return;
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* One fprintf per line so lines from several processes sharing a terminal do not interleave. */
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s %s %c %s\n", stamp, s_program, "DIWE"[level], line);
}

/* Length in bytes of the UTF-8 sequence starting with byte c (1 for invalid bytes, so we always
 * make progress). */
static size_t s_u8len(unsigned char c)
{
    if (c >= 0xF0) return 4;
    if (c >= 0xE0) return 3;
    if (c >= 0xC0) return 2;
    return 1;
}

char *bn_mask_id(const char *number, char *out, size_t size)
{
    if (!out || size == 0)
        return out;
    size_t n = number ? strlen(number) : 0;
    size_t head = n >= 12 ? 6 : 2, tail = n >= 12 ? 4 : 2;
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < size; i++) {
        int keep = n >= 6 && (i < head || i >= n - tail);
        out[o++] = keep ? number[i] : '*';
    }
    out[o] = '\0';
    return out;
}

char *bn_mask_name(const char *name, char *out, size_t size)
{
    if (!out || size == 0)
        return out;
    out[0] = '\0';
    if (!name)
        return out;
    size_t n = strlen(name), o = 0;
    int latin = 1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] >= 0x80) latin = 0;
    if (latin) {
        /* Keep the first letter of each word. */
        int start = 1;
        for (size_t i = 0; i < n && o + 1 < size; i++) {
            char c = name[i];
            int sep = (c == ' ' || c == '<' || c == ',' || c == '-');
            out[o++] = sep ? c : (start ? c : '*');
            start = sep;
        }
        out[o] = '\0';
        return out;
    }
    /* Count characters (code points). */
    size_t chars = 0;
    for (size_t i = 0; i < n; i += s_u8len((unsigned char)name[i]))
        chars++;
    size_t idx = 0;
    for (size_t i = 0; i < n; idx++) {
        size_t l = s_u8len((unsigned char)name[i]);
        int keep = idx == 0 || (chars >= 3 && idx == chars - 1);
        if (keep) {
            if (o + l + 1 > size) break;
            memcpy(out + o, name + i, l);
            o += l;
        } else {
            if (o + 2 > size) break;
            out[o++] = '*';
        }
        i += l;
    }
    out[o] = '\0';
    return out;
}
