/* test_ocr_kie — fields by labels and geometry (bn_kie) on line lists written by hand, shaped
 * like what the detector and recogniser return for real photos: labels fused with their values
 * (姓名张三), two labels on one row (性别男民族汉), values beside a label-only line, a label
 * printed with wide letter spacing (名  称 as two lines), a code printed under its label, a
 * title beside that label, a multi-line address, a hidden label (the number found by its check
 * digit), specks, and the back of a card sent as the front. All values are synthetic. */
#include "bn_test.h"
#include <string.h>

#include "bn_test_lines.h"

#define L bn_test_line
#define val bn_test_val

static void test_id_front(void)
{
    bn_line_t v[] = {
        L(140, 150, 250, 40, "姓名张三丰", 0.99),
        L(140, 235, 350, 40, "性别男民族汉", 0.99),
        L(140, 315, 430, 38, "出生1990年1月2日", 0.99),
        L(140, 400, 120, 32, "住址", 0.97),
        L(255, 400, 410, 36, "北京市东城区测试路", 0.98),
        L(258, 452, 300, 36, "1号院2单元", 0.96),
        L(232, 470, 18, 10, "口", 0.05), /* a speck */
        L(138, 600, 220, 34, "公民身份号码", 1.0),
        L(414, 602, 530, 38, "110101199001020010", 1.0),
    };
    bn_lines_t ls = {.v = v, .n = (int)(sizeof v / sizeof v[0]), .width = 1100, .height = 700, .line_h = 36};
    bn_kie_t k;
    CHECK(bn_kie_extract("id-card", "front", &ls, &k) == 0);
    CHECK(!strcmp(val(&k, "name"), "张三丰"), "name '%s'", val(&k, "name"));
    CHECK(!strcmp(val(&k, "sex"), "男"), "sex '%s'", val(&k, "sex"));
    CHECK(!strcmp(val(&k, "ethnicity"), "汉"), "ethnicity '%s'", val(&k, "ethnicity"));
    CHECK(!strcmp(val(&k, "birth_date"), "1990年1月2日"), "birth '%s'", val(&k, "birth_date"));
    CHECK(!strcmp(val(&k, "address"), "北京市东城区测试路1号院2单元"), "address '%s'", val(&k, "address"));
    CHECK(!strcmp(val(&k, "id_number"), "110101199001020010"), "number '%s'", val(&k, "id_number"));
    const bn_kie_field_t *a = bn_kie_get(&k, "address");
    CHECK(a && a->conf >= 0.9, "the speck does not lower the address's confidence");
    CHECK(a && a->box[1] == 400 && a->box[3] >= 80, "the address box spans both lines");
    CHECK(k.labels_seen == 6, "labels seen %d", k.labels_seen);

    /* the number's label covered by a thumb: the number is found by its check digit */
    bn_line_t w[] = {
        L(140, 150, 250, 40, "姓名李四", 0.99),
        L(400, 600, 520, 38, "110101199001020010", 0.99),
        L(100, 300, 420, 38, "11010119900102001", 0.99), /* 17 digits: no valid window */
    };
    bn_lines_t lw = {.v = w, .n = 3, .width = 1100, .height = 700, .line_h = 38};
    CHECK(bn_kie_extract("id-card", "front", &lw, &k) == 0);
    CHECK(!strcmp(val(&k, "id_number"), "110101199001020010"), "number by form '%s'", val(&k, "id_number"));
    const bn_kie_field_t *n = bn_kie_get(&k, "id_number");
    CHECK(n && !n->by_label, "found by its form, not by a label");
}

/* Two shapes of real cards: the label column joined by the detector into standing boxes (姓性出住
 * down one column, 名别生址 down the next), and an address printed lower than its label. */
static void test_id_front_columns(void)
{
    bn_line_t v[] = {
        L(41, 77, 21, 176, "姓性出住", 0.87),
        L(70, 77, 21, 176, "名别生址", 0.82),
        L(116, 80, 100, 30, "张三", 1.0),
        L(116, 124, 20, 30, "男", 1.0),
        L(116, 168, 200, 30, "1990年1月2日", 1.0),
        L(131, 225, 240, 30, "北京市东城区测试路", 0.99),
    };
    bn_lines_t ls = {.v = v, .n = 6, .width = 600, .height = 400, .line_h = 30};
    bn_kie_t k;
    CHECK(bn_kie_extract("id-card", "front", &ls, &k) == 0);
    CHECK(!strcmp(val(&k, "name"), "张三"), "name '%s'", val(&k, "name"));
    CHECK(!strcmp(val(&k, "sex"), "男"), "sex '%s'", val(&k, "sex"));
    CHECK(!strcmp(val(&k, "birth_date"), "1990年1月2日"), "birth '%s'", val(&k, "birth_date"));
    CHECK(!strcmp(val(&k, "address"), "北京市东城区测试路"), "address '%s'", val(&k, "address"));

    bn_line_t w[] = {
        L(76, 215, 72, 16, "住址", 0.97),
        L(131, 231, 171, 20, "测试县测试镇测试村", 0.99), /* top below the label's middle */
        L(75, 304, 110, 21, "公民身份号码", 1.0),
    };
    bn_lines_t lw = {.v = w, .n = 3, .width = 600, .height = 400, .line_h = 18};
    CHECK(bn_kie_extract("id-card", "front", &lw, &k) == 0);
    CHECK(!strcmp(val(&k, "address"), "测试县测试镇测试村"), "lower address '%s'", val(&k, "address"));

    /* 性别 misread 住别: one character off 性别 and 住址, but 住址 is read right below */
    bn_line_t x[] = {
        L(114, 109, 110, 24, "姓名张三", 0.98),
        L(115, 145, 153, 21, "住别男民族汉", 0.84),
        L(115, 214, 223, 18, "住址测试县测试镇", 0.99),
    };
    bn_lines_t lx = {.v = x, .n = 3, .width = 600, .height = 400, .line_h = 20};
    CHECK(bn_kie_extract("id-card", "front", &lx, &k) == 0);
    CHECK(!strcmp(val(&k, "sex"), "男") && !strcmp(val(&k, "ethnicity"), "汉"), "misread label: sex '%s' ethnicity '%s'",
          val(&k, "sex"), val(&k, "ethnicity"));
    CHECK(!strcmp(val(&k, "address"), "测试县测试镇"), "address '%s'", val(&k, "address"));

    /* a bilingual card: the birth date in pieces, its 月 lost into a standing box, no 出生 read */
    bn_line_t b[] = {
        L(114, 182, 41, 22, "1990", 0.99),
        L(171, 182, 20, 21, "年", 1.0),
        L(203, 184, 14, 18, "5", 1.0),
        L(260, 188, 17, 17, "7", 1.0),
        L(284, 185, 19, 21, "日", 0.98),
    };
    bn_lines_t lb = {.v = b, .n = 5, .width = 600, .height = 400, .line_h = 20};
    CHECK(bn_kie_extract("id-card", "front", &lb, &k) == 0);
    CHECK(!strcmp(val(&k, "birth_date"), "1990年5月7日"), "birth date in pieces '%s'", val(&k, "birth_date"));

    /* the sex a line of its own, well apart from 民族汉: not joined to it as a spaced label's
     * half would be (the sex went missing on 2 of 20 specimen applications) */
    bn_line_t y[] = {
        L(257, 721, 104, 65, "性别", 1.0),
        L(437, 717, 63, 66, "男", 1.0),
        L(623, 716, 238, 68, "民族汉", 1.0),
    };
    bn_lines_t ly = {.v = y, .n = 3, .width = 1800, .height = 1130, .line_h = 65};
    CHECK(bn_kie_extract("id-card", "front", &ly, &k) == 0);
    CHECK(!strcmp(val(&k, "sex"), "男") && !strcmp(val(&k, "ethnicity"), "汉"), "lone sex: sex '%s' ethnicity '%s'",
          val(&k, "sex"), val(&k, "ethnicity"));
}

/* Labels lost on real fronts: 民族 read as 民 or not at all (性女民汉; 汉 a line of its own
 * beside 性别男), 姓名 gone (the name the short line right above the sex row), 姓 lost (名张三),
 * 性别 lost but for a speck (住男: not 住址), 住 lost (址…). Shapes of the real set. */
static void test_id_front_lost_labels(void)
{
    bn_kie_t k;
    bn_line_t a[] = {
        L(45, 65, 90, 18, "姓名张三", 0.95),
        L(44, 90, 132, 19, "性女民汉", 0.88),
        L(43, 119, 163, 18, "出生1990年1月2日", 0.99),
    };
    bn_lines_t la = {.v = a, .n = 3, .width = 400, .height = 250, .line_h = 18};
    CHECK(bn_kie_extract("id-card", "front", &la, &k) == 0);
    CHECK(!strcmp(val(&k, "ethnicity"), "汉"), "性女民汉: ethnicity '%s'", val(&k, "ethnicity"));

    bn_line_t b[] = {
        L(31, 27, 68, 17, "姓名张三", 0.96),
        L(32, 48, 42, 14, "性别男", 0.86),
        L(88, 49, 37, 12, "壮", 1.0),
        L(32, 68, 118, 13, "出生1990年1月2日", 0.98),
        L(120, 30, 40, 14, "测试", 0.99), /* not a group's name: never taken */
    };
    bn_lines_t lb = {.v = b, .n = 5, .width = 300, .height = 200, .line_h = 14};
    CHECK(bn_kie_extract("id-card", "front", &lb, &k) == 0);
    CHECK(!strcmp(val(&k, "ethnicity"), "壮"), "a lone 壮: ethnicity '%s'", val(&k, "ethnicity"));
    b[2] = L(88, 49, 37, 12, "测", 1.0);
    CHECK(bn_kie_extract("id-card", "front", &lb, &k) == 0);
    CHECK(!bn_kie_get(&k, "ethnicity"), "no group's name, no ethnicity: '%s'", val(&k, "ethnicity"));

    bn_line_t c[] = {
        L(148, 93, 76, 25, "张三丰", 1.0),
        L(204, 132, 75, 22, "民族汉", 0.99),
        L(144, 171, 184, 20, "1990年1月2日", 1.0),
        L(120, 213, 255, 21, "测试县测试镇", 0.96),
    };
    bn_lines_t lc = {.v = c, .n = 4, .width = 600, .height = 400, .line_h = 22};
    CHECK(bn_kie_extract("id-card", "front", &lc, &k) == 0);
    CHECK(!strcmp(val(&k, "name"), "张三丰"), "no 姓名: name '%s'", val(&k, "name"));
    c[0].conf = 0.5; /* a doubtful line is no name */
    CHECK(bn_kie_extract("id-card", "front", &lc, &k) == 0);
    CHECK(!bn_kie_get(&k, "name"), "a doubtful line above: no name '%s'", val(&k, "name"));

    bn_line_t d[] = {
        L(24, 32, 79, 14, "名张三", 0.92),
        L(24, 55, 52, 16, "住男", 0.60),
        L(70, 55, 65, 17, "汉", 0.99),
        L(25, 79, 134, 15, "出生1990年1月2日", 0.94),
        L(26, 103, 148, 15, "址测试县测试镇9号", 0.99),
    };
    bn_lines_t ld = {.v = d, .n = 5, .width = 300, .height = 200, .line_h = 15};
    CHECK(bn_kie_extract("id-card", "front", &ld, &k) == 0);
    CHECK(!strcmp(val(&k, "name"), "张三"), "名 alone: name '%s'", val(&k, "name"));
    CHECK(!strcmp(val(&k, "ethnicity"), "汉"), "住男 汉: ethnicity '%s'", val(&k, "ethnicity"));
    CHECK(!strcmp(val(&k, "address"), "测试县测试镇9号"), "住男 is not 住址, 址 is: address '%s'", val(&k, "address"));

    /* a bilingual card's standing boxes: 男, 民, 族 with a speck, and 彝 with the birth row's
     * month under it, all joined into one row */
    bn_line_t e[] = {
        L(113, 120, 20, 68, "男", 0.99),
        L(171, 117, 21, 72, "民", 0.99),
        L(203, 112, 20, 49, "口族", 0.63),
        L(226, 136, 24, 69, "彝9月", 0.79),
    };
    bn_lines_t le = {.v = e, .n = 4, .width = 600, .height = 400, .line_h = 22};
    CHECK(bn_kie_extract("id-card", "front", &le, &k) == 0);
    CHECK(!strcmp(val(&k, "ethnicity"), "彝"), "男民口族彝9: ethnicity '%s'", val(&k, "ethnicity"));
}

static void test_id_back(void)
{
    bn_line_t v[] = {
        L(1000, 1400, 1100, 130, "中华人民共和国", 1.0),
        L(930, 1670, 1300, 170, "居民身份证", 1.0),
        L(770, 2280, 900, 90, "签发机关测试市公安局", 0.99),
        L(770, 2460, 1300, 95, "有效期限2017.11.24-2037.11.24", 0.98),
    };
    bn_lines_t ls = {.v = v, .n = 4, .width = 3024, .height = 4032, .line_h = 95};
    bn_kie_t k;
    CHECK(bn_kie_extract("id-card", "back", &ls, &k) == 0);
    CHECK(!strcmp(val(&k, "issuing_authority"), "测试市公安局"), "authority '%s'", val(&k, "issuing_authority"));
    CHECK(!strcmp(val(&k, "validity"), "2017.11.24-2037.11.24"), "validity '%s'", val(&k, "validity"));
    /* the period printed apart from its label, under the authority's value: it is the
     * period's value, not the authority's second line (a bug: "…分局20241018长期") */
    bn_line_t w[] = {
        L(300, 700, 200, 40, "签发机关", 0.99),
        L(560, 700, 420, 40, "测试市公安局测试分局", 0.99),
        L(300, 770, 200, 40, "有效期限", 0.99),
        L(560, 770, 300, 40, "2024.10.18-长期", 0.99),
    };
    bn_lines_t lw = {.v = w, .n = 4, .width = 1100, .height = 700, .line_h = 40};
    CHECK(bn_kie_extract("id-card", "back", &lw, &k) == 0);
    CHECK(!strcmp(val(&k, "issuing_authority"), "测试市公安局测试分局"), "authority '%s'", val(&k, "issuing_authority"));
    CHECK(!strcmp(val(&k, "validity"), "2024.10.18-长期"), "validity '%s'", val(&k, "validity"));

    /* the back sent as the front: none of the front's labels */
    CHECK(bn_kie_extract("id-card", "front", &ls, &k) == 0);
    CHECK(k.labels_seen == 0 && !bn_kie_get(&k, "id_number"), "no front fields on a back");
}

static void test_license(void)
{
    bn_line_t v[] = {
        L(158, 353, 346, 48, "统一社会信用代码", 0.99),
        L(751, 345, 562, 111, "营业执照", 0.99),            /* the title beside the label */
        L(156, 396, 357, 41, "91350100M000100Y43", 1.0),   /* the code under its label */
        L(159, 611, 41, 41, "名", 1.0),
        L(309, 615, 47, 35, "称", 0.99),                   /* 名  称, wide letter spacing */
        L(385, 612, 286, 36, "测试科技有限公司", 1.0),
        L(1173, 629, 414, 38, "注册资本壹佰万元整", 0.99),
        L(157, 693, 47, 43, "类", 1.0),
        L(310, 698, 42, 34, "型", 1.0),
        L(386, 694, 419, 34, "有限责任公司(自然人独资)", 0.99),
        L(1171, 709, 179, 33, "成立日期", 0.99),
        L(1337, 711, 249, 27, "2015年03月25日", 1.0),
        L(160, 778, 316, 40, "法定代表人王五", 0.99),
        L(1168, 786, 179, 35, "营业期限", 0.99),
        L(1337, 787, 250, 27, "2015年03月25日至长期", 1.0),
        L(160, 864, 193, 37, "经营范围", 1.0),
        L(387, 859, 706, 26, "软件开发;信息技术咨询服务;住所租赁", 0.98),
        L(1168, 862, 39, 39, "住", 1.0),
        L(1306, 866, 40, 34, "所", 1.0),
        L(1370, 863, 490, 34, "测试省测试市测试区科技路", 0.98),
        L(1373, 899, 197, 29, "8号101室", 0.99),
        L(390, 886, 701, 23, "电子产品销售;技术服务", 0.99),
        L(1295, 1107, 209, 39, "登记机关", 1.0),
        L(1486, 1236, 74, 38, "2019", 1.0),
        L(1595, 1220, 213, 49, "年05月07日", 0.97),
    };
    bn_lines_t ls = {.v = v, .n = (int)(sizeof v / sizeof v[0]), .width = 1920, .height = 1440, .line_h = 36};
    bn_kie_t k;
    CHECK(bn_kie_extract("business-license", "front", &ls, &k) == 0);
    CHECK(!strcmp(val(&k, "credit_code"), "91350100M000100Y43"), "code '%s'", val(&k, "credit_code"));
    CHECK(!strcmp(val(&k, "name"), "测试科技有限公司"), "name '%s'", val(&k, "name"));
    CHECK(!strcmp(val(&k, "type"), "有限责任公司(自然人独资)"), "type '%s'", val(&k, "type"));
    CHECK(!strcmp(val(&k, "registered_capital"), "壹佰万元整"), "capital '%s'", val(&k, "registered_capital"));
    CHECK(!strcmp(val(&k, "established_date"), "2015年03月25日"), "established '%s'", val(&k, "established_date"));
    CHECK(!strcmp(val(&k, "legal_representative"), "王五"), "representative '%s'", val(&k, "legal_representative"));
    CHECK(!strcmp(val(&k, "business_term"), "2015年03月25日至长期"), "term '%s'", val(&k, "business_term"));
    CHECK(!strcmp(val(&k, "address"), "测试省测试市测试区科技路8号101室"), "address '%s'", val(&k, "address"));
    CHECK(!strcmp(val(&k, "issue_date"), "2019年5月7日"), "issue date '%s'", val(&k, "issue_date"));
    CHECK(!bn_kie_get(&k, "business_scope"), "the scope is a boundary, not a field");
}

/* The first halves of 名  称, 类  型, 住  所 stood in one column by the detector (名类住), the
 * second halves fused with their values; and a licence whose 名 was lost altogether. */
static void test_license_spaced(void)
{
    bn_line_t v[] = {
        L(376, 1291, 118, 521, "名类住", 1.0),
        L(1094, 1296, 1129, 193, "称测试科技有限公司", 0.99),
        L(1098, 1460, 756, 168, "型有限责任公司", 0.9),
        L(1101, 1637, 900, 170, "所测试市测试路1号", 0.98),
    };
    bn_lines_t ls = {.v = v, .n = 4, .width = 4160, .height = 3120, .line_h = 180};
    bn_kie_t k;
    CHECK(bn_kie_extract("business-license", "front", &ls, &k) == 0);
    CHECK(!strcmp(val(&k, "name"), "测试科技有限公司"), "name '%s'", val(&k, "name"));
    CHECK(!strcmp(val(&k, "type"), "有限责任公司"), "type '%s'", val(&k, "type"));
    CHECK(!strcmp(val(&k, "address"), "测试市测试路1号"), "address '%s'", val(&k, "address"));

    bn_line_t w[] = {
        L(300, 489, 317, 31, "称测试一号有限公司", 0.99),
        L(188, 549, 34, 34, "类", 1.0),
        L(301, 545, 304, 30, "型有限责任公司", 0.99),
        L(300, 700, 500, 30, "经营范围型材销售;所有许可项目", 0.99), /* words in the scope */
    };
    bn_lines_t lw = {.v = w, .n = 4, .width = 1440, .height = 1080, .line_h = 31};
    CHECK(bn_kie_extract("business-license", "front", &lw, &k) == 0);
    CHECK(!strcmp(val(&k, "name"), "测试一号有限公司"), "name without 名 '%s'", val(&k, "name"));
    CHECK(!strcmp(val(&k, "type"), "有限责任公司"), "type '%s'", val(&k, "type"));
    CHECK(!bn_kie_get(&k, "address"), "所 inside the scope is no label");

    /* the address's second line sits in the value column, right of where the first line's
     * value starts after a long label (经营场所) */
    bn_line_t z[] = {
        L(984, 623, 520, 26, "经营场所测试市测试区华强路测试社区华强大厦", 1.0),
        L(1150, 649, 366, 19, "1001、1002、1003号华强北路9号", 0.99),
    };
    bn_lines_t lz = {.v = z, .n = 2, .width = 1628, .height = 1221, .line_h = 26};
    CHECK(bn_kie_extract("business-license", "front", &lz, &k) == 0);
    CHECK(!strcmp(val(&k, "address"), "测试市测试区华强路测试社区华强大厦1001、1002、1003号华强北路9号"), "address '%s'",
          val(&k, "address"));

    /* a pre-2015 licence: dates in Chinese numerals */
    bn_line_t y[] = {
        L(160, 700, 180, 36, "成立日期", 1.0),
        L(400, 700, 330, 36, "二〇一〇年三月十五日", 0.98),
        L(1300, 1300, 330, 36, "二〇一五年一月二十日", 0.97),
    };
    bn_lines_t ly = {.v = y, .n = 3, .width = 1920, .height = 1440, .line_h = 36};
    CHECK(bn_kie_extract("business-license", "front", &ly, &k) == 0);
    CHECK(!strcmp(val(&k, "established_date"), "二〇一〇年三月十五日"), "cn date '%s'", val(&k, "established_date"));
    CHECK(!strcmp(val(&k, "issue_date"), "二〇一五年一月二十日"), "cn issue date '%s'", val(&k, "issue_date"));

    /* a real licence: 成  立  日  期 spaced, only 成 read (立 a speck, 日期 lost); its date is
     * the establishment date, not the issue date (which the seal hid) */
    bn_line_t e[] = {
        L(569, 329, 20, 16, "成", 0.98),
        L(625, 333, 12, 7, "7", 0.25),
        L(673, 328, 120, 19, "2009年10月12日", 1.0),
        L(566, 365, 19, 17, "营", 1.0),
        L(591, 366, 339, 20, "业期限2009年10月12日至2039年10月10日", 1.0),
    };
    bn_lines_t le = {.v = e, .n = 5, .width = 1032, .height = 750, .line_h = 19};
    CHECK(bn_kie_extract("business-license", "front", &le, &k) == 0);
    CHECK(!strcmp(val(&k, "established_date"), "2009年10月12日"), "established after a lone 成 '%s'",
          val(&k, "established_date"));
    CHECK(!bn_kie_get(&k, "issue_date"), "and not the issue date '%s'", val(&k, "issue_date"));

    /* a term whose label was lost is found by its form; the footer's yearless range is not one */
    bn_line_t tm[] = {
        L(700, 900, 800, 40, "每年1月1日至6月30日报送年度报告", 0.98),
        L(607, 1352, 1007, 44, "自二〇一〇年三月十五日至二〇二〇年三月十四日", 0.92),
    };
    bn_lines_t ltm = {.v = tm, .n = 2, .width = 3500, .height = 2480, .line_h = 44};
    CHECK(bn_kie_extract("business-license", "front", &ltm, &k) == 0);
    CHECK(!strcmp(val(&k, "business_term"), "自二〇一〇年三月十五日至二〇二〇年三月十四日"), "term by form '%s'",
          val(&k, "business_term"));
    ltm.n = 1;
    CHECK(bn_kie_extract("business-license", "front", &ltm, &k) == 0);
    CHECK(!bn_kie_get(&k, "business_term"), "a yearless range is no term '%s'", val(&k, "business_term"));

    /* a four-character label printed one character per line, a character's width apart */
    bn_line_t c4[] = {
        L(411, 2136, 62, 54, "成", 1.0),
        L(528, 2136, 61, 54, "立", 1.0),
        L(643, 2138, 55, 51, "日", 1.0),
        L(754, 2136, 70, 55, "期", 1.0),
        L(887, 2137, 411, 56, "2004年10月25日", 1.0),
    };
    bn_lines_t l4 = {.v = c4, .n = 5, .width = 2480, .height = 3508, .line_h = 54};
    CHECK(bn_kie_extract("business-license", "front", &l4, &k) == 0);
    CHECK(!strcmp(val(&k, "established_date"), "2004年10月25日"), "spaced label '%s'", val(&k, "established_date"));

    /* a type wraps only inside its bracket: the line under a closed type (an address whose
     * label was missed) is not the type's */
    bn_line_t t[] = {
        L(160, 500, 100, 36, "类型", 1.0),
        L(400, 500, 300, 36, "个人独资企业", 1.0),
        L(400, 545, 520, 36, "测试市测试区测试路1号", 0.99),
        L(160, 600, 100, 36, "类型", 1.0),
        L(400, 600, 420, 36, "有限责任公司（自然人投资", 1.0),
        L(400, 645, 160, 36, "或控股）", 0.99),
    };
    bn_lines_t lt = {.v = t, .n = 3, .width = 1920, .height = 1440, .line_h = 36};
    CHECK(bn_kie_extract("business-license", "front", &lt, &k) == 0);
    CHECK(!strcmp(val(&k, "type"), "个人独资企业"), "closed type '%s'", val(&k, "type"));
    lt.v = t + 3;
    CHECK(bn_kie_extract("business-license", "front", &lt, &k) == 0);
    CHECK(!strcmp(val(&k, "type"), "有限责任公司(自然人投资或控股)"), "wrapped type '%s'", val(&k, "type"));

    /* an address left inside a bracket continues on a line holding a label's words */
    bn_line_t a[] = {
        L(160, 700, 180, 36, "经营场所", 1.0),
        L(400, 700, 600, 36, "测试市测试区测试路1号（临", 1.0),
        L(400, 745, 600, 36, "经营场所有效期至2017年4月8日）", 0.99),
    };
    bn_lines_t la = {.v = a, .n = 3, .width = 1920, .height = 1440, .line_h = 36};
    CHECK(bn_kie_extract("business-license", "front", &la, &k) == 0);
    CHECK(!strcmp(val(&k, "address"), "测试市测试区测试路1号(临经营场所有效期至2017年4月8日)"), "bracketed address '%s'",
          val(&k, "address"));

    /* the issue date's digits printed above the 年 月 日 line, through the seal, a footer below */
    bn_line_t x[] = {
        L(1295, 1107, 209, 39, "登记机关", 1.0),
        L(1595, 1131, 153, 40, "12345678901", 0.93), /* a number printed beside: no date part */
        L(1480, 1190, 80, 36, "2020", 1.0),
        L(1610, 1185, 40, 36, "11", 0.98),
        L(1700, 1192, 40, 36, "3", 0.97),
        L(1560, 1240, 30, 30, "年", 1.0),
        L(1660, 1240, 30, 30, "月", 1.0),
        L(1750, 1240, 30, 30, "日", 1.0),
        L(700, 1390, 800, 40, "市场主体应当于每年1月1日至6月30日报送年度报告", 0.98),
    };
    bn_lines_t lx = {.v = x, .n = 9, .width = 1920, .height = 1440, .line_h = 36};
    CHECK(bn_kie_extract("business-license", "front", &lx, &k) == 0);
    CHECK(!strcmp(val(&k, "issue_date"), "2020年11月3日"), "issue date in parts '%s'", val(&k, "issue_date"));

    /* digits just above the line and touching the characters (bn_datefix's reads): one row */
    bn_line_t d[] = {
        L(1065, 931, 160, 33, "登记机关", 1.0),
        L(1183, 965, 57, 34, "2021", 1.0),
        L(1241, 986, 28, 26, "年", 1.0),
        L(1279, 965, 54, 34, "10", 0.94),
        L(1310, 993, 19, 17, "月", 1.0),
        L(1340, 965, 33, 34, "12", 1.0),
        L(1374, 988, 19, 24, "日", 0.75),
        L(1298, 1097, 199, 29, "国家市场监督管理总局监制", 1.0),
    };
    bn_lines_t ld = {.v = d, .n = 8, .width = 1600, .height = 1200, .line_h = 30};
    CHECK(bn_kie_extract("business-license", "front", &ld, &k) == 0);
    CHECK(!strcmp(val(&k, "issue_date"), "2021年10月12日"), "issue date beside its characters '%s'",
          val(&k, "issue_date"));
}

static void test_edges(void)
{
    bn_kie_t k;
    bn_lines_t none = {.v = NULL, .n = 0, .width = 0, .height = 0, .line_h = 0};
    CHECK(bn_kie_extract("id-card", "front", &none, &k) == 0 && k.n == 0, "no lines, no fields");
    CHECK(bn_kie_extract("passport", "front", &none, &k) == -1, "no table for passports");
    CHECK(!bn_kie_supports("passport", "front") && bn_kie_supports("business-license", NULL));
}

int main(void)
{
    test_id_front();
    test_id_front_columns();
    test_id_front_lost_labels();
    test_id_back();
    test_license();
    test_license_spaced();
    test_edges();
    return bn_test_end("test_ocr_kie");
}
