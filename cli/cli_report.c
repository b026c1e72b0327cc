/* The agency report of `beian batch` (docs/REPORT.md): DIR/report.csv and DIR/report.html.
 *
 * The HTML is one self-contained file: inline CSS and JS, thumbnails as data: URIs and a
 * Content-Security-Policy that forbids every fetch, so opening it (or mailing it to a client)
 * never makes a request. It holds applicants' names and numbers by nature: written 0600. */
#include "cli.h"
#include "core/bn_flags.h"
#include "img/bn_image.h"
#include "img/bn_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THUMB_SIDE 360

static const char *const s_order[] = {"pass", "review", "reshoot", "reject", "input_error", "failed", "cancelled"};
#define NORDER (int)(sizeof s_order / sizeof s_order[0])

const char *cli_report_verdict(const json_t *result)
{
    const char *v = json_string_value(json_object_get(result, "verdict"));
    const char *st = json_string_value(json_object_get(result, "status"));
    if (st && (!strcmp(st, "input_error") || !strcmp(st, "failed") || !strcmp(st, "cancelled")))
        v = st; /* a failed job's review verdict is the machine's, not the documents' */
    /* Only the known names: the value lands in HTML attributes and a file read back on a resume
     * is not trusted to hold one. Anything else is for a person to look at. */
    for (int k = 0; v && k < NORDER; k++)
        if (!strcmp(v, s_order[k]))
            return s_order[k];
    return "review";
}

static void s_html(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* RFC 4180: a field holding a comma, quote or line break is quoted, quotes doubled. A field
 * starting with = + - @ is prefixed with ' so a spreadsheet does not run it as a formula (an
 * application id comes from the agency's client). */
static void s_csv(FILE *f, const char *s, int last)
{
    s = s ? s : "";
    int formula = strchr("=+-@", *s) && *s;
    if (formula || strpbrk(s, ",\"\r\n")) {
        fputc('"', f);
        if (formula)
            fputc('\'', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputs(last ? "\r\n" : ",", f);
}

static void s_base64(FILE *f, const unsigned char *p, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        fputc(t[v >> 18 & 63], f);
        fputc(t[v >> 12 & 63], f);
        fputc(i + 1 < n ? t[v >> 6 & 63] : '=', f);
        fputc(i + 2 < n ? t[v & 63] : '=', f);
    }
}

/* The review image of a document, downscaled to a thumbnail, as an <img> with a data: URI. */
static int s_thumb(FILE *f, const char *dir, const char *id, size_t doc)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s/d%zu.review.jpg", dir, id, doc);
    FILE *in = fopen(path, "rb");
    if (!in)
        return -1;
    static unsigned char buf[8 << 20];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    bn_decode_limits_t lim = {.shrink_to = THUMB_SIDE};
    bn_image_t *img = bn_image_decode(buf, n, &lim, NULL), *small = NULL;
    if (!img)
        return -1;
    double s = (double)THUMB_SIDE / (img->width > img->height ? img->width : img->height);
    if (s < 1)
        small = bn_image_resize(img, (int)(img->width * s + 0.5), (int)(img->height * s + 0.5));
    size_t len = 0;
    void *jpg = bn_image_encode_jpeg(small ? small : img, 75, &len);
    if (jpg) {
        fputs("<img alt=\"\" src=\"data:image/jpeg;base64,", f);
        s_base64(f, jpg, len);
        fputs("\">", f);
    }
    free(jpg);
    bn_image_destroy(&small);
    bn_image_destroy(&img);
    return jpg ? 0 : -1;
}

static const char *s_doc_name(const json_t *result, json_t *index, char *buf, size_t size)
{
    const json_t *d = json_array_get(json_object_get(result, "documents"), (size_t)json_integer_value(index));
    if (!json_is_integer(index) || !d)
        return NULL;
    snprintf(buf, size, "%lld %s %s", (long long)json_integer_value(index),
             json_string_value(json_object_get(d, "type")), json_string_value(json_object_get(d, "side")));
    return buf;
}

static void s_row(FILE *f, const char *dir, const json_t *rec)
{
    const char *id = json_string_value(json_object_get(rec, "id"));
    const json_t *r = json_object_get(rec, "result");
    const char *v = cli_report_verdict(r);
    fprintf(f, "<tr class=\"app\" data-verdict=\"%s\"><td class=\"id\">", v);
    s_html(f, id);
    fputs("<br><small>", f);
    s_html(f, json_string_value(json_object_get(r, "job")));
    fprintf(f, "</small></td><td><span class=\"v v-%s\">%s</span></td><td><ul>", v, v);
    const json_t *err = json_object_get(r, "error");
    if (err) {
        fputs("<li class=\"sev-error\"><code>", f);
        s_html(f, json_string_value(json_object_get(err, "code")));
        fputs("</code> ", f);
        s_html(f, json_string_value(json_object_get(err, "message")));
        fputs("</li>", f);
    }
    size_t i;
    json_t *fl;
    json_array_foreach(json_object_get(r, "flags"), i, fl) {
        const char *sev = json_string_value(json_object_get(fl, "severity"));
        char dn[128];
        const char *doc = s_doc_name(r, json_object_get(fl, "document"), dn, sizeof dn);
        const char *field = json_string_value(json_object_get(fl, "field"));
        fprintf(f, "<li class=\"sev-%s\" data-code=\"", sev ? sev : "review");
        s_html(f, json_string_value(json_object_get(fl, "code")));
        fputs("\"><b lang=\"zh\">", f);
        s_html(f, json_string_value(json_object_get(fl, "message_zh")));
        fputs("</b> <span lang=\"en\">", f);
        s_html(f, json_string_value(json_object_get(fl, "message_en")));
        fputs("</span><br><small>", f);
        s_html(f, sev);
        if (doc) {
            fputs(" · 证件 document ", f);
            s_html(f, doc);
        }
        if (field) {
            fputs(" · 字段 field <code>", f);
            s_html(f, field);
            fputs("</code>", f);
        }
        fputs("</small></li>", f);
    }
    fputs("</ul></td><td class=\"thumbs\">", f);
    json_t *d;
    json_array_foreach(json_object_get(r, "documents"), i, d) {
        fputs("<figure>", f);
        s_thumb(f, dir, id, i);
        fprintf(f, "<figcaption>%zu ", i);
        s_html(f, json_string_value(json_object_get(d, "type")));
        fputc(' ', f);
        s_html(f, json_string_value(json_object_get(d, "side")));
        fputs(" · ", f);
        s_html(f, json_string_value(json_object_get(d, "verdict")));
        fputs("</figcaption></figure>", f);
    }
    fputs("</td></tr>\n", f);
}

static const char s_css[] =
    "body{font:14px/1.4 system-ui,'Noto Sans CJK SC',sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4em;vertical-align:top;"
    "text-align:left}ul{margin:0;padding-left:1.1em}small{color:#666}.id{white-space:nowrap}"
    ".v{padding:.1em .5em;border-radius:.3em;color:#fff;background:#888}.v-pass{background:#2a7}"
    ".v-review{background:#c80}.v-reshoot{background:#d60}.v-reject,.v-input_error,.v-failed{background:#c33}"
    ".sev-reject,.sev-error{color:#a00}.sev-info{color:#666}figure{display:inline-block;margin:0 .4em .4em 0}"
    "figure img{max-width:360px;max-height:360px;display:block}figcaption{font-size:12px;color:#555}"
    "#filters button{margin:0 .3em .3em 0;padding:.3em .8em;border:1px solid #888;border-radius:.3em;"
    "background:#fff;cursor:pointer}#filters button[aria-pressed=true]{background:#222;color:#fff}"
    "#summary td{padding:.2em 1em .2em 0;border:0}";

/* Filters by verdict; the URL fragment (#verdict=reject) selects one, so a link (or a test)
 * can open the report filtered. */
static const char s_js[] =
    "function show(v){var n=0;document.querySelectorAll('tr.app').forEach(function(r){"
    "r.hidden=!(v==='all'||r.dataset.verdict===v);if(!r.hidden)n++;});"
    "document.querySelectorAll('#filters button').forEach(function(b){"
    "b.setAttribute('aria-pressed',String(b.dataset.v===v));});"
    "document.getElementById('shown').textContent=n;}"
    "document.querySelectorAll('#filters button').forEach(function(b){b.addEventListener('click',function(){"
    "location.hash='verdict='+b.dataset.v;});});"
    "function fromHash(){var m=/verdict=([a-z_]+)/.exec(location.hash);show(m?m[1]:'all');}"
    "window.addEventListener('hashchange',fromHash);fromHash();";

static int s_write_html(const char *dir, const json_t *records, const int *counts, int total)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return -1;
    fputs("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
          "<meta name=\"referrer\" content=\"no-referrer\">"
          "<title>备案证件检查报告 · Filing document check report</title><style>", f);
    fputs(s_css, f);
    fprintf(f, "</style></head><body><h1>备案证件检查报告 · Filing document check report</h1>"
               "<table id=\"summary\"><tr><td>申请 applications</td><td data-count=\"total\">%d</td></tr>", total);
    for (int k = 0; k < NORDER; k++)
        if (counts[k])
            fprintf(f, "<tr><td><span class=\"v v-%s\">%s</span></td><td data-count=\"%s\">%d</td></tr>", s_order[k],
                    s_order[k], s_order[k], counts[k]);
    fprintf(f, "</table><p id=\"filters\"><button data-v=\"all\">全部 all (%d)</button>", total);
    for (int k = 0; k < NORDER; k++)
        if (counts[k])
            fprintf(f, "<button data-v=\"%s\">%s (%d)</button>", s_order[k], s_order[k], counts[k]);
    fputs("</p><p><small>显示 shown: <span id=\"shown\"></span></small></p>"
          "<table id=\"apps\"><thead><tr><th>申请 application / job</th><th>结论 verdict</th>"
          "<th>问题 flags (需修改的证件与字段 document and field to fix)</th><th>证件 documents</th></tr></thead><tbody>\n",
          f);
    size_t i;
    json_t *rec;
    json_array_foreach(records, i, rec)
        s_row(f, dir, rec);
    fprintf(f, "</tbody></table><script>%s</script></body></html>\n", s_js);
    if (fclose(f) != 0) {
        free(buf);
        return -1;
    }
    int rc = cli_write_file(dir, "report.html", buf, len);
    free(buf);
    return rc;
}

static int s_write_csv(const char *dir, const json_t *records)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return -1;
    /* UTF-8 with a byte order mark: Excel opens a CSV without one in the local code page, and
     * Chinese comes out garbled; LibreOffice and csv readers that know UTF-8 skip it. */
    fputs("\xEF\xBB\xBF", f);
    fputs("application_id,job,status,verdict,flags,error,documents\r\n", f);
    size_t i, k;
    json_t *rec, *x;
    json_array_foreach(records, i, rec) {
        const json_t *r = json_object_get(rec, "result");
        char *codes = NULL, *docs = NULL;
        size_t cl = 0, dl = 0;
        FILE *c = open_memstream(&codes, &cl), *d = open_memstream(&docs, &dl);
        json_array_foreach(json_object_get(r, "flags"), k, x)
            fprintf(c, "%s%s", k ? ";" : "", json_string_value(json_object_get(x, "code")));
        json_array_foreach(json_object_get(json_object_get(rec, "line"), "documents"), k, x)
            fprintf(d, "%s%s", k ? ";" : "", json_string_value(x));
        fclose(c);
        fclose(d);
        s_csv(f, json_string_value(json_object_get(rec, "id")), 0);
        s_csv(f, json_string_value(json_object_get(r, "job")), 0);
        s_csv(f, json_string_value(json_object_get(r, "status")), 0);
        s_csv(f, cli_report_verdict(r), 0);
        s_csv(f, codes, 0);
        s_csv(f, json_string_value(json_object_get(json_object_get(r, "error"), "code")), 0);
        s_csv(f, docs, 1);
        free(codes);
        free(docs);
    }
    if (fclose(f) != 0) {
        free(buf);
        return -1;
    }
    int rc = cli_write_file(dir, "report.csv", buf, len);
    free(buf);
    return rc;
}

int cli_report_write(const char *dir, const json_t *records, int counts_out[CLI_REPORT_NVERDICTS])
{
    int counts[NORDER] = {0};
    size_t i;
    json_t *rec;
    json_array_foreach(records, i, rec) {
        const char *v = cli_report_verdict(json_object_get(rec, "result"));
        for (int k = 0; k < NORDER; k++)
            if (!strcmp(v, s_order[k]))
                counts[k]++;
    }
    if (counts_out)
        memcpy(counts_out, counts, sizeof counts);
    int rc = s_write_csv(dir, records);
    return s_write_html(dir, records, counts, (int)json_array_size(records)) | rc;
}

const char *cli_report_name(int k) { return k >= 0 && k < NORDER ? s_order[k] : NULL; }
_Static_assert(NORDER == CLI_REPORT_NVERDICTS, "cli.h names as many verdicts");
