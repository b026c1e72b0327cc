// bn_facenet — thin C++ over OpenCV DNN for the face stage; see bn_facenet.h. Nothing but model
// plumbing lives here: policy (which face, which flag, which threshold) is in bn_face.c.
#include "face/bn_facenet.h"

extern "C" {
#include "core/bn_error.h"
#include "core/bn_log.h"
}

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <sys/stat.h>
#include <vector>

namespace {

enum { DET_ULTRAFACE, DET_YUNET };
enum { REC_MOBILEFACENET, REC_SFACE };

// ArcFace's canonical 5-point template for 112×112 (eyes, nose, mouth corners, image order).
const float kRef[5][2] = {{38.2946f, 51.6963f}, {73.5318f, 51.5014f}, {56.0252f, 71.7366f},
                          {41.5493f, 92.3655f}, {70.7299f, 92.2041f}};

const int kDetW = 320, kDetH = 240;  // Ultra-Light RFB-320's fixed input

std::mutex g_lock;  // one model set per process; Net::forward is not re-entrant

// Crops, aligned faces and blobs are personal data: overwrite before the buffer goes back.
void wipe(cv::Mat &m)
{
    if (!m.empty() && m.u && m.isContinuous())
        std::memset(m.data, 0, m.total() * m.elemSize());
    m.release();
}

bool file_exists(const std::string &p)
{
    struct stat st;
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

struct Paths {
    std::string dir, detector, landmark, recognizer, liveness;
    int det_kind, rec_kind;
};

Paths resolve(const bn_config_t *cfg)
{
    Paths p;
    const char *env = getenv("BEIAN_MODELS");
    p.dir = (env && *env) ? env : bn_config_str(cfg, "face.models_dir", BEIAN_SOURCE_DIR "/models");
    std::string det = bn_config_str(cfg, "face.detector", "ultraface");
    std::string rec = bn_config_str(cfg, "face.recognizer", "mobilefacenet");
    p.det_kind = det == "yunet" ? DET_YUNET : DET_ULTRAFACE;
    p.rec_kind = rec == "sface" ? REC_SFACE : REC_MOBILEFACENET;
    const char *ddef = p.det_kind == DET_YUNET ? "face_detection_yunet_2022mar.onnx" : "fr_detect.onnx";
    const char *rdef = p.rec_kind == REC_SFACE ? "face_recognition_sface_2021dec.onnx" : "fr_feature.onnx";
    auto join = [&](const char *key, const char *dflt) {
        std::string f = bn_config_str(cfg, key, dflt);
        return f.empty() ? f : (f[0] == '/' ? f : p.dir + "/" + f);
    };
    p.detector = join("face.files.detector", ddef);
    // YuNet brings its own five points; the 68-point model is only needed after Ultra-Light.
    p.landmark = p.det_kind == DET_YUNET ? "" : join("face.files.landmark", "fr_landmark.onnx");
    p.recognizer = join("face.files.recognizer", rdef);
    p.liveness = join("face.files.liveness", "fr_liveness.onnx");
    return p;
}

}  // namespace

struct bn_facenet {
    Paths paths;
    cv::dnn::Net det, lmk, rec, live;
    cv::Ptr<cv::FaceDetectorYN> yunet;
    cv::Ptr<cv::FaceRecognizerSF> sface;
    float det_thr;
    bool has_live;
    bool rec_bgr;   // feed the recogniser BGR (face.recognizer_bgr)
};

static bn_facenet *g_net;

// ---- geometry ----------------------------------------------------------------------------

// Least-squares similarity (scale, rotation, translation; no shear, no reflection) taking the 5
// detected points onto the template: the closed form of Umeyama's method in 2-D.
static cv::Mat similarity_to_ref(const float pts[5][2])
{
    double msx = 0, msy = 0, mdx = 0, mdy = 0;
    for (int i = 0; i < 5; i++) {
        msx += pts[i][0], msy += pts[i][1];
        mdx += kRef[i][0], mdy += kRef[i][1];
    }
    msx /= 5, msy /= 5, mdx /= 5, mdy /= 5;
    double ss = 0, a = 0, b = 0;
    for (int i = 0; i < 5; i++) {
        double sx = pts[i][0] - msx, sy = pts[i][1] - msy;
        double dx = kRef[i][0] - mdx, dy = kRef[i][1] - mdy;
        ss += sx * sx + sy * sy;
        a += sx * dx + sy * dy;
        b += sx * dy - sy * dx;
    }
    if (ss < 1e-6)
        ss = 1e-6;
    a /= ss, b /= ss;
    cv::Mat m = (cv::Mat_<double>(2, 3) << a, -b, mdx - (a * msx - b * msy), b, a,
                 mdy - (b * msx + a * msy));
    return m;
}

static cv::Mat as_rgb(const bn_image_t *img)
{
    cv::Mat m(img->height, img->width, img->bands == 1 ? CV_8UC1 : CV_8UC3, img->data);
    if (img->bands == 1) {
        cv::Mat c;
        cv::cvtColor(m, c, cv::COLOR_GRAY2RGB);
        return c;
    }
    return m;  // a view: the caller owns the pixels
}

// The box grown by scale around its centre, shifted (not cut) to stay inside the image — the
// crop the landmark and liveness models were trained on.
static cv::Rect grow_box(const bn_face_box_t *f, float scale, int iw, int ih)
{
    float s = std::min({(ih - 1) / std::max(f->h, 1.f), (iw - 1) / std::max(f->w, 1.f), scale});
    float nw = f->w * s, nh = f->h * s, cx = f->x + f->w / 2, cy = f->y + f->h / 2;
    float x0 = cx - nw / 2, y0 = cy - nh / 2, x1 = cx + nw / 2, y1 = cy + nh / 2;
    if (x0 < 0) x1 -= x0, x0 = 0;
    if (y0 < 0) y1 -= y0, y0 = 0;
    if (x1 > iw - 1) x0 -= x1 - iw + 1, x1 = iw - 1;
    if (y1 > ih - 1) y0 -= y1 - ih + 1, y1 = ih - 1;
    cv::Rect r((int)std::max(x0, 0.f), (int)std::max(y0, 0.f), (int)(x1 - x0), (int)(y1 - y0));
    return r & cv::Rect(0, 0, iw, ih);
}

// ---- detection ---------------------------------------------------------------------------

struct Cand {
    cv::Rect2f box;
    float score;
    float pts[5][2];
    bool has_pts;
};

// One Ultra-Light pass over a region of the image, letterboxed into 320×240 so faces keep their
// aspect (the model was trained on squashed frames, but letterboxing costs nothing in accuracy
// and keeps portrait selfies' faces round).
static void ultraface_pass(bn_facenet *fn, const cv::Mat &rgb, cv::Rect roi, std::vector<Cand> &out)
{
    double s = std::min((double)kDetW / roi.width, (double)kDetH / roi.height);
    int rw = std::max(1, (int)std::lround(roi.width * s)), rh = std::max(1, (int)std::lround(roi.height * s));
    cv::Mat canvas(kDetH, kDetW, CV_8UC3, cv::Scalar(127, 127, 127)), small;
    cv::resize(rgb(roi), small, cv::Size(rw, rh), 0, 0, cv::INTER_AREA);
    small.copyTo(canvas(cv::Rect(0, 0, rw, rh)));
    cv::Mat blob = cv::dnn::blobFromImage(canvas, 1.0 / 128, cv::Size(), cv::Scalar(127, 127, 127), false, false);
    fn->det.setInput(blob);
    std::vector<cv::Mat> outs;
    std::vector<cv::String> names = {"boxes", "scores"};
    fn->det.forward(outs, names);
    wipe(blob), wipe(canvas), wipe(small);
    const cv::Mat &boxes = outs[0], &scores = outs[1];
    int n = boxes.size[1];
    const float *b = boxes.ptr<float>(), *sc = scores.ptr<float>();
    for (int i = 0; i < n; i++) {
        float p = sc[i * 2 + 1];
        if (p < fn->det_thr)
            continue;
        float x0 = b[i * 4] * kDetW / s, y0 = b[i * 4 + 1] * kDetH / s;
        float x1 = b[i * 4 + 2] * kDetW / s, y1 = b[i * 4 + 3] * kDetH / s;
        x0 = std::max(0.f, x0), y0 = std::max(0.f, y0);
        x1 = std::min((float)roi.width, x1), y1 = std::min((float)roi.height, y1);
        if (x1 - x0 < 4 || y1 - y0 < 4)
            continue;
        Cand c;
        c.box = cv::Rect2f(roi.x + x0, roi.y + y0, x1 - x0, y1 - y0);
        c.score = p;
        c.has_pts = false;
        out.push_back(c);
    }
}

static void ultraface_detect(bn_facenet *fn, const cv::Mat &rgb, std::vector<Cand> &cands)
{
    cv::Rect all(0, 0, rgb.cols, rgb.rows);
    ultraface_pass(fn, rgb, all, cands);
    if (!cands.empty())
        return;
    // Nothing at the coarse scale: search again 2.5× finer in overlapping tiles, so a portrait
    // that is a small part of a large page or card photo is still found. Bounded: ≤ 25 tiles.
    double s0 = std::min((double)kDetW / rgb.cols, (double)kDetH / rgb.rows);
    double s1 = std::min(1.0, s0 * 2.5);
    if (s1 < s0 * 1.5)
        return;
    int tw = std::min(rgb.cols, (int)(kDetW / s1)), th = std::min(rgb.rows, (int)(kDetH / s1));
    int sx = std::max(1, tw * 3 / 4), sy = std::max(1, th * 3 / 4);
    int tiles = 0;
    for (int y = 0;; y += sy) {
        y = std::min(y, rgb.rows - th);
        for (int x = 0;; x += sx) {
            x = std::min(x, rgb.cols - tw);
            if (++tiles > 25)
                return;
            ultraface_pass(fn, rgb, cv::Rect(x, y, tw, th), cands);
            if (x + tw >= rgb.cols)
                break;
        }
        if (y + th >= rgb.rows)
            break;
    }
}

static void yunet_detect(bn_facenet *fn, const cv::Mat &rgb, std::vector<Cand> &cands)
{
    // YuNet runs at the image's own size; cap it at 640 on the long side for speed.
    double s = std::min(1.0, 640.0 / std::max(rgb.cols, rgb.rows));
    cv::Mat bgr;
    cv::resize(rgb, bgr, cv::Size(), s, s, cv::INTER_AREA);
    cv::cvtColor(bgr, bgr, cv::COLOR_RGB2BGR);
    fn->yunet->setInputSize(bgr.size());
    fn->yunet->setScoreThreshold(fn->det_thr);
    cv::Mat faces;
    fn->yunet->detect(bgr, faces);
    wipe(bgr);
    for (int i = 0; i < faces.rows; i++) {
        const float *r = faces.ptr<float>(i);
        Cand c;
        c.box = cv::Rect2f(r[0] / s, r[1] / s, r[2] / s, r[3] / s);
        c.score = r[14];
        for (int k = 0; k < 5; k++)
            c.pts[k][0] = r[4 + 2 * k] / s, c.pts[k][1] = r[5 + 2 * k] / s;
        c.has_pts = true;
        cands.push_back(c);
    }
}

// 68 points from the 64×64 grey crop of the box, reduced to the 5 the alignment needs; the jaw
// line gives the yaw estimate (nose-to-cheek distances are symmetric only when facing the camera).
static void landmarks68(bn_facenet *fn, const cv::Mat &rgb, bn_face_box_t *f)
{
    cv::Rect r = grow_box(f, 1.0f, rgb.cols, rgb.rows);
    if (r.width < 2 || r.height < 2)
        return;
    cv::Mat grey, small;
    cv::cvtColor(rgb(r), grey, cv::COLOR_RGB2GRAY);
    cv::resize(grey, small, cv::Size(64, 64), 0, 0, cv::INTER_AREA);
    cv::Mat blob = cv::dnn::blobFromImage(small, 1.0 / 256);
    fn->lmk.setInput(blob);
    cv::Mat o = fn->lmk.forward();
    wipe(grey), wipe(small), wipe(blob);
    const float *v = o.ptr<float>();
    auto P = [&](int i) { return cv::Point2f(v[2 * i] * r.width + r.x, v[2 * i + 1] * r.height + r.y); };
    cv::Point2f le = (P(37) + P(38) + P(40) + P(41)) / 4, re = (P(43) + P(44) + P(46) + P(47)) / 4;
    cv::Point2f nose = P(30), ml = (P(48) + P(60)) / 2, mr = (P(54) + P(64)) / 2;
    cv::Point2f p5[5] = {le, re, nose, ml, mr};
    for (int k = 0; k < 5; k++)
        f->pts[k][0] = p5[k].x, f->pts[k][1] = p5[k].y;
    f->has_pts = 1;
    // Yaw from the jaw: points 2 and 14 sit on the cheeks at eye–mouth height.
    float dl = std::fabs(nose.x - P(2).x), dr = std::fabs(P(14).x - nose.x);
    f->yaw = (dl + dr) > 1e-3f ? (dr - dl) / (dl + dr) : 0.f;
}

// Quality measures that do not need a model beyond the points already found.
static void quality(const cv::Mat &rgb, bn_face_box_t *f, bool yaw_known)
{
    f->size = std::min(f->w, f->h);
    cv::Rect inner((int)(f->x + f->w * 0.2f), (int)(f->y + f->h * 0.2f), (int)(f->w * 0.6f), (int)(f->h * 0.6f));
    inner &= cv::Rect(0, 0, rgb.cols, rgb.rows);
    if (inner.area() > 0) {
        cv::Scalar m = cv::mean(rgb(inner));
        f->brightness = (float)(0.299 * m[0] + 0.587 * m[1] + 0.114 * m[2]);
    }
    if (!f->has_pts)
        return;
    float ex = f->pts[1][0] - f->pts[0][0], ey = f->pts[1][1] - f->pts[0][1];
    f->eye_dist = std::sqrt(ex * ex + ey * ey);
    f->roll_deg = (float)(std::atan2(ey, ex) * 180 / M_PI);
    if (!yaw_known && f->eye_dist > 1e-3f) {
        // Five points only: the nose's offset from the eye/mouth midline, in the eye line's frame.
        float c = ex / f->eye_dist, s = ey / f->eye_dist;
        float mx = (f->pts[0][0] + f->pts[1][0] + f->pts[3][0] + f->pts[4][0]) / 4;
        float my = (f->pts[0][1] + f->pts[1][1] + f->pts[3][1] + f->pts[4][1]) / 4;
        float d = (f->pts[2][0] - mx) * c + (f->pts[2][1] - my) * s;
        f->yaw = std::max(-1.f, std::min(1.f, 2.f * d / f->eye_dist));
    }
    f->frontal = 1.f - std::fabs(f->yaw);
    cv::Mat aligned, grey, lap;
    cv::warpAffine(rgb, aligned, similarity_to_ref(f->pts), cv::Size(112, 112));
    cv::cvtColor(aligned, grey, cv::COLOR_RGB2GRAY);
    cv::Laplacian(grey, lap, CV_32F);
    cv::Scalar mu, sd;
    cv::meanStdDev(lap, mu, sd);
    f->sharpness = (float)(sd[0] * sd[0]);
    wipe(aligned), wipe(grey), wipe(lap);
}

// ---- the C interface ---------------------------------------------------------------------

extern "C" const char *bn_facenet_models_dir(const bn_config_t *cfg, char *buf, size_t size)
{
    snprintf(buf, size, "%s", resolve(cfg).dir.c_str());
    return buf;
}

extern "C" int bn_facenet_available(const bn_config_t *cfg)
{
    Paths p = resolve(cfg);
    return file_exists(p.detector) && (p.landmark.empty() || file_exists(p.landmark)) &&
           file_exists(p.recognizer);
}

extern "C" bn_facenet_t *bn_facenet_get(const bn_config_t *cfg)
{
    std::lock_guard<std::mutex> hold(g_lock);
    if (g_net)
        return g_net;
    Paths p = resolve(cfg);
    for (const std::string *f : {&p.detector, &p.landmark, &p.recognizer})
        if (!f->empty() && !file_exists(*f)) {
            bn_error_set("face_models_missing", "face model %s is missing; run scripts/fetch-models.sh",
                         f->c_str());
            return NULL;
        }
    bn_facenet *fn = new bn_facenet();
    fn->paths = p;
    // RGB, as the package's own JavaScript feeds it; BGR measured no better (docs/FACE.md).
    fn->rec_bgr = bn_config_bool(cfg, "face.recognizer_bgr", 0);
    fn->det_thr = (float)bn_config_num(cfg, "face.detect_threshold", p.det_kind == DET_YUNET ? 0.8 : 0.7);
    try {
        if (p.det_kind == DET_YUNET)
            fn->yunet = cv::FaceDetectorYN::create(p.detector, "", cv::Size(320, 320), fn->det_thr, 0.3f, 50);
        else {
            fn->det = cv::dnn::readNetFromONNX(p.detector);
            fn->lmk = cv::dnn::readNetFromONNX(p.landmark);
        }
        if (p.rec_kind == REC_SFACE)
            fn->sface = cv::FaceRecognizerSF::create(p.recognizer, "");
        else
            fn->rec = cv::dnn::readNetFromONNX(p.recognizer);
        fn->has_live = !p.liveness.empty() && file_exists(p.liveness);
        if (fn->has_live)
            fn->live = cv::dnn::readNetFromONNX(p.liveness);
    } catch (const cv::Exception &e) {
        bn_error_set("face_model_error", "cannot load face models from %s: %s", p.dir.c_str(), e.what());
        delete fn;
        return NULL;
    }
    g_net = fn;
    return fn;
}

extern "C" int bn_facenet_detect(bn_facenet_t *fn, const bn_image_t *img, bn_face_box_t *faces, int max)
{
    if (!fn || !img || !img->data || img->width < 8 || img->height < 8 || max <= 0)
        return bn_error_set("invalid_argument", "bn_facenet_detect: bad image");
    std::lock_guard<std::mutex> hold(g_lock);
    try {
        cv::Mat rgb = as_rgb(img);
        std::vector<Cand> cands;
        if (fn->paths.det_kind == DET_YUNET)
            yunet_detect(fn, rgb, cands);
        else
            ultraface_detect(fn, rgb, cands);
        // One box per face across scales and tiles.
        std::vector<cv::Rect> rects;
        std::vector<float> scores;
        for (const Cand &c : cands)
            rects.push_back(c.box), scores.push_back(c.score);
        std::vector<int> keep;
        cv::dnn::NMSBoxes(rects, scores, fn->det_thr, 0.4f, keep);
        std::sort(keep.begin(), keep.end(), [&](int a, int b) { return cands[a].box.area() > cands[b].box.area(); });
        int n = 0;
        for (int k : keep) {
            if (n >= max)
                break;
            bn_face_box_t *f = &faces[n++];
            std::memset(f, 0, sizeof *f);
            const Cand &c = cands[k];
            f->x = c.box.x, f->y = c.box.y, f->w = c.box.width, f->h = c.box.height;
            f->confidence = c.score;
            if (c.has_pts) {
                std::memcpy(f->pts, c.pts, sizeof f->pts);
                f->has_pts = 1;
            } else {
                landmarks68(fn, rgb, f);
            }
            quality(rgb, f, !c.has_pts);
        }
        if (img->bands == 1)
            wipe(rgb);
        return n;
    } catch (const cv::Exception &e) {
        return bn_error_set("face_model_error", "face detection failed: %s", e.what());
    }
}

extern "C" int bn_facenet_align(bn_facenet_t *fn, const bn_image_t *img, const bn_face_box_t *face, uint8_t *out)
{
    if (!fn || !img || !face || !face->has_pts || !out)
        return bn_error_set("invalid_argument", "bn_facenet_align: no face points");
    try {
        cv::Mat rgb = as_rgb(img), aligned(112, 112, CV_8UC3, out);  // written in place
        cv::warpAffine(rgb, aligned, similarity_to_ref(face->pts), aligned.size());
        if (img->bands == 1)
            wipe(rgb);
        return 0;
    } catch (const cv::Exception &e) {
        return bn_error_set("face_model_error", "face alignment failed: %s", e.what());
    }
}

extern "C" int bn_facenet_embed(bn_facenet_t *fn, const uint8_t *aligned_rgb, int mirrored, float *emb)
{
    if (!fn || !aligned_rgb || !emb)
        return bn_error_set("invalid_argument", "bn_facenet_embed: no face");
    std::lock_guard<std::mutex> hold(g_lock);
    try {
        cv::Mat aligned, feat;
        cv::Mat(112, 112, CV_8UC3, (void *)aligned_rgb).copyTo(aligned);
        if (mirrored)
            cv::flip(aligned, aligned, 1);
        if (fn->paths.rec_kind == REC_SFACE) {
            cv::cvtColor(aligned, aligned, cv::COLOR_RGB2BGR);  // SFace was trained on BGR
            fn->sface->feature(aligned, feat);
            feat = feat.clone();
        } else {
            cv::Mat blob = cv::dnn::blobFromImage(aligned, 1.0 / 128, cv::Size(112, 112),
                                                  cv::Scalar(127, 127, 127), fn->rec_bgr, false);
            fn->rec.setInput(blob);
            feat = fn->rec.forward().clone();
            wipe(blob);
        }
        wipe(aligned);
        int n = (int)std::min<size_t>(feat.total(), BN_FACE_EMB_MAX);
        const float *v = feat.ptr<float>();
        double norm = 0;
        for (int i = 0; i < n; i++)
            norm += (double)v[i] * v[i];
        norm = std::sqrt(norm) + 1e-12;
        for (int i = 0; i < n; i++)
            emb[i] = (float)(v[i] / norm);
        wipe(feat);
        return n;
    } catch (const cv::Exception &e) {
        return bn_error_set("face_model_error", "face embedding failed: %s", e.what());
    }
}

extern "C" double bn_facenet_liveness(bn_facenet_t *fn, const bn_image_t *img, const bn_face_box_t *face)
{
    if (!fn || !fn->has_live || !img || !face)
        return -1;
    std::lock_guard<std::mutex> hold(g_lock);
    try {
        cv::Mat rgb = as_rgb(img), crop;
        cv::Rect r = grow_box(face, 2.7f, rgb.cols, rgb.rows);
        if (r.width < 2 || r.height < 2)
            return -1;
        cv::resize(rgb(r), crop, cv::Size(128, 128));
        if (img->bands == 1)
            wipe(rgb);
        cv::Mat blob = cv::dnn::blobFromImage(crop, 1.0, cv::Size(), cv::Scalar(), false, false);
        fn->live.setInput(blob);
        cv::Mat o = fn->live.forward();
        wipe(blob), wipe(crop);
        const float *v = o.ptr<float>();
        int n = (int)o.total();
        double mx = v[0], sum = 0;
        for (int i = 1; i < n; i++)
            mx = std::max(mx, (double)v[i]);
        for (int i = 0; i < n; i++)
            sum += std::exp(v[i] - mx);
        return std::exp(v[0] - mx) / sum;  // class 0 = live
    } catch (const cv::Exception &e) {
        bn_warn("liveness model failed: %s", e.what());
        return -1;
    }
}

extern "C" double bn_facenet_cosine(const float *a, const float *b, int n)
{
    double d = 0, na = 0, nb = 0;
    for (int i = 0; i < n; i++)
        d += (double)a[i] * b[i], na += (double)a[i] * a[i], nb += (double)b[i] * b[i];
    return (na > 0 && nb > 0) ? d / std::sqrt(na * nb) : 0;
}

extern "C" void bn_facenet_set_threads(int n)
{
    cv::setNumThreads(n);
}
