/* bn_pngbomb — a ~100 KB PNG whose IHDR declares 60000 x 60000 RGB (a decompression bomb's
 * header), for the decode test and the quality benchmark. Header-only; written by hand since no
 * encoder would make one. */
#ifndef BN_PNGBOMB_H
#define BN_PNGBOMB_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint32_t bn_png_crc(const uint8_t *d, size_t n, uint32_t c)
{
    c = ~c;
    for (size_t i = 0; i < n; i++) {
        c ^= d[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static size_t bn_png_chunk(uint8_t *out, const char *type, const uint8_t *data, uint32_t len)
{
    out[0] = len >> 24, out[1] = len >> 16, out[2] = len >> 8, out[3] = len;
    memcpy(out + 4, type, 4);
    if (len)
        memcpy(out + 8, data, len);
    uint32_t c = bn_png_crc(out + 4, len + 4, 0);
    out[8 + len] = c >> 24, out[9 + len] = c >> 16, out[10 + len] = c >> 8, out[11 + len] = c;
    return 12 + len;
}

/* malloc'd bytes (free() them); *size gets their length. */
static uint8_t *bn_png_bomb(size_t *size)
{
    uint8_t *b = calloc(1, 110 * 1024), ihdr[13] = {0}, *idat = calloc(1, 100 * 1024);
    *size = 0;
    if (!b || !idat) {
        free(b);
        free(idat);
        return NULL;
    }
    memcpy(b, "\x89PNG\r\n\x1a\n", 8);
    size_t n = 8;
    uint32_t dim = 60000;
    for (int i = 0; i < 2; i++)
        ihdr[i * 4 + 0] = dim >> 24, ihdr[i * 4 + 1] = dim >> 16, ihdr[i * 4 + 2] = dim >> 8, ihdr[i * 4 + 3] = dim;
    ihdr[8] = 8, ihdr[9] = 2; /* 8-bit RGB */
    n += bn_png_chunk(b + n, "IHDR", ihdr, 13);
    idat[0] = 0x78, idat[1] = 0x9c;
    n += bn_png_chunk(b + n, "IDAT", idat, 100 * 1024);
    free(idat);
    n += bn_png_chunk(b + n, "IEND", NULL, 0);
    *size = n;
    return b;
}

#endif
