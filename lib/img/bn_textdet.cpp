// bn_textdet — thin C++ over OpenCV DNN for PP-OCRv4's DB text detector; see bn_textdet.h.
#include "img/bn_textdet.h"

extern "C" {
#include "core/bn_error.h"
#include "core/bn_job.h"
#include "core/bn_log.h"
}

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include "img/bn_cutline.hpp"
#include "img/bn_dnnlayers.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <sys/stat.h>
#include <vector>

#ifndef BEIAN_SOURCE_DIR
#define BEIAN_SOURCE_DIR "."
#endif

struct bn_textdet {
    std::mutex lock;  // cv::dnn::Net is not re-entrant
    // One net for every canvas side (cards 480, licences 960, a credit code's band): fix-ppocr.py
    // folds the head's deconvolution biases, which OpenCV 4.6 otherwise fused again at each new
    // size (wrong output; see models/README.md), so it is no longer rebuilt (~0.05 s) when the
    // side changes. It holds the activations of the canvas it last ran (~65 MB at 480, ~220 MB
    // at 960).
    cv::dnn::Net net;
    cv::dnn::Net cls;  // the text-line direction classifier, 1x3x48x192; empty when missing
    bool has_cls = false;
};

namespace {
// Pixels are personal data: overwrite before the buffer goes back.
void wipe(cv::Mat &m)
{
    if (!m.empty() && m.u && m.isContinuous())
        std::memset(m.data, 0, m.total() * m.elemSize());
    m.release();
}
}  // namespace

extern "C" bn_textdet_t *bn_textdet_new(const char *dir)
{
    std::string f = std::string(dir ? dir : "") + "/ppocr_det.onnx";
    struct stat st;
    if (stat(f.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        bn_error_set("ocr_models_missing", "%s is missing; run scripts/fetch-models.sh", f.c_str());
        return NULL;
    }
    bn_textdet *p = new bn_textdet();
    bn_dnn_layers_register();  // the models' own layers (BnHSwish, BnDwConv, BnChannelScale)
    try {
        p->net = cv::dnn::readNetFromONNX(f);  // a bad file fails here, at load
        p->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        // A detector prepared before fix-ppocr.py folded its deconvolution biases (the same
        // generation brought BnChannelScale) computes wrong boxes once this one net changes
        // canvas side: refuse it rather than read licences wrongly after a card. The stages
        // then judge by the document's edges and read by zones, and say why in the log.
        std::vector<cv::String> types;
        p->net.getLayerTypes(types);
        if (std::find(types.begin(), types.end(), "BnChannelScale") == types.end()) {
            bn_error_set("ocr_models_outdated", "%s was prepared by an older scripts/fix-ppocr.py; run scripts/fetch-models.sh",
                         f.c_str());
            delete p;
            return NULL;
        }
        // the direction classifier is optional: without it pages are turned by the lines' shape only
        std::string c = std::string(dir ? dir : "") + "/ppocr_cls.onnx";
        if (stat(c.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
            p->cls = cv::dnn::readNetFromONNX(c);
            p->cls.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
            p->has_cls = true;
        }
    } catch (const cv::Exception &e) {
        bn_error_set("ocr_model_error", "cannot load %s: %s", f.c_str(), e.what());
        delete p;
        return NULL;
    }
    return p;
}

extern "C" void bn_textdet_destroy(bn_textdet_t **self)
{
    if (self && *self) {
        delete *self;
        *self = NULL;
    }
}

static std::mutex g_lock;
static bn_textdet *g_shared;
static bool g_failed;

extern "C" bn_textdet_t *bn_textdet_shared(const bn_config_t *cfg)
{
    std::lock_guard<std::mutex> hold(g_lock);
    if (g_shared || g_failed)
        return g_shared;
    const char *env = getenv("BEIAN_MODELS");
    std::string dir = (env && *env) ? env : bn_config_str(cfg, "ocr.models_dir", BEIAN_SOURCE_DIR "/models");
    if (dir.empty())
        dir = BEIAN_SOURCE_DIR "/models";
    g_shared = bn_textdet_new(dir.c_str());
    if (!g_shared) {
        bn_warn("text detector unavailable (%s); stages fall back to document edges and zones", bn_error_msg());
        g_failed = true;
    }
    return g_shared;
}

extern "C" void bn_textdet_shutdown(void)
{
    std::lock_guard<std::mutex> hold(g_lock);
    bn_textdet_destroy(&g_shared);
    g_failed = false;
}

// Mean probability inside the polygon (PaddleOCR's box_score_fast works on the bounding box
// of the polygon with the polygon as mask).
static float box_score(const cv::Mat &prob, const std::vector<cv::Point2f> &poly)
{
    cv::Rect r = cv::boundingRect(poly) & cv::Rect(0, 0, prob.cols, prob.rows);
    if (r.width < 1 || r.height < 1)
        return 0;
    cv::Mat mask = cv::Mat::zeros(r.height, r.width, CV_8U);
    std::vector<cv::Point> pts;
    for (const auto &q : poly)
        pts.emplace_back(cvRound(q.x - r.x), cvRound(q.y - r.y));
    cv::fillPoly(mask, std::vector<std::vector<cv::Point>>{pts}, cv::Scalar(1));
    return (float)cv::mean(prob(r), mask)[0];
}

// Corners of a rotated rectangle in clockwise order starting top left (PaddleOCR's
// get_mini_boxes: sort by x, then the left pair and the right pair by y).
static void ordered_corners(const cv::RotatedRect &rr, cv::Point2f out[4])
{
    cv::Point2f c[4];
    rr.points(c);
    std::sort(c, c + 4, [](const cv::Point2f &a, const cv::Point2f &b) { return a.x < b.x; });
    cv::Point2f tl = c[0].y <= c[1].y ? c[0] : c[1], bl = c[0].y <= c[1].y ? c[1] : c[0];
    cv::Point2f tr = c[2].y <= c[3].y ? c[2] : c[3], br = c[2].y <= c[3].y ? c[3] : c[2];
    out[0] = tl, out[1] = tr, out[2] = br, out[3] = bl;
}

extern "C" int bn_textdet_run(bn_textdet_t *p, const uint8_t *data, int w, int h, int stride, int bands, int max_side,
                              double min_score, bn_textbox_t *out, int max_out)
{
    if (!p || !data || w < 2 || h < 2 || (bands != 1 && bands != 3) || stride < w * bands || max_side < 32 ||
        (!out && max_out > 0))
        return bn_error_set("invalid_argument", "bn_textdet_run: bad image");
    std::lock_guard<std::mutex> hold(p->lock);
    try {
        cv::Mat src(h, w, bands == 1 ? CV_8UC1 : CV_8UC3, (void *)data, (size_t)stride), bgr;
        cv::cvtColor(src, bgr, bands == 1 ? cv::COLOR_GRAY2BGR : cv::COLOR_RGB2BGR);  // PaddleOCR feeds BGR
        // The whole image, scaled so that its long side fills the canvas (small uploads are
        // enlarged: the detector misses text much under ~10 px), padded at the right or the
        // bottom with the mean colour (0 after normalisation) to a square. Square although a
        // card photo's own proportions (480x320) cost 0.6 of the time: the detector's output
        // depends on the padding (its squeeze-excitation blocks pool over the whole canvas),
        // every threshold after it was set on square canvases, and proportional ones lost 15
        // of 481 real-set fields and two quality verdicts.
        int side = (max_side + 31) / 32 * 32;
        double s = (double)side / std::max(w, h);
        int rw = std::min(side, std::max(1, (int)std::lround(w * s))), rh = std::min(side, std::max(1, (int)std::lround(h * s)));
        cv::Mat rs, f;
        cv::resize(bgr, rs, cv::Size(rw, rh), 0, 0, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
        wipe(bgr);
        rs.convertTo(f, CV_32FC3, 1.0 / 255);
        wipe(rs);
        // ImageNet mean and deviation, applied in the BGR channel order PaddleOCR feeds
        cv::subtract(f, cv::Scalar(0.485, 0.456, 0.406), f);
        cv::divide(f, cv::Scalar(0.229, 0.224, 0.225), f);
        cv::Mat canvas(side, side, CV_32FC3, cv::Scalar::all(0));
        f.copyTo(canvas(cv::Rect(0, 0, rw, rh)));
        wipe(f);
        cv::Mat blob = cv::dnn::blobFromImage(canvas);
        wipe(canvas);
        p->net.setInput(blob);
        cv::Mat o = p->net.forward();  // 1 x 1 x side x side probabilities
        wipe(blob);
        cv::Mat prob = cv::Mat(side, side, CV_32F, o.ptr<float>())(cv::Rect(0, 0, rw, rh));
        cv::Mat bitmap = prob > 0.3;
        std::vector<std::vector<cv::Point>> contours;
        cv::findContours(bitmap, contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);
        double sx = (double)w / rw, sy = (double)h / rh;
        std::vector<bn_textbox_t> boxes;
        for (const auto &c : contours) {
            if (boxes.size() >= 1000)  // PaddleOCR's max_candidates
                break;
            cv::RotatedRect rr = cv::minAreaRect(c);
            if (std::min(rr.size.width, rr.size.height) < 3)
                continue;
            std::vector<cv::Point2f> poly;
            for (const auto &q : c)
                poly.emplace_back((float)q.x, (float)q.y);
            float score = box_score(prob, poly);
            if (score < min_score)
                continue;
            // unclip: grow by area * ratio / perimeter on every side (ratio 1.5)
            double area = cv::contourArea(c), perim = cv::arcLength(c, true);
            if (perim <= 0)
                continue;
            double dist = area * 1.5 / perim;
            cv::RotatedRect g(rr.center, cv::Size2f(rr.size.width + 2 * (float)dist, rr.size.height + 2 * (float)dist), rr.angle);
            if (std::min(g.size.width, g.size.height) < 5)
                continue;
            cv::Point2f q[4];
            ordered_corners(g, q);
            bn_textbox_t b;
            for (int i = 0; i < 4; i++) {
                b.pts[2 * i] = (float)std::min(std::max(q[i].x * sx, 0.0), (double)w - 1);
                b.pts[2 * i + 1] = (float)std::min(std::max(q[i].y * sy, 0.0), (double)h - 1);
            }
            b.score = score;
            boxes.push_back(b);
        }
        wipe(o);
        // top to bottom, then left to right within a row (PaddleOCR's sorted_boxes)
        std::sort(boxes.begin(), boxes.end(), [](const bn_textbox_t &a, const bn_textbox_t &b) {
            return a.pts[1] != b.pts[1] ? a.pts[1] < b.pts[1] : a.pts[0] < b.pts[0];
        });
        for (size_t i = 1; i < boxes.size(); i++)
            for (size_t j = i; j > 0 && std::fabs(boxes[j].pts[1] - boxes[j - 1].pts[1]) < 10 &&
                               boxes[j].pts[0] < boxes[j - 1].pts[0]; j--)
                std::swap(boxes[j], boxes[j - 1]);
        int n = (int)boxes.size();
        for (int i = 0; i < n && i < max_out; i++)
            out[i] = boxes[i];
        return n;
    } catch (const cv::Exception &e) {
        return bn_error_set("ocr_model_error", "text detection failed: %s", e.what());
    }
}


extern "C" void bn_cv_set_threads(int n)
{
    cv::setNumThreads(n > 0 ? n : 1);
}

extern "C" int bn_textdet_side(const bn_config_t *cfg, const char *doc_type)
{
    // page documents (licences, domain certificates): "type" or "type:side"
    char t[48];
    std::snprintf(t, sizeof t, "%.*s", doc_type ? (int)std::strcspn(doc_type, ":") : 0, doc_type ? doc_type : "");
    bool lic = bn_doc_is_page(t);
    // Cards at 480: their text is large in the frame, and 640 found no more (real set: fields
    // 391 exact at 480, 387 at 640, the same quality verdicts) at 1.8x the cost.
    return (int)bn_config_num(cfg, lic ? "ocr.det_side_license" : "ocr.det_side", lic ? 960 : 480);
}

// ---- page orientation ---------------------------------------------------------------------

// Probability that the line pts reads upside down once cut upright (a standing line is turned
// counter-clockwise first); 0 without the classifier. Caller holds the lock.
static double upside_down(bn_textdet *p, const uint8_t *data, int w, int h, int stride, int bands, const float pts[8])
{
    if (!p->has_cls)
        return 0;
    cv::Mat line = bn_cut_line(data, w, h, stride, bands, pts);
    if (line.empty())
        return 0;
    const int CH = 48, CW = 192;
    int rw = std::min(CW, std::max(1, (int)std::ceil((double)CH * line.cols / line.rows)));
    cv::Mat rs, f;
    cv::resize(line, rs, cv::Size(rw, CH));
    rs.convertTo(f, CV_32FC3, 1.0 / 127.5, -1.0);  // (x/255 - 0.5) / 0.5
    cv::Mat canvas(CH, CW, CV_32FC3, cv::Scalar::all(0));
    f.copyTo(canvas(cv::Rect(0, 0, rw, CH)));
    cv::Mat blob = cv::dnn::blobFromImage(canvas);
    p->cls.setInput(blob);
    cv::Mat o = p->cls.forward();  // [p(0), p(180)]
    double up = o.ptr<float>()[1];
    wipe(line), wipe(rs), wipe(f), wipe(canvas), wipe(blob);
    return up;
}

extern "C" int bn_textdet_orientation_rule(int tall, int wide, double p180)
{
    if (tall > wide)  // a standing line was turned counter-clockwise: upright there = 270
        return p180 < 0.5 ? 270 : 90;
    return p180 > 0.5 ? 180 : 0;
}

extern "C" int bn_textdet_orientation(bn_textdet_t *p, const uint8_t *data, int w, int h, int stride, int bands,
                                      const bn_textbox_t *b, int n)
{
    if (!p || !data || w < 2 || h < 2 || (bands != 1 && bands != 3) || stride < w * bands || (!b && n > 0))
        return bn_error_set("invalid_argument", "bn_textdet_orientation: bad arguments");
    // Lines of fewer than ~3 characters vote on nothing: a lone character is as tall as wide.
    std::vector<std::pair<double, int>> lines;
    int tall = 0, wide = 0;
    for (int i = 0; i < n; i++) {
        const float *q = b[i].pts;
        double wd = std::max(std::hypot(q[2] - q[0], q[3] - q[1]), std::hypot(q[4] - q[6], q[5] - q[7]));
        double ht = std::max(std::hypot(q[6] - q[0], q[7] - q[1]), std::hypot(q[4] - q[2], q[5] - q[3]));
        if (std::max(wd, ht) < 2.5 * std::min(wd, ht))
            continue;
        ht > wd ? tall++ : wide++;
        lines.emplace_back(std::max(wd, ht), (ht > wd ? 1 : 0) | (i << 1));
    }
    if (lines.empty())
        return 0;
    // the classifier on the 7 longest lines lying the majority's way (~3 ms each)
    std::sort(lines.begin(), lines.end(), [](const std::pair<double, int> &x, const std::pair<double, int> &y) {
        return x.first > y.first;
    });
    int want_tall = tall > wide, votes = 0, due = std::min(7, want_tall ? tall : wide);
    double sum = 0;
    std::lock_guard<std::mutex> hold(p->lock);
    try {
        for (const auto &l : lines) {
            if (votes >= due)
                break;
            if ((l.second & 1) != want_tall)
                continue;
            sum += upside_down(p, data, w, h, stride, bands, b[l.second >> 1].pts);
            votes++;
            // stop once the votes still due cannot move the mean across 0.5: the mean so far
            // is then on the same side, and the answer the same (an upright card settles
            // after 4 of 7)
            int left = due - votes;
            if ((sum + left) / due < 0.5 || sum / due > 0.5)
                break;
        }
    } catch (const cv::Exception &e) {
        return bn_error_set("ocr_model_error", "direction classifier failed: %s", e.what());
    }
    return bn_textdet_orientation_rule(tall, wide, votes ? sum / votes : 0);
}
