/* bn_review — the annotated thumbnail a human reviewer looks at: what the machine saw. */
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

extern "C" {
#include "img/bn_prepare.h"
}

extern "C" bn_image_t *bn_review_render(const bn_image_t *orig, const bn_docgeom_t *g, int rect_w, int rect_h,
                                        const bn_rect_t *glare, int nglare, const char *const *codes, int ncodes,
                                        int long_side)
{
    if (!orig || orig->bands != 3)
        return NULL;
    try {
        cv::Mat src(orig->height, orig->width, CV_8UC3, orig->data);
        double s = (double)long_side / std::max(orig->width, orig->height);
        if (s > 1)
            s = 1;
        /* Pad so that extrapolated corners outside the frame are visible too. */
        int pad = (g && g->found && g->corners_inside < 4) ? long_side / 10 : 0;
        cv::Mat small;
        cv::resize(src, small, cv::Size(std::max(1, (int)std::lround(orig->width * s)),
                                        std::max(1, (int)std::lround(orig->height * s))), 0, 0, cv::INTER_AREA);
        cv::Mat canvas(small.rows + 2 * pad, small.cols + 2 * pad, CV_8UC3, cv::Scalar(64, 64, 64));
        small.copyTo(canvas(cv::Rect(pad, pad, small.cols, small.rows)));
        int thick = std::max(2, long_side / 300);
        if (g && g->found) {
            cv::Point2f c[4];
            for (int i = 0; i < 4; i++)
                c[i] = cv::Point2f((float)(g->corners[i].x * s + pad), (float)(g->corners[i].y * s + pad));
            cv::Scalar ok(40, 200, 40), bad(230, 40, 40);
            for (int i = 0; i < 4; i++)
                cv::line(canvas, c[i], c[(i + 1) % 4], g->corners_inside == 4 ? ok : bad, thick, cv::LINE_AA);
            for (int i = 0; i < 4; i++)
                cv::circle(canvas, c[i], thick * 3, i == 0 ? cv::Scalar(255, 200, 0) : cv::Scalar(0, 120, 255), -1,
                           cv::LINE_AA);
            /* Glare boxes live in rectified coordinates: map back through the homography. */
            if (nglare > 0 && rect_w > 0 && rect_h > 0) {
                cv::Point2f d[4] = {{0, 0}, {(float)rect_w, 0}, {(float)rect_w, (float)rect_h}, {0, (float)rect_h}};
                cv::Mat Hinv = cv::getPerspectiveTransform(d, c);
                for (int k = 0; k < nglare; k++) {
                    std::vector<cv::Point2f> r = {{(float)glare[k].x, (float)glare[k].y},
                                                  {(float)(glare[k].x + glare[k].w), (float)glare[k].y},
                                                  {(float)(glare[k].x + glare[k].w), (float)(glare[k].y + glare[k].h)},
                                                  {(float)glare[k].x, (float)(glare[k].y + glare[k].h)}},
                                             m;
                    cv::perspectiveTransform(r, m, Hinv);
                    std::vector<cv::Point> mi(m.begin(), m.end());
                    cv::polylines(canvas, mi, true, cv::Scalar(255, 0, 255), thick, cv::LINE_AA);
                }
            }
        }
        double fs = std::max(0.5, long_side / 1400.0);
        int y = (int)(30 * fs);
        for (int i = 0; i < ncodes; i++, y += (int)(30 * fs)) {
            cv::putText(canvas, codes[i], cv::Point(10, y), cv::FONT_HERSHEY_SIMPLEX, fs, cv::Scalar(0, 0, 0), thick + 2,
                        cv::LINE_AA);
            cv::putText(canvas, codes[i], cv::Point(10, y), cv::FONT_HERSHEY_SIMPLEX, fs, cv::Scalar(255, 255, 0), thick,
                        cv::LINE_AA);
        }
        bn_image_t *out = bn_image_new(canvas.cols, canvas.rows, 3);
        if (!out)
            return NULL;
        canvas.copyTo(cv::Mat(out->height, out->width, CV_8UC3, out->data));
        return out;
    } catch (const cv::Exception &) {
        return NULL;
    }
}
