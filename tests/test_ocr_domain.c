/* test_ocr_domain — domain certificates (issue 12): domain normalisation, punycode, the data
 * tables of data/ (TLDs, registrars, province rules), every check bn_checks runs on a
 * certificate with its severity, and fields by labels (bn_kie) on hand-written line lists in the
 * registrars' styles: Chinese, bilingual, English-only, a domain printed without its label. All
 * names and domains are synthetic. */
#include "bn_test.h"
#include "core/bn_config.h"
#include "ocr/bn_checks.h"
#include "ocr/bn_domain.h"
#include "ocr/bn_kie.h"
#include "ocr/bn_ocr_norm.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

static const char *TODAY = "2026-11-28";

static const char *norm(const char *in)
{
    static char out[BN_DOMAIN_MAX];
    return bn_domain_norm(in, out, sizeof out);
}

static const char *canon(const char *in)
{
    static char out[BN_DOMAIN_MAX];
    return bn_domain_canonical(in, out, sizeof out);
}

static void test_norm(void)
{
    CHECK(!strcmp(norm("Example.COM"), "example.com"), "%s", norm("Example.COM"));
    CHECK(!strcmp(norm("ｅｘａｍｐｌｅ．ｃｎ"), "example.cn"), "%s", norm("ｅｘａｍｐｌｅ．ｃｎ"));
    CHECK(!strcmp(norm("shili-tech 。 com"), "shili-tech.com"), "%s", norm("shili-tech 。 com"));
    CHECK(!strcmp(norm("：http://www.Example.net/index.html"), "www.example.net"), "%s",
          norm("：http://www.Example.net/index.html"));
    CHECK(!strcmp(norm("example.com."), "example.com"));
    CHECK(!strcmp(norm("例子.中国"), "例子.中国"));
    CHECK(bn_domain_plausible("example.com") && bn_domain_plausible("例子.中国") && bn_domain_plausible("a-b.com.cn"));
    CHECK(!bn_domain_plausible("注册证书") && !bn_domain_plausible("example") && !bn_domain_plausible("a..com"));
    CHECK(!bn_domain_plausible("") && !bn_domain_plausible(".com") && !bn_domain_plausible("a b.com"));

    char out[64];
    CHECK(bn_punycode_decode("fiqs8s", out, sizeof out) == 0 && !strcmp(out, "中国"), "%s", out);
    CHECK(bn_punycode_decode("fsqu00a", out, sizeof out) == 0 && !strcmp(out, "例子"), "%s", out);
    CHECK(bn_punycode_decode("zz!", out, sizeof out) == -1);
    CHECK(bn_punycode_decode("99999999999", out, sizeof out) == -1); /* overflow, not a crash */
    CHECK(!strcmp(canon("XN--FSQU00A.xn--fiqs8s"), "例子.中国"), "%s", canon("XN--FSQU00A.xn--fiqs8s"));
    CHECK(!strcmp(canon("xn--fsqu00a.xn--zz!"), ""));
    CHECK(bn_domain_tld("Shop.Example.COM.CN", out, sizeof out) && !strcmp(out, "cn"));
}

static void test_tables(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/data", BEIAN_SOURCE_DIR);
    CHECK(bn_domain_load_dir(path) > 100);
    CHECK(bn_domain_tld_filable("example.com") == 1 && bn_domain_tld_filable("example.com.cn") == 1);
    CHECK(bn_domain_tld_filable("例子.中国") == 1 && bn_domain_tld_filable("xn--fsqu00a.xn--fiqs8s") == 1);
    CHECK(bn_domain_tld_filable("example.io") == 0 && bn_domain_tld_filable("example.org") == 0 &&
          bn_domain_tld_filable("example.me") == 0 && bn_domain_tld_filable("example") == 0);
    CHECK(bn_registrar_mainland("阿里云计算有限公司") == 1);
    CHECK(bn_registrar_mainland("Alibaba Cloud Computing Ltd. d/b/a HiChina (www.net.cn)") == 1);
    CHECK(bn_registrar_mainland("Alibaba.com Singapore E-Commerce Private Limited") == 0);
    CHECK(bn_registrar_mainland("腾讯云计算（北京）有限责任公司") == 1 && bn_registrar_mainland("DNSPod, Inc.") == 1);
    CHECK(bn_registrar_mainland("GoDaddy.com, LLC") == 0 && bn_registrar_mainland("NAMECHEAP, INC") == 0);
    CHECK(bn_registrar_mainland("Name.com, Inc.") == 0);
    CHECK(bn_registrar_mainland("Example Registrar Ltd") == -1 && bn_registrar_mainland("") == -1);
    char code[3];
    CHECK(bn_province_requires_mainland("11", code) == 1 && !strcmp(code, "11"));
    CHECK(bn_province_requires_mainland("110000", code) == 1 && !strcmp(code, "11"));
    CHECK(bn_province_requires_mainland("北京", code) == 1 && bn_province_requires_mainland("北京市", code) == 1);
    CHECK(bn_province_requires_mainland("内蒙古自治区", code) == 1 && !strcmp(code, "15"));
    CHECK(bn_province_requires_mainland("广西壮族自治区", code) == 1 && !strcmp(code, "45"));
    CHECK(bn_province_requires_mainland("北京海淀", code) == -1 && bn_province_requires_mainland("99", code) == -1);
    CHECK(bn_province_requires_mainland("Beijing", code) == -1 && !code[0]);

    /* a missing table: the checks say unknown, nothing is flagged on it */
    CHECK(bn_domain_load_dir("/nonexistent") == -1);
    CHECK(bn_domain_tld_filable("example.io") == -1 && bn_registrar_mainland("GoDaddy") == -1);
    CHECK(bn_domain_load_dir(path) > 100);
}

/* ---- checks ------------------------------------------------------------------------------ */

typedef struct {
    json_t *checks, *flags;
} result_t;

static json_t *cert(const char *domain, const char *holder, const char *registrar, const char *expires, double conf)
{
    json_t *o = json_object();
    const char *kv[][2] = {{"domain", domain}, {"holder", holder}, {"registrar", registrar},
                           {"registered_on", "2020-03-01"}, {"expires_on", expires}};
    for (int i = 0; i < 5; i++)
        if (kv[i][1])
            json_object_set_new(o, kv[i][0], json_pack("{s:s, s:f}", "value", kv[i][1], "confidence", conf));
    return o;
}

static result_t run(const bn_config_t *cfg, const char *profile, json_t *f, json_t *form)
{
    result_t r = {json_object(), json_array()};
    json_t *opt = profile ? json_pack("{s:s}", "profile", profile) : NULL;
    CHECK(bn_checks_run_opts(cfg, opt, "domain-certificate", "front", f, form, TODAY, r.checks, r.flags) == 0);
    json_decref(opt);
    json_decref(f);
    json_decref(form);
    return r;
}

static json_t *find(const result_t *r, const char *code)
{
    size_t i;
    json_t *f;
    json_array_foreach(r->flags, i, f)
        if (!strcmp(json_string_value(json_object_get(f, "code")), code))
            return f;
    return NULL;
}

static const char *sev(const result_t *r, const char *code)
{
    json_t *f = find(r, code);
    return f ? json_string_value(json_object_get(f, "severity")) : "none";
}

static void done(result_t *r, const char *what, int nflags)
{
    if ((int)json_array_size(r->flags) != nflags) {
        char *s = json_dumps(r->flags, JSON_COMPACT);
        bn_test_fail(__FILE__, __LINE__, what, "%d flags, want %d: %s", (int)json_array_size(r->flags), nflags, s);
        free(s);
    }
    json_decref(r->checks);
    json_decref(r->flags);
}

static void test_checks(void)
{
    const char *ali = "阿里云计算有限公司";
    /* a good certificate, form agrees (case, a full-width dot), Beijing: nothing */
    result_t r = run(NULL, NULL, cert("shili-tech.com", "北京示例科技有限公司", ali, "2028-05-01", 0.99),
                     json_pack("{s:s, s:s}", "domain", "Shili-Tech．COM", "province", "北京市"));
    json_t *d = json_object_get(r.checks, "domain");
    CHECK(json_integer_value(json_object_get(d, "days_left")) == 520, "days_left");
    CHECK(json_is_true(json_object_get(d, "tld_filable")) && json_is_true(json_object_get(d, "registrar_mainland")));
    CHECK(!strcmp(json_string_value(json_object_get(d, "province")), "11"));
    CHECK(json_is_true(json_object_get(json_object_get(json_object_get(r.checks, "form"), "domain"), "match")));
    done(&r, "good certificate", 0);

    /* expired, with the days as metric */
    r = run(NULL, NULL, cert("shili-tech.com", "北京示例科技有限公司", ali, "2026-11-01", 0.99), NULL);
    CHECK(!strcmp(sev(&r, "domain_expired"), "reject"));
    CHECK(json_number_value(json_object_get(find(&r, "domain_expired"), "metric")) == -27);
    CHECK(!strcmp(json_string_value(json_object_get(find(&r, "domain_expired"), "field")), "expires_on"));
    done(&r, "expired", 1);
    /* read with low confidence: a person decides */
    r = run(NULL, NULL, cert("shili-tech.com", "北京示例科技有限公司", ali, "2026-11-01", 0.6), NULL);
    CHECK(!strcmp(sev(&r, "domain_expired"), "review"));
    done(&r, "expired, low confidence", 1);

    /* expiring: 89 days left < 90 (the default profile); the last day still counts as valid */
    r = run(NULL, NULL, cert("shili-tech.com", "北京示例科技有限公司", ali, "2027-02-25", 0.99), NULL);
    CHECK(!strcmp(sev(&r, "domain_expires_soon"), "reject"));
    CHECK(json_number_value(json_object_get(find(&r, "domain_expires_soon"), "threshold")) == 90);
    done(&r, "expires soon", 1);
    r = run(NULL, NULL, cert("shili-tech.com", "北京示例科技有限公司", ali, "2027-02-26", 0.99), NULL);
    done(&r, "90 days left", 0);
    r = run(NULL, NULL, cert("shili-tech.com", "北京示例科技有限公司", ali, "2026-11-28", 0.99), NULL);
    CHECK(find(&r, "domain_expires_soon") != NULL);
    done(&r, "expires today", 1);

    /* the threshold is the provider profile's: profiles.<name>.domain_min_days */
    json_t *root = json_pack("{s:{s:{s:i}, s:{s:i}}}", "profiles", "tencent", "domain_min_days", 180, "default",
                             "domain_min_days", 30);
    bn_config_t *cfg = bn_config_from_json(root);
    json_decref(root);
    r = run(cfg, "tencent", cert("shili-tech.com", "某某", ali, "2027-04-01", 0.99), NULL);
    CHECK(json_number_value(json_object_get(find(&r, "domain_expires_soon"), "threshold")) == 180);
    done(&r, "tencent profile 180 days", 1);
    r = run(cfg, "aliyun", cert("shili-tech.com", "某某", ali, "2027-01-10", 0.99), NULL);
    done(&r, "aliyun falls back to the configured default (30)", 0);
    r = run(cfg, NULL, cert("shili-tech.com", "某某", ali, "2026-12-20", 0.99), NULL);
    CHECK(find(&r, "domain_expires_soon") != NULL);
    done(&r, "default 30 days", 1);
    bn_config_destroy(&cfg);

    /* an unreadable date is field_unreadable, not a pass */
    r = run(NULL, NULL, cert("shili-tech.com", "某某", ali, "2027-13-45", 0.99), NULL);
    CHECK(find(&r, "field_unreadable") != NULL);
    done(&r, "bad date", 1);
    r = run(NULL, NULL, cert("shili-tech.com", NULL, ali, NULL, 0.99), NULL);
    json_t *uf = json_object_get(find(&r, "field_unreadable"), "fields");
    CHECK(json_array_size(uf) == 2, "holder and expires_on required");
    done(&r, "missing fields", 1);

    /* TLD */
    r = run(NULL, NULL, cert("shili.io", "某某", ali, "2028-01-01", 0.99), NULL);
    CHECK(!strcmp(sev(&r, "tld_not_filable"), "reject"));
    CHECK(!strcmp(json_string_value(json_object_get(find(&r, "tld_not_filable"), "field")), "domain"));
    done(&r, ".io", 1);
    r = run(NULL, NULL, cert("例子.中国", "某某", ali, "2028-01-01", 0.99), NULL);
    done(&r, ".中国", 0);

    /* registrar: a foreign one where the province requires a Mainland one (a code or a name) */
    r = run(NULL, NULL, cert("shili-tech.com", "某某", "GoDaddy.com, LLC", "2028-01-01", 0.99),
            json_pack("{s:s}", "province", "11"));
    CHECK(!strcmp(sev(&r, "registrar_not_mainland"), "reject"));
    CHECK(json_is_false(json_object_get(json_object_get(r.checks, "domain"), "registrar_mainland")));
    done(&r, "GoDaddy, Beijing", 1);
    r = run(NULL, NULL, cert("shili-tech.com", "某某", "Unheard Of Registrar Ltd", "2028-01-01", 0.99),
            json_pack("{s:s}", "province", "湖南省"));
    CHECK(!strcmp(sev(&r, "registrar_not_mainland"), "review"));
    done(&r, "unknown registrar", 1);
    r = run(NULL, NULL, cert("shili-tech.com", "某某", "GoDaddy.com, LLC", "2028-01-01", 0.99), NULL);
    done(&r, "no province: the registrar rule is not judged", 0);
    r = run(NULL, NULL, cert("shili-tech.com", "某某", "GoDaddy.com, LLC", "2028-01-01", 0.99),
            json_pack("{s:s}", "province", "Atlantis"));
    CHECK(json_is_null(json_object_get(json_object_get(r.checks, "domain"), "province")));
    done(&r, "unknown province", 0);
    r = run(NULL, NULL, cert("shili-tech.com", "某某", NULL, "2028-01-01", 0.99), json_pack("{s:s}", "province", "11"));
    CHECK(json_is_null(json_object_get(json_object_get(r.checks, "domain"), "registrar_mainland")));
    done(&r, "no registrar printed: not judged", 0);

    /* the form's domain */
    r = run(NULL, NULL, cert("shili-tech.com", "某某", ali, "2028-01-01", 0.99), json_pack("{s:s}", "domain", "shili.com"));
    CHECK(!strcmp(sev(&r, "form_mismatch_domain"), "reject"));
    done(&r, "form domain differs", 1);
    r = run(NULL, NULL, cert("例子.中国", "某某", ali, "2028-01-01", 0.99),
            json_pack("{s:s}", "domain", "xn--fsqu00a.xn--fiqs8s"));
    done(&r, "IDN in punycode on the form, Chinese on the certificate", 0);

    /* hostile values: never a crash, never a pass on garbage */
    char huge[5000];
    memset(huge, 'a', sizeof huge - 1);
    huge[sizeof huge - 1] = 0;
    r = run(NULL, "../../x", cert(huge, huge, huge, huge, 0.99), json_pack("{s:s, s:s}", "domain", huge, "province", huge));
    CHECK(find(&r, "field_unreadable") != NULL);
    json_decref(r.checks), json_decref(r.flags);
}

/* ---- fields by labels --------------------------------------------------------------------- */

static bn_line_t L(float x, float y, float w, float h, const char *text, double conf)
{
    bn_line_t l;
    memset(&l, 0, sizeof l);
    l.x = x, l.y = y, l.w = w, l.h = h, l.conf = conf;
    snprintf(l.text, sizeof l.text, "%s", text);
    float q[8] = {x, y, x + w, y, x + w, y + h, x, y + h};
    memcpy(l.q, q, sizeof q);
    return l;
}

static const char *val(const bn_kie_t *k, const char *key)
{
    const bn_kie_field_t *f = bn_kie_get(k, key);
    return f ? f->value : "";
}

static const char *nval(const bn_kie_t *k, const char *key)
{
    static char out[BN_KIE_VALUE_MAX];
    return bn_norm_field("domain-certificate", key, val(k, key), out, sizeof out);
}

static void kie(bn_line_t *v, int n, bn_kie_t *k)
{
    bn_lines_t ls = {.v = v, .n = n, .width = 1400, .height = 2000, .line_h = 40};
    CHECK(bn_kie_extract("domain-certificate", "front", &ls, k) == 0);
}

static void test_kie(void)
{
    bn_kie_t k;
    /* Chinese, 阿里云 style: title, inline labels with full-width colons, a seal over nothing */
    bn_line_t zh[] = {
        L(420, 120, 560, 70, "域名注册证书", 0.99),
        L(300, 260, 800, 36, "兹证明以下域名已在本公司注册", 0.98),
        L(200, 420, 400, 44, "域名：shili-tech.com", 0.98),
        L(200, 520, 620, 44, "域名持有者：北京示例科技有限公司", 0.97),
        L(200, 620, 560, 44, "注册商：阿里云计算有限公司", 0.98),
        L(200, 720, 420, 44, "注册日期：2021年03月15日", 0.99),
        L(200, 820, 420, 44, "到期日期：2027年03月15日", 0.99),
        L(200, 920, 520, 44, "证书编号：ZC2021031500123", 0.96),
    };
    kie(zh, 8, &k);
    CHECK(!strcmp(nval(&k, "domain"), "shili-tech.com"), "domain '%s'", val(&k, "domain"));
    CHECK(!strcmp(nval(&k, "holder"), "北京示例科技有限公司"), "holder '%s'", val(&k, "holder"));
    CHECK(!bn_kie_get(&k, "holder_en"));
    CHECK(!strcmp(nval(&k, "registrar"), "阿里云计算有限公司"), "registrar '%s'", val(&k, "registrar"));
    CHECK(!strcmp(nval(&k, "registered_on"), "2021-03-15"), "registered '%s'", val(&k, "registered_on"));
    CHECK(!strcmp(nval(&k, "expires_on"), "2027-03-15"), "expires '%s'", val(&k, "expires_on"));
    CHECK(!strcmp(nval(&k, "certificate_no"), "ZC2021031500123"), "no '%s'", val(&k, "certificate_no"));

    /* bilingual, 新网 style: label column "中文/English", values apart, the English holder on
     * the line under the Chinese one, an address label below that stops it */
    bn_line_t bi[] = {
        L(380, 100, 640, 60, "国际域名注册证书", 0.99),
        L(330, 180, 740, 34, "Certification of Global Top Level Domain Name", 0.95),
        L(150, 400, 330, 40, "域名/Domain Name", 0.97),
        L(620, 400, 360, 40, "SHILI-TECH.NET", 0.98),
        L(150, 500, 330, 40, "注册所有人/Registrant", 0.97),
        L(620, 500, 420, 40, "北京示例科技有限公司", 0.97),
        L(620, 556, 280, 36, "Beijing Shili", 0.95),
        L(912, 556, 360, 36, "Technology Co., Ltd.", 0.95),
        L(150, 640, 330, 40, "注册时间/Registration Date", 0.97),
        L(620, 640, 260, 40, "2019-08-14", 0.99),
        L(150, 740, 330, 40, "到期时间/Expiration Date", 0.97),
        L(620, 740, 260, 40, "2027-08-14", 0.99),
        L(150, 840, 330, 40, "通信地址/Address", 0.97),
        L(620, 840, 500, 40, "北京市海淀区示例路1号", 0.97),
    };
    kie(bi, 14, &k);
    CHECK(!strcmp(nval(&k, "domain"), "shili-tech.net"), "domain '%s'", val(&k, "domain"));
    CHECK(!strcmp(nval(&k, "holder"), "北京示例科技有限公司"), "holder '%s'", val(&k, "holder"));
    CHECK(!strcmp(nval(&k, "holder_en"), "Beijing Shili Technology Co., Ltd."), "holder_en '%s'", val(&k, "holder_en"));
    CHECK(!strcmp(nval(&k, "registered_on"), "2019-08-14"), "registered '%s'", val(&k, "registered_on"));
    CHECK(!strcmp(nval(&k, "expires_on"), "2027-08-14"), "expires '%s'", val(&k, "expires_on"));
    CHECK(!bn_kie_get(&k, "registrar") && !bn_kie_get(&k, "certificate_no"));

    /* bilingual inline: 持有者 Holder: 张三 Zhang San, and both halves of a label in one line */
    bn_line_t bi2[] = {
        L(200, 400, 700, 40, "域名 Domain Name：例子.中国", 0.97),
        L(200, 480, 700, 40, "持有者 Holder：张三 Zhang San", 0.97),
        L(200, 560, 800, 40, "注册商 Registrar：腾讯云计算（北京）有限责任公司", 0.97),
        L(200, 640, 700, 40, "到期时间 Expiration Date：2028-01-02", 0.97),
    };
    kie(bi2, 4, &k);
    CHECK(!strcmp(nval(&k, "domain"), "例子.中国"), "domain '%s'", val(&k, "domain"));
    CHECK(!strcmp(nval(&k, "holder"), "张三"), "holder '%s'", val(&k, "holder"));
    CHECK(!strcmp(nval(&k, "holder_en"), "Zhang San"), "holder_en '%s'", val(&k, "holder_en"));
    CHECK(!strcmp(nval(&k, "registrar"), "腾讯云计算（北京）有限责任公司"), "registrar '%s'", nval(&k, "registrar"));
    CHECK(!strcmp(nval(&k, "expires_on"), "2028-01-02"), "expires '%s'", val(&k, "expires_on"));

    /* English only, a foreign registrar: labels in any case, spaces kept in the names, a
     * sentence naming "the domain name" is no label */
    bn_line_t en[] = {
        L(400, 100, 600, 60, "Domain Registration Certificate", 0.98),
        L(200, 220, 1000, 34, "This certifies that the domain name below is registered with us", 0.95),
        L(200, 400, 300, 40, "DOMAIN NAME:", 0.97),
        L(560, 400, 300, 40, "shili-cloud.xyz", 0.98),
        L(200, 480, 300, 40, "Registrant:", 0.97),
        L(560, 480, 560, 40, "Shili Cloud Services Ltd.", 0.96),
        L(200, 560, 300, 40, "Registrar:", 0.97),
        L(560, 560, 400, 40, "GoDaddy.com, LLC", 0.97),
        L(200, 640, 300, 40, "Creation Date:", 0.97),
        L(560, 640, 260, 40, "2022-06-30", 0.99),
        L(200, 720, 300, 40, "Expiry Date:", 0.97),
        L(560, 720, 260, 40, "2026-06-30", 0.99),
    };
    kie(en, 12, &k);
    /* (the value column far right of the labels, as in a landscape certificate) */
    for (int i = 0; i < 12; i++)
        if (en[i].x > 500)
            en[i].x += 400;
    CHECK(!strcmp(nval(&k, "domain"), "shili-cloud.xyz"), "domain '%s'", val(&k, "domain"));
    CHECK(!strcmp(nval(&k, "holder"), "Shili Cloud Services Ltd."), "holder '%s'", val(&k, "holder"));
    CHECK(!bn_kie_get(&k, "holder_en"));
    CHECK(!strcmp(nval(&k, "registrar"), "GoDaddy.com, LLC"), "registrar '%s'", val(&k, "registrar"));
    CHECK(!strcmp(nval(&k, "registered_on"), "2022-06-30") && !strcmp(nval(&k, "expires_on"), "2026-06-30"));
    kie(en, 12, &k);
    CHECK(!strcmp(nval(&k, "holder"), "Shili Cloud Services Ltd."), "far column: holder '%s'", val(&k, "holder"));
    CHECK(!strcmp(nval(&k, "expires_on"), "2026-06-30"), "far column: expires '%s'", val(&k, "expires_on"));

    /* the domain printed large without its label (DNSPod style), a small footer URL */
    bn_line_t big[] = {
        L(450, 100, 500, 60, "域名证书", 0.99),
        L(380, 300, 640, 90, "shili-data.cn", 0.98),
        L(200, 500, 620, 44, "域名所有者：上海示例数据有限公司", 0.97),
        L(200, 600, 420, 44, "到期时间：2029-12-31", 0.99),
        L(500, 1900, 300, 24, "www.dnspod.cn", 0.9),
    };
    kie(big, 5, &k);
    CHECK(!strcmp(nval(&k, "domain"), "shili-data.cn"), "domain '%s'", val(&k, "domain"));
    CHECK(!strcmp(nval(&k, "holder"), "上海示例数据有限公司"), "holder '%s'", val(&k, "holder"));

    /* English company names: the space after a comma or an abbreviation's period and the final
     * period the recogniser drops are put back; a dotted domain inside is left alone */
    char out[256];
    CHECK(!strcmp(bn_norm_field("domain-certificate", "holder", "Xiamen Huitong Technology Co.,Ltd", out, sizeof out),
                  "Xiamen Huitong Technology Co., Ltd."), "'%s'", out);
    CHECK(!strcmp(bn_norm_field("domain-certificate", "registrar", "Alibaba Cloud Computing Ltd.d/b/a HiChina", out,
                                sizeof out), "Alibaba Cloud Computing Ltd. d/b/a HiChina"), "'%s'", out);
    CHECK(!strcmp(bn_norm_field("domain-certificate", "registrar", "GoDaddy.com,LLC", out, sizeof out),
                  "GoDaddy.com, LLC"), "'%s'", out);
    CHECK(!strcmp(bn_norm_field("domain-certificate", "holder", " Zhang  San ", out, sizeof out), "Zhang San"));
    CHECK(!strcmp(bn_norm_field("domain-certificate", "holder_en", "ShenzhenQimingE-CommerceCo.,Ltd", out, sizeof out),
                  "Shenzhen Qiming E-Commerce Co., Ltd."), "'%s'", out);
    CHECK(!strcmp(bn_norm_field("domain-certificate", "holder_en", "Guangzhou Huitong NetworkTechnology Co.,Ltd.", out,
                                sizeof out), "Guangzhou Huitong Network Technology Co., Ltd."), "'%s'", out);
    CHECK(!strcmp(bn_norm_field("domain-certificate", "registrar", "GoDaddy.com, LLC", out, sizeof out),
                  "GoDaddy.com, LLC"), "a registrar's brand is not split: '%s'", out);
    CHECK(!strcmp(bn_norm_field("domain-certificate", "registrar", "XinnetTechnologyCorporation", out, sizeof out),
                  "Xinnet Technology Corporation"), "'%s'", out);
    CHECK(!strcmp(bn_norm_field("domain-certificate", "registrar", "Alibaba Cloud ComputingLtd", out, sizeof out),
                  "Alibaba Cloud Computing Ltd."), "'%s'", out);
    CHECK(!strcmp(bn_norm_field("domain-certificate", "registrar", "GandiSAS", out, sizeof out), "Gandi SAS"), "'%s'", out);
    CHECK(!strcmp(bn_norm_field("domain-certificate", "expires_on", "长期", out, sizeof out), ""));
    CHECK(!strcmp(bn_norm_field("domain-certificate", "expires_on", "15 Mar 2027", out, sizeof out), "2027-03-15"),
          "'%s'", out);
    CHECK(!strcmp(bn_norm_field("domain-certificate", "expires_on", "11 0ct 2026", out, sizeof out), "2026-10-11"),
          "'%s'", out);
    CHECK(!strcmp(bn_norm_field("domain-certificate", "registered_on", "2020-10-05", out, sizeof out), "2020-10-05"));

    /* a company whose Chinese name holds Latin letters is not split */
    bn_line_t lat[] = {L(200, 500, 620, 44, "域名持有者：北京ABC科技有限公司", 0.97)};
    kie(lat, 1, &k);
    CHECK(!strcmp(nval(&k, "holder"), "北京ABC科技有限公司") && !bn_kie_get(&k, "holder_en"), "'%s'", val(&k, "holder"));
}

int main(void)
{
    test_norm();
    test_tables();
    test_checks();
    test_kie();
    return bn_test_end("test_ocr_domain");
}
