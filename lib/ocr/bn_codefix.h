/* bn_codefix — a licence's credit code found again under its label.
 *
 * Why: on a licence that fills a small part of the photo (a phone screenshot, a page photographed
 * from afar) the code is printed in a smaller face than the other text, under 统一社会信用代码.
 * At the detector's page scale its characters are a few pixels high: the detector finds part of
 * it or nothing, and the field goes missing although the code is legible at the photo's own
 * resolution.
 *
 * How: the band under the label and to its right (the code stands under the label, or after it
 * on its row) is given to the detector on its own, enlarged to the detector's canvas; each line
 * found is read, alone and joined with its neighbours on the row, and an 18-character window
 * that validates as a credit code (GB 32100, bn_number_windows) is added to the lines where it
 * was found. Nothing is added that does not validate, so a wrong reading costs only time. */
#ifndef BN_CODEFIX_H
#define BN_CODEFIX_H
#include "img/bn_image.h"
#include "img/bn_textdet.h"
#include "ocr/bn_lines.h"
#include "ocr/bn_ppocr.h"

/* page: the upright page L was read on (RGB or grey). Returns 1 when a code was added to L,
 * 0 when there is no label or no valid code under it, -1 with bn_error. */
int bn_codefix_redetect(bn_textdet_t *det, bn_ppocr_t *pp, const bn_image_t *page, bn_lines_t *L);

#endif
