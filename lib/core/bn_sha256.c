#include "core/bn_sha256.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

/* The implementation, fetched once: EVP_sha256() makes OpenSSL 3 look it up again on every
 * EVP_Digest (its allocation and name lookups were near the top of the broker's profile on the
 * PostgreSQL submission path, bench_broker "Stores"). */
static EVP_MD *s_md;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static void s_fetch(void) { s_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

int bn_sha256_hex(const void *data, size_t size, char hex[65])
{
    static const char h[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int n = 0;
    hex[0] = '\0';
    pthread_once(&s_once, s_fetch);
    if (!EVP_Digest(data, size, md, &n, s_md ? s_md : EVP_sha256(), NULL) || n != 32)
        return -1;
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = h[md[i] >> 4];
        hex[2 * i + 1] = h[md[i] & 15];
    }
    hex[64] = '\0';
    return 0;
}

int bn_sha256_matches(const void *data, size_t size, const char *want)
{
    char hex[65];
    return want && strlen(want) == 64 && bn_sha256_hex(data, size, hex) == 0 && memcmp(hex, want, 64) == 0;
}
