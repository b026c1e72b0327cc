/* bn_dnnlayers — beian's own OpenCV DNN layers, which scripts/fix-ppocr.py writes into the
 * PP-OCR models it prepares (a model using them loads only once they are registered):
 *
 *   BnHSwish (attributes k, b)   y = k * x * min(max(x + 3, 0), 6) + b
 *     paddle2onnx's hardswish with the learnable affine after it, which OpenCV 4.6 ran as up
 *     to four passes over a feature map; as an activation OpenCV runs it inside the
 *     convolution (or sum) before it, on the stripe just computed. Same float operations in
 *     the same order as the chain it replaces: the same values.
 *
 *   BnDwConv (ksize, stride_y, stride_x, pad; weights C x 1 x k x k, bias C)
 *     a depthwise convolution (strides 1 or 2). OpenCV 4.6 has a fast path for 3x3 depthwise
 *     kernels only; the networks' 5x5 ones ran ~25x slower than a 3x3. Vectorised with AVX2
 *     and FMA when the CPU has them; a following activation is fused.
 *
 *   BnChannelScale (inputs x: N x C x H x W, s: N x C x 1 x 1)   y = x * s[channel]
 *     a squeeze-excitation product, which OpenCV 4.6 ran as a broadcasting Eltwise over a
 *     generic iterator where the detector's shapes are not fixed.
 *
 * Used by bn_textdet (detector, direction classifier) and bn_ppocr (recogniser). */
#ifndef BN_DNNLAYERS_H
#define BN_DNNLAYERS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Registers the layers with OpenCV's layer factory; idempotent and thread-safe. Call before
 * cv::dnn::readNetFromONNX. */
void bn_dnn_layers_register(void);

/* Each layer against the operations it stands for written out (BnHSwish standalone and as a
 * fused activation; BnDwConv at strides 1x1, 2x1, 2x2, alone and with BnHSwish fused;
 * BnChannelScale); returns the number of mismatches (0: all equal). */
int bn_dnn_layers_selftest(void);

#ifdef __cplusplus
}
#endif

#endif
