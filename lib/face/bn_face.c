/* bn_face — portrait vs selfie: which face to compare, quality flags, the decision. The models
 * themselves are behind bn_facenet (C++); this file is policy only. */
#include "face/bn_face.h"
#include "core/bn_error.h"
#include "core/bn_flags.h"
#include "core/bn_log.h"
#include "img/bn_layout.h"
#include "img/bn_docfind.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FACES 16

/* Compiled-in defaults; etc/beian.json "face" and docs/FACE.md document them. The threshold is
 * calibrated with `beian eval face` on ../shared/data/faces (docs/FACE.md, "Calibration"). */
#define DFLT_THRESHOLD 0.40
#define DFLT_MIN_FACE_PX 80
#define DFLT_MIN_BRIGHTNESS 55
#define DFLT_MIN_SHARPNESS 60
#define DFLT_MAX_YAW 0.45
#define DFLT_SECOND_FACE_RATIO 0.35
#define DFLT_LIVENESS_MIN 0.02
#define DFLT_DOC_DPI 200 /* portrait ~200×250 px: ample for a 112×112 crop, 8 ms cheaper than 300 */
#define DFLT_FLIP_MARGIN 0.15

bn_image_t *bn_face_decode(const uint8_t *data, size_t size, int long_side)
{
    bn_decode_limits_t lim = {0};
    lim.shrink_to = long_side;
    return bn_image_decode(data, size, &lim, NULL);
}

void bn_face_image_wipe(bn_image_t **img_p)
{
    if (img_p && *img_p) {
        if ((*img_p)->data)
            sodium_memzero((*img_p)->data, (size_t)(*img_p)->width * (*img_p)->height * (*img_p)->bands);
        bn_image_destroy(img_p);
    }
}

void bn_face_probe_clear(bn_face_probe_t *probe)
{
    if (probe)
        sodium_memzero(probe, sizeof *probe);
}

/* A copy of the rectangle (clipped) of img; NULL when empty. */
static bn_image_t *crop(const bn_image_t *img, int x, int y, int w, int h)
{
    if (x < 0) w += x, x = 0;
    if (y < 0) h += y, y = 0;
    if (x + w > img->width) w = img->width - x;
    if (y + h > img->height) h = img->height - y;
    if (w < 16 || h < 16)
        return NULL;
    bn_image_t *c = bn_image_new(w, h, img->bands);
    if (!c)
        return NULL;
    for (int r = 0; r < h; r++)
        memcpy(c->data + (size_t)r * w * img->bands,
               img->data + ((size_t)(y + r) * img->width + x) * img->bands, (size_t)w * img->bands);
    return c;
}

/* The portrait zone [x, y, w, h] in mm from data/layouts.json "<type>:<side>" (bn_layout: parsed
 * once per process, not per task). 0 when known. */
static int portrait_zone(const char *doc_type, const char *side, double box[4], double size_mm[2])
{
    bn_layout_t lay;
    if (bn_layout_get(doc_type, side && *side ? side : "front", &lay) < 0 || !lay.has_portrait)
        return -1;
    box[0] = lay.portrait.x, box[1] = lay.portrait.y, box[2] = lay.portrait.w, box[3] = lay.portrait.h;
    size_mm[0] = lay.w_mm, size_mm[1] = lay.h_mm;
    return box[2] > 0 && box[3] > 0 ? 0 : -1;
}

/* Detect in img and fill probe with its largest face. 0 = searched (found or not), -1 = error. */
static int probe_in(bn_facenet_t *fn, const bn_config_t *cfg, const bn_image_t *img, bn_face_role_t role,
                    const char *frame, bn_face_probe_t *probe)
{
    if (img->width < 16 || img->height < 16)
        return 0; /* too small to hold a face: a verdict (no_face), not an error */
    bn_face_box_t faces[MAX_FACES];
    int n = bn_facenet_detect(fn, img, faces, MAX_FACES);
    if (n < 0)
        return -1;
    if (n == 0 || !faces[0].has_pts)
        return 0;
    /* Faces much smaller than the main one are background people on a selfie, or the ghost
     * image on a document; on a selfie they still count when of comparable size. */
    double ratio = bn_config_num(cfg, "face.second_face_ratio", DFLT_SECOND_FACE_RATIO);
    int count = 0;
    for (int i = 0; i < n; i++)
        if (faces[i].size >= ratio * faces[0].size)
            count++;
    int dim = bn_facenet_align(fn, img, &faces[0], probe->aligned) < 0 ? -1
              : bn_facenet_embed(fn, probe->aligned, 0, probe->emb);
    if (dim < 0) {
        sodium_memzero(faces, sizeof faces);
        return -1;
    }
    probe->found = 1;
    probe->dim = dim;
    probe->count = role == BN_FACE_DOCUMENT ? n : count;
    probe->face = faces[0];
    snprintf(probe->frame, sizeof probe->frame, "%s", frame);
    sodium_memzero(faces, sizeof faces);
    return 0;
}

/* How much a found face looks like an upright, frontal portrait: a wrongly found or wrongly
 * rotated document yields tilted, turned or low-confidence "faces". */
static double plausibility(const bn_face_probe_t *p)
{
    if (!p->found)
        return -1e9;
    const bn_face_box_t *f = &p->face;
    double roll = fabs(f->roll_deg), yaw = fabs(f->yaw);
    return f->confidence - 0.02 * (roll > 10 ? roll - 10 : 0) - (yaw > 0.3 ? yaw - 0.3 : 0);
}

static int plausible(const bn_face_probe_t *p)
{
    return p->found && p->face.confidence >= 0.95 && fabs(p->face.roll_deg) <= 15 && fabs(p->face.yaw) <= 0.45;
}

/* Search one more frame; keep the more plausible face in best. */
static int try_frame(bn_facenet_t *fn, const bn_config_t *cfg, const bn_image_t *img, const char *frame,
                     bn_face_probe_t *best, bn_face_probe_t *tmp)
{
    if (probe_in(fn, cfg, img, BN_FACE_DOCUMENT, frame, tmp) < 0)
        return -1;
    if (plausibility(tmp) > plausibility(best))
        memcpy(best, tmp, sizeof *best);
    bn_face_probe_clear(tmp);
    return 0;
}

int bn_face_probe(const bn_config_t *cfg, const bn_image_t *img, bn_face_role_t role, const char *doc_type,
                  const char *doc_side, bn_face_probe_t *probe)
{
    if (role == BN_FACE_DOCUMENT)
        return bn_face_probe_document(cfg, img, doc_type, doc_side, NULL, probe);
    memset(probe, 0, sizeof *probe);
    bn_facenet_t *fn = bn_facenet_get(cfg);
    return fn ? probe_in(fn, cfg, img, role, "image", probe) : -1;
}

int bn_face_probe_document(const bn_config_t *cfg, const bn_image_t *img, const char *doc_type,
                           const char *doc_side, const bn_docgeom_t *known, bn_face_probe_t *probe)
{
    memset(probe, 0, sizeof *probe);
    bn_facenet_t *fn = bn_facenet_get(cfg);
    if (!fn)
        return -1;
    if (!doc_type || !*doc_type)
        return probe_in(fn, cfg, img, BN_FACE_DOCUMENT, "image", probe);

    /* A document: the portrait zone of the rectified card first, a small known region where the
     * face is large and nothing else on the card (ghost image, pattern) competes. Then the upload
     * as it is, then the whole rectified card: a card found with the wrong rotation or outline
     * gives no face in the zone and a sideways or upside-down one on the card, which the landmark
     * model then places as if upright — the upright upload is the safer second choice. The first
     * plausible face wins; failing that, the most plausible one. */
    bn_face_probe_t *tmp = calloc(1, sizeof *tmp);
    if (!tmp)
        return bn_error_set("out_of_memory", "face probe");
    bn_docgeom_t geom;
    memset(&geom, 0, sizeof geom);
    bn_image_t *doc = NULL;
    int rc = 0;
    if (known && known->found)
        geom = *known;
    else if (bn_doc_find(img, doc_type, &geom) != 0)
        geom.found = 0;
    if (geom.found)
        doc = bn_doc_rectify(img, &geom, doc_type, (int)bn_config_num(cfg, "face.doc_dpi", DFLT_DOC_DPI));
    bn_error_clear(); /* not found or not possible: fall back, it is not a task failure */
    double z[4], mm[2];
    if (doc && portrait_zone(doc_type, doc_side, z, mm) == 0 && mm[0] > 0 && mm[1] > 0) {
        double sx = doc->width / mm[0], sy = doc->height / mm[1];
        double mx = 0.15 * z[2], my = 0.15 * z[3]; /* printing is never exact */
        bn_image_t *por = crop(doc, (int)((z[0] - mx) * sx), (int)((z[1] - my) * sy),
                               (int)((z[2] + 2 * mx) * sx), (int)((z[3] + 2 * my) * sy));
        if (por) {
            rc = try_frame(fn, cfg, por, "portrait", probe, tmp);
            bn_face_image_wipe(&por);
        }
    }
    if (rc == 0 && !plausible(probe))
        rc = try_frame(fn, cfg, img, "image", probe, tmp);
    if (rc == 0 && !plausible(probe) && doc)
        rc = try_frame(fn, cfg, doc, "document", probe, tmp);
    bn_face_image_wipe(&doc);
    free(tmp);
    if (rc < 0)
        bn_face_probe_clear(probe);
    return rc;
}

int bn_face_probe_mirror(const bn_config_t *cfg, bn_face_probe_t *probe)
{
    if (!probe->found || probe->has_mirror)
        return 0;
    bn_facenet_t *fn = bn_facenet_get(cfg);
    if (!fn || bn_facenet_embed(fn, probe->aligned, 1, probe->mirror) != probe->dim)
        return -1;
    probe->has_mirror = 1;
    return 0;
}

static double cos_sum(const bn_face_probe_t *a, const bn_face_probe_t *b)
{
    float va[BN_FACE_EMB_MAX], vb[BN_FACE_EMB_MAX];
    for (int i = 0; i < a->dim; i++)
        va[i] = a->emb[i] + a->mirror[i], vb[i] = b->emb[i] + b->mirror[i];
    double s = bn_facenet_cosine(va, vb, a->dim);
    sodium_memzero(va, sizeof va);
    sodium_memzero(vb, sizeof vb);
    return s;
}

double bn_face_compare(const bn_config_t *cfg, bn_face_probe_t *a, bn_face_probe_t *b, int *mirrored)
{
    if (mirrored)
        *mirrored = 0;
    if (!a->found || !b->found || a->dim != b->dim)
        return NAN;
    double s = bn_facenet_cosine(a->emb, b->emb, a->dim);
    double thr = bn_config_num(cfg, "face.threshold", DFLT_THRESHOLD);
    /* The mirrored pass moved scores by at most 0.06 on the calibration set (docs/FACE.md), so
     * outside the margin (0.15) it does not change the decision: skip its cost there. */
    if (!bn_config_bool(cfg, "face.flip_tta", 1) || fabs(s - thr) >= bn_config_num(cfg, "face.flip_margin", DFLT_FLIP_MARGIN))
        return s;
    if (bn_face_probe_mirror(cfg, a) < 0 || bn_face_probe_mirror(cfg, b) < 0)
        return NAN;
    if (mirrored)
        *mirrored = 1;
    return cos_sum(a, b);
}

/* The quality stage's document geometry (hints.quality.geometry, in upload pixels), scaled to
 * the decoded image. 0 when usable. */
static int hint_geometry(const json_t *hints, const bn_image_t *img, bn_docgeom_t *g)
{
    json_t *q = json_object_get(hints, "quality");
    json_t *geo = json_object_get(q, "geometry"), *c = json_object_get(geo, "corners");
    double w = json_number_value(json_object_get(json_object_get(q, "quality"), "width"));
    if (!json_is_true(json_object_get(geo, "found")) || json_array_size(c) != 4 || w <= 0)
        return -1;
    double k = img->width / w;
    memset(g, 0, sizeof *g);
    for (int i = 0; i < 4; i++) {
        json_t *pt = json_array_get(c, (size_t)i);
        if (json_array_size(pt) != 2)
            return -1;
        g->corners[i].x = json_number_value(json_array_get(pt, 0)) * k;
        g->corners[i].y = json_number_value(json_array_get(pt, 1)) * k;
    }
    g->found = 1;
    g->rotation = (int)json_integer_value(json_object_get(geo, "rotation"));
    g->skew_deg = json_number_value(json_object_get(geo, "skew_deg"));
    g->area_fraction = json_number_value(json_object_get(geo, "area_fraction"));
    g->corners_inside = (int)json_integer_value(json_object_get(geo, "corners_inside"));
    g->confidence = json_number_value(json_object_get(geo, "confidence"));
    return 0;
}

static json_t *face_json(const bn_face_probe_t *p)
{
    if (!p->found)
        return json_null();
    const bn_face_box_t *f = &p->face;
    json_t *o = json_pack("{s:[i,i,i,i], s:s, s:f, s:i, s:i, s:f, s:f, s:f, s:f, s:f}",
                          "box", (int)f->x, (int)f->y, (int)f->w, (int)f->h, "frame", p->frame,
                          "confidence", round(f->confidence * 1000) / 1000, "faces", p->count,
                          "size_px", (int)f->size, "eye_distance_px", round(f->eye_dist * 10) / 10,
                          "brightness", round(f->brightness * 10) / 10, "sharpness",
                          round(f->sharpness * 10) / 10, "yaw", round(f->yaw * 1000) / 1000,
                          "frontal", round(f->frontal * 1000) / 1000);
    return o;
}

static void flag_subject(json_t *flag, const char *subject)
{
    if (flag)
        json_object_set_new(flag, "subject", json_string(subject));
}

/* Selfie checks: each is a reason to take the photo again, with the measure that failed. */
static void selfie_checks(const bn_config_t *cfg, const bn_face_probe_t *s, json_t *flags)
{
    const bn_face_box_t *f = &s->face;
    double min_px = bn_config_num(cfg, "face.min_face_px", DFLT_MIN_FACE_PX);
    double min_bright = bn_config_num(cfg, "face.min_brightness", DFLT_MIN_BRIGHTNESS);
    double min_sharp = bn_config_num(cfg, "face.min_sharpness", DFLT_MIN_SHARPNESS);
    double max_yaw = bn_config_num(cfg, "face.max_yaw", DFLT_MAX_YAW);
    if (s->count > 1)
        flag_subject(bn_flag_add(flags, "multiple_faces", s->count, 1, -1), "selfie");
    if (f->size < min_px)
        flag_subject(bn_flag_add(flags, "face_too_small", f->size, min_px, -1), "selfie");
    if (fabs(f->yaw) > max_yaw)
        flag_subject(bn_flag_add(flags, "face_not_frontal", fabs(f->yaw), max_yaw, -1), "selfie");
    if (f->brightness < min_bright)
        flag_subject(bn_flag_add(flags, "face_too_dark", f->brightness, min_bright, -1), "selfie");
    if (f->sharpness < min_sharp)
        flag_subject(bn_flag_add(flags, "face_blurry", f->sharpness, min_sharp, -1), "selfie");
}

int bn_face_run(const bn_task_t *task, bn_stage_result_t *out)
{
    memset(out, 0, sizeof *out);
    if (!task || !task->image || !task->image_size || !task->selfie || !task->selfie_size)
        return bn_error_set("invalid_task", "the face stage needs a document image and a selfie");
    const bn_config_t *cfg = task->config;
    bn_facenet_t *fn = bn_facenet_get(cfg);
    if (!fn)
        return -1;
    double thr = bn_config_num(cfg, "face.threshold", DFLT_THRESHOLD);
    bn_face_probe_t *doc = NULL, *self = NULL;
    bn_image_t *dimg = NULL, *simg = NULL;
    json_t *flags = json_array();
    double live = -1;
    int rc = -1;

    doc = calloc(1, sizeof *doc);
    self = calloc(1, sizeof *self);
    if (!doc || !self) {
        bn_error_set("out_of_memory", "face stage");
        goto err;
    }
    /* Undecodable uploads are verdicts about the upload, not task failures. */
    {
        /* The document may be a PDF: the page and resolution the quality stage rendered. */
        bn_decode_limits_t lim = {0};
        lim.shrink_to = 2000;
        bn_decode_limits_pdf(&lim, cfg);
        dimg = bn_image_decode_page(task->image, task->image_size, &lim, task->doc_page, NULL);
    }
    if (!dimg)
        json_object_set_new(bn_flag_add(flags, "no_face", NAN, NAN, -1), "reason", json_string(bn_error_code()));
    else {
        /* The quality stage has found the document already: reuse its outline when it is there. */
        bn_docgeom_t geom;
        int have = hint_geometry(task->hints, dimg, &geom) == 0;
        if (bn_face_probe_document(cfg, dimg, task->doc_type, task->doc_side, have ? &geom : NULL, doc) < 0)
            goto err;
    }
    if (dimg && !doc->found)
        flag_subject(bn_flag_add(flags, "no_face", NAN, NAN, -1), "document");
    bn_face_image_wipe(&dimg);

    simg = bn_face_decode(task->selfie, task->selfie_size, 1280);
    if (!simg)
        json_object_set_new(bn_flag_add(flags, "no_face", NAN, NAN, -1), "reason", json_string(bn_error_code()));
    else if (bn_face_probe(cfg, simg, BN_FACE_SELFIE, NULL, NULL, self) < 0)
        goto err;
    if (simg && !self->found)
        flag_subject(bn_flag_add(flags, "no_face", NAN, NAN, -1), "selfie");
    if (self->found) {
        selfie_checks(cfg, self, flags);
        if (bn_config_bool(cfg, "face.liveness.enabled", 1))
            live = bn_facenet_liveness(fn, simg, &self->face);
    }
    bn_face_image_wipe(&simg);

    int both = doc->found && self->found && doc->dim == self->dim;
    double score = both ? bn_face_compare(cfg, doc, self, NULL) : NAN;
    if (both && isnan(score))
        goto err;
    json_t *res = json_object();
    json_object_set_new(res, "score", both ? json_real(round(score * 10000) / 10000) : json_null());
    json_object_set_new(res, "threshold", json_real(thr));
    json_object_set_new(res, "match", json_boolean(both && score >= thr));
    if (both && score < thr)
        bn_flag_add(flags, "face_mismatch", round(score * 10000) / 10000, thr, -1);
    /* The anti-spoof model is advisory: it asks for review and never rejects on its own. */
    double live_min = bn_config_num(cfg, "face.liveness.min_score", DFLT_LIVENESS_MIN);
    json_t *lv = json_pack("{s:o, s:b}", "score", live >= 0 ? json_real(round(live * 1000) / 1000) : json_null(),
                           "advisory", 1);
    if (live >= 0 && live < live_min)
        flag_subject(bn_flag_add(flags, "liveness_suspect", round(live * 1000) / 1000, live_min, BN_SEV_REVIEW),
                     "selfie");
    json_object_set_new(res, "document_face", face_json(doc));
    json_object_set_new(res, "selfie_face", face_json(self));
    json_object_set_new(res, "flags", flags);
    json_object_set_new(res, "liveness", lv);
    flags = NULL;
    out->json = res;
    /* Score and flag count only: nothing else about a face reaches a log. */
    bn_debug("face: score %.3f, %d flags", both ? score : -1.0, (int)json_array_size(json_object_get(res, "flags")));
    rc = 0;
err:
    json_decref(flags);
    bn_face_image_wipe(&dimg);
    bn_face_image_wipe(&simg);
    bn_face_probe_clear(doc);
    bn_face_probe_clear(self);
    free(doc);
    free(self);
    return rc;
}
