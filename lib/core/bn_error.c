#include "core/bn_error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char s_code[48];
static _Thread_local char s_msg[512];

int bn_error_set(const char *code, const char *fmt, ...)
{
    snprintf(s_code, sizeof s_code, "%s", code ? code : "internal");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s_msg, sizeof s_msg, fmt, ap);
    va_end(ap);
    return -1;
}

const char *bn_error_code(void) { return s_code; }
const char *bn_error_msg(void) { return s_msg; }
void bn_error_clear(void) { s_code[0] = s_msg[0] = '\0'; }
