// bn_dnnlayers — beian's own OpenCV DNN layers; see bn_dnnlayers.h.
#include "img/bn_dnnlayers.h"

#include <opencv2/core/hal/intrin.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/dnn/all_layers.hpp>
#include <opencv2/dnn/layer.details.hpp>

#include <algorithm>
#include <mutex>
#include <vector>

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

}  // namespace

extern "C" void bn_dnn_layers_register(void)
{
    static std::once_flag once;
    std::call_once(once, [] { cv::dnn::LayerFactory::registerLayer("BnHSwish", HSwish::create); });
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
    } catch (const cv::Exception &) {
        return 1;
    }
    return bad;
}
