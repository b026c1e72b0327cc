/* bn_cardedge — an ID card's edges predicted from its rows: see bn_cardedge.h. */
#include "ocr/bn_cardedge.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* mm on the card: rows' middles below the top edge (the range over real cards), its height */
#define NAME_MIN 8.1
#define NAME_MAX 9.4
#define NUMBER_MIN 44.5
#define NUMBER_MAX 47.4
#define CARD_H 54.0
/* across the number row: the number's width, the label's left and the number's right margins,
 * and the gap between them (mm) */
#define NUMBER_W 45.0
#define LABEL_LEFT 5.5
#define NUMBER_RIGHT 8.5
#define GAP_MIN 2.5
#define GAP_MAX 5.5

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

static int alnum(const char *t, int *other)
{
    int n = 0;
    *other = 0;
    for (const unsigned char *p = (const unsigned char *)t; *p; p++)
        if ((*p >= '0' && *p <= '9') || *p == 'X' || *p == 'x')
            n++;
        else if (*p < 0x80 || (*p & 0xC0) != 0x80)
            ++*other; /* a character other than a digit (a UTF-8 lead byte counts once) */
    return n;
}

/* The number row as two lines, label then number: the left and right margins, in mm. */
static void across(const bn_lines_t *L, const char *number, bn_cardedge_t *out)
{
    const bn_line_t *lab = NULL, *num = NULL;
    for (int i = 0; i < L->n; i++) {
        const bn_line_t *l = &L->v[i];
        int other, d = alnum(l->text, &other);
        if (d >= 17 && other <= 1 && strstr(l->text, number))
            num = l;
        else if (!strncmp(l->text, "公民身份", 12) && strlen(l->text) <= 7 * 3)
            lab = l;
    }
    if (!lab || !num || num->w < 8 * num->h)
        return;
    double s = num->w / NUMBER_W, gap = (num->x - (lab->x + lab->w)) / s;
    double cy = num->y + num->h / 2, ly = lab->y + lab->h / 2;
    if (gap < GAP_MIN || gap > GAP_MAX || fabs(cy - ly) > 0.5 * num->h)
        return;
    out->across = 1;
    out->left_out = outside(L, lab->x - LABEL_LEFT * s, ly, s);
    out->right_out = outside(L, num->x + num->w + NUMBER_RIGHT * s, cy, s);
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
    across(L, id->value, out);
    return 1;
}

int bn_cardedge_licence(const bn_lines_t *L, double *lines_below)
{
    *lines_below = 0;
    if (!L || L->line_h <= 0)
        return 0;
    for (int i = 0; i < L->n; i++) {
        const bn_line_t *l = &L->v[i];
        if (strstr(l->text, "登记机关")) {
            /* its row's lowest point on the photo (the straightened box turned back by skew) */
            double a = L->skew * M_PI / 180, cy = L->height / 2.0, cx = L->width / 2.0, low = -1e9;
            for (int c = 0; c < 2; c++) {
                double x = l->x + c * l->w, y = l->y + l->h;
                low = fmax(low, cy + (x - cx) * sin(a) + (y - cy) * cos(a));
            }
            *lines_below = (L->height - low) / L->line_h;
            return 1;
        }
    }
    return 0;
}
