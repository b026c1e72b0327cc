"""Random but VALID field values for the synthetic specimens.

Everything draws from the random.Random passed in, never from global state or the clock, so the
same seed gives the same people. Check-digit rules: /work/shared/notes/documents.md (GB 11643,
GB 32100 + GB 11714, ICAO 9303, the CR/CT permit MRZ layout).
"""
import datetime as dt

D = dt.date

# ---- check digits ----------------------------------------------------------------------------

def icao_cd(s):
    """ICAO 9303 check digit: weights 7,3,1; 0-9, A-Z -> 10-35, '<' -> 0."""
    t = 0
    for i, c in enumerate(s):
        v = int(c) if c.isdigit() else (0 if c == '<' else ord(c) - 55)
        t += v * (7, 3, 1)[i % 3]
    return str(t % 10)


ID_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_check(s17):
    """GB 11643 (ISO 7064 MOD 11-2) check character."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(s17, ID_W)) % 11]


USCC_ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc_check(s17):
    t = sum(USCC_ALPHA.index(c) * w for c, w in zip(s17, USCC_W))
    return USCC_ALPHA[(31 - t % 31) % 31]


def org_check(s8):
    """GB 11714-1997 organisation-code check (USCC chars 9-16 -> char 17)."""
    t = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(s8, [3, 7, 9, 10, 5, 8, 4, 2]))
    c = 11 - t % 11
    return 'X' if c == 10 else ('0' if c == 11 else str(c))


def hkid_check(s):
    """HKID check char for 'A123456' or 'AB123456' (space counts 36 when one letter)."""
    letters = s[:-6]
    vals = ([36] if len(letters) == 1 else []) + [ord(c) - 55 for c in letters] + [int(c) for c in s[-6:]]
    t = sum(v * w for v, w in zip(vals, range(9, 1, -1)))
    c = (11 - t % 11) % 11
    return 'A' if c == 10 else str(c)


TW_LETTER = dict(zip("ABCDEFGHJKLMNPQRSTUVXYWZIO", range(10, 36)))


def twid(rng, male):
    """Taiwan national ID: letter + 1/2 (sex) + 7 digits + check (weights 1,9,8,...,1)."""
    letter = rng.choice("ABCDEFGHJKLMNPQRTUVWXYZ")
    body = ('1' if male else '2') + ''.join(rng.choice("0123456789") for _ in range(7))
    n = TW_LETTER[letter]
    t = n // 10 + (n % 10) * 9 + sum(int(c) * w for c, w in zip(body, [8, 7, 6, 5, 4, 3, 2, 1]))
    return letter + body + str((10 - t % 10) % 10)


# ---- dates -----------------------------------------------------------------------------------

def add_years(d, n):
    try:
        return d.replace(year=d.year + n)
    except ValueError:          # 29 Feb -> 28 Feb
        return d.replace(year=d.year + n, day=28)


def age_at(birth, when):
    return when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day))


def id_span(age):
    """Resident ID validity by age at issue; None = 长期."""
    return 5 if age < 16 else 10 if age < 26 else 20 if age < 46 else None


def rand_date(rng, lo, hi, maxday=31):
    """Uniform date in [lo, hi]; maxday <= 28 avoids month ends (validity anniversaries)."""
    while True:
        d = lo + dt.timedelta(days=rng.randint(0, (hi - lo).days))
        if d.day <= maxday:
            return d


def iso(d):
    return d.isoformat() if isinstance(d, D) else d


# ---- names -----------------------------------------------------------------------------------

SURNAMES = dict(x.split(':') for x in (
    "王:WANG 李:LI 张:ZHANG 刘:LIU 陈:CHEN 杨:YANG 黄:HUANG 赵:ZHAO 吴:WU 周:ZHOU 徐:XU 孙:SUN 马:MA "
    "朱:ZHU 胡:HU 郭:GUO 何:HE 高:GAO 林:LIN 罗:LUO 郑:ZHENG 梁:LIANG 谢:XIE 宋:SONG 唐:TANG 许:XU "
    "韩:HAN 冯:FENG 邓:DENG 曹:CAO 彭:PENG 曾:ZENG 肖:XIAO 田:TIAN 董:DONG 袁:YUAN 潘:PAN 于:YU 蒋:JIANG "
    "蔡:CAI 余:YU 杜:DU 叶:YE 程:CHENG 苏:SU 魏:WEI 吕:LYU 丁:DING 任:REN 沈:SHEN 姚:YAO 卢:LU 姜:JIANG "
    "崔:CUI 钟:ZHONG 谭:TAN 陆:LU 汪:WANG 范:FAN 金:JIN 石:SHI 廖:LIAO 贾:JIA 夏:XIA 韦:WEI 方:FANG "
    "白:BAI 邹:ZOU 孟:MENG 熊:XIONG 秦:QIN 邱:QIU 江:JIANG 尹:YIN 薛:XUE 段:DUAN 雷:LEI 侯:HOU 龙:LONG "
    "史:SHI 陶:TAO 黎:LI 贺:HE 顾:GU 毛:MAO 郝:HAO 龚:GONG 邵:SHAO 万:WAN 钱:QIAN 严:YAN 武:WU 戴:DAI "
    "莫:MO 孔:KONG 向:XIANG 汤:TANG").split())
COMPOUND = dict(x.split(':') for x in (
    "欧阳:OUYANG 司马:SIMA 上官:SHANGGUAN 诸葛:ZHUGE 东方:DONGFANG 皇甫:HUANGFU 尉迟:YUCHI "
    "公孙:GONGSUN 慕容:MURONG 令狐:LINGHU").split())
GIVEN = dict(x.split(':') for x in (
    "伟:WEI 芳:FANG 娜:NA 敏:MIN 静:JING 丽:LI 强:QIANG 磊:LEI 军:JUN 洋:YANG 勇:YONG 艳:YAN 杰:JIE "
    "娟:JUAN 涛:TAO 明:MING 超:CHAO 秀:XIU 霞:XIA 平:PING 刚:GANG 桂:GUI 英:YING 华:HUA 文:WEN 辉:HUI "
    "玲:LING 建:JIAN 国:GUO 红:HONG 志:ZHI 鹏:PENG 宇:YU 浩:HAO 晨:CHEN 欣:XIN 怡:YI 梓:ZI 涵:HAN "
    "子:ZI 轩:XUAN 博:BO 雨:YU 思:SI 嘉:JIA 佳:JIA 俊:JUN 琳:LIN 颖:YING 婷:TING 雪:XUE 慧:HUI 晓:XIAO "
    "东:DONG 海:HAI 峰:FENG 斌:BIN 波:BO 宁:NING 凯:KAI 鑫:XIN 航:HANG 睿:RUI 诗:SHI 梦:MENG 一:YI "
    "天:TIAN 家:JIA 振:ZHEN 昊:HAO 泽:ZE 晴:QING 倩:QIAN 琪:QI 悦:YUE 瑶:YAO 帆:FAN 毅:YI 立:LI "
    "成:CHENG 新:XIN 春:CHUN 德:DE 荣:RONG 安:AN 亮:LIANG 燕:YAN 萍:PING 彬:BIN").split())

ETHNIC = ("汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 "
          "东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 "
          "俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺").split()
assert len(ETHNIC) == 56


def person_name(rng):
    if rng.random() < 0.08:
        sur = rng.choice(sorted(COMPOUND))
        sur_py = COMPOUND[sur]
    else:
        sur = rng.choice(sorted(SURNAMES))
        sur_py = SURNAMES[sur]
    keys = sorted(GIVEN)
    n = 1 if rng.random() < 0.35 else 2
    giv = ''.join(rng.choice(keys) for _ in range(n))
    giv_py = ''.join(GIVEN[c] for c in giv)
    return sur, giv, sur_py, giv_py


# ---- regions (current GB/T 2260 county-level codes) -----------------------------------------
# code, province, city ('' for municipalities), district, province pinyin
REGIONS = [r.split(',') for r in """\
110101,北京市,,东城区,BEIJING
110102,北京市,,西城区,BEIJING
110105,北京市,,朝阳区,BEIJING
110106,北京市,,丰台区,BEIJING
110108,北京市,,海淀区,BEIJING
120101,天津市,,和平区,TIANJIN
120104,天津市,,南开区,TIANJIN
310101,上海市,,黄浦区,SHANGHAI
310104,上海市,,徐汇区,SHANGHAI
310115,上海市,,浦东新区,SHANGHAI
500103,重庆市,,渝中区,CHONGQING
130102,河北省,石家庄市,长安区,HEBEI
140105,山西省,太原市,小店区,SHANXI
150102,内蒙古自治区,呼和浩特市,新城区,NEI MONGOL
210102,辽宁省,沈阳市,和平区,LIAONING
220102,吉林省,长春市,南关区,JILIN
230102,黑龙江省,哈尔滨市,道里区,HEILONGJIANG
320102,江苏省,南京市,玄武区,JIANGSU
320106,江苏省,南京市,鼓楼区,JIANGSU
330102,浙江省,杭州市,上城区,ZHEJIANG
330106,浙江省,杭州市,西湖区,ZHEJIANG
340102,安徽省,合肥市,瑶海区,ANHUI
350102,福建省,福州市,鼓楼区,FUJIAN
350203,福建省,厦门市,思明区,FUJIAN
360102,江西省,南昌市,东湖区,JIANGXI
370102,山东省,济南市,历下区,SHANDONG
370202,山东省,青岛市,市南区,SHANDONG
410105,河南省,郑州市,金水区,HENAN
420106,湖北省,武汉市,武昌区,HUBEI
430104,湖南省,长沙市,岳麓区,HUNAN
440103,广东省,广州市,荔湾区,GUANGDONG
440106,广东省,广州市,天河区,GUANGDONG
440304,广东省,深圳市,福田区,GUANGDONG
440305,广东省,深圳市,南山区,GUANGDONG
450103,广西壮族自治区,南宁市,青秀区,GUANGXI
460105,海南省,海口市,秀英区,HAINAN
510104,四川省,成都市,锦江区,SICHUAN
510107,四川省,成都市,武侯区,SICHUAN
520102,贵州省,贵阳市,南明区,GUIZHOU
530102,云南省,昆明市,五华区,YUNNAN
540102,西藏自治区,拉萨市,城关区,XIZANG
610113,陕西省,西安市,雁塔区,SHAANXI
620102,甘肃省,兰州市,城关区,GANSU
630102,青海省,西宁市,城东区,QINGHAI
640104,宁夏回族自治区,银川市,兴庆区,NINGXIA
650102,新疆维吾尔自治区,乌鲁木齐市,天山区,XINJIANG""".splitlines()]

STREETS = "人民路 解放路 中山路 建设路 和平街 胜利路 长江路 新华街 文化路 朝阳路 光明路 青年路 学府路 " \
          "花园路 北京路 幸福街 滨河路 东风路 工农路 振兴街".split()
VILLAGES = "阳光 锦绣 翠苑 和园 金色 华庭 景秀 丽都 康乐 绿城".split()


def region_prefix(reg):
    return reg[1] + reg[2] + reg[3]


def street_address(rng, reg):
    s = region_prefix(reg) + rng.choice(STREETS) + "%d号" % rng.randint(1, 399)
    r = rng.random()
    if r < 0.45:
        s += "%d号楼%d单元%d室" % (rng.randint(1, 30), rng.randint(1, 6), rng.randint(1, 28) * 100 + rng.randint(1, 4))
    elif r < 0.75:
        s += rng.choice(VILLAGES) + "小区%d栋%d号" % (rng.randint(1, 40), rng.randint(101, 2804))
    return s


def police_authority(reg):
    short = reg[3][:-1] if reg[3].endswith("区") and len(reg[3]) > 2 else reg[3]
    if short.endswith("新"):            # 浦东新区 -> 浦东分局
        short = short[:-1]
    city = reg[2] or reg[1]
    return city + "公安局" + short + "分局"


# ---- people and documents --------------------------------------------------------------------

def id_number(rng, prefix, birth, male, want_x=False):
    for _ in range(400):
        seq = rng.randint(0, 499) * 2 + (1 if male else 0)
        s17 = prefix + birth.strftime("%Y%m%d") + "%03d" % seq
        c = id_check(s17)
        if want_x == (c == 'X'):
            return s17 + c
    return s17 + c


def validity(rng, today, mode, span_fn, minus_one=False, min_age=16, birth_range=(18, 70), spans=(10,)):
    """Pick (birth, issue, until) so that the span matches the age rule (span_fn(age) -> years or
    None = long-term) and the expiry suits `mode`: 'ok' (>= 1 year left or long-term),
    'expired' (20-1500 days ago) or 'expiring' (within 5-30 days)."""
    for _ in range(1000):
        if mode == 'ok':
            birth = rand_date(rng, add_years(today, -birth_range[1]), add_years(today, -birth_range[0]))
            issue = rand_date(rng, max(add_years(birth, min_age), D(2005, 1, 1)), today - dt.timedelta(days=20), 28)
        else:
            if mode == 'expired':
                until = today - dt.timedelta(days=rng.randint(20, 1500))
            else:
                until = today + dt.timedelta(days=rng.randint(5, 30))
            if until.day > 28:
                continue
            span = rng.choice(spans)
            issue = add_years(until, -span)
            if minus_one:
                issue += dt.timedelta(days=1)
            # an age at issue whose rule gives this span (ID: 10 y at 16-25, 20 y at 26-45)
            age = rng.randint(*((16, 25) if span == 10 and len(spans) > 1 else (26, 45) if span == 20 else (18, 45)))
            birth = rand_date(rng, add_years(issue, -age - 1) + dt.timedelta(days=1), add_years(issue, -age))
            if age_at(birth, today) < birth_range[0]:
                continue
        sp = span_fn(age_at(birth, issue))
        if sp is None:
            if mode == 'ok':
                return birth, issue, 'long-term'
            continue
        until = add_years(issue, sp) - dt.timedelta(days=1 if minus_one else 0)
        if mode == 'ok' and (until - today).days >= 366:
            return birth, issue, until
        if mode == 'expired' and until < today:
            return birth, issue, until
        if mode == 'expiring' and 0 < (until - today).days <= 30:
            return birth, issue, until
    raise RuntimeError("no validity found")


def make_id_card(rng, today, mode='ok', residence=None):
    """Both sides of a resident ID card, or of a HMT residence permit when residence is
    '810000'/'820000'/'830000'."""
    male = rng.random() < 0.5
    sur, giv, _, _ = person_name(rng)
    reg = rng.choice(REGIONS)
    if residence:
        birth, issue, until = validity(rng, today, mode, lambda a: 5, spans=(5,))
    else:
        birth, issue, until = validity(rng, today, mode, id_span, spans=(10, 20))
    num = id_number(rng, residence or reg[0], birth, male, want_x=rng.random() < 0.15)
    front = {"name": sur + giv, "sex": "男" if male else "女",
             "ethnicity": "汉" if rng.random() < 0.8 else rng.choice(ETHNIC),
             "birth_date": birth, "address": street_address(rng, reg), "id_number": num}
    if residence:
        del front["ethnicity"]
    back = {"issuing_authority": police_authority(reg), "valid_from": issue, "valid_until": until}
    extra = {"title_alt": residence == "830000"}
    return front, back, extra


MONTHS = "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split()


def mrz_name(sur_py, giv_py, width):
    s = sur_py.replace(' ', '<') + "<<" + giv_py.replace(' ', '<')
    return (s + '<' * width)[:width]


def make_passport(rng, today, mode='ok'):
    male = rng.random() < 0.5
    sur, giv, sur_py, giv_py = person_name(rng)
    birth, issue, until = validity(rng, today, mode, lambda a: 10 if a >= 16 else 5, minus_one=True)
    r = rng.random()
    digits = lambda n: ''.join(rng.choice("0123456789") for _ in range(n))
    if r < 0.4:
        num = "E" + digits(8)
    else:
        num = "E" + rng.choice("AB") + digits(7)
    opt = ''.join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(13)) + rng.choice("0123456789")
    sex = "M" if male else "F"
    l1 = ("POCHN" + mrz_name(sur_py, giv_py, 39))
    dob = birth.strftime("%y%m%d")
    exp = until.strftime("%y%m%d")
    l2 = num + icao_cd(num) + "CHN" + dob + icao_cd(dob) + sex + exp + icao_cd(exp) + opt + icao_cd(opt)
    l2 += icao_cd(l2[0:10] + l2[13:20] + l2[21:43])
    assert len(l1) == 44 and len(l2) == 44
    birth_reg = rng.choice(REGIONS)
    issue_reg = rng.choice(REGIONS)
    fields = {"document_code": "PO", "issuing_country": "CHN", "surname": sur_py, "given_names": giv_py,
              "document_number": num, "nationality": "CHN", "birth_date": birth, "sex": sex,
              "expiry_date": until, "optional_data": opt, "mrz": [l1, l2]}
    extra = {"surname_cjk": sur, "given_cjk": giv,
             "place_of_birth": birth_reg[1][:2].replace("内蒙", "内蒙古").replace("黑龙", "黑龙江") + "/" + birth_reg[4],
             "place_of_issue": issue_reg[1][:2].replace("内蒙", "内蒙古").replace("黑龙", "黑龙江") + "/" + issue_reg[4],
             "issue_date": issue}
    return fields, extra


def viz_date(d):
    return "%02d %s %d" % (d.day, MONTHS[d.month - 1], d.year)


def make_permit(rng, today, kind, mode='ok'):
    """kind 'hk-macao-permit' (CR) or 'taiwan-permit' (CT): front fields, back (MRZ) and extras."""
    male = rng.random() < 0.5
    sur, giv, sur_py, giv_py = person_name(rng)
    birth, issue, until = validity(rng, today, mode, lambda a: 10 if a >= 18 else 5, minus_one=True)
    digits = lambda n: ''.join(rng.choice("0123456789") for _ in range(n))
    renew = "%02d" % rng.randint(0, 4)
    sex = "M" if male else "F"
    if kind == 'hk-macao-permit':
        hk = rng.random() < 0.7
        num = ("H" if hk else "M") + digits(8)
        docno = num
        if hk:
            base = rng.choice("ABCDEGHKPRZ") + digits(6)
            local_id = (base + hkid_check(base)).ljust(10, '<')
        else:
            local_id = (rng.choice("157") + digits(7)).ljust(10, '<')
        code = "CR"
    else:
        num = digits(8)
        docno = num + "<"
        local_id = twid(rng, male)
        code = "CT"
    exp = until.strftime("%y%m%d")
    dob = birth.strftime("%y%m%d")
    l1 = code + docno + icao_cd(docno) + renew + icao_cd(renew) + exp + icao_cd(exp) + sex + dob + icao_cd(dob)
    century = "A" if birth.year < 1900 else "B" if birth.year < 2000 else "<"
    l2 = "<" * 18 + century + local_id
    l2 = l2[:29] + icao_cd(l1[2:22] + l1[23:30] + l2[19:29])
    if code == "CT":
        l3 = mrz_name(sur_py, giv_py, 26) + digits(4)
    else:
        l3 = mrz_name(sur_py, giv_py, 30)
    assert len(l1) == len(l2) == len(l3) == 30
    authority = "国家移民管理局" if issue >= D(2018, 4, 2) else "公安部出入境管理局"
    front = {"name": sur + giv, "name_latin": sur_py + ", " + giv_py, "sex": "男" if male else "女",
             "birth_date": birth, "document_number": num, "valid_from": issue, "valid_until": until,
             "issuing_authority": authority}
    back = {"mrz": [l1, l2, l3]}
    return front, back, {"renewal_count": renew}


COMPANY_WORDS = "星辰 华信 恒达 博远 鼎盛 云帆 瑞丰 天诚 汇通 金桥 宏图 新锐 智联 创达 启明 正泰 德润 明月 长风 佳和".split()
INDUSTRY = "科技 信息技术 网络科技 文化传媒 贸易 电子商务 软件开发 数据服务 企业管理咨询 建筑工程".split()
COMPANY_TYPES = ["有限责任公司（自然人投资或控股）", "有限责任公司（自然人独资）", "其他有限责任公司",
                 "股份有限公司（非上市、自然人投资或控股）", "有限责任公司（法人独资）"]
SCOPES = ["技术开发、技术咨询、技术服务、技术推广", "软件开发", "计算机系统服务", "数据处理",
          "基础软件服务", "应用软件服务", "设计、制作、代理、发布广告", "销售电子产品、计算机软硬件及辅助设备",
          "企业管理咨询", "会议服务", "组织文化艺术交流活动", "互联网信息服务"]
CN_DIG = "零壹贰叁肆伍陆柒捌玖"


def cn_capital(wan):
    """Amount in 万元 (1..9999) in financial numerals: 150 -> 壹佰伍拾."""
    out, zero = "", False
    for unit, val in (("仟", 1000), ("佰", 100), ("拾", 10), ("", 1)):
        d = wan // val % 10
        if d:
            if zero and out:
                out += "零"
            out += CN_DIG[d] + unit
            zero = False
        else:
            zero = True
    return out


def make_uscc(rng, region):
    alpha = USCC_ALPHA
    if rng.random() < 0.6:
        org = "MA" + ''.join(rng.choice(alpha) for _ in range(6))
    else:
        org = ''.join(rng.choice("0123456789") for _ in range(8))
    s17 = "91" + region + org + org_check(org)
    return s17 + uscc_check(s17)


def make_license(rng, today, mode='ok'):
    reg = rng.choice(REGIONS)
    city = (reg[2] or reg[1])[:-1]
    name = city + rng.choice(COMPANY_WORDS) + rng.choice(INDUSTRY) + "有限公司"
    for _ in range(1000):
        if mode == 'ok':
            est = rand_date(rng, D(2000, 1, 1), today - dt.timedelta(days=30))
            if rng.random() < 0.6:
                until = 'long-term'
            else:
                until = add_years(est, rng.choice([20, 30, 50])) - dt.timedelta(days=1)
                if (until - today).days < 366:
                    continue
        else:
            until = today + dt.timedelta(days=rng.randint(5, 30)) if mode == 'expiring' \
                else today - dt.timedelta(days=rng.randint(20, 1500))
            est = add_years(until + dt.timedelta(days=1), -rng.choice([10, 20]))
        break
    wan = rng.choice([10, 30, 50, 100, 120, 150, 200, 300, 500, 800, 1000, 1500, 2000, 5000])
    sur, giv, _, _ = person_name(rng)
    fields = {"credit_code": make_uscc(rng, reg[0]), "name": name, "type": rng.choice(COMPANY_TYPES),
              "legal_representative": sur + giv, "registered_capital": cn_capital(wan) + "万元人民币",
              "established_date": est, "valid_until": until, "address": street_address(rng, reg)}
    scope = "；".join(rng.sample(SCOPES, 5)) + "。（依法须经批准的项目，经相关部门批准后方可开展经营活动）"
    issue = rand_date(rng, est, max(est, today - dt.timedelta(days=10)))
    registrar = (reg[2] or reg[1]) + reg[3] + "市场监督管理局"
    return fields, {"valid_from": est, "business_scope": scope, "issue_date": issue, "registrar": registrar}
