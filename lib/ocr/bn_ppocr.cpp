// bn_ppocr — thin C++ over OpenCV DNN for PP-OCR recognition; see bn_ppocr.h. Only model plumbing and pixel geometry live here: which line is which field, and
// which reading wins, is decided in C (bn_lines.c, bn_kie.c, bn_ocr.c).
#include "ocr/bn_ppocr.h"

extern "C" {
#include "core/bn_error.h"
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
#include <fstream>
#include <mutex>
#include <string>
#include <sys/stat.h>
#include <vector>

#ifndef BEIAN_SOURCE_DIR
#define BEIAN_SOURCE_DIR "."
#endif

namespace {

const int kH = 48;  // PP-OCRv4 recognition input height
// Widths fetch-models.sh has scripts/fix-ppocr.py produce. Time is linear in the width
// (~0.11 ms per column on one core, 10 ms at 64, 21 ms at 160), so a line goes to the narrowest
// that holds it: 96-160 a sex, an ethnicity or a lone character (a third of all detected boxes
// on the real set need under 64 columns), 240-320 a name or a date, 400-480 an ID-card address
// line, 640-960 licence lines. Each width is a network in memory (~12 MB). No 64: lone 年 月 日
// read worse in it (real licences: 2 issue dates and an operator lost).
const int kWidths[] = {96, 128, 160, 240, 320, 400, 480, 640, 800, 960};
// Crops cut by rule rather than by the detector (bn_ppocr_read: a licence date's digit groups)
// are read in at least this width: a group "11" in a 96 canvas read as no digit at all, in 160
// as 11.
const int kMinCropWidth = 160;
// A line up to this much wider than a network is squeezed into it rather than padded into the
// next one (a 656-px ID number went to the 960 network: 46 % of its columns padding).
const double kSqueeze = 1.08;

bool file_exists(const std::string &p)
{
    struct stat st;
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Crops are personal data: overwrite before the buffer goes back.
void wipe(cv::Mat &m)
{
    if (!m.empty() && m.u && m.isContinuous())
        std::memset(m.data, 0, m.total() * m.elemSize());
    m.release();
}

}  // namespace

struct bn_ppocr {
    std::mutex lock;
    double squeeze = 0.75;           // line width scale (ocr.rec_squeeze)
    std::vector<std::string> chars;  // class i: chars[i]; 0 = CTC blank (""), last = " "
    std::vector<int> widths;
    std::vector<cv::dnn::Net> nets;
};

extern "C" bn_ppocr_t *bn_ppocr_new(const char *dir)
{
    std::string d = dir ? dir : "";
    std::string keys = d + "/ppocr_keys_v1.txt";
    bn_ppocr *p = new bn_ppocr();
    std::ifstream in(keys);
    if (!in) {
        delete p;
        bn_error_set("ocr_models_missing", "%s is missing; run scripts/fetch-models.sh", keys.c_str());
        return NULL;
    }
    // PaddleOCR's CTC head: class 0 is the blank, class i (1..N) is line i of the keys file, and
    // class N+1 is the space (use_space_char); the network's 6625 outputs = 1 + 6623 + 1.
    p->chars.push_back("");
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        p->chars.push_back(line);
    }
    p->chars.push_back(" ");
    bn_dnn_layers_register();  // the models' own layers (BnHSwish, BnDwConv)
    try {
        for (int w : kWidths) {
            std::string f = d + "/ppocr_rec_" + std::to_string(w) + ".onnx";
            if (!file_exists(f))
                continue;
            cv::dnn::Net net = cv::dnn::readNetFromONNX(f);
            net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
            p->widths.push_back(w);
            p->nets.push_back(net);
        }
    } catch (const cv::Exception &e) {
        bn_error_set("ocr_model_error", "cannot load PP-OCR models from %s: %s", d.c_str(), e.what());
        delete p;
        return NULL;
    }
    if (p->nets.empty()) {
        bn_error_set("ocr_models_missing", "no ppocr_rec_<width>.onnx in %s; run scripts/fetch-models.sh", d.c_str());
        delete p;
        return NULL;
    }
    return p;
}

extern "C" void bn_ppocr_destroy(bn_ppocr_t **self)
{
    if (self && *self) {
        delete *self;
        *self = NULL;
    }
}

static std::mutex g_shared_lock;
static bn_ppocr *g_shared;
static bool g_shared_failed;

extern "C" bn_ppocr_t *bn_ppocr_shared(const bn_config_t *cfg)
{
    std::lock_guard<std::mutex> hold(g_shared_lock);
    if (g_shared || g_shared_failed)
        return g_shared;
    const char *env = getenv("BEIAN_MODELS");
    std::string dir = (env && *env) ? env : bn_config_str(cfg, "ocr.models_dir", BEIAN_SOURCE_DIR "/models");
    if (dir.empty())
        dir = BEIAN_SOURCE_DIR "/models";
    g_shared = bn_ppocr_new(dir.c_str());
    if (g_shared)
        g_shared->squeeze = std::min(1.0, std::max(0.3, bn_config_num(cfg, "ocr.rec_squeeze", 0.75)));
    if (!g_shared) {
        // Not fatal: the stage reads with Tesseract alone (lower accuracy on Chinese text).
        bn_warn("PP-OCR recogniser unavailable (%s); Chinese text falls back to Tesseract", bn_error_msg());
        g_shared_failed = true;
    }
    return g_shared;
}

extern "C" void bn_ppocr_shutdown(void)
{
    std::lock_guard<std::mutex> hold(g_shared_lock);
    bn_ppocr_destroy(&g_shared);
    g_shared_failed = false;
}

// Recognise one upright BGR line. Caller holds the lock.
static int recognise(bn_ppocr *p, const cv::Mat &bgr, char *utf8, size_t cap, double *conf, double squeeze, int min_w)
{
    int w = bgr.cols, h = bgr.rows;
    // Squeezed to 3/4 of its width: PP-OCR's recogniser was trained on lines squeezed into a
    // fixed width and reads them as well (real set: fields 376 exact of 481 at 0.75, 370 at 1,
    // 373 at 0.6), and a quarter of the columns is a quarter of the time.
    int need = (int)std::ceil((double)kH * w / h * squeeze);
    size_t k = 0;
    while (k + 1 < p->widths.size() && (p->widths[k] * kSqueeze < need || p->widths[k] < min_w))
        k++;
    int W = p->widths[k], rw = std::max(1, std::min(W, need));
    cv::Mat rs, f;
    cv::resize(bgr, rs, cv::Size(rw, kH), 0, 0, rw < w ? cv::INTER_AREA : cv::INTER_LINEAR);
    rs.convertTo(f, CV_32FC3, 1.0 / 127.5, -1.0);  // (x/255 - 0.5) / 0.5
    // Padding is 0 after normalisation (mid grey), as PaddleOCR's resize_norm_img does.
    cv::Mat canvas(kH, W, CV_32FC3, cv::Scalar::all(0));
    f.copyTo(canvas(cv::Rect(0, 0, rw, kH)));
    cv::Mat blob = cv::dnn::blobFromImage(canvas);
    p->nets[k].setInput(blob);
    cv::Mat out = p->nets[k].forward();  // 1 x T x C logits (fix-ppocr.py drops the Softmax)
    wipe(rs), wipe(f), wipe(canvas), wipe(blob);
    int T = out.size[1], C = out.size[2];
    const float *v = out.ptr<float>();
    std::string text;
    double sum = 0;
    int n = 0, prev = 0;
    for (int t = 0; t < T; t++) {
        const float *row = v + (size_t)t * C;
        int best = (int)(std::max_element(row, row + C) - row);
        // CTC greedy: collapse repeats, drop blanks.
        if (best != 0 && best != prev && best < (int)p->chars.size()) {
            text += p->chars[best];
            double z = 0;  // softmax of the winner: 1 / sum(exp(l - l_best))
            for (int c = 0; c < C; c++)
                z += std::exp((double)(row[c] - row[best]));
            sum += 1.0 / z;
            n++;
        }
        prev = best;
    }
    wipe(out);
    while (!text.empty() && text.back() == ' ')
        text.pop_back();
    size_t start = text.find_first_not_of(' ');
    text = start == std::string::npos ? "" : text.substr(start);
    if (text.size() >= cap) {  // cut at a UTF-8 character boundary
        size_t c = cap - 1;
        while (c > 0 && ((unsigned char)text[c] & 0xC0) == 0x80)
            c--;
        text.resize(c);
    }
    std::memcpy(utf8, text.c_str(), text.size() + 1);
    if (conf)
        *conf = n ? sum / n : 0;
    return n;
}

static bool bad_image(const uint8_t *data, int w, int h, int stride, int bands)
{
    return !data || w < 2 || h < 2 || (bands != 1 && bands != 3) || stride < w * bands;
}

// An RGB or grey buffer as BGR (PaddleOCR reads with cv2). The caller wipes the copy.
static cv::Mat as_bgr(const uint8_t *data, int w, int h, int stride, int bands)
{
    cv::Mat src(h, w, bands == 1 ? CV_8UC1 : CV_8UC3, (void *)data, (size_t)stride), bgr;
    cv::cvtColor(src, bgr, bands == 1 ? cv::COLOR_GRAY2BGR : cv::COLOR_RGB2BGR);
    return bgr;
}

extern "C" int bn_ppocr_read(bn_ppocr_t *p, const uint8_t *data, int w, int h, int stride, int bands,
                             char *utf8, size_t cap, double *conf)
{
    if (conf)
        *conf = 0;
    if (utf8 && cap)
        utf8[0] = 0;
    if (!p || bad_image(data, w, h, stride, bands) || !utf8 || cap < 1)
        return bn_error_set("invalid_argument", "bn_ppocr_read: bad image");
    std::lock_guard<std::mutex> hold(p->lock);
    try {
        cv::Mat bgr = as_bgr(data, w, h, stride, bands);
        int n = recognise(p, bgr, utf8, cap, conf, p->squeeze, kMinCropWidth);
        wipe(bgr);
        return n;
    } catch (const cv::Exception &e) {
        return bn_error_set("ocr_model_error", "PP-OCR recognition failed: %s", e.what());
    }
}

// ---- one detected line: crop, direction, recognition ---------------------------------------

static int read_quad(bn_ppocr_t *p, const uint8_t *data, int w, int h, int stride, int bands, const float pts[8],
                     char *utf8, size_t cap, double *conf, bool wide)
{
    if (conf)
        *conf = 0;
    if (utf8 && cap)
        utf8[0] = 0;
    if (!p || bad_image(data, w, h, stride, bands) || !pts || !utf8 || cap < 1)
        return bn_error_set("invalid_argument", "bn_ppocr_read_quad: bad arguments");
    std::lock_guard<std::mutex> hold(p->lock);
    try {
        cv::Mat line = bn_cut_line(data, w, h, stride, bands, pts);
        int n = line.empty() ? 0 : recognise(p, line, utf8, cap, conf, wide ? 1.0 : p->squeeze, 0);
        wipe(line);
        return n;
    } catch (const cv::Exception &e) {
        return bn_error_set("ocr_model_error", "PP-OCR line failed: %s", e.what());
    }
}

extern "C" int bn_ppocr_read_quad(bn_ppocr_t *p, const uint8_t *data, int w, int h, int stride, int bands,
                                  const float pts[8], char *utf8, size_t cap, double *conf)
{
    return read_quad(p, data, w, h, stride, bands, pts, utf8, cap, conf, false);
}

extern "C" int bn_ppocr_read_quad_wide(bn_ppocr_t *p, const uint8_t *data, int w, int h, int stride, int bands,
                                       const float pts[8], char *utf8, size_t cap, double *conf)
{
    return read_quad(p, data, w, h, stride, bands, pts, utf8, cap, conf, true);
}
