/* bn_image — safe decoding of untrusted uploads with libvips.
 *
 * The order matters: sniff the magic bytes (never trust a name or a MIME type), check the byte
 * count, open the image lazily (libvips reads only the header), check the declared size against
 * the caps, and only then decode pixels — so a 100 KB PNG that declares 60000×60000 is refused
 * before a single row is allocated. */
#include "img/bn_image.h"
#include "core/bn_error.h"
#include "core/bn_log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

#define DEFAULT_MAX_BYTES (30u * 1024 * 1024)
#define DEFAULT_MAX_PIXELS (100ull * 1000 * 1000)
#define DEFAULT_MAX_SIDE 20000
#define DEFAULT_MAX_SCANS 100
#define DEFAULT_MAX_FRAME_BYTES (256ull * 1024 * 1024)

static pthread_once_t s_vips_once = PTHREAD_ONCE_INIT;
static int s_vips_ok;

/* libvips reports recoverable decoder complaints (odd JFIF versions, extra bytes) as GLib
 * warnings on stderr; they belong in our log at debug level, not in a worker's output. */
static void s_vips_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
    (void)domain, (void)level, (void)data;
    bn_debug("libvips: %s", msg);
}

static void s_vips_init(void)
{
    if (VIPS_INIT("beian") != 0)
        return;
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO, s_vips_log, NULL);
    /* No operation cache: every upload is different, and cached decoded images would only
     * hold memory between jobs. Workers run one job at a time on a shared machine, so a small
     * thread pool is enough unless the operator says otherwise. */
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    if (!getenv("VIPS_CONCURRENCY"))
        vips_concurrency_set(2);
    s_vips_ok = 1;
}

int bn_vips_init(void)
{
    pthread_once(&s_vips_once, s_vips_init);
    return s_vips_ok ? 0 : bn_error_set("internal", "libvips failed to initialise");
}

bn_image_t *bn_image_new(int width, int height, int bands)
{
    if (width <= 0 || height <= 0 || (bands != 1 && bands != 3))
        return NULL;
    bn_image_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->width = width;
    self->height = height;
    self->bands = bands;
    self->data = calloc((size_t)width * height, (size_t)bands);
    if (!self->data) {
        free(self);
        return NULL;
    }
    return self;
}

void bn_image_destroy(bn_image_t **self_p)
{
    if (self_p && *self_p) {
        free((*self_p)->data);
        free(*self_p);
        *self_p = NULL;
    }
}

const char *bn_image_sniff(const uint8_t *d, size_t n)
{
    if (!d)
        return NULL;
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF)
        return "jpeg";
    if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "png";
    if (n >= 14 && d[0] == 'B' && d[1] == 'M')
        return "bmp";
    if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0))
        return "tiff";
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
        return "webp";
    return NULL;
}

/* The editing software named in the metadata: EXIF Software, XMP CreatorTool, PNG text. libvips
 * renders EXIF strings as "value (value, ASCII, n components, n bytes)": keep the value. */
static void s_software(VipsImage *im, char *out, size_t size)
{
    const char *s = NULL;
    out[0] = '\0';
    if (vips_image_get_typeof(im, "exif-ifd0-Software") &&
        vips_image_get_string(im, "exif-ifd0-Software", &s) == 0 && s) {
        size_t len = strcspn(s, "(");
        while (len > 0 && s[len - 1] == ' ')
            len--;
        snprintf(out, size, "%.*s", (int)len, s);
        return;
    }
    if (vips_image_get_typeof(im, "png-comment-0-Software") &&
        vips_image_get_string(im, "png-comment-0-Software", &s) == 0 && s) {
        snprintf(out, size, "%s", s);
        return;
    }
    const void *xmp;
    size_t xlen;
    if (vips_image_get_typeof(im, VIPS_META_XMP_NAME) &&
        vips_image_get_blob(im, VIPS_META_XMP_NAME, &xmp, &xlen) == 0) {
        /* Bounded scan of the XMP packet (it is not NUL-terminated). */
        const char *x = xmp, *end = x + xlen;
        static const char key[] = "CreatorTool";
        for (const char *p = x; p + sizeof key < end; p++) {
            if (memcmp(p, key, sizeof key - 1) != 0)
                continue;
            p += sizeof key - 1;
            while (p < end && (*p == '=' || *p == '"' || *p == '>' || *p == ' '))
                p++;
            size_t len = 0;
            while (p + len < end && p[len] != '"' && p[len] != '<' && len + 1 < size)
                len++;
            snprintf(out, size, "%.*s", (int)len, p);
            return;
        }
    }
}

/* Largest power-of-two shrink (<= 8) that keeps the long side >= target and leaves the short
 * side at least 8 px (a 20000 x 1 strip must not shrink to nothing). */
static int s_largest_pow2_shrink(int long_side, int short_side, int target)
{
    int s = 1;
    if (target <= 0)
        return 1;
    while (s < 8 && long_side / (s * 2) >= target && short_side / (s * 2) >= 8)
        s *= 2;
    return s;
}

/* What a decoder must hold whole: a JPEG's scans are counted by walking its markers (the
 * entropy-coded data of a scan runs to the next marker; 0xFF00 and RST markers are part of it),
 * and a JPEG of more than one scan keeps every coefficient of the frame (2 bytes per sample,
 * three samples per pixel at most) until its last scan: a progressive one (Huffman or
 * arithmetic coded), and a sequential one whose components come in separate scans (libjpeg
 * buffers both alike; tests/it_hostile.py: either at 10000^2 peaked near 900 MB when only SOF2
 * was looked at). An interlaced PNG keeps every pixel at its stored depth. A BMP's declared
 * size is checked here too: its loader (ImageMagick) otherwise decides by its own policy file.
 * Cheap (one pass over the bytes, no allocation) and before libvips sees a byte.
 * Returns 0, or -1 with bn_error. */
static int s_structure_check(const uint8_t *d, size_t n, const char *fmt, const bn_decode_limits_t *lim)
{
    if (!strcmp(fmt, "png") && n >= 29 && !memcmp(d + 12, "IHDR", 4)) { /* the first chunk: width, height,
                                                                           depth, colour, ..., interlace */
        uint64_t w = (uint64_t)d[16] << 24 | d[17] << 16 | d[18] << 8 | d[19];
        uint64_t h = (uint64_t)d[20] << 24 | d[21] << 16 | d[22] << 8 | d[23];
        int depth = d[24], colour = d[25], interlace = d[28];
        int ch = colour == 2 ? 3 : colour == 4 ? 2 : colour == 6 ? 4 : 1;
        uint64_t bytes = w * h * (uint64_t)ch * (uint64_t)(depth > 8 ? depth / 8 : 1);
        if (interlace && bytes > lim->max_frame_bytes)
            return bn_error_set("image_too_large", "interlaced PNG of %llu x %llu would need %llu MB whole (limit %llu MB)",
                                (unsigned long long)w, (unsigned long long)h, (unsigned long long)(bytes >> 20),
                                (unsigned long long)(lim->max_frame_bytes >> 20));
        return 0;
    }
    if (!strcmp(fmt, "bmp") && n >= 26) { /* BITMAPCOREHEADER (12 bytes): 16-bit sides; later ones: 32-bit */
        uint32_t hsize = (uint32_t)d[14] | d[15] << 8 | d[16] << 16 | (uint32_t)d[17] << 24;
        int64_t w = hsize == 12 ? d[18] | d[19] << 8 : (int32_t)((uint32_t)d[18] | d[19] << 8 | d[20] << 16 | (uint32_t)d[21] << 24);
        int64_t h = hsize == 12 ? d[20] | d[21] << 8 : (int32_t)((uint32_t)d[22] | d[23] << 8 | d[24] << 16 | (uint32_t)d[25] << 24);
        h = h < 0 ? -h : h; /* negative: stored top-down */
        if (w > lim->max_side || h > lim->max_side || (uint64_t)(w > 0 ? w : 0) * (uint64_t)h > lim->max_pixels)
            return bn_error_set("image_too_large", "image declares %lld x %lld pixels, over the limit", (long long)w,
                                (long long)h);
        return 0;
    }
    if (strcmp(fmt, "jpeg"))
        return 0;
    int scans = 0, progressive = 0;
    uint64_t w = 0, h = 0;
    size_t i = 2;
    while (i + 4 <= n) {
        if (d[i] != 0xFF) { /* inside a scan's data: on to the next real marker */
            i++;
            continue;
        }
        uint8_t m = d[i + 1];
        if (m == 0x00 || m == 0xFF || (m >= 0xD0 && m <= 0xD7)) {
            i++;
            continue;
        }
        if (m == 0xD9) /* EOI */
            break;
        size_t len = (size_t)d[i + 2] << 8 | d[i + 3];
        /* SOF0-2 (Huffman), SOF9-10 (arithmetic): the frames libjpeg decodes */
        if ((m == 0xC0 || m == 0xC1 || m == 0xC2 || m == 0xC9 || m == 0xCA) && i + 9 <= n) {
            progressive |= m == 0xC2 || m == 0xCA;
            h = (uint64_t)d[i + 5] << 8 | d[i + 6];
            w = (uint64_t)d[i + 7] << 8 | d[i + 8];
        }
        if (m == 0xDA && ++scans > lim->max_scans)
            return bn_error_set("image_too_complex", "JPEG with more than %d scans (a progressive photo has ~10)",
                                lim->max_scans);
        i += 2 + len;
    }
    if ((progressive || scans > 1) && w * h * 6 > lim->max_frame_bytes)
        return bn_error_set("image_too_large", "%s JPEG of %llu x %llu would need %llu MB whole (limit %llu MB)",
                            progressive ? "progressive" : "multi-scan", (unsigned long long)w, (unsigned long long)h,
                            (unsigned long long)(w * h * 6 >> 20),
                            (unsigned long long)(lim->max_frame_bytes >> 20));
    return 0;
}

bn_image_t *bn_image_decode(const uint8_t *data, size_t size, const bn_decode_limits_t *limits,
                            bn_decode_info_t *info)
{
    bn_decode_limits_t lim = limits ? *limits : (bn_decode_limits_t){0};
    if (!lim.max_bytes)
        lim.max_bytes = DEFAULT_MAX_BYTES;
    if (!lim.max_pixels)
        lim.max_pixels = DEFAULT_MAX_PIXELS;
    if (!lim.max_side)
        lim.max_side = DEFAULT_MAX_SIDE;
    if (!lim.max_scans)
        lim.max_scans = DEFAULT_MAX_SCANS;
    if (!lim.max_frame_bytes)
        lim.max_frame_bytes = DEFAULT_MAX_FRAME_BYTES;
    bn_decode_info_t dummy;
    if (!info)
        info = &dummy;
    memset(info, 0, sizeof *info);
    info->orientation = 1;
    info->shrink = 1;

    VipsImage *hdr = NULL, *im = NULL, *t = NULL;
    bn_image_t *self = NULL;
    const char *fmt = bn_image_sniff(data, size);
    if (!fmt) {
        bn_error_set("format_unsupported", "not a JPEG, PNG, BMP, TIFF or WebP file");
        return NULL;
    }
    snprintf(info->format, sizeof info->format, "%s", fmt);
    if (size > lim.max_bytes) {
        bn_error_set("image_too_large", "file of %zu bytes exceeds the %zu byte limit", size, lim.max_bytes);
        return NULL;
    }
    if (s_structure_check(data, size, fmt, &lim) != 0)
        return NULL;
    if (bn_vips_init() != 0)
        return NULL;

    /* Header only: new_from_buffer is lazy, no pixels are decoded here. */
    hdr = vips_image_new_from_buffer(data, size, "", "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    if (!hdr) {
        bn_error_set("image_corrupt", "unreadable %s header", fmt);
        goto err;
    }
    int w = vips_image_get_width(hdr), h = vips_image_get_height(hdr);
    info->orig_width = w;
    info->orig_height = h;
    if (w <= 0 || h <= 0 || w > lim.max_side || h > lim.max_side ||
        (uint64_t)w * (uint64_t)h > lim.max_pixels) {
        bn_error_set("image_too_large", "image declares %d x %d pixels, over the limit", w, h);
        goto err;
    }
    info->orientation = vips_image_get_orientation(hdr);
    info->has_alpha = vips_image_hasalpha(hdr);
    VipsInterpretation interp = vips_image_get_interpretation(hdr);
    info->is_grey_stored = interp == VIPS_INTERPRETATION_B_W || interp == VIPS_INTERPRETATION_GREY16 ||
                           vips_image_get_bands(hdr) - info->has_alpha == 1;
    info->bits = vips_format_sizeof(vips_image_get_format(hdr)) * 8;
    s_software(hdr, info->software, sizeof info->software);

    /* Shrink-on-load: the long side before orientation is the same as after. */
    int shrink = s_largest_pow2_shrink(w > h ? w : h, w > h ? h : w, lim.shrink_to);
    g_object_unref(hdr);
    hdr = NULL;
    /* fail_on truncated: a cut-off upload must be an error, not a grey-bottomed image. */
    if (strcmp(fmt, "jpeg") == 0)
        im = vips_image_new_from_buffer(data, size, "", "access", VIPS_ACCESS_SEQUENTIAL,
                                        "fail_on", VIPS_FAIL_ON_TRUNCATED, "shrink", shrink, NULL);
    else if (strcmp(fmt, "webp") == 0)
        im = vips_image_new_from_buffer(data, size, "", "access", VIPS_ACCESS_SEQUENTIAL,
                                        "fail_on", VIPS_FAIL_ON_TRUNCATED, "scale", 1.0 / shrink, NULL);
    else
        im = vips_image_new_from_buffer(data, size, "", "access", VIPS_ACCESS_SEQUENTIAL,
                                        "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
    if (!im) {
        bn_error_set("image_corrupt", "undecodable %s image", fmt);
        goto err;
    }
    /* Formats without DCT scaling: block-average while streaming, never holding full size. */
    if (shrink > 1 && strcmp(fmt, "jpeg") != 0 && strcmp(fmt, "webp") != 0) {
        if (vips_shrink(im, &t, (double)shrink, (double)shrink, NULL))
            goto corrupt;
        g_object_unref(im);
        im = t;
    }
    if (info->has_alpha) {
        double white[] = {255, 255, 255};
        int nb = vips_image_get_bands(im) >= 3 ? 3 : 1;
        VipsArrayDouble *bg = vips_array_double_new(white, nb);
        int rc = vips_flatten(im, &t, "background", bg, NULL);
        vips_area_unref(VIPS_AREA(bg));
        if (rc)
            goto corrupt;
        g_object_unref(im);
        im = t;
    }
    /* Everything to 8-bit sRGB: grey, 16-bit, CMYK, Lab TIFFs alike. */
    if (vips_colourspace(im, &t, VIPS_INTERPRETATION_sRGB, NULL))
        goto corrupt;
    g_object_unref(im);
    im = t;
    if (vips_image_get_format(im) != VIPS_FORMAT_UCHAR) {
        if (vips_cast(im, &t, VIPS_FORMAT_UCHAR, NULL))
            goto corrupt;
        g_object_unref(im);
        im = t;
    }
    if (vips_image_get_bands(im) > 3) {
        if (vips_extract_band(im, &t, 0, "n", 3, NULL))
            goto corrupt;
        g_object_unref(im);
        im = t;
    }
    /* With an EXIF turn, decode to memory first (sequentially) and rotate that copy: a 90° turn
     * needs random access. Without one, the pipeline is written out once, below. */
    if (info->orientation != 1) {
        t = vips_image_copy_memory(im);
        if (!t)
            goto corrupt;
        g_object_unref(im);
        im = t;
        if (vips_autorot(im, &t, NULL))
            goto corrupt;
        g_object_unref(im);
        im = t;
    }
    int ow = vips_image_get_width(im), oh = vips_image_get_height(im);
    if (vips_image_get_bands(im) != 3) {
        bn_error_set("image_corrupt", "unexpected band count after conversion");
        goto err;
    }
    self = calloc(1, sizeof *self);
    if (!self) {
        bn_error_set("out_of_memory", "image struct");
        goto err;
    }
    size_t len = 0;
    /* g_malloc is plain malloc since GLib 2.46, so the buffer can be released with free(). */
    self->data = vips_image_write_to_memory(im, &len);
    if (!self->data || len != (size_t)ow * oh * 3) {
        free(self->data);
        free(self);
        self = NULL;
        goto corrupt;
    }
    self->width = ow;
    self->height = oh;
    self->bands = 3;
    {
        int ol = ow > oh ? ow : oh, il = w > h ? w : h;
        info->shrink = ol > 0 ? (double)il / ol : 1;
    }
    g_object_unref(im);
    vips_error_clear();
    return self;

corrupt: {
    /* the decoder's first line, without vips' trailing newline */
    const char *ve = vips_error_buffer();
    int n = (int)strcspn(ve, "\n");
    bn_error_set("image_corrupt", "%s image could not be decoded: %.*s", fmt, n < 120 ? n : 120, ve);
}
err:
    if (hdr)
        g_object_unref(hdr);
    if (im)
        g_object_unref(im);
    vips_error_clear();
    return NULL;
}

void *bn_image_encode_jpeg(const bn_image_t *img, int quality, size_t *size_out)
{
    if (!img || !img->data || (img->bands != 1 && img->bands != 3) || bn_vips_init() != 0)
        return NULL;
    if (quality < 1)
        quality = 1;
    if (quality > 100)
        quality = 100;
    void *buf = NULL;
    size_t len = 0;
    VipsImage *im = vips_image_new_from_memory(img->data, (size_t)img->width * img->height * img->bands,
                                               img->width, img->height, img->bands, VIPS_FORMAT_UCHAR);
    if (!im)
        goto err;
    im->Type = img->bands == 3 ? VIPS_INTERPRETATION_sRGB : VIPS_INTERPRETATION_B_W;
    /* strip: no EXIF, GPS, XMP or ICC in anything we hand out. */
    if (vips_jpegsave_buffer(im, &buf, &len, "Q", quality, "strip", TRUE, "optimize_coding", TRUE,
                             "interlace", FALSE, NULL))
        goto err;
    g_object_unref(im);
    if (size_out)
        *size_out = len;
    return buf;
err:
    bn_error_set("internal", "JPEG encode failed: %.120s", vips_error_buffer());
    vips_error_clear();
    if (im)
        g_object_unref(im);
    return NULL;
}
