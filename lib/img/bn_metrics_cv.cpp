/* bn_metrics_cv — the metrics that need OpenCV (connected components, DFT) and small image
 * operations shared by the stage; extern "C" over bn_image_t. */
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

extern "C" {
#include "img/bn_metrics.h"
}

namespace {
cv::Mat wrap(const bn_image_t *img)
{
    return cv::Mat(img->height, img->width, img->bands == 3 ? CV_8UC3 : CV_8UC1, img->data);
}
} // namespace

/* Glare: blobs that are both near the sensor's clipping point and colourless (a specular
 * reflection washes out the card's print colour). Small specks — white print, highlights on
 * letters — are removed by an opening and a minimum blob size. */
extern "C" double bn_metric_glare(const bn_image_t *img, const bn_glare_params_t *p, bn_rect_t *boxes, int *nboxes)
{
    bn_glare_params_t d = {248, 28, 0.0015};
    if (!p)
        p = &d;
    if (nboxes)
        *nboxes = 0;
    if (img->bands != 3)
        return 0;
    try {
        cv::Mat src = wrap(img), mask(img->height, img->width, CV_8U);
        /* Luma never exceeds the largest channel, so a pixel whose channels are all clearly
         * below min_luma is decided without the luma product (most of a card). */
        const double dim = p->min_luma - 0.5;
        int x0 = img->width, y0 = img->height, x1 = -1, y1 = -1; /* bounding box of the mask */
        for (int y = 0; y < img->height; y++) {
            const uint8_t *r = src.ptr<uint8_t>(y);
            uint8_t *m = mask.ptr<uint8_t>(y);
            for (int x = 0; x < img->width; x++, r += 3) {
                int mx = std::max(r[0], std::max(r[1], r[2]));
                if (mx < dim) {
                    m[x] = 0;
                    continue;
                }
                int mn = std::min(r[0], std::min(r[1], r[2]));
                double l = 0.299 * r[0] + 0.587 * r[1] + 0.114 * r[2];
                m[x] = (l >= p->min_luma && mx - mn <= p->max_chroma) ? 255 : 0;
                if (m[x]) {
                    x0 = std::min(x0, x), x1 = std::max(x1, x);
                    y0 = std::min(y0, y), y1 = std::max(y1, y);
                }
            }
        }
        if (x1 < 0)
            return 0; /* nothing bright and colourless: no blob to open or label */
        /* Open and label only the mask's bounding box with a 3 px margin of zeros, copied so
         * that its edges behave as the image's (the margin is wider than the 5x5 kernel's
         * reach, so the opening is the same; even origin keeps the labelling's 2x2 block grid,
         * so labels come in the same order). Glare is a few patches of a card: the whole
         * image cost ~3 ms, most of the metrics. */
        cv::Rect roi;
        roi.x = std::max(0, x0 - 3) & ~1, roi.y = std::max(0, y0 - 3) & ~1;
        roi.width = std::min(img->width, x1 + 4) - roi.x, roi.height = std::min(img->height, y1 + 4) - roi.y;
        cv::Mat sub = mask(roi).clone();
        cv::morphologyEx(sub, sub, cv::MORPH_OPEN, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(5, 5)));
        if (cv::countNonZero(sub) == 0)
            return 0; /* only specks, all opened away */
        cv::Mat labels, stats, cent;
        int n = cv::connectedComponentsWithStats(sub, labels, stats, cent, 8, CV_32S);
        double total = (double)img->width * img->height, area = 0;
        std::vector<int> keep;
        for (int i = 1; i < n; i++) {
            int a = stats.at<int>(i, cv::CC_STAT_AREA);
            if (a >= p->min_blob * total) {
                area += a;
                keep.push_back(i);
            }
        }
        std::sort(keep.begin(), keep.end(), [&](int a, int b) {
            return stats.at<int>(a, cv::CC_STAT_AREA) > stats.at<int>(b, cv::CC_STAT_AREA);
        });
        if (boxes && nboxes) {
            for (size_t k = 0; k < keep.size() && k < BN_MAX_GLARE; k++) {
                int i = keep[k];
                boxes[k] = {stats.at<int>(i, cv::CC_STAT_LEFT) + roi.x, stats.at<int>(i, cv::CC_STAT_TOP) + roi.y,
                            stats.at<int>(i, cv::CC_STAT_WIDTH), stats.at<int>(i, cv::CC_STAT_HEIGHT)};
                (*nboxes)++;
            }
        }
        return area / total;
    } catch (const cv::Exception &) {
        return 0;
    }
}

/* A photographed screen carries its pixel grid (sub-pixel stripes and scan lines, 3-4 px in the
 * photo) which the camera aliases into moiré: strong, narrow peaks in the 2-D spectrum at high
 * frequency. Printed text and paper give a broad spectrum there, so each bin of the upper band
 * (0.35-0.95 of Nyquist) is compared with its neighbourhood's level and the highest excess, in
 * log units, is the score. Needs the upload's native resolution (caller crops, never resizes). */
extern "C" double bn_metric_moire(const bn_image_t *img)
{
    try {
        cv::Mat src = wrap(img);
        int side = std::min(img->width, img->height);
        int S = 64;
        while (S * 2 <= side && S < 256)
            S *= 2;
        if (side < 64)
            return 0;
        cv::Rect roi((img->width - S) / 2, (img->height - S) / 2, S, S);
        std::vector<cv::Mat> planes;
        cv::Mat crop = src(roi);
        cv::Mat g;
        /* Luma only: the sub-pixel stripes weigh R, G and B differently, so they survive in
         * luma, while JPEG's 4:2:0 chroma subsampling blurs them out of the chroma planes. */
        if (img->bands == 3)
            cv::cvtColor(crop, g, cv::COLOR_RGB2GRAY);
        else
            g = crop;
        planes.push_back(g);
        cv::Mat win;
        cv::createHanningWindow(win, cv::Size(S, S), CV_32F);
        double best = 0;
        for (cv::Mat &pl : planes) {
            cv::Mat f;
            pl.convertTo(f, CV_32F);
            f -= cv::mean(f)[0];
            f = f.mul(win);
            cv::Mat spec;
            cv::dft(f, spec, cv::DFT_COMPLEX_OUTPUT);
            std::vector<cv::Mat> ri;
            cv::split(spec, ri);
            cv::Mat mag;
            cv::magnitude(ri[0], ri[1], mag);
            mag += 1;
            cv::log(mag, mag);
            /* Neighbourhood level: a wide blur of the log spectrum (peaks barely move it). */
            cv::Mat bg;
            cv::blur(mag, bg, cv::Size(15, 15), cv::Point(-1, -1), cv::BORDER_REFLECT);
            cv::Mat prom = mag - bg;
            int h = S / 2;
            for (int y = 0; y < S; y++) {
                int fy = y <= h ? y : y - S;
                for (int x = 0; x <= h; x++) {
                    int fx = x;
                    double r = std::sqrt((double)fx * fx + fy * fy) / h;
                    if (r < 0.35 || r > 0.95)
                        continue;
                    best = std::max(best, (double)prom.at<float>(y, x));
                }
            }
        }
        return best;
    } catch (const cv::Exception &) {
        return 0;
    }
}

extern "C" bn_image_t *bn_image_resize(const bn_image_t *img, int width, int height)
{
    if (!img || width <= 0 || height <= 0)
        return NULL;
    bn_image_t *out = bn_image_new(width, height, img->bands);
    if (!out)
        return NULL;
    try {
        cv::Mat dst = wrap(out);
        bool down = width < img->width;
        cv::resize(wrap(img), dst, dst.size(), 0, 0, down ? cv::INTER_AREA : cv::INTER_CUBIC);
    } catch (const cv::Exception &) {
        bn_image_destroy(&out);
    }
    return out;
}

extern "C" bn_image_t *bn_image_rotate90(const bn_image_t *img, int cw)
{
    if (!img)
        return NULL;
    cw = ((cw % 360) + 360) % 360;
    int W = (cw == 90 || cw == 270) ? img->height : img->width;
    int H = (cw == 90 || cw == 270) ? img->width : img->height;
    bn_image_t *out = bn_image_new(W, H, img->bands);
    if (!out)
        return NULL;
    cv::Mat dst = wrap(out);
    if (cw == 0)
        wrap(img).copyTo(dst);
    else
        cv::rotate(wrap(img), dst, cw == 90 ? cv::ROTATE_90_CLOCKWISE : cw == 180 ? cv::ROTATE_180 : cv::ROTATE_90_COUNTERCLOCKWISE);
    return out;
}
