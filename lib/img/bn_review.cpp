/* bn_review — the annotated thumbnail a human reviewer looks at: what the machine saw. */
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

extern "C" {
#include "img/bn_prepare.h"
}

static void s_text(cv::Mat &canvas, const char *text, cv::Point at, double fs, int thick)
{
    cv::putText(canvas, text, at, cv::FONT_HERSHEY_SIMPLEX, fs, cv::Scalar(0, 0, 0), thick + 2, cv::LINE_AA);
    cv::putText(canvas, text, at, cv::FONT_HERSHEY_SIMPLEX, fs, cv::Scalar(255, 255, 0), thick, cv::LINE_AA);
}

extern "C" bn_image_t *bn_review_render(const bn_image_t *orig, const bn_docgeom_t *g, const bn_review_mark_t *marks,
                                        int nmarks, int long_side)
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
        double fs = std::max(0.5, long_side / 1400.0);
        int found = g && g->found;
        cv::Point2f c[4];
        if (found) {
            for (int i = 0; i < 4; i++)
                c[i] = cv::Point2f((float)(g->corners[i].x * s + pad), (float)(g->corners[i].y * s + pad));
            cv::Scalar ok(40, 200, 40), bad(230, 40, 40);
            for (int i = 0; i < 4; i++)
                cv::line(canvas, c[i], c[(i + 1) % 4], g->corners_inside == 4 ? ok : bad, thick, cv::LINE_AA);
            for (int i = 0; i < 4; i++)
                cv::circle(canvas, c[i], thick * 3, i == 0 ? cv::Scalar(255, 200, 0) : cv::Scalar(0, 120, 255), -1,
                           cv::LINE_AA);
        }
        std::vector<std::string> listed;
        for (int k = 0; k < nmarks; k++) {
            const bn_review_mark_t *m = &marks[k];
            if (m->label && std::find(listed.begin(), listed.end(), m->label) == listed.end())
                listed.push_back(m->label);
            if (!m->has_box || (m->space_w > 0 && (!found || m->space_h <= 0)))
                continue;
            std::vector<cv::Point2f> r = {{(float)m->x, (float)m->y}, {(float)(m->x + m->w), (float)m->y},
                                          {(float)(m->x + m->w), (float)(m->y + m->h)}, {(float)m->x, (float)(m->y + m->h)}},
                                     q;
            if (m->space_w > 0) {
                /* Rectified coordinates: map back through the homography. */
                cv::Point2f d[4] = {{0, 0}, {(float)m->space_w, 0}, {(float)m->space_w, (float)m->space_h},
                                    {0, (float)m->space_h}};
                cv::perspectiveTransform(r, q, cv::getPerspectiveTransform(d, c));
            } else {
                for (auto &p : r)
                    q.push_back(cv::Point2f((float)(p.x * s + pad), (float)(p.y * s + pad)));
            }
            std::vector<cv::Point> qi(q.begin(), q.end());
            cv::polylines(canvas, qi, true, cv::Scalar(255, 0, 255), thick, cv::LINE_AA);
            if (m->label) {
                cv::Rect b = cv::boundingRect(qi);
                s_text(canvas, m->label, cv::Point(b.x, std::max((int)(20 * fs), b.y - thick * 2)), fs * 0.8, thick);
            }
        }
        int y = (int)(30 * fs);
        for (const auto &l : listed) {
            s_text(canvas, l.c_str(), cv::Point(10, y), fs, thick);
            y += (int)(30 * fs);
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
