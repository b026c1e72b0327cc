/* Fuzz the decode path of untrusted uploads (bn_image_decode: magic sniffing, the structural
 * pre-checks for JPEG scans and progressive/interlaced frames, libvips' loaders, orientation,
 * band and depth conversion) with its caps on.
 *
 * The caps are lowered (4 MP, 4096 px a side, 64 MB frame) so that one input costs milliseconds
 * rather than the seconds a legitimate 100 MP photo may take: the code that applies the caps is
 * the same at any value, and libFuzzer's own rss/time limits then catch a decoder that ignores
 * them. Input: the file's bytes. */
#include "core/bn_error.h"
#include "img/bn_image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bn_decode_limits_t lim = {.max_bytes = 1 << 20, .max_pixels = 4000000, .max_side = 4096,
                              .max_scans = 100, .max_frame_bytes = 64u << 20};
    bn_decode_info_t info;
    bn_image_sniff(data, size);
    /* every other input shrinks on load (the quality stage's path; the ocr stage's is full size) */
    lim.shrink_to = size && (data[size - 1] & 1) ? 800 : 0;
    bn_image_t *img = bn_image_decode(data, size, &lim, &info);
    if (img) {
        if (img->width < 1 || img->height < 1 || img->bands != 3
            || (uint64_t)img->width * img->height > lim.max_pixels)
            abort(); /* a decoded image is RGB and within the caps */
        volatile uint8_t last = img->data[(size_t)img->width * img->height * 3 - 1];
        (void)last;
        bn_image_destroy(&img);
    } else if (!*bn_error_code())
        abort(); /* a refusal always says why */
    bn_error_clear();
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    /* libvips and GLib keep process-lifetime state from their first call: make it here, not
     * inside the first input, where it would count as that input's leak */
    return bn_vips_init() == 0 ? 0 : 1;
}
