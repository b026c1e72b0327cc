/* test_ocr_cardedge — an ID card's edges predicted from its name and number rows (bn_cardedge):
 * a card photographed whole is inside, one with 4 mm cut off the bottom or 3 mm off the top is
 * outside by about that, and rows that are not an ID card's give nothing. Across the number row
 * (label and number as two lines, as on a standard card): 4 mm cut off the left or the right is
 * outside, and a row joined into one line or spaced unlike a card's is not measured across. */
#include "bn_test.h"
#include <math.h>
#include <string.h>

#include "ocr/bn_cardedge.h"

/* A card at 10 px/mm whose top edge is at y = top on a page w x h: the name row's middle at
 * 8.75 mm, the number row's at 45.95 mm (the middles of the real cards' ranges). */
static void card(bn_lines_t *L, bn_kie_t *k, int w, int h, double top)
{
    memset(L, 0, sizeof *L);
    memset(k, 0, sizeof *k);
    L->width = w, L->height = h;
    bn_kie_field_t *nm = &k->f[k->n++], *id = &k->f[k->n++];
    snprintf(nm->key, sizeof nm->key, "name");
    snprintf(nm->value, sizeof nm->value, "X"); /* a field is there when it has a value */
    nm->by_label = 1;
    int name_box[4] = {170, (int)lround(top + 87.5 - 20), 200, 40};
    memcpy(nm->box, name_box, sizeof name_box);
    snprintf(id->key, sizeof id->key, "id_number");
    snprintf(id->value, sizeof id->value, "9");
    id->by_label = 0;
    int id_box[4] = {60, (int)lround(top + 459.5 - 20), 740, 40};
    memcpy(id->box, id_box, sizeof id_box);
}

/* ...with the number row as the detector returns it: 公民身份号码 from 7 mm, the number 3 mm
 * after it and 45 mm wide (ending 9.6 mm from the right edge), both shifted by dx */
static bn_line_t s_row[2];
static void row(bn_lines_t *L, bn_kie_t *k, double top, double dx)
{
    static const char *const text[2] = {"公民身份号码", "110101199001020010"};
    const float x[2] = {70, 310}, w[2] = {210, 450};
    for (int i = 0; i < 2; i++) {
        memset(&s_row[i], 0, sizeof s_row[i]);
        s_row[i].x = x[i] + (float)dx, s_row[i].w = w[i], s_row[i].y = (float)(top + 459.5 - 20), s_row[i].h = 40;
        snprintf(s_row[i].text, sizeof s_row[i].text, "%s", text[i]);
    }
    L->v = s_row, L->n = 2;
    snprintf(k->f[1].value, sizeof k->f[1].value, "%s", text[1]);
}

int main(void)
{
    bn_lines_t L;
    bn_kie_t k;
    bn_cardedge_t e;

    /* whole: the card fills an 856 x 540 photo edge to edge (a tight crop) */
    card(&L, &k, 856, 540, 0);
    CHECK(bn_cardedge_id_front(&L, &k, &e) == 1);
    CHECK(fabs(e.px_per_mm - 10) < 0.2, "scale %.2f px/mm", e.px_per_mm);
    CHECK(e.top_out < 0 && e.bottom_out < 0, "a whole card is inside (top %.2f, bottom %.2f mm)", e.top_out,
          e.bottom_out);
    /* on a larger photo with room around it, further inside (by the nearest frame edge) */
    card(&L, &k, 1200, 900, 150);
    CHECK(bn_cardedge_id_front(&L, &k, &e) == 1 && e.top_out < -5 && e.bottom_out < -5, "top %.2f bottom %.2f", e.top_out,
          e.bottom_out);

    /* 4 mm cut off the bottom: outside by about that, less the rows' spread (54 - 47.4 mm) */
    card(&L, &k, 856, 500, 0);
    CHECK(bn_cardedge_id_front(&L, &k, &e) == 1);
    CHECK(e.bottom_out > 1.5 && e.bottom_out < 4, "bottom cut by 4 mm: %.2f mm outside", e.bottom_out);
    CHECK(e.top_out < 0);
    /* 3 mm cut off the top */
    card(&L, &k, 856, 510, -30);
    CHECK(bn_cardedge_id_front(&L, &k, &e) == 1);
    CHECK(e.top_out > 1.5 && e.top_out < 3, "top cut by 3 mm: %.2f mm outside", e.top_out);
    CHECK(e.bottom_out < 0);

    /* a page turned 3 degrees: the bottom corner under the number's right end leaves first */
    card(&L, &k, 856, 540, 0);
    L.skew = 3;
    CHECK(bn_cardedge_id_front(&L, &k, &e) == 1 && e.bottom_out > 0, "turned: %.2f", e.bottom_out);

    /* across: whole, then 4 mm off the left (the page starts 4 mm into the card), then the right */
    card(&L, &k, 856, 540, 0);
    row(&L, &k, 0, 0);
    CHECK(bn_cardedge_id_front(&L, &k, &e) == 1 && e.across, "measured across");
    CHECK(e.left_out < 0 && e.right_out < 0, "whole across (left %.2f, right %.2f mm)", e.left_out, e.right_out);
    card(&L, &k, 816, 540, 0);
    row(&L, &k, 0, -40);
    CHECK(bn_cardedge_id_front(&L, &k, &e) == 1 && e.across && e.left_out > 1.5 && e.left_out < 4 && e.right_out < 0,
          "left cut by 4 mm: %.2f mm outside (right %.2f)", e.left_out, e.right_out);
    card(&L, &k, 816, 540, 0);
    row(&L, &k, 0, 0);
    CHECK(bn_cardedge_id_front(&L, &k, &e) == 1 && e.across && e.right_out > 1.5 && e.right_out < 4 && e.left_out < 0,
          "right cut by 4 mm: %.2f mm outside (left %.2f)", e.right_out, e.left_out);
    /* not across: one line (another script's label before it), the number far from its label */
    card(&L, &k, 816, 540, 0);
    row(&L, &k, 0, 0);
    snprintf(s_row[1].text, sizeof s_row[1].text, "公民身份号码110101199001020010");
    CHECK(bn_cardedge_id_front(&L, &k, &e) == 1 && !e.across, "label and number one line: not measured across");
    card(&L, &k, 816, 540, 0);
    row(&L, &k, 0, 0);
    s_row[0].x -= 60;
    CHECK(bn_cardedge_id_front(&L, &k, &e) == 1 && !e.across, "9 mm between label and number: not a card's row");

    /* nothing measured: no name label, no number, rows out of order, rows too tall for the scale */
    card(&L, &k, 856, 540, 0);
    k.f[0].by_label = 0;
    CHECK(bn_cardedge_id_front(&L, &k, &e) == 0, "a name found by its form alone");
    card(&L, &k, 856, 540, 0);
    k.n = 1;
    CHECK(bn_cardedge_id_front(&L, &k, &e) == 0, "no number");
    card(&L, &k, 856, 540, 0);
    k.f[1].box[1] = 10;
    CHECK(bn_cardedge_id_front(&L, &k, &e) == 0, "number above the name");
    card(&L, &k, 856, 540, 0);
    k.f[1].box[3] = 300;
    CHECK(bn_cardedge_id_front(&L, &k, &e) == 0, "a number row 30 mm tall is no card's");
    CHECK(bn_cardedge_id_front(NULL, &k, &e) == 0);

    /* a licence: 登记机关 8 line heights above the photo's bottom, 4 (the footer cut), none */
    bn_line_t auth = {.x = 600, .y = 700, .w = 120, .h = 30};
    snprintf(auth.text, sizeof auth.text, "登记机关");
    bn_lines_t lic = {.v = &auth, .n = 1, .width = 1000, .height = 970, .line_h = 30};
    double below = 0;
    CHECK(bn_cardedge_licence(&lic, &below) == 1 && fabs(below - 8) < 0.01, "whole: %.2f lines below", below);
    lic.height = 850;
    CHECK(bn_cardedge_licence(&lic, &below) == 1 && fabs(below - 4) < 0.01, "cut: %.2f lines below", below);
    lic.skew = 5; /* turned: the row's right end sits lower on the photo */
    CHECK(bn_cardedge_licence(&lic, &below) == 1 && below < 4, "turned: %.2f lines below", below);
    snprintf(auth.text, sizeof auth.text, "登记");
    CHECK(bn_cardedge_licence(&lic, &below) == 0, "no label, nothing measured");
    return bn_test_end("test_ocr_cardedge");
}
