// bn_cutline — cut one detected text line out of an image as an upright strip (C++ only, shared
// by the detector's direction classifier and the recogniser). PaddleOCR's get_rotate_crop_image:
// a perspective warp of the quadrilateral, turned 90 degrees counter-clockwise when it stands
// more than 1.5 times taller than wide. Only the quad's bounding box is converted.
#ifndef BN_CUTLINE_HPP
#define BN_CUTLINE_HPP
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

// BGR strip of the quad pts (x0,y0..x3,y3) of an 8-bit image (bands 1 = grey, 3 = RGB); empty
// when the quad is degenerate or outside the image.
inline cv::Mat bn_cut_line(const uint8_t *data, int w, int h, int stride, int bands, const float pts[8])
{
    cv::Point2f q[4];
    for (int i = 0; i < 4; i++)
        q[i] = cv::Point2f(pts[2 * i], pts[2 * i + 1]);
    float cw = (float)std::max(cv::norm(q[0] - q[1]), cv::norm(q[2] - q[3]));
    float ch = (float)std::max(cv::norm(q[0] - q[3]), cv::norm(q[1] - q[2]));
    cv::Rect bb = cv::boundingRect(std::vector<cv::Point2f>(q, q + 4)) & cv::Rect(0, 0, w, h);
    if (cw < 2 || ch < 2 || bb.width < 2 || bb.height < 2)
        return cv::Mat();
    cv::Mat src(bb.height, bb.width, bands == 1 ? CV_8UC1 : CV_8UC3,
                (void *)(data + (size_t)bb.y * stride + (size_t)bb.x * bands), (size_t)stride);
    cv::Mat bgr, line;
    cv::cvtColor(src, bgr, bands == 1 ? cv::COLOR_GRAY2BGR : cv::COLOR_RGB2BGR);  // PaddleOCR reads BGR
    cv::Point2f from[4], to[4] = {{0, 0}, {cw, 0}, {cw, ch}, {0, ch}};
    for (int i = 0; i < 4; i++)
        from[i] = q[i] - cv::Point2f((float)bb.x, (float)bb.y);
    cv::warpPerspective(bgr, line, cv::getPerspectiveTransform(from, to), cv::Size((int)cw, (int)ch), cv::INTER_CUBIC,
                        cv::BORDER_REPLICATE);
    std::memset(bgr.data, 0, bgr.total() * bgr.elemSize());  // pixels are personal data
    if (line.rows >= 1.5 * line.cols)
        cv::rotate(line, line, cv::ROTATE_90_COUNTERCLOCKWISE);
    return line;
}

#endif
