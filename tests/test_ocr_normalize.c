/* test_ocr_normalize — width, spaces, dots, brackets, case, traditional→simplified, similarity. */
#include "bn_test.h"
#include "core/bn_normalize.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static int norm_is(const char *in, bn_norm_kind_t kind, const char *want)
{
    char out[256];
    bn_norm(in, kind, out, sizeof out);
    if (strcmp(out, want) != 0) {
        fprintf(stderr, "norm(%s) = '%s', want '%s'\n", in, out, want);
        return 0;
    }
    return 1;
}

int main(void)
{
    /* width, spaces, case */
    CHECK(norm_is("ＡＢＣ１２３ abc", BN_NORM_TEXT, "ABC123ABC"));
    CHECK(norm_is("张\u3000三 ", BN_NORM_NAME, "张三"));
    CHECK(norm_is("\xC2\xA0张 三\t", BN_NORM_NAME, "张三"));
    /* middle dots */
    CHECK(norm_is("阿卜杜拉·买买提", BN_NORM_NAME, "阿卜杜拉买买提"));
    CHECK(norm_is("阿卜杜拉・买买提", BN_NORM_NAME, "阿卜杜拉买买提"));
    CHECK(norm_is("阿卜杜拉‧买买提", BN_NORM_NAME, "阿卜杜拉买买提"));
    CHECK(norm_is("阿卜杜拉•买买提", BN_NORM_NAME, "阿卜杜拉买买提"));
    /* brackets */
    CHECK(norm_is("某某科技有限公司（北京分公司）", BN_NORM_COMPANY, "某某科技有限公司(北京分公司)"));
    CHECK(norm_is("某某科技有限公司【北京分公司】", BN_NORM_COMPANY, "某某科技有限公司(北京分公司)"));
    CHECK(bn_norm_equal("某某（北京）科技有限公司", "某某(北京)科技有限公司", BN_NORM_COMPANY));
    CHECK(bn_norm_equal("某某〔北京〕科技有限公司", "某某[北京]科技有限公司", BN_NORM_COMPANY));
    /* traditional → simplified */
    CHECK(norm_is("陳大文", BN_NORM_NAME, "陈大文"));
    CHECK(norm_is("臺灣臺北市", BN_NORM_ADDRESS, "台湾台北市"));
    CHECK(norm_is("廣東省廣州市越秀區", BN_NORM_ADDRESS, "广东省广州市越秀区"));
    CHECK(bn_norm_equal("張偉", "张伟", BN_NORM_NAME));
    CHECK(bn_norm_equal("鍾麗華", "钟丽华", BN_NORM_NAME));
    CHECK(bn_norm_t2s(0x9673) == 0x9648);   /* 陳 → 陈 */
    CHECK(bn_norm_t2s(0x5F20) == 0x5F20);   /* 张 stays */
    CHECK(bn_norm_t2s('A') == 'A');
    /* names: MRZ fillers and punctuation do not count */
    CHECK(bn_norm_equal("ERIKSSON<<ANNA<MARIA", "Eriksson Anna-Maria", BN_NORM_NAME));
    CHECK(!bn_norm_equal("ERIKSSON ANNA", "ERIKSSON ANNE", BN_NORM_NAME));
    /* numbers */
    CHECK(norm_is("1101 0519-4912 3100 2x", BN_NORM_NUMBER, "11010519491231002X"));
    CHECK(norm_is("９１３５０１００Ｍ０００１００Ｙ４３", BN_NORM_NUMBER, "91350100M000100Y43"));
    /* address commas */
    CHECK(bn_norm_equal("北京市东城区，某某路1号", "北京市东城区某某路1号", BN_NORM_ADDRESS));
    /* Chinese numerals in addresses */
    CHECK(norm_is("某某村三组一百二十三号", BN_NORM_ADDRESS, "某某村3组123号"));
    CHECK(norm_is("十号楼二十单元一〇一室", BN_NORM_ADDRESS, "10号楼20单元101室"));
    CHECK(norm_is("一百零五号三千米", BN_NORM_ADDRESS, "105号3000米"));
    CHECK(bn_norm_equal("北京市朝阳区三里屯路十九号", "北京市朝阳区三里屯路19号", BN_NORM_ADDRESS));
    CHECK(!bn_norm_equal("某某路十九号", "某某路91号", BN_NORM_ADDRESS));
    CHECK(norm_is("三组", BN_NORM_NAME, "三组")); /* names keep their characters */
    /* a different character is a difference, whatever the normalisation */
    CHECK(!bn_norm_equal("南京市玄武区", "南京市文武区", BN_NORM_ADDRESS));

    /* similarity */
    CHECK(bn_norm_similarity("张三", "张三", BN_NORM_NAME) == 1.0);
    CHECK(bn_norm_similarity("", "", BN_NORM_NAME) == 1.0);
    CHECK(bn_norm_similarity("张三", "", BN_NORM_NAME) == 0.0);
    CHECK(bn_norm_similarity(NULL, "张三", BN_NORM_NAME) == 0.0);
    double s = bn_norm_similarity("南京市玄武区中山路1号", "南京市文武区中山路1号", BN_NORM_ADDRESS);
    CHECK(fabs(s - (1.0 - 1.0 / 11)) < 1e-9);
    CHECK(fabs(bn_norm_similarity("kitten", "sitting", BN_NORM_TEXT) - (1.0 - 3.0 / 7)) < 1e-9);
    CHECK(bn_norm_similarity("abc", "xyz", BN_NORM_TEXT) == 0.0);
    CHECK(bn_norm_similarity("陳大文", "陈大文", BN_NORM_NAME) == 1.0);

    /* hostile input: invalid UTF-8, overlong forms, surrogates, NUL-free long strings */
    CHECK(norm_is("\xFF\xFE张\xC0\xAF三\xED\xA0\x80", BN_NORM_NAME, "张三"));
    CHECK(norm_is("\xE5\xBC", BN_NORM_NAME, ""));
    char out[8];
    CHECK(bn_norm("张三李四王五", BN_NORM_NAME, out, sizeof out) == -1 && strcmp(out, "张三") == 0);
    CHECK(bn_norm(NULL, BN_NORM_NAME, out, sizeof out) == 0 && out[0] == '\0');
    size_t big = 1 << 20;
    char *huge = malloc(big + 1);
    memset(huge, 'A', big);
    huge[big] = '\0';
    char *d = bn_norm_dup(huge, BN_NORM_TEXT);
    CHECK(d && strlen(d) == BN_NORM_MAX_CP);
    CHECK(bn_norm_similarity(huge, huge, BN_NORM_TEXT) == 1.0);
    free(d);
    free(huge);

    return bn_test_end("test_ocr_normalize");
}
