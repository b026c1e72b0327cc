#include "core/bn_sha256.h"

#include <openssl/evp.h>
#include <string.h>

int bn_sha256_hex(const void *data, size_t size, char hex[65])
{
    static const char h[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int n = 0;
    hex[0] = '\0';
    if (!EVP_Digest(data, size, md, &n, EVP_sha256(), NULL) || n != 32)
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
