/* bn_dnnlayers — beian's own OpenCV DNN layers, which scripts/fix-ppocr.py writes into the
 * PP-OCR models it prepares (a model using them loads only once they are registered):
 *
 *   BnHSwish (attributes k, b)   y = k * x * min(max(x + 3, 0), 6) + b
 *     paddle2onnx's hardswish with the learnable affine after it, which OpenCV 4.6 ran as up
 *     to four passes over a feature map; as an activation OpenCV runs it inside the
 *     convolution (or sum) before it, on the stripe just computed. Same float operations in
 *     the same order as the chain it replaces: the same values.
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

/* Each layer against the operations it stands for, called as a standalone layer and as a fused
 * activation; returns the number of mismatches (0: all equal). */
int bn_dnn_layers_selftest(void);

#ifdef __cplusplus
}
#endif

#endif
