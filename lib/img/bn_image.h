/* bn_image — the one in-memory image type every stage shares, and safe decoding of untrusted
 * uploads with libvips.
 *
 * Pixels are 8-bit, interleaved, row-major, stride = width * bands (1 = grey, 3 = RGB). A plain
 * struct so C (Leptonica, Tesseract) and the C++ OpenCV wrappers can wrap it without copying
 * (cv::Mat(h, w, CV_8UC3, data)). */
#ifndef BN_IMAGE_H
#define BN_IMAGE_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int width, height, bands;
    uint8_t *data; /* malloc'd, width*height*bands bytes */
} bn_image_t;

/* Limits checked on the header, before any pixel is decoded (decompression bombs are refused
 * without allocating). Zero means the default shown (the quality stage sets them from
 * quality.decode.* in configuration, docs/QUALITY.md). */
typedef struct {
    size_t max_bytes;     /* default 30 MB */
    uint64_t max_pixels;  /* default 100 MP */
    int max_side;         /* default 20000 */
    int shrink_to;        /* if > 0, shrink-on-load so that the long side is >= shrink_to but
                             no larger than needed (JPEG DCT scaling); 0 = full size */
    int max_scans;        /* default 100: JPEG scans (a progressive file has ~10; each scan is a
                             pass over the whole image, 2,646 of them took 65 s) */
    uint64_t max_frame_bytes; /* default 256 MB: what a progressive JPEG or an interlaced PNG
                             must hold whole before the first row comes out (they cannot
                             stream, nor shrink on load) */
} bn_decode_limits_t;

typedef struct {
    char format[8];       /* "jpeg" "png" "bmp" "tiff" "webp" */
    int orig_width, orig_height; /* as stored, before orientation and shrink */
    int orientation;      /* EXIF orientation applied (1..8), 1 when none */
    double shrink;        /* orig long side / decoded long side (>= 1) */
    char software[64];    /* EXIF/XMP software tag, "" when none (edited_suspect) */
    int has_alpha, is_grey_stored, bits;
} bn_decode_info_t;

bn_image_t *bn_image_new(int width, int height, int bands);  /* zeroed pixels */
void bn_image_destroy(bn_image_t **self_p);

/* Sniff the format from magic bytes: "jpeg" "png" "bmp" "tiff" "webp" or NULL. */
const char *bn_image_sniff(const uint8_t *data, size_t size);

/* Decode untrusted bytes to RGB (bands = 3), EXIF orientation applied. On failure returns NULL
 * with bn_error set to one of: format_unsupported, image_too_large (bytes or pixels over the
 * limits, or a progressive/interlaced frame over max_frame_bytes), image_too_complex (more JPEG
 * scans than max_scans), image_corrupt (truncated or undecodable). */
bn_image_t *bn_image_decode(const uint8_t *data, size_t size, const bn_decode_limits_t *limits,
                            bn_decode_info_t *info);

/* Initialise libvips once per process (thread-safe); 0 or -1 with bn_error. Decode/encode call
 * it themselves. */
int bn_vips_init(void);

/* Encode as baseline JPEG, no metadata. quality 1..100. Returns malloc'd bytes or NULL. */
void *bn_image_encode_jpeg(const bn_image_t *img, int quality, size_t *size_out);

#endif
