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
    /* PDF uploads (one page is rendered; docs/QUALITY.md "PDF"). */
    double pdf_dpi;       /* default 200: the page's "upload pixels"; lowered to fit max_side and
                             max_pixels, down to pdf_dpi / 8 (below that: image_too_large) */
    int pdf_max_pages;    /* default 50: more pages -> pdf_too_many_pages */
    int pdf_timeout_ms;   /* default 10000: rendering stops (image_too_complex) when it runs
                             longer; checked between the render's strips */
} bn_decode_limits_t;

typedef struct {
    char format[8];       /* "jpeg" "png" "bmp" "tiff" "webp" "pdf" */
    int orig_width, orig_height; /* as stored, before orientation and shrink */
    int orientation;      /* EXIF orientation applied (1..8), 1 when none */
    double shrink;        /* orig long side / decoded long side (>= 1) */
    char software[64];    /* EXIF/XMP software tag, "" when none (edited_suspect) */
    int has_alpha, is_grey_stored, bits;
    int pages;            /* PDF: the document's page count (0 for images) */
    int page;             /* PDF: the page rendered, 1-based (0 for images) */
    double dpi;           /* PDF: the resolution orig_width/orig_height are at (0 for images) */
} bn_decode_info_t;

bn_image_t *bn_image_new(int width, int height, int bands);  /* zeroed pixels */
void bn_image_destroy(bn_image_t **self_p);

/* Sniff the format from magic bytes: "jpeg" "png" "bmp" "tiff" "webp" "pdf" or NULL. */
const char *bn_image_sniff(const uint8_t *data, size_t size);

/* Decode untrusted bytes to RGB (bands = 3), EXIF orientation applied. On failure returns NULL
 * with bn_error set to one of: format_unsupported, image_too_large (bytes or pixels over the
 * limits, or a progressive/interlaced frame over max_frame_bytes), image_too_complex (more JPEG
 * scans than max_scans), image_corrupt (truncated or undecodable). */
bn_image_t *bn_image_decode(const uint8_t *data, size_t size, const bn_decode_limits_t *limits,
                            bn_decode_info_t *info);

/* The same, naming the page of a PDF (1-based; 0 = the first; ignored for images). A PDF page is
 * rendered at limits->pdf_dpi through libvips' PDF loader (poppler), with the caps above applied
 * to the render. Further errors for PDFs: pdf_encrypted, pdf_active_content (/JavaScript, /JS,
 * /Launch in the document's dictionaries), pdf_too_many_pages (over pdf_max_pages),
 * pdf_page_missing (page beyond the last), image_too_complex (render over pdf_timeout_ms),
 * image_corrupt (poppler's reason in the message). */
bn_image_t *bn_image_decode_page(const uint8_t *data, size_t size, const bn_decode_limits_t *limits, int page,
                                 bn_decode_info_t *info);

/* Raw-byte scan of a PDF before any parser sees it (no allocation but a bounded inflate of
 * compressed object streams): 0 when clean, else -1 with bn_error pdf_encrypted or
 * pdf_active_content. Exposed for the tests. */
int bn_pdf_scan(const uint8_t *data, size_t size);

struct bn_config;
/* The PDF settings every stage must share (quality.decode.pdf_dpi, pdf_max_pages,
 * pdf_timeout_ms): the quality stage's geometry hints are in the render's pixels, so the ocr and
 * face stages render at the same resolution. */
void bn_decode_limits_pdf(bn_decode_limits_t *lim, const struct bn_config *config);

/* Initialise libvips once per process (thread-safe); 0 or -1 with bn_error. Decode/encode call
 * it themselves. */
int bn_vips_init(void);

/* Encode as baseline JPEG, no metadata. quality 1..100. Returns malloc'd bytes or NULL. */
void *bn_image_encode_jpeg(const bn_image_t *img, int quality, size_t *size_out);

#endif
