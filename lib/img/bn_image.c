/* bn_image — safe decoding of untrusted uploads with libvips.
 *
 * The order matters: sniff the magic bytes (never trust a name or a MIME type), check the byte
 * count, open the image lazily (libvips reads only the header), check the declared size against
 * the caps, and only then decode pixels — so a 100 KB PNG that declares 60000×60000 is refused
 * before a single row is allocated.
 *
 * A PDF goes its own way (s_pdf_decode): a scan of its raw bytes (encryption, scripts), its page
 * count and page size from libvips' PDF header, the caps applied to the render at a fixed DPI,
 * then one page drawn by poppler in a child process that a deadline can kill. */
#include "img/bn_image.h"
#include "core/bn_config.h"
#include "core/bn_error.h"
#include "core/bn_log.h"

#include <cairo.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poppler.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <vips/vips.h>
#include <zlib.h>

#define DEFAULT_MAX_BYTES (30u * 1024 * 1024)
#define DEFAULT_MAX_PIXELS (100ull * 1000 * 1000)
#define DEFAULT_MAX_SIDE 20000
#define DEFAULT_MAX_SCANS 100
#define DEFAULT_MAX_FRAME_BYTES (256ull * 1024 * 1024)
#define DEFAULT_PDF_DPI 200.0
#define DEFAULT_PDF_MAX_PAGES 50
#define DEFAULT_PDF_TIMEOUT_MS 10000
/* What the PDF scan inflates of compressed object streams, in all: their dictionaries are a few
 * KB in a licence's PDF; a stream that inflates past this is scanned up to it. */
#define PDF_SCAN_INFLATE_MAX (16u * 1024 * 1024)

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
    /* At offset 0 only: readers accept the header anywhere in the first 1024 bytes, but a file
     * that hides it behind other bytes is a polyglot, not a scan. */
    if (n >= 8 && memcmp(d, "%PDF-", 5) == 0)
        return "pdf";
    return NULL;
}

/* ---- PDF ------------------------------------------------------------------------------- */

static int s_largest_pow2_shrink(int long_side, int short_side, int target);

static int s_pdf_delim(uint8_t c)
{
    return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ' || c == '(' || c == ')' ||
           c == '<' || c == '>' || c == '[' || c == ']' || c == '{' || c == '}' || c == '/' || c == '%';
}

static int s_hexval(uint8_t c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The name token at d[*i] == '/', decoded (#xx escapes: /J#53 is /JS), into out; *i moves past
 * it. A name longer than the buffer comes out empty (none we look for is long). */
static void s_pdf_name(const uint8_t *d, size_t n, size_t *i, char *out, size_t size)
{
    size_t k = 0, j = *i + 1;
    int over = 0;
    while (j < n && !s_pdf_delim(d[j])) {
        int ch = d[j];
        if (ch == '#' && j + 2 < n && s_hexval(d[j + 1]) >= 0 && s_hexval(d[j + 2]) >= 0) {
            ch = s_hexval(d[j + 1]) * 16 + s_hexval(d[j + 2]);
            j += 3;
        } else {
            j++;
        }
        if (k + 1 < size)
            out[k++] = (char)ch;
        else
            over = 1;
    }
    out[over ? 0 : k] = '\0';
    *i = j;
}

static int s_pdf_has_name(const uint8_t *d, size_t n, const char *want)
{
    char name[32];
    for (size_t i = 0; i < n;) {
        if (d[i] != '/') {
            i++;
            continue;
        }
        s_pdf_name(d, n, &i, name, sizeof name);
        if (!strcmp(name, want))
            return 1;
    }
    return 0;
}

static int s_pdf_keyword(const uint8_t *d, size_t n, size_t i, const char *kw)
{
    size_t len = strlen(kw);
    return i + len <= n && memcmp(d + i, kw, len) == 0 && (i == 0 || s_pdf_delim(d[i - 1])) &&
           (i + len == n || s_pdf_delim(d[i + len]));
}

typedef struct {
    int encrypted;
    char active[40]; /* the first active-content name found, "" for none */
    size_t inflated; /* bytes inflated so far, against PDF_SCAN_INFLATE_MAX */
} s_pdfscan_t;

static void s_pdf_scan_buf(const uint8_t *d, size_t n, int nested, s_pdfscan_t *r);

/* Inflate a compressed object stream's body (bounded) and scan the dictionaries it holds. */
static void s_pdf_scan_objstm(const uint8_t *body, size_t len, s_pdfscan_t *r)
{
    size_t room = PDF_SCAN_INFLATE_MAX - r->inflated;
    if (room == 0)
        return;
    size_t cap = room < 1u << 20 ? room : 1u << 20, got = 0;
    uint8_t *out = malloc(cap);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (!out || inflateInit(&z) != Z_OK) {
        free(out);
        return;
    }
    z.next_in = (Bytef *)body;
    z.avail_in = (uInt)(len < UINT32_MAX ? len : UINT32_MAX);
    for (;;) {
        z.next_out = out + got;
        z.avail_out = (uInt)(cap - got);
        int rc = inflate(&z, Z_NO_FLUSH);
        got = cap - z.avail_out;
        if (rc != Z_OK || got < cap) /* end, damage, or input used up */
            break;
        if (cap == room)
            break;
        size_t ncap = cap * 2 < room ? cap * 2 : room;
        uint8_t *t = realloc(out, ncap);
        if (!t)
            break;
        out = t;
        cap = ncap;
    }
    inflateEnd(&z);
    r->inflated += got;
    s_pdf_scan_buf(out, got, 1, r);
    free(out);
}

static void s_pdf_scan_buf(const uint8_t *d, size_t n, int nested, s_pdfscan_t *r)
{
    static const char *const active[] = {"JavaScript", "JS", "Launch", NULL};
    size_t obj = 0; /* where the current object's text starts: after "N G obj" */
    char name[32];
    for (size_t i = 0; i < n;) {
        uint8_t c = d[i];
        if (c == '/') {
            s_pdf_name(d, n, &i, name, sizeof name);
            if (!strcmp(name, "Encrypt"))
                r->encrypted = 1;
            for (int k = 0; active[k] && !r->active[0]; k++)
                if (!strcmp(name, active[k]))
                    snprintf(r->active, sizeof r->active, "/%s", name);
            continue;
        }
        if (c == 'o' && s_pdf_keyword(d, n, i, "obj")) {
            obj = i + 3;
            i += 3;
            continue;
        }
        /* Stream bodies are skipped: compressed bytes hold "/JS" by chance (about once in
         * 16 MB), and content streams cannot hold actions. Object streams (PDF 1.5) hold
         * dictionaries, so those are inflated and scanned; they never nest. */
        if (c == 's' && !nested && s_pdf_keyword(d, n, i, "stream")) {
            size_t body = i + 6;
            if (body < n && d[body] == '\r')
                body++;
            if (body < n && d[body] == '\n')
                body++;
            const uint8_t *end = memmem(d + body, n - body, "endstream", 9);
            size_t bend = end ? (size_t)(end - d) : n;
            if (obj <= i && s_pdf_has_name(d + obj, i - obj, "ObjStm") && s_pdf_has_name(d + obj, i - obj, "FlateDecode"))
                s_pdf_scan_objstm(d + body, bend - body, r);
            i = end ? bend + 9 : n;
            continue;
        }
        i++;
    }
}

int bn_pdf_scan(const uint8_t *data, size_t size)
{
    s_pdfscan_t r;
    memset(&r, 0, sizeof r);
    if (!data)
        return bn_error_set("invalid_argument", "no PDF bytes");
    s_pdf_scan_buf(data, size, 0, &r);
    if (r.encrypted)
        return bn_error_set("pdf_encrypted", "the PDF is encrypted (/Encrypt): send the document unprotected");
    if (r.active[0])
        return bn_error_set("pdf_active_content", "the PDF holds active content (%s): a scanned or exported "
                            "document has none; print it to a plain PDF or send an image", r.active);
    return 0;
}

void bn_decode_limits_pdf(bn_decode_limits_t *lim, const bn_config_t *config)
{
    lim->pdf_dpi = bn_config_num(config, "quality.decode.pdf_dpi", DEFAULT_PDF_DPI);
    lim->pdf_max_pages = (int)bn_config_num(config, "quality.decode.pdf_max_pages", DEFAULT_PDF_MAX_PAGES);
    lim->pdf_timeout_ms = (int)bn_config_num(config, "quality.decode.pdf_timeout_ms", DEFAULT_PDF_TIMEOUT_MS);
}

/* The first line of libvips' error buffer, without its trailing newline (poppler's reason). */
static void s_vips_reason(char *out, size_t size)
{
    const char *ve = vips_error_buffer();
    int n = (int)strcspn(ve, "\n");
    snprintf(out, size, "%.*s", n, ve);
}

/* Open page (0-based) lazily: the header only, nothing rendered. */
static VipsImage *s_pdf_open(const uint8_t *data, size_t size, int page, double dpi)
{
    VipsImage *im = NULL;
    if (vips_pdfload_buffer((void *)data, size, &im, "page", page, "dpi", dpi, "access", VIPS_ACCESS_SEQUENTIAL, NULL))
        return NULL;
    return im;
}

/* Set bn_error from a failed open: poppler says "Document is encrypted" for the encryption the
 * scan did not see (there is none it could miss, but the words are poppler's to choose). */
static void s_pdf_open_error(void)
{
    char why[160];
    s_vips_reason(why, sizeof why);
    if (strstr(why, "ncrypted"))
        bn_error_set("pdf_encrypted", "the PDF is encrypted (%s): send the document unprotected", why);
    else
        bn_error_set("image_corrupt", "unreadable PDF: %s", why);
}

/* Render page (1-based) into a w x h RGB image in a child process: poppler has no way to stop a
 * render, and one page of overlapping fills can take minutes (400,000 triangles: 248 s), so the
 * child is killed at the deadline. It also keeps a parser crash out of the stage's process. The
 * child renders with poppler and cairo directly, not through libvips, whose thread pool does not
 * survive a fork; it writes into a shared anonymous mapping: a status line, then the pixels
 * (cairo's ARGB32, on white). Returns NULL with bn_error image_too_complex (deadline),
 * image_corrupt (poppler's reason) or internal. */
static bn_image_t *s_pdf_render(const uint8_t *data, size_t size, int page, int w, int h, int timeout_ms)
{
    enum { MSG = 256 };
    int stride = cairo_format_stride_for_width(CAIRO_FORMAT_ARGB32, w);
    size_t len = MSG + (size_t)stride * h;
    uint8_t *shm = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    bn_image_t *self = NULL;
    if (shm == MAP_FAILED) {
        bn_error_set("out_of_memory", "PDF page buffer of %zu bytes", len);
        return NULL;
    }
    memcpy(shm, "E the render stopped before it began", 37);
    fflush(NULL); /* nothing buffered may be written twice */
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) {
        bn_error_set("internal", "fork for the PDF render: %s", strerror(errno));
        goto out;
    }
    if (pid == 0) {
        /* The child: poppler and cairo only, then _exit (no atexit handlers, no stdio). It dies
         * with the process that forked it (a worker restarted by its supervisor leaves no
         * render behind), stops on its own CPU limit should the parent fail to kill it, and
         * poppler's complaints about the file ("Syntax Error ...") go nowhere. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(3);
        struct rlimit cpu = {(rlim_t)(timeout_ms / 1000 + 2), (rlim_t)(timeout_ms / 1000 + 3)};
        setrlimit(RLIMIT_CPU, &cpu);
        int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (devnull >= 0)
            dup2(devnull, STDERR_FILENO);
        GError *ge = NULL;
        GBytes *bytes = g_bytes_new_static(data, size);
        PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, &ge);
        PopplerPage *pg = doc ? poppler_document_get_page(doc, page - 1) : NULL;
        if (!pg) {
            snprintf((char *)shm, MSG, "E %s", ge ? ge->message : "no such page");
            _exit(2);
        }
        double pw, ph;
        poppler_page_get_size(pg, &pw, &ph);
        cairo_surface_t *surf = cairo_image_surface_create_for_data(shm + MSG, CAIRO_FORMAT_ARGB32, w, h, stride);
        cairo_t *cr = cairo_create(surf);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_paint(cr);
        cairo_scale(cr, w / pw, h / ph);
        poppler_page_render(pg, cr);
        cairo_status_t st = cairo_status(cr);
        cairo_destroy(cr);
        cairo_surface_flush(surf);
        if (st != CAIRO_STATUS_SUCCESS) {
            snprintf((char *)shm, MSG, "E %s", cairo_status_to_string(st));
            _exit(2);
        }
        memcpy(shm, "OK", 3);
        _exit(0);
    }
    /* The parent: wait for the child, at most timeout_ms. */
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int status = 0, done = 0;
    long nap_us = 200;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            done = 1;
            break;
        }
        if (r < 0 && errno != EINTR)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double ms = (now.tv_sec - t0.tv_sec) * 1e3 + (now.tv_nsec - t0.tv_nsec) / 1e6;
        if (ms > timeout_ms)
            break;
        nanosleep(&(struct timespec){0, nap_us * 1000}, NULL);
        if (nap_us < 5000)
            nap_us *= 2;
    }
    if (!done) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        bn_error_set("image_too_complex", "PDF page %d took longer than %d ms to render (quality.decode.pdf_timeout_ms)",
                     page, timeout_ms);
        goto out;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || memcmp(shm, "OK", 3) != 0) {
        if (WIFSIGNALED(status))
            bn_error_set("image_corrupt", "PDF page %d could not be rendered: the renderer died (signal %d)", page,
                         WTERMSIG(status));
        else
            bn_error_set("image_corrupt", "PDF page %d could not be rendered: %.200s", page, (char *)shm + 2);
        goto out;
    }
    self = bn_image_new(w, h, 3);
    if (!self) {
        bn_error_set("out_of_memory", "PDF page of %d x %d", w, h);
        goto out;
    }
    /* ARGB32 is native-endian 32-bit words (B, G, R, A in memory on little-endian); opaque, as
     * the page was painted white first, so not premultiplied in effect. */
    for (int y = 0; y < h; y++) {
        const uint32_t *src = (const uint32_t *)(shm + MSG + (size_t)y * stride);
        uint8_t *dst = self->data + (size_t)y * w * 3;
        for (int x = 0; x < w; x++) {
            uint32_t v = src[x];
            dst[3 * x] = (uint8_t)(v >> 16);
            dst[3 * x + 1] = (uint8_t)(v >> 8);
            dst[3 * x + 2] = (uint8_t)v;
        }
    }
out:
    munmap(shm, len);
    return self;
}

/* One page of a PDF: the scan, the page count and the page's size from libvips' PDF header (no
 * pixels), the caps applied to the render at pdf_dpi (lowered to fit), a power-of-two shrink for
 * shrink_to as JPEGs have, then the render (s_pdf_render). */
static bn_image_t *s_pdf_decode(const uint8_t *data, size_t size, const bn_decode_limits_t *lim, int page,
                                bn_decode_info_t *info)
{
    VipsImage *hdr = NULL;
    bn_image_t *self = NULL;
    if (bn_pdf_scan(data, size) != 0)
        return NULL;
    hdr = s_pdf_open(data, size, 0, lim->pdf_dpi);
    if (!hdr) {
        s_pdf_open_error();
        return NULL;
    }
    int pages = vips_image_get_n_pages(hdr);
    info->pages = pages;
    if (pages > lim->pdf_max_pages) {
        bn_error_set("pdf_too_many_pages", "the PDF has %d pages, more than the %d allowed (quality.decode.pdf_max_pages): "
                     "send the page with the document", pages, lim->pdf_max_pages);
        goto err;
    }
    if (page < 1)
        page = 1;
    info->page = page;
    if (page > pages) {
        bn_error_set("pdf_page_missing", "page %d was asked for; the PDF has %d", page, pages);
        goto err;
    }
    if (page > 1) {
        g_object_unref(hdr);
        hdr = s_pdf_open(data, size, page - 1, lim->pdf_dpi);
        if (!hdr) {
            s_pdf_open_error();
            return NULL;
        }
    }
    const char *creator = NULL;
    if (vips_image_get_typeof(hdr, "pdf-creator") && vips_image_get_string(hdr, "pdf-creator", &creator) == 0 && creator)
        snprintf(info->software, sizeof info->software, "%s", creator);
    /* The caps apply to the render: a page too large for them at pdf_dpi (PDFs made from photos
     * often have one point per photo pixel, a 48 MP photo a 111-inch page) is rendered at the
     * largest DPI that fits; the page is the same, only the pixels fewer. */
    double w = vips_image_get_width(hdr), h = vips_image_get_height(hdr);
    g_object_unref(hdr);
    hdr = NULL;
    if (w <= 0 || h <= 0) {
        bn_error_set("image_corrupt", "PDF page %d has no size", page);
        goto err;
    }
    double fit = fmin(1.0, fmin(lim->max_side / fmax(w, h), sqrt((double)lim->max_pixels / (w * h))));
    info->orig_width = (int)fmin(w, INT32_MAX);
    info->orig_height = (int)fmin(h, INT32_MAX);
    if (fit < 1.0 / 8) {
        bn_error_set("image_too_large", "PDF page %d is %.0f x %.0f inches: over the limit even at %.0f dpi",
                     page, w / lim->pdf_dpi, h / lim->pdf_dpi, lim->pdf_dpi / 8);
        goto err;
    }
    /* Whole pixels at the fitted DPI (floor, so the caps hold after rounding). */
    info->orig_width = (int)fmax(1, floor(w * fit));
    info->orig_height = (int)fmax(1, floor(h * fit));
    info->dpi = lim->pdf_dpi * fit;
    int lw = info->orig_width > info->orig_height ? info->orig_width : info->orig_height;
    int sw = info->orig_width > info->orig_height ? info->orig_height : info->orig_width;
    int shrink = s_largest_pow2_shrink(lw, sw, lim->shrink_to);
    int rw = (int)fmax(1, lround((double)info->orig_width / shrink));
    int rh = (int)fmax(1, lround((double)info->orig_height / shrink));
    self = s_pdf_render(data, size, page, rw, rh, lim->pdf_timeout_ms);
    if (!self)
        goto err;
    info->has_alpha = 0;
    info->bits = 8;
    info->shrink = (double)lw / (rw > rh ? rw : rh);
    return self;
err:
    if (hdr)
        g_object_unref(hdr);
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
        /* Every critical chunk's CRC, here: the loader checks the last IDAT's only when it reads
         * past the last row, which libvips' sequential read did on some runs and not others
         * (the same damaged file was image_corrupt, then decoded). A truncated chunk is left to
         * the decoder (fail_on truncated); an ancillary chunk's CRC is not checked (libpng only
         * warns). ~10 ms for 30 MB. */
        for (size_t at = 8; at + 12 <= n;) {
            uint32_t len = (uint32_t)d[at] << 24 | d[at + 1] << 16 | d[at + 2] << 8 | d[at + 3];
            if (len > n - at - 12)
                break;
            const uint8_t *type = d + at + 4, *c = type + 4 + len;
            uint32_t want = (uint32_t)c[0] << 24 | c[1] << 16 | c[2] << 8 | c[3];
            if (!(type[0] & 0x20) && (uint32_t)crc32(crc32(0L, Z_NULL, 0), type, len + 4) != want)
                return bn_error_set("image_corrupt", "PNG chunk %.4s fails its CRC", (const char *)type);
            if (!memcmp(type, "IEND", 4))
                break;
            at += 12 + (size_t)len;
        }
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
    return bn_image_decode_page(data, size, limits, 0, info);
}

bn_image_t *bn_image_decode_page(const uint8_t *data, size_t size, const bn_decode_limits_t *limits, int page,
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
    if (!(lim.pdf_dpi > 0))
        lim.pdf_dpi = DEFAULT_PDF_DPI;
    if (lim.pdf_max_pages <= 0)
        lim.pdf_max_pages = DEFAULT_PDF_MAX_PAGES;
    if (lim.pdf_timeout_ms <= 0)
        lim.pdf_timeout_ms = DEFAULT_PDF_TIMEOUT_MS;
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
        bn_error_set("format_unsupported", "not a JPEG, PNG, BMP, TIFF, WebP or PDF file");
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

    if (!strcmp(fmt, "pdf")) {
        self = s_pdf_decode(data, size, &lim, page, info);
        vips_error_clear();
        return self;
    }

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
