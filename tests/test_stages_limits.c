/* One upload limit (issue #11, bug 3). The broker and the CLI refuse an image over
 * broker.max_upload (default BN_DEFAULT_MAX_UPLOAD). The quality stage's decoder must take every
 * size up to it by default — else an upload the broker accepted would be refused after the
 * queue, with a file_too_large reject that blames the applicant — and, being one documented
 * value (docs/CONFIG.md), no more than it. The frame cap must lie above it, or an over-size
 * upload could not be answered (libzmq drops a frame over the cap unanswered). */
#include "bn_test.h"
#include "core/bn_error.h"
#include "img/bn_image.h"

#include <beian/proto.h>
#include <string.h>

_Static_assert(BN_DEFAULT_MAX_FRAME > BN_DEFAULT_MAX_UPLOAD, "the frame cap must exceed the upload limit");

int main(void)
{
    size_t n = (size_t)BN_DEFAULT_MAX_UPLOAD + 1;
    unsigned char *jpeg = calloc(1, n); /* a JPEG's first bytes, then nothing: judged by size first */
    if (!jpeg)
        return 1;
    memcpy(jpeg, "\xff\xd8\xff\xe0", 4);
    bn_error_clear();
    bn_image_t *img = bn_image_decode(jpeg, n - 1, NULL, NULL);
    CHECK(!img && strcmp(bn_error_code(), "image_too_large") != 0,
          "an image of exactly the upload limit is not too large for the decoder (got %s)", bn_error_code());
    bn_image_destroy(&img);
    bn_error_clear();
    img = bn_image_decode(jpeg, n, NULL, NULL);
    CHECK(!img && strcmp(bn_error_code(), "image_too_large") == 0,
          "one byte more is: the decoder's default cap is the upload limit (got %s)", bn_error_code());
    bn_image_destroy(&img);
    free(jpeg);
    return bn_test_end("test_stages_limits");
}
