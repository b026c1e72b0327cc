/* bn_docfind — the document quadrilateral, its rotation and its rectification (OpenCV 4).
 *
 * Thin C++: everything is exposed as extern "C" over bn_image_t, no C++ types leak out.
 *
 * Finding works on a copy about 800 px long, with two independent proposers, because each fails
 * where the other works: (1) contours of an edge map (good on contrasting or textured tables),
 * (2) segmentation by colour distance from the frame's border (good when the card's edges are
 * soft but its colour differs). Every proposal is reduced to a quadrilateral by fitting lines to
 * its hull, so a card whose corner is outside the frame still gets all four corners
 * (extrapolated); an outline broken in one place is also proposed as the hull of its two
 * pieces. Proposals are ranked by how much of their outline lies on real edges, times aspect
 * plausibility. When nothing convinces and the background is plain (a scanner lid), a second
 * pass runs with sensitive edge thresholds. Up/down is decided from content: the ink of the
 * rectified card is correlated with the text zones of its layout (data/layouts.json) in both
 * orientations, and on fronts the portrait's dark areas must be where the layout puts them. */
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" {
#include "core/bn_error.h"
#include "img/bn_docfind.h"
#include "img/bn_layout.h"
}

namespace {

const int WORK_SIDE = 800;

/* BN_DOCFIND_DEBUG=1 traces proposals and scores on stderr (development aid). */
bool dbg()
{
    static const bool d = getenv("BN_DOCFIND_DEBUG") != nullptr;
    return d;
}

struct Quad {
    cv::Point2f p[4]; /* clockwise in image coordinates, p[0] nearest the image's top-left */
    double score = 0;
    double penalty = 1;
};

double dist(cv::Point2f a, cv::Point2f b) { return std::hypot(a.x - b.x, a.y - b.y); }

/* Line through a, b as (a, direction); intersection of two such lines. */
bool intersect(cv::Point2f a1, cv::Point2f a2, cv::Point2f b1, cv::Point2f b2, cv::Point2f &out)
{
    cv::Point2f r = a2 - a1, s = b2 - b1;
    double den = r.x * s.y - r.y * s.x;
    if (std::fabs(den) < 1e-6)
        return false;
    cv::Point2f q = b1 - a1;
    double t = (q.x * s.y - q.y * s.x) / den;
    out = a1 + r * (float)t;
    return true;
}

/* Clockwise order (y down), starting at the corner with the smallest x + y. */
void order_quad(cv::Point2f p[4])
{
    cv::Point2f c = (p[0] + p[1] + p[2] + p[3]) * 0.25f;
    std::sort(p, p + 4, [c](cv::Point2f a, cv::Point2f b) {
        return std::atan2(a.y - c.y, a.x - c.x) < std::atan2(b.y - c.y, b.x - c.x);
    });
    int k = 0;
    for (int i = 1; i < 4; i++)
        if (p[i].x + p[i].y < p[k].x + p[k].y)
            k = i;
    std::rotate(p, p + k, p + 4);
}

/* Fraction of a segment's length with an edge pixel within `band` px across it (hulls sit a few
 * pixels off the true outline). */
double seg_support(cv::Point2f a, cv::Point2f b, const cv::Mat &edges, int band)
{
    int on = 0, n = 0;
    double len = std::hypot(b.x - a.x, b.y - a.y);
    if (len < 1)
        return 0;
    cv::Point2f u = (b - a) * (float)(1 / len), nrm(-u.y, u.x);
    for (double t = 0; t <= len; t += 2) {
        cv::Point2f c = a + u * (float)t;
        int x = cvRound(c.x), y = cvRound(c.y);
        if (x < 0 || y < 0 || x >= edges.cols || y >= edges.rows)
            continue;
        n++;
        for (int o = -band; o <= band; o++) {
            cv::Point2f p = c + nrm * (float)o;
            int px = cvRound(p.x), py = cvRound(p.y);
            if (px >= 0 && py >= 0 && px < edges.cols && py < edges.rows && edges.at<uchar>(py, px)) {
                on++;
                break;
            }
        }
    }
    return n ? (double)on / n : 0;
}

/* Both ends near the same side of the frame. With wide = true, also a segment that runs nearly
 * parallel to a side within a wider band: the frame cut the card there, but the last few pixels
 * of its outline were lost to the edge detector, so the hull closes a little inside. */
bool on_border(cv::Point2f a, cv::Point2f b, int w, int h, float m, const cv::Mat *wide)
{
    if ((a.x < m && b.x < m) || (a.y < m && b.y < m) || (a.x > w - 1 - m && b.x > w - 1 - m) ||
        (a.y > h - 1 - m && b.y > h - 1 - m))
        return true;
    if (!wide)
        return false;
    /* A real side close to the frame has edge pixels along it; a closing chord has few. */
    double sup = seg_support(a, b, *wide, 8);
    if (dbg())
        fprintf(stderr, "docfind: wide seg (%.0f,%.0f)-(%.0f,%.0f) support %.2f\n", a.x, a.y, b.x, b.y, sup);
    if (sup > 0.7)
        return false;
    float M = 0.06f * std::max(w, h);
    double ang = std::fabs(std::atan2(b.y - a.y, b.x - a.x)) * 180 / M_PI;
    bool horiz = ang < 6 || ang > 174, vert = std::fabs(ang - 90) < 6;
    return (horiz && ((a.y < M && b.y < M) || (a.y > h - 1 - M && b.y > h - 1 - M))) ||
           (vert && ((a.x < M && b.x < M) || (a.x > w - 1 - M && b.x > w - 1 - M)));
}

struct Seg {
    cv::Point2f a, b;
    double len() const { return dist(a, b); }
    double ang() const { return std::atan2(b.y - a.y, b.x - a.x); }
};

/* Reduce a convex hull to a quadrilateral: drop the parts that run along the image border (the
 * frame cut the card there), merge collinear pieces, keep the four longest sides and intersect
 * neighbours. With only three sides visible, the fourth is placed parallel to the middle one at
 * the distance the document's aspect ratio implies. */
bool quad_from_hull(const std::vector<cv::Point> &hull, int w, int h, double aspect, Quad &q,
                    const cv::Mat *wide = nullptr)
{
    if (hull.size() < 3)
        return false;
    std::vector<cv::Point> poly;
    double peri = cv::arcLength(hull, true);
    for (double eps = 0.01; eps <= 0.06; eps += 0.01) {
        cv::approxPolyDP(hull, poly, eps * peri, true);
        if (poly.size() <= 8)
            break;
    }
    if (poly.size() < 3)
        return false;
    std::vector<Seg> segs;
    const float m = std::max(4.0f, 0.012f * std::max(w, h));
    if (dbg()) {
        fprintf(stderr, "docfind: poly");
        for (auto &p : poly)
            fprintf(stderr, " (%d,%d)", p.x, p.y);
        fprintf(stderr, "\n");
    }
    for (size_t i = 0; i < poly.size(); i++) {
        cv::Point2f a = poly[i], b = poly[(i + 1) % poly.size()];
        if (!on_border(a, b, w, h, m, wide))
            segs.push_back({a, b});
        else
            segs.push_back({a, a}); /* placeholder keeps adjacency; zero length */
    }
    /* Merge consecutive nearly collinear sides. */
    std::vector<Seg> merged;
    for (const Seg &s : segs) {
        if (s.len() < 1e-3) {
            merged.push_back(s);
            continue;
        }
        if (!merged.empty() && merged.back().len() > 1e-3) {
            double d = std::fabs(std::remainder(s.ang() - merged.back().ang(), 2 * M_PI));
            if (d < 10 * M_PI / 180) {
                merged.back().b = s.b;
                continue;
            }
        }
        merged.push_back(s);
    }
    if (merged.size() > 1 && merged.front().len() > 1e-3 && merged.back().len() > 1e-3) {
        double d = std::fabs(std::remainder(merged.front().ang() - merged.back().ang(), 2 * M_PI));
        if (d < 10 * M_PI / 180) {
            merged.front().a = merged.back().a;
            merged.pop_back();
        }
    }
    std::vector<int> idx;
    for (size_t i = 0; i < merged.size(); i++)
        if (merged[i].len() > 1e-3)
            idx.push_back((int)i);
    std::sort(idx.begin(), idx.end(), [&](int a, int b) { return merged[a].len() > merged[b].len(); });
    if (idx.size() > 4)
        idx.resize(4);
    std::sort(idx.begin(), idx.end());
    if (idx.size() == 4) {
        for (int i = 0; i < 4; i++) {
            const Seg &s1 = merged[idx[i]], &s2 = merged[idx[(i + 1) % 4]];
            if (!intersect(s1.a, s1.b, s2.a, s2.b, q.p[i]))
                return false;
        }
    } else if (idx.size() == 3) {
        /* Cyclic order starting after the gap (the border placeholder), so that the missing
         * side lies between the last and the first. */
        int n = (int)merged.size(), gap = -1;
        for (int i = 0; i < n; i++)
            if (merged[i].len() <= 1e-3)
                gap = i;
        if (gap < 0)
            return false;
        std::sort(idx.begin(), idx.end(), [&](int a, int b) { return (a - gap + n) % n < (b - gap + n) % n; });
        /* Find the middle side: the one whose neighbours (in order) are the other two. Sides
         * s0, s1, s2 in polygon order; the missing side closes s2 back to s0. */
        const Seg &s0 = merged[idx[0]], &s1 = merged[idx[1]], &s2 = merged[idx[2]];
        cv::Point2f c01, c12;
        if (!intersect(s0.a, s0.b, s1.a, s1.b, c01) || !intersect(s1.a, s1.b, s2.a, s2.b, c12))
            return false;
        double lb = dist(c01, c12);
        cv::Point2f d0 = s0.a - s0.b, d2 = s2.b - s2.a; /* pointing away from s1 */
        double n0 = std::hypot(d0.x, d0.y), n2 = std::hypot(d2.x, d2.y);
        if (n0 < 1 || n2 < 1)
            return false;
        /* The other side length is lb / aspect or lb * aspect; take the one that leaves the
         * frame (the side is missing because it is outside). */
        double cand[2] = {lb / aspect, lb * aspect}, L = cand[0];
        for (double c : cand) {
            cv::Point2f e0 = c01 + d0 * (float)(c / n0), e2 = c12 + d2 * (float)(c / n2);
            bool out0 = e0.x < 0 || e0.y < 0 || e0.x > w - 1 || e0.y > h - 1;
            bool out2 = e2.x < 0 || e2.y < 0 || e2.x > w - 1 || e2.y > h - 1;
            if (out0 || out2) {
                L = c;
                break;
            }
        }
        q.p[0] = c01;
        q.p[1] = c12;
        q.p[2] = c12 + d2 * (float)(L / n2);
        q.p[3] = c01 + d0 * (float)(L / n0);
    } else {
        return false;
    }
    order_quad(q.p);
    if (dbg())
        fprintf(stderr, "docfind: hull quad%s (%.0f,%.0f) (%.0f,%.0f) (%.0f,%.0f) (%.0f,%.0f) from %zu sides\n",
                wide ? " wide" : "", q.p[0].x, q.p[0].y, q.p[1].x, q.p[1].y, q.p[2].x, q.p[2].y, q.p[3].x, q.p[3].y,
                idx.size());
    std::vector<cv::Point2f> v(q.p, q.p + 4);
    if (!cv::isContourConvex(v))
        return false;
    /* Reject absurd extrapolations. */
    for (auto &p : q.p)
        if (p.x < -w || p.y < -h || p.x > 2 * w || p.y > 2 * h)
            return false;
    return true;
}

/* Fraction of the visible outline that lies on an edge pixel. */
double edge_support(const Quad &q, const cv::Mat &edges_dil)
{
    int on = 0, n = 0;
    for (int i = 0; i < 4; i++) {
        cv::Point2f a = q.p[i], b = q.p[(i + 1) % 4];
        int steps = std::max(2, (int)dist(a, b) / 2);
        for (int k = 0; k <= steps; k++) {
            cv::Point2f p = a + (b - a) * (float)k / (float)steps;
            int x = cvRound(p.x), y = cvRound(p.y);
            if (x < 2 || y < 2 || x >= edges_dil.cols - 2 || y >= edges_dil.rows - 2)
                continue;
            n++;
            on += edges_dil.at<uchar>(y, x) != 0;
        }
    }
    return n > 20 ? (double)on / n : 0;
}

/* Snap each side onto the edge pixels near it (robust line fit), then re-intersect: proposals
 * come from dilated maps and hulls, which sit a few pixels outside the true outline. */
void refine_quad(Quad &q, const cv::Mat &edges, int band)
{
    cv::Vec4f lines[4];
    for (int i = 0; i < 4; i++) {
        cv::Point2f a = q.p[i], b = q.p[(i + 1) % 4];
        double len = dist(a, b);
        if (len < 20)
            return;
        cv::Point2f u = (b - a) * (float)(1 / len), n(-u.y, u.x);
        std::vector<cv::Point2f> pts;
        for (double t = 0.1 * len; t <= 0.9 * len; t += 1) {
            cv::Point2f c = a + u * (float)t;
            for (int o = -band; o <= band; o++) {
                cv::Point2f p = c + n * (float)o;
                int x = cvRound(p.x), y = cvRound(p.y);
                if (x >= 0 && y >= 0 && x < edges.cols && y < edges.rows && edges.at<uchar>(y, x))
                    pts.push_back(p);
            }
        }
        if (pts.size() < 0.3 * len) {
            lines[i] = cv::Vec4f(u.x, u.y, a.x, a.y); /* side not visible (outside): keep it */
            continue;
        }
        cv::fitLine(pts, lines[i], cv::DIST_HUBER, 0, 0.01, 0.01);
    }
    Quad r = q;
    for (int i = 0; i < 4; i++) {
        const cv::Vec4f &l1 = lines[(i + 3) % 4], &l2 = lines[i];
        cv::Point2f a1(l1[2], l1[3]), b1(l2[2], l2[3]);
        if (!intersect(a1, a1 + cv::Point2f(l1[0], l1[1]), b1, b1 + cv::Point2f(l2[0], l2[1]), r.p[i]))
            return;
        if (dist(r.p[i], q.p[i]) > 3 * band)
            return;
    }
    q = r;
}

double quad_aspect(const Quad &q)
{
    double a = (dist(q.p[0], q.p[1]) + dist(q.p[2], q.p[3])) / 2;
    double b = (dist(q.p[1], q.p[2]) + dist(q.p[3], q.p[0])) / 2;
    return std::max(a, b) / std::max(1.0, std::min(a, b));
}

double score_quad(const Quad &q, const cv::Mat &edges_dil, double aspect, int w, int h)
{
    std::vector<cv::Point2f> v(q.p, q.p + 4);
    double area = cv::contourArea(v) / ((double)w * h);
    if (area < 0.01 || area > 1.6)
        return 0;
    double sup = edge_support(q, edges_dil);
    double ar = quad_aspect(q), dev = std::fabs(std::log(ar / aspect));
    double aspect_ok = std::exp(-dev * dev / (2 * 0.12 * 0.12)); /* perspective tolerates ~12 % */
    /* A quad that is the whole frame is the frame, not a card. */
    double frame = area > 0.97 ? 0.3 : 1.0;
    return sup * (0.35 + 0.65 * aspect_ok) * (0.6 + 0.4 * std::min(1.0, area * 4)) * frame;
}

void propose_from_mask(const cv::Mat &mask, double aspect, std::vector<Quad> &out, double min_area,
                       const cv::Mat &edges_dil)
{
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(mask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    std::sort(contours.begin(), contours.end(), [](const std::vector<cv::Point> &a, const std::vector<cv::Point> &b) {
        return cv::contourArea(a) > cv::contourArea(b);
    });
    for (size_t i = 0; i < contours.size() && i < 6; i++) {
        if (cv::contourArea(contours[i]) < min_area)
            break;
        std::vector<cv::Point> hull;
        cv::convexHull(contours[i], hull);
        Quad q;
        if (quad_from_hull(hull, mask.cols, mask.rows, aspect, q))
            out.push_back(q);
        Quad qw;
        qw.penalty = 0.9;
        if (quad_from_hull(hull, mask.cols, mask.rows, aspect, qw, &edges_dil))
            out.push_back(qw);
    }
}

/* Ink (dark strokes on a lighter local background) of an upright-candidate card, as a grid. */
cv::Mat ink_grid(const cv::Mat &grey_card, int gw, int gh)
{
    cv::Mat bg, ink;
    cv::Mat k = cv::getStructuringElement(cv::MORPH_RECT, cv::Size(9, 9));
    cv::morphologyEx(grey_card, bg, cv::MORPH_CLOSE, k);
    cv::subtract(bg, grey_card, ink);
    cv::threshold(ink, ink, 30, 1.0, cv::THRESH_BINARY);
    ink.convertTo(ink, CV_32F);
    cv::Mat grid;
    cv::resize(ink, grid, cv::Size(gw, gh), 0, 0, cv::INTER_AREA);
    return grid;
}

void box_mask(cv::Mat &m, const bn_box_t &b, double sx, double sy, float v)
{
    cv::Rect r((int)std::floor(b.x * sx), (int)std::floor(b.y * sy), (int)std::ceil(b.w * sx) + 1,
               (int)std::ceil(b.h * sy) + 1);
    r &= cv::Rect(0, 0, m.cols, m.rows);
    if (r.area() > 0)
        m(r).setTo(v);
}

/* Pearson correlation of ink with the layout's text zones, for the card as given (0) and turned
 * 180°. Portrait, emblem and seal are masked out in both positions: they are ink but not text. */
void layout_scores(const cv::Mat &grey_card, const bn_layout_t &l, double &s0, double &s180)
{
    const int gw = 48, gh = (int)std::lround(48 * l.h_mm / l.w_mm);
    cv::Mat ink = ink_grid(grey_card, gw, gh);
    double sx = gw / l.w_mm, sy = gh / l.h_mm;
    cv::Mat text = cv::Mat::zeros(gh, gw, CV_32F), neutral = cv::Mat::zeros(gh, gw, CV_32F);
    for (int i = 0; i < l.ntext; i++)
        box_mask(text, l.text[i], sx, sy, 1);
    if (l.has_portrait)
        box_mask(neutral, l.portrait, sx, sy, 1);
    for (int i = 0; i < l.nneutral; i++)
        box_mask(neutral, l.neutral[i], sx, sy, 1);
    cv::Mat neutral180, text180, valid;
    cv::flip(neutral, neutral180, -1);
    cv::flip(text, text180, -1);
    valid = (neutral + neutral180) < 0.5;
    auto corr = [&](const cv::Mat &t) {
        cv::Scalar mi, si, mt, st;
        cv::meanStdDev(ink, mi, si, valid);
        cv::meanStdDev(t, mt, st, valid);
        if (si[0] < 1e-6 || st[0] < 1e-6)
            return 0.0;
        cv::Mat a = ink - mi[0], b = t - mt[0], p;
        cv::multiply(a, b, p);
        double cov = cv::mean(p, valid)[0];
        return cov / (si[0] * st[0]);
    };
    s0 = corr(text);
    s180 = corr(text180);
    /* The portrait is the strongest cue on fronts: a photo has large dark areas (hair,
     * clothes) that print never has. Compare its box with the box where it would be if the card
     * were upside down. */
    if (l.has_portrait) {
        int hist[256] = {0};
        for (int y = 0; y < grey_card.rows; y++)
            for (int x = 0; x < grey_card.cols; x++)
                hist[grey_card.at<uchar>(y, x)]++;
        int half = grey_card.rows * grey_card.cols / 2, acc = 0, med = 255;
        for (int v = 0; v < 256; v++)
            if ((acc += hist[v]) >= half) {
                med = v;
                break;
            }
        cv::Mat dark = grey_card < med / 2;
        double px = grey_card.cols / l.w_mm, py = grey_card.rows / l.h_mm;
        cv::Rect r0((int)(l.portrait.x * px), (int)(l.portrait.y * py), (int)(l.portrait.w * px),
                    (int)(l.portrait.h * py));
        cv::Rect r180(grey_card.cols - r0.x - r0.width, grey_card.rows - r0.y - r0.height, r0.width, r0.height);
        r0 &= cv::Rect(0, 0, dark.cols, dark.rows);
        r180 &= cv::Rect(0, 0, dark.cols, dark.rows);
        if (r0.area() > 0 && r180.area() > 0) {
            double d0 = cv::countNonZero(dark(r0)) / (double)r0.area();
            double d180 = cv::countNonZero(dark(r180)) / (double)r180.area();
            s0 += 2 * (d0 - d180);
            s180 += 2 * (d180 - d0);
        }
    }
}

double doc_aspect(const char *doc_type)
{
    double w, h;
    if (bn_doc_canonical_mm(doc_type, &w, &h) == 0 && w > 0 && h > 0)
        return w / h;
    return 297.0 / 210.0;
}

} // namespace

extern "C" int bn_doc_canonical_mm(const char *doc_type, double *w_mm, double *h_mm)
{
    *w_mm = *h_mm = 0;
    if (!doc_type)
        return -1;
    size_t n = strcspn(doc_type, ":");
    auto is = [&](const char *s) { return strlen(s) == n && strncmp(doc_type, s, n) == 0; };
    if (is("id-card") || is("residence-permit") || is("hk-macao-permit") || is("taiwan-permit")) {
        *w_mm = 85.6, *h_mm = 54.0;
        return 0;
    }
    if (is("passport")) {
        *w_mm = 125.0, *h_mm = 88.0;
        return 0;
    }
    if (is("business-license") || is("domain-certificate"))
        return 0; /* sizes vary (A3 正本, A4 副本): the size is measured, the aspect is A-series */
    return -1;
}

extern "C" int bn_doc_find(const bn_image_t *img, const char *doc_type, bn_docgeom_t *out)
{
    return bn_doc_find_small(img, NULL, doc_type, out);
}

extern "C" int bn_doc_find_small(const bn_image_t *img, const bn_image_t *pre, const char *doc_type, bn_docgeom_t *out)
{
    memset(out, 0, sizeof *out);
    if (!img || !img->data || img->bands != 3)
        return bn_error_set("invalid_argument", "bn_doc_find needs an RGB image");
    if (img->width < 32 || img->height < 32)
        return 0; /* too small to hold a legible document: not found, not an error */
    try {
        cv::Mat src(img->height, img->width, CV_8UC3, img->data);
        double f = (double)std::max(img->width, img->height) / WORK_SIDE;
        if (f < 1)
            f = 1;
        cv::Mat small;
        if (pre && pre->bands == 3 && std::max(pre->width, pre->height) <= WORK_SIDE && pre->width >= 64 &&
            pre->height >= 64) {
            small = cv::Mat(pre->height, pre->width, CV_8UC3, pre->data);
            f = (double)img->width / pre->width;
        } else if (f > 1)
            cv::resize(src, small, cv::Size((int)std::lround(img->width / f), (int)std::lround(img->height / f)), 0, 0,
                       cv::INTER_AREA);
        else
            small = src;
        const int w = small.cols, h = small.rows;
        const double aspect = doc_aspect(doc_type);

        cv::Mat grey, blur, lab;
        cv::cvtColor(small, grey, cv::COLOR_RGB2GRAY);
        cv::GaussianBlur(small, blur, cv::Size(5, 5), 0);
        cv::cvtColor(blur, lab, cv::COLOR_RGB2Lab);

        const double plain_max = 2.5;
        auto run = [&](int level, Quad &best, double &best_score) {
            /* Edge map: Canny on each Lab channel (colour edges count: a blue card on a grey
             * table has little luminance contrast). */
            std::vector<cv::Mat> ch;
            cv::split(lab, ch);
            cv::Mat edges = cv::Mat::zeros(h, w, CV_8U), edges_dil;
            for (int c = 0; c < 3; c++) {
                cv::Mat e;
                /* Level 1 is for soft outlines (a pale card on a scanner's white lid). */
                /* Level 1: fainter outlines (a light card on a light mottled table); level 2:
                 * faint ones (a pale card on a scanner's white lid). */
                static const double lo_l[3] = {40, 20, 8}, lo_ab[3] = {20, 10, 5};
                double lo = c == 0 ? lo_l[level] : lo_ab[level];
                cv::Canny(ch[c], e, lo, lo * 2.5);
                edges |= e;
            }
            if (level == 2) {
                /* Sensitive edges are only meaningful on a plain background (a scanner lid, a
                 * desk): on wood or fabric they are everywhere and any quad would find support.
                 * Plainness is the median gradient in the frame's border ring, a median so that
                 * a card reaching into the ring does not count. */
                cv::Mat gx, gy, mag;
                cv::Sobel(ch[0], gx, CV_32F, 1, 0);
                cv::Sobel(ch[0], gy, CV_32F, 0, 1);
                cv::magnitude(gx, gy, mag);
                int bw = std::max(2, std::min(w, h) / 20);
                std::vector<float> ring;
                for (int y = 0; y < h; y += 2)
                    for (int x = 0; x < w; x += 2)
                        if (y < bw || y >= h - bw || x < bw || x >= w - bw)
                            ring.push_back(mag.at<float>(y, x));
                std::nth_element(ring.begin(), ring.begin() + ring.size() / 2, ring.end());
                double med = ring[ring.size() / 2];
                if (dbg())
                    fprintf(stderr, "docfind: ring median gradient %.2f\n", med);
                if (med > plain_max)
                    return;
            }
            cv::dilate(edges, edges_dil, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(5, 5)));

            std::vector<Quad> cands;
            const double min_area = 0.01 * w * h;
            /* (1) Regions enclosed by edges: closed edge map, filled outer contours. */
            {
                cv::Mat closed;
                cv::morphologyEx(edges, closed, cv::MORPH_CLOSE,
                                 cv::getStructuringElement(cv::MORPH_RECT, cv::Size(7, 7)));
                std::vector<std::vector<cv::Point>> contours, hulls;
                cv::findContours(closed, contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);
                /* Rank by hull area: a card cut by the frame leaves an open outline (a U) whose
                 * own area is nil but whose hull is the card. */
                for (auto &c : contours) {
                    std::vector<cv::Point> hull;
                    cv::convexHull(c, hull);
                    if (cv::contourArea(hull) >= min_area)
                        hulls.push_back(hull);
                }
                std::sort(hulls.begin(), hulls.end(),
                          [](const std::vector<cv::Point> &a, const std::vector<cv::Point> &b) {
                              return cv::contourArea(a) > cv::contourArea(b);
                          });
                /* An outline broken in one place (a faint stretch of edge) comes out as two
                 * pieces: propose the hull of each pair of large pieces as well. */
                if (hulls.size() > 8)
                    hulls.resize(8);
                size_t np = std::min<size_t>(hulls.size(), 5);
                for (size_t i = 0; i < np; i++)
                    for (size_t j = i + 1; j < np; j++) {
                        std::vector<cv::Point> both(hulls[i]), hull;
                        both.insert(both.end(), hulls[j].begin(), hulls[j].end());
                        cv::convexHull(both, hull);
                        hulls.push_back(hull);
                    }
                for (size_t i = 0; i < hulls.size(); i++) {
                    Quad q;
                    if (quad_from_hull(hulls[i], w, h, aspect, q))
                        cands.push_back(q);
                    Quad qw;
                    qw.penalty = 0.9; /* prefer the outline as seen when both explain it */
                    if (quad_from_hull(hulls[i], w, h, aspect, qw, &edges_dil))
                        cands.push_back(qw);
                }
            }
            /* (2) Colour distance from the border: the frame's edge is mostly background. */
            {
                std::vector<cv::Vec3b> ring;
                int b = std::max(2, std::min(w, h) / 40);
                for (int y = 0; y < h; y++) {
                    /* Row-major over the ring only (whole rows at the top and bottom, the two
                     * side bands between): the interior is most of the frame. */
                    bool full = y < b || y >= h - b;
                    for (int x = 0; x < w; x = (!full && x == b - 1 && w - b > b) ? w - b : x + 1)
                        if ((full || x < b || x >= w - b) && ((x + y) & 1) == 0)
                            ring.push_back(lab.at<cv::Vec3b>(y, x));
                }
                cv::Vec3f med;
                for (int c = 0; c < 3; c++) {
                    std::vector<uchar> v;
                    v.reserve(ring.size());
                    for (auto &p : ring)
                        v.push_back(p[c]);
                    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
                    med[c] = v[v.size() / 2];
                }
                cv::Mat d(h, w, CV_32F);
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++) {
                        cv::Vec3b p = lab.at<cv::Vec3b>(y, x);
                        float dl = (p[0] - med[0]) * 0.6f, da = p[1] - med[1], db = p[2] - med[2];
                        d.at<float>(y, x) = std::sqrt(dl * dl + da * da + db * db);
                    }
                cv::Mat d8, mask;
                cv::normalize(d, d8, 0, 255, cv::NORM_MINMAX, CV_8U);
                cv::GaussianBlur(d8, d8, cv::Size(7, 7), 0);
                if (level < 2) {
                    cv::threshold(d8, mask, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
                } else {
                    /* Faint difference: anything clearly outside the border ring's own spread. */
                    std::vector<float> rd;
                    for (int y = 0; y < h; y += 2)
                        for (int x = 0; x < w; x += 2)
                            if (y < b || y >= h - b || x < b || x >= w - b)
                                rd.push_back(d.at<float>(y, x));
                    std::nth_element(rd.begin(), rd.begin() + rd.size() * 9 / 10, rd.end());
                    double thr = std::max(4.0, 2.0 * rd[rd.size() * 9 / 10]);
                    cv::Mat db;
                    cv::GaussianBlur(d, db, cv::Size(7, 7), 0);
                    mask = db > thr;
                }
                cv::morphologyEx(mask, mask, cv::MORPH_OPEN, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(5, 5)));
                cv::morphologyEx(mask, mask, cv::MORPH_CLOSE, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(15, 15)));
                propose_from_mask(mask, aspect, cands, min_area, edges_dil);
            }

            /* Proposers often return the same quadrilateral (a hull read with and without the
             * frame's border, the same card in both maps): refining is a robust line fit per
             * side, so refine and score each distinct quadrilateral once. */
            std::vector<std::pair<Quad, Quad>> done; /* (as proposed, refined with base score) */
            for (Quad &q : cands) {
                const Quad *seen = nullptr;
                for (const auto &d : done)
                    if (std::equal(q.p, q.p + 4, d.first.p))
                        seen = &d.second;
                if (seen) {
                    std::copy(seen->p, seen->p + 4, q.p);
                    q.score = seen->score * q.penalty;
                } else {
                    Quad prop = q;
                    refine_quad(q, edges, 6);
                    Quad fit = q;
                    fit.score = score_quad(q, edges_dil, aspect, w, h);
                    done.emplace_back(prop, fit);
                    q.score = fit.score * q.penalty;
                }
                if (dbg())
                    fprintf(stderr, "docfind: cand (%.0f,%.0f) (%.0f,%.0f) (%.0f,%.0f) (%.0f,%.0f) support %.2f aspect %.2f score %.2f\n",
                            q.p[0].x, q.p[0].y, q.p[1].x, q.p[1].y, q.p[2].x, q.p[2].y, q.p[3].x, q.p[3].y,
                            edge_support(q, edges_dil), quad_aspect(q), q.score);
                if (q.score > best_score) {
                    best_score = q.score;
                    best = q;
                }
            }
        };
        Quad best;
        double best_score = 0;
        run(0, best, best_score);
        /* Level 1 (moderate) was tried and found quads in wood grain: not used. */
        for (int level = 2; level < 3 && best_score < 0.6; level++) {
            Quad b1;
            double s1 = 0;
            run(level, b1, s1);
            if (s1 > best_score)
                best = b1, best_score = s1;
        }
        if (best_score < 0.35) {
            out->found = 0;
            out->confidence = best_score;
            return 0;
        }

        /* Long side horizontal: if the ordered quad's first side is the short one, the card lies
         * on its side (90 or 270). k = index of the image corner that is the document's TL. */
        double top = dist(best.p[0], best.p[1]) + dist(best.p[2], best.p[3]);
        double left = dist(best.p[1], best.p[2]) + dist(best.p[3], best.p[0]);
        int k = top >= left ? 0 : 3; /* card on its side: take the bottom-left as TL (90 cw) */

        /* Up or down from content: rectify small in both orientations and score text zones. */
        bn_layout_t lays[2];
        int nl = 0;
        if (doc_type && strchr(doc_type, ':')) {
            nl = bn_layout_get(doc_type, NULL, &lays[0]) == 0;
        } else if (doc_type) {
            nl += bn_layout_get(doc_type, "front", &lays[nl]) == 0;
            nl += bn_layout_get(doc_type, "back", &lays[nl]) == 0;
        }
        if (nl > 0) {
            double bs0 = -2, bs180 = -2;
            cv::Mat grey_small;
            cv::cvtColor(small, grey_small, cv::COLOR_RGB2GRAY);
            for (int i = 0; i < nl; i++) {
                int cw = 384, chh = (int)std::lround(384 * lays[i].h_mm / lays[i].w_mm);
                cv::Point2f s[4] = {best.p[k], best.p[(k + 1) % 4], best.p[(k + 2) % 4], best.p[(k + 3) % 4]};
                cv::Point2f d[4] = {{0, 0}, {(float)cw, 0}, {(float)cw, (float)chh}, {0, (float)chh}};
                cv::Mat card;
                cv::warpPerspective(grey_small, card, cv::getPerspectiveTransform(s, d), cv::Size(cw, chh),
                                    cv::INTER_LINEAR, cv::BORDER_REPLICATE);
                double s0, s180;
                layout_scores(card, lays[i], s0, s180);
                if (std::max(s0, s180) > std::max(bs0, bs180))
                    bs0 = s0, bs180 = s180;
            }
            if (bs180 > bs0)
                k = (k + 2) % 4;
        }
        static const int rot_for_k[4] = {0, 270, 180, 90};
        out->rotation = rot_for_k[k];
        int inside = 0;
        double mx = std::max(2.0, 0.004 * std::max(w, h));
        for (int i = 0; i < 4; i++) {
            cv::Point2f p = best.p[(k + i) % 4];
            out->corners[i].x = p.x * f;
            out->corners[i].y = p.y * f;
            inside += p.x >= mx && p.y >= mx && p.x <= w - 1 - mx && p.y <= h - 1 - mx;
        }
        out->corners_inside = inside;
        std::vector<cv::Point2f> v(best.p, best.p + 4);
        out->area_fraction = std::min(1.0, cv::contourArea(v) / ((double)w * h));
        /* Skew: the document's top edge against the horizontal, after the quarter turn. */
        cv::Point2f a = best.p[k], b = best.p[(k + 1) % 4];
        double ang = std::atan2(b.y - a.y, b.x - a.x) * 180 / M_PI; /* 0 when upright */
        ang = std::remainder(ang + out->rotation, 360.0);              /* after the turn */
        out->skew_deg = ang;
        out->confidence = std::min(1.0, best_score);
        out->found = 1;
        return 0;
    } catch (const cv::Exception &e) {
        return bn_error_set("internal", "document finding failed: %s", e.what());
    }
}

extern "C" bn_image_t *bn_doc_rectify(const bn_image_t *img, const bn_docgeom_t *geom, const char *doc_type, int dpi)
{
    if (!img || !geom || !geom->found) {
        bn_error_set("invalid_argument", "bn_doc_rectify needs a found document");
        return NULL;
    }
    if (dpi <= 0)
        dpi = 300;
    try {
        cv::Point2f s[4];
        for (int i = 0; i < 4; i++)
            s[i] = cv::Point2f((float)geom->corners[i].x, (float)geom->corners[i].y);
        double top = (dist(s[0], s[1]) + dist(s[3], s[2])) / 2, side = (dist(s[0], s[3]) + dist(s[1], s[2])) / 2;
        double w_mm, h_mm;
        int W, H;
        if (bn_doc_canonical_mm(doc_type, &w_mm, &h_mm) == 0 && w_mm > 0) {
            W = (int)std::lround(w_mm / 25.4 * dpi);
            H = (int)std::lround(h_mm / 25.4 * dpi);
        } else {
            /* Unknown size (licences): long side as measured, within bounds that keep A4 at
             * 300 DPI readable and the output reasonable. The aspect is the paper's (A-series
             * licences: sqrt 2), not the measured one: a photo taken at a slant foreshortens one
             * side, and a page squeezed by 10 % put every OCR zone of a licence a row too low.
             * Unknown documents keep the measured aspect. */
            double aspect = doc_type ? doc_aspect(doc_type)
                                     : std::min(2.2, std::max(0.5, top / std::max(1.0, side)));
            /* a domain certificate may be a portrait page: its corners (turned by the text)
             * say which */
            if (doc_type && !strncmp(doc_type, "domain-certificate", 18) && side > top)
                aspect = 1 / aspect;
            W = (int)std::lround(std::min(4200.0, std::max(2000.0, top)));
            H = (int)std::lround(W / aspect);
        }
        if (W < 8 || H < 8 || W > 20000 || H > 20000) {
            bn_error_set("invalid_argument", "bad rectified size %d x %d", W, H);
            return NULL;
        }
        cv::Mat src(img->height, img->width, img->bands == 3 ? CV_8UC3 : CV_8UC1, img->data);
        /* Much larger source than output: pre-shrink with area averaging, since the warp only
         * interpolates and would alias fine print. */
        /* Only the document's bounding box is read (a card is a fraction of a photo). */
        std::vector<cv::Point2f> sv(s, s + 4);
        cv::Rect bb = cv::boundingRect(sv) & cv::Rect(0, 0, src.cols, src.rows);
        if (bb.area() <= 0) {
            bn_error_set("invalid_argument", "document outside the image");
            return NULL;
        }
        for (auto &p : s)
            p -= cv::Point2f((float)bb.x, (float)bb.y);
        cv::Mat from = src(bb);
        double ratio = top / W;
        if (ratio > 2) {
            double r = 1.0 / std::floor(ratio);
            cv::Mat shrunk;
            cv::resize(from, shrunk, cv::Size(), r, r, cv::INTER_AREA);
            for (auto &p : s)
                p *= (float)(shrunk.cols / (double)from.cols);
            from = shrunk;
        }
        cv::Point2f d[4] = {{0, 0}, {(float)W, 0}, {(float)W, (float)H}, {0, (float)H}};
        bn_image_t *out = bn_image_new(W, H, img->bands);
        if (!out) {
            bn_error_set("out_of_memory", "rectified image");
            return NULL;
        }
        cv::Mat dst(H, W, img->bands == 3 ? CV_8UC3 : CV_8UC1, out->data);
        /* Cubic only when enlarging (it keeps small print crisp); linear is enough otherwise. */
        cv::warpPerspective(from, dst, cv::getPerspectiveTransform(s, d), dst.size(),
                            top < W ? cv::INTER_CUBIC : cv::INTER_LINEAR, cv::BORDER_REPLICATE);
        return out;
    } catch (const cv::Exception &e) {
        bn_error_set("internal", "rectification failed: %s", e.what());
        return NULL;
    }
}
