/* bn_cardedge — an ID card's edges predicted from its rows: see bn_cardedge.h. */
#include "ocr/bn_cardedge.h"

#include <math.h>
#include <string.h>

/* mm on the card: rows' middles below the top edge (the range over real cards), its height */
#define NAME_MIN 8.1
#define NAME_MAX 9.4
#define NUMBER_MIN 44.5
#define NUMBER_MAX 47.4
#define CARD_H 54.0

/* mm a point of the straightened page (bn_lines_t's x, y) lies outside the frame */
static double outside(const bn_lines_t *L, double x, double y, double s)
{
    /* undo the straightening: bn_lines turned the corners by -skew about the page's centre */
    double a = L->skew * M_PI / 180, ca = cos(a), sa = sin(a), cx = L->width / 2.0, cy = L->height / 2.0;
    double dx = x - cx, dy = y - cy;
    double px = cx + dx * ca - dy * sa, py = cy + dx * sa + dy * ca;
    double o = fmax(fmax(-px, px - (L->width - 1)), fmax(-py, py - (L->height - 1)));
    return o / s;
}

int bn_cardedge_id_front(const bn_lines_t *L, const bn_kie_t *k, bn_cardedge_t *out)
{
    memset(out, 0, sizeof *out);
    const bn_kie_field_t *nm = bn_kie_get(k, "name"), *id = bn_kie_get(k, "id_number");
    if (!L || L->width < 2 || L->height < 2 || !nm || !id || !nm->by_label || nm->box[2] <= 0 || id->box[2] <= 0)
        return 0;
    double yn = nm->box[1] + nm->box[3] / 2.0, yi = id->box[1] + id->box[3] / 2.0;
    /* the rows' distance is 35.1-39.3 mm: its middle gives the scale within 6 % */
    double s = (yi - yn) / ((NUMBER_MIN + NUMBER_MAX) / 2 - (NAME_MIN + NAME_MAX) / 2);
    /* rows out of order or too close for a card's (a misread field, another layout) */
    if (s <= 0 || id->box[3] > 8 * s || nm->box[3] > 8 * s)
        return 0;
    out->px_per_mm = s;
    double yb = yi + (CARD_H - NUMBER_MAX) * s, yt = yn - NAME_MIN * s;
    /* under and over the rows' own ends: the print lies on the card (a row's box may or may
     * not hold its label, so nothing further out is sure to) */
    double xb0 = id->box[0], xb1 = id->box[0] + id->box[2];
    double xt0 = nm->box[0], xt1 = nm->box[0] + nm->box[2];
    out->bottom_out = fmax(outside(L, xb0, yb, s), outside(L, xb1, yb, s));
    out->top_out = fmax(outside(L, xt0, yt, s), outside(L, xt1, yt, s));
    return 1;
}
