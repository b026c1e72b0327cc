/* test_ocr_validate — every vector of ../shared/notes/documents.md §1.1-1.4 (copied here as
 * synthetic/public test data), plus the date and document-rule helpers. */
#include "bn_test.h"
#include "core/bn_validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static const char *TODAY = "2026-11-28";

static void test_icao(void)
{
    static const struct {
        const char *s;
        int cd;
    } v[] = {
        {"520727", 3}, {"AB2134<<<", 5}, {"L898902C3", 6}, {"740812", 2}, {"120415", 9},
        {"ZE184226B<<<<<", 1}, {"D23145890", 7}, {"HA672242<", 6}, {"D<<", 1}, {"0", 0},
        {"111111111", 3}, {"1<<1<<1<<1", 8},
        /* TD3 composite, App. A Ex. 3 */
        {"HA672242<6" "5802254" "9601086<<<<<<<<<<<<<<0", 8},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        int cd = bn_icao_check_digit(v[i].s, strlen(v[i].s));
        if (cd != v[i].cd)
            fprintf(stderr, "icao %s: %d != %d\n", v[i].s, cd, v[i].cd);
        CHECK(cd == v[i].cd);
    }
    CHECK(bn_icao_check_digit("BCDEFGHIJ", 9) == bn_icao_check_digit("123456789", 9));
    /* TD1 composite (App. A Ex. 4): L1[5:30] + L2[0:7] + L2[8:15] + L2[18:29] */
    const char *l1 = "I<UTOD231458907<<<<<<<<<<<<<<<", *l2 = "3407127M9507122YTO<<<<<<<<<<<";
    char comp[64];
    snprintf(comp, sizeof comp, "%.25s%.7s%.7s%.11s", l1 + 5, l2, l2 + 8, l2 + 18);
    CHECK(bn_icao_check_digit(comp, strlen(comp)) == 2);
    /* TD2 composite (App. A Ex. 5) */
    const char *td2 = "HA672242<6YTO5802254M9601086<<<<<<<";
    snprintf(comp, sizeof comp, "%.10s%.7s%.14s", td2, td2 + 13, td2 + 21);
    CHECK(bn_icao_check_digit(comp, strlen(comp)) == 8);
    /* bad characters and short input never read past the end */
    CHECK(bn_icao_check_digit("ab1", 3) == -1);
    CHECK(bn_icao_check_digit("12", 5) == -1);
    CHECK(bn_icao_check_digit(NULL, 3) == -1);
}

static void test_id(void)
{
    static const char *valid[] = {
        "11010519491231002X", "440524188001010014", "11010219781027232X", "42032319930606629X",
        "11010120000229123X", "810000199001010019", "820000200106150023", "830000198512310039",
        "810000197810272327", "830000197810272320", "513701199507176346",
    };
    bn_id_info_t info;
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        bn_id_status_t st = bn_id_validate(valid[i], TODAY, &info);
        if (st != BN_ID_VALID)
            fprintf(stderr, "id %s: %s\n", valid[i], bn_id_status_name(st));
        CHECK(st == BN_ID_VALID);
    }
    static const struct {
        const char *s;
        bn_id_status_t st;
        char expect;
    } invalid[] = {
        {"110101197608056896", BN_ID_CHECKSUM_INVALID, '7'}, /* vendor API doc */
        {"511324199612163557", BN_ID_CHECKSUM_INVALID, '6'}, /* passes a regex-only validator */
        {"110105194912310021", BN_ID_CHECKSUM_INVALID, 0},
        {"110105194902301234", BN_ID_BAD_DATE, 0},           /* 30 Feb */
        {"110105210001010019", BN_ID_FUTURE_DATE, 0},
        {"11010519491231002", BN_ID_BAD_FORMAT, 0},          /* 17 characters */
        {"1101051949123100X2", BN_ID_BAD_FORMAT, 0},         /* X not last */
        {"110105187912310015", BN_ID_BAD_DATE, 0},           /* before 1880 */
        {"", BN_ID_BAD_FORMAT, 0},
        {"11010519491231002X11010519491231002X", BN_ID_BAD_FORMAT, 0},
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        bn_id_status_t st = bn_id_validate(invalid[i].s, TODAY, &info);
        if (st != invalid[i].st)
            fprintf(stderr, "id %s: %s\n", invalid[i].s, bn_id_status_name(st));
        CHECK(st == invalid[i].st);
        if (invalid[i].expect)
            CHECK(info.check_expected == invalid[i].expect);
    }
    CHECK(bn_id_validate(NULL, TODAY, &info) == BN_ID_BAD_FORMAT);

    /* Fields: sex from the 17th digit, birth date, region. */
    CHECK(bn_id_validate("11010519491231002x", TODAY, &info) == BN_ID_VALID); /* lower-case x */
    CHECK(strcmp(info.number, "11010519491231002X") == 0);
    CHECK(info.sex == 'F' && info.birth.y == 1949 && info.birth.m == 12 && info.birth.d == 31);
    CHECK(strcmp(info.region, "110105") == 0 && info.region_known && !info.hmt);
    CHECK(bn_id_validate("440524188001010014", TODAY, &info) == BN_ID_VALID);
    CHECK(info.sex == 'M');
    /* 440524 (1983-1992) and 513701 (1993-1999) are abolished: unknown, yet valid numbers. */
    CHECK(!info.region_known);
    CHECK(bn_id_validate("513701199507176346", TODAY, &info) == BN_ID_VALID && !info.region_known);
    CHECK(bn_id_validate("830000198512310039", TODAY, &info) == BN_ID_VALID && info.region_known && info.hmt);
    CHECK(bn_id_validate("1101 0519 4912 3100 2X", TODAY, &info) == BN_ID_VALID);

    /* 15-digit legacy numbers convert by inserting 19 and computing the check. */
    CHECK(bn_id_validate("110105491231002", TODAY, &info) == BN_ID_VALID);
    CHECK(info.legacy15 && strcmp(info.number, "11010519491231002X") == 0 && info.sex == 'F');
    CHECK(bn_id_validate("110105490230123", TODAY, &info) == BN_ID_BAD_DATE);

    /* The future-date rule follows the given "today", not the wall clock. */
    CHECK(bn_id_validate("11010120000229123X", "1999-12-31", &info) == BN_ID_FUTURE_DATE);
    CHECK(bn_id_check_char("11010519491231002") == 'X');
    CHECK(bn_id_check_char("1101051949123100") == '\0');
}

static void test_regions(void)
{
    CHECK(bn_regions_count() > 3000);
    const char *n = bn_region_name("110101");
    CHECK(n && strcmp(n, "东城区") == 0);
    CHECK(bn_region_name("110000") != NULL); /* province level */
    CHECK(bn_region_name("110100") != NULL); /* city level */
    CHECK(bn_region_name("810000") && bn_region_name("820000") && bn_region_name("830000"));
    CHECK(bn_region_name("999999") == NULL);
    CHECK(bn_region_name("11010") == NULL);
    CHECK(bn_region_name("1101011") == NULL);
    CHECK(bn_region_name(NULL) == NULL);
    CHECK(bn_regions_load("/nonexistent/regions.tsv") == -1);
    CHECK(bn_region_name("110101") != NULL); /* a failed reload keeps the table */

    /* a custom table: comments and malformed lines skipped, unsorted input sorted */
    char path[] = "/tmp/test_ocr_regions_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("# test\n999999\tTest\r\n110101\tEast\nbad line\n12345\tshort\n1234567\tlong\n", f);
    fclose(f);
    CHECK(bn_regions_load(path) == 2 && bn_regions_count() == 2);
    CHECK(bn_region_name("999999") && strcmp(bn_region_name("999999"), "Test") == 0);
    CHECK(bn_region_name("110101") && strcmp(bn_region_name("110101"), "East") == 0);
    CHECK(bn_region_name("110102") == NULL && bn_region_name("810000") != NULL);
    unlink(path);
    CHECK(bn_regions_load(BEIAN_SOURCE_DIR "/data/regions.tsv") > 3000);
}

static void test_uscc(void)
{
    static const char *valid[] = {
        "91350100M000100Y43", "91440300708461136T", "91330100799655058B", "91110000802100433B",
        "91110108551385082Q", "91110105771583283D", "12440600MB2C07549J", "92141127MA0KD1Y64A",
        "1134082855783407XL", "91341000MA2N0ABGXX", "52610500MJU60350X1",
    };
    bn_uscc_info_t u;
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        int ok = bn_uscc_validate(valid[i], &u);
        if (!ok || !u.org_check_ok)
            fprintf(stderr, "uscc %s: check %d org %d\n", valid[i], u.check_ok, u.org_check_ok);
        CHECK(ok && u.format_ok && u.check_ok && u.org_check_ok);
    }
    CHECK(bn_uscc_validate("91350100m000100y43", &u) && strcmp(u.code, "91350100M000100Y43") == 0);
    CHECK(strcmp(u.region, "350100") == 0 && u.region_known);

    /* check character wrong */
    CHECK(!bn_uscc_validate("91350100M000100Y44", &u) && u.format_ok && !u.check_ok && u.check_expected == '3');
    CHECK(!bn_uscc_validate("111111111111111111", &u) && u.format_ok && !u.check_ok);
    CHECK(!bn_uscc_validate("91350200M000000510", &u) && u.format_ok && !u.check_ok);
    /* letters outside the alphabet, wrong length */
    CHECK(!bn_uscc_validate("91350100MOOO100Y43", &u) && !u.format_ok);
    CHECK(!bn_uscc_validate("91350100M000100Y4I", &u) && !u.format_ok);
    CHECK(!bn_uscc_validate("91350100M000100Y4", &u) && !u.format_ok);
    CHECK(!bn_uscc_validate(NULL, &u) && !u.format_ok);
    /* traps: mod-31 valid by chance, the embedded organisation code check fails */
    CHECK(bn_uscc_validate("123456789012345678", &u) && !u.org_check_ok);
    CHECK(bn_uscc_validate("362322198709086409", &u) && !u.org_check_ok);
    bn_id_info_t id;
    CHECK(bn_id_validate("362322198709086409", TODAY, &id) == BN_ID_VALID);
    /* a real pre-2016 Xiamen code that fails mod-31: reported, the caller makes it a review */
    CHECK(!bn_uscc_validate("91350203M0001QKT19", &u) && u.format_ok && !u.check_ok);
}

static void test_permits(void)
{
    CHECK(bn_permit_number_valid(BN_PERMIT_HK_MACAO, "H12345678"));
    CHECK(bn_permit_number_valid(BN_PERMIT_HK_MACAO, "M1234567801"));
    CHECK(bn_permit_number_valid(BN_PERMIT_HK_MACAO, "HA1234567"));
    CHECK(bn_permit_number_valid(BN_PERMIT_HK_MACAO, "ma1234567"));
    CHECK(!bn_permit_number_valid(BN_PERMIT_HK_MACAO, "H1234567"));
    CHECK(!bn_permit_number_valid(BN_PERMIT_HK_MACAO, "H123456789"));
    CHECK(!bn_permit_number_valid(BN_PERMIT_HK_MACAO, "HA12345678"));
    CHECK(!bn_permit_number_valid(BN_PERMIT_HK_MACAO, "C12345678"));
    CHECK(bn_permit_number_valid(BN_PERMIT_TAIWAN, "12345678"));
    CHECK(bn_permit_number_valid(BN_PERMIT_TAIWAN, "1234567801"));
    CHECK(!bn_permit_number_valid(BN_PERMIT_TAIWAN, "123456789"));
    CHECK(!bn_permit_number_valid(BN_PERMIT_TAIWAN, "T1234567"));
    CHECK(bn_permit_number_valid(BN_PERMIT_EEP_HK_MACAO, "C53158095"));
    CHECK(bn_permit_number_valid(BN_PERMIT_EEP_HK_MACAO, "CA1234567"));
    CHECK(!bn_permit_number_valid(BN_PERMIT_EEP_HK_MACAO, "CO1234567"));
    CHECK(!bn_permit_number_valid(BN_PERMIT_EEP_HK_MACAO, "CI1234567"));
    CHECK(!bn_permit_number_valid(BN_PERMIT_EEP_HK_MACAO, "C1234567"));
    CHECK(bn_permit_number_valid(BN_PERMIT_EEP_TAIWAN, "L13809236"));
    CHECK(!bn_permit_number_valid(BN_PERMIT_EEP_TAIWAN, "L1380923"));
    CHECK(!bn_permit_number_valid(BN_PERMIT_EEP_TAIWAN, NULL));
}

static void test_countries(void)
{
    static const char *ok[] = {"UTO", "CHN", "GBR", "NLD", "MCO", "D", "D<<", "XXA", "XXB", "XXC",
                               "XXX", "GBD", "GBN", "GBO", "GBP", "GBS", "UNA", "UNK", "UNO", "EUE",
                               "HKG", "MAC", "TWN", "AUT", "POL", "CZE", "CAN"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        CHECK(bn_country_code_valid(ok[i]));
    /* misreads seen with every check digit valid: MLD for NLD, MC0 for MCO */
    static const char *bad[] = {"MLD", "MC0", "UTD", "<<<", "", "CHNA", "ZZZ", "E", "chn"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!bn_country_code_valid(bad[i]));
    CHECK(!bn_country_code_valid(NULL));
}

static void test_dates(void)
{
    bn_date_t d;
    char buf[16];
    CHECK(bn_date_parse("2024-02-29", &d) == 0 && d.y == 2024 && d.m == 2 && d.d == 29);
    CHECK(bn_date_parse("2024.02.29", &d) == 0 && d.d == 29);
    CHECK(bn_date_parse("20240229", &d) == 0 && d.m == 2);
    CHECK(bn_date_parse("2024/2/9", &d) == 0 && d.m == 2 && d.d == 9);
    CHECK(bn_date_parse("1990年1月2日", &d) == 0 && d.y == 1990 && d.m == 1 && d.d == 2);
    CHECK(bn_date_parse("2023-02-29", &d) == -1);
    CHECK(bn_date_parse("2024-13-01", &d) == -1);
    CHECK(bn_date_parse("2024-01-01x", &d) == -1);
    CHECK(bn_date_parse("长期", &d) == -1);
    CHECK(bn_date_parse("", &d) == -1 && bn_date_parse(NULL, &d) == -1);
    CHECK(strcmp(bn_date_format(&(bn_date_t){2024, 2, 9}, buf, sizeof buf), "2024-02-09") == 0);

    /* YYMMDD with century pivot */
    CHECK(bn_date_parse_yymmdd("740812", 2026, 0, &d) == 0 && d.y == 1974);
    CHECK(bn_date_parse_yymmdd("260101", 2026, 0, &d) == 0 && d.y == 2026);
    CHECK(bn_date_parse_yymmdd("270101", 2026, 0, &d) == 0 && d.y == 1927);
    CHECK(bn_date_parse_yymmdd("120415", 2026, 50, &d) == 0 && d.y == 2012);
    CHECK(bn_date_parse_yymmdd("760415", 2026, 50, &d) == 0 && d.y == 2076);
    CHECK(bn_date_parse_yymmdd("770415", 2026, 50, &d) == 0 && d.y == 1977);
    CHECK(bn_date_parse_yymmdd("000229", 2026, 0, &d) == 0 && d.y == 2000);
    CHECK(bn_date_parse_yymmdd("010229", 2026, 0, &d) == -1);
    CHECK(bn_date_parse_yymmdd("7408<2", 2026, 0, &d) == -1);
    CHECK(bn_date_parse_yymmdd("7408", 2026, 0, &d) == -1);

    /* days between, add years */
    bn_date_t a = {2024, 1, 1}, b = {2025, 1, 1}, c = {1970, 1, 1}, e = {2000, 3, 1};
    CHECK(bn_date_days_between(&a, &b) == 366);
    CHECK(bn_date_days_between(&b, &a) == -366);
    CHECK(bn_date_days_between(&c, &e) == 11017);
    bn_date_t leap = {2024, 2, 29};
    bn_date_t r = bn_date_add_years(&leap, 1);
    CHECK(r.y == 2025 && r.m == 2 && r.d == 28);
    r = bn_date_add_years(&leap, 4);
    CHECK(r.y == 2028 && r.m == 2 && r.d == 29);
    r = bn_date_add_years(&leap, -100);
    CHECK(r.y == 1924 && r.m == 2 && r.d == 29);

    /* age, adult, today */
    bn_date_t birth = {2008, 11, 29}, now = bn_today(TODAY);
    CHECK(now.y == 2026 && now.m == 11 && now.d == 28);
    CHECK(bn_age_years(&birth, &now) == 17 && !bn_is_adult(&birth, &now));
    birth.d = 28;
    CHECK(bn_age_years(&birth, &now) == 18 && bn_is_adult(&birth, &now));
    bn_date_t feb29 = {2008, 2, 29}, d1 = {2026, 2, 28}, d2 = {2026, 3, 1};
    CHECK(bn_age_years(&feb29, &d1) == 17 && bn_age_years(&feb29, &d2) == 18);
    CHECK(bn_age_years(&now, &birth) == -1);
    bn_date_t wall = bn_today(NULL);
    CHECK(bn_date_valid(wall.y, wall.m, wall.d));
}

static void test_rules(void)
{
    CHECK(bn_id_validity_years(0) == 5 && bn_id_validity_years(15) == 5);
    CHECK(bn_id_validity_years(16) == 10 && bn_id_validity_years(25) == 10);
    CHECK(bn_id_validity_years(26) == 20 && bn_id_validity_years(45) == 20);
    CHECK(bn_id_validity_years(46) == 0 && bn_id_validity_years(90) == 0);
    CHECK(bn_id_validity_years(-1) == -1);

    bn_date_t from = {2016, 3, 15}, until = {2036, 3, 15}, unset = {0, 0, 0};
    CHECK(bn_validity_span_ok(&from, &until, 20));
    CHECK(!bn_validity_span_ok(&from, &until, 10));
    CHECK(bn_validity_span_ok(&from, &until, -1));
    bn_date_t off = {2036, 3, 16};
    CHECK(!bn_validity_span_ok(&from, &off, 20) && !bn_validity_span_ok(&from, &off, -1));
    CHECK(bn_validity_span_ok(&from, &unset, 0) && !bn_validity_span_ok(&from, &until, 0));
    CHECK(!bn_validity_span_ok(&from, &unset, 20));
    bn_date_t f29 = {2016, 2, 29}, u28 = {2026, 2, 28}, u01 = {2026, 3, 1}, u02 = {2026, 3, 2};
    CHECK(bn_validity_span_ok(&f29, &u28, 10) && bn_validity_span_ok(&f29, &u01, 10));
    CHECK(!bn_validity_span_ok(&f29, &u02, 10));

    bn_date_t now = {2026, 11, 28}, exp1 = {2027, 2, 26}, exp2 = {2027, 2, 25}, past = {2026, 11, 27};
    CHECK(bn_days_left(&exp1, &now) == 90 && bn_expiry_ok(&exp1, &now, 90));
    CHECK(bn_days_left(&exp2, &now) == 89 && !bn_expiry_ok(&exp2, &now, 90));
    CHECK(bn_days_left(&past, &now) == -1);
}

static void test_repair(void)
{
    char out[19];
    bn_id_info_t info;
    /* letters in digit positions, lower-case x, blanks: syntax only */
    CHECK(bn_id_repair("1101 0519 4912 31O0 2x", out) == 1 && strcmp(out, "11010519491231002X") == 0);
    CHECK(bn_id_repair("I1O1O519491231002X", out) == 3 && strcmp(out, "11010519491231002X") == 0);
    CHECK(bn_id_repair("\xEF\xBC\x91\xEF\xBC\x91" "0105194912310021", out) == 0 && strcmp(out, "110105194912310021") == 0);
    CHECK(bn_id_repair("110105194912310 02\xC3\x97", out) == 0 && strcmp(out, "11010519491231002X") == 0);
    /* a trailing X read as 8 is not "fixed" with the check character: it fails validation */
    CHECK(bn_id_repair("110105194912310028", out) == 0 && bn_id_validate(out, TODAY, &info) == BN_ID_CHECKSUM_INVALID);
    /* the garbled whole-photo read from the issue cannot become a number */
    CHECK(bn_id_repair("<ULwe20Uoq2250170", out) == -1);
    CHECK(bn_id_repair("11010519491231002XX", out) == -1);
    CHECK(bn_id_repair(NULL, out) == -1 && out[0] == '\0');
    CHECK(bn_id_repair("110105491231OO2", out) == 2 && bn_id_validate(out, TODAY, &info) == BN_ID_VALID);

    bn_uscc_info_t u;
    CHECK(bn_uscc_repair("9I35O1OOMOOO1OOY43", out) == 9 && strcmp(out, "91350100M000100Y43") == 0);
    CHECK(bn_uscc_validate(out, &u) && u.org_check_ok);
    /* 913 read as 313: a real digit error stays, and fails */
    CHECK(bn_uscc_repair("3135 0100 M000 100Y 43", out) == 0 && !bn_uscc_validate(out, &u));
    CHECK(bn_uscc_repair("91350100M000100Y4", out) == -1);
    CHECK(bn_uscc_repair("\xEF\xBC\x99" "1350100m000100y43", out) == 0 && strcmp(out, "91350100M000100Y43") == 0);

    bn_date_t from, until;
    int lt = -1;
    CHECK(bn_validity_parse("2016.03.15-2036.03.15", &from, &until, &lt) == 0 && lt == 0);
    CHECK(from.y == 2016 && from.m == 3 && from.d == 15 && until.y == 2036 && until.m == 3 && until.d == 15);
    CHECK(bn_validity_parse("2016-03-15-2036-03-15", &from, &until, &lt) == 0 && until.y == 2036 && lt == 0);
    CHECK(bn_validity_parse("2016.03.15\xE2\x80\x94\xE9\x95\xBF\xE6\x9C\x9F", &from, &until, &lt) == 0 && lt == 1 &&
          until.y == 0);
    CHECK(bn_validity_parse("20160315\xE8\x87\xB3" "20360315", &from, &until, &lt) == 0 && until.y == 2036);
    /* a bug: the dash lost between two lines read apart left an expired card's validity unread */
    CHECK(bn_validity_parse("2006.11.2120261121", &from, &until, &lt) == 0 && from.y == 2006 && from.d == 21 &&
          until.y == 2026 && until.m == 11 && until.d == 21 && lt == 0);
    CHECK(bn_validity_parse("2016.03.15\xE9\x95\xBF\xE6\x9C\x9F", &from, &until, &lt) == 0 && lt == 1);
    CHECK(bn_validity_parse("2016.03.1512", &from, &until, &lt) == -1, "no second date");
    CHECK(bn_validity_parse("2016.03.15 - long-term", &from, &until, &lt) == 0 && lt == 1);
    CHECK(bn_validity_parse("2016.03.15", &from, &until, &lt) == -1);
    CHECK(bn_validity_parse("2016.03.15-2036.13.15", &from, &until, &lt) == -1);
    CHECK(bn_validity_parse("garbage", &from, &until, &lt) == -1);
    CHECK(bn_validity_parse(NULL, &from, &until, &lt) == -1);
}

/* Numbers found inside a line read with neighbours' characters (bn_number_windows). */
static void test_windows(void)
{
    char w[19];
    CHECK(bn_number_windows("公民身份号码 11010519491231002X", 0, w) == 1 && !strcmp(w, "11010519491231002X"));
    CHECK(bn_number_windows("x11010519491231002x1", 0, w) == 1 && !strcmp(w, "11010519491231002X"), "%s", w);
    CHECK(bn_number_windows("1101051949123100", 0, w) == 0, "too short");
    CHECK(bn_number_windows("11010519491231002Y", 0, NULL) == 0, "bad check digit");
    CHECK(bn_number_windows("代码91350100M000100Y43(1/1)", 1, w) == 1 && !strcmp(w, "91350100M000100Y43"), "%s", w);
    CHECK(bn_number_windows(NULL, 1, w) == 0);
}

int main(void)
{
    test_windows();
    test_repair();
    test_icao();
    test_id();
    test_regions();
    test_uscc();
    test_permits();
    test_countries();
    test_dates();
    test_rules();
    return bn_test_end("test_ocr_validate");
}
