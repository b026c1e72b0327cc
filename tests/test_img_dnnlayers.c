/* test_img_dnnlayers — beian's own OpenCV layers (lib/img/bn_dnnlayers.cpp) against the
 * operations they stand for, standalone and as a fused activation. The models that use them
 * are checked end to end by test_ocr_ppocr (lines read) and test_img_textq (boxes found). */
#include "bn_test.h"

#include "img/bn_dnnlayers.h"

int main(void)
{
    int bad = bn_dnn_layers_selftest();
    CHECK(bad == 0, "%d values differ from the operations written out (BnHSwish, BnDwConv, BnChannelScale)", bad);
    bn_dnn_layers_register(); /* twice is harmless */
    CHECK(bn_dnn_layers_selftest() == 0, "after a second registration");
    return bn_test_end("test_img_dnnlayers");
}
