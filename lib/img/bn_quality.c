/* bn_quality — the quality stage: decode safely, find the document, measure, flag, prepare.
 *
 * A bad image is a verdict, not an error: unsupported formats, bombs and corrupt files come back
 * as flags with a result, and -1 is kept for failures of the machinery itself (out of memory).
 * Metrics are taken on the rectified document at a fixed working width, so they describe the
 * card and not the table it lies on, and do not depend on the upload's resolution. Thresholds
 * are configuration keys (docs/QUALITY.md), each with the compiled-in default shown here. */
#include "img/bn_quality.h"
#include "img/bn_textq.h"
#include "core/bn_error.h"
#include "core/bn_job.h"
#include "core/bn_flags.h"
#include "core/bn_log.h"
#include "img/bn_docfind.h"
#include "img/bn_image.h"
#include "img/bn_layout.h"
#include "img/bn_metrics.h"
#include "img/bn_prepare.h"
#include "img/bn_profile.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double s_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

#define CFG(key, dflt) bn_config_num(task->config, "quality." key, (dflt))

/* Editing software seen in the metadata of doctored uploads (lower-case substrings). */
static const char *s_editors[] = {"photoshop", "gimp", "meitu", "美图", "lightroom", "snapseed", "picsart",
                                  "pixlr", "affinity", "paint.net", "醒图", "美颜", "beautycam", "fotor",
                                  "photoscape", "canva", "faceu", "polarr", "pixelmator", "acdsee", NULL};

static int s_contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] && tolower((unsigned char)p[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

static int s_is_editor(const bn_config_t *cfg, const char *software)
{
    if (!software || !*software)
        return 0;
    json_t *list = bn_config_get(cfg, "quality.edited.software");
    if (json_is_array(list)) {
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v) if (json_is_string(v) && s_contains_ci(software, json_string_value(v))) return 1;
        return 0;
    }
    for (int i = 0; s_editors[i]; i++)
        if (s_contains_ci(software, s_editors[i]))
            return 1;
    return 0;
}

/* Editors also leave their mark outside the Software tag: Photoshop's APP13 resource block and
 * XMP namespace, GIMP's JPEG comment, Meitu's maker notes. A bounded scan of the file's head
 * (where metadata segments live) finds them; returns the marker or NULL. */
static const char *s_editor_marker(const uint8_t *d, size_t n)
{
    static const char *marks[] = {"Photoshop 3.0", "Adobe Photoshop", "xmlns:photoshop", "Created with GIMP",
                                  "paint.net", "Meitu", "\xe7\xbe\x8e\xe5\x9b\xbe" /* 美图 */, NULL};
    if (n > 256 * 1024)
        n = 256 * 1024;
    for (int k = 0; marks[k]; k++) {
        /* memchr finds candidates a vector at a time: a byte loop over 256 KB per marker was
         * a millisecond of the stage. */
        size_t m = strlen(marks[k]);
        for (const uint8_t *p = d, *end = d + n; end - p >= (ptrdiff_t)m; p++) {
            p = memchr(p, (uint8_t)marks[k][0], (size_t)(end - p) - m + 1);
            if (!p)
                break;
            if (memcmp(p, marks[k], m) == 0)
                return marks[k];
        }
    }
    return NULL;
}

static void s_doc_type_side(const bn_task_t *task, char *out, size_t size)
{
    const char *t = task->doc_type ? task->doc_type : "";
    if (task->doc_side && *task->doc_side && !strchr(t, ':'))
        snprintf(out, size, "%s:%s", t, task->doc_side);
    else
        snprintf(out, size, "%s", t);
}

/* How far (pixels) the document's corner furthest outside the image lies beyond its edge. */
static double s_corner_outside(const bn_docgeom_t *g, int w, int h)
{
    double worst = 0;
    for (int i = 0; i < 4; i++) {
        double x = g->corners[i].x, y = g->corners[i].y;
        double d = fmax(fmax(-x, x - (w - 1)), fmax(-y, y - (h - 1)));
        worst = fmax(worst, d);
    }
    return worst;
}

static json_t *s_geometry_json(const bn_docgeom_t *g)
{
    json_t *corners = json_array();
    for (int i = 0; g->found && i < 4; i++)
        json_array_append_new(corners, json_pack("[f,f]", round(g->corners[i].x * 10) / 10, round(g->corners[i].y * 10) / 10));
    return json_pack("{s:b, s:o, s:f, s:i, s:i, s:f, s:f}", "found", g->found, "corners", corners, "area_fraction",
                     g->area_fraction, "corners_inside", g->corners_inside, "rotation", g->rotation, "skew_deg",
                     g->skew_deg, "confidence", g->confidence);
}

/* Result with just flags, for an image that could not be decoded. */
static int s_undecodable(const bn_task_t *task, bn_stage_result_t *out, json_t *flags, json_t *q)
{
    const char *code = bn_error_code();
    if (strcmp(code, "image_too_large") == 0) {
        if (task->image_size > (size_t)CFG("decode.max_bytes", 30.0 * 1024 * 1024))
            bn_flag_add(flags, "file_too_large", (double)task->image_size, CFG("decode.max_bytes", 30.0 * 1024 * 1024),
                        BN_SEV_REJECT);
        else
            bn_flag_add(flags, "resolution_too_high", json_number_value(json_object_get(q, "pixels")),
                        CFG("decode.max_pixels", 100e6), BN_SEV_REJECT);
    } else {
        /* the decoder's own words say what is wrong with the file ("Premature end of input
         * file": a truncated upload), which the code alone does not */
        json_t *f = bn_flag_add(flags, "format_unsupported", NAN, NAN, BN_SEV_REJECT);
        if (f) {
            json_object_set_new(f, "error", json_string(code));
            json_object_set_new(f, "detail", json_string(bn_error_msg()));
        }
    }
    json_object_set_new(q, "decode_error", json_string(code));
    json_object_set_new(q, "decode_message", json_string(bn_error_msg()));
    bn_error_clear();
    out->json = json_pack("{s:o, s:o, s:o, s:s}", "quality", q, "geometry", json_pack("{s:b}", "found", 0), "flags",
                          flags, "verdict", bn_verdict_name(bn_flags_worst(flags)));
    return 0;
}

/* The prepared JPEG needs only the rectified document, so it is made on a second thread while
 * this one measures and draws the review: its JPEG encodes (a bisection on quality) are the
 * largest step after decoding, and a 2-core worker would otherwise leave a core idle. Nothing
 * is shared but rect, which only the preparing thread writes (the watermark) once started. */
typedef struct {
    bn_image_t *rect;
    const bn_profile_t *prof;
    const bn_layout_t *lay;     /* the document's layout, or NULL */
    const char *watermark;      /* text, or NULL for none */
    void *jpg;                  /* result; NULL with code/msg set on failure */
    bn_prepared_info_t pi;
    int wm_failed;
    char code[48], msg[256];    /* bn_error is per thread: carried back to the caller */
} s_prepare_t;

static void *s_prepare(void *arg)
{
    s_prepare_t *p = arg;
    if (p->watermark && bn_watermark_apply(p->rect, p->lay, p->watermark) != 0) {
        p->wm_failed = 1;
        snprintf(p->msg, sizeof p->msg, "%s", bn_error_msg());
        bn_error_clear();
    }
    p->jpg = bn_prepare_jpeg(p->rect, p->prof, &p->pi);
    if (!p->jpg) {
        snprintf(p->code, sizeof p->code, "%s", bn_error_code());
        snprintf(p->msg, sizeof p->msg, "%s", bn_error_msg());
    }
    return NULL;
}

/* Moiré at the upload's own resolution: a screen's pixel grid is 3-4 px in the photo and would
 * alias away in the resized copy. A square from the document's centre. It reads only the decoded
 * image and the geometry, so it runs on a thread of its own beside the other metrics (its DFT
 * is about 2 ms of them). */
typedef struct {
    const bn_image_t *img, *mimg;
    const bn_docgeom_t *g;
    double moire;
} s_moire_t;

static void *s_moire(void *arg)
{
    s_moire_t *p = arg;
    const bn_docgeom_t *g = p->g;
    double cx = p->img->width / 2.0, cy = p->img->height / 2.0, half = 256;
    if (g->found) {
        cx = cy = 0;
        for (int k = 0; k < 4; k++)
            cx += g->corners[k].x / 4, cy += g->corners[k].y / 4;
        double sw = hypot(g->corners[1].x - g->corners[0].x, g->corners[1].y - g->corners[0].y);
        double sh = hypot(g->corners[3].x - g->corners[0].x, g->corners[3].y - g->corners[0].y);
        double m2 = (sw < sh ? sw : sh) * 0.35;
        half = m2 < half ? m2 : half;
    }
    bn_image_t *crop = bn_image_crop(p->img, (int)(cx - half), (int)(cy - half), (int)(2 * half), (int)(2 * half));
    if (crop) {
        p->moire = bn_metric_moire(crop);
        bn_image_destroy(&crop);
    } else {
        p->moire = bn_metric_moire(p->mimg); /* centre outside the frame: the working copy */
    }
    return NULL;
}

int bn_quality_run(const bn_task_t *task, bn_stage_result_t *out)
{
    memset(out, 0, sizeof *out);
    if (!task || !task->image)
        return bn_error_set("invalid_argument", "quality stage needs an image");
    json_t *flags = json_array(), *q = json_object(), *text_boxes = NULL;
    bn_image_t *img = NULL, *rect = NULL, *work = NULL, *frame = NULL;
    bn_profile_t prof;
    const char *pname = json_string_value(json_object_get(task->options, "profile"));
    if (bn_profile_get(task->config, pname, &prof) != 0)
        bn_warn("quality: unknown profile '%s', using default", pname);

    /* Where the time goes, per step (ms): operators see it in the result. */
    json_t *timing = json_object();
    double t_step = s_ms(), t_start = t_step;
#define STEP(name)                                                                     \
    do {                                                                               \
        double now_ = s_ms();                                                          \
        json_object_set_new(timing, name, json_real(round((now_ - t_step) * 10) / 10)); \
        t_step = now_;                                                                 \
    } while (0)
    /* 1. Decode, with the caps checked on the header. */
    bn_decode_limits_t lim = {
        .max_bytes = (size_t)CFG("decode.max_bytes", 30.0 * 1024 * 1024),
        .max_pixels = (uint64_t)CFG("decode.max_pixels", 100e6),
        .max_side = (int)CFG("decode.max_side", 20000),
        .shrink_to = (int)CFG("decode.work_long_side", 2000),
        .max_scans = (int)CFG("decode.max_scans", 100),
        .max_frame_bytes = (uint64_t)CFG("decode.max_frame_bytes", 256.0 * 1024 * 1024),
    };
    bn_decode_limits_pdf(&lim, task->config);
    bn_decode_info_t di;
    json_object_set_new(q, "file_bytes", json_integer((json_int_t)task->image_size));
    img = bn_image_decode_page(task->image, task->image_size, &lim, task->doc_page, &di);
    json_object_set_new(q, "format", di.format[0] ? json_string(di.format) : json_null());
    if (di.pages > 0) { /* a PDF: which page of how many, at what resolution ("upload pixels") */
        json_object_set_new(q, "pdf_pages", json_integer(di.pages));
        json_object_set_new(q, "pdf_page", json_integer(di.page));
        if (di.dpi > 0)
            json_object_set_new(q, "pdf_dpi", json_real(round(di.dpi * 10) / 10));
    }
    if (!img) {
        json_object_set_new(q, "pixels", json_real((double)di.orig_width * di.orig_height));
        json_decref(timing);
        return s_undecodable(task, out, flags, q);
    }
    int ow = (di.orientation >= 5 ? di.orig_height : di.orig_width);
    int oh = (di.orientation >= 5 ? di.orig_width : di.orig_height);
    json_object_set_new(q, "width", json_integer(ow));
    json_object_set_new(q, "height", json_integer(oh));
    json_object_set_new(q, "exif_orientation", json_integer(di.orientation));
    json_object_set_new(q, "grey_stored", json_boolean(di.is_grey_stored));
    json_object_set_new(q, "software", json_string(di.software));

    STEP("decode");
    /* 2. File-level checks. */
    double min_file = CFG("file.min_bytes", 20 * 1024);
    if ((double)task->image_size < min_file)
        bn_flag_add(flags, "file_too_small", (double)task->image_size, min_file, -1);
    if (task->image_size > prof.max_bytes)
        bn_flag_add(flags, "file_too_large", (double)task->image_size, (double)prof.max_bytes, -1);
    int olong = ow > oh ? ow : oh;
    if (olong > prof.max_long_side)
        bn_flag_add(flags, "resolution_too_high", olong, prof.max_long_side, -1);
    const char *marker = s_editor_marker(task->image, task->image_size);
    if (marker)
        json_object_set_new(q, "editor_marker", json_string(marker));
    if (s_is_editor(task->config, di.software) || marker)
        bn_flag_add(flags, "edited_suspect", NAN, NAN, -1);

    /* One small copy of the whole frame serves the frame-level exposure and the review image. */
    int fw = (int)CFG("review.long_side", 800);
    {
        /* Long side to fw (never enlarged), short side at least 1 px whatever the aspect. */
        int lng = img->width > img->height ? img->width : img->height;
        double fs = lng > fw ? (double)fw / lng : 1;
        int sw = (int)lround(img->width * fs), sh = (int)lround(img->height * fs);
        /* Halve first while the frame stays within the half: OpenCV averages exact 2x2 blocks
         * with vector code, and its general area resize, ~12 instructions a sample, then runs
         * on a quarter of the pixels (a 2000x1500 decode: 3.4 ms -> 2.2 ms). The two box
         * filters differ from one by at most a few grey levels; eval figures in QUALITY.md. */
        bn_image_t *half = NULL;
        if (fs <= 0.5 && img->width % 2 == 0 && img->height % 2 == 0)
            half = bn_image_resize(img, img->width / 2, img->height / 2);
        frame = bn_image_resize(half ? half : img, sw > 0 ? sw : 1, sh > 0 ? sh : 1);
        bn_image_destroy(&half);
    }
    if (!frame)
        goto oom;

    STEP("frame");
    /* 3. Geometry. */
    char dts[48], dtype[48];
    s_doc_type_side(task, dts, sizeof dts);
    snprintf(dtype, sizeof dtype, "%.*s", (int)strcspn(dts, ":"), dts);
    int cert = !strcmp(dtype, "domain-certificate");
    bn_docgeom_t g;
    if (bn_doc_find_small(img, frame, dts, &g) != 0)
        goto fail;
    json_object_set_new(q, "decode_shrink", json_real(di.shrink));
    double w_mm, h_mm;
    if (bn_doc_canonical_mm(dts, &w_mm, &h_mm) != 0 || w_mm <= 0)
        w_mm = 297, h_mm = 210;
    /* Text evidence first: where the fields can be read, completeness and resolution are
     * judged on the text (a tight crop is complete, a small but sharp card is legible); the
     * document's edges decide only when no text line is found (or no detector installed). */
    bn_textq_t tq;
    int by_text = bn_textq_measure(task->config, img, di.shrink, dts, &tq, &text_boxes) == 0 &&
                  tq.lines >= (int)CFG("text.min_lines", 3);
    if (by_text) {
        json_object_set_new(q, "text_rotation", json_integer(tq.rotation));
        json_object_set_new(q, "text_lines", json_integer(tq.lines));
        json_object_set_new(q, "text_height", json_real(round(tq.text_h * 10) / 10));
        json_object_set_new(q, "text_cut", json_integer(tq.cut));
    }
    /* Which way up: the text says it better than the outline's layout correlation (which took
     * upright licences for upside-down ones). Only the half turn is corrected here: a quarter
     * turn also changes which side is the long one. */
    if (by_text && g.found && (tq.rotation == 0 || tq.rotation == 180) && (g.rotation == 0 || g.rotation == 180) &&
        tq.rotation != g.rotation) {
        bn_point_t c[4];
        memcpy(c, g.corners, sizeof c);
        for (int k = 0; k < 4; k++)
            g.corners[k] = c[(k + 2) % 4];
        g.rotation = tq.rotation;
    }
    /* A domain certificate is printed upright in either orientation (新网's and DNSPod's are
     * portrait, 阿里云's landscape): the outline's "long side horizontal" guess is no evidence,
     * the text's quarter turn is. Corners start at the document's top-left (rotation 0: k 0,
     * 270: 1, 180: 2, 90: 3). */
    if (by_text && g.found && cert && tq.rotation % 90 == 0 && tq.rotation != g.rotation) {
        int k_old = (4 - g.rotation / 90) % 4, k_new = (4 - tq.rotation / 90) % 4;
        bn_point_t c[4];
        memcpy(c, g.corners, sizeof c);
        for (int k = 0; k < 4; k++)
            g.corners[k] = c[(k + k_new - k_old + 4) % 4];
        g.rotation = tq.rotation;
    }
    if (by_text && g.found) {
        double quad[8];
        for (int k = 0; k < 4; k++)
            quad[2 * k] = g.corners[k].x, quad[2 * k + 1] = g.corners[k].y;
        double inside = bn_textq_inside(&tq, quad);
        json_object_set_new(q, "text_inside_document", json_real(round(inside * 100) / 100));
        if (inside < CFG("text.min_inside_document", 0.5))
            g.found = 0; /* the outline found is not the document: the text says where it is */
    }
    STEP("text");
    double dpi = 0;
    int border_flagged = 0;
    if (g.found) {
        double top = hypot(g.corners[1].x - g.corners[0].x, g.corners[1].y - g.corners[0].y);
        double bot = hypot(g.corners[2].x - g.corners[3].x, g.corners[2].y - g.corners[3].y);
        dpi = (top + bot) / 2 * di.shrink / (w_mm / 25.4);
        /* With text evidence a corner counts as cut off only when it lies well outside the frame:
         * a tight crop puts the corners of a rounded card just past the edges (~1 % of its
         * width; 3.1 % on one real licence), a cut-off corner further (>= 4.4 % in specgen). */
        double outside = s_corner_outside(&g, img->width, img->height) / (top > 1 ? top : 1), t_out;
        if (by_text ? outside > (t_out = CFG("text.max_corner_outside", 0.04)) : g.corners_inside < 4) {
            bn_flag_add(flags, "border_incomplete", by_text ? outside : g.corners_inside, by_text ? t_out : 4, -1);
            border_flagged = 1;
        }
        /* Legible text on a document this small in the frame still makes a poor prepared image */
        double min_area = by_text ? CFG("text.min_area_fraction", 0.08) : CFG("document.min_area_fraction", 0.15);
        if (g.area_fraction < min_area)
            bn_flag_add(flags, "document_too_small", g.area_fraction, min_area, -1);
        if (g.rotation != 0)
            bn_flag_add(flags, "rotated", g.rotation, 0, -1);
        double max_skew = CFG("skew.max_deg", 4);
        if (fabs(g.skew_deg) > max_skew)
            bn_flag_add(flags, "skewed", fabs(g.skew_deg), max_skew, -1);
        rect = bn_doc_rectify(img, &g, dts, prof.dpi);
        if (!rect)
            goto fail;
    } else {
        if (!by_text)
            bn_flag_add(flags, "no_document_found", g.confidence, 0.35, -1);
        /* Still hand out the whole frame, upright as EXIF said. */
        dpi = olong / (w_mm / 25.4);
        rect = bn_image_resize(img, img->width, img->height);
        if (!rect)
            goto oom;
    }
    json_object_set_new(q, "dpi", json_real(round(dpi * 10) / 10));
    double t;
    if (by_text) {
        /* A licence's edge often carries a web page's header or footer, or the next sheet: one
         * line cut there says little (4 acceptable real licences had one or two, none of the
         * cut ones only one). */
        double min_cut = w_mm > 150 ? CFG("text.min_cut_lines_large", 2) : CFG("text.min_cut_lines", 1);
        if (tq.cut >= min_cut && !border_flagged) /* one flag per reason code */
            bn_flag_add(flags, "border_incomplete", tq.cut, min_cut, -1);
        /* and a card found whole under ~77 dpi (~260 px wide) is too coarse for the
         * prepared image even when its largest print still reads (a real card measured at
         * 79 dpi was legible and accepted; our 255-px specimen card, 76 dpi, is not) */
        double min_dpi = w_mm > 150 ? CFG("text.min_dpi_large", 40) : CFG("text.min_dpi", 77);
        /* a licence's body text under ~13.5 px no longer reads reliably where a card's larger
         * print at 12 still does (real licences: acceptable from 14.5 px, a 500 x 674 photo of
         * a screen, judged too coarse, at 12.4) */
        if (tq.text_h < (t = w_mm > 150 ? CFG("text.min_height_large", 13.5) : CFG("text.min_height", 12)))
            bn_flag_add(flags, "resolution_too_low", tq.text_h, t, -1);
        else if (g.found && dpi < min_dpi)
            bn_flag_add(flags, "resolution_too_low", dpi, min_dpi, -1);
    } else {
        /* Large documents (licences, A4) print larger text: they stay legible at a lower DPI. */
        double min_dpi = w_mm > 150 ? CFG("resolution.min_dpi_large", 60) : CFG("resolution.min_dpi", 150);
        if (dpi < min_dpi)
            bn_flag_add(flags, "resolution_too_low", dpi, min_dpi, -1);
    }

    STEP("find_rectify");
    /* 4. Metrics on the document at a fixed working width. */
    int mw = (int)CFG("metrics_width", 800);
    if (rect->width != mw) {
        /* Width mw, but never more than 4 mw tall: a 1 x 3000 strip must not become 800 x 2.4M. */
        double ms = (double)mw / rect->width;
        if (rect->height * ms > 4.0 * mw)
            ms = 4.0 * mw / rect->height;
        int ww = (int)lround(rect->width * ms), mh = (int)lround(rect->height * ms);
        work = bn_image_resize(rect, ww > 0 ? ww : 1, mh > 0 ? mh : 1);
        if (!work)
            goto oom;
    }
    int wm_on = json_is_true(json_object_get(task->options, "watermark"));
    if (!work && wm_on) {
        /* The watermark is written into rect while the metrics run: measure a copy. */
        work = bn_image_crop(rect, 0, 0, rect->width, rect->height);
        if (!work)
            goto oom;
    }
    const bn_image_t *mimg = work ? work : rect;

    /* 5 (on a second thread). Prepared image: upright, deskewed, optionally watermarked,
     * within the profile. */
    bn_layout_t lay;
    s_prepare_t prep = {.rect = rect, .prof = &prof};
    if (wm_on) {
        prep.lay = g.found && bn_layout_get(dts, NULL, &lay) == 0 ? &lay : NULL;
        prep.watermark = bn_config_str(task->config, "quality.watermark.text", "仅供备案使用");
    }
    pthread_t prep_thread;
    int threaded = pthread_create(&prep_thread, NULL, s_prepare, &prep) == 0;
    if (!threaded)
        s_prepare(&prep);

    bn_glare_params_t gp = {CFG("glare.min_luma", 248), CFG("glare.max_chroma", 28), CFG("glare.min_blob", 0.0015)};
    bn_metrics_t m;
    s_moire_t mo = {.img = img, .mimg = mimg, .g = &g};
    pthread_t mo_thread;
    int mo_threaded = pthread_create(&mo_thread, NULL, s_moire, &mo) == 0;
    if (!mo_threaded)
        s_moire(&mo);
    bn_metrics_compute(mimg, &gp, &m);
    if (mo_threaded)
        pthread_join(mo_thread, NULL);
    m.moire = mo.moire;
    json_object_set_new(q, "sharpness", json_real(m.sharpness));
    json_object_set_new(q, "laplacian_var", json_real(m.laplacian_var));
    json_object_set_new(q, "brightness_mean", json_real(m.brightness_mean));
    json_object_set_new(q, "brightness_p5", json_real(m.brightness_p5));
    json_object_set_new(q, "brightness_p95", json_real(m.brightness_p95));
    json_object_set_new(q, "clipped_fraction", json_real(m.clipped_fraction));
    json_object_set_new(q, "glare_fraction", json_real(m.glare_fraction));
    json_object_set_new(q, "colourfulness", json_real(m.colourfulness));
    json_object_set_new(q, "chroma_mean", json_real(m.chroma_mean));
    json_object_set_new(q, "midtone_fraction", json_real(m.midtone_fraction));
    json_object_set_new(q, "paper_white", json_real(m.paper_white));
    json_object_set_new(q, "moire", json_real(m.moire));

    json_object_set_new(q, "colour_nonred", json_real(m.colour_nonred));
    /* A licence's white paper at the sensor's clipping point (a flatbed scan, flat light: half
     * the page at luma >= 245) whose print is still dark (p5 < 200; real scans 117-160, a
     * washed-out photo 245): its clipped, colourless pixels are the paper itself, so neither glare nor overexposure is
     * judged by them (real set: 4 acceptable licence scans were flagged). Cards and passports
     * have a tinted ground: clipped there is too much light. */
    /* (an electronic domain certificate is such a page by nature, its print too sparse to
     * darken p5) */
    int white_paper = bn_doc_is_page(dtype) && m.brightness_p50 >= CFG("exposure.white_paper", 245) &&
                      (cert || m.brightness_p5 < CFG("exposure.white_paper_max_p5", 200)); /* its print still dark */
    if (m.sharpness < (t = CFG("blur.min_sharpness", 0.58)))
        bn_flag_add(flags, "blurry", m.sharpness, t, -1);
    if (!white_paper && m.glare_fraction > (t = CFG("glare.max_fraction", 0.01)))
        bn_flag_add(flags, "glare", m.glare_fraction, t, -1);
    if (m.brightness_mean < (t = CFG("exposure.min_mean", 70)))
        bn_flag_add(flags, "too_dark", m.brightness_mean, t, -1);
    else if (m.brightness_p95 < (t = CFG("exposure.min_p95", 110)))
        bn_flag_add(flags, "too_dark", m.brightness_p95, t, -1);
    /* Exposure also on the whole frame: a washed-out card may not be found at all. */
    double fmean = 0, fp5, fp95, fclip = 0;
    bn_metric_brightness(frame, &fmean, &fp5, &fp95, &fclip);
    json_object_set_new(q, "frame_clipped_fraction", json_real(fclip));
    if (white_paper)
        ; /* see above */
    else if (m.clipped_fraction > (t = CFG("exposure.max_clipped", 0.35)))
        bn_flag_add(flags, "overexposed", m.clipped_fraction, t, -1);
    else if (fclip > (t = CFG("exposure.max_frame_clipped", 0.25)))
        bn_flag_add(flags, "overexposed", fclip, t, -1);
    else if (m.brightness_mean > (t = CFG("exposure.max_mean", 238)))
        bn_flag_add(flags, "overexposed", m.brightness_mean, t, -1);
    int not_color = di.is_grey_stored || m.colourfulness < CFG("color.min_colourfulness", 6);
    if (not_color)
        bn_flag_add(flags, "not_color", m.colourfulness, CFG("color.min_colourfulness", 6), -1);
    /* A copy: no colour, two tones, and paper brighter than any card's printed background. */
    if (m.colourfulness < CFG("photocopy.max_colourfulness", 4) &&
        m.midtone_fraction < CFG("photocopy.max_midtone_fraction", 0.08) &&
        m.paper_white >= CFG("photocopy.min_paper_white", 238))
        bn_flag_add(flags, "photocopy", m.midtone_fraction, CFG("photocopy.max_midtone_fraction", 0.08), -1);
    /* ...or white paper whose only colour is red: a black-and-white copy with the company's
     * seal stamped on it. An original's print (a licence's border and emblem, a card's
     * background) has colour of other hues (real set, white-paper licences: two copies 0.5 and
     * 1.0 % of the page, a third 3.2 %; scans of originals 2.3-88 %). Not a domain certificate:
     * 新网's original is exactly black print, a red frame and a red seal on white. */
    else if (!cert && m.paper_white >= CFG("photocopy.white_paper", 245) &&
             m.colour_nonred < (t = CFG("photocopy.max_colour_nonred", 0.015)))
        bn_flag_add(flags, "photocopy", m.colour_nonred, t, -1);
    /* ...or a licence photographed in room light, its paper grey: then only a far smaller share
     * of colour other than red tells a copy (real set: a copy on a table 0.45 %, originals from
     * 0.97 %). Licences only: that is where it was measured, and a card's back may be printed in
     * little but red (a clean specimen Taiwan permit back scored under it). */
    else if (!strcmp(dtype, "business-license") && m.colour_nonred < (t = CFG("photocopy.max_colour_nonred_dim", 0.006)))
        bn_flag_add(flags, "photocopy", m.colour_nonred, t, -1);
    /* 3.5: our specimens' screens score 4.0-5.7; two acceptable real photos scored 2.6 and 3.0
     * (a card's guilloche at 4000 px, a licence's security print), while the real screen
     * recaptures, soft and downsized, scored under 2 and are caught by their resolution. */
    if (m.moire > (t = CFG("screen.min_moire", 3.5)))
        bn_flag_add(flags, "screen_recapture", m.moire, t, -1);

    STEP("metrics");
    /* 6. Review thumbnail. The glare boxes, in the rectified document's pixels, also go into
     * the result: the ocr stage draws the review again with its own flags (bn_review_blob). */
    if (m.nglare > 0) {
        double gs = (double)rect->width / mimg->width;
        json_t *boxes = json_array();
        for (int k = 0; k < m.nglare; k++)
            json_array_append_new(boxes, json_pack("[i, i, i, i]", (int)(m.glare[k].x * gs), (int)(m.glare[k].y * gs),
                                                   (int)(m.glare[k].w * gs), (int)(m.glare[k].h * gs)));
        json_object_set_new(q, "glare_boxes",
                            json_pack("{s:[i, i], s:o}", "size", rect->width, rect->height, "boxes", boxes));
    }
    /* Geometry is in decoded pixels; the review is drawn on the small frame. */
    bn_docgeom_t gr = g;
    double fs = (double)frame->width / img->width;
    for (int k = 0; k < 4; k++)
        gr.corners[k].x *= fs, gr.corners[k].y *= fs;
    const json_t *fl[] = {flags};
    void *rj = NULL;
    size_t rlen = 0;
    json_t *rv = bn_review_blob(frame, &gr, fw, fl, 1, json_object_get(q, "glare_boxes"), NULL, 0, 0, &rj, &rlen);

    STEP("review");
    /* What is left of preparing once metrics and review are done (0 when it overlapped fully). */
    if (threaded)
        pthread_join(prep_thread, NULL);
    if (prep.wm_failed)
        bn_warn("quality: watermark not applied: %s", prep.msg);
    if (wm_on)
        json_object_set_new(q, "watermark", json_boolean(1));
    if (!prep.jpg) {
        json_decref(rv);
        free(rj);
        bn_error_set(prep.code[0] ? prep.code : "internal", "%s", prep.msg);
        goto fail;
    }
    bn_stage_result_add_blob(out, "prepared", "image/jpeg", prep.jpg, prep.pi.bytes);
    if (rj)
        bn_stage_result_add_blob(out, "review", "image/jpeg", rj, rlen);
    json_t *prepared = json_pack("{s:i, s:i, s:I, s:s, s:s, s:s, s:i, s:b}", "width", prep.pi.width, "height",
                                 prep.pi.height, "bytes", (json_int_t)prep.pi.bytes, "mime", "image/jpeg", "blob",
                                 "prepared", "profile", prof.name, "jpeg_quality", prep.pi.quality, "fits_profile",
                                 prep.pi.fits);
    STEP("prepare");
    json_object_set_new(timing, "total", json_real(round((s_ms() - t_start) * 10) / 10));
    json_object_set_new(q, "timing_ms", timing);
    timing = NULL;
#undef STEP
    /* Geometry in the upload's pixel coordinates (decode may have shrunk). */
    for (int k = 0; g.found && k < 4; k++)
        g.corners[k].x *= di.shrink, g.corners[k].y *= di.shrink;
    out->json = json_pack("{s:o, s:o, s:o, s:o, s:o, s:s}", "quality", q, "geometry", s_geometry_json(&g), "flags",
                          flags, "prepared", prepared, "review", rv, "verdict",
                          bn_verdict_name(bn_flags_worst(flags)));
    /* for the ocr stage (hints), not for the result document: bn_job_result leaves it out */
    if (out->json && text_boxes)
        json_object_set_new(out->json, "text_boxes", text_boxes);
    else
        json_decref(text_boxes);
    bn_image_destroy(&img);
    bn_image_destroy(&rect);
    bn_image_destroy(&work);
    bn_image_destroy(&frame);
    return 0;

oom:
    bn_error_set("out_of_memory", "quality stage");
fail:
    json_decref(timing);
    json_decref(text_boxes);
    json_decref(flags);
    json_decref(q);
    bn_image_destroy(&img);
    bn_image_destroy(&rect);
    bn_image_destroy(&work);
    bn_image_destroy(&frame);
    bn_stage_result_clear(out);
    return -1;
}

json_t *bn_quality_hints(const bn_task_t *task)
{
    bn_task_t q = *task;
    q.stage = "quality";
    q.hints = NULL;
    bn_stage_result_t r;
    if (bn_quality_run(&q, &r) != 0)
        return NULL;
    json_t *hints = json_pack("{s:O}", "quality", r.json);
    bn_stage_result_clear(&r);
    return hints;
}
