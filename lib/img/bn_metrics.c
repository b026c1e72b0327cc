/* bn_metrics — the per-pixel statistics in plain C; glare blobs and the spectrum are in
 * bn_metrics_cv.cpp (they need connected components and a DFT). */
#include "img/bn_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static float *s_grey(const bn_image_t *img)
{
    size_t n = (size_t)img->width * img->height;
    float *g = malloc(n * sizeof *g);
    if (!g)
        return NULL;
    if (img->bands != 3) {
        for (size_t i = 0; i < n; i++)
            g[i] = img->data[i];
        return g;
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = img->data + i * 3;
        g[i] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
    }
    return g;
}

/* Crete, Dolmiere, Ladret, Nicolas (2007), "The blur effect": re-blur the image with a 9-tap box
 * and see how much of its pixel-to-pixel variation survives. A crisp image loses a lot, a blurred
 * one almost nothing. Independent of contrast and nearly so of content. */
static double s_sharpness(const float *g, int w, int h)
{
    /* Both directions row by row (cache-friendly). The difference of a 9-tap box (clamped at
     * the ends) between neighbours is the sample entering minus the one leaving, over 9, so
     * the re-blurred image never needs to be built. */
    double sf[2] = {0, 0}, sv[2] = {0, 0}, blur[2];
    for (int y = 0; y < h; y++) {
        const float *row = g + (size_t)y * w;
        float ha = 0, hc = 0;
        for (int x = 1; x < w; x++) {
            /* Clamped ends; the middle (5 <= x < w-4) is a straight, vectorisable run. */
            if (x == 5 && w > 9) {
                for (; x < w - 4; x++) {
                    float df = fabsf(row[x] - row[x - 1]), db = fabsf(row[x + 4] - row[x - 5]) * (1.0f / 9);
                    ha += df;
                    hc += df > db ? df - db : 0;
                }
                if (x >= w)
                    break;
            }
            int in = x + 4 < w ? x + 4 : w - 1, out = x - 5 > 0 ? x - 5 : 0;
            float df = fabsf(row[x] - row[x - 1]), db = fabsf(row[in] - row[out]) * (1.0f / 9);
            ha += df;
            hc += df > db ? df - db : 0;
        }
        sf[0] += ha, sv[0] += hc;
        if (y == 0)
            continue;
        const float *up = row - w, *rin = g + (size_t)(y + 4 < h ? y + 4 : h - 1) * w,
                    *rout = g + (size_t)(y - 5 > 0 ? y - 5 : 0) * w;
        float a = 0, c = 0;
        for (int x = 0; x < w; x++) {
            float df = fabsf(row[x] - up[x]), db = fabsf(rin[x] - rout[x]) * (1.0f / 9);
            a += df;
            c += df > db ? df - db : 0;
        }
        sf[1] += a, sv[1] += c;
    }
    for (int d = 0; d < 2; d++)
        blur[d] = sf[d] > 0 ? (sf[d] - sv[d]) / sf[d] : 1;
    double bl = blur[0] > blur[1] ? blur[0] : blur[1];
    return 1 - bl;
}

/* A metric of the grey plane, for images at least `min` pixels wide and high (else 0). */
static double s_on_grey(const bn_image_t *img, int min, double (*metric)(const float *, int, int))
{
    if (img->width < min || img->height < min)
        return 0;
    float *g = s_grey(img);
    if (!g)
        return 0;
    double r = metric(g, img->width, img->height);
    free(g);
    return r;
}

double bn_metric_sharpness(const bn_image_t *img) { return s_on_grey(img, 16, s_sharpness); }

static double s_laplacian_var(const float *g, int w, int h)
{
    double s = 0, s2 = 0;
    size_t n = 0;
    for (int y = 1; y < h - 1; y++)
        for (int x = 1; x < w - 1; x++) {
            size_t i = (size_t)y * w + x;
            double l = g[i - 1] + g[i + 1] + g[i - w] + g[i + w] - 4 * g[i];
            s += l;
            s2 += l * l;
            n++;
        }
    double m = s / n;
    return s2 / n - m * m;
}

double bn_metric_laplacian_var(const bn_image_t *img) { return s_on_grey(img, 3, s_laplacian_var); }

/* Histogram of rounded luma (0.299 R + 0.587 G + 0.114 B in doubles): brightness and tones
 * read the same one. The products come from tables, the same doubles summed in the same order,
 * so the same histogram without three conversions and products a pixel. */
static void s_luma_hist(const bn_image_t *img, size_t hist[256])
{
    size_t n = (size_t)img->width * img->height;
    memset(hist, 0, 256 * sizeof *hist);
    if (img->bands != 3) {
        for (size_t i = 0; i < n; i++)
            hist[img->data[i]]++;
        return;
    }
    double tr[256], tg[256], tb[256];
    for (int v = 0; v < 256; v++)
        tr[v] = 0.299 * v, tg[v] = 0.587 * v, tb[v] = 0.114 * v;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = img->data + i * 3;
        int l = (int)(tr[p[0]] + tg[p[1]] + tb[p[2]] + 0.5);
        hist[l > 255 ? 255 : l]++;
    }
}

static void s_brightness(const size_t hist[256], size_t n, double *mean, double *p5, double *p95, double *clipped)
{
    /* Integer luma sums are exact in a double, so the mean from the histogram is the mean of
     * the pixels. */
    double s = 0;
    for (int v = 0; v < 256; v++)
        s += (double)hist[v] * v;
    size_t acc = 0;
    int q5 = -1, q95 = -1;
    for (int v = 0; v < 256; v++) {
        acc += hist[v];
        if (q5 < 0 && acc >= n * 5 / 100)
            q5 = v;
        if (q95 < 0 && acc >= n * 95 / 100)
            q95 = v;
    }
    size_t clip = 0;
    for (int v = 250; v < 256; v++)
        clip += hist[v];
    *mean = n ? s / n : 0;
    *p5 = q5 < 0 ? 0 : q5;
    *p95 = q95 < 0 ? 255 : q95;
    *clipped = n ? (double)clip / n : 0;
}

void bn_metric_brightness(const bn_image_t *img, double *mean, double *p5, double *p95, double *clipped)
{
    size_t hist[256];
    s_luma_hist(img, hist);
    s_brightness(hist, (size_t)img->width * img->height, mean, p5, p95, clipped);
}

/* Hasler and Süsstrunk (2003): M = σ_rgyb + 0.3 μ_rgyb with rg = R − G, yb = (R + G)/2 − B.
 * Grey images score ~0, a colour ID card ~15–40. */
double bn_metric_colourfulness(const bn_image_t *img, double *chroma_mean)
{
    size_t n = (size_t)img->width * img->height;
    if (img->bands != 3 || n == 0) {
        if (chroma_mean)
            *chroma_mean = 0;
        return 0;
    }
    /* Integer sums (yb doubled to stay integral): exact, so the same as summing doubles for any
     * image under the pixel cap, and several times faster. */
    int64_t srg = 0, srg2 = 0, syb = 0, syb2 = 0, sc = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = img->data + i * 3;
        int rg = p[0] - p[1], yb2 = p[0] + p[1] - 2 * p[2];
        srg += rg, srg2 += rg * rg, syb += yb2, syb2 += yb2 * yb2;
        int mx = p[0] > p[1] ? p[0] : p[1], mn = p[0] < p[1] ? p[0] : p[1];
        mx = mx > p[2] ? mx : p[2];
        mn = mn < p[2] ? mn : p[2];
        sc += mx - mn;
    }
    double mrg = (double)srg / n, myb = (double)syb / 2 / n;
    double vrg = (double)srg2 / n - mrg * mrg, vyb = (double)syb2 / 4 / n - myb * myb;
    if (chroma_mean)
        *chroma_mean = (double)sc / n;
    return sqrt((vrg > 0 ? vrg : 0) + (vyb > 0 ? vyb : 0)) + 0.3 * sqrt(mrg * mrg + myb * myb);
}

double bn_metric_colour_nonred(const bn_image_t *img)
{
    size_t n = (size_t)img->width * img->height, k = 0;
    if (img->bands != 3 || n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = img->data + i * 3;
        int mx = p[0] > p[1] ? p[0] : p[1], mn = p[0] < p[1] ? p[0] : p[1];
        mx = mx > p[2] ? mx : p[2];
        mn = mn < p[2] ? mn : p[2];
        int c = mx - mn, gb = p[1] - p[2];
        /* hue within 30 degrees of red: red is the largest and |G - B| < c / 2 */
        if (c >= 20 && !(mx == p[0] && 2 * (gb < 0 ? -gb : gb) < c))
            k++;
    }
    return (double)k / n;
}

/* A photocopy is two-tone: paper and toner, few mid-tones. Measured relative to the paper level
 * (p90 of luma) so a dim photo of a copy still reads as a copy. */
static void s_tones(const size_t hist[256], size_t n, double *midtone_fraction, double *paper_white)
{
    size_t acc = 0;
    int p90 = 255;
    for (int v = 0; v < 256; v++) {
        acc += hist[v];
        if (acc >= n * 90 / 100) {
            p90 = v;
            break;
        }
    }
    size_t mid = 0;
    for (int v = p90 - 100; v < p90 - 40; v++)
        if (v >= 0)
            mid += hist[v];
    *paper_white = p90;
    *midtone_fraction = n ? (double)mid / n : 0;
}

void bn_metric_tones(const bn_image_t *img, double *midtone_fraction, double *paper_white)
{
    size_t hist[256];
    s_luma_hist(img, hist);
    s_tones(hist, (size_t)img->width * img->height, midtone_fraction, paper_white);
}

void bn_metrics_compute(const bn_image_t *img, const bn_glare_params_t *gp, bn_metrics_t *m)
{
    memset(m, 0, sizeof *m);
    /* The same values as the functions one by one, with the shared work done once: one luma
     * plane for sharpness and Laplacian, one histogram for brightness and tones. */
    float *g = img->width >= 3 && img->height >= 3 ? s_grey(img) : NULL;
    if (g) {
        m->sharpness = img->width >= 16 && img->height >= 16 ? s_sharpness(g, img->width, img->height) : 0;
        m->laplacian_var = s_laplacian_var(g, img->width, img->height);
        free(g);
    }
    size_t hist[256], n = (size_t)img->width * img->height;
    s_luma_hist(img, hist);
    s_brightness(hist, n, &m->brightness_mean, &m->brightness_p5, &m->brightness_p95, &m->clipped_fraction);
    s_tones(hist, n, &m->midtone_fraction, &m->paper_white);
    for (size_t acc = 0, v = 0; v < 256; v++)
        if ((acc += hist[v]) >= n / 2) {
            m->brightness_p50 = (double)v;
            break;
        }
    m->colourfulness = bn_metric_colourfulness(img, &m->chroma_mean);
    m->colour_nonred = bn_metric_colour_nonred(img);
    m->glare_fraction = bn_metric_glare(img, gp, m->glare, &m->nglare);
}

bn_image_t *bn_image_crop(const bn_image_t *img, int x, int y, int w, int h)
{
    if (!img)
        return NULL;
    if (x < 0)
        w += x, x = 0;
    if (y < 0)
        h += y, y = 0;
    if (x + w > img->width)
        w = img->width - x;
    if (y + h > img->height)
        h = img->height - y;
    if (w <= 0 || h <= 0)
        return NULL;
    bn_image_t *out = bn_image_new(w, h, img->bands);
    if (!out)
        return NULL;
    for (int r = 0; r < h; r++)
        memcpy(out->data + (size_t)r * w * img->bands, img->data + ((size_t)(y + r) * img->width + x) * img->bands,
               (size_t)w * img->bands);
    return out;
}
