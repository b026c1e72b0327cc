/* test_ocr_cardedge — an ID card's top and bottom edges predicted from its name and number
 * rows (bn_cardedge): a card photographed whole is inside, one with 4 mm cut off the bottom or
 * 3 mm off the top is outside by about that, and rows that are not an ID card's give nothing. */
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
    return bn_test_end("test_ocr_cardedge");
}
