/* bn_datefix — a licence's issue date read again between its printed 年 月 日.
 *
 * Why: the issue date is printed inside the registration authority's red seal, its digits often
 * smaller than the other text and misregistered above or below the 年 月 日 line. The detector
 * finds the large 年 月 日 but misses the digits (15 of 27 real licences lost their issue date).
 * Where the characters are, the digits are too: between them.
 *
 * How: under 登记机关 (or in the lower right of the page) the lines that are a lone 年, 月 or 日
 * on one row mark the gaps (a missing one in the middle is put half-way). In each gap, a band
 * from one character height above the row to one below is taken from the red channel (the seal,
 * red on white, vanishes in it; black print stays), the ink's rows and columns give the digits'
 * box, and the recogniser reads each group of digits. When year, month and day are all there
 * and make a date, it is added to the lines as one line "YYYY年M月D日" where the digits are (a
 * line the detector found there is emptied), so bn_kie takes it as it takes a printed date. */
#ifndef BN_DATEFIX_H
#define BN_DATEFIX_H
#include "img/bn_image.h"
#include "ocr/bn_lines.h"
#include "ocr/bn_ppocr.h"
#include "img/bn_textdet.h"

/* page: the upright page L was read on (RGB or grey). Appends the date to L->v (reallocated);
 * returns 1, 0 when the anchors or the digits are not there, -1 with bn_error. */
int bn_datefix_run(bn_ppocr_t *pp, const bn_image_t *page, bn_lines_t *L);

/* The same date found again when its 年 月 日 were not: under 登记机关 and to its right, the red
 * channel (seal gone) is given to the detector on its own, each line found is read, and the
 * digit groups left to right make the date (a year 19xx/20xx, a month, a day; or eight digits
 * in one). det: the text detector. Same returns as bn_datefix_run. */
int bn_datefix_redetect(bn_textdet_t *det, bn_ppocr_t *pp, const bn_image_t *page, bn_lines_t *L);

#endif
