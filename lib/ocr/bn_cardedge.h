/* bn_cardedge — is the ID card's top or bottom edge outside the photo? Judged from its rows.
 *
 * Why: a card photographed with an edge or a corner cut off keeps all its text (6 of 12 such
 * real photos had every field legible), and a tight crop whose edges touch the frame is fine,
 * so neither the outline (not found, or found cut) nor lines running out of the frame tell
 * them apart. The print does: on the front of a resident ID card (85.6 x 54 mm) the name row's
 * middle lies 8.1-9.4 mm below the top edge and the number row's 44.5-47.4 mm (measured on
 * real cards whose outline was found whole). Their distance on the photo gives its pixels per
 * millimetre, and with it where the top and bottom edges must be.
 *
 * The nearest of those positions is used (8.1 mm above the name, 54 - 47.4 = 6.6 mm below the
 * number): a card whose rows sit lower (bilingual cards print a line of Uyghur, Zhuang,
 * Mongolian... above each label) makes the edges predicted too close, never too far, so it
 * may miss a cut, not invent one.
 *
 * The left and right edges come from the number row alone, when it is printed as on a standard
 * card: the label 公民身份号码 and the 18 characters as two lines, 2.5-5.5 mm apart. The number's
 * printed width (45 mm; 44.2-46.9 measured) gives the scale across the row, whatever the rows'
 * spacing; on real cards cropped tight the label starts at least 4.5 mm from the left edge and
 * the number ends at least 7.6 mm from the right (the values used: 5.5 and 8.5, the cards' own,
 * less what a tight crop shaves off is within the tolerance). A bilingual card whose row starts
 * with another script's label joined to it is not measured across.
 *
 * Pure: lines and fields in, millimetres out (tests/test_ocr_cardedge.c). */
#ifndef BN_CARDEDGE_H
#define BN_CARDEDGE_H
#include "ocr/bn_kie.h"
#include "ocr/bn_lines.h"

typedef struct {
    double px_per_mm;  /* the photo's scale at the card */
    double top_out;    /* mm the predicted top edge lies outside the frame (< 0: inside, by the
                          distance to the nearest side of the frame) */
    double bottom_out; /* the same for the bottom edge */
    int across;        /* left_out and right_out were measured (the number row as described) */
    double left_out, right_out;
} bn_cardedge_t;

/* For an ID-card front whose name (found by its label) and number rows were read. Returns 1
 * with *out filled, 0 when the rows are not there (nothing measured). */
int bn_cardedge_id_front(const bn_lines_t *L, const bn_kie_t *k, bn_cardedge_t *out);

/* A licence's bottom edge: under 登记机关 a licence prints its issue date, the seal and the
 * footer (国家企业信用信息公示系统…): from the label's row to the bottom edge of the photo, real
 * licences photographed whole measured 6.8-19.7 median line heights (bn_lines_t.line_h), one
 * whose bottom border and footer were cut off 5.0.
 * Returns 1 with *lines_below (from the label's row to the frame's bottom, in line heights),
 * 0 when the label was not read. */
int bn_cardedge_licence(const bn_lines_t *L, double *lines_below);

#endif
