#include "core/bn_flags.h"
#include "core/bn_log.h"

#include <math.h>
#include <string.h>

#define I BN_SEV_INFO
#define V BN_SEV_REVIEW
#define S BN_SEV_RESHOOT
#define R BN_SEV_REJECT
static const bn_flag_def_t s_flags[] = {
    /* ---- quality (issue 3) ---- */
    {"format_unsupported", "quality", R, "The file is not a readable JPEG, PNG, BMP, TIFF or WebP image or PDF (unsupported, damaged, or a PDF that is encrypted, holds scripts or has too many pages).", "文件格式不受支持或文件已损坏（PDF 不得加密、含脚本或页数过多），请重新上传 JPG、PNG 图片或普通 PDF。", "unreadable file"},
    {"file_too_small", "quality", S, "The file is too small to be a legible photo of the document.", "文件过小，无法看清证件内容，请重新拍摄。", "file too small"},
    {"file_too_large", "quality", I, "The file exceeds the provider's size limit; the prepared image is compressed to fit.", "文件超过接入商大小限制，已自动压缩。", "compressed to fit"},
    {"resolution_too_low", "quality", S, "The image resolution is too low to read the document.", "图片分辨率过低，无法识别证件内容，请重新拍摄。", "resolution too low"},
    {"resolution_too_high", "quality", I, "The image exceeds the provider's pixel limit; the prepared image is scaled down.", "图片像素超过接入商限制，已自动缩小。", "scaled down"},
    {"no_document_found", "quality", S, "No document was found in the image.", "未在图片中检测到证件，请将证件完整放入画面。", "no document found"},
    {"document_too_small", "quality", S, "The document fills too little of the image; move closer.", "证件在画面中占比过小，请靠近拍摄。", "document too small"},
    {"border_incomplete", "quality", S, "Part of the document's border or a corner is outside the image.", "证件边框不完整，请确保四个角都在画面内。", "border cut off"},
    {"blurry", "quality", S, "The image is blurry; hold still and focus on the document.", "图片模糊，请对焦后重新拍摄。", "blurry"},
    {"glare", "quality", S, "Glare or a bright reflection covers part of the document.", "证件有反光，请避开强光重新拍摄。", "glare"},
    {"too_dark", "quality", S, "The image is too dark.", "图片过暗，请在光线充足处拍摄。", "too dark"},
    {"overexposed", "quality", S, "The image is overexposed.", "图片过曝，请避免强光直射。", "overexposed"},
    {"not_color", "quality", R, "The image is black-and-white or greyscale; a colour image of the original is required.", "图片为黑白或灰度图，请上传证件原件的彩色照片。", "not in colour"},
    {"photocopy", "quality", R, "The image looks like a photocopy; photograph the original document.", "图片疑似复印件，请拍摄证件原件。", "photocopy"},
    {"screen_recapture", "quality", R, "The image looks like a photo of a screen; photograph the original document.", "图片疑似翻拍屏幕，请拍摄证件原件。", "photo of a screen"},
    {"edited_suspect", "quality", V, "The file's metadata names image-editing software.", "图片元数据显示经过编辑软件处理，需人工复核。", "edited?"},
    {"rotated", "quality", I, "The document was rotated; the prepared image is upright.", "证件方向不正，已自动旋转。", "rotated"},
    {"skewed", "quality", I, "The document was skewed; the prepared image is straightened.", "证件倾斜，已自动校正。", "skewed"},
    /* ---- ocr and validation (issue 4) ---- */
    {"number_checksum_invalid", "ocr", R, "The document number fails its check digit.", "证件号码校验位错误。", "check digit wrong"},
    {"number_birth_mismatch", "ocr", R, "The birth date in the ID number differs from the printed birth date.", "证件号码与出生日期不一致。", "number vs birth date"},
    {"number_sex_mismatch", "ocr", R, "The sex digit of the ID number differs from the printed sex.", "证件号码与性别不一致。", "number vs sex"},
    {"region_code_unknown", "ocr", V, "The ID number's region code is not a known administrative code.", "证件号码地区码未知，需人工复核。", "unknown region code"},
    {"expired", "ocr", R, "The document has expired.", "证件已过期。", "expired"},
    {"expires_within_90_days", "ocr", R, "The document expires within 90 days; filings need at least 3 months of validity.", "证件有效期不足三个月，请更换证件。", "expires < 90 days"},
    {"validity_span_invalid", "ocr", R, "The validity period does not match the holder's age at issue.", "证件有效期限不合法。", "validity span wrong"},
    {"under_18", "ocr", R, "The holder is under 18; a person in charge must be an adult.", "证件持有人未满 18 周岁。", "under 18"},
    {"temporary_id", "ocr", R, "A temporary ID card is not accepted.", "临时身份证不被接受。", "temporary ID"},
    {"mrz_not_found", "ocr", S, "The machine-readable zone could not be found.", "未找到机读码区域，请拍摄完整的资料页。", "MRZ not found"},
    {"mrz_checksum_invalid", "ocr", V, "A check digit of the machine-readable zone does not match.", "机读码校验失败，需人工复核。", "MRZ check digit"},
    {"field_unreadable", "ocr", S, "A required field could not be read.", "证件信息无法识别，请重新拍摄清晰照片。", "unreadable"},
    {"wrong_document_type", "ocr", R, "The image is not the declared document type.", "证件类型不符。", "wrong document type"},
    {"wrong_side", "ocr", S, "The image shows the other side of the document.", "证件正反面上传错误。", "wrong side"},
    {"form_mismatch_name", "ocr", R, "The name on the document differs from the form.", "证件姓名与填写信息不一致。", "name differs from form"},
    {"form_mismatch_number", "ocr", R, "The document number differs from the form.", "证件号码与填写信息不一致。", "number differs from form"},
    {"form_mismatch_address", "ocr", R, "The address on the document differs from the form.", "证件地址与填写信息不一致。", "address differs from form"},
    {"form_mismatch_entity_type", "ocr", R, "The entity type on the business licence differs from the form.", "营业执照主体类型与填写信息不一致。", "entity type differs from form"},
    /* ---- domain certificate (issue 12) ---- */
    {"domain_expired", "ocr", R, "The domain's registration has expired.", "域名已过期。", "domain expired"},
    {"domain_expires_soon", "ocr", R, "The domain's registration expires too soon for a filing; renew it first.", "域名即将过期，请续费后再备案。", "domain expires soon"},
    {"tld_not_filable", "ocr", R, "The domain's top-level domain is not on MIIT's list of TLDs that can be filed.", "域名后缀不在工信部批准可备案的顶级域名之列。", "TLD not filable"},
    {"registrar_not_mainland", "ocr", R, "The filing province requires a domain registered with a Mainland registrar; this registrar is not one (or not a known one).", "备案省份要求域名在境内注册服务机构注册，该注册商不是（或无法确认为）境内注册商。", "registrar not Mainland"},
    {"form_mismatch_domain", "ocr", R, "The domain on the certificate differs from the form.", "域名证书上的域名与填写信息不一致。", "domain differs from form"},
    /* ---- face (issue 5) ---- */
    {"no_face", "face", S, "No face was found.", "未检测到人脸。", "no face"},
    {"multiple_faces", "face", S, "More than one face is in the selfie.", "画面中有多张人脸，请单人拍摄。", "several faces"},
    {"face_too_small", "face", S, "The face is too small; move closer to the camera.", "人脸过小，请靠近镜头。", "face too small"},
    {"face_not_frontal", "face", S, "The face is turned; look straight into the camera.", "请正对镜头。", "face turned"},
    {"face_too_dark", "face", S, "The face is too dark.", "人脸光线过暗。", "face too dark"},
    {"face_blurry", "face", S, "The face is blurry.", "人脸模糊。", "face blurry"},
    {"face_mismatch", "face", R, "The selfie does not match the document portrait.", "人脸与证件照片不一致。", "face mismatch"},
    {"liveness_suspect", "face", V, "The selfie may not be a live capture; a reviewer will check it.", "活体检测存疑，需人工复核。", "liveness?"},
    /* ---- application rules (issue 12): raised by the job's aggregation over all documents
     * (bn_crosscheck, bn_apprules), never by a stage ---- */
    {"domain_holder_mismatch", "application", R, "The domain certificate's holder is not the filing subject (the business licence's name for an organisation, the person's name for an individual).", "域名证书持有者与备案主体不一致（单位为营业执照名称，个人为证件姓名）。", "holder is not the subject"},
    {"certificate_type_mismatch", "application", R, "The certificate does not fit the entity type: an organisation files with its business licence, an individual with an ID card, passport or permit.", "证件类型与主体性质不符：单位须提供营业执照，个人须提供身份证、护照或通行证。", "certificate type wrong"},
    {"document_sides_mismatch", "application", R, "The two sides of the document disagree (number, name or validity); upload both sides of the same card.", "证件正反面信息不一致（号码、姓名或有效期），请上传同一证件的正反面。", "sides disagree"},
    {"id_expires_soon", "application", R, "The person in charge's ID is not valid long enough for this provider.", "负责人证件剩余有效期不足接入商要求，请更换证件。", "ID expires soon"},
    /* ---- job level (issue 2) ---- */
    {"stage_failed", "job", V, "A processing stage failed for this document; a reviewer will check it.", "处理环节失败，需人工复核。", "stage failed"},
    {"stage_not_implemented", "job", V, "A processing stage is not available yet; a reviewer will check it.", "处理环节暂不可用，需人工复核。", "stage unavailable"},
};
#undef I
#undef V
#undef S
#undef R

const bn_flag_def_t *bn_flag_table(int *count)
{
    if (count)
        *count = (int)(sizeof s_flags / sizeof s_flags[0]);
    return s_flags;
}

const bn_flag_def_t *bn_flag_lookup(const char *code)
{
    if (!code)
        return NULL;
    for (size_t i = 0; i < sizeof s_flags / sizeof s_flags[0]; i++)
        if (strcmp(s_flags[i].code, code) == 0)
            return &s_flags[i];
    return NULL;
}

static const char *s_sev[] = {"info", "review", "reshoot", "reject"};
static const char *s_verdict[] = {"pass", "review", "reshoot", "reject"};

const char *bn_severity_name(bn_severity_t s) { return s_sev[s < 0 || s > 3 ? 1 : s]; }
const char *bn_verdict_name(bn_severity_t s) { return s_verdict[s < 0 || s > 3 ? 1 : s]; }

bn_severity_t bn_severity_parse(const char *s)
{
    for (int i = 0; s && i < 4; i++)
        if (strcmp(s, s_sev[i]) == 0)
            return (bn_severity_t)i;
    return BN_SEV_REVIEW;
}

bn_severity_t bn_verdict_parse(const char *v)
{
    for (int i = 0; v && i < 4; i++)
        if (strcmp(v, s_verdict[i]) == 0)
            return (bn_severity_t)i;
    return BN_SEV_REVIEW;
}

json_t *bn_flag_add(json_t *flags, const char *code, double metric, double threshold, int severity)
{
    const bn_flag_def_t *d = bn_flag_lookup(code);
    if (!d) {
        bn_error("unknown flag code '%s'", code ? code : "(null)");
        return NULL;
    }
    bn_severity_t sev = severity < 0 ? d->severity : (bn_severity_t)severity;
    json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s}", "code", d->code, "severity",
                          bn_severity_name(sev), "stage", d->stage, "message_en", d->message_en,
                          "message_zh", d->message_zh);
    if (!isnan(metric))
        json_object_set_new(f, "metric", json_real(metric));
    if (!isnan(threshold))
        json_object_set_new(f, "threshold", json_real(threshold));
    json_array_append_new(flags, f);
    return f;
}

bn_severity_t bn_flags_worst(const json_t *flags)
{
    bn_severity_t worst = BN_SEV_INFO;
    size_t i;
    json_t *f;
    json_array_foreach(flags, i, f) {
        bn_severity_t s = bn_severity_parse(json_string_value(json_object_get(f, "severity")));
        if (s > worst)
            worst = s;
    }
    return worst;
}

int bn_flags_has(const json_t *flags, const char *code)
{
    size_t i;
    json_t *f;
    json_array_foreach(flags, i, f) {
        const char *c = json_string_value(json_object_get(f, "code"));
        if (c && !strcmp(c, code))
            return 1;
    }
    return 0;
}
