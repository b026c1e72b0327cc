// bn_dnnlayers — beian's own OpenCV DNN layers; see bn_dnnlayers.h.
#include "img/bn_dnnlayers.h"

#include <opencv2/core/hal/intrin.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/dnn/all_layers.hpp>
#include <opencv2/dnn/layer.details.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace {

// y = k * x * min(max(x + 3, 0), 6) + b. An ActivationLayer, so that OpenCV's fusion pass hands
// it to the convolution or element-wise sum before it, which calls forwardSlice on each output
// stripe while it is still in cache; forward() serves the cases it is not fused into.
class HSwish : public cv::dnn::ActivationLayer {
  public:
    explicit HSwish(const cv::dnn::LayerParams &p) : k(p.get<float>("k", 1.f / 6)), b(p.get<float>("b", 0.f))
    {
        setParamsFrom(p);
    }

    static cv::Ptr<cv::dnn::Layer> create(cv::dnn::LayerParams &p) { return cv::Ptr<cv::dnn::Layer>(new HSwish(p)); }

    bool getMemoryShapes(const std::vector<cv::dnn::MatShape> &in, const int, std::vector<cv::dnn::MatShape> &out,
                         std::vector<cv::dnn::MatShape> &) const override
    {
        out.assign(1, in[0]);
        return true;  // may run in place
    }

    bool supportBackend(int id) override { return id == cv::dnn::DNN_BACKEND_OPENCV; }

    void forwardSlice(const float *src, float *dst, int len, size_t plane, int cn0, int cn1) const override
    {
        for (int c = cn0; c < cn1; c++, src += plane, dst += plane)
            run(src, dst, (size_t)len);
    }

    void forward(cv::InputArrayOfArrays in_arr, cv::OutputArrayOfArrays out_arr, cv::OutputArrayOfArrays) override
    {
        std::vector<cv::Mat> in, out;
        in_arr.getMatVector(in);
        out_arr.getMatVector(out);
        for (size_t i = 0; i < in.size() && i < out.size(); i++)
            run(in[i].ptr<float>(), out[i].ptr<float>(), in[i].total());
    }

  private:
    float k, b;

    // In the order of the ONNX chain it replaces: Add(3), Clip(0, 6), Mul(x), Mul(k), Add(b).
    void run(const float *s, float *d, size_t n) const
    {
        size_t i = 0;
#if CV_SIMD
        const cv::v_float32 v0 = cv::vx_setzero_f32(), v3 = cv::vx_setall_f32(3.f), v6 = cv::vx_setall_f32(6.f),
                            vk = cv::vx_setall_f32(k), vb = cv::vx_setall_f32(b);
        for (; i + cv::v_float32::nlanes <= n; i += cv::v_float32::nlanes) {
            cv::v_float32 x = cv::vx_load(s + i);
            cv::v_float32 t = cv::v_min(cv::v_max(x + v3, v0), v6);
            cv::v_store(d + i, (x * t) * vk + vb);
        }
#endif
        for (; i < n; i++) {
            float x = s[i], t = std::min(std::max(x + 3.f, 0.f), 6.f);
            d[i] = (x * t) * k + b;
        }
    }
};

// ---- BnDwConv: depthwise convolution ----------------------------------------------------

// out[i] = bias + sum_j w[j] * src[j][i], i < n: one output row from k*k input rows (each
// already shifted by its kernel column). AVX2 and FMA when the CPU has them (chosen once):
// Debian builds for plain x86-64, and OpenCV's own kernels dispatch the same way.
typedef void (*dw_row_fn)(float *out, int n, float bias, const float *w, const float *const *src, int taps);

void dw_row_plain(float *out, int n, float bias, const float *w, const float *const *src, int taps)
{
    for (int i = 0; i < n; i++) {
        float acc = bias;
        for (int j = 0; j < taps; j++)
            acc += w[j] * src[j][i];
        out[i] = acc;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) void dw_row_avx2(float *out, int n, float bias, const float *w,
                                                     const float *const *src, int taps)
{
    int i = 0;
    // four independent sums at a time: one alone waits out each FMA's latency
    for (; i + 32 <= n; i += 32) {
        __m256 a0 = _mm256_set1_ps(bias), a1 = a0, a2 = a0, a3 = a0;
        for (int j = 0; j < taps; j++) {
            const __m256 wj = _mm256_set1_ps(w[j]);
            const float *p = src[j] + i;
            a0 = _mm256_fmadd_ps(wj, _mm256_loadu_ps(p), a0);
            a1 = _mm256_fmadd_ps(wj, _mm256_loadu_ps(p + 8), a1);
            a2 = _mm256_fmadd_ps(wj, _mm256_loadu_ps(p + 16), a2);
            a3 = _mm256_fmadd_ps(wj, _mm256_loadu_ps(p + 24), a3);
        }
        _mm256_storeu_ps(out + i, a0);
        _mm256_storeu_ps(out + i + 8, a1);
        _mm256_storeu_ps(out + i + 16, a2);
        _mm256_storeu_ps(out + i + 24, a3);
    }
    for (; i + 16 <= n; i += 16) {
        __m256 a0 = _mm256_set1_ps(bias), a1 = a0;
        for (int j = 0; j < taps; j++) {
            const __m256 wj = _mm256_set1_ps(w[j]);
            a0 = _mm256_fmadd_ps(wj, _mm256_loadu_ps(src[j] + i), a0);
            a1 = _mm256_fmadd_ps(wj, _mm256_loadu_ps(src[j] + i + 8), a1);
        }
        _mm256_storeu_ps(out + i, a0);
        _mm256_storeu_ps(out + i + 8, a1);
    }
    // the last 1-15: whole vectors, then a masked one (masked-off lanes are neither read nor
    // written)
    for (; i < n; i += 8) {
        const int left = n - i < 8 ? n - i : 8;
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256 acc = _mm256_set1_ps(bias);
        for (int j = 0; j < taps; j++)
            acc = _mm256_fmadd_ps(_mm256_set1_ps(w[j]), _mm256_maskload_ps(src[j] + i, mask), acc);
        _mm256_maskstore_ps(out + i, mask, acc);
    }
}
#endif

dw_row_fn g_dw_row_forced;  // the self-test's way to run the portable kernel on any CPU

dw_row_fn dw_row_pick()
{
    if (g_dw_row_forced)
        return g_dw_row_forced;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return dw_row_avx2;
#endif
    return dw_row_plain;
}

// A depthwise k x k convolution (weights C x 1 x k x k, bias C), stride 1 or 2 each way,
// the same zero padding on every side. OpenCV 4.6 has a fast path for 3x3 depthwise kernels
// only and ran the PP-OCRv4 networks' 5x5 ones ~25x slower; they were split into four 3x3
// (each behind a padding copy, then summed) until this, which reads each padded input plane
// once. A following activation (BnHSwish) is fused: it runs on each output plane as it is made.
class DwConv : public cv::dnn::Layer {
  public:
    explicit DwConv(const cv::dnn::LayerParams &p)
        : k(p.get<int>("ksize")), sy(p.get<int>("stride_y", 1)), sx(p.get<int>("stride_x", 1)), pad(p.get<int>("pad", 0))
    {
        setParamsFrom(p);
        if (k < 1 || k > 7 || sy < 1 || sy > 2 || sx < 1 || sx > 2 || pad < 0 || pad >= k || blobs.size() != 2 ||
            blobs[0].dims != 4 || blobs[0].size[1] != 1 || blobs[0].size[2] != k || blobs[0].size[3] != k ||
            (int)blobs[1].total() != blobs[0].size[0])
            CV_Error(cv::Error::StsBadArg, "BnDwConv: bad attributes or weights");
        row = dw_row_pick();
    }

    static cv::Ptr<cv::dnn::Layer> create(cv::dnn::LayerParams &p) { return cv::Ptr<cv::dnn::Layer>(new DwConv(p)); }

    bool getMemoryShapes(const std::vector<cv::dnn::MatShape> &in, const int, std::vector<cv::dnn::MatShape> &out,
                         std::vector<cv::dnn::MatShape> &) const override
    {
        // (the ONNX importer asks with the sizes the file declares, unknown ones as 0 or less)
        const cv::dnn::MatShape &s = in[0];
        if (s.size() != 4 || (s[1] > 0 && s[1] != blobs[0].size[0]))
            CV_Error(cv::Error::StsBadSize, "BnDwConv: input is not N x C x H x W with the weights' C");
        auto side = [this](int v, int st) { return v + 2 * pad >= k ? (v + 2 * pad - k) / st + 1 : v; };
        out.assign(1, cv::dnn::MatShape{s[0], s[1], side(s[2], sy), side(s[3], sx)});
        return false;
    }

    bool setActivation(const cv::Ptr<cv::dnn::ActivationLayer> &layer) override
    {
        if (!act.empty() && !layer.empty())
            return false;
        act = layer;
        return !act.empty();
    }

    void forward(cv::InputArrayOfArrays in_arr, cv::OutputArrayOfArrays out_arr, cv::OutputArrayOfArrays) override
    {
        std::vector<cv::Mat> in, out;
        in_arr.getMatVector(in);
        out_arr.getMatVector(out);
        const cv::Mat &x = in[0];
        cv::Mat &y = out[0];
        const int N = x.size[0], C = x.size[1], H = x.size[2], W = x.size[3];
        const int OH = y.size[2], OW = y.size[3], PH = H + 2 * pad, PW = W + 2 * pad;
        // the padded plane; at stride 2 across, its even and odd columns apart, so that every
        // tap reads a contiguous run
        const int half = (PW + 1) / 2;
        std::vector<float> plane((size_t)PH * PW, 0.f), split(sx == 2 ? (size_t)PH * 2 * half : 0);
        std::vector<const float *> src((size_t)k * k);
        const float *wt = blobs[0].ptr<float>(), *bias = blobs[1].ptr<float>();
        for (int n = 0; n < N; n++)
            for (int c = 0; c < C; c++) {
                const float *xp = x.ptr<float>(n, c);
                float *yp = y.ptr<float>(n, c);
                for (int r = 0; r < H; r++)
                    std::memcpy(&plane[(size_t)(r + pad) * PW + pad], xp + (size_t)r * W, sizeof(float) * W);
                if (sx == 2)
                    for (int r = 0; r < PH; r++)
                        for (int col = 0; col < PW; col++)
                            split[(size_t)r * 2 * half + (col & 1) * half + col / 2] = plane[(size_t)r * PW + col];
                for (int oy = 0; oy < OH; oy++) {
                    for (int ky = 0; ky < k; ky++)
                        for (int kx = 0; kx < k; kx++) {
                            size_t r = (size_t)(oy * sy + ky);
                            src[(size_t)ky * k + kx] = sx == 1 ? &plane[r * PW + kx]
                                                               : &split[r * 2 * half + (kx & 1) * half + kx / 2];
                        }
                    row(yp + (size_t)oy * OW, OW, bias[c], wt + (size_t)c * k * k, src.data(), k * k);
                }
                if (act)
                    act->forwardSlice(yp, yp, OH * OW, (size_t)OH * OW, c, c + 1);
            }
    }

  private:
    int k, sy, sx, pad;
    dw_row_fn row;
    cv::Ptr<cv::dnn::ActivationLayer> act;
};

// ---- BnChannelScale: x * s, s one value per channel ---------------------------------------

// A squeeze-excitation block's product (feature map times its channel weights, N x C x 1 x 1).
// In the detector, whose shapes are not fixed, OpenCV 4.6 made it a broadcasting Eltwise that
// walks the map with a generic iterator: 6 ms for one product at 480.
class ChannelScale : public cv::dnn::Layer {
  public:
    explicit ChannelScale(const cv::dnn::LayerParams &p) { setParamsFrom(p); }

    static cv::Ptr<cv::dnn::Layer> create(cv::dnn::LayerParams &p) { return cv::Ptr<cv::dnn::Layer>(new ChannelScale(p)); }

    bool getMemoryShapes(const std::vector<cv::dnn::MatShape> &in, const int, std::vector<cv::dnn::MatShape> &out,
                         std::vector<cv::dnn::MatShape> &) const override
    {
        if (in.size() != 2 || in[0].size() != 4)
            CV_Error(cv::Error::StsBadSize, "BnChannelScale: inputs are not N x C x H x W and N x C x 1 x 1");
        out.assign(1, in[0]);
        return false;
    }

    void forward(cv::InputArrayOfArrays in_arr, cv::OutputArrayOfArrays out_arr, cv::OutputArrayOfArrays) override
    {
        std::vector<cv::Mat> in, out;
        in_arr.getMatVector(in);
        out_arr.getMatVector(out);
        const cv::Mat &x = in[0];
        if (in.size() != 2 || x.dims != 4 || in[1].total() != (size_t)x.size[0] * x.size[1])
            CV_Error(cv::Error::StsBadSize, "BnChannelScale: inputs are not N x C x H x W and N x C x 1 x 1");
        const float *s = in[1].ptr<float>();
        const size_t NC = (size_t)x.size[0] * x.size[1], plane = (size_t)x.size[2] * x.size[3];
        const float *xp = x.ptr<float>();
        float *yp = out[0].ptr<float>();
        for (size_t c = 0; c < NC; c++, xp += plane, yp += plane) {
            size_t i = 0;
#if CV_SIMD
            const cv::v_float32 vs = cv::vx_setall_f32(s[c]);
            for (; i + cv::v_float32::nlanes <= plane; i += cv::v_float32::nlanes)
                cv::v_store(yp + i, cv::vx_load(xp + i) * vs);
#endif
            for (; i < plane; i++)
                yp[i] = xp[i] * s[c];
        }
    }
};

}  // namespace

extern "C" void bn_dnn_layers_register(void)
{
    static std::once_flag once;
    std::call_once(once, [] {
        cv::dnn::LayerFactory::registerLayer("BnHSwish", HSwish::create);
        cv::dnn::LayerFactory::registerLayer("BnDwConv", DwConv::create);
        cv::dnn::LayerFactory::registerLayer("BnChannelScale", ChannelScale::create);
    });
}

// BnDwConv on a 2 x 13 x 37 map (rows not a multiple of any vector width), k 5, pad 2, at
// strides 1x1, 2x1, 2x2, each output against the sum written out; then with BnHSwish fused.
static int selftest_dwconv(int sy, int sx, bool fused)
{
    const int C = 2, H = 13, W = 37, k = 5, pad = 2;
    cv::dnn::LayerParams lp;
    lp.name = "d", lp.type = "BnDwConv";
    lp.set("ksize", k), lp.set("stride_y", sy), lp.set("stride_x", sx), lp.set("pad", pad);
    int wshape[] = {C, 1, k, k};
    cv::Mat wt(4, wshape, CV_32F), bias(1, C, CV_32F);
    cv::RNG rng(5);
    rng.fill(wt, cv::RNG::UNIFORM, -1, 1);
    rng.fill(bias, cv::RNG::UNIFORM, -1, 1);
    lp.blobs = {wt, bias};
    cv::Ptr<cv::dnn::Layer> l = cv::dnn::LayerFactory::createLayerInstance("BnDwConv", lp);
    cv::dnn::LayerParams hp;
    hp.set("k", 0.5f), hp.set("b", 0.25f);
    cv::Ptr<cv::dnn::ActivationLayer> act = cv::makePtr<HSwish>(hp);
    if (fused && !l->setActivation(act))
        return 1;
    int ishape[] = {1, C, H, W};
    cv::Mat x(4, ishape, CV_32F);
    rng.fill(x, cv::RNG::UNIFORM, -3, 3);
    std::vector<cv::dnn::MatShape> outs_shape, internals;
    l->getMemoryShapes({cv::dnn::MatShape{1, C, H, W}}, 1, outs_shape, internals);
    const int OH = outs_shape[0][2], OW = outs_shape[0][3];
    if (OH != (H + 2 * pad - k) / sy + 1 || OW != (W + 2 * pad - k) / sx + 1)
        return 1;
    cv::Mat y(4, outs_shape[0].data(), CV_32F);
    std::vector<cv::Mat> ins{x}, outs{y}, ints;
    l->forward(ins, outs, ints);
    int bad = 0;
    for (int c = 0; c < C; c++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                double want = bias.at<float>(c);
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int iy = oy * sy - pad + ky, ix = ox * sx - pad + kx;
                        if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                            want += (double)wt.ptr<float>(c)[ky * k + kx] * x.ptr<float>(0, c)[iy * W + ix];
                    }
                if (fused) {
                    double t = std::min(std::max(want + 3, 0.0), 6.0);
                    want = want * t * 0.5 + 0.25;
                }
                bad += std::fabs(y.ptr<float>(0, c)[oy * OW + ox] - want) > 1e-4 * (1 + std::fabs(want));
            }
    return bad;
}

// BnChannelScale: a 3 x 2 x 5 map times 3 channel weights.
static int selftest_channelscale()
{
    cv::dnn::LayerParams lp;
    lp.name = "s", lp.type = "BnChannelScale";
    cv::Ptr<cv::dnn::Layer> l = cv::dnn::LayerFactory::createLayerInstance("BnChannelScale", lp);
    int xs[] = {1, 3, 2, 5}, ss[] = {1, 3, 1, 1};
    cv::Mat x(4, xs, CV_32F), s(4, ss, CV_32F), y(4, xs, CV_32F);
    for (int i = 0; i < 30; i++)
        x.ptr<float>()[i] = (float)i - 7;
    for (int c = 0; c < 3; c++)
        s.ptr<float>()[c] = 0.5f * (float)(c + 1);
    std::vector<cv::Mat> ins{x, s}, outs{y}, ints;
    l->forward(ins, outs, ints);
    int bad = 0;
    for (int i = 0; i < 30; i++)
        bad += y.ptr<float>()[i] != x.ptr<float>()[i] * s.ptr<float>()[i / 10];
    return bad;
}

extern "C" int bn_dnn_layers_selftest(void)
{
    bn_dnn_layers_register();
    int bad = 0;
    try {
        cv::dnn::LayerParams lp;
        lp.name = "t", lp.type = "BnHSwish";
        lp.set("k", 0.5f), lp.set("b", -0.25f);
        cv::Ptr<cv::dnn::Layer> l = cv::dnn::LayerFactory::createLayerInstance("BnHSwish", lp);
        cv::Ptr<cv::dnn::ActivationLayer> act = l.dynamicCast<cv::dnn::ActivationLayer>();
        if (!act)
            return 1;  // not an activation: OpenCV would never fuse it
        // 2 channels of 37 (not a multiple of any vector width): -4.5 .. 4.5 and beyond
        const int C = 2, N = 37;
        std::vector<float> x(C * N), want(C * N), got(C * N), sliced(C * N);
        for (int i = 0; i < C * N; i++) {
            x[i] = -4.5f + 0.25f * (float)i;
            float t = std::min(std::max(x[i] + 3.f, 0.f), 6.f);
            want[i] = (x[i] * t) * 0.5f + -0.25f;
        }
        int shape[] = {1, C, 1, N};
        cv::Mat in(4, shape, CV_32F, x.data()), out(4, shape, CV_32F, got.data());
        std::vector<cv::Mat> ins{in}, outs{out}, internals;
        l->forward(ins, outs, internals);
        act->forwardSlice(x.data(), sliced.data(), N, (size_t)N, 0, C);
        for (int i = 0; i < C * N; i++)
            bad += got[i] != want[i] || sliced[i] != want[i];
        const int strides[][2] = {{1, 1}, {2, 1}, {2, 2}};
        for (int portable = 0; portable < 2; portable++) {  // this CPU's kernel, then the portable one
            g_dw_row_forced = portable ? dw_row_plain : nullptr;
            for (const auto &st : strides)
                for (int fused = 0; fused < 2; fused++)
                    bad += selftest_dwconv(st[0], st[1], fused != 0);
        }
        g_dw_row_forced = nullptr;
        bad += selftest_channelscale();
    } catch (const cv::Exception &) {
        return 1;
    }
    return bad;
}
