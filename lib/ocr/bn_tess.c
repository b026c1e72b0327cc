#include "ocr/bn_tess.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tesseract/capi.h>
#include <unistd.h>
#include <dlfcn.h>

#include "core/bn_error.h"
#include "core/bn_log.h"

#define MAX_ENGINES 8
#ifndef BEIAN_SOURCE_DIR
#define BEIAN_SOURCE_DIR "."
#endif

typedef struct {
    char lang[16];
    TessBaseAPI *api;
    int failed; /* init failed once: do not retry (and reload the model) on every zone */
} engine_t;

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static engine_t s_engines[MAX_ENGINES];
static int s_nengines;
static char s_tessdata[512];
static char s_models[512];

void bn_tess_configure(const bn_config_t *cfg)
{
    pthread_mutex_lock(&s_lock);
    const char *t = bn_config_str(cfg, "ocr.tessdata", NULL);
    const char *m = bn_config_str(cfg, "ocr.models_dir", NULL);
    if (t && *t)
        snprintf(s_tessdata, sizeof s_tessdata, "%s", t);
    if (m && *m)
        snprintf(s_models, sizeof s_models, "%s", m);
    pthread_mutex_unlock(&s_lock);
}

/* Directory holding <lang>.traineddata: the project's models for "mrz", Debian's otherwise. */
static const char *data_dir(const char *lang, char *buf, size_t size)
{
    if (strcmp(lang, "mrz") == 0) {
        const char *e = getenv("BEIAN_MODELS");
        if (e && *e)
            snprintf(buf, size, "%s", e);
        else if (s_models[0])
            snprintf(buf, size, "%s", s_models);
        else
            snprintf(buf, size, "%s/models", BEIAN_SOURCE_DIR);
    } else {
        const char *e = getenv("TESSDATA_PREFIX");
        if (e && *e)
            snprintf(buf, size, "%s", e);
        else if (s_tessdata[0])
            snprintf(buf, size, "%s", s_tessdata);
        else
            snprintf(buf, size, "/usr/share/tesseract-ocr/5/tessdata");
    }
    return buf;
}

static int model_exists(const char *lang)
{
    char dir[512], path[600];
    data_dir(lang, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s.traineddata", dir, lang);
    return access(path, R_OK) == 0;
}

int bn_tess_available(const char *lang)
{
    if (!lang || strlen(lang) >= 16 || strchr(lang, '/'))
        return 0;
    pthread_mutex_lock(&s_lock);
    int ok = model_exists(lang);
    pthread_mutex_unlock(&s_lock);
    return ok;
}

/* Called with s_lock held. */
static TessBaseAPI *engine_get(const char *lang)
{
    for (int i = 0; i < s_nengines; i++)
        if (strcmp(s_engines[i].lang, lang) == 0)
            return s_engines[i].failed ? NULL : s_engines[i].api;
    if (s_nengines == MAX_ENGINES || strlen(lang) >= sizeof s_engines[0].lang || strchr(lang, '/'))
        return NULL;
    engine_t *e = &s_engines[s_nengines++];
    snprintf(e->lang, sizeof e->lang, "%s", lang);
    char dir[512];
    data_dir(lang, dir, sizeof dir);
    if (!model_exists(lang)) {
        bn_warn("tesseract model %s not found in %s", lang, dir);
        e->failed = 1;
        return NULL;
    }
    /* Leptonica prints warnings (small images, scaling) to stderr; they are expected here */
    setMsgSeverity(L_SEVERITY_NONE);
    e->api = TessBaseAPICreate();
    /* LSTM only: Debian's models are LSTM-only and the legacy engine would only slow us down. */
    if (TessBaseAPIInit2(e->api, dir, lang, OEM_LSTM_ONLY) != 0) {
        bn_warn("tesseract init failed for %s in %s", lang, dir);
        TessBaseAPIDelete(e->api);
        e->api = NULL;
        e->failed = 1;
        return NULL;
    }
    /* Zones are small crops; no dictionary correction of names and numbers. */
    TessBaseAPISetVariable(e->api, "load_system_dawg", "0");
    TessBaseAPISetVariable(e->api, "load_freq_dawg", "0");
    TessBaseAPISetVariable(e->api, "debug_file", "/dev/null");
    bn_debug("tesseract engine %s loaded from %s", lang, dir);
    return e->api;
}

static void trim_copy(char *dst, size_t size, const char *src)
{
    if (!src) {
        dst[0] = 0;
        return;
    }
    while (*src == ' ' || *src == '\n' || *src == '\t')
        src++;
    snprintf(dst, size, "%s", src);
    size_t n = strlen(dst);
    while (n && (dst[n - 1] == ' ' || dst[n - 1] == '\n' || dst[n - 1] == '\t' || dst[n - 1] == '\f'))
        dst[--n] = 0;
}

int bn_tess_read(const char *lang, PIX *pix, bn_tess_mode_t mode, const char *whitelist,
                 bn_tess_result_t *out)
{
    memset(out, 0, sizeof *out);
    if (!lang || !pix)
        return bn_error_set("invalid_argument", "bn_tess_read: no language or image");
    pthread_mutex_lock(&s_lock);
    TessBaseAPI *api = engine_get(lang);
    if (!api) {
        pthread_mutex_unlock(&s_lock);
        return bn_error_set("ocr_engine_unavailable", "tesseract model '%s' unavailable", lang);
    }
    /* Debian's libtesseract runs LSTM layers on 4 OpenMP threads that spin between regions:
     * on a busy 2-core worker that costs 3-4x CPU for no gain. Dynamic adjustment lets libgomp
     * use only idle cores (OMP_THREAD_LIMIT=1 in the worker's environment is stricter). */
    static __thread int omp_set;
    if (!omp_set) {
        void (*set_dynamic)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_dynamic");
        if (set_dynamic && !getenv("OMP_DYNAMIC"))
            set_dynamic(1);
        omp_set = 1;
    }
    TessPageSegMode psm = mode == BN_TESS_BLOCK    ? PSM_SINGLE_BLOCK
                          : mode == BN_TESS_RAW_LINE ? PSM_RAW_LINE
                          : mode == BN_TESS_SPARSE   ? PSM_SPARSE_TEXT
                                                     : PSM_SINGLE_LINE;
    TessBaseAPISetPageSegMode(api, psm);
    TessBaseAPISetVariable(api, "tessedit_char_whitelist", whitelist ? whitelist : "");
    TessBaseAPISetImage2(api, pix);
    TessBaseAPISetSourceResolution(api, 300);
    if (TessBaseAPIRecognize(api, NULL) != 0) {
        TessBaseAPIClear(api);
        pthread_mutex_unlock(&s_lock);
        return 0; /* nothing recognisable is an empty read, not an error */
    }
    char *txt = TessBaseAPIGetUTF8Text(api);
    trim_copy(out->text, sizeof out->text, txt);
    TessDeleteText(txt);

    int x0 = 1 << 30, y0 = 1 << 30, x1 = -1, y1 = -1;
    double sum = 0;
    TessResultIterator *it = TessBaseAPIGetIterator(api);
    if (it) {
        do {
            const TessPageIterator *pi = TessResultIteratorGetPageIteratorConst(it);
            int l, t, r, b;
            if (!TessPageIteratorBoundingBox(pi, RIL_WORD, &l, &t, &r, &b))
                continue;
            char *w = TessResultIteratorGetUTF8Text(it, RIL_WORD);
            if (!w)
                continue;
            float c = TessResultIteratorConfidence(it, RIL_WORD);
            if (out->nwords < BN_TESS_MAX_WORDS) {
                int k = out->nwords++;
                out->words[k].box[0] = l;
                out->words[k].box[1] = t;
                out->words[k].box[2] = r - l;
                out->words[k].box[3] = b - t;
                out->words[k].conf = c / 100.0;
                snprintf(out->words[k].text, sizeof out->words[k].text, "%s", w);
            }
            TessDeleteText(w);
            sum += c / 100.0;
            if (l < x0) x0 = l;
            if (t < y0) y0 = t;
            if (r > x1) x1 = r;
            if (b > y1) y1 = b;
        } while (TessResultIteratorNext(it, RIL_WORD));
        TessResultIteratorDelete(it);
    }
    if (out->nwords > 0) {
        out->confidence = sum / out->nwords;
        out->box[0] = x0;
        out->box[1] = y0;
        out->box[2] = x1 - x0;
        out->box[3] = y1 - y0;
    }
    TessBaseAPIClear(api);
    pthread_mutex_unlock(&s_lock);
    return 0;
}

void bn_tess_shutdown(void)
{
    pthread_mutex_lock(&s_lock);
    for (int i = 0; i < s_nengines; i++) {
        if (s_engines[i].api) {
            TessBaseAPIEnd(s_engines[i].api);
            TessBaseAPIDelete(s_engines[i].api);
        }
    }
    memset(s_engines, 0, sizeof s_engines);
    s_nengines = 0;
    pthread_mutex_unlock(&s_lock);
}
